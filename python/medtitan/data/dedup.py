"""Exact and near-duplicate detection over a list of texts held in memory (the Rust core does the
work): the reference dedup. The build does not call it: its dedup stage (stages/dedup.py: the
dedup-map, dedup-exact, dedup-bands and dedup-confirm tasks and the driver's union) computes the same
thing through a keyed shuffle so that no task holds the corpus, and
tests/test_executors.py::test_the_keyed_dedup_matches_the_in_memory_dedup checks that both give the
same removals, reasons and keepers. Use this module for texts that fit in memory.

Callers order the texts by document id: every duplicate group is represented by its smallest
index, so dedup keeps the document with the smallest id, whatever the number of threads.

* Exact duplicates: equal text after lowercasing and collapsing whitespace
  (`_core.normalized_hashes`, a 64-bit hash of the normalized text).
* Near-duplicates: MinHash (128 permutations of word 5-gram shingles) with LSH banding chosen so
  that a pair at the threshold becomes a candidate with probability >= min_probability; every
  candidate is confirmed by the EXACT shingle Jaccard similarity before clusters are joined, so
  no pair below the threshold is ever merged. See rust/dedup/minhash.rs and rust/dedup/lsh.rs.

    >>> from medtitan.data.dedup import deduplicate
    >>> result = deduplicate(texts)              # exact, then near, on all cores
    >>> kept = [t for t, keep in zip(texts, result.keep) if keep]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from medtitan import _core


def minhash_signatures(
    texts: Sequence[str], *, num_perm: int = 128, ngram: int = 5, seed: int = 1, num_threads: int | None = None
) -> np.ndarray:
    """MinHash signatures, shape (len(texts), num_perm), uint64 (read-only, no copy).

    Values are below 2^61 - 1; a text without words gets 2^64 - 1 everywhere. The fraction of
    equal positions of two rows estimates the Jaccard similarity of their shingle sets.
    """
    raw = _core.minhash_signatures(_as_list(texts), num_perm=num_perm, ngram=ngram, seed=seed, num_threads=num_threads)
    return np.frombuffer(raw, dtype="<u8").reshape(len(texts), num_perm)


def lsh_candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, sorted, of signature rows sharing one of `bands` buckets of `rows`
    values (see `_core.choose_lsh_bands`); rows of texts without words are never candidates."""
    signatures = np.ascontiguousarray(signatures, dtype="<u8")
    if signatures.ndim != 2:
        raise ValueError(f"signatures must be a 2-D array (texts x num_perm), got shape {signatures.shape}")
    return _core.lsh_candidate_pairs(signatures.tobytes(), signatures.shape[1], bands, rows)


@dataclass(frozen=True)
class NearDuplicateClusters:
    """representatives[i]: index of the smallest text in text i's cluster (i when unique).

    stats: documents, candidate_pairs (pairs sharing an LSH bucket), confirmed_pairs (exact
    Jaccard >= threshold), clusters (of two or more texts), duplicates (texts that are not
    their cluster's representative), bands, rows.
    """

    representatives: np.ndarray
    stats: dict[str, int]

    @property
    def keep(self) -> np.ndarray:
        """True for the texts that represent their cluster (the ones dedup keeps)."""
        return self.representatives == np.arange(len(self.representatives))


def near_duplicate_clusters(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    min_probability: float = 0.99,
    seed: int = 1,
    num_threads: int | None = None,
) -> NearDuplicateClusters:
    """Clusters of texts whose word-ngram shingle sets have exact Jaccard >= threshold
    (transitively), found through MinHash LSH candidates."""
    representatives, stats = _core.near_duplicate_clusters(
        _as_list(texts),
        num_perm=num_perm,
        ngram=ngram,
        threshold=threshold,
        min_probability=min_probability,
        seed=seed,
        num_threads=num_threads,
    )
    return NearDuplicateClusters(np.asarray(representatives, dtype=np.int64), dict(stats))


def exact_duplicate_groups(texts: Sequence[str]) -> np.ndarray:
    """For each text, the smallest index of a text equal to it up to case and spacing (int64)."""
    hashes = np.asarray(_core.normalized_hashes(_as_list(texts)), dtype=np.uint64)
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, group = np.unique(hashes, return_index=True, return_inverse=True)
    return first[group.reshape(-1)].astype(np.int64)


@dataclass(frozen=True)
class Deduplication:
    """representatives[i]: the text that stands for text i after exact then near dedup."""

    representatives: np.ndarray
    exact_representatives: np.ndarray  # the exact pass alone: smallest index of an equal text
    exact_duplicates: int  # texts equal (up to case and spacing) to an earlier text
    near_duplicates: int  # further texts removed as near-duplicates of a kept text
    near: NearDuplicateClusters  # the near-duplicate pass over the exact-unique texts

    @property
    def keep(self) -> np.ndarray:
        return self.representatives == np.arange(len(self.representatives))


def deduplicate(
    texts: Sequence[str],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    ngram: int = 5,
    min_probability: float = 0.99,
    seed: int = 1,
    num_threads: int | None = None,
) -> Deduplication:
    """Exact dedup, then near-duplicate clusters over the texts exact dedup keeps.

    Removing exact copies first keeps LSH buckets small (identical texts share every bucket).
    """
    texts = _as_list(texts)
    exact = exact_duplicate_groups(texts)
    unique = np.flatnonzero(exact == np.arange(len(texts)))
    near = near_duplicate_clusters(
        [texts[i] for i in unique],
        threshold=threshold,
        num_perm=num_perm,
        ngram=ngram,
        min_probability=min_probability,
        seed=seed,
        num_threads=num_threads,
    )
    # unique is increasing, so the smallest unique index of a cluster is also its smallest text.
    near_of_unique = np.empty(len(texts), dtype=np.int64)
    near_of_unique[unique] = unique[near.representatives]
    representatives = near_of_unique[exact]
    return Deduplication(
        representatives,
        exact,
        exact_duplicates=int(len(texts) - len(unique)),
        near_duplicates=int(near.stats["duplicates"]),
        near=near,
    )


def _as_list(texts: Sequence[str]) -> list[str] | tuple[str, ...]:
    return texts if isinstance(texts, (list, tuple)) else list(texts)
