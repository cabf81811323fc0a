"""De-identification throughput of the build's deid stage, end to end, on one core.

    .venv/bin/python benchmarks/deid.py [--input ../shared/data/clinical_notes.jsonl] [--repeat 2]

What is timed is what the build's deid task does with one partition: read the JSONL, run the
engine on every text, write the scrubbed JSONL (medtitan.data.workspace's readers and writers).
Rows, in one run, on the same input:

* rules (anchor): the Rust regex rules alone (the engine before issue 12);
* default: rules + lexicons + the learned name/location tagger (the build's default engine);
* default, surrogates: the same with realistic surrogates instead of placeholders;
* engine only: the default engine's deidentify_batch alone, without reading and writing.

The process is pinned to one CPU and every engine runs with num_threads=1, so MB/s is per core.
Each figure is the best of --repeat runs. The ratio is the row's throughput over the anchor's.
Falls back to the demo corpus when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from common import SHARED, best_seconds, demo_corpus_dir  # (benchmarks/ is on sys.path)
from medtitan.data.workspace import read_jsonl, write_jsonl
from medtitan.deid import load_deidentifier


def stage(engine, source: Path, target: Path) -> int:
    """The deid task's work on one partition; returns the number of spans found."""
    rows = read_jsonl(source)
    found = 0
    for row, result in zip(rows, engine.deidentify_batch([r["text"] for r in rows])):
        row["text"] = result.text
        found += len(result.spans)
    write_jsonl(target, rows)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_input = SHARED / "clinical_notes.jsonl"
    parser.add_argument("--input", type=Path, default=default_input if default_input.exists() else None)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    source = args.input or next(demo_corpus_dir().glob("*.jsonl"))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    megabytes = source.stat().st_size / 1e6
    texts = [row["text"] for row in read_jsonl(source)]
    print(f"input: {source} ({len(texts):,} documents, {megabytes:.2f} MB), 1 CPU, best of {args.repeat}")

    engines = {
        "rules (anchor)": load_deidentifier("rules", num_threads=1),
        "default": load_deidentifier("default", num_threads=1),
        "default, surrogates": load_deidentifier("default", num_threads=1, replace="surrogate", seed=1234),
    }
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "part.jsonl"
        for name, engine in engines.items():
            spans = stage(engine, source, target)  # warm-up: lexicons, model and regex caches
            seconds = best_seconds(lambda engine=engine: stage(engine, source, target), args.repeat)
            rows.append((f"deid stage, {name}", megabytes / seconds, spans))
        engine = engines["default"]
        seconds = best_seconds(lambda: engine.deidentify_batch(texts), args.repeat)
        rows.append(("engine only, default", megabytes / seconds, None))
    anchor = rows[0][1]
    print(f"{'run':<36} {'MB/s':>8} {'ratio':>7} {'spans':>9}")
    for name, rate, spans in rows:
        print(f"{name:<36} {rate:>8.2f} {rate / anchor:>6.2f}x {'' if spans is None else f'{spans:,}':>9}")


if __name__ == "__main__":
    main()
