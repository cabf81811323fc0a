"""MinHash signatures, LSH banding and near-duplicate clusters (rust/dedup/minhash.rs,
rust/dedup/lsh.rs, medtitan.data.dedup), checked against the documented definitions, the exact
Jaccard oracle and the planted duplicates of the demo corpus."""

from __future__ import annotations

import random

import numpy as np
import pytest

from medtitan import _core
from medtitan.data.dedup import (
    deduplicate,
    exact_duplicate_groups,
    lsh_candidate_pairs,
    minhash_signatures,
    near_duplicate_clusters,
)
from tests.conftest import SHARED_DATA, needs_shared_data, read_jsonl

MERSENNE_61 = (1 << 61) - 1
MASK_64 = (1 << 64) - 1
EMPTY = MASK_64

WORDS = (
    "pleural effusion atelectasis pneumothorax cardiomediastinal silhouette normal limits "
    "patient denies chest pain fever chills cough dyspnea acetaminophen 500 mg daily BP "
    "120/80 mmHg, the and of with no acute findings: RIGHT Left base stable mild moderate "
    "severe bilateral lower lobe opacity consolidation edema"
).split()


def random_text(rng: random.Random, length: int) -> str:
    separators = (" ", "  ", "\n", "\t", " , ")
    return "".join(rng.choice(WORDS) + rng.choice(separators) for _ in range(length))


def splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & MASK_64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK_64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK_64
    return state, z ^ (z >> 31)


def reference_permutations(num_perm: int, seed: int) -> list[tuple[int, int]]:
    """The documented generator: a_0, b_0, a_1, b_1, ... from SplitMix64(seed), top 61 bits,
    out-of-range draws rejected (a in [1, p), b in [0, p))."""
    state, coefficients = seed, []

    def draw(low: int) -> int:
        nonlocal state
        while True:
            state, value = splitmix64(state)
            value >>= 3
            if low <= value < MERSENNE_61:
                return value

    for _ in range(num_perm):
        a = draw(1)
        coefficients.append((a, draw(0)))
    return coefficients


def reference_signature(text: str, num_perm: int, seed: int, ngram: int = 5) -> list[int]:
    shingles = [h % MERSENNE_61 for h in _core.shingle_set(text, ngram)]
    if not shingles:
        return [EMPTY] * num_perm
    return [min((a * x + b) % MERSENNE_61 for x in shingles) for a, b in reference_permutations(num_perm, seed)]


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    return 1 - (1 - similarity**rows) ** bands


# --- signatures ---------------------------------------------------------------------------------


def test_signatures_follow_the_documented_permutations():
    rng = random.Random(3)
    texts = [random_text(rng, n) for n in (1, 4, 5, 30, 200)] + ["", " -- ; ", "Échographie : RAS, SANS fièvre."]
    for seed in (1, 12345):
        got = minhash_signatures(texts, num_perm=40, seed=seed)
        assert got.dtype == np.uint64 and got.shape == (len(texts), 40)
        for row, text in zip(got, texts):
            assert row.tolist() == reference_signature(text, 40, seed), text


def test_signatures_are_deterministic_and_depend_only_on_the_shingle_set():
    rng = random.Random(5)
    texts = [random_text(rng, rng.randint(0, 120)) for _ in range(200)] + ["", " ,. "]
    one = minhash_signatures(texts, num_threads=1)
    assert np.array_equal(one, minhash_signatures(texts))
    assert np.array_equal(one, minhash_signatures(texts, num_threads=3))
    assert np.array_equal(one, np.frombuffer(_core.minhash_signatures(texts), dtype="<u8").reshape(-1, 128))
    # Same words up to case, spacing and edge punctuation: same shingle set, same signature.
    base = "The patient denies chest pain. Fever and chills for three days; cough is productive."
    variants = [
        base,
        base.upper(),
        "  the PATIENT denies, chest pain fever and chills for three days cough -- is productive!",
    ]
    rows = minhash_signatures(variants)
    assert len({tuple(_core.shingle_set(v)) for v in variants}) == 1
    assert (rows == rows[0]).all()
    assert not np.array_equal(rows[0], minhash_signatures([base.replace("three", "four")])[0])
    # Another seed gives other permutations; the first k of more permutations are the k.
    assert not np.array_equal(minhash_signatures(texts[:5], seed=2), one[:5])
    assert np.array_equal(minhash_signatures(texts[:5], num_perm=256)[:, :128], one[:5])
    # Texts without words get the empty signature, and nothing else does.
    empty = minhash_signatures(["", "  \n", "-- ,;"])
    assert (empty == EMPTY).all()
    no_words = np.array([not _core.shingle_set(t) for t in texts])
    assert no_words.any() and ((one == EMPTY).all(axis=1) == no_words).all()
    assert (one[~no_words] < MERSENNE_61).all()


