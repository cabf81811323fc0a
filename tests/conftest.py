"""Shared fixtures: the demo corpus, generated once per test session."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from data_tools import demo_corpus

DEMO_SEED = 1234
REPO = Path(__file__).resolve().parents[1]
# The shared development corpus: ../shared/data beside the checkout, or MEDTITAN_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("MEDTITAN_SHARED_DATA", REPO.parent / "shared" / "data"))
needs_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"needs the shared development corpus at {SHARED_DATA}, which is absent here"
)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The full-size demo corpus, exactly as `make demo` generates it."""
    output = tmp_path_factory.mktemp("demo") / "corpus"
    demo_corpus.write(demo_corpus.generate(seed=DEMO_SEED), output)
    return output


@pytest.fixture(scope="session")
def demo_tokenizer_dir(demo_dir, tmp_path_factory) -> Path:
    """A small BPE model (nfkc, section headers, byte fallback) trained on the demo corpus."""
    from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

    output = tmp_path_factory.mktemp("demo_tokenizer")
    config = TokenizerTrainingConfig.from_toml(REPO / "data_configs" / "tokenizer_demo.toml")
    train_tokenizer([demo_dir], output, config, progress=False)
    return output


TRAIN_SEQ_LEN = 128


@pytest.fixture(scope="session")
def train_shards(demo_dir, demo_tokenizer_dir, tmp_path_factory) -> Path:
    """The demo corpus built at seq_len 128 (a plain local build): the data of the training,
    export and Slurm tests, built once per session. Tests read it, never write to it."""
    from tests.build_helpers import demo_config, run_build

    folder = tmp_path_factory.mktemp("train_data")
    config = demo_config(
        folder / "build.toml",
        demo_dir,
        demo_tokenizer_dir / "tokenizer.model",
        seq_len=TRAIN_SEQ_LEN,
        validation_tokens=5000,
    )
    result = run_build(config)
    assert result.returncode == 0, result.stderr + result.stdout
    return folder / "build"


@pytest.fixture(scope="session")
def medical_64k_dir(tmp_path_factory) -> Path:
    """The 64K medical model of data_configs/tokenizer_64k.toml, trained on ../shared/data."""
    from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

    output = tmp_path_factory.mktemp("tokenizer_64k")
    config = TokenizerTrainingConfig.from_toml(REPO / "data_configs" / "tokenizer_64k.toml")
    train_tokenizer([SHARED_DATA], output, config, progress=False)
    return output


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def reference_words(text: str) -> list[str]:
    """The dedup word definition of rust/dedup/shingles.rs, written independently in Python."""
    words = []
    for token in text.split():
        word = re.sub(r"^[\W_]+|[\W_]+$", "", token)
        if word:
            words.append(word.lower())
    return words


def reference_shingles(text: str, ngram: int = 5) -> set[tuple[str, ...]]:
    words = reference_words(text)
    if not words:
        return set()
    window = min(ngram, len(words))
    return {tuple(words[i : i + window]) for i in range(len(words) - window + 1)}


def reference_jaccard(a: str, b: str, ngram: int = 5) -> float:
    sa, sb = reference_shingles(a, ngram), reference_shingles(b, ngram)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0


def reference_normalized(text: str) -> str:
    return " ".join(text.lower().split())
