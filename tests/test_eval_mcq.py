"""Multiple-choice scoring: a hand-built model whose answers are known, the formats of the
shared evaluation samples, the interval, and a real run with a tiny trained model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from medtitan.eval.mcq import Item, evaluate_mcq, load_items, option_scores, parse_item, wilson_interval
from medtitan.tokenizer import Tokenizer
from tests.conftest import SHARED_DATA, needs_shared_data


class PreferringModel(torch.nn.Module):
    """Logits that favour a fixed set of token ids at every position, whatever the input."""

    def __init__(self, vocab: int, preferred: set[int]) -> None:
        super().__init__()
        self.bias = torch.zeros(vocab)
        self.bias[list(preferred)] = 8.0

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(tokens.shape[0], tokens.shape[1], -1)


@pytest.fixture(scope="module")
def tokenizer(demo_tokenizer_dir) -> Tokenizer:
    return Tokenizer.from_file(demo_tokenizer_dir / "tokenizer.model")


def test_the_option_the_model_prefers_wins(tokenizer):
    items = [
        Item("a", "Question: Which drug treats gout?", ("allopurinol", "lisinopril", "warfarin"), 0),
        Item("b", "Question: Which drug is an anticoagulant?", ("allopurinol", "lisinopril", "warfarin"), 2),
    ]
    likes_allopurinol = PreferringModel(tokenizer.vocab_size, set(tokenizer.encode(" allopurinol")))
    result = evaluate_mcq(likes_allopurinol, tokenizer, items)
    assert (result["correct"], result["items"]) == (1, 2)  # right on the first, wrong on the second
    likes_both = PreferringModel(tokenizer.vocab_size, set(tokenizer.encode(" warfarin")))
    assert evaluate_mcq(likes_both, tokenizer, items[1:])["accuracy"] == 1.0


def test_length_normalisation_changes_the_winner(tokenizer):
    # The model likes "clopidogrel with heparin" and nothing about "warfarin": summed, the
    # extra liked tokens still cost something, so the short option wins; per token, the long
    # option's liked tokens lift its mean above the short one's.
    short, long = "warfarin", "clopidogrel with heparin and warfarin"
    liked = set(tokenizer.encode(" clopidogrel with heparin"))
    assert not liked & set(tokenizer.encode(" warfarin")[1:])
    model = PreferringModel(tokenizer.vocab_size, liked)
    prompt = "Question: which anticoagulant?\nAnswer:"
    summed = option_scores(model, tokenizer, prompt, (short, long), "none", 512)
    per_token = option_scores(model, tokenizer, prompt, (short, long), "tokens", 512)
    per_char = option_scores(model, tokenizer, prompt, (short, long), "chars", 512)
    assert summed[0] > summed[1]
    assert per_token[1] > per_token[0]
    assert per_char[1] > per_char[0]
    with pytest.raises(ValueError):
        option_scores(model, tokenizer, "q", (short,), "bytes", 512)


def test_wilson_interval():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(10, 10)[1] == 1.0


def test_bad_records_are_named():
    with pytest.raises(ValueError, match="q.jsonl:3: not a multiple-choice record"):
        parse_item({"question": "x"}, "q.jsonl:3")


@needs_shared_data
def test_the_shared_samples_parse_in_all_three_formats():
    for name, choices in (("medqa_sample.jsonl", 4), ("medmcqa_sample.jsonl", 4), ("pubmedqa_sample.jsonl", 3)):
        path = SHARED_DATA / name
        items = load_items(path)
        assert len(items) == sum(1 for line in path.open() if line.strip())
        assert all(len(item.options) == choices and 0 <= item.answer < choices for item in items)


@needs_shared_data
def test_a_tiny_trained_model_is_evaluated_with_its_interval(train_shards, demo_tokenizer_dir, tmp_path):
    from tests.test_train import run_train

    run_train(train_shards, tmp_path / "train", 1, "--checkpoint.enable", "true", "--checkpoint.interval", "5")
    script = Path(sys.executable).with_name("medtitan")
    out = tmp_path / "mcq.json"
    result = subprocess.run(
        [
            str(script),
            "eval",
            "mcq",
            str(SHARED_DATA / "medqa_sample.jsonl"),
            str(SHARED_DATA / "pubmedqa_sample.jsonl"),
            "--checkpoint",
            str(tmp_path / "train" / "checkpoint" / "step-5"),
            "--tokenizer",
            str(demo_tokenizer_dir / "tokenizer.model"),
            "--limit",
            "12",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "95% CI" in result.stdout
    scores = json.loads(out.read_text())
    for entry in scores.values():
        assert entry["items"] == 12 and 0 <= entry["accuracy"] <= 1
        assert entry["ci95"][0] <= entry["accuracy"] <= entry["ci95"][1]
