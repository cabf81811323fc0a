"""mix: the validation split and the source mix, as a keyed shuffle: no task (and not the driver) holds every document.

The mix visits the kept documents in a seeded order (a 64-bit hash of seed, source, id and
ordinal). Validation takes, per doc_type, the prefix of that order until the type's token quota
is reached; every other document of a source gets floor(start + (k+1) rate) - floor(start + k rate)
copies, where k is its rank among the source's training documents in the order, so each source
reaches weight / sum(weights) of the budget to within one document. Both depend only on
prefix sums over the order, hence the steps:

    mix-scan     partition p: kept documents -> (order, tokens, source, doc_type, where) rows,
                 routed to range bucket floor(order * R / 2^64) (ranges of the order)
    mix-sort     bucket r: its rows sorted by (order, n); per doc_type token sums
    (driver)     per doc_type: quota and the tokens before each bucket
    mix-select   bucket r: validation flags; per source training documents and tokens
    (driver)     per source: rate, start, and the training documents before each bucket
    mix-copies   bucket r: copies per training document; rows routed to their partition
    mix-plan     partition p: the pack plan (positions and copies; validation by doc_type)

The driver's part is O(buckets x (doc_types + sources)) numbers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import numpy as np

from medtitan.data.routed_files import read_routed_table, write_routed
from medtitan.data.stages.base import Driver, StageCounts, TaskContext, task_done
from medtitan.data.stages.dedup import dedup_removed_path
from medtitan.data.workspace import read_jsonl, stable_hash, temporary_name, write_json

# pyarrow is imported inside the functions that use it: every task process imports this module
# (its task is pickled by reference), and ~15 MB of pyarrow would count in every task's peak
# memory (memory_model.py), including the steps that never touch it.


def mix_start(seed: int, source: str) -> float:
    """The seeded fractional start of a source's copy counter."""
    return (stable_hash(seed, "mix", source) % 1_000_003) / 1_000_003


def range_bucket(order: np.ndarray, buckets: int) -> np.ndarray:
    """floor(order * buckets / 2^64), monotone in order, in uint64 arithmetic."""
    return (((order >> np.uint64(32)) * np.uint64(buckets)) >> np.uint64(32)).astype(np.int64)


def _folder(context: TaskContext, name: str):
    folder = context.work.stage("mix") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _params(context: TaskContext, name: str) -> dict:
    return json.loads((context.work.stage("mix") / f"{name}.json").read_text())


def mix_scan_task(context: TaskContext, partition: int) -> dict:
    """Partition p's documents that dedup and decontamination kept -> (order, tokens, source,
    doc_type, where) rows, routed to range buckets of the seeded order."""
    work, seed = context.work, context.config.build.seed
    out = _folder(context, "scan") / f"part-{partition:05d}.arrow"
    if out.exists():
        return task_done()
    dropped = {r["n"] for r in read_jsonl(dedup_removed_path(work, partition))}
    dropped |= {r["n"] for r in read_jsonl(work.part("decontaminate", partition))[1:]}
    rows = read_jsonl(work.part("filter", partition))
    offsets = np.load(work.part("filter", partition, ".tokens.npz"))["offsets"]
    kept = [i for i, row in enumerate(rows) if row["n"] not in dropped]
    order = np.array([stable_hash(seed, rows[i]["source"], rows[i]["id"], rows[i]["n"]) for i in kept], dtype=np.uint64)
    columns = {
        "order": order,
        "n": np.array([rows[i]["n"] for i in kept], dtype=np.int64),
        "partition": np.full(len(kept), partition, dtype=np.int32),
        "position": np.array(kept, dtype=np.int32),
        "tokens": np.array([offsets[i + 1] - offsets[i] + 1 for i in kept], dtype=np.int64),  # + </s>
        "source": [rows[i]["source"] for i in kept],
        "doc_type": [rows[i]["doc_type"] for i in kept],
    }
    write_routed(out, columns, range_bucket(order, context.partitions), context.partitions)
    return task_done({"documents": len(kept)})


def mix_sort_task(context: TaskContext, bucket: int) -> dict:
    """The bucket's rows in the seeded order, and its tokens per doc_type."""
    out = _folder(context, "sorted") / f"bucket-{bucket:05d}.arrow"
    stats_path = out.with_suffix(".json")
    if out.exists() and stats_path.exists():
        return task_done()
    import pyarrow as pa

    scans = [context.work.stage("mix") / "scan" / f"part-{p:05d}.arrow" for p in range(context.partitions)]
    table = read_routed_table(scans, bucket)
    if table is None:
        table = pa.table(
            {
                "order": pa.array([], pa.uint64()),
                "n": pa.array([], pa.int64()),
                "partition": pa.array([], pa.int32()),
                "position": pa.array([], pa.int32()),
                "tokens": pa.array([], pa.int64()),
                "source": pa.array([], pa.string()),
                "doc_type": pa.array([], pa.string()),
            }
        )
    table = table.sort_by([("order", "ascending"), ("n", "ascending")])
    types, type_names = _codes(table, "doc_type")
    tokens = table.column("tokens").to_numpy()
    tokens_by_type = {name: int(tokens[types == code].sum()) for code, name in enumerate(type_names)}
    tmp = temporary_name(out)
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    tmp.replace(out)
    write_json(stats_path, {"documents": table.num_rows, "tokens_by_type": dict(sorted(tokens_by_type.items()))})
    return task_done({"documents": table.num_rows})


