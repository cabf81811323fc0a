"""Corpus statistics: what is in a set of JSONL files, per doc_type, before building from it.

Counts documents, words, bytes, exact duplicates (same text up to case and spacing) and,
optionally, near-duplicate pairs (exact word 5-gram Jaccard >= threshold). Hashing and
Jaccard run in the Rust core on all cores; the near-duplicate scan is exact and quadratic in
the worst case, meant for corpora up to some tens of thousands of documents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from medtitan import _core
from medtitan.data.documents import ReadReport, expand, read_documents
from medtitan.data.jsonl import Quarantined


@dataclass
class DocTypeStats:
    documents: int = 0
    words: int = 0
    bytes: int = 0
    exact_duplicates: int = 0  # documents whose normalized text appeared earlier in the input
    near_duplicate_pairs: int = 0  # pairs whose first document is of this doc_type

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class CorpusStats:
    files: list[str]
    by_doc_type: dict[str, DocTypeStats]
    quarantined: list[Quarantined]
    blank_lines: int
    near_duplicates_checked: bool
    near_duplicate_threshold: float
    near_duplicate_pairs: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return sum(s.documents for s in self.by_doc_type.values())

    def to_json(self) -> dict:
        return {
            "files": self.files,
            "documents": self.documents,
            "quarantined": len(self.quarantined),
            "quarantine_reasons": dict(Counter(q.reason.split(":")[0] for q in self.quarantined)),
            "blank_lines": self.blank_lines,
            "by_doc_type": {name: s.to_json() for name, s in sorted(self.by_doc_type.items())},
            "near_duplicates_checked": self.near_duplicates_checked,
            "near_duplicate_threshold": self.near_duplicate_threshold,
            "near_duplicate_pairs": [list(p) for p in self.near_duplicate_pairs],
            "quarantined_records": [q.to_json() for q in self.quarantined],
        }


def corpus_stats(
    inputs: list[str | Path],
    text_field: str = "text",
    near_duplicates: bool = False,
    threshold: float = 0.8,
    ngram: int = 5,
    progress: bool = True,
) -> CorpusStats:
    files = expand(inputs)
    report = ReadReport()
    texts: list[str] = []
    doc_types: list[str] = []
    ids: list[str] = []
    for document in tqdm(
        read_documents(files, text_field=text_field, report=report),
        desc="reading",
        unit=" docs",
        disable=not progress or None,
    ):
        texts.append(document.text)
        doc_types.append(document.doc_type)
        ids.append(document.id)

    by_type: dict[str, DocTypeStats] = {}
    for text, doc_type in zip(texts, doc_types):
        stats = by_type.setdefault(doc_type, DocTypeStats())
        stats.documents += 1
        stats.words += len(text.split())
        stats.bytes += len(text.encode("utf-8"))

    seen: set[int] = set()
    for digest, doc_type in zip(_core.normalized_hashes(texts), doc_types):
        if digest in seen:
            by_type[doc_type].exact_duplicates += 1
        seen.add(digest)

    pairs: list[tuple[str, str, float]] = []
    if near_duplicates:
        for first, second, similarity in _core.near_duplicate_pairs(texts, ngram, threshold):
            by_type[doc_types[first]].near_duplicate_pairs += 1
            pairs.append((ids[first], ids[second], round(similarity, 6)))

    return CorpusStats(report.files, by_type, report.quarantined, report.blank_lines, near_duplicates, threshold, pairs)


def format_table(stats: CorpusStats) -> str:
    """The per-doc_type summary table printed by `medtitan-data stats`."""
    near = stats.near_duplicates_checked
    header = ["doc_type", "docs", "words", "MB", "words/doc", "exact dups"] + (
        [f"near-dup pairs (J>={stats.near_duplicate_threshold:g})"] if near else []
    )
    rows = []
    total = DocTypeStats()
    for name, s in sorted(stats.by_doc_type.items()):
        rows.append(_row(name, s, near))
        for key in total.__dict__:
            setattr(total, key, getattr(total, key) + getattr(s, key))
    rows.append(_row("total", total, near))
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).rjust(w) if i else str(cell).ljust(w) for i, (cell, w) in enumerate(zip(r, widths)))
        for r in [header] + rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, lines[1])
    lines.append(
        f"quarantined records: {len(stats.quarantined)}; blank lines: {stats.blank_lines}; files: {len(stats.files)}"
    )
    for item in stats.quarantined[:10]:
        lines.append(f"  {item.path}:{item.line}: {item.reason}")
    if len(stats.quarantined) > 10:
        lines.append(f"  ... and {len(stats.quarantined) - 10} more (see --json)")
    return "\n".join(lines)


def _row(name: str, s: DocTypeStats, near: bool) -> list:
    per_doc = s.words / s.documents if s.documents else 0.0
    row = [
        name,
        f"{s.documents:,}",
        f"{s.words:,}",
        f"{s.bytes / 1e6:.2f}",
        f"{per_doc:.0f}",
        f"{s.exact_duplicates:,}",
    ]
    return row + ([f"{s.near_duplicate_pairs:,}"] if near else [])
