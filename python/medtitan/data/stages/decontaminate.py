"""decontaminate: drop documents that hold an evaluation sample's 13-grams (the Rust
ContaminationIndex, rust/decontam/), one task per partition over what dedup kept; every drop
is written to the audit with the eval set, item and overlap."""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

from medtitan import _core
from medtitan.data.build_config import BuildConfig
from medtitan.data.documents import ReadReport, read_documents
from medtitan.data.stages.base import Driver, StageCounts, TaskContext, task_done
from medtitan.data.stages.deid import cached_deidentifier
from medtitan.data.stages.dedup import dedup_removed_path
from medtitan.data.workspace import read_jsonl, write_jsonl
from medtitan.faults import build_crash_point


@lru_cache(maxsize=2)
def _contamination_index(config_json: str):
    """The 13-gram index of the evaluation samples (built once per process).

    The corpus reaches this stage de-identified, so a copied eval item whose names, dates or
    places were scrubbed no longer shares those n-grams with the item as published. Each item is
    therefore indexed twice when de-identification is on: as published, and as the build's
    engine scrubs it (placeholders); a match with either counts, under the item's one key."""
    settings = json.loads(config_json)
    samples, keys, quarantined = [], [], 0
    for path in settings["eval_files"]:
        report = ReadReport()
        for document in read_documents([Path(path)], text_field=settings["text_field"], report=report):
            samples.append(document.text)
            keys.append((str(path), document.id))
        quarantined += len(report.quarantined)
    deid = settings["deid"]
    if deid is not None and samples:
        engine = cached_deidentifier(deid["engine"], deid["model"], "placeholder", deid["seed"])
        scrubbed = [r.text for r in engine.deidentify_batch(samples)]
        changed = [i for i, (raw, text) in enumerate(zip(samples, scrubbed)) if text != raw]
        samples += [scrubbed[i] for i in changed]
        keys += [keys[i] for i in changed]
    index = _core.ContaminationIndex(samples, settings["ngram"], settings["min_words"]) if samples else None
    return index, keys, quarantined


def contamination_index(config: BuildConfig):
    """The evaluation samples' n-gram index, (index or None, (eval file, item id) per sample,
    eval records quarantined), built once per process for this config."""
    settings = config.decontamination
    deid = None
    if config.deid.enabled:
        model = str(config.resolve(config.deid.model)) if config.deid.model else None
        deid = {"engine": config.deid.engine, "model": model, "seed": config.build.seed}
    key = json.dumps(
        {
            "eval_files": [str(p) for p in config.eval_files()],
            "text_field": settings.text_field,
            "ngram": settings.ngram,
            "min_words": settings.min_words,
            "deid": deid,
        },
        sort_keys=True,
    )
    return _contamination_index(key)


def decontaminate_task(context: TaskContext, partition: int) -> dict:
    """Partition p, less its dedup removals -> the documents that share at least `threshold`
    of an eval sample's n-grams, each with the sample and the overlap (a header line first)."""
    config, work = context.config, context.work
    settings = config.decontamination
    out = work.part("decontaminate", partition)
    if out.exists():
        return task_done()
    index, sample_keys, _ = contamination_index(config)
    # Only this partition's dedup removals: no task holds the corpus-wide list.
    dropped = {r["n"] for r in read_jsonl(dedup_removed_path(work, partition))}
    rows = [r for r in read_jsonl(work.part("filter", partition)) if r["n"] not in dropped]
    matches = (
        index.scan_batch([r["text"] for r in rows], settings.threshold, context.threads) if index else [[]] * len(rows)
    )
    flagged = []
    for row, found in zip(rows, matches):
        if found:
            sample, overlap = max(found, key=lambda m: (m[1], -m[0]))
            flagged.append(
                {
                    "n": row["n"],
                    "source": row["source"],
                    "id": row["id"],
                    "reason": "contaminated",
                    "eval_set": sample_keys[sample][0],
                    "eval_id": sample_keys[sample][1],
                    "overlap": round(overlap, 4),
                    "matches": len(found),
                }
            )
    write_jsonl(out, [{"documents": len(rows)}] + flagged)
    build_crash_point("decontaminate", partition)
    return task_done()


TASKS = {"decontaminate": decontaminate_task}


def run(driver: Driver, results: dict) -> dict:
    """Run the tasks; gather the flagged documents into the audit."""
    settings = driver.config.decontamination
    index, _, eval_quarantined = contamination_index(driver.config)
    samples = index.samples if index else 0
    driver.run_tasks("decontaminate", range(results["ingest"]["partitions"]))
    counts = StageCounts()
    audit: list[dict] = []
    for partition in range(results["ingest"]["partitions"]):
        header, *flagged = read_jsonl(driver.work.part("decontaminate", partition))
        counts.into += header["documents"]
        counts.removed += len(flagged)
        audit += flagged
    counts.kept = counts.into - counts.removed
    write_jsonl(driver.work.stage("decontaminate") / "audit.jsonl", audit)
    return counts.to_json(
        Counter(r["reason"] for r in audit),
        eval_samples=samples,
        eval_samples_too_short=len(index.skipped) if index else 0,
        eval_records_quarantined=eval_quarantined,
        ngram=settings.ngram,
        threshold=settings.threshold,
    )
