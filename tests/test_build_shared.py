"""The build on the real development corpus: ../shared/data/clinical_notes.jsonl, where about
half the documents are copies, decontaminated against the three evaluation samples."""

from __future__ import annotations

import json

import pytest

from medtitan import _core
from tests.build_helpers import run_build, write_config
from tests.conftest import SHARED_DATA, needs_shared_data, read_jsonl

pytestmark = needs_shared_data


@pytest.fixture(scope="module")
def notes_build(demo_tokenizer_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shared_build")
    evals = sorted(SHARED_DATA.glob("*_sample.jsonl"))
    config = write_config(
        folder / "notes.toml",
        demo_tokenizer_dir / "tokenizer.model",
        [("notes", [SHARED_DATA / "clinical_notes.jsonl"], "clinical_notes", 1.0)],
        eval_sets=evals,
        seq_len=1024,
        partition_docs=1000,
        validation_tokens=50_000,
        keep_work=True,
    )  # a test reads work/dedup and work/filter
    result = run_build(config)
    assert result.returncode == 0, result.stderr + result.stdout
    return folder / "build", result.stdout


def test_the_report_counts_exact_and_near_duplicates(notes_build):
    output, stdout = notes_build
    report = json.loads((output / "report.json").read_text())
    dedup = report["stages"]["dedup"]
    print("\n" + stdout)
    assert dedup["in"] > 4000
    # About half of the 4,283 notes are copies (2,149 distinct texts); a few more are near copies.
    assert 1900 <= dedup["reasons"]["exact_duplicate"] <= 2200
    assert dedup["reasons"].get("near_duplicate", 0) >= 1
    assert dedup["kept"] == dedup["in"] - dedup["reasons"]["exact_duplicate"] - dedup["reasons"].get(
        "near_duplicate", 0
    )


def test_no_two_kept_documents_are_near_duplicates(notes_build):
    output, _ = notes_build
    removed = {r["n"] for r in read_jsonl(output / "work" / "dedup" / "removed.jsonl")}
    kept = [
        row["text"]
        for part in sorted((output / "work" / "filter").glob("part-*.jsonl"))
        if not part.name.endswith(".removed.jsonl")
        for row in read_jsonl(part)
        if row["n"] not in removed
    ]
    assert len(kept) > 2000
    assert _core.near_duplicate_pairs(kept, 5, 0.8) == []


def test_the_clean_corpus_loses_nothing_to_decontamination(notes_build):
    output, _ = notes_build
    report = json.loads((output / "report.json").read_text())
    assert report["stages"]["decontaminate"]["removed"] == 0
    assert report["decontamination"]["eval_samples"] > 2500
