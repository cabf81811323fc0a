"""The filter stage's quality filters in a real build: language, Gopher repetition, the reference
n-gram LM (trained by `medtitan-data train-reference-lm`), exemptions by doc_type in the config,
every removal with its reason and score, and `medtitan-data filter-report`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from medtitan.data.build_config import ConfigError, load_build_config
from tests.build_helpers import run_build, write_config
from tests.conftest import read_jsonl

CLI = Path(sys.executable).with_name("medtitan-data")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=600)


def _notes(demo_dir: Path, count: int) -> list[dict]:
    return read_jsonl(demo_dir / "clinical_notes.jsonl")[:count]


def _bad_documents(clean: list[str]) -> list[tuple[str, str, str]]:
    """(id, text, the reason the build must give): each kind built from a clean note."""
    rng = random.Random(7)
    note = clean[0]
    words = note.split()
    shuffled = list(" ".join(clean[1:4]).split())  # English words (langid passes them), in no order
    rng.shuffle(shuffled)
    return [
        ("repeated", "\n".join(["Patient seen and examined, vitals stable."] * 25 + [note[:200]]), "repetition"),
        (
            "boilerplate",
            "\n\n".join(["Click here to accept cookies. All rights reserved. Home | About | Contact"] * 12),
            "repetition",
        ),
        (
            "german",
            " ".join(
                [
                    "Der Patient wurde heute in der Klinik untersucht und die Befunde waren unauffällig."
                    " Die Medikation wird unverändert fortgesetzt und eine Kontrolle ist in zwei Wochen"
                    " geplant."
                ]
                * 3
            ),
            "language",
        ),
        ("symbols", " ".join(["|---|---|+++|===|"] * 60), "non_alphanumeric"),
        ("soup", " ".join(shuffled[:400]), "perplexity"),
        ("short", " ".join(words[:5]), "too_short"),
        (
            "ocr",
            "".join(rng.choice("aeilnorst") if c.isalpha() and rng.random() < 0.08 else c for c in note),
            "unknown_words",
        ),
        (
            "mojibake",
            (
                note[:600] + " The patient\u2019s temperature was 38.5 \u00b0C; \u201cno caf\u00e9 or th\u00e9\u201d, "
                "she said \u2013 twice."
            )
            .encode("utf-8")
            .decode("cp1252", errors="replace"),
            "mojibake",
        ),
    ]


@pytest.fixture(scope="module")
def reference_lm(demo_dir, demo_tokenizer_dir, tmp_path_factory) -> Path:
    model = tmp_path_factory.mktemp("lm") / "demo.lm"
    result = cli(
        "train-reference-lm",
        str(demo_dir / "clinical_notes.jsonl"),
        str(demo_dir / "discharge_summaries.jsonl"),
        "--tokenizer",
        str(demo_tokenizer_dir / "tokenizer.model"),
        "--output",
        str(model),
        "--order",
        "4",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "4-grams" in result.stdout
    sidecar = json.loads(Path(f"{model}.json").read_text())
    assert sidecar["order"] == 4 and len(sidecar["ngram_counts"]) == 4 and sidecar["bytes"] == model.stat().st_size
    words = Path(f"{model}.words").read_text().split()
    assert words == sorted(set(words)) and len(words) == sidecar["vocabulary"]["words"] and "patient" in words
    return model


def test_each_kind_of_bad_document_is_removed_with_its_reason_and_score(
    demo_dir, demo_tokenizer_dir, reference_lm, tmp_path
):
    clean = _notes(demo_dir, 60)
    bad = _bad_documents([r["text"] for r in clean])
    corpus = tmp_path / "mixed.jsonl"
    corpus.write_text(
        "".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in clean)
        + "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t, _ in bad)
    )
    codes = tmp_path / "codes.jsonl"  # short by nature: exempt from min_tokens in the config
    codes.write_text(
        "".join(
            json.dumps({"id": f"c{i}", "text": f"Type {i} diabetes mellitus without complications"}) + "\n"
            for i in range(1, 4)
        )
    )
    config = write_config(
        tmp_path / "b.toml",
        demo_tokenizer_dir / "tokenizer.model",
        [("notes", [corpus], "clinical_notes", 1.0), ("codes", [codes], "icd10_descriptions", 0.1)],
        output=tmp_path / "out",
        validation_tokens=0,
        extra=f'\n[filters]\nmin_tokens = 20\nreference_lm = "{reference_lm}"\nmax_perplexity = 1000\n'
        '\n[filters.exempt]\nicd10_descriptions = ["min_tokens", "unknown_words", "perplexity"]\n',
    )
    result = run_build(config)
    assert result.returncode == 0, result.stderr + result.stdout
    removed = {
        r["id"]: r
        for r in read_jsonl(tmp_path / "out" / "removed.jsonl")
        if r["reason"]
        in ("too_short", "non_alphanumeric", "mojibake", "language", "repetition", "unknown_words", "perplexity")
    }
    assert {i: removed[i]["reason"] for i, _, _ in bad if i in removed} == {i: reason for i, _, reason in bad}
    assert all(isinstance(r["score"], float | int) and r["detail"] for r in removed.values())
    assert removed["repeated"]["detail"].startswith(("dup_line", "dup_para", "top_", "dup_"))
    assert not any(i.startswith("c") and i in removed for i in ("c1", "c2", "c3"))  # exempt, kept
    clean_removed = [r["id"] for r in clean if r["id"] in removed]
    assert not clean_removed, [removed[i] for i in clean_removed]

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    filters = report["filters"]
    assert filters["removed_by_doc_type"]["repetition"] == {"clinical_notes": 2}
    histogram = filters["perplexity_log10_histogram"]["clinical_notes"]
    assert sum(histogram) == len(clean) + len(bad) and len(histogram) == len(filters["perplexity_log10_edges"])
    stage = report["stages"]["filter"]
    assert stage["in"] == stage["kept"] + stage["removed"] and stage["removed"] == len(bad)

    shown = cli("filter-report", str(tmp_path / "out"))
    assert shown.returncode == 0, shown.stderr
    assert (
        "repetition" in shown.stdout
        and "boilerplate" in shown.stdout
        and "perplexity under the reference" in shown.stdout
    )
    only = cli("filter-report", str(tmp_path / "out"), "--reason", "language")
    assert "german" in only.stdout and "boilerplate" not in only.stdout
    assert cli("inspect", str(tmp_path / "out"), "--verify").returncode == 0  # the examples file is listed


def test_a_reference_lm_of_another_tokenizer_is_refused(demo_dir, reference_lm, tmp_path):
    sidecar = json.loads(Path(f"{reference_lm}.json").read_text())
    other = tmp_path / "other.lm"
    other.write_bytes(reference_lm.read_bytes())
    Path(f"{other}.json").write_text(json.dumps(sidecar | {"tokenizer": sidecar["tokenizer"] | {"sha256": "0" * 64}}))
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in _notes(demo_dir, 5)))
    config = write_config(
        tmp_path / "b.toml",
        Path(sidecar["tokenizer"]["path"]),
        [("notes", [corpus], "notes", 1.0)],
        output=tmp_path / "out",
        extra=f'\n[filters]\nreference_lm = "{other}"\nmax_perplexity = 1000\n',
    )
    result = run_build(config)
    assert result.returncode != 0 and "not the build's" in result.stderr and str(other) in result.stderr


@pytest.mark.parametrize(
    "filters, message",
    [
        ("repetition = {dup_lines = 0.3}", "filters.repetition: unknown scores ['dup_lines']"),
        ('reference_lm = "x.lm"', "filters.max_perplexity goes with"),
        ('languages = "en"', "filters.languages must be a list"),
        ('exempt = {icd10 = ["length"]}', "filters.exempt: each doc_type lists filters among"),
    ],
)
def test_bad_filter_settings_are_named(filters, message, tmp_path):
    config = write_config(
        tmp_path / "b.toml",
        tmp_path / "t.model",
        [("notes", [tmp_path / "x.jsonl"], "notes", 1.0)],
        extra=f"\n[filters]\n{filters}\n",
    )
    with pytest.raises(ConfigError, match="b.toml: " + message.replace("[", r"\[").replace("(", r"\(")):
        load_build_config(config)