def test_signature_agreement_estimates_exact_jaccard():
    rng = random.Random(11)
    errors = []
    for _ in range(150):
        a = random_text(rng, rng.randint(40, 150))
        cut = rng.randint(0, len(a))
        b = a[:cut] + random_text(rng, rng.randint(0, 60))
        exact = _core.jaccard(a, b)
        sa, sb = minhash_signatures([a, b], num_perm=256)
        estimate = float(np.mean(sa == sb))
        # Binomial standard error sqrt(J(1-J)/k); allow five of them plus one position.
        tolerance = 5 * np.sqrt(exact * (1 - exact) / 256) + 1 / 256
        assert abs(estimate - exact) <= tolerance, (exact, estimate)
        errors.append(estimate - exact)
    assert abs(np.mean(errors)) < 0.01, "the estimate is unbiased"
    assert np.sqrt(np.mean(np.square(errors))) < 0.04


def test_bad_arguments_raise_value_errors():
    for kwargs, message in [
        (dict(num_perm=0), "num_perm"),
        (dict(ngram=0), "ngram"),
        (dict(num_threads=0), "num_threads"),
    ]:
        with pytest.raises(ValueError, match=message):
            minhash_signatures(["a b c"], **kwargs)
    with pytest.raises(ValueError, match="threshold"):
        near_duplicate_clusters(["a b c"], threshold=0.0)
    with pytest.raises(ValueError, match="min_probability"):
        near_duplicate_clusters(["a b c"], min_probability=1.0)
    with pytest.raises(ValueError, match="whole number of rows"):
        _core.lsh_candidate_pairs(b"\0" * 12, 128, 21, 6)
    with pytest.raises(ValueError, match="permutations"):
        _core.lsh_candidate_pairs(b"", 128, 22, 6)


# --- banding and candidates ---------------------------------------------------------------------


