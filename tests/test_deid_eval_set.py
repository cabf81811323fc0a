"""The de-identification evaluation set (benchmarks/deid_eval): deterministic, exact gold, no
document family on both sides of the DEV/TEST split, hand annotations that verify against the data.

Needs the shared corpus (the set is built from it at run time); skipped with a message without it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_DATA, needs_shared_data

EVAL_DIR = REPO / "benchmarks" / "deid_eval"
sys.path.insert(0, str(EVAL_DIR))  # the generator's sibling modules, as make_eval.py itself does

import forms
import lexicon
import make_eval
import plant
import real_notes

pytestmark = needs_shared_data
FILES = ("dev.jsonl", "test.jsonl", "real_dev.jsonl", "real_test.jsonl")


def build(output: Path, *extra: str, hash_seed: str = "0") -> Path:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, str(EVAL_DIR / "make_eval.py"), "--data", str(SHARED_DATA), "--output", str(output), *extra],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return output


def read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def full_set(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("deid_eval_full"))


def test_same_bytes_on_every_run(tmp_path):
    # Different hash seeds: nothing may depend on set or dict iteration order.
    first = build(tmp_path / "a", "--limit", "60", hash_seed="1")
    second = build(tmp_path / "b", "--limit", "60", hash_seed="2")
    for name in FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert len(read(first / "dev.jsonl")) + len(read(first / "test.jsonl")) == 60


def test_gold_spans_are_well_formed(full_set):
    for name in FILES:
        for doc in read(full_set / name):
            text, spans = doc["text"], doc["spans"]
            assert spans == sorted(spans), doc["id"]
            previous_end = 0
            for start, end, label in spans:
                assert label in make_eval.TYPES, (doc["id"], label)
                assert previous_end <= start < end <= len(text), (doc["id"], start, end)
                piece = text[start:end]
                assert piece == piece.strip() and piece.strip(".,;:") != "", (doc["id"], piece)
                previous_end = end
            if "negatives" in doc:  # decoys never overlap gold
                assert len(doc["roles"]) == len(doc["forms"]) == len(spans)
                for start, end, _ in doc["negatives"]:
                    assert all(end <= s or start >= e for s, e, _ in spans), (doc["id"], start, end)


def test_assembly_puts_each_span_on_its_planted_string():
    base = "Seen today.  Plan as above."
    edits = [
        plant.Edit(
            13,
            13,
            [
                forms.lit("Per "),
                forms.phi("W. Tamsor", "DOCTOR", "name:init_last", "staff"),
                forms.lit(", BP "),
                forms.neg("120/80", "bp"),
                forms.lit(".  "),
            ],
            0,
        ),
        plant.Edit(0, 0, [forms.lit("MRN: "), forms.phi("0012345", "MEDICALRECORD", "mrn"), forms.lit("\n")], -1),
    ]
    doc = plant.assemble(base, edits)
    assert doc.text == "MRN: 0012345\nSeen today.  Per W. Tamsor, BP 120/80.  Plan as above."
    assert [doc.text[s:e] for s, e, _ in doc.spans] == ["0012345", "W. Tamsor"]
    assert [doc.text[s:e] for s, e, _ in doc.negatives] == ["120/80"]
    with pytest.raises(AssertionError, match="overlapping"):
        plant.assemble(base, [plant.Edit(0, 5, [forms.lit("x")], 0), plant.Edit(3, 8, [forms.lit("y")], 1)])


def test_no_document_family_is_on_both_sides(full_set):
    dev = read(full_set / "dev.jsonl") + read(full_set / "real_dev.jsonl")
    test = read(full_set / "test.jsonl") + read(full_set / "real_test.jsonl")
    assert not {d["id"] for d in dev} & {d["id"] for d in test}
    assert not {d["group"] for d in dev} & {d["group"] for d in test}
    for doc in read(full_set / "dev.jsonl") + read(full_set / "test.jsonl"):
        assert doc["split"] == make_eval.split_of(doc["group"]), doc["id"]
    recorded = {a["id"]: a["split"] for a in real_notes.load_annotations()}
    for doc in read(full_set / "real_dev.jsonl") + read(full_set / "real_test.jsonl"):
        assert doc["split"] == recorded[doc["source_id"]], doc["id"]
    planted = {d["group"] for d in read(full_set / "dev.jsonl") + read(full_set / "test.jsonl")}
    real = {d["group"] for d in read(full_set / "real_dev.jsonl") + read(full_set / "real_test.jsonl")}
    assert not planted & real  # hand-annotated families are never reused as planting ground


def test_test_split_is_large_and_covers_the_types(full_set):
    stats = json.loads((full_set / "stats.json").read_text())
    test = stats["planted_test"]
    assert test["documents"] >= 300 and test["spans"] >= 1500
    for label in ("PATIENT", "DOCTOR", "DATE", "HOSPITAL", "CITY", "PHONE", "MEDICALRECORD", "SSN", "AGE"):
        assert test["per_type"][label] >= 50, label
    assert all(n > 0 for n in test["per_type"].values()), test["per_type"]
    assert test["invented_name_share"] >= 0.30
    assert stats["templates_total"] >= 150


def test_names_come_from_the_held_out_slice_or_are_invented(full_set):
    faker_names = lexicon.all_faker_names()
    for name in ("dev.jsonl", "test.jsonl"):
        for doc in read(full_set / name):
            for start, end, label in doc["spans"]:
                if label not in ("PATIENT", "DOCTOR"):
                    continue
                for token in re.findall(r"[A-Za-z']+", doc["text"][start:end]):
                    # Initials ("J.R.", "FML", lower-cased "jrk") are letters, not name words.
                    if len(token) >= 4 or (len(token) == 3 and token.istitle()):
                        assert token.lower() not in faker_names or lexicon.in_eval_slice(token), (doc["id"], token)


def test_real_annotations_verify_against_the_corpus(full_set, tmp_path):
    annotations = real_notes.load_annotations()
    assert len(annotations) >= 40 and sum(len(a["spans"]) for a in annotations) >= 200
    real = read(full_set / "real_dev.jsonl") + read(full_set / "real_test.jsonl")
    assert sorted(d["source_id"] for d in real) == sorted(a["id"] for a in annotations)
    # A changed document is refused, naming the record.
    tampered = dict(annotations[0], sha256="0" * 64)
    with pytest.raises(ValueError, match=re.escape(annotations[0]["id"])):
        real_notes.materialise(SHARED_DATA, [tampered])
    shifted = dict(annotations[0], spans=[[s + 1, e + 1, t] for s, e, t in annotations[0]["spans"]])
    with pytest.raises(ValueError, match="does not match its hash"):
        real_notes.materialise(SHARED_DATA, [shifted])


@pytest.mark.parametrize(
    ("script", "batch", "split", "count"),
    [
        ("select_real_notes.py", 2, "test", 50),
        ("select_real_dev_notes.py", 3, "dev", 60),
        ("select_real_dev_notes.py", 4, "dev", 34),
    ],
)
def test_real_notes_are_the_ones_the_selection_rules_pick(script, batch, split, count):
    """The fresh real TEST part (batch 2) and the later real DEV parts (batches 3 and 4) are exactly
    what their scripts' documented rules pick from the corpus, so they can be checked and redone."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "deid_eval" / script
    extra = ["--batch", str(batch)] if script == "select_real_dev_notes.py" else []
    out = subprocess.run(
        [sys.executable, str(path), "--data", str(SHARED_DATA), *extra], check=True, capture_output=True, text=True
    ).stdout
    picked = [line.split("\t")[1] for line in out.splitlines() if line.strip()]
    annotations = real_notes.load_annotations()
    annotated = [a["id"] for a in annotations if a["batch"] == batch]
    assert picked == annotated and len(picked) == count
    assert all(a["split"] == split for a in annotations if a["batch"] == batch)
    earlier = {a["id"] for a in annotations if a["batch"] < batch}
    assert not earlier & set(picked)
