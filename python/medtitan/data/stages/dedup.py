"""dedup: exact (normalized-text hash) then near duplicates (MinHash LSH candidates confirmed by
exact shingle Jaccard), as a keyed shuffle in which no task holds the corpus:

    dedup-map      partition p -> per document: normalized-text hash and MinHash band keys, as
                   records routed to bucket (hash % B) and bucket (band key % B)
    dedup-exact    bucket b: documents of equal normalized text -> all but the smallest
                   (id, source, n) removed as exact duplicates
    dedup-bands    bucket b: documents sharing a (band, key) -> candidate pairs (one document
                   per exact-duplicate family), routed to the partition of the smaller document
    dedup-confirm  partition p: the candidates whose smaller document is in p -> exact shingle
                   Jaccard (texts of p, and of one other partition at a time) -> confirmed edges
    (driver, run)  the union of confirmed edges: the smallest (id, source, n) of every
                   component is kept; memory grows with the near-duplicate pairs, not the corpus

The Rust side: rust/dedup/ (MinHash, LSH bands, shingles, Jaccard). medtitan.data.dedup is the
in-memory reference this stage is tested against.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from medtitan import _core
from medtitan.data.build_config import BuildConfig
from medtitan.data.routed_files import read_routed, read_routed_table, write_routed
from medtitan.data.stages.base import Driver, StageCounts, TaskContext, task_done
from medtitan.data.workspace import Workspace, read_jsonl, write_json, write_jsonl

# pyarrow is imported inside the functions that use it: every task process imports this module
# (its task is pickled by reference), and ~15-35 MB of pyarrow would count in every task's
# peak memory (memory_model.py), including the steps that never touch it.


def _bands(config: BuildConfig) -> tuple[int, int]:
    return _core.choose_lsh_bands(config.dedup.num_perm, config.dedup.threshold, config.dedup.min_probability)


def dedup_map_task(context: TaskContext, partition: int) -> dict:
    """Partition p -> its documents' exact-dedup records and LSH band records, routed to buckets."""
    config, work = context.config, context.work
    folder = work.stage("dedup") / "map"
    marker = folder / f"part-{partition:05d}.json"
    if marker.exists():
        return task_done()
    dedup = config.dedup
    rows = read_jsonl(work.part("filter", partition))
    texts = [r["text"] for r in rows]
    bands, band_rows = _bands(config)
    hashes = np.asarray(_core.normalized_hashes(texts), dtype=np.uint64)
    signatures = _core.minhash_signatures(
        texts, num_perm=dedup.num_perm, ngram=dedup.ngram, seed=dedup.seed, num_threads=context.threads
    )
    raw_keys, raw_present = _core.lsh_band_keys(signatures, dedup.num_perm, bands, band_rows)
    keys = np.frombuffer(raw_keys, dtype="<u8").reshape(len(rows), bands)
    present = np.frombuffer(raw_present, dtype=np.uint8).astype(bool)
    import pyarrow as pa

    docs = {
        "n": np.array([r["n"] for r in rows], dtype=np.int64),
        "partition": np.full(len(rows), partition, dtype=np.int32),
        "position": np.arange(len(rows), dtype=np.int32),
        "id": pa.array([r["id"] for r in rows], pa.string()),
        "source": pa.array([r["source"] for r in rows], pa.string()),
    }
    folder.mkdir(parents=True, exist_ok=True)
    write_routed(
        folder / f"part-{partition:05d}.exact.arrow",
        {"hash": hashes, **docs},
        (hashes % np.uint64(context.buckets)).astype(np.int64),
        context.buckets,
    )
    # One record per (document with shingles, band).
    members = np.repeat(np.flatnonzero(present), bands)
    band_index = np.tile(np.arange(bands, dtype=np.int16), int(present.sum()))
    band_keys = keys[present].reshape(-1)
    picked = {
        name: values.take(pa.array(members)) if isinstance(values, pa.Array) else values[members]
        for name, values in docs.items()
    }
    write_routed(
        folder / f"part-{partition:05d}.bands.arrow",
        {"band": band_index, "key": band_keys, "hash": hashes[members], **picked},
        (band_keys % np.uint64(context.buckets)).astype(np.int64),
        context.buckets,
    )
    write_json(marker, {"documents": len(rows), "band_records": len(members)})
    return task_done()


def _ranks(table) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each row, row of each rank) by (id, source, n): dedup keeps the smallest of a
    group. Arrow sorts strings by UTF-8 bytes, which is code-point order, as Python compares."""
    import pyarrow.compute as pc

    order = (
        pc.sort_indices(table, sort_keys=[("id", "ascending"), ("source", "ascending"), ("n", "ascending")])
        .to_numpy()
        .astype(np.int64)
    )
    rank = np.empty(table.num_rows, dtype=np.int64)
    rank[order] = np.arange(table.num_rows)
    return rank, order


def _run_starts(*columns: np.ndarray) -> np.ndarray:
    """True where any of the (sorted) columns changes value: the first row of each run."""
    changed = np.zeros(len(columns[0]), dtype=bool)
    if len(changed):
        changed[0] = True
    for column in columns:
        changed[1:] |= column[1:] != column[:-1]
    return changed


def _map_files(context: TaskContext, kind: str) -> list[Path]:
    """Every dedup-map task's routed file of one kind (exact, bands)."""
    return [context.work.stage("dedup") / "map" / f"part-{p:05d}.{kind}.arrow" for p in range(context.partitions)]


