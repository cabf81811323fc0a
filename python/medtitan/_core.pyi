"""Type stub of medtitan._core, the Rust core (written by `python -m medtitan.core_stub`; do not edit)."""

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any


class ContaminationIndex:
    """Evaluation samples indexed by word n-gram, to find training documents that contain them."""
    def __init__(self, samples: Sequence[str], ngram: int = 13, min_words: int = 5) -> None: ...
    @property
    def ngram(self) -> int:
        ...
    @property
    def samples(self) -> int:
        ...
    def scan_batch(self, texts: Sequence[str], threshold: float = 0.7, num_threads: int | None = None) -> list[list[tuple[int, float]]]:
        """For each text, the samples of which it holds more than `threshold` of the n-grams:
        a list of (sample index, overlap fraction).
        """
    @property
    def skipped(self) -> list[int]:
        """Indices of samples too short to test (fewer than min_words words)."""

class DeidEngine:
    """Rules + lexicons + the learned name/place tagger (rust/deid/engine.rs)."""
    def __init__(self, model: bytes | None, lexicons: Mapping[str, Sequence[str]], use_rules: bool = True) -> None: ...
    def deidentify_batch(self, texts: Sequence[str], num_threads: int | None = None, surrogate_seed: int | None = None) -> list[tuple[str, list[tuple[int, int, str]]]]:
        """Like `_core.deidentify_batch`: [(scrubbed text, [(start, end, type)])], character offsets of
        the original texts, on `num_threads` threads (default: all cores), without the GIL.
        `surrogate_seed`: surrogates from the lexicons seeded by it instead of placeholders.
        """
    def detect_batch(self, texts: Sequence[str], num_threads: int | None = None) -> list[list[tuple[int, int, str]]]:
        """The spans alone: [[(start, end, type)]] in character offsets."""
    @property
    def lexicon_fingerprint(self) -> str:
        """sha256 of the lexicons' canonical content."""
    @property
    def sha256(self) -> str | None:
        """sha256 of the tagger file (None without a tagger)."""

REPETITION_SCORE_NAMES: list[str]

class ReferenceLM:
    """A token n-gram language model (interpolated modified Kneser-Ney, pruned) of reference text,
    scoring the perplexity of documents: ReferenceLM.train(...) or ReferenceLM.load(path).
    Documents are scored with a begin-of-document context and an end-of-document token.
    """
    @property
    def discounts(self) -> list[tuple[float, float, float]]:
        """Kneser-Ney discounts (D1, D2, D3+) per order."""
    @staticmethod
    def load(path: str | os.PathLike[str]) -> ReferenceLM:
        """Read a model file written by save(). Raises FileNotFoundError when it is missing and
        ValueError naming the file and the fault (truncated, bad magic, version, checksum).
        """
    @property
    def min_counts(self) -> list[int]:
        """The pruning thresholds it was trained with, per order."""
    @property
    def ngram_counts(self) -> list[int]:
        """N-grams stored per order (order 1: distinct tokens seen, the end token included)."""
    @property
    def order(self) -> int:
        """Highest n-gram order."""
    def perplexities(self, ids: bytes, offsets: bytes, num_threads: int | None = None) -> bytes:
        """Perplexity exp(-mean ln p) of each document ids[offsets[i]:offsets[i+1]] over its tokens
        and the end token, as little-endian float64 (`ids` uint32, `offsets` int64, as for
        train). GIL released; `num_threads` threads.
        """
    def save(self, path: str | os.PathLike[str]) -> int:
        """Write the model to `path` (a temporary file renamed when complete); returns the bytes
        written. The same model always gives the same bytes.
        """
    @staticmethod
    def train(ids: bytes, offsets: bytes, vocab_size: int, order: int = 5, min_counts: Sequence[int] | None = None, num_threads: int | None = None) -> ReferenceLM:
        """Train on the documents ids[offsets[i]:offsets[i+1]]: `ids` uint32 below vocab_size,
        `offsets` int64 from 0 to len(ids), each as little-endian bytes (as
        Tokenizer.encode_batch_flat returns them) or a numpy array of that dtype. `min_counts[k-1]`: order-k n-grams seen fewer times are pruned (default 1, 1,
        then 2: singletons of order 3 and up). Deterministic: the same input gives the same model on
        any number of threads. GIL released; `num_threads` threads.
        """
    @property
    def vocab_size(self) -> int:
        """Token ids are below vocab_size (the model adds the end and begin tokens)."""

