"""`medtitan-data deid` (scrub files outside a build) and `medtitan-data deid-score` (measure an
engine against a gold standard the user holds: i2b2 2014 XML or JSONL spans).

Registered in ``medtitan.data.cli`` through `add_deid_commands`; heavy imports stay inside the
commands so that ``medtitan-data --help`` stays fast.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ENGINE = "default"  # the engine both commands use when --engine is not given
BATCH_SIZE = 256  # texts per deidentify_batch call
REPLACE_MODES = ("placeholder", "surrogate")
DEID_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".txt")
REPORT_NAME = "deid_report.json"
SHOWN_PROBLEMS = 20


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- engines --------------------------------------------------------------------------------------


def resolve_engine(spec: str | None, replace: str = "placeholder", seed: int = 0) -> tuple[object, str]:
    """The engine and the spec it came from (`spec`, else DEFAULT_ENGINE)."""
    from medtitan.deid.engine import load_deidentifier

    spec = spec or DEFAULT_ENGINE
    if replace == "placeholder":
        return load_deidentifier(spec), spec  # plug-ins take no replacement arguments
    return load_deidentifier(spec, replace=replace, seed=seed), spec


def _deidentify(engine, texts: Sequence[str], where: str) -> list:
    results = engine.deidentify_batch(list(texts))
    if len(results) != len(texts):
        raise ValueError(f"{where}: the engine returned {len(results)} results for {len(texts)} texts")
    return results


def _progress(unit: str):
    from tqdm import tqdm

    return tqdm(unit=unit, unit_scale=True, disable=None, file=sys.stderr)  # off when stderr is not a terminal


# --- deid-score ----------------------------------------------------------------------------------


def _run_deid_score(args: argparse.Namespace) -> int:
    from medtitan.deid.score import (
        DEFAULT_EXCLUDED_TYPES,
        STRICT_HIPAA_EXCLUDED_TYPES,
        format_examples,
        format_score_table,
        read_gold,
        read_predictions,
        score_documents,
    )

    started = time.perf_counter()
    gold = read_gold(args.gold)
    if not gold.documents:
        raise ValueError(f"no gold documents in {', '.join(args.gold)}")
    spans = sum(len(doc.spans) for doc in gold.documents)
    print(f"gold: {len(gold.documents):,} documents, {spans:,} spans from {len(gold.files):,} files")
    problems = list(gold.problems)
    if args.predictions:
        predicted, prediction_problems = read_predictions(args.predictions, gold)
        problems += prediction_problems
        source = {"predictions": str(args.predictions)}
        print(f"predictions: {args.predictions}")
    else:
        engine, spec = resolve_engine(args.engine)
        source = {"engine": spec}
        print(f"engine: {spec}")
        predicted = {}
        with _progress("doc") as bar:
            for at in range(0, len(gold.documents), BATCH_SIZE):
                batch = gold.documents[at : at + BATCH_SIZE]
                for doc, result in zip(batch, _deidentify(engine, [d.text for d in batch], f"engine {spec!r}")):
                    predicted[doc.id] = result.spans
                bar.update(len(batch))
    excluded = set(args.exclude_types if args.exclude_types is not None else DEFAULT_EXCLUDED_TYPES)
    if args.hipaa_strict:
        excluded |= STRICT_HIPAA_EXCLUDED_TYPES
    score = score_documents(
        gold.documents, predicted, exclude_types=excluded, types=args.types, max_examples=args.max_examples
    )
    problems += score.problems
    print()
    print(format_score_table(score))
    examples = format_examples(score)
    if examples:
        print()
        print(examples)
    if problems:
        print(f"\n{len(problems):,} problems in the inputs (scoring went on):")
        for problem in problems[:SHOWN_PROBLEMS]:
            print(f"  {problem}")
        if len(problems) > SHOWN_PROBLEMS:
            print(f"  ... and {len(problems) - SHOWN_PROBLEMS:,} more" + (" (all in the JSON)" if args.json else ""))
    if args.json:
        payload = {
            "gold": [str(g) for g in args.gold],
            **source,
            "excluded_types": sorted(excluded),
            "types": args.types,
            "seconds": round(time.perf_counter() - started, 3),
            **score.to_json(),
            "problems": [p.to_json() for p in problems],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json} (holds the gold PHI of misses and their context)")
    return 0


# --- deid ----------------------------------------------------------------------------------------


@dataclass
class FileSummary:
    name: str
    records: int = 0  # non-blank input lines (or 1 for a .txt file)
    written: int = 0
    bad: int = 0
    blank: int = 0
    spans: int = 0


@dataclass
class DeidSummary:
    files: list[FileSummary] = field(default_factory=list)
    spans_by_type: Counter = field(default_factory=Counter)
    bad: list[dict] = field(default_factory=list)  # {file, line, reason}; never the raw line (it may hold PHI)
    text_bytes: int = 0


def deid_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given, and the .jsonl(.gz/.zst) and .txt files directly in folders given."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.name.endswith(DEID_SUFFIXES))
            if not found:
                raise ValueError(f"{item}: folder holds no .jsonl, .jsonl.gz, .jsonl.zst or .txt files")
            files += found
        elif item.is_file():
            if not item.name.endswith(DEID_SUFFIXES):
                raise ValueError(f"{item}: expected .jsonl, .jsonl.gz, .jsonl.zst or .txt")
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or folder")
    return files


class _Output:
    """An output file written under a temporary name (compressed like its input), renamed when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        raw = open(self.partial, "wb")  # noqa: SIM115 (closed in close())
        if path.name.endswith(".gz"):
            self.stream = gzip.GzipFile(filename=path.name, fileobj=raw, mode="wb", mtime=0)
        elif path.name.endswith(".zst"):
            import zstandard

            self.stream = zstandard.ZstdCompressor().stream_writer(raw)
        else:
            self.stream = raw
        self.raw = raw

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def close(self, keep: bool) -> None:
        self.stream.close()
        if not self.raw.closed:
            self.raw.close()
        if keep:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)


