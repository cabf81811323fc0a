"""Real base text for the planted set: PHI-free passages of the shared clinical corpus.

The planted gold is only complete if the real text around it holds no PHI of its own, and MTSamples
does hold some (real surnames of doctors, hospitals, dates, towns). So a passage is kept only when a
deliberately over-cautious screen finds nothing that could be PHI; everything it doubts is dropped,
never guessed at:

* any title (Dr, Mr, Mrs, Ms), numeric date, four-digit year, month-and-day, phone-like number,
  "#" + digits, e-mail, facility or street word, placeholder (ABC, XYZ), or age of 90 and over;
* any word that never occurs in lower case anywhere in the prose of the corpus (and is not a drug
  or abbreviation), i.e. every capitalised word that is likely a proper noun;
* any capitalised word mid-sentence that is a faker person name (any locale), or a US state,
  country or place word ("Valley", "Beach", "St") anywhere.

MTSamples notes are cut into their section / sentence units and the first run of clean units of at
least MIN_CHARS is the passage (cut at MAX_CHARS); an IU X-ray report is used whole or not at all.
One document per duplicate family (``meta.group``), the one whose id hashes lowest.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

MIN_CHARS, MAX_CHARS = 600, 2400
PROSE_FILES = (
    "clinical_notes",
    "radiology",
    "pubmed_abstracts",
    "general_english",
    "medqa_sample",
    "medmcqa_sample",
    "pubmedqa_sample",
)
TERM_FILES = ("drug_lexicon", "medical_abbreviations")

SUSPICIOUS = re.compile(
    r"\b(?:Dr|Mr|Mrs|Ms|Miss|Prof)\b\.?|\d{1,2}/\d{1,2}/\d{2,4}|\b(?:19|20)\d\d\b"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.? \d"
    r"|\b\d{1,2}(?:st|nd|rd|th)? (?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"|Hospital|Clinic|Medical Center|University|Institute|County|Street|Avenue|Health Services"
    r"|@|\b\d{3}[-.]\d{4}\b|#\s*\d|\bXYZ\b|\bABCD?\b|\b(?:9\d|1[0-2]\d)[- ](?:year|yo|y/o)",
    re.IGNORECASE,
)
PLACE_WORDS = {
    "st",
    "saint",
    "mount",
    "mt",
    "court",
    "beach",
    "services",
    "center",
    "centre",
    "valley",
    "lake",
    "park",
    "village",
    "manor",
    "asia",
    "europe",
    "africa",
    "garden",
    "gardens",
    "city",
    "town",
    "island",
    "springs",
    "falls",
    "heights",
    "hills",
    "point",
    "bay",
    "harbor",
    "port",
    "fort",
    "north",
    "south",
    "east",
    "west",
    "memorial",
    "general",
    "regional",
    "mercy",
    "united",
    "states",
    "america",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
UNIT_END = re.compile(r"(?<=[.:]),|(?<=[.?!])  ?(?=[A-Z])|\n")


@dataclass(frozen=True)
class Passage:
    doc_id: str
    file: str
    group: str
    start: int  # offsets of the passage in the source document's text
    end: int
    text: str
    kind: str  # "note" (MTSamples) or "xray" (IU chest X-ray report)


def corpus_vocabulary(data_dir: Path) -> tuple[set[str], set[str]]:
    """(words seen in lower case in running text, words of the drug and abbreviation lists)."""
    lower: set[str] = set()
    for name in PROSE_FILES:
        with open(data_dir / f"{name}.jsonl", encoding="utf-8") as handle:
            for line in handle:
                lower.update(re.findall(r"\b[a-z][a-z'-]+\b", json.loads(line)["text"]))
    terms: set[str] = set()
    for name in TERM_FILES:
        with open(data_dir / f"{name}.jsonl", encoding="utf-8") as handle:
            for line in handle:
                terms.update(re.findall(r"[a-z][a-z0-9-]+", json.loads(line)["text"].lower()))
    return lower, terms


class Screen:
    """The over-cautious PHI screen described in the module docstring."""

    def __init__(self, lower: set[str], terms: set[str], person_names: set[str], places: set[str]):
        self.known = lower | terms
        self.person_names = person_names
        self.places = places | PLACE_WORDS

    def clean(self, text: str) -> bool:
        if SUSPICIOUS.search(text):
            return False
        for match in WORD.finditer(text):
            word = match.group(0)
            key = word.lower().strip("'-")
            if word[0].isupper() and key in self.places:
                return False
            if word.isupper() and len(word) <= 5:
                continue  # abbreviations (CHF, NPO) and the IU masks (XXXX)
            if key not in self.known:
                return False
            if word[0].isupper() and key in self.person_names:
                before = text[max(0, match.start() - 3) : match.start()]
                if word.isupper() or not re.search(r"(?:[.:,;?!]\s*|\n|^)$", before):
                    return False
        return True


def _clean_run(text: str, screen: Screen) -> tuple[int, int] | None:
    cuts = [0, *(m.end() for m in UNIT_END.finditer(text)), len(text)]
    units = [(a, b) for a, b in itertools.pairwise(cuts) if b > a]
    run: list[tuple[int, int]] = []
    for unit in [*units, None]:
        clean = unit is not None and screen.clean(text[unit[0] : unit[1]])
        if clean and (not run or unit[1] - run[0][0] <= MAX_CHARS):
            run.append(unit)
            continue
        if run and run[-1][1] - run[0][0] >= MIN_CHARS:
            return run[0][0], run[-1][1]
        run = [unit] if clean else []
    return None


def id_hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:16], 16)


def group_of(doc: dict) -> str:
    return (doc.get("meta") or {}).get("group") or doc["id"]


def select_passages(data_dir: Path, screen: Screen, skip_ids: set[str]) -> list[Passage]:
    """One passage per duplicate family, in a fixed order (by group hash). Families holding a
    document of ``skip_ids`` (the hand-annotated real notes) are left out."""
    docs = []
    for file in ("clinical_notes.jsonl", "radiology.jsonl"):
        with open(data_dir / file, encoding="utf-8") as handle:
            docs += [(json.loads(line), file) for line in handle]
    skip_groups = {group_of(doc) for doc, _ in docs if doc["id"] in skip_ids}
    chosen: dict[str, tuple[int, dict, str]] = {}
    for doc, file in docs:
        group = group_of(doc)
        if group not in skip_groups:
            key = id_hash(doc["id"])
            if group not in chosen or key < chosen[group][0]:
                chosen[group] = (key, doc, file)
    passages = []
    for group in sorted(chosen, key=lambda g: (id_hash(g), g)):
        _, doc, file = chosen[group]
        text = doc["text"]
        if doc["source"] == "iu_xray_openi":
            if len(text) >= 150 and screen.clean(text):
                passages.append(Passage(doc["id"], file, group, 0, len(text), text, "xray"))
            continue
        span = _clean_run(text, screen)
        if span:
            start, end = span
            # Trim the separators a cut leaves at either end (",", spaces).
            while start < end and text[start] in " ,\n":
                start += 1
            while end > start and text[end - 1] in " ,\n":
                end -= 1
            passages.append(Passage(doc["id"], file, group, start, end, text[start:end], "note"))
    return passages
