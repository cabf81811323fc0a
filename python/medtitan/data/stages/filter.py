"""filter: tokenize each partition and drop documents that are too short, mostly symbols, or
(with a scorer) of too high perplexity, each with its reason; the kept documents' token ids go
on to dedup, mix and pack."""

from __future__ import annotations

import io
from collections import Counter
from functools import lru_cache

import numpy as np

from medtitan import _core
from medtitan.data.build_config import BuildConfig, ConfigError
from medtitan.data.plugins import load_object
from medtitan.data.stages.base import Driver, StageCounts, TaskContext, task_done
from medtitan.data.workspace import read_jsonl, write_atomic, write_jsonl
from medtitan.faults import build_crash_point
from medtitan.tokenizer import Tokenizer


@lru_cache(maxsize=4)
def _tokenizer(path: str) -> Tokenizer:
    return Tokenizer.from_file(path)


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def perplexity_scorer(config: BuildConfig):
    """The `filters.perplexity_scorer` callable (texts -> scores), or None when none is set."""
    spec = config.filters.perplexity_scorer
    if spec is None:
        return None
    scorer = load_object(spec, "filters.perplexity_scorer")
    if not callable(scorer):
        raise ConfigError(f"{config.path}: filters.perplexity_scorer {spec!r} is not callable")
    return scorer


def filter_task(context: TaskContext, partition: int) -> dict:
    """Partition p -> kept documents and their token ids (.tokens.npz), and the removed ones with
    reasons."""
    config, work = context.config, context.work
    filters = config.filters
    kept_path = work.part("filter", partition)
    tokens_path = work.part("filter", partition, ".tokens.npz")
    removed_path = work.part("filter", partition, ".removed.jsonl")
    if kept_path.exists() and tokens_path.exists() and removed_path.exists():
        return task_done()
    rows = read_jsonl(work.part("deid", partition))
    texts = [r["text"] for r in rows]
    ids, offsets = _tokenizer(str(config.tokenizer)).encode_flat(texts, context.threads)
    lengths = np.diff(offsets)
    ratios = _core.non_alphanumeric_ratios(texts, context.threads)
    scorer = perplexity_scorer(config)
    scores = list(scorer(texts)) if scorer is not None else [None] * len(rows)
    keep, removed = [], []
    for index, (row, length, ratio, score) in enumerate(zip(rows, lengths, ratios, scores)):
        reason = None
        if length < filters.min_tokens:
            reason, detail = "too_short", f"{int(length)} tokens < {filters.min_tokens}"
        elif ratio > filters.max_non_alnum_ratio:
            reason, detail = "non_alphanumeric", f"{ratio:.3f} of characters > {filters.max_non_alnum_ratio}"
        elif score is not None and score > filters.max_perplexity:
            reason, detail = "perplexity", f"{score:.2f} > {filters.max_perplexity}"
        if reason:
            removed.append({"n": row["n"], "source": row["source"], "id": row["id"], "reason": reason, "detail": detail})
        else:
            keep.append(index)
    kept_lengths = lengths[keep] if keep else np.zeros(0, np.int64)
    kept_ids = np.concatenate([ids[offsets[i]:offsets[i + 1]] for i in keep]) if keep else np.zeros(0, np.uint32)
    kept_offsets = np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64)
    write_atomic(tokens_path, _npz_bytes(ids=kept_ids.astype(np.uint32), offsets=kept_offsets))
    write_jsonl(removed_path, removed)
    write_jsonl(kept_path, [rows[i] for i in keep])  # last: the task's marker
    build_crash_point("filter", partition)
    return task_done()


TASKS = {"filter": filter_task}


def run(driver: Driver, results: dict) -> dict:
    """Check the scorer loads, run the tasks, count kept and removed by reason."""
    perplexity_scorer(driver.config)  # a bad scorer fails here, before any task
    driver.run_tasks("filter", range(results["ingest"]["partitions"]))
    counts = StageCounts()
    reasons: Counter = Counter()
    for partition in range(results["ingest"]["partitions"]):
        removed = read_jsonl(driver.work.part("filter", partition, ".removed.jsonl"))
        kept = sum(1 for _ in open(driver.work.part("filter", partition), encoding="utf-8"))
        counts.into += kept + len(removed)
        counts.kept += kept
        counts.removed += len(removed)
        reasons.update(r["reason"] for r in removed)
    return counts.to_json(reasons)
