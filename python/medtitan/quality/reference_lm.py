"""The filter stage's reference language model: a token n-gram model with interpolated modified
Kneser-Ney smoothing over the build tokenizer's ids, trained and scored in Rust
(rust/filters/reference_lm.rs). `medtitan-data train-reference-lm` trains one on clean text;
`[filters] reference_lm = FILE` and `max_perplexity` make the build drop documents it finds
too surprising (corrupted text, rare-token soup, another language), as CCNet does with its
n-gram model.

The model file has a sidecar, FILE.json: the tokenizer it was trained with (path and sha256),
the order and count cutoffs, the n-gram counts, the inputs and what was quarantined, and a
calibration per doc_type. A build refuses a model trained with another tokenizer: its ids would
mean other pieces.

Calibration: one duplicate family in CALIBRATION_EVERY (by a hash of meta.group, else the id) is
left out of training and scored by the trained model; the sidecar keeps the quantiles of each
doc_type's perplexities. Perplexity depends on the kind of text far more than on its quality (a
5-gram model of clinical notes puts clean notes near 50 and clean PubMed abstracts near 2,000), so
the filter raises its bar for a doc_type whose calibration says so: a document is removed above
the larger of `[filters] max_perplexity` and perplexity_calibration_factor x its doc_type's 99th
percentile.

FILE.words holds the training text's vocabulary: the filter also removes a document whose share
of unknown words passes `[filters] max_unknown_word_fraction` (raised, for a calibrated doc_type,
to its 99th percentile plus UNKNOWN_WORDS_MARGIN), which catches OCR-style noise that perplexity
alone lets through.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from tqdm import tqdm

from medtitan import _core
from medtitan.checksums import sha256_of
from medtitan.data.documents import Document, ReadReport, read_documents
from medtitan.tokenizer import Tokenizer

ENCODE_BATCH = 4096  # documents encoded per Rust call while reading (bounds the Python-side lists)
CALIBRATION_EVERY = 20  # one duplicate family in 20 scores the model instead of training it
MIN_CALIBRATION_DOCUMENTS = 20  # fewer in a doc_type: no calibration for it (its quantiles would be noise)
CALIBRATION_QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999}


def calibration_family(document: Document) -> bool:
    """Whether a document belongs to the calibration slice (a pure function of its family)."""
    return (
        int.from_bytes(hashlib.blake2b(document.group.encode(), digest_size=8).digest(), "little") % CALIBRATION_EVERY
        == 0
    )


def sidecar_path(model: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(model)}.json")


def vocabulary_path(model: str | os.PathLike) -> Path:
    """FILE.words: every word of the training text, one a line, sorted (rust/filters/vocabulary.rs
    says what a word is)."""
    return Path(f"{os.fspath(model)}.words")


def train_reference_lm(
    inputs: list[str | os.PathLike],
    tokenizer_path: str | os.PathLike,
    output: str | os.PathLike,
    order: int = 5,
    min_counts: list[int] | None = None,
    text_field: str = "text",
    select: Callable[[Document], bool] | None = None,
    num_threads: int | None = None,
    progress: bool = True,
) -> dict:
    """Train on every good document of `inputs` (those `select` accepts, when given), write the
    model to `output` and its sidecar next to it; returns the sidecar."""
    started = time.perf_counter()
    tokenizer = Tokenizer.from_file(tokenizer_path)
    report = ReadReport()
    pieces: list[np.ndarray] = []
    lengths: list[np.ndarray] = []
    batch: list[str] = []
    characters = 0
    calibration: dict[str, list[str]] = {}

    word_counts: Counter = Counter()

    def encode(texts: list[str]) -> None:
        ids, offsets = tokenizer.encode_flat(texts, num_threads)
        pieces.append(ids)
        lengths.append(np.diff(offsets))
        word_counts.update(dict(_core.count_words(texts, num_threads)))

    documents = read_documents(inputs, text_field=text_field, report=report, file_errors="quarantine")
    for document in tqdm(documents, desc="reading", unit=" docs", disable=not progress):
        if select is not None and not select(document):
            continue
        if calibration_family(document):
            calibration.setdefault(document.doc_type, []).append(document.text)
            continue
        batch.append(document.text)
        characters += len(document.text)
        if len(batch) >= ENCODE_BATCH:
            encode(batch)
            batch = []
    if batch:
        encode(batch)
    if not pieces:
        raise ValueError(f"no documents to train on in {', '.join(map(str, inputs))}")
    ids = np.concatenate(pieces).astype("<u4")
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype("<i8")
    if progress:
        print(f"training an order-{order} model on {len(offsets) - 1:,} documents, {len(ids):,} tokens", flush=True)
    model = _core.ReferenceLM.train(
        ids.tobytes(), offsets.tobytes(), tokenizer.vocab_size, order, min_counts, num_threads
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    size = model.save(str(output))
    words = sorted(word_counts)
    vocabulary_path(output).write_text("".join(w + "\n" for w in words), encoding="ascii")
    vocabulary = _core.Vocabulary(words)
    calibrated = {}
    for doc_type, texts in sorted(calibration.items()):
        if len(texts) < MIN_CALIBRATION_DOCUMENTS:
            continue
        scores = perplexities(model, *tokenizer.encode_flat(texts, num_threads), num_threads)
        unknown = np.frombuffer(vocabulary.unknown_fractions(texts, num_threads), dtype="<f8")
        calibrated[doc_type] = (
            {"documents": len(texts)}
            | {name: round(float(np.quantile(scores, q)), 2) for name, q in CALIBRATION_QUANTILES.items()}
            | {
                f"unknown_words_{name}": round(float(np.quantile(unknown, q)), 4)
                for name, q in CALIBRATION_QUANTILES.items()
            }
        )
    sidecar = {
        "model": output.name,
        "bytes": size,
        "sha256": sha256_of(output),
        "tokenizer": {
            "path": str(Path(tokenizer_path).resolve()),
            "sha256": sha256_of(tokenizer_path),
            "vocab_size": tokenizer.vocab_size,
        },
        "order": order,
        "min_counts": min_counts,
        "ngram_counts": list(model.ngram_counts),
        "documents": len(offsets) - 1,
        "tokens": int(len(ids)),
        "characters": characters,
        "inputs": report.files,
        "quarantined": len(report.quarantined),
        "calibration": calibrated,
        "vocabulary": {"file": vocabulary_path(output).name, "words": len(words)},
        "seconds": round(time.perf_counter() - started, 1),
    }
    sidecar_path(output).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return sidecar


@lru_cache(maxsize=2)
def load_reference_lm(path: str, tokenizer_sha256: str):
    """(model, calibration by doc_type, vocabulary) of the model at `path` (one per process),
    after checking it was trained with the tokenizer whose sha256 is given; errors name the file."""
    sidecar = sidecar_path(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such reference LM (medtitan-data train-reference-lm makes one)")
    if not sidecar.exists():
        raise ValueError(f"{sidecar}: missing; it records the tokenizer the model was trained with")
    trained_with = json.loads(sidecar.read_text(encoding="utf-8"))["tokenizer"]
    if trained_with["sha256"] != tokenizer_sha256:
        raise ValueError(
            f"{path}: trained with the tokenizer {trained_with['path']} (sha256 "
            f"{trained_with['sha256'][:12]}...), not the build's (sha256 {tokenizer_sha256[:12]}...): "
            "retrain it with the build's tokenizer"
        )
    words = vocabulary_path(path)
    if not words.exists():
        raise ValueError(f"{words}: missing; train-reference-lm writes it beside the model")
    vocabulary = _core.Vocabulary(words.read_text(encoding="ascii").split())
    return (
        _core.ReferenceLM.load(path),
        json.loads(sidecar.read_text(encoding="utf-8")).get("calibration", {}),
        vocabulary,
    )


def perplexities(model, ids: np.ndarray, offsets: np.ndarray, num_threads: int | None = None) -> np.ndarray:
    """Each document's perplexity (its tokens and the end of document), from the flat ids and
    offsets that Tokenizer.encode_flat returns."""
    raw = model.perplexities(
        np.ascontiguousarray(ids, dtype="<u4").tobytes(),
        np.ascontiguousarray(offsets, dtype="<i8").tobytes(),
        num_threads,
    )
    return np.frombuffer(raw, dtype="<f8")