def dedup_exact_task(context: TaskContext, bucket: int) -> dict:
    """Bucket b's exact records -> every document whose normalized text an earlier (id, source, n)
    has, removed as an exact duplicate of it."""
    out = context.work.stage("dedup") / "exact" / f"bucket-{bucket:05d}.jsonl"
    if out.exists():
        return task_done()
    table = read_routed_table(_map_files(context, "exact"), bucket)
    removed = []
    if table is not None:
        hashes = table.column("hash").to_numpy()
        order = np.lexsort((_ranks(table)[0], hashes))  # by hash, then (id, source, n)
        first = _run_starts(hashes[order])
        keeper = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
        duplicates = np.flatnonzero(~first)
        # Python objects only for the duplicates and their keepers, not the whole bucket.
        dropped = table.select(["n", "partition", "source", "id"]).take(order[duplicates]).to_pylist()
        keepers = table.select(["source", "id"]).take(keeper[duplicates]).to_pylist()
        removed = [
            row | {"reason": "exact_duplicate", "detail": f"duplicate of {k['source']}/{k['id']}"}
            for row, k in zip(dropped, keepers)
        ]
    removed.sort(key=lambda r: r["n"])
    write_jsonl(out, removed)
    return task_done({"records": table.num_rows if table is not None else 0})


def dedup_bands_task(context: TaskContext, bucket: int) -> dict:
    """Bucket b's band records -> candidate pairs (documents sharing a band key), routed to the
    partition of the smaller document."""
    out = context.work.stage("dedup") / "bands" / f"bucket-{bucket:05d}.arrow"
    if out.exists():
        return task_done()
    table = read_routed_table(_map_files(context, "bands"), bucket)
    pairs: set[tuple[int, int]] = set()
    if table is not None:
        band, key, hashes = (table.column(c).to_numpy() for c in ("band", "key", "hash"))
        rank, by_rank = _ranks(table)
        order = np.lexsort((rank, hashes, key, band))
        # Copies of one text share every bucket: the smallest of each family stands for all.
        families = order[_run_starts(band[order], key[order], hashes[order])]
        groups = _run_starts(band[families], key[families])
        bounds = np.append(np.flatnonzero(groups), len(families))
        # Only buckets shared by two or more texts make pairs (rare): a loop over those alone.
        for group in np.flatnonzero(np.diff(bounds) > 1):
            members = sorted(rank[families[bounds[group] : bounds[group + 1]]].tolist())
            pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    ordered = sorted(pairs)  # (rank a, rank b): the order of (a's key, b's key)
    columns: dict = {}
    for side, pick in (("a", 0), ("b", 1)):
        if table is not None:
            picked = table.take(by_rank[np.array([pair[pick] for pair in ordered], dtype=np.int64)]).to_pydict()
        else:
            picked = {c: [] for c in ("n", "partition", "position", "id", "source")}
        columns[f"{side}_n"] = np.array(picked["n"], dtype=np.int64)
        columns[f"{side}_partition"] = np.array(picked["partition"], dtype=np.int32)
        columns[f"{side}_position"] = np.array(picked["position"], dtype=np.int32)
        columns[f"{side}_id"] = list(picked["id"])
        columns[f"{side}_source"] = list(picked["source"])
    out.parent.mkdir(parents=True, exist_ok=True)
    write_routed(out, columns, columns["a_partition"].astype(np.int64), context.partitions)
    return task_done({"records": table.num_rows if table is not None else 0, "pairs": len(ordered)})


