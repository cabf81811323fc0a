"""Pick the MTSamples documents for the third hand-annotated real part ("real3", DEV).

Rule (deterministic, reads only the corpus and this directory's modules): the candidates and
exclusions of select_real_notes.py (MTSamples documents of clinical_notes.jsonl and radiology.jsonl,
one per duplicate family by lowest id hash, under MAX_CHARS characters, holding likely PHI, families
used as planting ground by the planted set left out), and, in addition, every family that holds a
document of the earlier batches of real_annotations.jsonl (batch 1, the first DEV notes, and batch 2,
TEST) left out. Kept families are ordered by
sha256("deid_eval-real3:" + group); in that order the first N_STRONG documents with a title and a
non-placeholder capitalised name or a capitalised facility word are taken, and the first N_OTHER of
the rest: 60 in all.

The planting ground is computed as make_eval.py computes it now (skipping the families of every
annotated document), so adding these notes to real_annotations.jsonl leaves the planted set as it is.

Prints the chosen ids, one per line, as "file<TAB>id<TAB>group<TAB>stratum".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))   # sibling modules, as the other benchmarks/ scripts do

import make_eval
import passages as P
import real_notes
import select_real_notes as S

N_STRONG, N_OTHER = 45, 15


def select(data_dir: Path) -> list[tuple[str, str, str, str]]:
    # The notes annotated before this part (batches 1 and 2: the first DEV notes and TEST).
    annotated_ids = {a["id"] for a in real_notes.load_annotations() if a.get("batch", 1) < 3}
    docs = []
    for file in S.FILES:
        with open(data_dir / file, encoding="utf-8") as handle:
            docs += [(json.loads(line), file) for line in handle]
    excluded = {P.group_of(doc) for doc, _ in docs if doc["id"] in annotated_ids}
    excluded |= S.planting_groups(data_dir, annotated_ids)
    chosen: dict[str, tuple[int, dict, str]] = {}
    for doc, file in docs:
        group = P.group_of(doc)
        if doc["source"] != "mtsamples" or group in excluded:
            continue
        key = P.id_hash(doc["id"])
        if group not in chosen or key < chosen[group][0]:
            chosen[group] = (key, doc, file)

    def order(group: str) -> str:
        return hashlib.sha256(f"deid_eval-real3:{group}".encode()).hexdigest()

    picked: list[tuple[str, str, str, str]] = []
    n_strong = n_other = 0
    for group in sorted(chosen, key=lambda g: (order(g), g)):
        _, doc, file = chosen[group]
        text = doc["text"]
        if len(text) >= S.MAX_CHARS or not S.likely_phi(text):
            continue
        if S.strong(text):
            if n_strong < N_STRONG:
                n_strong += 1
                picked.append((file, doc["id"], group, "strong"))
        elif n_other < N_OTHER:
            n_other += 1
            picked.append((file, doc["id"], group, "other"))
        if n_strong == N_STRONG and n_other == N_OTHER:
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
