"""The Rust core (medtitan._core) called from Python, checked against Python references."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from medtitan import _core
from tests.conftest import reference_jaccard, reference_normalized, reference_shingles

WORDS = (
    "pleural effusion atelectasis pneumothorax cardiomediastinal silhouette normal limits "
    "patient denies chest pain fever chills cough dyspnea acetaminophen 500 mg daily BP "
    "120/80 mmHg, the and of with no acute findings: RIGHT Left base."
).split()


def random_text(rng: random.Random, length: int) -> str:
    separators = (" ", "  ", "\n", "\t", " , ")
    return "".join(rng.choice(WORDS) + rng.choice(separators) for _ in range(length))


def test_jaccard_equals_the_python_reference_on_random_texts():
    rng = random.Random(7)
    for trial in range(300):
        a = random_text(rng, rng.randint(0, 60))
        # b shares a prefix with a, so similarities spread over the whole [0, 1] range
        cut = rng.randint(0, len(a))
        b = a[:cut] + random_text(rng, rng.randint(0, 30))
        for ngram in (1, 3, 5):
            expected = reference_jaccard(a, b, ngram)
            assert _core.jaccard(a, b, ngram) == pytest.approx(expected, abs=1e-12), (trial, ngram, a, b)


def test_shingle_set_sizes_match_the_reference():
    rng = random.Random(11)
    for _ in range(100):
        text = random_text(rng, rng.randint(0, 40))
        shingles = _core.shingle_set(text, 5)
        assert shingles == sorted(set(shingles))
        assert len(shingles) == len(reference_shingles(text, 5))


def test_normalized_hash_ignores_case_and_spacing_only():
    rng = random.Random(3)
    texts = [random_text(rng, 20) for _ in range(200)]
    hashes = _core.normalized_hashes(texts)
    assert hashes == [_core.normalized_hash(t) for t in texts]
    by_normalized: dict[str, int] = {}
    for text, digest in zip(texts, hashes):
        # Same normalized text <=> same hash (no collisions among these few hundred texts).
        assert by_normalized.setdefault(reference_normalized(text), digest) == digest
    assert len(set(hashes)) == len(by_normalized)
    assert _core.normalized_hash("No acute  findings.\n") == _core.normalized_hash("no ACUTE findings.")
    assert _core.normalized_hash("No acute findings.") != _core.normalized_hash("No acute findings")


def test_near_duplicate_pairs_equal_brute_force():
    rng = random.Random(5)
    base = [random_text(rng, 40) for _ in range(12)]
    texts = []
    for text in base:
        texts.append(text)
        words = text.split()
        words[rng.randrange(len(words))] = "methylprednisolone"
        texts.append(" ".join(words))
    rng.shuffle(texts)
    for threshold in (0.5, 0.8, 0.95):
        expected = [
            (i, j, reference_jaccard(texts[i], texts[j]))
            for i in range(len(texts))
            for j in range(i + 1, len(texts))
            if reference_jaccard(texts[i], texts[j]) >= threshold
        ]
        got = _core.near_duplicate_pairs(texts, 5, threshold)
        assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in expected]
        assert [s for _, _, s in got] == pytest.approx([s for _, _, s in expected])
    assert _core.near_duplicate_pairs(texts, 5, 0.5), "the planted one-word edits must be found"


@pytest.mark.parametrize(
    "call",
    [
        lambda: _core.jaccard("a", "b", 0),
        lambda: _core.shingle_set("a", 0),
        lambda: _core.near_duplicate_pairs(["a"], 5, 0.0),
        lambda: _core.near_duplicate_pairs(["a"], 5, 1.5),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_a_rust_panic_in_a_worker_thread_becomes_a_python_exception():
    # In a child process, so that an abort (panic = "abort") would show as a signal, not kill pytest.
    code = (
        "from medtitan import _core\n"
        "try:\n"
        "    _core._panic_in_worker_for_tests('boom in rayon')\n"
        "except BaseException as error:\n"
        "    print(type(error).__name__, error)\n"
        "print('interpreter still alive')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "PanicException boom in rayon" in result.stdout
    assert "interpreter still alive" in result.stdout


def test_connected_components_keep_the_smallest_member():
    from medtitan import _core

    assert _core.connected_components(6, [(3, 1), (4, 1), (5, 2)]) == [0, 1, 2, 1, 1, 2]
    assert _core.connected_components(0, []) == []
    import pytest

    with pytest.raises(ValueError, match=r"\(1, 6\) outside 0..6"):
        _core.connected_components(6, [(1, 6)])
