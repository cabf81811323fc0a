"""write: the packed samples -> a seeded shuffle into size-capped Megatron .bin/.idx shards
(rust/shards/), per split, and the doc_type of every validation sample."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from medtitan import _core
from medtitan.data.shards import DOC_TYPES_FILE
from medtitan.data.stages.base import Driver
from medtitan.data.workspace import write_atomic
from medtitan.faults import build_crash_point

TASKS: dict = {}


def run(driver: Driver, results: dict) -> dict:
    """Shuffle each split's packed samples into .bin/.idx shards of at most `shard_bytes`."""
    build = driver.config.build
    sample_len = build.seq_len + 1
    itemsize = 2 if driver.tokenizer.vocab_size <= 65_536 else 4
    per_shard = max(1, build.shard_bytes // (sample_len * itemsize))
    splits = {}
    for split, folder, seed_offset in (("train", "train", 0), ("validation", "validation", 1)):
        target = driver.output / folder
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shards = _core.write_shards(
            driver.work.stage("pack") / f"{split}.u32",
            sample_len,
            build.seed + seed_offset,
            per_shard,
            driver.tokenizer.vocab_size,
            target / split,
        )
        splits[split] = {
            "folder": folder,
            "samples": sum(s["samples"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "shards": [Path(s["prefix"]).name for s in shards],
        }
        if split == "validation":
            _write_sample_doc_types(
                target, results["pack"]["splits"]["validation"]["doc_types"], build.seed + seed_offset
            )
        build_crash_point("write")
    return {"splits": splits, "dtype": "uint16" if itemsize == 2 else "int32", "samples_per_shard": per_shard}


def _write_sample_doc_types(folder: Path, samples_by_type: dict[str, int], seed: int) -> None:
    """folder/doc_types.json: the doc_type of every sample, in shard order. The packed file
    holds each type's samples in a block (sorted types); write_shards reorders samples by the
    seeded permutation that `_core.permutation` returns for the same seed."""
    names = sorted(samples_by_type)
    packed = np.repeat(np.arange(len(names), dtype=np.int64), [samples_by_type[n] for n in names])
    order = np.frombuffer(_core.permutation(len(packed), seed), dtype="<u8").astype(np.int64)
    value = {
        "doc_types": names,
        "samples": {n: samples_by_type[n] for n in names},
        "sample_doc_type": packed[order].tolist(),
    }  # indices into doc_types
    write_atomic(folder / DOC_TYPES_FILE, (json.dumps(value) + "\n").encode())
