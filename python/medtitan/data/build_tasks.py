"""The build's partitioned work as independent tasks: `task(context, index) -> stats`.

Each task reads its inputs from the work folder, writes its outputs there under temporary
names renamed when complete (the last file written is the task's marker), and skips itself when
its marker exists. A task depends only on its inputs and the config, so any executor
(medtitan/data/executors.py) may run any subset, in any order, on any machine that sees the
folder, and the build's output stays byte-identical.

Per-partition tasks: deid, filter, dedup-map, dedup-confirm, decontaminate. Keyed tasks
(the shuffle of the global steps; no task holds the corpus):

    dedup-map      partition p -> per document: normalized-text hash and MinHash band keys, as
                   records routed to bucket (hash % B) and bucket (band key % B)
    dedup-exact    bucket b: documents of equal normalized text -> all but the smallest
                   (id, source, n) removed as exact duplicates
    dedup-bands    bucket b: documents sharing a (band, key) -> candidate pairs (one document
                   per exact-duplicate family), routed to the partition of the smaller document
    dedup-confirm  partition p: the candidates whose smaller document is in p -> exact shingle
                   Jaccard (texts of p, and of one other partition at a time) -> confirmed edges

The union of confirmed edges (components, smallest member kept) runs in the driver over the
edges only: its memory grows with the number of near-duplicate pairs, not with the corpus.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from medtitan import _core
from medtitan.data.build_config import BuildConfig, ConfigError
from medtitan.data.routing import TaskContext, read_routed, read_routed_table, task_done, write_routed
from medtitan.data.workspace import Workspace, crash_point, read_jsonl, stable_hash, write_atomic, write_json, write_jsonl


@lru_cache(maxsize=4)
def _tokenizer(path: str):
    from medtitan.tokenizer import Tokenizer

    return Tokenizer.from_file(path)


@lru_cache(maxsize=4)
def _deidentifier(engine: str, model: str | None, replace: str, seed: int):
    from medtitan.deid import load_deidentifier

    return load_deidentifier(engine, model=model, replace=replace, seed=seed)


def deidentifier_for(config: BuildConfig):
    """The engine `[deid]` asks for (engine, model, replace), seeded by build.seed; one per
    process."""
    settings = config.deid
    model = str(config.resolve(settings.model)) if settings.model else None
    return _deidentifier(settings.engine, model, settings.replace, config.build.seed)


def _npz_bytes(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# --- de-identification ------------------------------------------------------------------------


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
        found.append({"order": stable_hash(config.build.seed, "probe", row["n"], start),
                      "source": row["source"], "id": row["id"], "type": kind,
                      "prefix": text[cut:start], "secret": text[start:end]})
    return found


def deid_task(context: TaskContext, partition: int) -> dict:
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
    crash_point("deid", partition)
    return task_done()


# --- filters + tokenization -------------------------------------------------------------------


def perplexity_scorer(config: BuildConfig):
    spec = config.filters.perplexity_scorer
    if spec is None:
        return None
    from medtitan.data.plugins import load_object

    scorer = load_object(spec, "filters.perplexity_scorer")
    if not callable(scorer):
        raise ConfigError(f"{config.path}: filters.perplexity_scorer {spec!r} is not callable")
    return scorer


def filter_task(context: TaskContext, partition: int) -> dict:
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
    crash_point("filter", partition)
    return task_done()


# --- deduplication: the keyed shuffle ----------------------------------------------------------

def _bands(config: BuildConfig) -> tuple[int, int]:
    return _core.choose_lsh_bands(config.dedup.num_perm, config.dedup.threshold, config.dedup.min_probability)


def dedup_map_task(context: TaskContext, partition: int) -> dict:
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
    signatures = _core.minhash_signatures(texts, num_perm=dedup.num_perm, ngram=dedup.ngram, seed=dedup.seed,
                                          num_threads=context.threads)
    raw_keys, raw_present = _core.lsh_band_keys(signatures, dedup.num_perm, bands, band_rows)
    keys = np.frombuffer(raw_keys, dtype="<u8").reshape(len(rows), bands)
    present = np.frombuffer(raw_present, dtype=np.uint8).astype(bool)
    import pyarrow as pa

    docs = {"n": np.array([r["n"] for r in rows], dtype=np.int64),
            "partition": np.full(len(rows), partition, dtype=np.int32),
            "position": np.arange(len(rows), dtype=np.int32),
            "id": pa.array([r["id"] for r in rows], pa.string()),
            "source": pa.array([r["source"] for r in rows], pa.string())}
    folder.mkdir(parents=True, exist_ok=True)
    write_routed(folder / f"part-{partition:05d}.exact.arrow", {"hash": hashes, **docs},
                  (hashes % np.uint64(context.buckets)).astype(np.int64), context.buckets)
    # One record per (document with shingles, band).
    members = np.repeat(np.flatnonzero(present), bands)
    band_index = np.tile(np.arange(bands, dtype=np.int16), int(present.sum()))
    band_keys = keys[present].reshape(-1)
    picked = {name: values.take(pa.array(members)) if isinstance(values, pa.Array) else values[members]
              for name, values in docs.items()}
    write_routed(folder / f"part-{partition:05d}.bands.arrow",
                  {"band": band_index, "key": band_keys, "hash": hashes[members], **picked},
                  (band_keys % np.uint64(context.buckets)).astype(np.int64), context.buckets)
    write_json(marker, {"documents": len(rows), "band_records": len(members)})
    return task_done()


def _ranks(table) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each row, row of each rank) by (id, source, n): dedup keeps the smallest of a
    group. Arrow sorts strings by UTF-8 bytes, which is code-point order, as Python compares."""
    import pyarrow.compute as pc

    order = pc.sort_indices(table, sort_keys=[("id", "ascending"), ("source", "ascending"),
                                              ("n", "ascending")]).to_numpy().astype(np.int64)
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
        removed = [row | {"reason": "exact_duplicate", "detail": f"duplicate of {k['source']}/{k['id']}"}
                   for row, k in zip(dropped, keepers)]
    removed.sort(key=lambda r: r["n"])
    write_jsonl(out, removed)
    return task_done({"records": table.num_rows if table is not None else 0})


