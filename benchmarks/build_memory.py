"""Peak memory of the build per task and for the driver (medtitan/data/memory_model.py):

1. corpus size: the demo corpus at 1x, 2x and 4x with fixed partitions: every task's peak
   should stay flat, against the anchor measured in the same run, the in-memory dedup of all
   texts in one process (what the build did before its keyed shuffle), which grows;
2. partition size: the 4x corpus with 400, 1,600 and 6,400 documents per partition: the slope
   of each task's peak, which the memory model's constants bound.

Every task runs in a fresh process (--executor process), so its peak is its own.

    .venv/bin/python benchmarks/build_memory.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO  # noqa: E402  (benchmarks/ is on sys.path)

IN_MEMORY_DEDUP = """
import json, sys
from medtitan.data.dedup import deduplicate
from medtitan.data.stages.base import peak_rss_mb
texts = [json.loads(line)["text"] for path in sys.argv[1:] for line in open(path)]
deduplicate(texts, num_threads=1)
print(peak_rss_mb())
"""


def build(work: Path, corpus: Path, tokenizer: Path, name: str, partition_docs: int) -> dict:
    from medtitan.data import memory_model
    from tests.build_helpers import DEMO_SOURCES, write_config

    sources = [(n, [corpus / f], t, w) for n, f, t, w in DEMO_SOURCES]
    config = write_config(
        work / f"{name}.toml",
        tokenizer,
        sources,
        eval_sets=[corpus / "evals" / "demo_mcq.jsonl"],
        output=work / name,
        seq_len=512,
        partition_docs=partition_docs,
        keep_work=True,
    )
    subprocess.run(
        [
            str(Path(sys.executable).with_name("medtitan-data")),
            "build",
            "--config",
            str(config),
            "--quiet",
            "--executor",
            "process",
            "--workers",
            str(os.cpu_count() or 1),
        ],
        check=True,
        capture_output=True,
    )
    found = memory_model.measured(work / name)
    found["partition_mb"] = memory_model.partition_mb(work / name)
    found["partitions"] = json.loads((work / name / "private" / "work" / "ingest" / "DONE.json").read_text())[
        "partitions"
    ]
    found["input_mb"] = json.loads((work / name / "report.json").read_text())["input_mb"]
    return found


def main() -> int:
    from data_tools import demo_corpus
    from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpora = {}
        for scale in (1, 2, 4):
            corpora[scale] = work / f"corpus{scale}"
            demo_corpus.write(demo_corpus.generate(scale=scale), corpora[scale])
        config = TokenizerTrainingConfig.from_toml(REPO / "data_configs" / "tokenizer_demo.toml")
        tokenizer = train_tokenizer([corpora[1]], work / "tokenizer", config, progress=False)

        print("\n1. corpus size (400 documents per partition): peak MB of the largest task of each step")
        runs = {scale: build(work, corpora[scale], tokenizer, f"scale{scale}", 400) for scale in (1, 2, 4)}
        anchor = {}
        for scale, corpus in corpora.items():
            files = [str(p) for p in sorted(corpus.glob("*.jsonl"))]
            out = subprocess.run(
                [sys.executable, "-c", IN_MEMORY_DEDUP, *files], check=True, capture_output=True, text=True
            )
            anchor[scale] = float(out.stdout)
        steps = list(runs[1]["tasks"])
        headers = [f"{s}x ({runs[s]['input_mb']:.0f} MB)" for s in runs]
        print(f"{'':<24}" + "".join(f"{h:>16}" for h in headers) + f"{'4x / 1x':>10}")
        for step in steps + ["driver"]:
            values = [runs[s]["tasks"][step] if step != "driver" else runs[s]["driver"] for s in runs]
            print(f"{step:<24}" + "".join(f"{v:>16.1f}" for v in values) + f"{values[-1] / values[0]:>9.2f}x")
        print(
            f"{'anchor: in-memory dedup':<24}"
            + "".join(f"{anchor[s]:>16.1f}" for s in anchor)
            + f"{anchor[4] / anchor[1]:>9.2f}x"
        )
        print("partitions: " + ", ".join(f"{s}x {runs[s]['partitions']}" for s in runs))

        print("\n2. partition size (the 4x corpus): peak MB against the largest partition's MB")
        sizes = {docs: build(work, corpora[4], tokenizer, f"partition{docs}", docs) for docs in (400, 1600, 6400)}
        headers = [f"{d} docs ({r['partition_mb']:.1f} MB)" for d, r in sizes.items()]
        print(f"{'':<24}" + "".join(f"{h:>20}" for h in headers) + f"{'MB per partition MB':>22}")
        low, high = sizes[400], sizes[6400]
        for step in steps + ["driver"]:
            values = [r["tasks"][step] if step != "driver" else r["driver"] for r in sizes.values()]
            slope = (values[-1] - values[0]) / (high["partition_mb"] - low["partition_mb"])
            print(f"{step:<24}" + "".join(f"{v:>20.1f}" for v in values) + f"{slope:>22.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
