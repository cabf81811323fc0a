"""pack: the mix's plans -> samples of seq_len + 1 tokens, documents joined by </s>, streamed by
the Rust SampleWriter in the driver (one partition's tokens in memory at a time): training in
one stream, validation per doc_type."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from medtitan import _core
from medtitan.data.stages.base import Driver, StageCounts
from medtitan.data.workspace import stable_hash
from medtitan.faults import build_crash_point

TASKS: dict = {}


def run(driver: Driver, results: dict) -> dict:
    """Training samples in one stream; validation samples packed per doc_type (so a sample
    never mixes types and perplexity can be reported per type), then concatenated."""
    build = driver.config.build
    stage = driver.work.stage("pack")
    sample_len = build.seq_len + 1
    partitions = results["ingest"]["partitions"]

    def plans():
        """Each partition's plan in turn (never all at once: they list every document)."""
        for partition in range(partitions):
            yield partition, json.loads(driver.work.part("mix", partition, ".json").read_text())

    max_copies, doc_types, docs_in = 0, set(), 0
    for _, plan in plans():
        max_copies = max([max_copies] + [c for _, c in plan["train"]])
        doc_types.update(plan["validation"])
        docs_in += len(plan["train"]) + sum(map(len, plan["validation"].values()))
    doc_types = sorted(doc_types)

    def pack(path: Path, split: str, passes: range, positions) -> dict:
        writer = _core.SampleWriter(path, sample_len, driver.tokenizer.eos_id)
        for repeat in passes:
            for partition, plan in plans():
                chosen = np.array(positions(plan, repeat), dtype=np.int64)
                if not len(chosen):
                    continue
                # Within a partition, a seeded order per pass, so repeats land apart.
                shuffle = np.frombuffer(
                    _core.permutation(len(chosen), stable_hash(build.seed, split, partition, repeat)), dtype="<u8"
                )
                order = chosen[shuffle.astype(np.int64)]
                tokens = np.load(driver.work.part("filter", partition, ".tokens.npz"))
                writer.push(
                    _as_bytes(tokens["ids"], "<u4"), _as_bytes(tokens["offsets"], "<i8"), _as_bytes(order, "<i8")
                )
        stats = writer.close()
        stats["samples"] = stats["tokens"] // sample_len
        return stats

    outcome = {
        "train": pack(
            stage / "train.u32.tmp",
            "train",
            range(max_copies),
            lambda plan, repeat: [pos for pos, count in plan["train"] if count > repeat],
        )
    }
    os.replace(stage / "train.u32.tmp", stage / "train.u32")
    by_type = {}
    with open(stage / "validation.u32.tmp", "wb") as combined:
        for doc_type in doc_types:
            part = stage / "validation-type.u32.tmp"
            by_type[doc_type] = pack(
                part, f"validation/{doc_type}", range(1), lambda plan, _repeat: plan["validation"].get(doc_type, [])
            )
            with open(part, "rb") as handle:
                shutil.copyfileobj(handle, combined)
            part.unlink()
    os.replace(stage / "validation.u32.tmp", stage / "validation.u32")
    outcome["validation"] = {
        key: sum(s[key] for s in by_type.values()) for key in ("tokens", "dropped_tokens", "documents", "samples")
    }
    outcome["validation"]["doc_types"] = {t: s["samples"] for t, s in by_type.items()}
    build_crash_point("pack")
    counts = StageCounts(into=docs_in, kept=docs_in)
    return counts.to_json(splits=outcome, sample_len=sample_len)


def _as_bytes(array: np.ndarray, dtype: str) -> np.ndarray:
    """A contiguous little-endian copy viewed as bytes, as the Rust buffers expect."""
    return np.ascontiguousarray(array, dtype=dtype).view(np.uint8)