def dedup_confirm_task(context: TaskContext, partition: int) -> dict:
    """Partition p's candidate pairs -> the ones whose exact shingle Jaccard reaches the threshold
    (the confirmed edges), after a header line of counts."""
    config, work = context.config, context.work
    out = work.stage("dedup") / "confirm" / f"part-{partition:05d}.jsonl"
    if out.exists():
        return task_done()
    buckets = [work.stage("dedup") / "bands" / f"bucket-{b:05d}.arrow" for b in range(context.buckets)]
    rows = read_routed(buckets, partition)
    # A pair found in several bands (or buckets) is confirmed once.
    unique: dict[tuple[int, int], int] = {}
    for i, (a, b) in enumerate(zip(rows.get("a_n", []), rows.get("b_n", []))):
        unique.setdefault((a, b), i)
    chosen = sorted(unique.values(), key=lambda i: (rows["a_n"][i], rows["b_n"][i]))
    edges = []
    if chosen:
        own = [r["text"] for r in read_jsonl(work.part("filter", partition))]
        by_partition: dict[int, list[int]] = defaultdict(list)
        for i in chosen:
            by_partition[rows["b_partition"][i]].append(i)
        for other, members in sorted(by_partition.items()):
            # One other partition's texts at a time: memory stays at two partitions.
            texts = own if other == partition else [r["text"] for r in read_jsonl(work.part("filter", other))]
            scores = np.frombuffer(
                _core.jaccard_pairs(
                    own,
                    texts,
                    [rows["a_position"][i] for i in members],
                    [rows["b_position"][i] for i in members],
                    config.dedup.ngram,
                    context.threads,
                ),
                dtype="<f8",
            )
            for i, score in zip(members, scores):
                if score >= config.dedup.threshold:
                    edges.append(
                        {
                            "a": [rows["a_id"][i], rows["a_source"][i], rows["a_n"][i]],
                            "b": [rows["b_id"][i], rows["b_source"][i], rows["b_n"][i]],
                            "b_partition": rows["b_partition"][i],
                            "jaccard": round(float(score), 6),
                        }
                    )
    edges.sort(key=lambda e: (e["a"][2], e["b"][2]))
    write_jsonl(out, [{"candidates": len(chosen), "confirmed": len(edges)}] + edges)
    return task_done({"candidates": len(chosen), "confirmed": len(edges)})


def dedup_removed_path(work: Workspace, partition: int) -> Path:
    """Where the driver writes partition p's dedup removals (what the later stages skip)."""
    return work.stage("dedup") / "removed" / f"part-{partition:05d}.jsonl"


TASKS = {
    "dedup-map": dedup_map_task,
    "dedup-exact": dedup_exact_task,
    "dedup-bands": dedup_bands_task,
    "dedup-confirm": dedup_confirm_task,
}


def run(driver: Driver, results: dict) -> dict:
    """The keyed shuffle's tasks (map -> exact and band buckets -> confirm), then the union of
    confirmed edges here: the smallest (id, source, n) of every component is kept."""
    dedup = driver.config.dedup
    partitions = results["ingest"]["partitions"]
    buckets = driver.dedup_buckets(partitions)
    counts = StageCounts(into=results["filter"]["kept"])
    removed: list[dict] = []
    stats: dict = {"enabled": dedup.enabled}
    if dedup.enabled and counts.into:
        driver.run_tasks("dedup-map", range(partitions))
        driver.run_tasks("dedup-exact", range(buckets))
        driver.run_tasks("dedup-bands", range(buckets))
        driver.run_tasks("dedup-confirm", range(partitions))
        folder = driver.work.stage("dedup")
        for bucket in range(buckets):
            removed += read_jsonl(folder / "exact" / f"bucket-{bucket:05d}.jsonl")
        candidates = confirmed = 0
        edges: list[tuple[tuple, tuple]] = []
        where: dict[tuple, int] = {}  # partition of every document that has an edge
        for partition in range(partitions):
            header, *found = read_jsonl(folder / "confirm" / f"part-{partition:05d}.jsonl")
            candidates += header["candidates"]
            confirmed += header["confirmed"]
            for edge in found:
                a, b = tuple(edge["a"]), tuple(edge["b"])
                where[a], where[b] = partition, edge["b_partition"]
                edges.append((a, b))
        # Documents numbered in (id, source, n) order, so the Rust union-find's smallest
        # member of a component is the document to keep.
        keys = sorted(where)
        index = {key: i for i, key in enumerate(keys)}
        roots = _core.connected_components(len(keys), [(index[a], index[b]) for a, b in edges])
        near = 0
        for key, root in zip(keys, roots):
            if key != keys[root]:
                near += 1
                keeper = keys[root]
                removed.append(
                    {
                        "n": key[2],
                        "partition": where[key],
                        "source": key[1],
                        "id": key[0],
                        "reason": "near_duplicate",
                        "detail": f"duplicate of {keeper[1]}/{keeper[0]}",
                    }
                )
        members = Counter(roots)
        bands, rows = _core.choose_lsh_bands(dedup.num_perm, dedup.threshold, dedup.min_probability)
        exact = len(removed) - near
        stats.update(
            documents=counts.into - exact,
            candidate_pairs=candidates,
            confirmed_pairs=confirmed,
            clusters=sum(1 for size in members.values() if size > 1),
            duplicates=near,
            bands=bands,
            rows=rows,
            buckets=buckets,
        )
    removed.sort(key=lambda r: r["n"])
    by_partition: dict[int, list] = defaultdict(list)
    for record in removed:
        by_partition[record.pop("partition")].append(record)
    for partition in range(partitions):  # what each decontaminate task skips
        write_jsonl(dedup_removed_path(driver.work, partition), by_partition[partition])
    write_jsonl(driver.work.stage("dedup") / "removed.jsonl", removed)
    counts.removed = len(removed)
    counts.kept = counts.into - counts.removed
    return counts.to_json(Counter(r["reason"] for r in removed), **stats)
