"""`medtitan-data build`: raw sources -> de-identified, filtered, deduplicated, decontaminated,
tokenized, mixed, packed, shuffled Megatron shards, with a report that accounts for every
document.

Stages and where their work lands (the resume state: OUTPUT/work/, and OUTPUT/private/work/ for
ingest and deid, which see raw text; see private.py):

    ingest         read sources into partitions of `partition_docs` documents; bad records ->
                   quarantine with file, line and reason                        (driver, sequential)
    deid           PHI -> typed placeholders                                    (tasks per partition)
    filter         tokenize; drop short / symbol-heavy / high-perplexity texts  (tasks per partition)
    dedup          exact (normalized hash) then MinHash LSH + exact Jaccard      (keyed shuffle; the
                   driver joins the confirmed pairs)
    decontaminate  drop documents holding an evaluation sample's 13-grams      (tasks per partition)
    mix            validation split spanning every doc_type; copies per document to reach the
                   configured source weights and token budget                   (keyed shuffle)
    pack           documents + </s> (by id) -> samples of seq_len + 1 tokens    (driver, streaming)
    write          seeded shuffle of samples -> size-capped .bin/.idx shards, manifest, report

The tasks (build_tasks.py, mix_tasks.py) run on an executor (executors.py: this process, fresh
processes, or Ray); the driver here only sums their small outputs. Every task output is written
under a temporary name and renamed when complete, and every stage leaves DONE.json when all of it
is; a build that is killed and run again skips what is done and redoes the rest, and ends
byte-identical to an uninterrupted one. Partitions depend on input order only, and each task is
a pure function of its inputs and the config, so neither the executor nor the number of workers
changes the output. Memory per task and for the driver: memory_model.py.

Raw text rests only in OUTPUT/private/ (0700; never in the manifest): the released quarantine
names each bad record by file, line, reason and the sha256 of its line, not its text. A build
that succeeds deletes its work copies unless `[build] keep_work = true`; a failed or killed one
keeps them to resume from.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from medtitan import _core
from medtitan.data.build_config import BuildConfig, ConfigError
from medtitan.data.documents import ReadReport, read_documents
from medtitan.data.build_tasks import TASKS, TaskContext, contamination_index, dedup_removed_path
from medtitan.data.executors import LocalExecutor, make_executor
from medtitan.data.mix_tasks import TASKS as MIX_TASKS
from medtitan.data.mix_tasks import mix_start
from medtitan.data.private import PRIVATE_FOLDER, PRIVATE_STAGES, PROBE_PAIRS_FILE, UNLISTED_RELEASED, WORK_FOLDER
from medtitan.data.routing import peak_rss_mb
from medtitan.checksums import sha256_of
from medtitan.data.shards import DOC_TYPES_FILE
from medtitan.data.workspace import (STAGES, StageCounts, Workspace, crash_point, read_jsonl, stable_hash,
                                     write_atomic, write_json, write_jsonl)
from medtitan.tokenizer import Tokenizer

FORMAT_VERSION = 1
ALL_TASKS = TASKS | MIX_TASKS
# What the released quarantine.jsonl keeps of each bad record (plus the sha256 of its line).
RELEASED_QUARANTINE_KEYS = ("source", "path", "line", "reason")


class Builder:
    def __init__(self, config: BuildConfig, progress: bool = True, executor=None) -> None:
        self.config = config
        self.output = config.output
        self.work = Workspace(self.output)
        self.progress = progress
        self.workers = config.build.workers
        self.executor = executor or LocalExecutor(progress)
        # Threads inside one task. Local: every core (or build.workers). Process: one, since
        # build.workers processes already fill the cores. Ray: one per task (Ray schedules one
        # CPU each) unless build.workers says otherwise. Never changes the output.
        self.task_threads = {"local": self.workers, "process": 1}.get(self.executor.name, self.workers or 1)
        self.task_stats: dict[str, list[dict]] = {}
        self.tokenizer = Tokenizer.from_file(config.tokenizer)
        if self.tokenizer.eos_id < 0:
            raise ConfigError(f"{config.tokenizer}: the tokenizer has no </s> piece to end documents with")

    def log(self, message: str) -> None:
        if self.progress:
            print(message, flush=True)

    # --- the run ------------------------------------------------------------------------

    def run(self, stop_after: str | None = None) -> dict:
        """Run (or resume) every stage; with `stop_after`, only up to that stage (returns the
        stage results, not a report)."""
        if stop_after is not None and stop_after not in STAGES:
            raise ValueError(f"unknown stage {stop_after!r}; stages: {', '.join(STAGES)}")
        started = time.perf_counter()
        self._check_resume_state()
        results = {}
        for stage in STAGES[: STAGES.index(stop_after) + 1] if stop_after else STAGES:
            done = self.work.done(stage)
            if done is not None:
                self.log(f"{stage}: done earlier, skipped")
                results[stage] = done
                continue
            stage_started = time.perf_counter()
            results[stage] = getattr(self, f"_stage_{stage}")(results)
            results[stage]["seconds"] = round(time.perf_counter() - stage_started, 3)
            results[stage]["driver_peak_rss_mb"] = round(peak_rss_mb(), 1)
            self.work.mark_done(stage, results[stage])
            self.log(f"{stage}: done in {results[stage]['seconds']:.1f} s")
        if stop_after:
            return results
        report = self._finish(results, time.perf_counter() - started)
        if not self.config.build.keep_work:
            # Only now, after success: a failed or killed build keeps its work to resume from.
            self.work.remove()
            self.log(f"removed the work copies ({self.work.root}, {self.work.private_root}); "
                     "[build] keep_work = true keeps them")
        return report

    def task_counts(self) -> dict[str, int]:
        """The partitioned task steps and their task counts (ingest must be done)."""
        ingest = self.work.done("ingest")
        if ingest is None:
            raise ValueError(f"{self.work.root}: ingest has not run; run `medtitan-data build --stop-after ingest` first")
        partitions, buckets = ingest["partitions"], self._dedup_buckets(ingest["partitions"])
        dedup = self.config.dedup.enabled
        return {"deid": partitions, "filter": partitions, "dedup-map": partitions if dedup else 0,
                "dedup-exact": buckets if dedup else 0, "dedup-bands": buckets if dedup else 0,
                "dedup-confirm": partitions if dedup else 0, "decontaminate": partitions}

    def run_task(self, step: str, index: int) -> dict:
        """One task of one step (for schedulers such as Slurm array jobs); idempotent. The
        steps before it must be complete (their tasks run, the build driver's merges done)."""
        state = self.work.root / "state.json"
        if not state.exists() or json.loads(state.read_text()) != self._fingerprint():
            raise ValueError(f"{state}: the config, tokenizer or inputs changed since ingest (or ingest never ran); "
                             "a task must not mix them: run the build again from the start")
        counts = self.task_counts()
        if step not in counts:
            raise ValueError(f"unknown task step {step!r}; steps: {', '.join(counts)}")
        if not 0 <= index < counts[step]:
            raise ValueError(f"{step} has {counts[step]} tasks; task {index} does not exist")
        if step == "decontaminate" and self.work.done("dedup") is None:
            # Its input is the per-partition removals that the driver's dedup union writes.
            raise ValueError("decontaminate tasks need the dedup stage complete: run "
                             "`medtitan-data build --config F --stop-after dedup` after the dedup-confirm tasks")
        return ALL_TASKS[step](self._context(), index)

    def _fingerprint(self) -> dict:
        inputs = []
        for source in self.config.sources:
            for path in self.config.source_files(source):
                stat = path.stat()
                inputs.append({"source": source.name, "path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})
        for path in self.config.eval_files():
            stat = path.stat()
            inputs.append({"eval_set": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns})
        return {"config": self.config.to_json(), "tokenizer_sha256": sha256_of(self.config.tokenizer), "inputs": inputs,
                "format_version": FORMAT_VERSION}

    def _check_resume_state(self) -> None:
        """Resume only a build of the same config, tokenizer and inputs; otherwise start over."""
        fingerprint = self._fingerprint()
        state = self.work.root / "state.json"
        if state.exists() and json.loads(state.read_text()) != fingerprint:
            self.log(f"{self.work.root}: config, tokenizer or inputs changed since the last run; starting over")
            state.unlink()
        if not state.exists():
            # No fingerprint: whatever work is left (a removal cut short) is not resumable.
            self.work.remove()
            self.work.root.mkdir(parents=True, exist_ok=True)
            write_json(state, fingerprint)
        for name in PRIVATE_STAGES:
            legacy = self.work.root / name  # where builds before OUTPUT/private/work kept raw text
            if legacy.exists():
                shutil.rmtree(legacy)

    # --- ingest -------------------------------------------------------------------------

    def _stage_ingest(self, _results) -> dict:
        stage = self.work.stage("ingest")
        for stale in stage.glob("part-*"):
            stale.unlink()  # ingest is sequential: a partial run is redone from the start
        partition, buffer, ordinal = 0, [], 0
        counts = StageCounts()
        quarantined: list[dict] = []
        files: list[dict] = []
        per_source: dict[str, int] = Counter()
        blank_lines = 0

        def flush() -> None:
            nonlocal partition, buffer
            if buffer:
                write_jsonl(self.work.part("ingest", partition), buffer)
                partition += 1
                buffer = []

        for source in self.config.sources:
            for path in self.config.source_files(source):
                report = ReadReport()
                files.append({"source": source.name, "path": str(path), "bytes": path.stat().st_size,
                              "sha256": sha256_of(path)})
                documents = read_documents([path], text_field=source.text_field, default_doc_type=source.doc_type,
                                           report=report, max_record_bytes=self.config.build.max_doc_bytes,
                                           file_errors="quarantine")
                for document in documents:
                    buffer.append({"n": ordinal, "source": source.name, "id": document.id,
                                   "doc_type": source.doc_type, "text": document.text})
                    ordinal += 1
                    per_source[source.name] += 1
                    if len(buffer) >= self.config.build.partition_docs:
                        flush()
                for item in report.quarantined:
                    quarantined.append({"source": source.name, **item.to_json(include_raw=True)})
                counts.kept += report.documents
                counts.quarantined += len(report.quarantined)
                blank_lines += report.blank_lines
                self.log(f"ingest: {path} -> {report.documents:,} documents, {len(report.quarantined)} quarantined")
        flush()
        counts.into = counts.kept + counts.quarantined
        # With the raw lines' start: private (the stage folder is); _finish releases the rest.
        write_jsonl(stage / "quarantine.jsonl", quarantined)
        reasons = Counter(q["reason"].split(":")[0] for q in quarantined)
        return counts.to_json({f"quarantined: {k}": v for k, v in reasons.items()}, partitions=partition,
                              blank_lines=blank_lines, files=files, documents_by_source=dict(per_source),
                              input_bytes=sum(f["bytes"] for f in files))

    # --- de-identification ----------------------------------------------------------------

    def _context(self) -> TaskContext:
        partitions = self.work.done("ingest")["partitions"]
        return TaskContext(self.config, partitions, self.task_threads, self._dedup_buckets(partitions))

    def _dedup_buckets(self, partitions: int) -> int:
        return self.config.dedup.buckets or max(1, partitions)

    def _run_tasks(self, name: str, indices) -> list[dict]:
        """Run the tasks of one step on the executor; returns their stats (peak memory
        included), also kept in work/tasks/<name>.json for the memory model."""
        stats = self.executor.map(ALL_TASKS[name], self._context(), list(indices), name)
        self.task_stats[name] = stats
        write_json(self.work.stage("tasks") / f"{name}.json", stats)
        return stats

    # --- de-identification ----------------------------------------------------------------

    def _stage_deid(self, results) -> dict:
        partitions = range(results["ingest"]["partitions"])
        model_sha256 = None
        if self.config.deid.enabled:
            from medtitan.data.build_tasks import deidentifier_for

            engine = deidentifier_for(self.config)  # a bad engine or model fails here, before any task
            model_sha256 = getattr(engine, "sha256", None)  # which tagger scrubbed this build
        self._run_tasks("deid", partitions)
        counts = StageCounts()
        spans: Counter = Counter()
        changed = 0
        probes: list[dict] = []
        for partition in partitions:
            stats = json.loads(self.work.part("deid", partition, ".json").read_text())
            counts.into += stats["documents"]
            changed += stats["changed"]
            spans.update(stats["spans"])
            # A seeded bottom-k sample: the k smallest orders of all partitions' bottom-k.
            probes = sorted(probes + stats["probe_pairs"], key=lambda p: p["order"])[: self.config.deid.probe_pairs]
        write_jsonl(self.work.stage("deid") / "probe_pairs.jsonl", probes)
        counts.kept = counts.into
        return counts.to_json(enabled=self.config.deid.enabled, engine=self.config.deid.engine,
                              model_sha256=model_sha256, replace=self.config.deid.replace,
                              documents_changed=changed, spans=dict(sorted(spans.items())))

    # --- filters + tokenization -----------------------------------------------------------

    def _stage_filter(self, results) -> dict:
        from medtitan.data.build_tasks import perplexity_scorer

        perplexity_scorer(self.config)  # a bad scorer fails here, before any task
        self._run_tasks("filter", range(results["ingest"]["partitions"]))
        counts = StageCounts()
        reasons: Counter = Counter()
        for partition in range(results["ingest"]["partitions"]):
            removed = read_jsonl(self.work.part("filter", partition, ".removed.jsonl"))
            kept = sum(1 for _ in open(self.work.part("filter", partition), encoding="utf-8"))
            counts.into += kept + len(removed)
            counts.kept += kept
            counts.removed += len(removed)
            reasons.update(r["reason"] for r in removed)
        return counts.to_json(reasons)

    # --- deduplication --------------------------------------------------------------------

    def _stage_dedup(self, results) -> dict:
        """Exact then near duplicates through the keyed shuffle of build_tasks (map -> exact and
        band buckets -> confirm), then the union of confirmed edges here: the smallest
        (id, source, n) of every component is kept."""
        dedup = self.config.dedup
        partitions = results["ingest"]["partitions"]
        buckets = self._dedup_buckets(partitions)
        counts = StageCounts(into=results["filter"]["kept"])
        removed: list[dict] = []
        stats: dict = {"enabled": dedup.enabled}
        if dedup.enabled and counts.into:
            self._run_tasks("dedup-map", range(partitions))
            self._run_tasks("dedup-exact", range(buckets))
            self._run_tasks("dedup-bands", range(buckets))
            self._run_tasks("dedup-confirm", range(partitions))
            folder = self.work.stage("dedup")
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
                    removed.append({"n": key[2], "partition": where[key], "source": key[1], "id": key[0],
                                    "reason": "near_duplicate", "detail": f"duplicate of {keeper[1]}/{keeper[0]}"})
            members = Counter(roots)
            bands, rows = _core.choose_lsh_bands(dedup.num_perm, dedup.threshold, dedup.min_probability)
            exact = len(removed) - near
            stats.update(documents=counts.into - exact, candidate_pairs=candidates, confirmed_pairs=confirmed,
                         clusters=sum(1 for size in members.values() if size > 1), duplicates=near, bands=bands,
                         rows=rows, buckets=buckets)
        removed.sort(key=lambda r: r["n"])
        by_partition: dict[int, list] = defaultdict(list)
        for record in removed:
            by_partition[record.pop("partition")].append(record)
        for partition in range(partitions):  # what each decontaminate task skips
            write_jsonl(dedup_removed_path(self.work, partition), by_partition[partition])
        write_jsonl(self.work.stage("dedup") / "removed.jsonl", removed)
        counts.removed = len(removed)
        counts.kept = counts.into - counts.removed
        return counts.to_json(Counter(r["reason"] for r in removed), **stats)

    # --- decontamination ------------------------------------------------------------------

    def _stage_decontaminate(self, results) -> dict:
        settings = self.config.decontamination
        index, _, eval_quarantined = contamination_index(self.config)
        samples = index.samples if index else 0
        self._run_tasks("decontaminate", range(results["ingest"]["partitions"]))
        counts = StageCounts()
        audit: list[dict] = []
        for partition in range(results["ingest"]["partitions"]):
            header, *flagged = read_jsonl(self.work.part("decontaminate", partition))
            counts.into += header["documents"]
            counts.removed += len(flagged)
            audit += flagged
        counts.kept = counts.into - counts.removed
        write_jsonl(self.work.stage("decontaminate") / "audit.jsonl", audit)
        return counts.to_json(Counter(r["reason"] for r in audit), eval_samples=samples,
                              eval_samples_too_short=len(index.skipped) if index else 0,
                              eval_records_quarantined=eval_quarantined, ngram=settings.ngram,
                              threshold=settings.threshold)

    # --- validation split and mixing -----------------------------------------------------------

    def _stage_mix(self, results) -> dict:
        """The keyed mix of mix_tasks: scan -> sort by the seeded order -> select validation ->
        copies -> per-partition plans; here only sums over buckets."""
        build = self.config.build
        partitions = results["ingest"]["partitions"]
        folder = self.work.stage("mix")
        self._run_tasks("mix-scan", range(partitions))
        self._run_tasks("mix-sort", range(partitions))
        sorted_stats = [json.loads((folder / "sorted" / f"bucket-{r:05d}.json").read_text()) for r in range(partitions)]
        by_type: Counter = Counter()
        tokens_before = []
        for stats in sorted_stats:
            tokens_before.append(dict(by_type))
            by_type.update(stats["tokens_by_type"])
        total_tokens = sum(by_type.values()) or 1
        # Every doc_type gets its share of validation_tokens, and at least one whole sample's
        # worth (validation is packed per doc_type, so each type can be scored apart).
        quota = {t: max(build.validation_tokens * n / total_tokens, build.seq_len + 1) if build.validation_tokens > 0 else 0
                 for t, n in sorted(by_type.items())}
        write_json(folder / "select.json", {"quota": quota, "tokens_before": tokens_before})
        self._run_tasks("mix-select", range(partitions))

        available: Counter = Counter()
        train_documents: Counter = Counter()
        train_before = []
        for r in range(partitions):
            select = json.loads((folder / "select" / f"bucket-{r:05d}.json").read_text())
            train_before.append(dict(train_documents))
            train_documents.update(select["train_documents"])
            available.update(select["train_tokens"])
        weights = {s.name: s.weight for s in self.config.sources if available[s.name] > 0}
        budget = build.total_tokens or sum(available.values())
        weight_sum = sum(weights.values()) or 1.0
        target = {name: budget * w / weight_sum for name, w in weights.items()}
        rate = {name: target[name] / available[name] for name in weights}
        write_json(folder / "copies.json", {"rate": rate, "start": {name: mix_start(build.seed, name) for name in weights},
                                            "train_before": train_before})
        self._run_tasks("mix-copies", range(partitions))
        self._run_tasks("mix-plan", range(partitions))

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
        for source in self.config.sources:
            name = source.name
            sources[name] = {
                "doc_type": source.doc_type, "weight": source.weight, "documents": train_documents[name],
                "available_tokens": available[name], "target_tokens": round(target.get(name, 0.0)),
                "achieved_tokens": achieved[name], "target_share": round(weights.get(name, 0) / weight_sum, 4),
                "achieved_share": round(achieved[name] / achieved_total, 4),
                "repeat_factor": round(rate.get(name, 0.0), 4),
            }
        documents = sum(s["documents"] for s in sorted_stats)
        counts = StageCounts(into=documents, kept=documents - sampled_out, removed=sampled_out)
        return counts.to_json({"downsampled": sampled_out} if sampled_out else {}, budget_tokens=budget,
                              sources=sources, validation_documents=sum(validation_by_type.values()),
                              validation_doc_types=dict(sorted(validation_by_type.items())),
                              training_copies=copies)

    # --- packing --------------------------------------------------------------------------

    def _stage_pack(self, results) -> dict:
        """Training samples in one stream; validation samples packed per doc_type (so a sample
        never mixes types and perplexity can be reported per type), then concatenated."""
        build = self.config.build
        stage = self.work.stage("pack")
        sample_len = build.seq_len + 1
        partitions = results["ingest"]["partitions"]

        def plans():
            """Each partition's plan in turn (never all at once: they list every document)."""
            for partition in range(partitions):
                yield partition, json.loads(self.work.part("mix", partition, ".json").read_text())

        max_copies, doc_types, docs_in = 0, set(), 0
        for _, plan in plans():
            max_copies = max([max_copies] + [c for _, c in plan["train"]])
            doc_types.update(plan["validation"])
            docs_in += len(plan["train"]) + sum(map(len, plan["validation"].values()))
        doc_types = sorted(doc_types)

        def pack(path: Path, split: str, passes: range, positions) -> dict:
            writer = _core.SampleWriter(path, sample_len, self.tokenizer.eos_id)
            for repeat in passes:
                for partition, plan in plans():
                    chosen = np.array(positions(plan, repeat), dtype=np.int64)
                    if not len(chosen):
                        continue
                    # Within a partition, a seeded order per pass, so repeats land apart.
                    shuffle = np.frombuffer(_core.permutation(len(chosen), stable_hash(build.seed, split, partition, repeat)), dtype="<u8")
                    order = chosen[shuffle.astype(np.int64)]
                    tokens = np.load(self.work.part("filter", partition, ".tokens.npz"))
                    writer.push(_as_bytes(tokens["ids"], "<u4"), _as_bytes(tokens["offsets"], "<i8"), _as_bytes(order, "<i8"))
            stats = writer.close()
            stats["samples"] = stats["tokens"] // sample_len
            return stats

        outcome = {"train": pack(stage / "train.u32.tmp", "train", range(max_copies),
                                 lambda plan, repeat: [pos for pos, count in plan["train"] if count > repeat])}
        os.replace(stage / "train.u32.tmp", stage / "train.u32")
        by_type = {}
        with open(stage / "validation.u32.tmp", "wb") as combined:
            for doc_type in doc_types:
                part = stage / "validation-type.u32.tmp"
                by_type[doc_type] = pack(part, f"validation/{doc_type}", range(1),
                                         lambda plan, _repeat: plan["validation"].get(doc_type, []))
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, combined)
                part.unlink()
        os.replace(stage / "validation.u32.tmp", stage / "validation.u32")
        outcome["validation"] = {key: sum(s[key] for s in by_type.values())
                                 for key in ("tokens", "dropped_tokens", "documents", "samples")}
        outcome["validation"]["doc_types"] = {t: s["samples"] for t, s in by_type.items()}
        crash_point("pack")
        counts = StageCounts(into=docs_in, kept=docs_in)
        return counts.to_json(splits=outcome, sample_len=sample_len)

    # --- shards, manifest, report ----------------------------------------------------------------

    def _stage_write(self, results) -> dict:
        build = self.config.build
        sample_len = build.seq_len + 1
        itemsize = 2 if self.tokenizer.vocab_size <= 65_536 else 4
        per_shard = max(1, build.shard_bytes // (sample_len * itemsize))
        splits = {}
        for split, folder, seed_offset in (("train", "train", 0), ("validation", "validation", 1)):
            target = self.output / folder
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            shards = _core.write_shards(self.work.stage("pack") / f"{split}.u32", sample_len, build.seed + seed_offset,
                                        per_shard, self.tokenizer.vocab_size, target / split)
            splits[split] = {"folder": folder, "samples": sum(s["samples"] for s in shards),
                             "tokens": sum(s["tokens"] for s in shards),
                             "shards": [Path(s["prefix"]).name for s in shards]}
            if split == "validation":
                _write_sample_doc_types(target, results["pack"]["splits"]["validation"]["doc_types"],
                                        build.seed + seed_offset)
            crash_point("write")
        return {"splits": splits, "dtype": "uint16" if itemsize == 2 else "int32", "samples_per_shard": per_shard}

    def _finish(self, results: dict, seconds: float) -> dict:
        build = self.config.build
        quarantine = self.work.stage("ingest") / "quarantine.jsonl"
        removed = []
        for partition in range(results["ingest"]["partitions"]):
            removed += read_jsonl(self.work.part("filter", partition, ".removed.jsonl"))
        removed += read_jsonl(self.work.stage("dedup") / "removed.jsonl")
        audit = read_jsonl(self.work.stage("decontaminate") / "audit.jsonl")
        removed += [{k: r[k] for k in ("n", "source", "id", "reason")} | {"detail": f"{r['eval_id']} ({r['overlap']:.0%})"} for r in audit]
        removed.sort(key=lambda r: r["n"])
        write_jsonl(self.output / "removed.jsonl", removed)
        # Released: where each bad record is and why, and its line's hash, never its text.
        write_jsonl(self.output / "quarantine.jsonl",
                    [{k: q.get(k) for k in RELEASED_QUARANTINE_KEYS} | {"sha256": q.get("sha256") or None}
                     for q in read_jsonl(quarantine)])
        write_jsonl(self.output / "decontamination_audit.jsonl", audit)
        probes = self.work.stage("deid") / "probe_pairs.jsonl"
        if self.config.deid.probe_pairs > 0 and probes.exists():
            # Real PHI: under private/ (0700, the file 0600), outside the manifest, never released.
            write_jsonl(self.work.private_folder() / PROBE_PAIRS_FILE,
                        [{k: v for k, v in r.items() if k != "order"} for r in read_jsonl(probes)])
        elif (self.work.private / PROBE_PAIRS_FILE).exists():
            (self.work.private / PROBE_PAIRS_FILE).unlink()  # an earlier build's: not asked for now

        stages = {name: {k: v for k, v in results[name].items() if k in ("in", "kept", "removed", "quarantined", "reasons")}
                  for name in ("ingest", "deid", "filter", "dedup", "decontaminate", "mix")}
        stages["deid"]["spans"] = results["deid"]["spans"]
        stages["deid"]["engine"] = {key: results["deid"].get(key) for key in ("engine", "model_sha256", "replace")}
        mix = results["mix"]
        input_bytes = results["ingest"]["input_bytes"]
        cores = self.workers or os.cpu_count() or 1
        report = {
            "format_version": FORMAT_VERSION,
            "stages": stages,
            "sources": mix["sources"],
            "splits": results["write"]["splits"] | {
                split: results["write"]["splits"][split] | {"dropped_tokens": results["pack"]["splits"][split]["dropped_tokens"],
                                                             "documents": results["pack"]["splits"][split]["documents"]}
                for split in ("train", "validation")},
            "validation_doc_types": mix["validation_doc_types"],
            "dedup": {k: v for k, v in results["dedup"].items()
                      if k not in ("in", "kept", "removed", "quarantined", "reasons", "seconds", "driver_peak_rss_mb")},
            "decontamination": {k: results["decontaminate"][k] for k in ("eval_samples", "eval_samples_too_short", "ngram", "threshold")},
            "input_mb": round(input_bytes / 1e6, 3),
        }
        write_json(self.output / "report.json", report)
        # Timings differ from run to run, so they live apart from the (byte-reproducible)
        # report and are not listed in the manifest.
        timing = {"seconds": round(seconds, 2), "stage_seconds": {s: results[s].get("seconds") for s in STAGES},
                  "driver_peak_rss_mb_after": {s: results[s].get("driver_peak_rss_mb") for s in STAGES},
                  "input_mb": round(input_bytes / 1e6, 3), "cores": cores,
                  "mb_per_s": round(input_bytes / 1e6 / seconds, 3) if seconds else None,
                  "executor": self.executor.name, "driver_peak_rss_mb": round(peak_rss_mb(), 1)}
        write_json(self.output / "timing.json", timing)
        report = report | {"throughput": timing}

        files = {}
        for path in sorted(self.output.rglob("*")):
            relative = path.relative_to(self.output)
            if path.is_file() and relative.parts[0] not in (WORK_FOLDER, PRIVATE_FOLDER) and path.name not in UNLISTED_RELEASED:
                files[str(relative)] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
        manifest = {
            "format_version": FORMAT_VERSION,
            "tokenizer": {"path": str(self.config.tokenizer), "sha256": sha256_of(self.config.tokenizer),
                          "vocab_size": self.tokenizer.vocab_size, "eos_id": self.tokenizer.eos_id,
                          "bos_id": self.tokenizer.bos_id},
            "eos_id": self.tokenizer.eos_id,
            "dtype": results["write"]["dtype"],
            "seq_len": build.seq_len,
            "sample_len": build.seq_len + 1,
            "seed": build.seed,
            "config": self.config.to_json(),
            "inputs": results["ingest"]["files"],
            "sources": {name: {k: v[k] for k in ("doc_type", "achieved_tokens", "achieved_share", "target_share")}
                        for name, v in mix["sources"].items()},
            "stages": {name: {k: s[k] for k in ("in", "kept", "removed", "quarantined", "reasons")} for name, s in stages.items()},
            "splits": {split: {k: v for k, v in info.items()} for split, info in results["write"]["splits"].items()},
            "files": files,
        }
        write_json(self.output / "manifest.json", manifest)
        return report


def _write_sample_doc_types(folder: Path, samples_by_type: dict[str, int], seed: int) -> None:
    """folder/doc_types.json: the doc_type of every sample, in shard order. The packed file
    holds each type's samples in a block (sorted types); write_shards reorders samples by the
    seeded permutation that `_core.permutation` returns for the same seed."""
    names = sorted(samples_by_type)
    packed = np.repeat(np.arange(len(names), dtype=np.int64), [samples_by_type[n] for n in names])
    order = np.frombuffer(_core.permutation(len(packed), seed), dtype="<u8").astype(np.int64)
    value = {"doc_types": names, "samples": {n: samples_by_type[n] for n in names},
             "sample_doc_type": packed[order].tolist()}  # indices into doc_types
    write_atomic(folder / DOC_TYPES_FILE, (json.dumps(value) + "\n").encode())


def _as_bytes(array: np.ndarray, dtype: str) -> np.ndarray:
    """A contiguous little-endian copy viewed as bytes, as the Rust buffers expect."""
    return np.ascontiguousarray(array, dtype=dtype).view(np.uint8)


def build(config: BuildConfig, progress: bool = True, executor: str = "local", address: str | None = None,
          stop_after: str | None = None) -> dict:
    """Run (or resume) the build described by `config` on the named executor (local, process,
    ray); returns the report (the stage results with `stop_after`)."""
    runner = make_executor(executor, address=address, processes=config.build.workers, progress=progress)
    try:
        return Builder(config, progress, runner).run(stop_after)
    finally:
        runner.close()