def dedup_bands_task(context: TaskContext, bucket: int) -> dict:
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
            members = sorted(rank[families[bounds[group]:bounds[group + 1]]].tolist())
            pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
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
            scores = np.frombuffer(_core.jaccard_pairs(own, texts, [rows["a_position"][i] for i in members],
                                                       [rows["b_position"][i] for i in members], config.dedup.ngram,
                                                       context.threads), dtype="<f8")
            for i, score in zip(members, scores):
                if score >= config.dedup.threshold:
                    edges.append({"a": [rows["a_id"][i], rows["a_source"][i], rows["a_n"][i]],
                                  "b": [rows["b_id"][i], rows["b_source"][i], rows["b_n"][i]],
                                  "b_partition": rows["b_partition"][i], "jaccard": round(float(score), 6)})
    edges.sort(key=lambda e: (e["a"][2], e["b"][2]))
    write_jsonl(out, [{"candidates": len(chosen), "confirmed": len(edges)}] + edges)
    return task_done({"candidates": len(chosen), "confirmed": len(edges)})


# --- decontamination --------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _contamination_index(config_json: str):
    """The 13-gram index of the evaluation samples (built once per process).

    The corpus reaches this stage de-identified, so a copied eval item whose names, dates or
    places were scrubbed no longer shares those n-grams with the item as published. Each item is
    therefore indexed twice when de-identification is on: as published, and as the build's
    engine scrubs it (placeholders); a match with either counts, under the item's one key."""
    from medtitan.data.documents import ReadReport, read_documents

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
        engine = _deidentifier(deid["engine"], deid["model"], "placeholder", deid["seed"])
        scrubbed = [r.text for r in engine.deidentify_batch(samples)]
        changed = [i for i, (raw, text) in enumerate(zip(samples, scrubbed)) if text != raw]
        samples += [scrubbed[i] for i in changed]
        keys += [keys[i] for i in changed]
    index = _core.ContaminationIndex(samples, settings["ngram"], settings["min_words"]) if samples else None
    return index, keys, quarantined


def contamination_index(config: BuildConfig):
    settings = config.decontamination
    deid = None
    if config.deid.enabled:
        model = str(config.resolve(config.deid.model)) if config.deid.model else None
        deid = {"engine": config.deid.engine, "model": model, "seed": config.build.seed}
    key = json.dumps({"eval_files": [str(p) for p in config.eval_files()], "text_field": settings.text_field,
                      "ngram": settings.ngram, "min_words": settings.min_words, "deid": deid}, sort_keys=True)
    return _contamination_index(key)


def dedup_removed_path(work: Workspace, partition: int) -> Path:
    return work.stage("dedup") / "removed" / f"part-{partition:05d}.jsonl"


def decontaminate_task(context: TaskContext, partition: int) -> dict:
    config, work = context.config, context.work
    settings = config.decontamination
    out = work.part("decontaminate", partition)
    if out.exists():
        return task_done()
    index, sample_keys, _ = contamination_index(config)
    # Only this partition's dedup removals: no task holds the corpus-wide list.
    dropped = {r["n"] for r in read_jsonl(dedup_removed_path(work, partition))}
    rows = [r for r in read_jsonl(work.part("filter", partition)) if r["n"] not in dropped]
    matches = index.scan_batch([r["text"] for r in rows], settings.threshold, context.threads) if index else [[]] * len(rows)
    flagged = []
    for row, found in zip(rows, matches):
        if found:
            sample, overlap = max(found, key=lambda m: (m[1], -m[0]))
            flagged.append({"n": row["n"], "source": row["source"], "id": row["id"], "reason": "contaminated",
                            "eval_set": sample_keys[sample][0], "eval_id": sample_keys[sample][1],
                            "overlap": round(overlap, 4), "matches": len(found)})
    write_jsonl(out, [{"documents": len(rows)}] + flagged)
    crash_point("decontaminate", partition)
    return task_done()


TASKS = {"deid": deid_task, "filter": filter_task, "dedup-map": dedup_map_task, "dedup-exact": dedup_exact_task,
         "dedup-bands": dedup_bands_task, "dedup-confirm": dedup_confirm_task, "decontaminate": decontaminate_task}
