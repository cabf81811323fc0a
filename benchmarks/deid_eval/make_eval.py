"""Build the de-identification evaluation set: PHI planted into real notes, plus hand-annotated
real notes, split by document family into DEV (tune on it) and TEST (never tune on it).

    .venv/bin/python benchmarks/deid_eval/make_eval.py --output out/deid_eval

Reads /work/shared/data (or --data / MEDTITAN_SHARED_DATA) at run time and writes
dev.jsonl, test.jsonl (planted), real_dev.jsonl, real_test.jsonl (hand-annotated) and stats.json.
Deterministic: the same data and seed give the same bytes (every choice comes from a
random.Random seeded with a string; nothing depends on hash order or the clock).
See README.md beside this file for the forms, the lexicon slice and the annotation guidelines.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # sibling modules, as the other benchmarks/ scripts do

import lexicon
import passages as P
import plant
import real_notes
import templates

SEED = 20261128
DEV_SHARE = 40  # percent of document families in DEV
DEFAULT_DATA = Path(os.environ.get("MEDTITAN_SHARED_DATA", HERE.parents[2] / "shared" / "data"))
TYPES = (
    "PATIENT",
    "DOCTOR",
    "USERNAME",
    "HOSPITAL",
    "ORGANIZATION",
    "STREET",
    "CITY",
    "STATE",
    "COUNTRY",
    "ZIP",
    "DATE",
    "AGE",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IPADDR",
    "SSN",
    "MEDICALRECORD",
    "HEALTHPLAN",
    "ACCOUNT",
    "IDNUM",
    "DEVICE",
)


def split_of(group: str) -> str:
    """DEV or TEST for a whole duplicate family, so no text is on both sides."""
    digest = int(hashlib.sha256(f"deid_eval-split:{group}".encode()).hexdigest()[:8], 16)
    return "dev" if digest % 100 < DEV_SHARE else "test"


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def build(data_dir: Path, output: Path, seed: int = SEED, limit: int | None = None, xray_docs: int = 500) -> dict:
    annotations = real_notes.load_annotations()
    lower, terms = P.corpus_vocabulary(data_dir)
    lex = lexicon.build_lexicon(seed, lower | terms)
    places = {name.lower() for name, *_ in lex.states} | {c.lower() for c in lex.countries}
    screen = P.Screen(lower, terms, lexicon.all_faker_names(), places)
    chosen = P.select_passages(data_dir, screen, {a["id"] for a in annotations})
    notes = [p for p in chosen if p.kind == "note"]
    xrays = [p for p in chosen if p.kind == "xray"][:xray_docs]
    chosen = sorted(notes + xrays, key=lambda p: (P.id_hash(p.group), p.group))
    if limit is not None:
        chosen = chosen[:limit]

    records: dict[str, list[dict]] = {"dev": [], "test": []}
    for passage in chosen:
        rng = random.Random(f"deid_eval:{seed}:{passage.doc_id}")
        doc = plant.plant(passage, lex, rng)
        split = split_of(passage.group)
        records[split].append(
            {
                "id": f"deid_eval:{passage.doc_id}",
                "source_file": passage.file,
                "source_id": passage.doc_id,
                "group": passage.group,
                "passage": [passage.start, passage.end],
                "split": split,
                "text": doc.text,
                "spans": doc.spans,
                "roles": doc.roles,
                "forms": doc.forms,
                "negatives": doc.negatives,
                "templates": doc.templates,
            }
        )
    real = real_notes.materialise(data_dir, annotations)
    real_records = {s: sorted((r for r in real if r["split"] == s), key=lambda r: r["id"]) for s in ("dev", "test")}

    output.mkdir(parents=True, exist_ok=True)
    for split in ("dev", "test"):
        records[split].sort(key=lambda r: r["id"])
        write_jsonl(output / f"{split}.jsonl", records[split])
        write_jsonl(output / f"real_{split}.jsonl", real_records[split])
    stats = summarise(records, real_records, lex)
    with open(output / "stats.json", "w", encoding="utf-8") as handle:
        json.dump(stats, handle, indent=1, sort_keys=True)
        handle.write("\n")
    return stats


def summarise(records: dict, real_records: dict, lex) -> dict:
    invented = {w.lower() for w in (*lex.inv_last, *lex.inv_female, *lex.inv_male)}
    stats: dict = {"templates": templates.count_templates()}
    stats["templates_total"] = sum(stats["templates"].values())
    for name, parts in (("planted", records), ("real", real_records)):
        for split, docs in parts.items():
            counts = collections.Counter(label for doc in docs for _, _, label in doc["spans"])
            entry = {
                "documents": len(docs),
                "spans": sum(counts.values()),
                "per_type": {t: counts.get(t, 0) for t in TYPES},
            }
            if name == "planted":
                entry["negatives"] = sum(len(doc["negatives"]) for doc in docs)
                names = [
                    doc["text"][s:e] for doc in docs for s, e, label in doc["spans"] if label in ("PATIENT", "DOCTOR")
                ]
                made_up = sum(any(tok.lower().strip(".,'") in invented for tok in n.split()) for n in names)
                entry["name_mentions"] = len(names)
                entry["invented_name_share"] = round(made_up / max(1, len(names)), 3)
            stats[f"{name}_{split}"] = entry
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=Path("out/deid_eval"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared corpus folder")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--limit", type=int, help="only the first N base documents (tests)")
    parser.add_argument("--xray-docs", type=int, default=500, help="IU X-ray reports to use (the rest are notes)")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"error: the shared corpus is not at {args.data} (set --data or MEDTITAN_SHARED_DATA)", file=sys.stderr)
        return 2
    stats = build(args.data, args.output, args.seed, args.limit, args.xray_docs)
    print(f"templates: {stats['templates_total']} ({stats['templates']})")
    for key in ("planted_dev", "planted_test", "real_dev", "real_test"):
        entry = stats[key]
        extra = f", invented-name share {entry['invented_name_share']}" if "invented_name_share" in entry else ""
        print(f"{key}: {entry['documents']} docs, {entry['spans']} spans{extra}")
        print("   " + ", ".join(f"{t} {n}" for t, n in entry["per_type"].items() if n))
    print(f"wrote {args.output}/{{dev,test,real_dev,real_test}}.jsonl and stats.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
