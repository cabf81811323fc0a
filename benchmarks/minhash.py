"""MinHash signatures from raw text, one thread each: medtitan's Rust core against rensa and
datasketch, with 128 permutations of the same word 5-gram shingles, in one run.

    .venv/bin/python benchmarks/minhash.py [--corpus DIR]... [--repeat 3] [--datasketch-docs 3000]

Corpora: the demo corpus (out/demo/corpus, generated if absent) and ../shared/data when present
(every *.jsonl file of each folder). medtitan goes from raw text to signatures in Rust. rensa
(RMinHash) and datasketch (MinHash) get their shingles from Python, built the way
rust/dedup/shingles.rs defines them: whitespace split, punctuation stripped from both ends of each
token, lowercased, empty tokens dropped, windows of 5 words (one window of all words when a
text is shorter); the check below proves the shingle sets are the same size as ours. Their
times include that shingling, since a user must do it; rows marked "pre-shingled" leave it out
to show each library's hashing alone. rensa is timed per document (an RMinHash per text, the
documented API) and in bulk (digest_matrix_from_token_sets). datasketch is slow, so it runs on
an evenly spaced subset, and its ratio is against medtitan on that same subset.

The process is pinned to one CPU and RAYON_NUM_THREADS=1 (rensa uses rayon); medtitan runs with
num_threads=1. Each figure is the best of --repeat runs. Ratios are medtitan's throughput over
the row's, measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from importlib.metadata import version
from pathlib import Path

os.environ["RAYON_NUM_THREADS"] = "1"  # before rensa starts its thread pool
from common import SHARED, best_seconds, demo_corpus_dir, load_texts  # noqa: E402  (benchmarks/ is on sys.path)

import numpy as np  # noqa: E402

from medtitan import _core  # noqa: E402
from medtitan.data.dedup import minhash_signatures  # noqa: E402

NUM_PERM, NGRAM, SEED = 128, 5, 1
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")


def python_shingles(text: str, ngram: int = NGRAM) -> list[str]:
    """Word n-gram shingles as strings, with the word definition of rust/dedup/shingles.rs."""
    words = [w.lower() for w in (_EDGE.sub("", token) for token in text.split()) if w]
    if not words:
        return []
    window = min(ngram, len(words))
    return [" ".join(words[i : i + window]) for i in range(len(words) - window + 1)]


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, python {platform.python_version()}"


def bench_corpus(name: str, texts: list[str], repeat: int, datasketch_docs: int) -> dict:
    import rensa
    from datasketch import MinHash

    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"\n{name}: {len(texts):,} docs, {megabytes:.2f} MB")

    # The Python shingles are ours: same number of distinct shingles in every document checked.
    for text in texts[:: max(1, len(texts) // 500)]:
        assert len(set(python_shingles(text))) == len(_core.shingle_set(text, NGRAM)), text[:80]

    def ours(subset=texts):
        return minhash_signatures(subset, num_perm=NUM_PERM, ngram=NGRAM, seed=SEED, num_threads=1)

    def rensa_per_doc():
        for text in texts:
            sketch = rensa.RMinHash(NUM_PERM, SEED)
            sketch.update(python_shingles(text))
            sketch.digest()

    def rensa_bulk():
        rensa.RMinHash.digest_matrix_from_token_sets([python_shingles(t) for t in texts], NUM_PERM, SEED)

    shingled = [python_shingles(t) for t in texts]

    def rensa_bulk_preshingled():
        rensa.RMinHash.digest_matrix_from_token_sets(shingled, NUM_PERM, SEED)

    def shingling_only():
        for text in texts:
            python_shingles(text)

    step = max(1, -(-len(texts) // datasketch_docs))
    subset = texts[::step]
    subset_mb = sum(len(t.encode()) for t in subset) / 1e6

    def datasketch_subset():
        for text in subset:
            sketch = MinHash(num_perm=NUM_PERM, seed=SEED)
            sketch.update_batch([s.encode() for s in python_shingles(text)])
            sketch.digest()

    ours_s = best_seconds(ours, repeat)
    ours_subset_s = best_seconds(lambda: ours(subset), repeat)
    rows = [
        ("medtitan (Rust, raw text)", len(texts), megabytes, ours_s, ours_s),
        (
            "rensa RMinHash per doc + Python shingles",
            len(texts),
            megabytes,
            best_seconds(rensa_per_doc, repeat),
            ours_s,
        ),
        ("rensa bulk matrix + Python shingles", len(texts), megabytes, best_seconds(rensa_bulk, repeat), ours_s),
        (
            f"datasketch MinHash + Python shingles ({len(subset):,} docs)",
            len(subset),
            subset_mb,
            best_seconds(datasketch_subset, max(1, repeat // 2)),
            ours_subset_s,
        ),
        (
            "rensa bulk matrix, pre-shingled (hashing only)",
            len(texts),
            megabytes,
            best_seconds(rensa_bulk_preshingled, repeat),
            ours_s,
        ),
        ("Python shingling alone (no hashing)", len(texts), megabytes, best_seconds(shingling_only, repeat), ours_s),
    ]
    print(f"{'implementation (1 thread, 128 perm, word 5-grams)':<60}{'docs/s':>11}{'MB/s':>9}{'medtitan is':>13}")
    results = {}
    for label, docs, mb, seconds, ours_seconds in rows:
        ratio = seconds / ours_seconds  # same texts, so a time ratio is a throughput ratio
        shown = "-" if label.startswith("medtitan") else f"{ratio:.1f}x"
        print(f"{label:<60}{docs / seconds:>11,.0f}{mb / seconds:>9.2f}{shown:>13}")
        results[label] = {"docs_per_s": docs / seconds, "mb_per_s": mb / seconds, "medtitan_speedup": ratio}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="folder of JSONL files (repeatable; default: the demo corpus and ../shared/data)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is kept")
    parser.add_argument("--datasketch-docs", type=int, default=3000, help="documents datasketch hashes per corpus")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    corpora = args.corpus
    if not corpora:
        corpora = [demo_corpus_dir()] + ([SHARED] if SHARED.is_dir() else [])
    print(f"machine: {machine()}; rensa {version('rensa')}, datasketch {version('datasketch')}, numpy {np.__version__}")
    results = {str(c): bench_corpus(str(c), load_texts(c), args.repeat, args.datasketch_docs) for c in corpora}
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
