"""`medtitan-data`: the data-side command line (see README for the commands and their status)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from medtitan.data.build_config import ConfigError
from medtitan.data.jsonl import CorpusReadError


def _stats(args: argparse.Namespace) -> int:
    from medtitan.data.stats import corpus_stats, format_table

    stats = corpus_stats(
        args.inputs,
        text_field=args.text_field,
        near_duplicates=args.near_duplicates,
        threshold=args.threshold,
        ngram=args.ngram,
    )
    print(format_table(stats))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(stats.to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _parse_weights(items: list[str] | None) -> dict[str, float] | None:
    if not items:
        return None
    weights = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            weights[name] = float(value)
        except ValueError:
            raise SystemExit(f"medtitan-data train-tokenizer: error: --weight {item!r} is not DOC_TYPE=NUMBER")
    return weights


def _train_tokenizer(args: argparse.Namespace) -> int:
    from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

    overrides = dict(
        vocab_size=args.vocab_size,
        weights=_parse_weights(args.weight),
        sample_chars=args.sample_chars,
        seed=args.seed,
        holdout_fraction=args.holdout_fraction,
        split_digits=args.split_digits,
        normalization=args.normalization,
        text_field=args.text_field,
        user_defined_symbols=tuple(args.user_defined_symbols.split(",")) if args.user_defined_symbols else None,
    )
    config = (
        TokenizerTrainingConfig.from_toml(args.config, **overrides)
        if args.config
        else TokenizerTrainingConfig(**{k: v for k, v in overrides.items() if v is not None})
    )
    print(f"training a {config.vocab_size:,}-piece BPE tokenizer on {', '.join(args.inputs)}")
    model = train_tokenizer(args.inputs, args.output, config, verbose=args.verbose)
    sidecar = json.loads((model.parent / "tokenizer.model.json").read_text())
    header = f"{'doc_type':<24}{'docs':>8}{'held out':>10}{'dups':>7}{'avail MB':>10}{'sample MB':>11}{'share':>8}{'repeat':>8}"
    print(header)
    print("-" * len(header))
    for doc_type, row in sidecar["sample"].items():
        print(
            f"{doc_type:<24}{row['documents']:>8,}{row['held_out']:>10,}{row['duplicates_dropped']:>7,}"
            f"{row['available_chars'] / 1e6:>10.2f}{row['sampled_chars'] / 1e6:>11.2f}"
            f"{row['share_of_sample']:>8.1%}{row['repeat_factor']:>7.2f}x"
        )
    if sidecar["skipped_doc_types"]:
        print(
            "not trained on (no weight): "
            + ", ".join(f"{k} ({v:,} docs)" for k, v in sidecar["skipped_doc_types"].items())
        )
    if sidecar["quarantined"]:
        print(f"quarantined records: {len(sidecar['quarantined'])} (listed in {model}.json)")
    print(f"wrote {model} ({sidecar['sha256'][:12]}..., {sidecar['seconds']} s) and {model}.json")
    return 0


def _fertility(args: argparse.Namespace) -> int:
    from medtitan.data.documents import ReadReport, read_documents
    from medtitan.tokenizer import Tokenizer
    from medtitan.tokenizer.fertility import (
        CASE_STUDY_TERMS,
        MedtitanEncoder,
        fertility_report,
        format_report,
        load_encoder,
    )

    try:
        ours = MedtitanEncoder(Tokenizer.from_file(args.tokenizer))
    except ValueError as error:
        if "only BPE models" not in str(error):
            raise
        ours = load_encoder(args.tokenizer)  # a unigram model: measured with sentencepiece itself
    encoders = [ours] + [load_encoder(b) for b in args.baseline]
    terms = list(CASE_STUDY_TERMS)
    if args.terms:
        terms = [line.strip() for line in args.terms.read_text(encoding="utf-8").splitlines() if line.strip()]
    report_of_reading = ReadReport()
    by_type: dict[str, list[str]] = {}
    for document in read_documents(args.inputs, text_field=args.text_field, report=report_of_reading):
        by_type.setdefault(document.doc_type, []).append(document.text)
    if not by_type:
        raise CorpusReadError(f"no documents in {', '.join(args.inputs)}")
    report = fertility_report(by_type, encoders, terms)
    print(format_report(report))
    if report_of_reading.quarantined:
        print(f"quarantined records (not measured): {len(report_of_reading.quarantined)}")
        for item in report_of_reading.quarantined[:5]:
            print(f"  {item.path}:{item.line}: {item.reason}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = report.to_json() | {"quarantined": [q.to_json() for q in report_of_reading.quarantined]}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from medtitan.data.build import build
    from medtitan.data.build_config import load_build_config
    from medtitan.data.summary import format_build_summary

    config = load_build_config(args.config, output=args.output, workers=args.workers)
    report = build(
        config, progress=not args.quiet, executor=args.executor, address=args.address, stop_after=args.stop_after
    )
    if args.stop_after:
        print(f"stopped after {args.stop_after}: {', '.join(report)} done (state in {config.output / 'work'})")
        return 0
    print(format_build_summary(report))
    print(f"wrote {config.output} (manifest.json, report.json, train/, validation/)")
    return 0


def _build_tasks(args: argparse.Namespace) -> int:
    from medtitan.data.build import Builder
    from medtitan.data.build_config import load_build_config

    config = load_build_config(args.config, output=args.output)
    print(json.dumps(Builder(config, progress=False).task_counts()))
    return 0


def _build_task(args: argparse.Namespace) -> int:
    from medtitan.data.build import Builder
    from medtitan.data.build_config import load_build_config

    config = load_build_config(args.config, output=args.output, workers=args.workers)
    # One task on a scheduler's allocation: build.workers threads (--workers), else all cores.
    stats = {"stage": args.stage, "task": args.task} | Builder(config, progress=False).run_task(args.stage, args.task)
    # Kept for the memory model: a scheduler's tasks report their own peak memory here.
    from medtitan.data.workspace import write_json

    write_json(config.output / "work" / "tasks" / args.stage / f"task-{args.task:05d}.json", stats)
    print(json.dumps(stats))
    return 0


def _train_deid(args: argparse.Namespace) -> int:
    from medtitan.deid.train import TrainDeidConfig, train_deid_model

    config = TrainDeidConfig(
        seed=args.seed,
        epochs=args.epochs,
        buckets=args.buckets,
        dev_fraction=args.dev_fraction,
        copies=args.copies,
        runs=args.runs,
    )
    train_deid_model(args.corpus, args.output, config, num_threads=args.workers, progress=not args.quiet)
    return 0


def _train_reference_lm(args: argparse.Namespace) -> int:
    from medtitan.quality.reference_lm import train_reference_lm

    sidecar = train_reference_lm(
        args.inputs,
        args.tokenizer,
        args.output,
        order=args.order,
        min_counts=args.min_counts,
        text_field=args.text_field,
        num_threads=args.workers,
        progress=not args.quiet,
    )
    counts = ", ".join(f"{n}-grams {c:,}" for n, c in enumerate(sidecar["ngram_counts"], start=1))
    print(
        f"{sidecar['documents']:,} documents, {sidecar['tokens']:,} tokens ({sidecar['characters'] / 1e6:.1f} MB of "
        f"text), {sidecar['quarantined']} quarantined; {counts}"
    )
    print(f"wrote {args.output} ({sidecar['bytes'] / 2**20:.1f} MiB, {sidecar['seconds']} s) and {args.output}.json")
    return 0


def _filter_report(args: argparse.Namespace) -> int:
    from medtitan.data.manifest import FILTER_EXAMPLES_FILE
    from medtitan.data.summary import format_filter_report

    report_path, examples_path = args.output / "report.json", args.output / FILTER_EXAMPLES_FILE
    for path in (report_path, examples_path):
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: no such file (is {args.output} a build output, made since filter examples exist?)"
            )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    with open(examples_path, encoding="utf-8") as handle:
        examples = [json.loads(line) for line in handle]
    print(format_filter_report(report, examples, reason=args.reason, doc_type=args.doc_type, per_group=args.examples))
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from medtitan.data.summary import format_manifest_summary
    from medtitan.data.shards import verify

    manifest_path = args.output / "manifest.json"
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path}: no such file (is {args.output} a build output?)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    print(format_manifest_summary(manifest))
    if args.verify:
        from medtitan.data.private import at_rest_problems

        # Checksums and counts, then raw text at rest: none outside a private folder kept 0700.
        problems = verify(args.output) + at_rest_problems(args.output)
        for problem in problems:
            print(f"  FAILED {problem}")
        print(f"verify: {len(manifest['files'])} files checked, {len(problems)} problems")
        return 1 if problems else 0
    return 0


def build_parser() -> argparse.ArgumentParser:
    from medtitan.data.stages import STAGES

    parser = argparse.ArgumentParser(prog="medtitan-data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    stats = commands.add_parser("stats", help="documents, words, exact and near duplicates per doc_type")
    stats.add_argument("inputs", nargs="+", help=".jsonl, .jsonl.gz, .jsonl.zst files, or folders of them")
    stats.add_argument("--text-field", default="text")
    stats.add_argument(
        "--near-duplicates",
        action="store_true",
        help="also find near-duplicate pairs by exact word n-gram Jaccard (quadratic)",
    )
    stats.add_argument("--threshold", type=float, default=0.8, help="Jaccard threshold for near duplicates")
    stats.add_argument("--ngram", type=int, default=5, help="words per shingle")
    stats.add_argument("--json", type=Path, help="also write the full statistics here")
    stats.set_defaults(run=_stats)

    train = commands.add_parser(
        "train-tokenizer", help="train a sentencepiece BPE tokenizer on a doc_type-weighted sample"
    )
    train.add_argument("inputs", nargs="+", help="JSONL (.gz, .zst) or Parquet files, or folders of them")
    train.add_argument("--output", required=True, type=Path, help="folder for tokenizer.model and its .json sidecar")
    train.add_argument(
        "--config", type=Path, help="TOML with a [tokenizer] table (see data_configs/tokenizer_64k.toml)"
    )
    train.add_argument("--vocab-size", type=int)
    train.add_argument("--weight", action="append", metavar="DOC_TYPE=W", help="share of the sample (repeatable)")
    train.add_argument("--sample-chars", type=int, help="size of the weighted training sample in characters")
    train.add_argument("--seed", type=int)
    train.add_argument("--holdout-fraction", type=float, help="duplicate families held out, written to OUTPUT/holdout/")
    train.add_argument("--split-digits", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--normalization", help="sentencepiece normalization rule (nfkc, nmt_nfkc, identity)")
    train.add_argument("--user-defined-symbols", help="comma-separated pieces that are always one token")
    train.add_argument("--text-field", default=None)
    train.add_argument("--verbose", action="store_true", help="show sentencepiece's own log")
    train.set_defaults(run=_train_tokenizer)

    fert = commands.add_parser(
        "fertility", help="tokens per word and per medical term, per doc_type, against baselines"
    )
    fert.add_argument("inputs", nargs="+", help="JSONL (.gz, .zst) or Parquet files, or folders of them")
    fert.add_argument("--tokenizer", required=True, type=Path, help="the sentencepiece .model to measure")
    fert.add_argument(
        "--baseline",
        action="append",
        default=[],
        type=Path,
        help="a .model, HF tokenizer.json or .tiktoken file to compare with (repeatable)",
    )
    fert.add_argument("--terms", type=Path, help="medical terms, one per line (default: the case study's)")
    fert.add_argument("--text-field", default="text")
    fert.add_argument("--json", type=Path, help="also write the full report here")
    fert.set_defaults(run=_fertility)

    lm = commands.add_parser(
        "train-reference-lm",
        help="train the filter stage's reference n-gram LM (Kneser-Ney, over a tokenizer's ids) on clean text",
    )
    lm.add_argument("inputs", nargs="+", help="JSONL (.gz, .zst) or Parquet files, or folders of them")
    lm.add_argument("--tokenizer", required=True, type=Path, help="the build's sentencepiece .model")
    lm.add_argument("--output", required=True, type=Path, help="MODEL file (MODEL.json is written next to it)")
    lm.add_argument("--order", type=int, default=5, help="n-gram order")
    lm.add_argument(
        "--min-counts",
        type=int,
        nargs="+",
        metavar="N",
        help="count cutoff per order, unigrams first (default: the Rust trainer's)",
    )
    lm.add_argument("--text-field", default="text")
    lm.add_argument("--workers", type=int, help="threads (default: all cores); never changes the model")
    lm.add_argument("--quiet", action="store_true", help="no progress bar")
    lm.set_defaults(run=_train_reference_lm)

    from medtitan.deid.cli import add_deid_commands  # `deid` and `deid-score`, beside the de-identifier

    add_deid_commands(commands)

    build = commands.add_parser(
        "build", help="raw sources -> de-identified, deduplicated, decontaminated, packed shards"
    )
    build.add_argument("--config", required=True, type=Path, help="build TOML (see data_configs/demo.toml)")
    build.add_argument("--output", help="output folder (overrides build.output)")
    build.add_argument(
        "--workers", type=int, help="threads for the Rust stages (default: all cores); never changes the output"
    )
    build.add_argument("--quiet", action="store_true", help="no per-stage progress")
    build.add_argument(
        "--executor",
        default="local",
        choices=("local", "process", "ray"),
        help="where the partitioned tasks run: this process (default), fresh local processes, or Ray; "
        "never changes the output",
    )
    build.add_argument("--address", help="Ray cluster address (default: start a local Ray for this build)")
    build.add_argument("--stop-after", choices=STAGES, help="run the stages up to this one, then stop")
    build.set_defaults(run=_build)

    tasks = commands.add_parser(
        "build-tasks",
        help="JSON: the task steps of a build and their task counts "
        "(after `build --stop-after ingest`), for schedulers",
    )
    tasks.add_argument("--config", required=True, type=Path)
    tasks.add_argument("--output", help="output folder (overrides build.output)")
    tasks.set_defaults(run=_build_tasks)

    task = commands.add_parser("build-task", help="run one task of one step (a Slurm array element); idempotent")
    task.add_argument("--config", required=True, type=Path)
    task.add_argument(
        "--stage", required=True, help="deid, filter, dedup-map, dedup-exact, dedup-bands, dedup-confirm, decontaminate"
    )
    task.add_argument("--task", required=True, type=int, help="the task index (e.g. $SLURM_ARRAY_TASK_ID)")
    task.add_argument("--output", help="output folder (overrides build.output)")
    task.add_argument("--workers", type=int, help="threads inside the task (default: all cores)")
    task.set_defaults(run=_build_task)

    filter_report = commands.add_parser(
        "filter-report",
        help="what each quality filter removed, per doc_type, with examples and scores, and the perplexity histogram",
    )
    filter_report.add_argument("output", type=Path, help="a build output folder")
    filter_report.add_argument(
        "--reason", help="only this filter's removals (too_short, non_alphanumeric, language, repetition, perplexity)"
    )
    filter_report.add_argument("--doc-type", help="only this doc_type")
    filter_report.add_argument("--examples", type=int, default=10, help="examples per (reason, doc_type), at most 10")
    filter_report.set_defaults(run=_filter_report)

    inspect = commands.add_parser("inspect", help="summary of a build output; --verify checks every checksum")
    inspect.add_argument("output", type=Path, help="a build output folder (holding manifest.json)")
    inspect.add_argument(
        "--verify",
        action="store_true",
        help="recompute sha256 of every file and count samples; fail if raw text (quarantined lines, "
        "raw work copies, unlisted files) sits outside OUTPUT/private/ or that folder is wider "
        "than 0700/0600",
    )
    inspect.set_defaults(run=_inspect)
    deid_train = commands.add_parser(
        "train-deid",
        help="train the de-identifier's name/place tagger on surrogate PHI planted into real clinical text",
    )
    deid_train.add_argument("--corpus", nargs="+", required=True, help="JSONL files of real clinical text")
    deid_train.add_argument(
        "--output", required=True, type=Path, help="MODEL.bin (MODEL.bin.json is written next to it)"
    )
    deid_train.add_argument("--seed", type=int, default=0, help="same corpus, lexicons and seed: the same model bytes")
    deid_train.add_argument("--epochs", type=int, default=8)
    deid_train.add_argument("--buckets", type=int, default=1 << 18, help="feature hash buckets, a power of two")
    deid_train.add_argument("--copies", type=int, default=4, help="planted copies of each training document")
    deid_train.add_argument(
        "--runs", type=int, default=2, help="training runs (example orders) averaged into the model, run in parallel"
    )
    deid_train.add_argument(
        "--dev-fraction", type=float, default=0.1, help="duplicate families held out for the dev table"
    )
    deid_train.add_argument("--workers", type=int, help="threads for the parallel steps (never changes the model)")
    deid_train.add_argument("--quiet", action="store_true", help="no progress bar")
    deid_train.set_defaults(run=_train_deid)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CorpusReadError, ConfigError) as error:
        print(f"medtitan-data {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as error:  # bad files and option values, named in the message
        print(f"medtitan-data {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
