"""End-to-end `medtitan-data build` throughput (MB/s and MB/s per core) on the demo corpus and,
when present, on ../shared/data (every corpus file, decontaminated against the three evaluation
samples), then the MinHash comparison of benchmarks/minhash.py, in one run.

    .venv/bin/python benchmarks/build.py [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SHARED, medical_tokenizer  # noqa: E402  (benchmarks/ is on sys.path)


def demo_inputs(work: Path) -> tuple[Path, Path]:
    from data_tools import demo_corpus
    from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

    corpus = work / "corpus"
    demo_corpus.write(demo_corpus.generate(), corpus)
    config = TokenizerTrainingConfig.from_toml(REPO / "data_configs" / "tokenizer_demo.toml")
    return corpus, train_tokenizer([corpus], work / "tokenizer", config, progress=False)


def run(name: str, config_path: Path, workers: int) -> dict:
    from medtitan.data.build import build
    from medtitan.data.build_config import load_build_config

    config = load_build_config(config_path, workers=workers)
    started = time.perf_counter()
    report = build(config, progress=False)
    seconds = time.perf_counter() - started
    megabytes = report["input_mb"]
    stages = report["throughput"]["stage_seconds"]
    print(
        f"{name}: {megabytes:.1f} MB in {seconds:.1f} s = {megabytes / seconds:.2f} MB/s, "
        f"{megabytes / seconds / workers:.2f} MB/s per core ({workers} workers)"
    )
    print(f"  {'stage':<14}{'seconds':>8}{'MB/s':>8}{'per core':>10}   (MB of the build's input)")
    for stage, stage_seconds in stages.items():
        if stage_seconds:
            rate = megabytes / stage_seconds
            print(f"  {stage:<14}{stage_seconds:>8.2f}{rate:>8.1f}{rate / workers:>10.2f}")
    return {"mb": megabytes, "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    from tests.build_helpers import DEMO_SOURCES, write_config

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus, tokenizer = demo_inputs(work)
        sources = [(n, [corpus / f], t, w) for n, f, t, w in DEMO_SOURCES]
        config = write_config(
            work / "demo.toml",
            tokenizer,
            sources,
            eval_sets=[corpus / "evals" / "demo_mcq.jsonl"],
            output=work / "demo_build",
            seq_len=2048,
            partition_docs=20_000,
        )
        run("demo corpus", config, args.workers)
        if SHARED.is_dir():
            files = sorted(p for p in SHARED.glob("*.jsonl") if not p.name.endswith("_sample.jsonl"))
            sources = [(p.stem, [p], json.loads(p.open().readline())["doc_type"], 1.0) for p in files]
            # Every filter on: the reference LM trained on the corpus's prose (the build sees its
            # training text, so this measures speed, not quality: benchmarks/filter_quality.py).
            from medtitan.quality.reference_lm import train_reference_lm

            prose = [
                SHARED / f"{name}.jsonl"
                for name in ("clinical_notes", "radiology", "pubmed_abstracts", "general_english")
            ]
            train_reference_lm(prose, medical_tokenizer(), work / "reference.lm", progress=False)
            filters = (
                f'\n[filters]\nreference_lm = "{work / "reference.lm"}"\nmax_perplexity = 1000\n'
                "\n[filters.exempt]\n"
                + "".join(
                    f'{t} = ["min_tokens", "language", "repetition", "unknown_words", "perplexity"]\n'
                    for t in ("icd10_descriptions", "drug_lexicon", "medical_abbreviations")
                )
            )
            config = write_config(
                work / "shared.toml",
                medical_tokenizer(),
                sources,
                eval_sets=sorted(SHARED.glob("*_sample.jsonl")),
                output=work / "shared_build",
                seq_len=4096,
                partition_docs=20_000,
                validation_tokens=200_000,
                extra=filters,
            )
            run("../shared/data", config, args.workers)
    minhash = REPO / "benchmarks" / "minhash.py"
    if minhash.exists():
        print()
        import runpy

        sys.argv = [str(minhash)]
        try:
            runpy.run_path(str(minhash), run_name="__main__")
        except SystemExit as done:
            if done.code:
                return int(done.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
