"""The quality filters' Rust API (rust/py/filters.rs): Gopher repetition scores against a
plain-Python reading of their definitions, and the reference LM's train / save / load /
perplexities round trip and errors. The estimates themselves are tested in Rust
(rust/filters/reference_lm/tests.rs)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from medtitan import _core

NAMES = _core.REPETITION_SCORE_NAMES


def gopher_reference(text: str) -> list[float]:
    """The 13 scores straight from their definitions (rust/filters/repetition.rs's doc)."""

    def duplicates(units):
        seen, dup, dup_chars = set(), 0, 0
        for unit in units:
            if unit in seen:
                dup, dup_chars = dup + 1, dup_chars + len(unit)
            seen.add(unit)
        total = sum(map(len, units))
        return (dup / len(units) if units else 0.0), (dup_chars / total if total else 0.0)

    lines = [line for line in text.split("\n") if line.strip()]
    paragraphs, run = [], []
    for line in text.split("\n") + [""]:
        if line.strip():
            run.append(line)
        elif run:
            paragraphs.append("\n".join(run))
            run = []
    line_frac, line_chars = duplicates(lines)
    para_frac, para_chars = duplicates(paragraphs)
    words = text.split()
    total = sum(map(len, words))
    scores = [line_frac, para_frac, line_chars, para_chars]
    for n in range(2, 11):
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        counts = Counter(grams)
        if not total or not grams or max(counts.values()) == 1:
            scores.append(0.0)
        elif n <= 4:
            top = max(counts.values())
            chars = max(sum(map(len, g)) for g, c in counts.items() if c == top)
            scores.append(min(1.0, chars * top / total))
        else:
            covered = {i + k for i, g in enumerate(grams) if counts[g] > 1 for k in range(n)}
            scores.append(sum(len(words[i]) for i in covered) / total)
    return scores


def repetitive_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = "the patient denies Chest pain, chest PAIN fever é 病人 x-ray 120/80 no acute findings".split()
    texts = ["", "one", "  \n\n ", "a a a a a a a a a a a a"]
    for _ in range(count):
        pieces = [" ".join(rng.choices(words, k=rng.randint(1, 6))) for _ in range(rng.randint(1, 8))]
        body = [rng.choice(pieces) for _ in range(rng.randint(1, 30))]
        texts.append("".join(p + rng.choice([" ", "\n", "\n\n", "\n \n", "  "]) for p in body))
    return texts


def test_repetition_scores_match_their_definitions():
    texts = repetitive_texts(400, seed=3)
    scores = np.frombuffer(_core.repetition_scores(texts), dtype="<f8").reshape(len(texts), len(NAMES))
    assert len(NAMES) == 13 and NAMES[0] == "dup_line_frac" and NAMES[-1] == "dup_10gram_char_frac"
    for text, row in zip(texts, scores):
        np.testing.assert_allclose(row, gopher_reference(text), rtol=0, atol=1e-12, err_msg=repr(text))
    assert scores[:, 7:].max() > 0.5, "the corpus must exercise the duplicate n-gram scores"


def test_repetition_scores_do_not_depend_on_the_thread_count():
    texts = repetitive_texts(200, seed=4)
    assert _core.repetition_scores(texts, 1) == _core.repetition_scores(texts, 2) == _core.repetition_scores(texts)
    assert _core.repetition_scores([]) == b""


def markov_corpus(documents: int, seed: int, vocab: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    successors = rng.integers(0, vocab, size=(vocab, 3))
    docs = []
    for _ in range(documents):
        token = rng.integers(vocab)
        doc = [token]
        for _ in range(rng.integers(0, 30)):
            token = successors[token, rng.integers(3)] if rng.random() < 0.8 else rng.integers(vocab)
            doc.append(token)
        docs.append(doc)
    ids = np.concatenate([np.asarray(d, dtype=np.uint32) for d in docs])
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype(np.int64)
    return ids, offsets


def test_reference_lm_trains_saves_loads_and_scores(tmp_path):
    ids, offsets = markov_corpus(500, seed=1)
    lm = _core.ReferenceLM.train(ids, offsets, vocab_size=50, order=4, num_threads=2)
    assert (lm.order, lm.vocab_size, lm.min_counts) == (4, 50, [1, 1, 2, 2])
    assert len(lm.ngram_counts) == 4 and lm.ngram_counts[0] <= 51 and all(lm.ngram_counts)
    assert len(lm.discounts) == 4
    held_ids, held_offsets = markov_corpus(40, seed=2)
    scores = np.frombuffer(lm.perplexities(held_ids, held_offsets), dtype="<f8")
    assert scores.shape == (40,) and np.isfinite(scores).all() and (scores > 1).all()
    assert lm.perplexities(held_ids, held_offsets, 1) == lm.perplexities(held_ids.tobytes(), held_offsets.tobytes(), 2)

    path = tmp_path / "reference.lm"
    written = lm.save(path)
    assert written == path.stat().st_size
    loaded = _core.ReferenceLM.load(str(path))
    assert loaded.ngram_counts == lm.ngram_counts and loaded.discounts == lm.discounts
    assert loaded.perplexities(held_ids, held_offsets) == lm.perplexities(held_ids, held_offsets)
    again = _core.ReferenceLM.train(ids, offsets, vocab_size=50, order=4, num_threads=1)
    again.save(tmp_path / "again.lm")
    assert (tmp_path / "again.lm").read_bytes() == path.read_bytes()


def test_reference_lm_errors_name_the_file_and_the_fault(tmp_path):
    ids, offsets = markov_corpus(50, seed=5)
    lm = _core.ReferenceLM.train(ids, offsets, vocab_size=50, order=3)
    path = tmp_path / "model.lm"
    lm.save(path)
    data = path.read_bytes()
    with pytest.raises(FileNotFoundError, match="missing.lm"):
        _core.ReferenceLM.load(tmp_path / "missing.lm")
    path.write_bytes(data[:-3])
    with pytest.raises(ValueError, match=r"model\.lm: truncated"):
        _core.ReferenceLM.load(path)
    path.write_bytes(b"{}" + data[2:])
    with pytest.raises(ValueError, match="bad magic"):
        _core.ReferenceLM.load(path)
    with pytest.raises(ValueError, match="not below vocab_size"):
        lm.perplexities(np.array([1, 50], dtype=np.uint32), np.array([0, 2], dtype=np.int64))
    with pytest.raises(ValueError, match="offsets"):
        lm.perplexities(np.array([1, 2], dtype=np.uint32), np.array([0, 3], dtype=np.int64))
    with pytest.raises(ValueError, match="array of uint32"):
        lm.perplexities(np.array([1, 2], dtype=np.uint64), np.array([0, 2], dtype=np.int64))
    with pytest.raises(ValueError, match="not decrease"):
        _core.ReferenceLM.train(ids, offsets, vocab_size=50, order=3, min_counts=[1, 3, 2])