class SampleWriter:
    """Packs documents into samples of `sample_len` tokens (ids + eos each, no padding) and appends
    the complete samples to a file of little-endian uint32.
    """
    def __init__(self, path: str | os.PathLike[str], sample_len: int, eos_id: int) -> None: ...
    def close(self) -> dict[str, int]:
        """Flush and close; returns {"tokens": complete-sample tokens, "dropped_tokens": the tail
        that did not fill a sample, "documents": documents packed}.
        """
    def push(self, ids: bytes, offsets: bytes, order: bytes) -> None:
        """Append the documents `order` (int64 indices) of the flat `ids` (uint32) delimited by
        `offsets` (int64, n+1), in that order.
        """

class Tokenizer:
    """A SentencePiece BPE model, encoding id for id as sentencepiece does (rust/tokenizer/bpe.rs): load it
    with `Tokenizer.from_file(path)`; thread-safe, and the batch methods release the GIL.
    """
    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids` (byte pieces joined back into UTF-8); ValueError for an id outside the vocabulary."""
    def encode(self, text: str) -> list[int]:
        """The ids of `text`, the same as sentencepiece's `encode(text)` for the same model."""
    def encode_batch(self, texts: Sequence[str], num_threads: int | None = None) -> list[list[int]]:
        """Encode many texts on `num_threads` threads (default: all cores), without the GIL."""
    def encode_batch_flat(self, texts: Sequence[str], num_threads: int | None = None) -> tuple[bytes, bytes]:
        """Like encode_batch, but returns (ids, offsets) as bytes: little-endian uint32 ids of all
        texts concatenated, and int64 offsets (len(texts) + 1) into them; no per-token objects.
        """
    def encode_buffers(self, data: bytes, offsets: bytes, num_threads: int | None = None) -> tuple[bytes, bytes]:
        """Encode UTF-8 strings held in one buffer (an Arrow string array's data), delimited by
        `offsets` (n+1 little-endian int64 byte offsets). Returns the same as encode_batch_flat.
        """
    def encode_jsonl(self, path: str | os.PathLike[str], text_field: str = "text", num_threads: int | None = None) -> tuple[bytes, bytes]:
        """Encode the text field of every line of a JSONL file, entirely in Rust. Errors name the
        file and line: unreadable file, invalid UTF-8, malformed JSON, missing or non-string text.
        """
    @staticmethod
    def from_file(path: str | os.PathLike[str]) -> Tokenizer:
        """Load a sentencepiece BPE `.model` file."""
    def id_to_piece(self, id: int) -> str:
        """The piece of `id`; ValueError for an id outside the vocabulary."""
    def normalize(self, text: str) -> str:
        """`text` as the model's normalizer (NFKC and whitespace rules of its spec) writes it before encoding."""
    @property
    def path(self) -> str:
        """The `.model` file it was loaded from."""
    def piece_to_id(self, piece: str) -> int:
        """The id of `piece`, or the <unk> id when the vocabulary has no such piece."""
    @property
    def splits_into_words(self) -> bool:
        """True when the model allows the fast path (segments encoded independently, memoized)."""
    @property
    def unk_id(self) -> int:
        """The id of <unk>, given to what the vocabulary cannot encode (without byte fallback)."""
    @property
    def vocab_size(self) -> int:
        """The number of pieces, ids 0 .. vocab_size - 1."""

class Vocabulary:
    """A set of words (the reference LM's training vocabulary): `Vocabulary(words)`, and the share of
    each text's words not in it (`unknown_fractions`). Words as in `count_words`.
    """
    def unknown_fractions(self, texts: Sequence[str], num_threads: int | None = None) -> Any:
        """The share of each text's words that are not in the vocabulary (0.0 for a text without
        words), as little-endian float64. GIL released; `num_threads` threads.
        """

def choose_lsh_bands(num_perm: int = 128, threshold: float = 0.8, min_probability: float = 0.99) -> tuple[int, int]:
    """(bands, rows): the largest rows such that num_perm // rows bands find a pair of Jaccard
    `threshold` with probability >= min_probability.
    """

def connected_components(n: int, pairs: Sequence[tuple[int, int]]) -> list[int]:
    """For each of `n` items, the smallest item of its connected component under `pairs` (the
    union-find of rust/dedup/lsh.rs), for joins whose edges were found elsewhere (the build's keyed dedup).
    """

def count_words(texts: Sequence[str], num_threads: int | None = None) -> Any:
    """How often each word (a lowercased run of two or more ASCII letters) occurs in `texts`: the
    counts a reference vocabulary is built from. GIL released; `num_threads` threads.
    """

def deid_corpus_stop_words(texts: Sequence[str], num_threads: int | None = None) -> list[str]:
    """The corpus stop words of `texts`: words written in lowercase often enough that a name or place
    list entry equal to them is more likely the ordinary word (sorted, normalized lowercase).
    """

def deid_lexicon_fingerprint(lexicons: Mapping[str, Sequence[str]]) -> str:
    """sha256 (hex) of the lexicons' canonical content: what a tagger records and is checked against."""

def deid_model_info(model: bytes | None) -> dict[str, Any]:
    """Header facts of a tagger file: sha256, lexicon_fingerprint, log2_buckets, vocabulary,
    labels, format and feature versions. Raises ValueError for a file that is not a valid model.
    """

def deid_types() -> list[str]:
    """The placeholder types, e.g. "NAME" for "[NAME]"."""

def deidentify(text: str, surrogate_seed: int | None = None) -> tuple[str, list[tuple[int, int, str]]]:
    """Scrub PHI from `text`: returns (scrubbed text, [(start, end, type)]), the spans in character
    offsets of the original text, sorted and non-overlapping.
    """

def deidentify_batch(texts: Sequence[str], num_threads: int | None = None, surrogate_seed: int | None = None) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """`deidentify` of every text, on `num_threads` threads (default: all cores), without the GIL.
    `surrogate_seed`: realistic surrogates seeded by it instead of placeholders.
    """

def jaccard(a: str, b: str, ngram: int = 5) -> float:
    """Exact Jaccard similarity of the word n-gram shingle sets of two texts."""

def jaccard_pairs(left: Sequence[str], right: Sequence[str], left_index: Sequence[int], right_index: Sequence[int], ngram: int = 5, num_threads: int | None = None) -> bytes:
    """Exact shingle Jaccard of pairs (left[left_index[k]], right[right_index[k]]), as
    little-endian float64; each text's shingle set is built once. Confirms LSH candidates whose
    documents live in different partitions. GIL released; `num_threads` threads.
    """

def lsh_band_keys(signatures: bytes, num_perm: int, bands: int, rows: int) -> tuple[bytes, bytes]:
    """Band keys of MinHash signatures, for distributed LSH (the keyed shuffle of the build):
    returns (keys, present): keys are little-endian uint64, row-major (n x bands), and
    present[i] is 0 for a document without shingles (its keys are zero and must be ignored).
    The same keys [`lsh::candidate_pairs`] buckets by. GIL released.
    """

def lsh_candidate_pairs(signatures: bytes, num_perm: int, bands: int, rows: int) -> list[tuple[int, int]]:
    """Candidate pairs (i, j), i < j, sorted, of the rows of `signatures` (as minhash_signatures
    returns them) that share a band bucket. GIL released.
    """

def minhash_signatures(texts: Sequence[str], num_perm: int = 128, ngram: int = 5, seed: int = 1, num_threads: int | None = None) -> bytes:
    """MinHash signatures of `texts` over word `ngram` shingles: little-endian uint64, row-major
    (len(texts) x num_perm). Empty texts get all 2^64 - 1. GIL released; `num_threads`
    threads (default: all cores).
    """

def near_duplicate_clusters(texts: Sequence[str], num_perm: int = 128, ngram: int = 5, threshold: float = 0.8, min_probability: float = 0.99, seed: int = 1, num_threads: int | None = None) -> tuple[list[int], dict[str, int]]:
    """Near-duplicate clusters of `texts`: MinHash LSH candidates confirmed by exact Jaccard >=
    threshold, joined by union-find. Returns (representatives, stats): for each text the index
    of the smallest text of its cluster (itself when unique), and a dict with documents,
    candidate_pairs, confirmed_pairs, clusters (of 2+ texts), duplicates, bands, rows.
    """

def near_duplicate_pairs(texts: Sequence[str], ngram: int = 5, threshold: float = 0.8) -> list[tuple[int, int, float]]:
    """Every pair (i, j, similarity), i < j, of texts whose exact shingle Jaccard is >= threshold."""

def non_alphanumeric_ratios(texts: Sequence[str], num_threads: int | None = None) -> list[float]:
    """Share of visible characters that are neither letters nor digits, for each text."""

def normalized_hash(text: str) -> int:
    """Hash of the text after lowercasing and collapsing whitespace (the exact-dedup key)."""

def normalized_hashes(texts: Sequence[str]) -> list[int]:
    """normalized_hash of every text, on all cores, with the GIL released."""

def permutation(n: int, seed: int) -> bytes:
    """A permutation of range(n) determined by `seed` alone, as little-endian uint64 bytes."""

def read_sentencepiece_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw fields of a SentencePiece `.model` (rust/tokenizer/sp_model.rs reads it; no protobuf package
    needed): pieces as (piece, score, type) with sentencepiece's type numbers (1 normal,
    2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), the trainer flags and the
    normalizer spec. For exporters that rebuild the tokenizer elsewhere (export-hf).
    """

def repetition_scores(texts: Sequence[str], num_threads: int | None = None) -> bytes:
    """Gopher's repetition statistics of each text, as little-endian float64, row-major
    (len(texts) x 13, columns in the order of REPETITION_SCORE_NAMES): duplicate line and
    paragraph fractions (by count and by characters), the character share of the most frequent
    2-, 3- and 4-gram, and of the words inside repeated 5- to 10-grams. Words are exact
    whitespace-separated tokens (case and punctuation kept). GIL released; `num_threads` threads.
    """

def shingle_set(text: str, ngram: int = 5) -> list[int]:
    """Sorted, deduplicated 64-bit hashes of the word n-gram shingles of `text`."""

def train_deid_tagger(examples: Sequence[Any], corpus: Sequence[str], lexicons: Mapping[str, Sequence[str]], seed: int = 0, epochs: int = 8, log2_buckets: int = 18, corpus_folds: int | None = None, progress: Callable[..., Any] | None = None, num_threads: int | None = None, runs: int = 1) -> bytes:
    """Trains the name/place tagger; returns the model file's bytes.

    `examples`: [(text, [(start, end, label)], source)], character offsets, label "NAME",
    "HOSPITAL", "LOCATION" or None (tokens of unknown label: no update), `source` the index in
    `corpus` of the real text the example was made from. `corpus`: the real texts whose word
    statistics the model keeps. `corpus_folds` (one fold number per corpus text; keep duplicate
    families together) cross-fits those statistics: an example's words are looked up in the
    statistics of the other folds; None: no cross-fitting. `progress(done)` is called (with the
    GIL) with the documents visited so far (all runs and epochs counted); an exception it raises
    stops the training. `runs` independent runs are averaged (see `TrainConfig::runs`).
    """

def write_shards(packed: str | os.PathLike[str], sample_len: int, seed: int, samples_per_shard: int, vocab_size: int, prefix: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Write the samples of a packed uint32 file as MMIDIDX shards named `<prefix>-NNNNN`, in the
    order of a permutation seeded by `seed`, at most `samples_per_shard` samples each.
    """