def _spans_json(spans) -> list[list]:
    return [[int(start), int(end), str(kind)] for start, end, kind in spans]  # offsets and types, no text


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _deid_jsonl(path: Path, engine, args, summary: DeidSummary, bar) -> None:
    from medtitan.data.jsonl import Quarantined, read_records

    entry = FileSummary(path.name)
    summary.files.append(entry)
    blank: list[int] = []
    output = _Output(args.output / path.name)
    sidecar = _Output(args.output / f"{path.name}.spans.jsonl") if args.spans else None
    ok = False
    try:
        items = read_records(path, text_field=args.text_field, blank_lines=blank)
        for batch in _batches(items, BATCH_SIZE):
            records = []
            for item in batch:
                entry.records += 1
                if isinstance(item, Quarantined):
                    entry.bad += 1
                    summary.bad.append({"file": str(path), "line": item.line, "reason": item.reason})
                else:
                    records.append(item)
            if not records:
                continue
            results = _deidentify(engine, [r.text for r in records], str(path))
            lines, spans_lines = [], []
            for record, result in zip(records, results):
                summary.text_bytes += len(record.text.encode("utf-8"))
                entry.spans += len(result.spans)
                summary.spans_by_type.update(kind for _, _, kind in result.spans)
                lines.append(json.dumps({**record.data, args.text_field: result.text}, ensure_ascii=False))
                if sidecar:
                    row = {"line": record.line} | ({"id": record.data["id"]} if "id" in record.data else {})
                    spans_lines.append(json.dumps(row | {"spans": _spans_json(result.spans)}))
            output.write(("\n".join(lines) + "\n").encode("utf-8"))
            if sidecar:
                sidecar.write(("\n".join(spans_lines) + "\n").encode("utf-8"))
            entry.written += len(records)
            bar.update(len(records))
        ok = True
    finally:
        entry.blank = len(blank)
        output.close(keep=ok)
        if sidecar:
            sidecar.close(keep=ok)