def test_banding_meets_the_required_probability():
    bands, rows = _core.choose_lsh_bands(128, 0.8, 0.99)
    assert (bands, rows) == (21, 6) == _core.choose_lsh_bands()
    assert candidate_probability(0.8, bands, rows) >= 0.99
    # rows is the largest that meets it.
    assert all(candidate_probability(0.8, 128 // r, r) < 0.99 for r in range(rows + 1, 129))
    for num_perm, threshold, probability in [(64, 0.7, 0.95), (256, 0.9, 0.999), (128, 0.5, 0.9)]:
        b, r = _core.choose_lsh_bands(num_perm, threshold, probability)
        assert b * r <= num_perm and candidate_probability(threshold, b, r) >= probability
    with pytest.raises(ValueError, match="more permutations"):
        _core.choose_lsh_bands(2, 0.1, 0.99)


def test_candidate_pairs_share_a_bucket_and_exclude_empty_documents():
    base = "the patient is a pleasant woman who presents with cough fever and chills for three days " * 3
    texts = [
        base,
        "",
        "unrelated radiology report with clear lungs and no pleural effusion today",
        base.upper(),
        "",
        base + " extra",
    ]
    signatures = minhash_signatures(texts)
    pairs = _core.lsh_candidate_pairs(signatures.tobytes(), 128, 21, 6)
    assert pairs == sorted(set(pairs)) and all(i < j for i, j in pairs)
    assert {(0, 3), (0, 5), (3, 5)} <= set(pairs)
    assert lsh_candidate_pairs(signatures, 21, 6) == pairs
    assert not any(1 in pair or 4 in pair for pair in pairs), "empty texts are never candidates"
    for i, j in pairs:
        rows = signatures[[i, j], :126].reshape(2, 21, 6)
        assert (rows[0] == rows[1]).all(axis=1).any(), "a candidate shares a whole band"


# --- clusters ------------------------------------------------------------------------------------


def test_clusters_equal_the_exact_oracle_components():
    rng = random.Random(23)
    texts = []
    for _ in range(40):
        words = random_text(rng, 150).split()
        texts.append(" ".join(words))
        for edits in (1, 2, 6, 30):
            copy = list(words)
            for _ in range(edits):
                copy[rng.randrange(len(copy))] = rng.choice(WORDS) + "x"
            texts.append(" ".join(copy))
    texts += ["", "", "short text"]
    rng.shuffle(texts)
    found = near_duplicate_clusters(texts)
    oracle = _core.near_duplicate_pairs(texts, 5, 0.8)
    assert oracle and found.stats["confirmed_pairs"] == len(oracle)
    assert found.stats["candidate_pairs"] >= len(oracle)
    assert (found.stats["bands"], found.stats["rows"]) == (21, 6)
    parent = list(range(len(texts)))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j, _ in oracle:
        ri, rj = find(i), find(j)
        parent[max(ri, rj)] = min(ri, rj)
    expected = np.array([find(i) for i in range(len(texts))])
    assert found.representatives.dtype == np.int64
    assert np.array_equal(found.representatives, expected)
    assert found.stats["duplicates"] == int((~found.keep).sum())
    assert found.stats["clusters"] == len(set(expected[expected != np.arange(len(texts))].tolist()))
    again = near_duplicate_clusters(texts, num_threads=1)
    assert np.array_equal(again.representatives, found.representatives) and again.stats == found.stats


def test_exact_groups_and_combined_dedup():
    texts = ["Cough and fever.", "b", "cough  AND fever.", "", "c", "", "B"]
    assert exact_duplicate_groups(texts).tolist() == [0, 1, 0, 3, 4, 3, 1]
    assert exact_duplicate_groups([]).tolist() == []
    base = "the patient is a pleasant woman who presents with cough fever and chills for three days and no rash"
    texts = [
        base.replace("rash", "itch"),
        "other text entirely about radiology findings today",
        base,
        base.upper(),
        base + " today",
    ]
    result = deduplicate(texts)
    assert result.representatives.tolist() == [0, 1, 0, 0, 0]
    assert (result.exact_duplicates, result.near_duplicates) == (1, 2)
    assert result.keep.tolist() == [True, True, False, False, False]


# --- the demo corpus -----------------------------------------------------------------------------


def load_corpus(folder) -> list[dict]:
    records = [record for path in sorted(folder.glob("*.jsonl")) for record in read_jsonl(path)]
    return sorted(records, key=lambda record: record["id"])


def test_demo_corpus_planted_duplicates_are_found_without_false_merges(demo_dir):
    records = load_corpus(demo_dir)
    index = {record["id"]: i for i, record in enumerate(records)}
    families = read_jsonl(demo_dir / "ground_truth" / "duplicates.jsonl")
    # A document's family: the planted family it belongs to (families sharing a document are one),
    # or the document alone.
    family_of = list(range(len(records)))

    def root(i):
        while family_of[i] != i:
            i = family_of[i]
        return i

    for family in families:
        members = [index[family["original"]]] + [index[c] for c in family["copies"]]
        for m in members[1:]:
            a, b = root(members[0]), root(m)
            family_of[max(a, b)] = min(a, b)
    family = [root(i) for i in range(len(records))]

    found = near_duplicate_clusters([r["text"] for r in records])
    representatives = found.representatives
    assert all(r <= i for i, r in enumerate(representatives)), "the representative is the smallest index"
    clusters: dict[int, list[int]] = {}
    for i, r in enumerate(representatives):
        clusters.setdefault(int(r), []).append(i)
    assert all(r == min(members) for r, members in clusters.items())

    found_copies = {"exact": 0, "near": 0}
    planted = {"exact": 0, "near": 0}
    for fam in families:
        original = index[fam["original"]]
        for copy in fam["copies"]:
            planted[fam["kind"]] += 1
            found_copies[fam["kind"]] += int(representatives[index[copy]] == representatives[original])
    recall = found_copies["near"] / planted["near"]
    in_clusters = [i for members in clusters.values() if len(members) > 1 for i in members]
    falsely_merged = [i for i in in_clusters if any(family[j] != family[i] for j in clusters[int(representatives[i])])]
    false_merge_rate = len(falsely_merged) / max(1, len(in_clusters))
    print(
        f"\ndemo corpus: {len(records)} docs; near copies found {found_copies['near']}/{planted['near']} "
        f"(recall {recall:.1%}), exact copies found {found_copies['exact']}/{planted['exact']}; "
        f"{len(in_clusters)} docs in {found.stats['clusters']} clusters, {len(falsely_merged)} falsely merged "
        f"({false_merge_rate:.2%}); stats {found.stats}"
    )
    assert planted["near"] >= 40
    assert recall >= 0.99
    assert found_copies["exact"] == planted["exact"]
    assert false_merge_rate <= 0.01


# --- the shared development corpus ---------------------------------------------------------------


@needs_shared_data
def test_clinical_notes_after_dedup_hold_no_pair_at_the_threshold():
    records = sorted(read_jsonl(SHARED_DATA / "clinical_notes.jsonl"), key=lambda record: record["id"])
    texts = [record["text"] for record in records]
    result = deduplicate(texts, threshold=0.8)
    kept = [text for text, keep in zip(texts, result.keep) if keep]
    print(
        f"\nclinical_notes.jsonl: {len(texts):,} docs, {result.exact_duplicates:,} exact duplicates, "
        f"{result.near_duplicates:,} near-duplicates ({result.near.stats['clusters']} clusters, "
        f"{result.near.stats['candidate_pairs']:,} candidate pairs, {result.near.stats['confirmed_pairs']:,} confirmed), "
        f"{len(kept):,} kept"
    )
    assert result.exact_duplicates > 0 and result.near_duplicates > 0
    assert len(kept) == len(texts) - result.exact_duplicates - result.near_duplicates
    assert all(result.representatives[r] == r for r in result.representatives)
    leftover = _core.near_duplicate_pairs(kept, 5, 0.8)
    assert leftover == [], f"kept documents still holding near-duplicate pairs: {leftover[:5]}"
