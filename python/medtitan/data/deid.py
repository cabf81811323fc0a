"""De-identification (PHI scrubbing): a pluggable stage of the data build.

The default de-identifier is rule-based and runs in the Rust core (``rust/deid.rs``): each
finding is replaced by a typed placeholder (``[NAME]``, ``[DATE]``, ...). Another engine (an NER
model, a vendor service) plugs in through ``load_deidentifier("package.module:attr")``: any
object with ``deidentify_batch(texts) -> list[DeidResult]`` will do.

``score_against_ground_truth`` measures a de-identifier against planted PHI (the demo corpus's
``ground_truth/phi_spans.jsonl``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from medtitan import _core
from medtitan.data.plugins import load_object

Span = tuple[int, int, str]  # (start, end, type), character offsets into the original text


@dataclass(frozen=True)
class DeidResult:
    """A scrubbed text and what was found: (start, end, type) in offsets of the original text."""

    text: str
    spans: list[Span] = field(default_factory=list)


@runtime_checkable
class Deidentifier(Protocol):
    def deidentify_batch(self, texts: Sequence[str]) -> list[DeidResult]: ...


class RuleBasedDeidentifier:
    """The Rust rule engine: titles and labels for names, formats for numbers, dates and ages.

    ``num_threads``: threads for a batch (default: all cores).
    """

    name = "rules"

    def __init__(self, num_threads: int | None = None) -> None:
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be at least 1, got {num_threads}")
        self.num_threads = num_threads

    @staticmethod
    def types() -> list[str]:
        """The placeholder types it can emit."""
        return list(_core.deid_types())

    def deidentify(self, text: str) -> DeidResult:
        scrubbed, spans = _core.deidentify(text)
        return DeidResult(scrubbed, list(spans))

    def deidentify_batch(self, texts: Sequence[str]) -> list[DeidResult]:
        return [
            DeidResult(scrubbed, list(spans))
            for scrubbed, spans in _core.deidentify_batch(list(texts), self.num_threads)
        ]


def load_deidentifier(spec: str) -> Deidentifier:
    """``"rules"``: the built-in rule engine. ``"package.module:attr"``: imports ``attr``; an
    object with ``deidentify_batch`` is used as it is, a class or factory is called with no
    arguments first."""
    if spec == "rules":
        return RuleBasedDeidentifier()
    return load_object(spec, "de-identifier spec", method="deidentify_batch",
                       expected="'rules' or 'package.module:attr' (an object or factory with a deidentify_batch(texts) method)")


# --- scoring against planted PHI ---------------------------------------------------------------

def _covered(start: int, text: str, intervals: list[tuple[int, int]]) -> bool:
    """Every non-whitespace character of `text` (at offset `start`) lies in some interval."""
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        pos = start + i
        if not any(s <= pos < e for s, e in intervals):
            return False
    return True


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def score_against_ground_truth(
    predicted_spans_by_id: Mapping[str, Sequence[Span]],
    truth_rows: Iterable[Mapping],
    *,
    texts_by_id: Mapping[str, str] | None = None,
    max_examples: int = 20,
) -> dict:
    """Span recall and precision of predictions against planted PHI.

    * ``predicted_spans_by_id``: document id -> detected (start, end, type), for every document
      scanned; documents without a truth row (text with no planted PHI) count against precision.
    * ``truth_rows``: ``{id, spans: [{start, end, type, text}]}`` (ground_truth/phi_spans.jsonl).
    * A planted span is found when the detected spans together cover all of its non-whitespace
      characters; a detected span is correct when it overlaps some planted span.

    Returns ``{"overall": {...}, "by_type": {TYPE: {...}}, "missed": [...], "false_positives": [...]}``:
    recall per planted type and precision per detected type, each entry with planted, found,
    recall, detected, correct, precision. Examples of misses and false positives (up to
    ``max_examples``, with text when ``texts_by_id`` is given) help tuning.
    """
    truth = {row["id"]: list(row["spans"]) for row in truth_rows}
    by_type: dict[str, dict[str, int]] = {}

    def entry(kind: str) -> dict[str, int]:
        return by_type.setdefault(kind, {"planted": 0, "found": 0, "detected": 0, "correct": 0})

    missed: list[dict] = []
    false_positives: list[dict] = []
    for doc_id in sorted(set(truth) | set(predicted_spans_by_id)):
        planted = truth.get(doc_id, [])
        predicted = [(int(s), int(e), str(k)) for s, e, k in predicted_spans_by_id.get(doc_id, [])]
        intervals = [(s, e) for s, e, _ in predicted]
        for span in planted:
            counts = entry(span["type"])
            counts["planted"] += 1
            if _covered(span["start"], span["text"], intervals):
                counts["found"] += 1
            elif len(missed) < max_examples:
                missed.append({"id": doc_id, "type": span["type"], "text": span["text"], "start": span["start"]})
        for start, end, kind in predicted:
            counts = entry(kind)
            counts["detected"] += 1
            if any(start < p["end"] and p["start"] < end for p in planted):
                counts["correct"] += 1
            elif len(false_positives) < max_examples:
                example = {"id": doc_id, "type": kind, "start": start, "end": end}
                if texts_by_id is not None and doc_id in texts_by_id:
                    text = texts_by_id[doc_id]
                    example["text"] = text[start:end]
                    example["context"] = text[max(0, start - 30):end + 30]
                false_positives.append(example)

    def finish(counts: dict[str, int]) -> dict:
        return {**counts, "recall": _ratio(counts["found"], counts["planted"]),
                "precision": _ratio(counts["correct"], counts["detected"])}

    total = {key: sum(c[key] for c in by_type.values()) for key in ("planted", "found", "detected", "correct")}
    return {
        "overall": finish(total),
        "by_type": {kind: finish(counts) for kind, counts in sorted(by_type.items())},
        "missed": missed,
        "false_positives": false_positives,
    }


def format_score_table(score: dict) -> str:
    """The per-type table of `score_against_ground_truth`, one row per type plus the total."""
    header = f"{'type':<8} {'planted':>8} {'found':>8} {'recall':>8} {'detected':>9} {'correct':>8} {'precision':>9}"
    lines = [header, "-" * len(header)]
    rows = list(score["by_type"].items()) + [("overall", score["overall"])]
    for kind, c in rows:
        recall = f"{c['recall']:.4f}" if c["planted"] else "-"
        precision = f"{c['precision']:.4f}" if c["detected"] else "-"
        lines.append(f"{kind:<8} {c['planted']:>8,} {c['found']:>8,} {recall:>8} {c['detected']:>9,} "
                     f"{c['correct']:>8,} {precision:>9}")
    return "\n".join(lines)
