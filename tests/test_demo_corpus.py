"""The embedded demo corpus: deterministic, and its ground truth matches what it wrote."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from data_tools.demo_corpus import DOC_COUNTS, SOURCE
from data_tools.pieces import PHI_TYPES
from medtitan import _core
from tests.conftest import read_jsonl, reference_jaccard, reference_normalized

REPO = Path(__file__).resolve().parents[1]
CORPUS_FILES = [f"{t}.jsonl" for t in DOC_COUNTS] + ["icd10_descriptions.jsonl"]


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def generate_in_subprocess(output: Path, seed: int, hash_seed: str) -> None:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "data_tools.demo_corpus",
            "--output",
            str(output),
            "--seed",
            str(seed),
            "--scale",
            "0.25",
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def test_same_seed_gives_byte_identical_files_whatever_the_hash_seed(tmp_path):
    generate_in_subprocess(tmp_path / "a", 99, "1")
    generate_in_subprocess(tmp_path / "b", 99, "2")
    generate_in_subprocess(tmp_path / "c", 100, "1")
    a, b, c = (all_files(tmp_path / name) for name in "abc")
    assert len(a) == 10 and a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], f"{name} differs between two runs with seed 99"
    assert a["clinical_notes.jsonl"] != c["clinical_notes.jsonl"], "another seed must give another corpus"


def test_records_follow_the_shared_schema(demo_dir):
    for name in CORPUS_FILES:
        records = read_jsonl(demo_dir / name)
        assert len(records) >= 100, name
        ids = [r["id"] for r in records]
        assert ids == sorted(ids) and len(set(ids)) == len(ids), f"{name}: ids must be unique and sorted"
        for record in records:
            assert set(record) == {"id", "source", "doc_type", "text", "meta"}
            assert record["doc_type"] == name.removesuffix(".jsonl")
            assert isinstance(record["text"], str) and record["text"].strip()
    for item in read_jsonl(demo_dir / "evals" / "demo_mcq.jsonl"):
        assert item["options"][item["answer_idx"]] == item["answer"]
        assert item["question"] in item["text"] and all(o in item["text"] for o in item["options"].values())


def test_clinical_notes_carry_the_reserved_section_headers(demo_dir):
    notes = read_jsonl(demo_dir / "clinical_notes.jsonl")
    for header in ("[HISTORY]", "[MEDICATIONS]", "[ALLERGIES]", "[FINDINGS]", "[ASSESSMENT]", "[PLAN]"):
        assert all(header in note["text"] for note in notes), header
    radiology = read_jsonl(demo_dir / "radiology.jsonl")
    assert all("[FINDINGS]" in r["text"] and "[IMPRESSION]" in r["text"] for r in radiology)


# Patterns that only PHI should match: outside the planted spans, none of them may occur, so
# the ground truth is complete for these types (a de-identifier's precision depends on it).
UNLABELED_PHI_PATTERNS = {
    "EMAIL": re.compile(r"\S+@\S+\.\w+"),
    "SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "PHONE": re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[.-]\d{4}\b"),
    "MRN": re.compile(r"\b\d{8}\b"),
    "DATE": re.compile(
        r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b(?:January|February|March|April|May|"
        r"June|July|August|September|October|November|December) \d{1,2}, \d{4}\b"
    ),
    "TITLED NAME": re.compile(r"\b(?:Dr|Mr|Ms)\. [A-Z][a-z]+"),
}


def test_phi_spans_match_the_text_and_cover_every_phi_like_string(demo_dir):
    truth = {row["id"]: row for row in read_jsonl(demo_dir / "ground_truth" / "phi_spans.jsonl")}
    counts = dict.fromkeys(PHI_TYPES, 0)
    synthetic = 0
    for name in CORPUS_FILES:
        for record in read_jsonl(demo_dir / name):
            if record["source"] != SOURCE:
                assert record["id"] not in truth
                continue
            synthetic += 1
            spans = truth[record["id"]]["spans"]
            text = record["text"]
            masked = list(text)
            previous_end = 0
            for span in spans:
                assert span["type"] in PHI_TYPES
                assert text[span["start"] : span["end"]] == span["text"] != ""
                assert span["start"] >= previous_end, "spans are sorted and do not overlap"
                previous_end = span["end"]
                masked[span["start"] : span["end"]] = " " * (span["end"] - span["start"])
                counts[span["type"]] += 1
            outside = "".join(masked)
            for label, pattern in UNLABELED_PHI_PATTERNS.items():
                found = pattern.search(outside)
                assert found is None, f"{record['id']}: unlabeled {label} {found.group()!r}"
    assert synthetic == len(truth)
    assert all(counts[t] >= 50 for t in PHI_TYPES), counts  # every PHI type is planted often


def test_planted_duplicates_are_what_the_ground_truth_says(demo_dir):
    texts = {}
    for name in CORPUS_FILES:
        texts.update({r["id"]: r["text"] for r in read_jsonl(demo_dir / name)})
    families = read_jsonl(demo_dir / "ground_truth" / "duplicates.jsonl")
    kinds = {kind: [f for f in families if f["kind"] == kind] for kind in ("exact", "near")}
    assert len(kinds["exact"]) >= 40 and len(kinds["near"]) >= 30
    family_of = {}
    for family in families:
        original = texts[family["original"]]
        for copy_id, recorded in zip(family["copies"], family["jaccard"], strict=True):
            copy = texts[copy_id]
            family_of[copy_id] = family["family"]
            if family["kind"] == "exact":
                assert reference_normalized(copy) == reference_normalized(original)
            else:
                similarity = reference_jaccard(original, copy)
                assert 0.8 <= similarity < 1.0 and similarity == pytest.approx(recorded, abs=1e-6)
                assert reference_normalized(copy) != reference_normalized(original)
        family_of[family["original"]] = family["family"]

    # No exact duplicates besides the planted ones...
    ids = sorted(texts)
    normalized = {}
    for doc_id in ids:
        normalized.setdefault(reference_normalized(texts[doc_id]), []).append(doc_id)
    groups = [group for group in normalized.values() if len(group) > 1]
    assert sorted(sorted(g) for g in groups) == sorted(sorted([f["original"]] + f["copies"]) for f in kinds["exact"])
    # ...and no near-duplicate pair outside a planted family (exact all-pairs scan; the core's
    # Jaccard is checked against the Python reference in test_core.py).
    pairs = _core.near_duplicate_pairs([texts[i] for i in ids], 5, 0.8)
    assert pairs, "the planted families must show up"
    for first, second, similarity in pairs:
        a, b = ids[first], ids[second]
        assert family_of.get(a) is not None and family_of.get(a) == family_of.get(b), (a, b, similarity)
    # Every near-duplicate variant is found next to its original.
    found = {(ids[i], ids[j]) for i, j, _ in pairs}
    for family in kinds["near"]:
        for copy_id in family["copies"]:
            assert tuple(sorted((family["original"], copy_id))) in found


def test_planted_evaluation_items_and_only_they_contaminate(demo_dir):
    evaluation = {item["id"]: item["text"] for item in read_jsonl(demo_dir / "evals" / "demo_mcq.jsonl")}
    planted = {row["doc_id"]: row["eval_id"] for row in read_jsonl(demo_dir / "ground_truth" / "contamination.jsonl")}
    assert len(planted) >= 10
    eval_grams = {item_id: set(_core.shingle_set(text, 13)) for item_id, text in evaluation.items()}
    assert all(len(grams) >= 13 for grams in eval_grams.values())
    documents = 0
    for name in CORPUS_FILES:
        for record in read_jsonl(demo_dir / name):
            documents += 1
            doc_grams = set(_core.shingle_set(record["text"], 13))
            overlap = {item_id: len(grams & doc_grams) / len(grams) for item_id, grams in eval_grams.items()}
            if record["id"] in planted:
                assert evaluation[planted[record["id"]]] in record["text"]
                assert overlap[planted[record["id"]]] == 1.0
            else:
                worst = max(overlap, key=overlap.get)
                assert overlap[worst] < 0.7, f"{record['id']} unexpectedly contains {worst} ({overlap[worst]:.2f})"
    assert documents > 1500


def test_manifest_checksums_and_counts_match_the_files(demo_dir):
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    for name, entry in manifest["files"].items():
        payload = (demo_dir / name).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == entry["sha256"], name
        assert payload.count(b"\n") == entry["records"], name
    for doc_type, count in manifest["documents"].items():
        assert len(read_jsonl(demo_dir / f"{doc_type}.jsonl")) == count


def test_icd10_documents_are_real_text_read_from_the_pinned_package(demo_dir):
    import simple_icd_10_cm as cm

    records = read_jsonl(demo_dir / "icd10_descriptions.jsonl")
    assert len(records) == 300
    for record in records[:25]:
        code = record["id"].removeprefix("icd10cm:")
        first_line = record["text"].split("\n")[0]
        assert first_line == f"{code} {cm.get_description(code)}"
