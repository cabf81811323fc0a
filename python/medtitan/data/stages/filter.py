"""filter: tokenize each partition and remove documents that fail a quality filter, each with
its reason and score; the kept documents' token ids go on to dedup, mix and pack.

The filters, applied in this order (the first that fails names the reason; `[filters] exempt`
spares a doc_type any of them):

    min_tokens        too_short          fewer tokens than min_tokens
    non_alphanumeric  non_alphanumeric   more than max_non_alnum_ratio of the visible characters
                                         are neither letters nor digits (Rust)
    mojibake          mojibake           more than max_mojibake_sequences telltale sequences of
                                         UTF-8 decoded as cp1252/latin-1 (medtitan/quality/mojibake.py)
    language          language           not one of `languages`, or named with less than
                                         min_language_confidence (medtitan/quality/langid.py)
    repetition        repetition         a Gopher repetition score above its threshold (Rust:
                                         rust/filters/repetition.rs; the detail names the score)
    unknown_words     unknown_words      with a reference LM: more of the words outside its training
                                         vocabulary than max_unknown_word_fraction (raised for a
                                         calibrated doc_type to its 99th percentile + 0.04)
    perplexity        perplexity         above max_perplexity under the reference LM (Rust:
                                         rust/filters/reference_lm.rs) or a plug-in scorer; for a
                                         doc_type the LM was calibrated on, above the larger of that
                                         and perplexity_calibration_factor x its 99th percentile

Besides its outputs, each task keeps a histogram of log10 perplexity per doc_type and a seeded
sample of removed documents per (reason, doc_type) with their scores and the start of their
(de-identified) text, which `medtitan-data filter-report` shows.
"""

from __future__ import annotations

import io
import json
import math
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from medtitan import _core
from medtitan.checksums import sha256_of
from medtitan.data.build_config import BuildConfig, ConfigError
from medtitan.data.plugins import load_object
from medtitan.data.stages.base import Driver, StageCounts, TaskContext, task_done
from medtitan.data.workspace import read_jsonl, stable_hash, write_atomic, write_json, write_jsonl
from medtitan.faults import build_crash_point
from medtitan.quality.mojibake import mojibake_sequences
from medtitan.quality.reference_lm import load_reference_lm, perplexities
from medtitan.tokenizer import Tokenizer

# log10(perplexity) histogram bins: 1 to 10^6 in quarter decades, plus one bin for anything above.
PERPLEXITY_LOG10_EDGES = [round(0.25 * i, 2) for i in range(25)]
EXAMPLES_PER_GROUP = 10  # removed documents kept per (reason, doc_type) for filter-report
EXAMPLE_CHARS = 400  # the start of each example's text
# CLD2 reads the first 2,000 characters of a document: 1.7x faster than whole documents, and on
# ../shared/data's clinical notes, radiology, PubMed and general English, and on the garbage set,
# it removes the same documents (medtitan/quality/langid.py has the measurements).
LANGUAGE_PREFIX_CHARS = 2000


@lru_cache(maxsize=4)
def _tokenizer(path: str) -> Tokenizer:
    return Tokenizer.from_file(path)


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def perplexity_scorer(config: BuildConfig):
    """The perplexity function (texts, ids, offsets, threads) -> scores that `[filters]` asks for:
    the reference LM's, a plug-in's (callable(texts) -> scores), or None."""
    settings = config.filters
    if settings.reference_lm is not None:
        model = _reference_lm(config)[0]
        return lambda texts, ids, offsets, threads: perplexities(model, ids, offsets, threads)
    if settings.perplexity_scorer is None:
        return None
    scorer = load_object(settings.perplexity_scorer, "filters.perplexity_scorer")
    if not callable(scorer):
        raise ConfigError(f"{config.path}: filters.perplexity_scorer {settings.perplexity_scorer!r} is not callable")
    return lambda texts, ids, offsets, threads: np.asarray(list(scorer(texts)), dtype=np.float64)


@lru_cache(maxsize=4)
def _tokenizer_sha256(path: str) -> str:
    return sha256_of(path)


def _reference_lm(config: BuildConfig):
    """(model, calibration by doc_type, vocabulary) of `[filters] reference_lm`, loaded once per
    process."""
    return load_reference_lm(str(config.resolve(config.filters.reference_lm)), _tokenizer_sha256(str(config.tokenizer)))


