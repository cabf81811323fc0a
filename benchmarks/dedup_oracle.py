"""Exact near-duplicate scan and exact-dedup hashing: the Rust core against a pure-Python
implementation of the same algorithm (same word definition, same size filter), on the demo
corpus, in one run. Prints throughput and the ratio to the Python anchor.

    .venv/bin/python benchmarks/dedup_oracle.py [--corpus out/demo/corpus] [--subset 500]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

from common import demo_corpus_dir, load_texts  # noqa: E402  (benchmarks/ is on sys.path)
from medtitan import _core  # noqa: E402


_EDGE = re.compile(r"^[\W_]+|[\W_]+$")


def python_shingles(text: str, ngram: int = 5) -> frozenset:
    words = [w.lower() for w in (_EDGE.sub("", t) for t in text.split()) if w]
    if not words:
        return frozenset()
    window = min(ngram, len(words))
    return frozenset(tuple(words[i : i + window]) for i in range(len(words) - window + 1))


def python_pairs(texts: list[str], threshold: float) -> list[tuple[int, int]]:
    sets = [python_shingles(t) for t in texts]
    order = sorted((i for i in range(len(sets)) if sets[i]), key=lambda i: (len(sets[i]), i))
    pairs = []
    for rank, small in enumerate(order):
        for large in order[rank + 1 :]:
            if len(sets[small]) < threshold * len(sets[large]):
                break
            shared = len(sets[small] & sets[large])
            if shared / (len(sets[small]) + len(sets[large]) - shared) >= threshold:
                pairs.append((min(small, large), max(small, large)))
    return sorted(pairs)


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="folder of JSONL files (default: the demo corpus)")
    parser.add_argument("--subset", type=int, default=500, help="documents for the quadratic Python anchor")
    args = parser.parse_args()
    texts = load_texts(args.corpus or demo_corpus_dir())
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    subset = texts[: args.subset]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}; corpus: {len(texts):,} docs, {megabytes:.2f} MB"
    )

    python_hashes, python_hash_s = timed(lambda: [hash(" ".join(t.lower().split())) for t in texts])
    rust_hashes, rust_hash_s = timed(_core.normalized_hashes, texts)
    assert len(set(python_hashes)) == len(set(rust_hashes)), "both must find the same duplicate groups"

    expected, python_pairs_s = timed(python_pairs, subset, 0.8)
    got, rust_subset_s = timed(_core.near_duplicate_pairs, subset, 5, 0.8)
    assert [(i, j) for i, j, _ in got] == expected, "Rust and Python must find the same pairs"
    full, rust_full_s = timed(_core.near_duplicate_pairs, texts, 5, 0.8)

    rows = [
        (
            "normalized hash, all docs",
            f"{megabytes / python_hash_s:.1f} MB/s",
            f"{megabytes / rust_hash_s:.1f} MB/s",
            python_hash_s / rust_hash_s,
        ),
        (
            f"near-dup scan, {len(subset)} docs",
            f"{python_pairs_s:.2f} s",
            f"{rust_subset_s:.3f} s",
            python_pairs_s / rust_subset_s,
        ),
    ]
    print(f"{'benchmark':<30}{'python (anchor)':>18}{'rust core':>14}{'ratio':>9}")
    for name, anchor, ours, ratio in rows:
        print(f"{name:<30}{anchor:>18}{ours:>14}{ratio:>8.1f}x")
    print(f"near-dup scan, all {len(texts):,} docs: {rust_full_s:.2f} s in Rust, {len(full)} pairs at J >= 0.8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
