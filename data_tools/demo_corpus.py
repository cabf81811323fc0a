"""The embedded default corpus: synthetic clinical documents with planted PHI, duplicates and
evaluation leaks, each with its ground truth, plus real ICD-10-CM text from a pinned package.

    python -m data_tools.demo_corpus --output out/demo/corpus [--seed 1234] [--scale 1.0]

Output (JSONL in the schema of ../shared/data/README.md: id, source, doc_type, text, meta):

    DIR/<doc_type>.jsonl                   clinical_notes, radiology, discharge_summaries,
                                           pharmacology, icd10_descriptions
    DIR/evals/demo_mcq.jsonl               4-option questions (decontamination targets)
    DIR/ground_truth/phi_spans.jsonl       every synthetic document's PHI spans
                                           {start, end, type, text}, offsets in characters
    DIR/ground_truth/duplicates.jsonl      planted families: exact (same text up to case and
                                           spacing) and near (word 5-gram Jaccard >= 0.8)
    DIR/ground_truth/contamination.jsonl   documents an evaluation question was planted into
    DIR/manifest.json                      seed, scale, counts and sha256 of every file

The output is a pure function of (seed, scale): each doc_type draws from its own random stream,
seeded by a string (hashed with SHA-512 by `random`, so PYTHONHASHSEED cannot change it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from data_tools import phi
from data_tools.documents import BUILDERS, evaluation_question
from data_tools.icd10 import SOURCE_TAG as ICD_SOURCE, icd10_documents
from data_tools.pieces import Piece, render

GENERATOR_VERSION = 1
SOURCE = "medtitan_synth"
DOC_COUNTS = {"clinical_notes": 600, "radiology": 400, "discharge_summaries": 250, "pharmacology": 150}
ID_PREFIX = {"clinical_notes": "note", "radiology": "rad", "discharge_summaries": "dc", "pharmacology": "pharm"}
ICD_DOCS = 300
EVAL_ITEMS = 240
EXACT_FAMILY_RATE = 0.04  # share of originals that get exact copies
NEAR_FAMILY_RATE = 0.05  # share of originals that get near-duplicate variants
CONTAMINATED_RATE = 0.06  # share of evaluation items planted into training documents
# Variants are kept only this far above the dedup threshold (0.8), so an honest near-duplicate
# detector must find them but need not be lucky.
NEAR_DUPLICATE_MIN_JACCARD = 0.84
SHINGLE_NGRAM = 5


@dataclass
class Document:
    pieces: list[Piece]
    doc_type: str
    meta: dict
    id: str = ""
    source: str = SOURCE


@dataclass
class Family:
    kind: str  # "exact" or "near"
    original: Document
    copies: list[Document] = field(default_factory=list)
    jaccard: list[float] = field(default_factory=list)


@dataclass
class Corpus:
    seed: int
    scale: float
    documents: dict[str, list[Document]]  # doc_type -> documents in file order
    families: list[Family]
    contamination: list[tuple[Document, str]]  # (document, evaluation id)
    evaluation: list[dict]


# --- planting -------------------------------------------------------------------------------


def exact_copy(pieces: list[Piece], rng: random.Random) -> list[Piece]:
    """The same document again, sometimes re-spaced or re-cased as a re-export would be:
    identical after normalization (lowercase, whitespace collapsed), not byte-identical."""
    style = rng.randrange(3)
    if style == 0:
        return list(pieces)
    if style == 1:
        return [replace(p, text=p.text.replace(". ", ".  ")) if p.phi is None else p for p in pieces] + [Piece("\n")]
    return [replace(p, text=p.text.upper()) for p in pieces]


def near_duplicate(pieces: list[Piece], rng: random.Random) -> list[Piece]:
    """A copy-forward version of a document: new dates, a few changed measurements, and
    sometimes a dropped sentence or an added addendum."""
    variant = [replace(p, text=phi.format_date(rng, phi.random_day(rng))) if p.phi == "DATE" else p for p in pieces]
    values = [i for i, p in enumerate(variant) if p.kind == "value"]
    for index in rng.sample(values, k=min(len(values), rng.randint(1, 3))):
        new_text = re.sub(r"\d", lambda _: str(rng.randint(0, 9)), variant[index].text)
        variant[index] = replace(variant[index], text=new_text)
    sentences = [i for i, p in enumerate(variant) if p.kind == "sentence"]
    if sentences and rng.random() < 0.5:
        del variant[rng.choice(sentences)]
    if rng.random() < 0.5:
        variant.append(
            Piece(
                rng.choice(
                    (
                        "\nAddendum: results reviewed with the patient by telephone; plan unchanged.\n",
                        "\nAddendum: outside records received and reviewed.\n",
                        "\nLate entry: medication reconciliation completed.\n",
                    )
                )
            )
        )
    return variant


def _text(pieces: list[Piece]) -> str:
    return render(pieces)[0]


def _plant_duplicates(originals: list[Document], rng: random.Random) -> tuple[list[Family], set[int]]:
    from medtitan import _core  # the exact Jaccard of the Rust core keeps variants above threshold

    order = list(range(len(originals)))
    rng.shuffle(order)
    exact_count = round(len(originals) * EXACT_FAMILY_RATE)
    near_count = round(len(originals) * NEAR_FAMILY_RATE)
    families: list[Family] = []
    for index in sorted(order[:exact_count]):
        family = Family("exact", originals[index])
        for _ in range(rng.choice((1, 1, 2))):
            family.copies.append(replace(originals[index], pieces=exact_copy(originals[index].pieces, rng)))
            family.jaccard.append(1.0)
        families.append(family)
    for index in sorted(order[exact_count : exact_count + near_count]):
        original = originals[index]
        base_text = _text(original.pieces)
        family = Family("near", original)
        for _ in range(rng.choice((1, 1, 2))):
            for _attempt in range(8):
                pieces = near_duplicate(original.pieces, rng)
                similarity = _core.jaccard(base_text, _text(pieces), SHINGLE_NGRAM)
                if NEAR_DUPLICATE_MIN_JACCARD <= similarity < 1.0:
                    family.copies.append(replace(original, pieces=pieces))
                    family.jaccard.append(round(similarity, 6))
                    break
        if family.copies:
            families.append(family)
    in_family = set(order[: exact_count + near_count])
    return families, in_family


def _plant_evaluation_items(
    candidates: list[Document], evaluation: list[dict], rng: random.Random
) -> list[tuple[Document, str]]:
    planted = []
    count = min(len(candidates), round(len(evaluation) * CONTAMINATED_RATE))
    for document, item in zip(rng.sample(candidates, k=count), rng.sample(evaluation, k=count)):
        intro = rng.choice(
            (
                "Teaching case reviewed at morning report:",
                "Board review question discussed:",
                "Study question from the resident conference:",
            )
        )
        document.pieces.append(Piece(f"\n{intro}\n{item['text']}\n"))
        planted.append((document, item["id"]))
    return planted


# --- generation -----------------------------------------------------------------------------


def generate(seed: int = 1234, scale: float = 1.0) -> Corpus:
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    eval_rng = random.Random(f"{seed}:evaluation")
    evaluation = []
    for index in range(max(4, round(EVAL_ITEMS * scale))):
        item = evaluation_question(eval_rng)
        evaluation.append({"id": f"demo-mcq-{index + 1:04d}", "source": SOURCE, "doc_type": "eval_demo_mcq", **item})

    documents: dict[str, list[Document]] = {}
    families: list[Family] = []
    clean: list[Document] = []
    for doc_type, count in DOC_COUNTS.items():
        rng = random.Random(f"{seed}:{doc_type}")
        originals = []
        for _ in range(max(2, round(count * scale))):
            doc, meta = BUILDERS[doc_type](rng)
            originals.append(Document(doc.pieces, doc_type, meta))
        type_families, in_family = _plant_duplicates(originals, rng)
        families += type_families
        if doc_type in ("clinical_notes", "discharge_summaries"):
            clean += [d for i, d in enumerate(originals) if i not in in_family]
        everything = originals + [copy for family in type_families for copy in family.copies]
        rng.shuffle(everything)
        for number, document in enumerate(everything, 1):
            document.id = f"synth-{ID_PREFIX[doc_type]}-{number:05d}"
        documents[doc_type] = everything

    contamination = _plant_evaluation_items(clean, evaluation, random.Random(f"{seed}:contamination"))

    icd = icd10_documents(random.Random(f"{seed}:icd10"), max(2, round(ICD_DOCS * scale)))
    documents["icd10_descriptions"] = [
        Document([Piece(text)], "icd10_descriptions", meta, id=doc_id, source=ICD_SOURCE) for doc_id, text, meta in icd
    ]
    return Corpus(seed, scale, documents, families, contamination, evaluation)


# --- writing --------------------------------------------------------------------------------


def _write_jsonl(path: Path, records: list[dict]) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records).encode("utf-8")
    path.write_bytes(payload)
    return {"records": len(records), "bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}


def write(corpus: Corpus, output: Path) -> dict:
    """Write every file of the corpus under `output`; returns the manifest (also written)."""
    files: dict[str, dict] = {}
    phi_rows = []
    phi_counts: dict[str, int] = {}
    for doc_type, documents in corpus.documents.items():
        records = []
        for document in documents:
            text, spans = render(document.pieces)
            records.append(
                {
                    "id": document.id,
                    "source": document.source,
                    "doc_type": doc_type,
                    "text": text,
                    "meta": document.meta,
                }
            )
            if document.source == SOURCE:
                phi_rows.append({"id": document.id, "doc_type": doc_type, "spans": spans})
                for span in spans:
                    phi_counts[span["type"]] = phi_counts.get(span["type"], 0) + 1
        files[f"{doc_type}.jsonl"] = _write_jsonl(output / f"{doc_type}.jsonl", records)

    files["evals/demo_mcq.jsonl"] = _write_jsonl(output / "evals" / "demo_mcq.jsonl", corpus.evaluation)
    files["ground_truth/phi_spans.jsonl"] = _write_jsonl(output / "ground_truth" / "phi_spans.jsonl", phi_rows)
    family_rows = [
        {
            "family": f"{family.kind}-{number:04d}",
            "kind": family.kind,
            "doc_type": family.original.doc_type,
            "original": family.original.id,
            "copies": [c.id for c in family.copies],
            "jaccard": family.jaccard,
        }
        for number, family in enumerate(corpus.families, 1)
    ]
    files["ground_truth/duplicates.jsonl"] = _write_jsonl(output / "ground_truth" / "duplicates.jsonl", family_rows)
    contamination_rows = sorted(
        ({"doc_id": document.id, "eval_id": eval_id} for document, eval_id in corpus.contamination),
        key=lambda row: row["doc_id"],
    )
    files["ground_truth/contamination.jsonl"] = _write_jsonl(
        output / "ground_truth" / "contamination.jsonl", contamination_rows
    )

    manifest = {
        "generator": "data_tools.demo_corpus",
        "generator_version": GENERATOR_VERSION,
        "seed": corpus.seed,
        "scale": corpus.scale,
        "documents": {doc_type: len(docs) for doc_type, docs in corpus.documents.items()},
        "evaluation_items": len(corpus.evaluation),
        "phi_spans": dict(sorted(phi_counts.items())),
        "duplicate_families": {
            kind: {
                "families": sum(f.kind == kind for f in corpus.families),
                "copies": sum(len(f.copies) for f in corpus.families if f.kind == kind),
            }
            for kind in ("exact", "near")
        },
        "contaminated_documents": len(corpus.contamination),
        "files": files,
    }
    (output / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, required=True, help="folder to write the corpus into")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every document count")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = write(generate(args.seed, args.scale), args.output)
    seconds = time.perf_counter() - started
    total = sum(manifest["documents"].values())
    print(
        f"demo corpus: {total:,} documents, {manifest['evaluation_items']} evaluation items "
        f"-> {args.output} ({seconds:.1f} s, seed {args.seed})"
    )
    print("  planted PHI spans: " + ", ".join(f"{k} {v:,}" for k, v in manifest["phi_spans"].items()))
    families = manifest["duplicate_families"]
    print(
        f"  planted duplicates: {families['exact']['copies']} exact copies in {families['exact']['families']} "
        f"families, {families['near']['copies']} near-duplicates in {families['near']['families']} families"
    )
    print(f"  planted evaluation leaks: {manifest['contaminated_documents']} documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
