"""Pick the MTSamples documents for the second hand-annotated real TEST part ("real2").

Rule (deterministic, reads only the corpus and this directory's modules):

1. Candidates are the MTSamples documents (``source == "mtsamples"``) of clinical_notes.jsonl and
   radiology.jsonl, grouped by duplicate family (``meta.group``, or the id when there is none).
2. Families are left out when they hold any batch-1 document of real_annotations.jsonl (the 76 notes
   annotated before, looked up by id in the corpus), or when the planted set uses them as planting
   ground (the families of every passage that ``passages.select_passages`` returns, built exactly as
   make_eval.py builds its screen), so the planted set stays as it is.
3. One document per family: the member whose id hashes lowest (``passages.id_hash``), as
   passages.py does. Documents of MAX_CHARS characters or more are skipped (the family is dropped).
4. A document is kept only if it holds likely real PHI: a title (Dr, Mr, Mrs, Ms) followed by a
   capitalised word that is not a placeholder (X, XYZ, ABC...), a capitalised facility word as a
   whole word (Hospital, Clinic, Medical Center, Nursing Home, Rehab; not "the hospital",
   "Hospitalizations"), a numeric date, a month name with a day or a year, a year
   1900-2030, a phone-like number, or an age of 90 and over.
5. Kept families are ordered by sha256("deid_eval-real2:" + group); in that order the first
   N_STRONG documents with a title+name or a facility word are taken, and the first N_OTHER of the
   rest (documents whose only signals are dates, years, phones or ages): 50 in all.

Prints the chosen ids, one per line, as "file<TAB>id<TAB>group<TAB>stratum".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling modules, as the other benchmarks/ scripts do

import lexicon
import make_eval
import passages as P
import real_notes

SEED = 20261128  # make_eval.py's seed (the lexicon only feeds the screen's place words)
FILES = ("clinical_notes.jsonl", "radiology.jsonl")
MAX_CHARS = 12_000
N_STRONG, N_OTHER = 30, 20

PLACEHOLDER = re.compile(r"^(?:[A-Z]|X+|XYZ|ABCD?E?)$", re.IGNORECASE)
TITLE_NAME = re.compile(r"\b(?:Dr|Mr|Mrs|Ms)\b\.?\s+([A-Z][A-Za-z'-]*)")
FACILITY = re.compile(
    r"\b(?:Hospital|Clinic|Medical Center|Nursing Home|Rehab)\b"
)  # capitalised: a name, not "the hospital"
MONTHS = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
)
OTHER = re.compile(
    r"\b\d{1,2}[/-]\d{1,2}[/-]\d{2,4}\b"  # numeric date
    r"|\b\d{1,2}/\d{4}\b"  # month/year
    rf"|\b{MONTHS}\.?,? (?:\d{{1,2}}(?:st|nd|rd|th)?\b|\d{{4}}\b)"  # month + day or year
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)? {MONTHS}\b"  # day + month
    r"|\b(?:19\d\d|20[0-2]\d|2030)\b"  # year
    r"|\(?\b\d{3}\)?[-. ]\d{3}[-.]\d{4}\b|\b\d{3}-\d{4}\b"  # phone-like
    r"|\b(?:9\d|1[0-1]\d)[- ](?:year|yo\b|y/o|y\.o\.)"
)  # age 90+


def title_name(text: str) -> bool:
    return any(not PLACEHOLDER.match(re.sub(r"'s?$", "", m.group(1))) for m in TITLE_NAME.finditer(text))


def strong(text: str) -> bool:
    return title_name(text) or bool(FACILITY.search(text))


def likely_phi(text: str) -> bool:
    return strong(text) or bool(OTHER.search(text))


def planting_groups(data_dir: Path, annotated_ids: set[str]) -> set[str]:
    lower, terms = P.corpus_vocabulary(data_dir)
    lex = lexicon.build_lexicon(SEED, lower | terms)
    places = {name.lower() for name, *_ in lex.states} | {c.lower() for c in lex.countries}
    screen = P.Screen(lower, terms, lexicon.all_faker_names(), places)
    return {p.group for p in P.select_passages(data_dir, screen, annotated_ids)}


def select(
    data_dir: Path, batch: int = 2, salt: str = "deid_eval-real2", n_strong: int = N_STRONG, n_other: int = N_OTHER
) -> list[tuple[str, str, str, str]]:
    """The documents of annotation batch `batch`: families of earlier batches and planting ground
    left out, one document per family, ordered by sha256(salt + ":" + group), the first `n_strong`
    strong ones and the first `n_other` others (select_real_dev_notes.py picks batch 3 this way)."""
    annotated_ids = {a["id"] for a in real_notes.load_annotations() if a.get("batch", 1) < batch}
    docs = []
    for file in FILES:
        with open(data_dir / file, encoding="utf-8") as handle:
            docs += [(json.loads(line), file) for line in handle]
    excluded = {P.group_of(doc) for doc, _ in docs if doc["id"] in annotated_ids}
    excluded |= planting_groups(data_dir, annotated_ids)
    chosen: dict[str, tuple[int, dict, str]] = {}
    for doc, file in docs:
        group = P.group_of(doc)
        if doc["source"] != "mtsamples" or group in excluded:
            continue
        key = P.id_hash(doc["id"])
        if group not in chosen or key < chosen[group][0]:
            chosen[group] = (key, doc, file)

    def order(group: str) -> str:
        return hashlib.sha256(f"{salt}:{group}".encode()).hexdigest()

    picked: list[tuple[str, str, str, str]] = []
    taken = {"strong": 0, "other": 0}
    wanted = {"strong": n_strong, "other": n_other}
    for group in sorted(chosen, key=lambda g: (order(g), g)):
        _, doc, file = chosen[group]
        text = doc["text"]
        if len(text) >= MAX_CHARS or not likely_phi(text):
            continue
        stratum = "strong" if strong(text) else "other"
        if taken[stratum] < wanted[stratum]:
            taken[stratum] += 1
            picked.append((file, doc["id"], group, stratum))
        if taken == wanted:
            break
    return picked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=make_eval.DEFAULT_DATA)
    args = parser.parse_args()
    for row in select(args.data):
        print("\t".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