def _deid_text_files(paths: list[Path], engine, args, summary: DeidSummary, bar) -> None:
    """Plain text files, one document each, BATCH_SIZE files per engine call; bytes kept as they are."""
    for batch in _batches(iter(paths), BATCH_SIZE):
        texts, good = [], []
        for path in batch:
            entry = FileSummary(path.name, records=1)
            summary.files.append(entry)
            try:
                texts.append(path.read_bytes().decode("utf-8"))
                good.append((path, entry))
            except UnicodeDecodeError as error:
                entry.bad = 1
                summary.bad.append({"file": str(path), "line": 1, "reason": f"invalid UTF-8 at byte {error.start}"})
        for (path, entry), text, result in zip(good, texts, _deidentify(engine, texts, "text files")):
            summary.text_bytes += len(text.encode("utf-8"))
            entry.spans = len(result.spans)
            entry.written = 1
            summary.spans_by_type.update(kind for _, _, kind in result.spans)
            (args.output / path.name).write_bytes(result.text.encode("utf-8"))
            if args.spans:
                (args.output / f"{path.name}.spans.jsonl").write_text(
                    json.dumps({"file": path.name, "spans": _spans_json(result.spans)}) + "\n", encoding="utf-8"
                )
        bar.update(len(good))


def format_deid_summary(summary: DeidSummary, seconds: float, spec: str) -> str:
    width = max([8] + [len(f.name) for f in summary.files]) + 2
    header = f"{'file':<{width}}{'records':>10}{'written':>10}{'bad':>7}{'blank':>7}{'spans':>10}"
    lines = [header, "-" * len(header)]
    for f in summary.files:
        lines.append(f"{f.name:<{width}}{f.records:>10,}{f.written:>10,}{f.bad:>7,}{f.blank:>7,}{f.spans:>10,}")
    total = FileSummary(
        "total",
        *(sum(getattr(f, key) for f in summary.files) for key in ("records", "written", "bad", "blank", "spans")),
    )
    lines += [
        "-" * len(header),
        (
            f"{'total':<{width}}{total.records:>10,}{total.written:>10,}{total.bad:>7,}"
            f"{total.blank:>7,}{total.spans:>10,}"
        ),
    ]
    if summary.spans_by_type:
        lines.append("spans by type: " + ", ".join(f"{k} {v:,}" for k, v in summary.spans_by_type.most_common()))
    megabytes = summary.text_bytes / 1e6
    lines.append(
        f"{total.written:,} documents, {megabytes:.2f} MB of text in {seconds:.2f} s "
        f"({megabytes / seconds if seconds > 0 else 0:.2f} MB/s, engine {spec})"
    )
    return "\n".join(lines)


def _run_deid(args: argparse.Namespace) -> int:
    files = deid_inputs(args.inputs)
    names = Counter(path.name for path in files)
    repeated = sorted(name for name, n in names.items() if n > 1)
    if repeated:
        raise ValueError(
            f"several inputs are named {', '.join(repeated)}: outputs keep the file names, "
            "so give them in separate runs"
        )
    if REPORT_NAME in names:
        raise ValueError(f"an input is named {REPORT_NAME}, which the output folder reserves for the report")
    output = args.output.resolve()
    for path in files:
        if path.resolve().parent == output:
            raise ValueError(
                f"{path}: the output folder {args.output} holds this input; writing there would overwrite it"
            )
    engine, spec = resolve_engine(args.engine, replace=args.replace, seed=args.seed)
    args.output.mkdir(parents=True, exist_ok=True)
    summary = DeidSummary()
    started = time.perf_counter()
    with _progress("doc") as bar:
        text_files = [path for path in files if path.name.endswith(".txt")]
        for path in files:
            if not path.name.endswith(".txt"):
                _deid_jsonl(path, engine, args, summary, bar)
        if text_files:
            _deid_text_files(text_files, engine, args, summary, bar)
    seconds = time.perf_counter() - started
    order = {path.name: i for i, path in enumerate(files)}
    summary.files.sort(key=lambda f: order[f.name])
    if summary.bad:
        print(f"{len(summary.bad):,} records not de-identified (not written):")
        for bad in summary.bad[:SHOWN_PROBLEMS]:
            print(f"  {bad['file']}:{bad['line']}: {bad['reason']}")
        if len(summary.bad) > SHOWN_PROBLEMS:
            print(f"  ... and {len(summary.bad) - SHOWN_PROBLEMS:,} more (all in {args.output / REPORT_NAME})")
    print(format_deid_summary(summary, seconds, spec))
    report = {
        "engine": spec,
        "replace": args.replace,
        "seed": args.seed,
        "seconds": round(seconds, 3),
        "text_bytes": summary.text_bytes,
        "files": [vars(f) for f in summary.files],
        "spans_by_type": dict(summary.spans_by_type.most_common()),
        "bad": summary.bad,
    }
    (args.output / REPORT_NAME).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    written = sum((args.output / f.name).is_file() for f in summary.files)
    print(
        f"wrote {written:,} files to {args.output}"
        + (" with .spans.jsonl sidecars" if args.spans else "")
        + f", and {REPORT_NAME}"
    )
    return 0


