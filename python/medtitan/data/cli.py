"""`medtitan-data`: the data-side command line (see README for the commands and their status)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from medtitan.data.jsonl import CorpusReadError


def _stats(args: argparse.Namespace) -> int:
    from medtitan.data.stats import corpus_stats, format_table

    stats = corpus_stats(args.inputs, text_field=args.text_field, near_duplicates=args.near_duplicates,
                         threshold=args.threshold, ngram=args.ngram)
    print(format_table(stats))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(stats.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medtitan-data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    stats = commands.add_parser("stats", help="documents, words, exact and near duplicates per doc_type")
    stats.add_argument("inputs", nargs="+", help=".jsonl, .jsonl.gz, .jsonl.zst files, or folders of them")
    stats.add_argument("--text-field", default="text")
    stats.add_argument("--near-duplicates", action="store_true",
                       help="also find near-duplicate pairs by exact word n-gram Jaccard (quadratic)")
    stats.add_argument("--threshold", type=float, default=0.8, help="Jaccard threshold for near duplicates")
    stats.add_argument("--ngram", type=int, default=5, help="words per shingle")
    stats.add_argument("--json", type=Path, help="also write the full statistics here")
    stats.set_defaults(run=_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CorpusReadError as error:
        print(f"medtitan-data {args.command}: error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:  # bad option values rejected by the Rust core
        print(f"medtitan-data {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
