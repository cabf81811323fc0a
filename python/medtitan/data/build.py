"""`medtitan-data build`: raw sources -> de-identified, filtered, deduplicated, decontaminated,
tokenized, mixed, packed, shuffled Megatron shards, with a report that accounts for every
document.

Stages and where their work lands (under OUTPUT/work/, the resume state):

    ingest         read sources into partitions of `partition_docs` documents; bad records ->
                   quarantine with file, line and reason                        (sequential)
    deid           PHI -> typed placeholders                                    (per partition)
    filter         tokenize; drop short / symbol-heavy / high-perplexity texts  (per partition)
    dedup          exact (normalized hash) then MinHash LSH + exact Jaccard      (global, keyed)
    decontaminate  drop documents holding an evaluation sample's 13-grams      (per partition)
    mix            validation split spanning every doc_type; copies per document to reach the
                   configured source weights and token budget                   (global, metadata)
    pack           documents + </s> (by id) -> samples of seq_len + 1 tokens    (sequential)
    write          seeded shuffle of samples -> size-capped .bin/.idx shards, manifest, report

Every partition output is written under a temporary name and renamed when complete, and every
stage leaves DONE.json when all of it is; a build that is killed and run again skips what is
done and redoes the rest, and ends byte-identical to an uninterrupted one. Partitions depend on
input order only, and each stage is a pure function of its inputs and the config, so the number
of workers (threads given to the Rust stages) never changes the output.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from medtitan import _core
from medtitan.data.build_config import BuildConfig, ConfigError
from medtitan.data.documents import ReadReport, read_documents
from medtitan.data.shards import DOC_TYPES_FILE, sha256_of
from medtitan.tokenizer import Tokenizer

FORMAT_VERSION = 1
STAGES = ("ingest", "deid", "filter", "dedup", "decontaminate", "mix", "pack", "write")
# Fault injection for the resume tests: MEDTITAN_BUILD_CRASH=<stage>[:<partition>] exits the
# process abruptly inside that stage (after that partition's output, before the stage is done).
CRASH_ENV = "MEDTITAN_BUILD_CRASH"


def _crash_point(stage: str, partition: int | None = None) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, part = wanted.partition(":")
    if name == stage and (not part or (partition is not None and int(part) == partition)):
        sys.stdout.flush()
        os._exit(75)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_json(path: Path, value) -> None:
    _write_atomic(path, (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def _write_jsonl(path: Path, rows) -> None:
    _write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _stable_hash(*parts) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest(), "little")


class Workspace:
    """OUTPUT/work: per-stage folders, partition files and DONE markers."""

    def __init__(self, output: Path) -> None:
        self.root = output / "work"

    def stage(self, name: str) -> Path:
        path = self.root / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def done(self, name: str) -> dict | None:
        marker = self.root / name / "DONE.json"
        return json.loads(marker.read_text()) if marker.exists() else None

    def mark_done(self, name: str, stats: dict) -> None:
        _write_json(self.stage(name) / "DONE.json", stats)

    def part(self, stage: str, index: int, suffix: str = ".jsonl") -> Path:
        return self.stage(stage) / f"part-{index:05d}{suffix}"


@dataclass
class StageCounts:
    into: int = 0
    kept: int = 0
    removed: int = 0
    quarantined: int = 0

    def to_json(self, reasons: dict | None = None, **extra) -> dict:
        out = {"in": self.into, "kept": self.kept, "removed": self.removed, "quarantined": self.quarantined,
               "reasons": dict(sorted((reasons or {}).items()))}
        out.update(extra)
        return out


class Builder:
    def __init__(self, config: BuildConfig, progress: bool = True) -> None:
        self.config = config
        self.output = config.output
        self.work = Workspace(self.output)
        self.progress = progress
        self.workers = config.build.workers
        self.tokenizer = Tokenizer.from_file(config.tokenizer)
        if self.tokenizer.eos_id < 0:
            raise ConfigError(f"{config.tokenizer}: the tokenizer has no </s> piece to end documents with")

    def log(self, message: str) -> None:
        if self.progress:
            print(message, flush=True)

    def bar(self, iterable, desc: str, total: int | None = None):
        return tqdm(iterable, desc=desc, total=total, unit=" part", disable=not self.progress, leave=False)

    # --- the run ------------------------------------------------------------------------

    def run(self) -> dict:
        started = time.perf_counter()
        self._check_resume_state()
        results = {}
        for stage in STAGES:
            done = self.work.done(stage)
            if done is not None:
                self.log(f"{stage}: done earlier, skipped")
                results[stage] = done
                continue
            stage_started = time.perf_counter()
            results[stage] = getattr(self, f"_stage_{stage}")(results)
            results[stage]["seconds"] = round(time.perf_counter() - stage_started, 3)
            self.work.mark_done(stage, results[stage])
            self.log(f"{stage}: done in {results[stage]['seconds']:.1f} s")
        report = self._finish(results, time.perf_counter() - started)
        return report

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
            shutil.rmtree(self.work.root)
        if not state.exists():
            self.work.root.mkdir(parents=True, exist_ok=True)
            _write_json(state, fingerprint)

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
                _write_jsonl(self.work.part("ingest", partition), buffer)
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
                    quarantined.append({"source": source.name, **item.to_json()})
                counts.kept += report.documents
                counts.quarantined += len(report.quarantined)
                blank_lines += report.blank_lines
                self.log(f"ingest: {path} -> {report.documents:,} documents, {len(report.quarantined)} quarantined")
        flush()
        counts.into = counts.kept + counts.quarantined
        _write_jsonl(stage / "quarantine.jsonl", quarantined)
        reasons = Counter(q["reason"].split(":")[0] for q in quarantined)
        return counts.to_json({f"quarantined: {k}": v for k, v in reasons.items()}, partitions=partition,
                              blank_lines=blank_lines, files=files, documents_by_source=dict(per_source),
                              input_bytes=sum(f["bytes"] for f in files))

    def _partitions(self, stage: str) -> list[int]:
        return sorted(int(p.stem.split("-")[1]) for p in self.work.stage(stage).glob("part-*.jsonl"))

    # --- de-identification ----------------------------------------------------------------

    def _stage_deid(self, results) -> dict:
        partitions = range(results["ingest"]["partitions"])
        counts = StageCounts()
        spans: Counter = Counter()
        changed = 0
        probes: list[dict] = []
        deidentifier = None
        if self.config.deid.enabled:
            from medtitan.data.deid import load_deidentifier

            deidentifier = load_deidentifier(self.config.deid.engine)
        for partition in self.bar(partitions, "deid"):
            source, target = self.work.part("ingest", partition), self.work.part("deid", partition)
            stats_path = self.work.part("deid", partition, ".json")
            if not (target.exists() and stats_path.exists()):
                rows = _read_jsonl(source)
                part_spans: Counter = Counter()
                part_changed = 0
                part_probes: list[dict] = []
                if deidentifier is not None:
                    for row, result in zip(rows, deidentifier.deidentify_batch([r["text"] for r in rows])):
                        if result.spans:
                            part_changed += 1
                            part_spans.update(kind for _, _, kind in result.spans)
                            part_probes += self._probe_candidates(row, result.spans)
                        row["text"] = result.text
                part_probes = sorted(part_probes, key=lambda p: p["order"])[: self.config.deid.probe_pairs]
                _write_jsonl(target, rows)
                _write_json(stats_path, {"documents": len(rows), "changed": part_changed, "spans": dict(part_spans),
                                         "probe_pairs": part_probes})
                _crash_point("deid", partition)
            stats = json.loads(stats_path.read_text())
            counts.into += stats["documents"]
            changed += stats["changed"]
            spans.update(stats["spans"])
            # A seeded bottom-k sample: the k smallest orders of all partitions' bottom-k.
            probes = sorted(probes + stats["probe_pairs"], key=lambda p: p["order"])[: self.config.deid.probe_pairs]
        _write_jsonl(self.work.stage("deid") / "probe_pairs.jsonl", probes)
        counts.kept = counts.into
        return counts.to_json(enabled=self.config.deid.enabled, engine=self.config.deid.engine,
                              documents_changed=changed, spans=dict(sorted(spans.items())))

    def _probe_candidates(self, row: dict, spans) -> list[dict]:
        """(prefix, secret) pairs for PHI leakage probing: the text before a scrubbed span of
        a high-entropy type, cut at a word boundary, and the original span."""
        settings = self.config.deid
        if settings.probe_pairs <= 0:
            return []
        text, found = row["text"], []
        for start, end, kind in spans:
            if kind not in settings.probe_types or start < 20:
                continue
            cut = max(0, start - settings.probe_prefix_chars)
            if cut:
                cut = text.find(" ", cut) + 1 or cut
            found.append({"order": _stable_hash(self.config.build.seed, "probe", row["n"], start),
                          "source": row["source"], "id": row["id"], "type": kind,
                          "prefix": text[cut:start], "secret": text[start:end]})
        return found

    # --- filters + tokenization -----------------------------------------------------------

    def _perplexity_scorer(self):
        spec = self.config.filters.perplexity_scorer
        if spec is None:
            return None
        from medtitan.data.plugins import load_object

        scorer = load_object(spec, "filters.perplexity_scorer")
        if not callable(scorer):
            raise ConfigError(f"{self.config.path}: filters.perplexity_scorer {spec!r} is not callable")
        return scorer

    def _stage_filter(self, results) -> dict:
        filters = self.config.filters
        scorer = self._perplexity_scorer()
        counts = StageCounts()
        reasons: Counter = Counter()
        for partition in self.bar(range(results["ingest"]["partitions"]), "filter"):
            kept_path = self.work.part("filter", partition)
            tokens_path = self.work.part("filter", partition, ".tokens.npz")
            removed_path = self.work.part("filter", partition, ".removed.jsonl")
            if not (kept_path.exists() and tokens_path.exists() and removed_path.exists()):
                rows = _read_jsonl(self.work.part("deid", partition))
                texts = [r["text"] for r in rows]
                ids, offsets = self.tokenizer.encode_flat(texts, self.workers)
                lengths = np.diff(offsets)
                ratios = _core.non_alphanumeric_ratios(texts, self.workers)
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
                        removed.append({"n": row["n"], "source": row["source"], "id": row["id"], "reason": reason,
                                        "detail": detail})
                    else:
                        keep.append(index)
                kept_rows = [rows[i] for i in keep]
                kept_lengths = lengths[keep] if keep else np.zeros(0, np.int64)
                kept_ids = np.concatenate([ids[offsets[i]:offsets[i + 1]] for i in keep]) if keep else np.zeros(0, np.uint32)
                kept_offsets = np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64)
                buffer = _npz_bytes(ids=kept_ids.astype(np.uint32), offsets=kept_offsets)
                _write_atomic(tokens_path, buffer)
                _write_jsonl(removed_path, removed)
                _write_jsonl(kept_path, kept_rows)
                _crash_point("filter", partition)
            removed = _read_jsonl(removed_path)
            kept = sum(1 for _ in open(kept_path, encoding="utf-8"))
            counts.into += kept + len(removed)
            counts.kept += kept
            counts.removed += len(removed)
            reasons.update(r["reason"] for r in removed)
        return counts.to_json(reasons)

    # --- deduplication --------------------------------------------------------------------

    def _stage_dedup(self, results) -> dict:
        dedup = self.config.dedup
        docs = []  # (id, source, n, text)
        for partition in self.bar(range(results["ingest"]["partitions"]), "dedup: reading"):
            docs += [(r["id"], r["source"], r["n"], r["text"]) for r in _read_jsonl(self.work.part("filter", partition))]
        counts = StageCounts(into=len(docs))
        removed: list[dict] = []
        stats: dict = {"enabled": dedup.enabled}
        if dedup.enabled and docs:
            from medtitan.data.dedup import deduplicate

            # "Smallest document id" is the representative: order by (id, source, ordinal).
            docs.sort(key=lambda d: (d[0], d[1], d[2]))
            result = deduplicate([d[3] for d in docs], threshold=dedup.threshold, num_perm=dedup.num_perm,
                                 ngram=dedup.ngram, min_probability=dedup.min_probability, seed=dedup.seed,
                                 num_threads=self.workers)
            exact, final = result.exact_representatives.tolist(), result.representatives.tolist()
            for index, doc in enumerate(docs):
                if exact[index] != index:
                    removed.append(self._removal(doc, "exact_duplicate", docs[exact[index]]))
                elif final[index] != index:
                    removed.append(self._removal(doc, "near_duplicate", docs[final[index]]))
            stats.update(result.near.stats)
        removed.sort(key=lambda r: r["n"])
        _write_jsonl(self.work.stage("dedup") / "removed.jsonl", removed)
        counts.removed = len(removed)
        counts.kept = counts.into - counts.removed
        return counts.to_json(Counter(r["reason"] for r in removed), **stats)

    @staticmethod
    def _removal(doc, reason: str, keeper) -> dict:
        return {"n": doc[2], "source": doc[1], "id": doc[0], "reason": reason,
                "detail": f"duplicate of {keeper[1]}/{keeper[0]}"}

    # --- decontamination ------------------------------------------------------------------

    def _stage_decontaminate(self, results) -> dict:
        settings = self.config.decontamination
        dedup_removed = {r["n"] for r in _read_jsonl(self.work.stage("dedup") / "removed.jsonl")}
        samples, sample_keys, eval_quarantined = [], [], 0
        for path in self.config.eval_files():
            report = ReadReport()
            for document in read_documents([path], text_field=settings.text_field, report=report):
                samples.append(document.text)
                sample_keys.append((str(path), document.id))
            eval_quarantined += len(report.quarantined)
        index = _core.ContaminationIndex(samples, settings.ngram, settings.min_words) if samples else None
        counts = StageCounts()
        audit: list[dict] = []
        for partition in self.bar(range(results["ingest"]["partitions"]), "decontaminate"):
            out = self.work.part("decontaminate", partition)
            if not out.exists():
                rows = [r for r in _read_jsonl(self.work.part("filter", partition)) if r["n"] not in dedup_removed]
                matches = index.scan_batch([r["text"] for r in rows], settings.threshold, self.workers) if index else [[]] * len(rows)
                flagged = []
                for row, found in zip(rows, matches):
                    if found:
                        sample, overlap = max(found, key=lambda m: (m[1], -m[0]))
                        flagged.append({"n": row["n"], "source": row["source"], "id": row["id"], "reason": "contaminated",
                                        "eval_set": sample_keys[sample][0], "eval_id": sample_keys[sample][1],
                                        "overlap": round(overlap, 4), "matches": len(found)})
                _write_jsonl(out, [{"documents": len(rows)}] + flagged)
                _crash_point("decontaminate", partition)
            header, *flagged = _read_jsonl(out)
            counts.into += header["documents"]
            counts.removed += len(flagged)
            audit += flagged
        counts.kept = counts.into - counts.removed
        _write_jsonl(self.work.stage("decontaminate") / "audit.jsonl", audit)
        return counts.to_json(Counter(r["reason"] for r in audit), eval_samples=len(samples),
                              eval_samples_too_short=len(index.skipped) if index else 0,
                              eval_records_quarantined=eval_quarantined, ngram=settings.ngram,
                              threshold=settings.threshold)

    # --- validation split and mixing -----------------------------------------------------------

    def _kept_documents(self, results) -> list[dict]:
        """Metadata of every document that survived the stages: partition, position, tokens."""
        dropped = {r["n"] for r in _read_jsonl(self.work.stage("dedup") / "removed.jsonl")}
        dropped |= {r["n"] for r in _read_jsonl(self.work.stage("decontaminate") / "audit.jsonl")}
        documents = []
        for partition in range(results["ingest"]["partitions"]):
            offsets = np.load(self.work.part("filter", partition, ".tokens.npz"))["offsets"]
            for position, row in enumerate(_read_jsonl(self.work.part("filter", partition))):
                if row["n"] not in dropped:
                    documents.append({"n": row["n"], "partition": partition, "position": position,
                                      "source": row["source"], "id": row["id"], "doc_type": row["doc_type"],
                                      "tokens": int(offsets[position + 1] - offsets[position]) + 1})  # + </s>
        return documents

    def _stage_mix(self, results) -> dict:
        build = self.config.build
        documents = self._kept_documents(results)
        for doc in documents:
            doc["order"] = _stable_hash(build.seed, doc["source"], doc["id"], doc["n"])
        documents.sort(key=lambda d: d["order"])

        # Validation: every doc_type gets its share of validation_tokens, and at least one whole
        # sample's worth (validation is packed per doc_type, so each type can be scored apart).
        total_tokens = sum(d["tokens"] for d in documents) or 1
        by_type: dict[str, int] = Counter()
        for doc in documents:
            by_type[doc["doc_type"]] += doc["tokens"]
        taken: dict[str, int] = Counter()
        validation = set()
        if build.validation_tokens > 0:
            for doc in documents:
                quota = max(build.validation_tokens * by_type[doc["doc_type"]] / total_tokens, build.seq_len + 1)
                if taken[doc["doc_type"]] < quota:
                    validation.add(doc["n"])
                    taken[doc["doc_type"]] += doc["tokens"]

        # Training mix: copies per document (systematic sampling from a seeded start, in the
        # seeded document order) so each source gets weight / sum(weights) of the budget.
        train = [d for d in documents if d["n"] not in validation]
        available: dict[str, int] = Counter()
        for doc in train:
            available[doc["source"]] += doc["tokens"]
        weights = {s.name: s.weight for s in self.config.sources if available[s.name] > 0}
        budget = build.total_tokens or sum(available.values())
        weight_sum = sum(weights.values()) or 1.0
        target = {name: budget * w / weight_sum for name, w in weights.items()}
        rate = {name: target[name] / available[name] for name in weights}
        copies: dict[int, int] = {}
        achieved: dict[str, int] = Counter()
        # Every document of a source has the same expected number of copies (the source's
        # rate); the running sum turns fractional rates into whole copies, exact per source to
        # within one document.
        position = {name: (_stable_hash(build.seed, "mix", name) % 1_000_003) / 1_000_003 for name in weights}
        for doc in train:
            name = doc["source"]
            before = position[name]
            position[name] = before + rate[name]
            count = math.floor(position[name]) - math.floor(before)
            copies[doc["n"]] = count
            achieved[name] += count * doc["tokens"]

        # Per partition: training positions with their copies, validation positions by doc_type.
        plan: dict[int, dict] = defaultdict(lambda: {"train": [], "validation": defaultdict(list)})
        for doc in documents:
            if doc["n"] in validation:
                plan[doc["partition"]]["validation"][doc["doc_type"]].append(doc["position"])
            elif copies[doc["n"]]:
                plan[doc["partition"]]["train"].append([doc["position"], copies[doc["n"]]])
        for partition in range(results["ingest"]["partitions"]):
            entry = plan[partition]
            entry["train"].sort()
            entry["validation"] = {t: sorted(p) for t, p in sorted(entry["validation"].items())}
            _write_json(self.work.part("mix", partition, ".json"), entry)

        achieved_total = sum(achieved.values()) or 1
        sources = {}
        for source in self.config.sources:
            name = source.name
            sources[name] = {
                "doc_type": source.doc_type, "weight": source.weight,
                "documents": sum(1 for d in train if d["source"] == name),
                "available_tokens": available[name], "target_tokens": round(target.get(name, 0.0)),
                "achieved_tokens": achieved[name], "target_share": round(weights.get(name, 0) / weight_sum, 4),
                "achieved_share": round(achieved[name] / achieved_total, 4),
                "repeat_factor": round(rate.get(name, 0.0), 4),
            }
        sampled_out = sum(1 for d in train if copies[d["n"]] == 0)
        counts = StageCounts(into=len(documents), kept=len(documents) - sampled_out, removed=sampled_out)
        validation_by_type = Counter(d["doc_type"] for d in documents if d["n"] in validation)
        return counts.to_json({"downsampled": sampled_out} if sampled_out else {}, budget_tokens=budget,
                              sources=sources, validation_documents=len(validation),
                              validation_doc_types=dict(sorted(validation_by_type.items())),
                              training_copies=sum(copies.values()))

    # --- packing --------------------------------------------------------------------------

    def _stage_pack(self, results) -> dict:
        """Training samples in one stream; validation samples packed per doc_type (so a sample
        never mixes types and perplexity can be reported per type), then concatenated."""
        build = self.config.build
        stage = self.work.stage("pack")
        sample_len = build.seq_len + 1
        plans = [json.loads(self.work.part("mix", p, ".json").read_text()) for p in range(results["ingest"]["partitions"])]
        max_copies = max((c for plan in plans for _, c in plan["train"]), default=0)
        doc_types = sorted({t for plan in plans for t in plan["validation"]})

        def pack(path: Path, split: str, passes: range, positions) -> dict:
            writer = _core.SampleWriter(path, sample_len, self.tokenizer.eos_id)
            for repeat in passes:
                for partition, plan in enumerate(plans):
                    chosen = np.array(positions(plan, repeat), dtype=np.int64)
                    if not len(chosen):
                        continue
                    # Within a partition, a seeded order per pass, so repeats land apart.
                    shuffle = np.frombuffer(_core.permutation(len(chosen), _stable_hash(build.seed, split, partition, repeat)), dtype="<u8")
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
        _crash_point("pack")
        docs_in = sum(len(p["train"]) + sum(map(len, p["validation"].values())) for p in plans)
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
            _crash_point("write")
        return {"splits": splits, "dtype": "uint16" if itemsize == 2 else "int32", "samples_per_shard": per_shard}

    def _finish(self, results: dict, seconds: float) -> dict:
        build = self.config.build
        quarantine = self.work.stage("ingest") / "quarantine.jsonl"
        removed = []
        for partition in range(results["ingest"]["partitions"]):
            removed += _read_jsonl(self.work.part("filter", partition, ".removed.jsonl"))
        removed += _read_jsonl(self.work.stage("dedup") / "removed.jsonl")
        audit = _read_jsonl(self.work.stage("decontaminate") / "audit.jsonl")
        removed += [{k: r[k] for k in ("n", "source", "id", "reason")} | {"detail": f"{r['eval_id']} ({r['overlap']:.0%})"} for r in audit]
        removed.sort(key=lambda r: r["n"])
        _write_jsonl(self.output / "removed.jsonl", removed)
        _write_jsonl(self.output / "quarantine.jsonl", _read_jsonl(quarantine))
        _write_jsonl(self.output / "decontamination_audit.jsonl", audit)
        probes = self.work.stage("deid") / "probe_pairs.jsonl"
        if self.config.deid.probe_pairs > 0 and probes.exists():
            # Real PHI: under private/, outside the manifest's file list, never in a release.
            _write_jsonl(self.output / "private" / "phi_probe_pairs.jsonl",
                         [{k: v for k, v in r.items() if k != "order"} for r in _read_jsonl(probes)])

        stages = {name: {k: v for k, v in results[name].items() if k in ("in", "kept", "removed", "quarantined", "reasons")}
                  for name in ("ingest", "deid", "filter", "dedup", "decontaminate", "mix")}
        stages["deid"]["spans"] = results["deid"]["spans"]
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
                      if k not in ("in", "kept", "removed", "quarantined", "reasons", "seconds")},
            "decontamination": {k: results["decontaminate"][k] for k in ("eval_samples", "eval_samples_too_short", "ngram", "threshold")},
            "input_mb": round(input_bytes / 1e6, 3),
        }
        _write_json(self.output / "report.json", report)
        # Timings differ from run to run, so they live apart from the (byte-reproducible)
        # report and are not listed in the manifest.
        timing = {"seconds": round(seconds, 2), "stage_seconds": {s: results[s].get("seconds") for s in STAGES},
                  "input_mb": round(input_bytes / 1e6, 3), "cores": cores,
                  "mb_per_s": round(input_bytes / 1e6 / seconds, 3) if seconds else None}
        _write_json(self.output / "timing.json", timing)
        report = report | {"throughput": timing}

        files = {}
        for path in sorted(self.output.rglob("*")):
            relative = path.relative_to(self.output)
            if path.is_file() and relative.parts[0] not in ("work", "private") and path.name not in ("manifest.json", "timing.json"):
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
        _write_json(self.output / "manifest.json", manifest)
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
    _write_atomic(folder / DOC_TYPES_FILE, (json.dumps(value) + "\n").encode())


def _as_bytes(array: np.ndarray, dtype: str) -> np.ndarray:
    """A contiguous little-endian copy viewed as bytes, as the Rust buffers expect."""
    return np.ascontiguousarray(array, dtype=dtype).view(np.uint8)


def _npz_bytes(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def build(config: BuildConfig, progress: bool = True) -> dict:
    """Run (or resume) the build described by `config`; returns the report."""
    return Builder(config, progress).run()