def _raised_per_doc_type(config: BuildConfig, absolute: float, bar) -> dict[str, float]:
    """{doc_type: max(absolute, bar(its calibration))} for the doc_types the reference LM was
    calibrated on. Never stricter than the absolute threshold: the calibration raises the bar for
    doc_types whose clean text naturally scores high (PubMed), and a narrow calibration (templated
    text, whose 99th percentile can be 5) must not turn ordinary documents into outliers."""
    return {t: max(absolute, bar(c)) for t, c in _reference_lm(config)[1].items()}


def perplexity_thresholds(config: BuildConfig) -> tuple[float | None, dict[str, float]]:
    """(the absolute max_perplexity, {doc_type: calibrated threshold}) the filter applies."""
    settings = config.filters
    if settings.reference_lm is None or settings.perplexity_calibration_factor is None:
        return settings.max_perplexity, {}
    factor = settings.perplexity_calibration_factor
    return settings.max_perplexity, _raised_per_doc_type(config, settings.max_perplexity, lambda c: factor * c["p99"])


UNKNOWN_WORDS_MARGIN = 0.04  # above a calibrated doc_type's 99th percentile of unknown-word share


def unknown_word_thresholds(config: BuildConfig) -> tuple[float | None, dict[str, float]]:
    """(max_unknown_word_fraction, {doc_type: calibrated threshold}); (None, {}) when off."""
    settings = config.filters
    if settings.reference_lm is None or settings.max_unknown_word_fraction is None:
        return None, {}
    absolute = settings.max_unknown_word_fraction
    return absolute, _raised_per_doc_type(config, absolute, lambda c: c["unknown_words_p99"] + UNKNOWN_WORDS_MARGIN)


@lru_cache(maxsize=2)
def _language_identifier(languages: tuple[str, ...], min_confidence: float):
    from medtitan.quality.langid import LanguageIdentifier

    return LanguageIdentifier(languages=languages, min_confidence=min_confidence, prefix_chars=LANGUAGE_PREFIX_CHARS)


def language_identifier(config: BuildConfig):
    """The identifier `[filters] languages` asks for, or None when it is off."""
    settings = config.filters
    if not settings.languages:
        return None
    return _language_identifier(tuple(settings.languages), settings.min_language_confidence)