def _sorted(context: TaskContext, bucket: int):
    """The bucket's rows in the seeded order (an Arrow table over the memory-mapped file)."""
    import pyarrow as pa

    path = context.work.stage("mix") / "sorted" / f"bucket-{bucket:05d}.arrow"
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _codes(table, column: str) -> tuple[np.ndarray, list[str]]:
    """(code of every row, names) of a string column: the per-document work below is numpy
    over these codes, with a loop over the few distinct doc_types or sources only."""
    encoded = table.column(column).combine_chunks().dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), encoded.dictionary.to_pylist()


def _exclusive_cumsum(values: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(values)[:-1]]).astype(np.int64) if len(values) else values.astype(np.int64)


def mix_select_task(context: TaskContext, bucket: int) -> dict:
    """Validation flags: a document is taken while its type's tokens before it (in the
    order) are under the type's quota."""
    folder = _folder(context, "select")
    out, flags_path = folder / f"bucket-{bucket:05d}.json", folder / f"bucket-{bucket:05d}.npy"
    if out.exists() and flags_path.exists():
        return task_done()
    params = _params(context, "select")
    table = _sorted(context, bucket)
    tokens = table.column("tokens").to_numpy()
    types, type_names = _codes(table, "doc_type")
    flags = np.zeros(table.num_rows, dtype=bool)
    for code, name in enumerate(type_names):
        mask = types == code
        before = params["tokens_before"][bucket].get(name, 0) + _exclusive_cumsum(tokens[mask])
        flags[mask] = before < params["quota"][name]
    sources, source_names = _codes(table, "source")
    train = ~flags
    train_docs = {name: int(np.count_nonzero(train & (sources == code))) for code, name in enumerate(source_names)}
    train_tokens = {name: int(tokens[train & (sources == code)].sum()) for code, name in enumerate(source_names)}
    np.save(temporary_name(flags_path, ".npy"), flags)
    temporary_name(flags_path, ".npy").replace(flags_path)
    write_json(
        out,
        {
            "train_documents": {k: v for k, v in train_docs.items() if v},
            "train_tokens": {k: v for k, v in train_tokens.items() if v},
        },
    )  # last: the marker
    return task_done()


def mix_copies_task(context: TaskContext, bucket: int) -> dict:
    """floor(start + (k+1) rate) - floor(start + k rate) copies for the k-th training
    document of a source in the order."""
    out = _folder(context, "copies") / f"bucket-{bucket:05d}.arrow"
    stats_path = out.with_suffix(".json")
    if out.exists() and stats_path.exists():
        return task_done()
    params = _params(context, "copies")
    table = _sorted(context, bucket)
    tokens = table.column("tokens").to_numpy()
    flags = np.load(context.work.stage("mix") / "select" / f"bucket-{bucket:05d}.npy")
    sources, source_names = _codes(table, "source")
    copies = np.zeros(table.num_rows, dtype=np.int64)
    achieved, sampled_out = {}, 0
    for code, name in enumerate(source_names):
        if name not in params["rate"]:  # a source with weight but no tokens left
            continue
        mask = (sources == code) & ~flags
        k = params["train_before"][bucket].get(name, 0) + np.arange(np.count_nonzero(mask), dtype=np.int64)
        start, rate = params["start"][name], params["rate"][name]
        counts = (np.floor(start + (k + 1) * rate) - np.floor(start + k * rate)).astype(np.int64)
        copies[mask] = counts
        achieved[name] = int((counts * tokens[mask]).sum())
        sampled_out += int(np.count_nonzero(counts == 0))
    types, type_names = _codes(table, "doc_type")
    validation_by_type = {name: int(np.count_nonzero(flags & (types == code))) for code, name in enumerate(type_names)}
    columns = {
        "position": table.column("position").to_numpy(),
        "copies": copies,
        "validation": flags,
        "doc_type": table.column("doc_type").combine_chunks(),
    }
    write_routed(out, columns, table.column("partition").to_numpy().astype(np.int64), context.partitions)
    write_json(
        stats_path,
        {
            "achieved_tokens": {k: v for k, v in achieved.items() if v},
            "sampled_out": sampled_out,
            "training_copies": int(copies.sum()),
            "validation_by_type": {k: v for k, v in validation_by_type.items() if v},
        },
    )
    return task_done()


