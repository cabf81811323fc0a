"""Pick the MTSamples documents for the later hand-annotated real DEV parts ("real3", "real4").

Rule (deterministic, reads only the corpus and this directory's modules): the candidates and
exclusions of select_real_notes.py (MTSamples documents of clinical_notes.jsonl and radiology.jsonl,
one per duplicate family by lowest id hash, under MAX_CHARS characters, holding likely PHI, families
used as planting ground by the planted set left out), and, in addition, every family that holds a
document of the earlier batches of real_annotations.jsonl (batch 1, the first DEV notes, and batch 2,
TEST) left out. Kept families are ordered by
sha256("deid_eval-real3:" + group); in that order the first 45 documents with a title and a
non-placeholder capitalised name or a capitalised facility word are taken, and the first 15 of the
rest: 60 in all (batch 3). Batch 4 (``--batch 4``) is picked the same way with the salt
"deid_eval-real4", leaving out batches 1-3 as well: it asks for 45 and 15 and gets 19 and 15, 34 in
all, because no other eligible family with a title and a name or a facility word is left.

The planting ground is computed as make_eval.py computes it now (skipping the families of every
annotated document), so adding these notes to real_annotations.jsonl leaves the planted set as it is.

Prints the chosen ids, one per line, as "file<TAB>id<TAB>group<TAB>stratum".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling modules, as the other benchmarks/ scripts do

import make_eval
import select_real_notes

# batch: (hash salt, strong documents asked for, other documents asked for)
BATCHES = {3: ("deid_eval-real3", 45, 15), 4: ("deid_eval-real4", 45, 15)}


def select(data_dir: Path, batch: int = 3) -> list[tuple[str, str, str, str]]:
    salt, n_strong, n_other = BATCHES[batch]
    return select_real_notes.select(data_dir, batch=batch, salt=salt, n_strong=n_strong, n_other=n_other)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=make_eval.DEFAULT_DATA)
    parser.add_argument("--batch", type=int, choices=sorted(BATCHES), default=3)
    args = parser.parse_args()
    for row in select(args.data, args.batch):
        print("\t".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