def _subset(ids: np.ndarray, offsets: np.ndarray, chosen: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The flat ids and offsets of the chosen documents only."""
    lengths = np.diff(offsets)[chosen]
    picked = [ids[offsets[i] : offsets[i + 1]] for i in chosen]
    return (np.concatenate(picked) if picked else np.zeros(0, np.uint32)), np.concatenate([[0], np.cumsum(lengths)])


def _tokens_and_perplexity(config: BuildConfig, texts: list[str], scored: list[int], threads):
    """(ids, offsets, perplexity of the `scored` documents): the Rust half of the scoring."""
    ids, offsets = _tokenizer(str(config.tokenizer)).encode_flat(texts, threads)
    scorer = perplexity_scorer(config)
    perplexity = scorer([texts[i] for i in scored], *_subset(ids, offsets, scored), threads) if scored else None
    return ids, offsets, perplexity


def _scores(config: BuildConfig, rows: list[dict], texts: list[str], threads) -> tuple[np.ndarray, np.ndarray, dict]:
    """(ids, offsets, every filter's score of every document). Language and perplexity, the costly
    two, are computed only for the documents not exempt from them, and at the same time:
    tokenization and the reference LM run in Rust with the GIL released, in a second thread,
    while CLD2 and the other scores run in this one."""
    n = len(texts)
    exempt = config.filters.exempt
    names = list(_core.REPETITION_SCORE_NAMES)
    scorer = perplexity_scorer(config)
    scored = [i for i, r in enumerate(rows) if "perplexity" not in exempt.get(r["doc_type"], ())] if scorer else []
    perplexity = np.full(n, np.nan)
    with ThreadPoolExecutor(max_workers=1) as pool:
        rust_half = pool.submit(_tokens_and_perplexity, config, texts, scored, threads)
        languages: list = [(None, None)] * n
        identifier = language_identifier(config)
        named = [i for i, r in enumerate(rows) if "language" not in exempt.get(r["doc_type"], ())] if identifier else []
        for i, found in zip(named, identifier.identify([texts[i] for i in named]) if named else []):
            languages[i] = found
        repetition = np.frombuffer(_core.repetition_scores(texts, threads), dtype="<f8").reshape(n, len(names))
        ids, offsets, scored_perplexity = rust_half.result()
    if scored:
        perplexity[scored] = scored_perplexity
    unknown_words = np.full(n, np.nan)
    if unknown_word_thresholds(config)[0] is not None:
        unknown_words = np.frombuffer(_reference_lm(config)[2].unknown_fractions(texts, threads), dtype="<f8")
    return (
        ids,
        offsets,
        {
            "tokens": np.diff(offsets),
            "non_alphanumeric": np.asarray(_core.non_alphanumeric_ratios(texts, threads)),
            "mojibake": mojibake_sequences(texts),
            "repetition": repetition,
            "repetition_names": names,
            "repetition_thresholds": config.filters.repetition_thresholds(),
            "languages": languages,
            "perplexity": perplexity,
            "perplexity_thresholds": perplexity_thresholds(config),
            "unknown_words": unknown_words,
            "unknown_words_thresholds": unknown_word_thresholds(config),
        },
    )


def _verdict(config: BuildConfig, doc_type: str, i: int, scores: dict) -> tuple[str, str, float] | None:
    """(reason, detail, score) of the first filter document i fails, or None when it passes."""
    settings = config.filters
    exempt = set(settings.exempt.get(doc_type, ()))
    tokens = int(scores["tokens"][i])
    if "min_tokens" not in exempt and tokens < settings.min_tokens:
        return "too_short", f"{tokens} tokens < {settings.min_tokens}", tokens
    ratio = float(scores["non_alphanumeric"][i])
    if "non_alphanumeric" not in exempt and ratio > settings.max_non_alnum_ratio:
        return "non_alphanumeric", f"{ratio:.3f} of characters > {settings.max_non_alnum_ratio}", ratio
    telltales = scores["mojibake"][i]
    if "mojibake" not in exempt and telltales > settings.max_mojibake_sequences:
        return (
            "mojibake",
            f"{telltales} sequences of UTF-8 read as cp1252/latin-1 > {settings.max_mojibake_sequences}",
            telltales,
        )
    language, confidence = scores["languages"][i]
    if "language" not in exempt and language is not None:
        if language not in settings.languages:
            return "language", f"{language} ({confidence:.2f}), not in {settings.languages}", confidence
        if confidence < settings.min_language_confidence:
            return (
                "language",
                f"{language} at confidence {confidence:.2f} < {settings.min_language_confidence}",
                confidence,
            )
    if "repetition" not in exempt:
        thresholds = scores["repetition_thresholds"]
        for name, value in zip(scores["repetition_names"], scores["repetition"][i]):
            if value > thresholds[name]:
                return "repetition", f"{name} {value:.3f} > {thresholds[name]}", float(value)
    for name, value, unit in (
        ("unknown_words", scores["unknown_words"][i], "of words outside the reference vocabulary"),
        ("perplexity", scores["perplexity"][i], "perplexity"),
    ):
        absolute, calibrated = scores[f"{name}_thresholds"]
        if name in exempt or math.isnan(value):
            continue
        limit = calibrated.get(doc_type, absolute)
        if value > limit:
            where = f" (calibrated for {doc_type})" if doc_type in calibrated else ""
            return name, f"{unit} {value:.3f} > {limit:.3f}{where}", float(value)
    return None


def _histogram(values: np.ndarray) -> list[int]:
    """Counts of log10(values) in PERPLEXITY_LOG10_EDGES' bins, the last open-ended."""
    logs = np.log10(np.maximum(values[~np.isnan(values)], 1.0))
    bins = np.minimum(np.searchsorted(PERPLEXITY_LOG10_EDGES, logs, side="right") - 1, len(PERPLEXITY_LOG10_EDGES) - 1)
    return np.bincount(bins, minlength=len(PERPLEXITY_LOG10_EDGES)).astype(int).tolist()


def filter_task(context: TaskContext, partition: int) -> dict:
    """Partition p -> kept documents and their token ids (.tokens.npz), the removed ones with
    reason, detail and score, and the partition's score histogram and removed examples."""
    config, work = context.config, context.work
    kept_path = work.part("filter", partition)
    tokens_path = work.part("filter", partition, ".tokens.npz")
    removed_path = work.part("filter", partition, ".removed.jsonl")
    scores_path = work.part("filter", partition, ".scores.json")
    if kept_path.exists() and tokens_path.exists() and removed_path.exists() and scores_path.exists():
        return task_done()
    rows = read_jsonl(work.part("deid", partition))
    texts = [r["text"] for r in rows]
    ids, offsets, scores = _scores(config, rows, texts, context.threads)
    keep, removed, examples = [], [], []
    for index, row in enumerate(rows):
        verdict = _verdict(config, row["doc_type"], index, scores)
        if verdict is None:
            keep.append(index)
            continue
        reason, detail, score = verdict
        removed.append(
            {
                "n": row["n"],
                "source": row["source"],
                "id": row["id"],
                "reason": reason,
                "detail": detail,
                "score": round(score, 4),
            }
        )
        examples.append(
            {
                "order": stable_hash(config.build.seed, "filter-example", row["n"]),
                "reason": reason,
                "doc_type": row["doc_type"],
                "source": row["source"],
                "id": row["id"],
                "detail": detail,
                "score": round(score, 4),
                "text": row["text"][:EXAMPLE_CHARS],
            }
        )
    by_type: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_type[row["doc_type"]].append(index)
    histograms = {t: _histogram(scores["perplexity"][members]) for t, members in sorted(by_type.items())}
    lengths = scores["tokens"]
    kept_lengths = lengths[keep] if keep else np.zeros(0, np.int64)
    kept_ids = np.concatenate([ids[offsets[i] : offsets[i + 1]] for i in keep]) if keep else np.zeros(0, np.uint32)
    kept_offsets = np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64)
    write_atomic(tokens_path, _npz_bytes(ids=kept_ids.astype(np.uint32), offsets=kept_offsets))
    write_jsonl(removed_path, removed)
    write_json(
        scores_path,
        {"perplexity_log10_histogram": {t: h for t, h in histograms.items() if sum(h)}, "examples": _sample(examples)},
    )
    write_jsonl(kept_path, [rows[i] for i in keep])  # last: the task's marker
    build_crash_point("filter", partition)
    return task_done()


def _sample(examples: list[dict]) -> list[dict]:
    """The EXAMPLES_PER_GROUP smallest seeded orders of each (reason, doc_type): a sample that
    does not depend on how the corpus is partitioned."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for example in examples:
        groups[(example["reason"], example["doc_type"])].append(example)
    return [e for key in sorted(groups) for e in sorted(groups[key], key=lambda e: e["order"])[:EXAMPLES_PER_GROUP]]


TASKS = {"filter": filter_task}


def run(driver: Driver, results: dict) -> dict:
    """Check the models load, run the tasks, count kept and removed by reason; sum the
    histograms and keep the examples."""
    perplexity_scorer(driver.config)  # a bad scorer or model fails here, before any task
    language_identifier(driver.config)
    partitions = range(results["ingest"]["partitions"])
    driver.run_tasks("filter", partitions)
    counts = StageCounts()
    reasons: Counter = Counter()
    removed_by_type: dict[str, Counter] = defaultdict(Counter)
    histograms: dict[str, np.ndarray] = {}
    examples: list[dict] = []
    doc_types = {source.name: source.doc_type for source in driver.config.sources}
    for partition in partitions:
        removed = read_jsonl(driver.work.part("filter", partition, ".removed.jsonl"))
        kept = sum(1 for _ in open(driver.work.part("filter", partition), encoding="utf-8"))
        counts.into += kept + len(removed)
        counts.kept += kept
        counts.removed += len(removed)
        reasons.update(r["reason"] for r in removed)
        for record in removed:
            removed_by_type[record["reason"]][doc_types.get(record["source"], record["source"])] += 1
        scores = json.loads(driver.work.part("filter", partition, ".scores.json").read_text())
        for doc_type, counts_ in scores["perplexity_log10_histogram"].items():
            histograms[doc_type] = histograms.get(doc_type, 0) + np.asarray(counts_)
        examples = _sample(examples + scores["examples"])
    write_jsonl(
        driver.work.stage("filter") / "examples.jsonl", [{k: v for k, v in e.items() if k != "order"} for e in examples]
    )
    return counts.to_json(
        reasons,
        removed_by_doc_type={r: dict(sorted(c.items())) for r, c in sorted(removed_by_type.items())},
        perplexity_log10_edges=PERPLEXITY_LOG10_EDGES if histograms else None,
        perplexity_log10_histogram={t: h.tolist() for t, h in sorted(histograms.items())},
    )