def mix_plan_task(context: TaskContext, partition: int) -> dict:
    """The partition's pack plan: [position, copies] of training documents, validation
    positions by doc_type (the format the pack stage reads)."""
    out = context.work.part("mix", partition, ".json")
    if out.exists():
        return task_done()
    buckets = [context.work.stage("mix") / "copies" / f"bucket-{b:05d}.arrow" for b in range(context.partitions)]
    rows = read_routed_table(buckets, partition)
    rows = rows.to_pydict() if rows is not None else {"position": [], "copies": [], "validation": [], "doc_type": []}
    train, validation = [], defaultdict(list)
    for position, count, is_validation, doc_type in zip(
        rows["position"], rows["copies"], rows["validation"], rows["doc_type"]
    ):
        if is_validation:
            validation[doc_type].append(position)
        elif count:
            train.append([position, count])
    write_json(out, {"train": sorted(train), "validation": {t: sorted(p) for t, p in sorted(validation.items())}})
    return task_done()


TASKS = {
    "mix-scan": mix_scan_task,
    "mix-sort": mix_sort_task,
    "mix-select": mix_select_task,
    "mix-copies": mix_copies_task,
    "mix-plan": mix_plan_task,
}


def run(driver: Driver, results: dict) -> dict:
    """The keyed mix: scan -> sort by the seeded order -> select validation -> copies ->
    per-partition plans; here only sums over buckets."""
    build = driver.config.build
    partitions = results["ingest"]["partitions"]
    folder = driver.work.stage("mix")
    driver.run_tasks("mix-scan", range(partitions))
    driver.run_tasks("mix-sort", range(partitions))
    sorted_stats = [json.loads((folder / "sorted" / f"bucket-{r:05d}.json").read_text()) for r in range(partitions)]
    by_type: Counter = Counter()
    tokens_before = []
    for stats in sorted_stats:
        tokens_before.append(dict(by_type))
        by_type.update(stats["tokens_by_type"])
    total_tokens = sum(by_type.values()) or 1
    # Every doc_type gets its share of validation_tokens, and at least one whole sample's
    # worth (validation is packed per doc_type, so each type can be scored apart).
    quota = {
        t: max(build.validation_tokens * n / total_tokens, build.seq_len + 1) if build.validation_tokens > 0 else 0
        for t, n in sorted(by_type.items())
    }
    write_json(folder / "select.json", {"quota": quota, "tokens_before": tokens_before})
    driver.run_tasks("mix-select", range(partitions))

    available: Counter = Counter()
    train_documents: Counter = Counter()
    train_before = []
    for r in range(partitions):
        select = json.loads((folder / "select" / f"bucket-{r:05d}.json").read_text())
        train_before.append(dict(train_documents))
        train_documents.update(select["train_documents"])
        available.update(select["train_tokens"])
    weights = {s.name: s.weight for s in driver.config.sources if available[s.name] > 0}
    budget = build.total_tokens or sum(available.values())
    weight_sum = sum(weights.values()) or 1.0
    target = {name: budget * w / weight_sum for name, w in weights.items()}
    rate = {name: target[name] / available[name] for name in weights}
    write_json(
        folder / "copies.json",
        {"rate": rate, "start": {name: mix_start(build.seed, name) for name in weights}, "train_before": train_before},
    )
    driver.run_tasks("mix-copies", range(partitions))
    driver.run_tasks("mix-plan", range(partitions))

    achieved: Counter = Counter()
    validation_by_type: Counter = Counter()
    sampled_out = copies = 0
    for r in range(partitions):
        stats = json.loads((folder / "copies" / f"bucket-{r:05d}.json").read_text())
        achieved.update(stats["achieved_tokens"])
        validation_by_type.update(stats["validation_by_type"])
        sampled_out += stats["sampled_out"]
        copies += stats["training_copies"]
    achieved_total = sum(achieved.values()) or 1
    sources = {}
    for source in driver.config.sources:
        name = source.name
        sources[name] = {
            "doc_type": source.doc_type,
            "weight": source.weight,
            "documents": train_documents[name],
            "available_tokens": available[name],
            "target_tokens": round(target.get(name, 0.0)),
            "achieved_tokens": achieved[name],
            "target_share": round(weights.get(name, 0) / weight_sum, 4),
            "achieved_share": round(achieved[name] / achieved_total, 4),
            "repeat_factor": round(rate.get(name, 0.0), 4),
        }
    documents = sum(s["documents"] for s in sorted_stats)
    counts = StageCounts(into=documents, kept=documents - sampled_out, removed=sampled_out)
    return counts.to_json(
        {"downsampled": sampled_out} if sampled_out else {},
        budget_tokens=budget,
        sources=sources,
        validation_documents=sum(validation_by_type.values()),
        validation_doc_types=dict(sorted(validation_by_type.items())),
        training_copies=copies,
    )
