"""train-tokenizer (weighted sampling, reserved pieces, determinism, hold-out) and fertility."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from medtitan.tokenizer import SECTION_HEADERS, Tokenizer, TokenizerTrainingConfig, train_tokenizer
from medtitan.tokenizer.fertility import (
    CASE_STUDY_TERMS,
    MedtitanEncoder,
    fertility,
    fertility_report,
    load_encoder,
    term_fertility,
)
from tests.conftest import REPO, SHARED_DATA, needs_shared_data, read_jsonl

DEMO_WEIGHTS = {
    "clinical_notes": 0.35,
    "discharge_summaries": 0.20,
    "radiology": 0.15,
    "pharmacology": 0.15,
    "icd10_descriptions": 0.15,
}


def test_sample_follows_the_configured_weights_not_availability(demo_tokenizer_dir):
    sidecar = json.loads((demo_tokenizer_dir / "tokenizer.model.json").read_text())
    sample = sidecar["sample"]
    assert set(sample) == set(DEMO_WEIGHTS)
    available = {k: v["available_chars"] for k, v in sample.items()}
    assert max(available.values()) > 4 * min(available.values()), "the demo sources differ widely in size"
    for doc_type, weight in DEMO_WEIGHTS.items():
        assert sample[doc_type]["share_of_sample"] == pytest.approx(weight, abs=0.01), doc_type
    assert sample["icd10_descriptions"]["repeat_factor"] > 1.0  # small source repeated to its share
    assert sidecar["sha256"] == hashlib.sha256((demo_tokenizer_dir / "tokenizer.model").read_bytes()).hexdigest()
    assert sidecar["config"]["vocab_size"] == 8000 and sidecar["sentencepiece_version"]


def test_reserved_pieces_bytes_and_headers(demo_tokenizer_dir):
    tokenizer = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    assert [tokenizer.id_to_piece(i) for i in range(4)] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (tokenizer.bos_id, tokenizer.eos_id, tokenizer.unk_id) == (1, 2, 3)
    assert tokenizer.vocab_size == 8000
    for header in SECTION_HEADERS:
        assert tokenizer.id_to_piece(tokenizer.piece_to_id(header)) == header
    assert all(tokenizer.piece_to_id(f"<0x{b:02X}>") != tokenizer.unk_id for b in range(256))
    # Merges never cross words: no piece holds a space symbol after its first character.
    assert not [tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size) if "▁" in tokenizer.id_to_piece(i)[1:]]


def test_training_is_deterministic_and_holds_out_whole_families(demo_dir, tmp_path):
    config = TokenizerTrainingConfig(
        vocab_size=2000, sample_chars=1_000_000, holdout_fraction=0.2, weights=DEMO_WEIGHTS
    )
    first = train_tokenizer([demo_dir], tmp_path / "a", config, progress=False)
    second = train_tokenizer([demo_dir], tmp_path / "b", config, progress=False)
    assert first.read_bytes() == second.read_bytes()
    sidecar = json.loads((tmp_path / "a" / "tokenizer.model.json").read_text())
    held = {p.stem: read_jsonl(p) for p in (tmp_path / "a" / "holdout").glob("*.jsonl")}
    assert {k: len(v) for k, v in held.items()} == {
        k: v["held_out"] for k, v in sidecar["sample"].items() if v["held_out"]
    }
    total = sum(v["documents"] for v in sidecar["sample"].values())
    assert 0.1 < sum(len(v) for v in held.values()) / total < 0.3
    other_seed = train_tokenizer(
        [demo_dir],
        tmp_path / "c",
        TokenizerTrainingConfig(
            vocab_size=2000, sample_chars=1_000_000, holdout_fraction=0.2, weights=DEMO_WEIGHTS, seed=7
        ),
        progress=False,
    )
    assert other_seed.read_bytes() != first.read_bytes()


def test_bad_training_inputs_are_reported(demo_dir, tmp_path):
    with pytest.raises(ValueError, match="weights name doc_types not found in the inputs: surgery_notes"):
        train_tokenizer(
            [demo_dir],
            tmp_path / "x",
            TokenizerTrainingConfig(
                vocab_size=1000, sample_chars=100_000, weights={"clinical_notes": 1.0, "surgery_notes": 1.0}
            ),
            progress=False,
        )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no training documents in .*empty.jsonl"):
        train_tokenizer([empty], tmp_path / "y", TokenizerTrainingConfig(vocab_size=1000), progress=False)
    mixed = tmp_path / "mixed.jsonl"
    records = read_jsonl(demo_dir / "radiology.jsonl")[:400]
    mixed.write_text("".join(json.dumps(r) + "\n" for r in records) + '{"text": 5}\nnot json\n')
    train_tokenizer(
        [mixed], tmp_path / "z", TokenizerTrainingConfig(vocab_size=1000, sample_chars=200_000), progress=False
    )
    quarantined = json.loads((tmp_path / "z" / "tokenizer.model.json").read_text())["quarantined"]
    assert [(q["line"], q["reason"].split(":")[0]) for q in quarantined] == [
        (401, "text field 'text' is a int, not a string"),
        (402, "malformed JSON"),
    ]
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[tokenizer]\nvocab_sise = 10\n")
    with pytest.raises(ValueError, match=r"bad.toml: unknown \[tokenizer\] keys \['vocab_sise'\]"):
        TokenizerTrainingConfig.from_toml(bad_toml)


def test_fertility_counts_by_hand(demo_tokenizer_dir):
    tokenizer = Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")
    texts = ["the patient denies chest pain", "pneumothorax", "zzqx qqzv"]
    result = fertility(tokenizer, texts)
    words = [w for t in texts for w in t.split()]
    assert result.words == len(words) == 8 and result.documents == 3
    assert result.tokens == sum(len(tokenizer.encode(t)) for t in texts)
    assert result.single_token_words == sum(len(tokenizer.encode(w)) == 1 for w in words)
    assert result.tokens_per_word == result.tokens / 8
    assert term_fertility(tokenizer, ["pneumothorax"]) == {"pneumothorax": len(tokenizer.encode("pneumothorax"))}


@needs_shared_data
def test_the_64k_model_meets_the_fertility_targets_on_held_out_text(medical_64k_dir):
    holdout = {p.stem: [r["text"] for r in read_jsonl(p)] for p in (medical_64k_dir / "holdout").glob("*.jsonl")}
    encoders = [
        MedtitanEncoder(Tokenizer.from_file(medical_64k_dir / "tokenizer.model")),
        load_encoder(SHARED_DATA / "baseline_tokenizers" / "llama-test-tokenizer.json"),
        load_encoder(SHARED_DATA / "baseline_tokenizers" / "gpt2.tiktoken"),
    ]
    report = fertility_report(holdout, encoders, list(CASE_STUDY_TERMS))
    ours = {doc_type: rows[0].tokens_per_word for doc_type, rows in report.by_doc_type.items()}
    targets = {"clinical_notes": 1.25, "radiology": 1.30, "pubmed_abstracts": 1.32, "general_english": 1.20}
    for doc_type, target in targets.items():
        assert ours[doc_type] <= target, (doc_type, ours[doc_type])
        assert report.by_doc_type[doc_type][1].tokens_per_word > ours[doc_type]  # LLaMA spends more
    assert report.mean_term_tokens(0) <= 1.4
    assert report.mean_term_tokens(1) > 3.0, "LLaMA splits the case study's terms"
    assert all(rows[0].documents > 10 for rows in report.by_doc_type.values())


def run_cli(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("medtitan-data")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=600, cwd=REPO)


def test_train_tokenizer_and_fertility_cli(demo_dir, tmp_path):
    out = tmp_path / "tok"
    result = run_cli(
        "train-tokenizer",
        str(demo_dir),
        "--config",
        "data_configs/tokenizer_demo.toml",
        "--vocab-size",
        "3000",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "clinical_notes" in result.stdout and "wrote" in result.stdout
    assert json.loads((out / "tokenizer.model.json").read_text())["config"]["vocab_size"] == 3000  # flag beats file
    report = tmp_path / "fertility.json"
    result = run_cli(
        "fertility",
        str(out / "holdout"),
        "--tokenizer",
        str(out / "tokenizer.model"),
        "--baseline",
        str(out / "tokenizer.model"),
        "--json",
        str(report),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(report.read_text())
    assert set(data["doc_types"]) == {p.stem for p in (out / "holdout").glob("*.jsonl")}
    for entry in data["doc_types"].values():  # measured against itself: no improvement either way
        assert list(entry["improvement_over"].values()) == [0.0]
    missing = run_cli(
        "fertility",
        str(out / "holdout"),
        "--tokenizer",
        str(out / "tokenizer.model"),
        "--baseline",
        str(tmp_path / "nope.tiktoken"),
    )
    assert missing.returncode == 2 and "nope.tiktoken: no such tokenizer file" in missing.stderr
    bad_weight = run_cli("train-tokenizer", str(demo_dir), "--output", str(tmp_path / "w"), "--weight", "notes")
    assert bad_weight.returncode != 0 and "DOC_TYPE=NUMBER" in bad_weight.stderr


@needs_shared_data
def test_fertility_cli_loads_every_baseline_format(demo_dir, demo_tokenizer_dir, tmp_path):
    baselines = SHARED_DATA / "baseline_tokenizers"
    result = run_cli(
        "fertility",
        str(demo_dir / "radiology.jsonl"),
        "--tokenizer",
        str(demo_tokenizer_dir / "tokenizer.model"),
        *[
            arg
            for name in ("tokenizer.model.v1", "llama-test-tokenizer.json", "gpt2.tiktoken", "cl100k_base.tiktoken")
            for arg in ("--baseline", str(baselines / name))
        ],
    )
    assert result.returncode == 0, result.stderr
    for name in ("tokenizer.model.v1", "llama-test-tokenizer.json", "gpt2.tiktoken", "cl100k_base.tiktoken"):
        assert f"vs {name}" in result.stdout


def test_a_training_that_fails_midway_leaves_no_model(demo_dir, tmp_path, monkeypatch):
    """A killed or failed training must not leave a tokenizer.model that later runs take as
    trained (benchmarks found an empty one after a kill)."""
    import sentencepiece as spm

    def half_written(*, model_writer, **_options):
        model_writer.write(b"\x0a\x05piece")  # part of a model, then the failure
        raise RuntimeError("killed midway")

    monkeypatch.setattr(spm.SentencePieceTrainer, "train", half_written)
    config = TokenizerTrainingConfig(vocab_size=2000, sample_chars=200_000, weights=DEMO_WEIGHTS)
    with pytest.raises(RuntimeError, match="killed midway"):
        train_tokenizer([demo_dir], tmp_path / "tok", config, progress=False)
    assert not (tmp_path / "tok" / "tokenizer.model").exists()
    assert not list((tmp_path / "tok").glob("tokenizer.model*"))  # no partial file either


def test_doc_types_that_are_not_file_names_stay_inside_the_holdout_folder(demo_dir, tmp_path):
    """A doc_type comes from the data: "a/b" crashed the training and "../x" would have written
    outside OUTPUT/holdout."""
    corpus = tmp_path / "corpus.jsonl"
    rows = [json.loads(line) for line in (demo_dir / "clinical_notes.jsonl").read_text().splitlines()[:300]]
    odd = ["a/b", "../escape", "nul\x00type", "clinical_notes"]
    corpus.write_text("".join(json.dumps(r | {"doc_type": odd[i % len(odd)]}) + "\n" for i, r in enumerate(rows)))
    config = TokenizerTrainingConfig(vocab_size=1000, sample_chars=200_000, holdout_fraction=0.3)
    train_tokenizer([corpus], tmp_path / "tok", config, progress=False)
    files = sorted((tmp_path / "tok" / "holdout").iterdir())
    assert all(f.parent == tmp_path / "tok" / "holdout" for f in files) and not (tmp_path / "escape.jsonl").exists()
    held = {r["doc_type"] for f in files for r in read_jsonl(f)}
    assert held == set(odd)  # every doc_type held out, under its own name in the records
    assert "clinical_notes.jsonl" in {f.name for f in files}  # a plain name is kept as it is
