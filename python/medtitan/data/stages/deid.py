"""deid: PHI -> typed placeholders or surrogates (the engine `[deid]` names), one task per
partition; the driver sums the span counts and keeps a seeded sample of (prefix, secret) pairs
for the leakage probe. Its output is private: the probe pairs hold the PHI they stand for."""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache

from medtitan.data.build_config import BuildConfig
from medtitan.data.stages.base import Driver, StageCounts, TaskContext, task_done
from medtitan.data.workspace import read_jsonl, stable_hash, write_json, write_jsonl
from medtitan.faults import build_crash_point


@lru_cache(maxsize=4)
def cached_deidentifier(engine: str, model: str | None, replace: str, seed: int):
    """One engine per (engine, model, replace, seed) per process: loading the tagger costs more
    than a partition's work. Imported here, not at the top: every task process imports this
    module (through the stages' TASKS) and only the deid and decontaminate tasks need an engine."""
    from medtitan.deid import load_deidentifier

    return load_deidentifier(engine, model=model, replace=replace, seed=seed)


def deidentifier_for(config: BuildConfig):
    """The engine `[deid]` asks for (engine, model, replace), seeded by build.seed; one per
    process."""
    settings = config.deid
    model = str(config.resolve(settings.model)) if settings.model else None
    return cached_deidentifier(settings.engine, model, settings.replace, config.build.seed)


def probe_candidates(config: BuildConfig, row: dict, spans) -> list[dict]:
    """(prefix, secret) pairs for PHI leakage probing: the text before a scrubbed span of a
    high-entropy type, cut at a word boundary, and the original span."""
    settings = config.deid
    if settings.probe_pairs <= 0:
        return []
    text, found = row["text"], []
    for start, end, kind in spans:
        if kind not in settings.probe_types or start < 20:
            continue
        cut = max(0, start - settings.probe_prefix_chars)
        if cut:
            cut = text.find(" ", cut) + 1 or cut
        found.append(
            {
                "order": stable_hash(config.build.seed, "probe", row["n"], start),
                "source": row["source"],
                "id": row["id"],
                "type": kind,
                "prefix": text[cut:start],
                "secret": text[start:end],
            }
        )
    return found


def deid_task(context: TaskContext, partition: int) -> dict:
    """Partition p's raw documents -> de-identified, with the span counts and this partition's
    bottom-k probe pairs."""
    config, work = context.config, context.work
    target, stats_path = work.part("deid", partition), work.part("deid", partition, ".json")
    if target.exists() and stats_path.exists():
        return task_done()
    rows = read_jsonl(work.part("ingest", partition))
    spans: Counter = Counter()
    changed = 0
    probes: list[dict] = []
    if config.deid.enabled:
        for row, result in zip(rows, deidentifier_for(config).deidentify_batch([r["text"] for r in rows])):
            if result.spans:
                changed += 1
                spans.update(kind for _, _, kind in result.spans)
                probes += probe_candidates(config, row, result.spans)
            row["text"] = result.text
    # A seeded bottom-k sample; the driver keeps the k smallest of all partitions' bottom-k.
    probes = sorted(probes, key=lambda p: p["order"])[: config.deid.probe_pairs]
    write_jsonl(target, rows)
    write_json(stats_path, {"documents": len(rows), "changed": changed, "spans": dict(spans), "probe_pairs": probes})
    build_crash_point("deid", partition)
    return task_done()


TASKS = {"deid": deid_task}


def run(driver: Driver, results: dict) -> dict:
    """Check the engine loads, run the tasks, sum the spans and keep the k smallest probe pairs."""
    partitions = range(results["ingest"]["partitions"])
    model_sha256 = None
    if driver.config.deid.enabled:
        engine = deidentifier_for(driver.config)  # a bad engine or model fails here, before any task
        model_sha256 = getattr(engine, "sha256", None)  # which tagger scrubbed this build
    driver.run_tasks("deid", partitions)
    counts = StageCounts()
    spans: Counter = Counter()
    changed = 0
    probes: list[dict] = []
    for partition in partitions:
        stats = json.loads(driver.work.part("deid", partition, ".json").read_text())
        counts.into += stats["documents"]
        changed += stats["changed"]
        spans.update(stats["spans"])
        # A seeded bottom-k sample: the k smallest orders of all partitions' bottom-k.
        probes = sorted(probes + stats["probe_pairs"], key=lambda p: p["order"])[: driver.config.deid.probe_pairs]
    write_jsonl(driver.work.stage("deid") / "probe_pairs.jsonl", probes)
    counts.kept = counts.into
    return counts.to_json(
        enabled=driver.config.deid.enabled,
        engine=driver.config.deid.engine,
        model_sha256=model_sha256,
        replace=driver.config.deid.replace,
        documents_changed=changed,
        spans=dict(sorted(spans.items())),
    )