# --- argparse --------------------------------------------------------------------------------------


def add_deid_commands(commands: argparse._SubParsersAction) -> None:
    """Add `deid` and `deid-score` to the `medtitan-data` sub-command parser."""
    score = commands.add_parser(
        "deid-score", help="recall and precision of a de-identifier against your gold standard (i2b2 XML or JSONL)"
    )
    score.add_argument(
        "gold",
        nargs="+",
        help="i2b2 2014 .xml files, .jsonl gold files ({id?, text, spans}), or folders of them (searched recursively)",
    )
    source = score.add_mutually_exclusive_group()
    source.add_argument(
        "--engine", help=f"de-identifier spec: default, rules or package.module:attr (default: {DEFAULT_ENGINE!r})"
    )
    source.add_argument(
        "--predictions",
        type=Path,
        help="score another engine's output instead: JSONL of {id?, spans} (by id, else line order)",
    )
    score.add_argument("--json", type=Path, help="also write the full score here")
    score.add_argument("--max-examples", type=int, default=5, help="misses and false positives shown per type")
    score.add_argument(
        "--types",
        nargs="+",
        metavar="TYPE",
        help="gold types or subtypes counted in the overall figures (default: all but the excluded)",
    )
    score.add_argument(
        "--exclude-types",
        nargs="*",
        metavar="TYPE",
        help="gold types or subtypes left out of the overall figures (default: PROFESSION; "
        "give none to count every type)",
    )
    score.add_argument(
        "--hipaa-strict",
        action="store_true",
        help="also leave out the i2b2 2014 subtypes outside HIPAA Safe Harbor (DOCTOR, HOSPITAL, ...)",
    )
    score.set_defaults(run=_run_deid_score)

    deid = commands.add_parser("deid", help="scrub PHI from JSONL (.gz, .zst) and .txt files outside a build")
    deid.add_argument("inputs", nargs="+", help=".jsonl, .jsonl.gz, .jsonl.zst or .txt files, or folders of them")
    deid.add_argument("--output", required=True, type=Path, help="folder for the scrubbed files (same names)")
    deid.add_argument(
        "--engine", help=f"de-identifier spec: default, rules or package.module:attr (default: {DEFAULT_ENGINE!r})"
    )
    deid.add_argument("--text-field", default="text", help="the JSONL field to scrub; other fields are kept")
    deid.add_argument(
        "--replace",
        choices=REPLACE_MODES,
        default="placeholder",
        help="typed placeholders ([NAME]) or realistic surrogates (needs an engine that offers them)",
    )
    deid.add_argument("--seed", type=int, default=0, help="seed of the surrogates (default 0)")
    deid.add_argument(
        "--spans",
        action="store_true",
        help="also write NAME.spans.jsonl beside each output: offsets and types found, never the text",
    )
    deid.set_defaults(run=_run_deid)
