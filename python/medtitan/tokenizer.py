"""The medical tokenizer: sentencepiece BPE training on a doc_type-weighted sample, and the
Rust encoder (`Tokenizer`) that reproduces sentencepiece's ids exactly, only faster.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from medtitan import _core
from medtitan.data.documents import Document, ReadReport, read_documents

SPECIAL_PIECES = {"pad": "<pad>", "bos": "<s>", "eos": "</s>", "unk": "<unk>"}  # ids 0, 1, 2, 3
SECTION_HEADERS = ("[HISTORY]", "[ASSESSMENT]", "[PLAN]", "[MEDICATIONS]", "[ALLERGIES]", "[FINDINGS]", "[IMPRESSION]")
# sentencepiece skips training lines longer than its max_sentence_length; long lines are cut
# at whitespace into chunks below this many characters instead.
MAX_TRAINING_LINE_CHARS = 4000


class Tokenizer:
    """A sentencepiece BPE model encoded by medtitan's Rust core (ids identical to sentencepiece)."""

    def __init__(self, core: _core.Tokenizer) -> None:
        self._core = core
        self.path = core.path
        self.vocab_size: int = core.vocab_size
        self.unk_id: int = core.unk_id
        self.eos_id: int = self._special_id("</s>")
        self.bos_id: int = self._special_id("<s>")

    def _special_id(self, piece: str) -> int:
        found = self._core.piece_to_id(piece)
        return -1 if found == self.unk_id and piece != "<unk>" else found

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Tokenizer:
        """Load a sentencepiece `.model`; FileNotFoundError or ValueError name the file."""
        return cls(_core.Tokenizer.from_file(os.fspath(path)))

    def encode(self, text: str) -> list[int]:
        return self._core.encode(text)

    def encode_batch(self, texts: list[str], num_threads: int | None = None) -> list[list[int]]:
        """Encode on `num_threads` threads (default: all cores) with the GIL released."""
        return self._core.encode_batch(list(texts), num_threads)

    def encode_flat(self, texts: list[str], num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, offsets): all ids as one uint32 array, document i at ids[offsets[i]:offsets[i+1]]."""
        return _as_arrays(self._core.encode_batch_flat(list(texts), num_threads))

    def encode_jsonl(self, path: str | os.PathLike, text_field: str = "text",
                     num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode every record of a JSONL file without a Python object per document."""
        return _as_arrays(self._core.encode_jsonl(os.fspath(path), text_field, num_threads))

    def encode_arrow(self, array, num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Encode a pyarrow string array (or chunked array) straight from its buffers."""
        import pyarrow as pa

        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if array.null_count:
            raise ValueError(f"the array holds {array.null_count} nulls; fill or drop them first")
        if pa.types.is_string(array.type):
            offset_type = np.int32
        elif pa.types.is_large_string(array.type):
            offset_type = np.int64
        else:
            raise TypeError(f"expected a string array, got {array.type}")
        _, offsets_buffer, data_buffer = array.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[array.offset: array.offset + len(array) + 1]
        data = memoryview(data_buffer).cast("B") if data_buffer is not None else memoryview(b"")
        return _as_arrays(self._core.encode_buffers(data, offsets.astype("<i8").tobytes(), num_threads))

    def decode(self, ids: list[int]) -> str:
        return self._core.decode([int(i) for i in ids])

    def normalize(self, text: str) -> str:
        return self._core.normalize(text)

    def id_to_piece(self, token_id: int) -> str:
        return self._core.id_to_piece(token_id)

    def piece_to_id(self, piece: str) -> int:
        return self._core.piece_to_id(piece)

    def __repr__(self) -> str:
        return f"Tokenizer({self.path!r}, vocab_size={self.vocab_size})"


def _as_arrays(flat: tuple[bytes, bytes]) -> tuple[np.ndarray, np.ndarray]:
    ids, offsets = flat
    return np.frombuffer(ids, dtype="<u4"), np.frombuffer(offsets, dtype="<i8")


# --- training ----------------------------------------------------------------------------


@dataclass
class TokenizerTrainingConfig:
    """Everything that decides the trained model; stored in the sidecar JSON."""

    vocab_size: int = 64_000
    # Target share of the training sample per doc_type; None: equal shares over the doc_types
    # found (those starting with "eval_" are never used for training).
    weights: dict[str, float] | None = None
    sample_chars: int = 60_000_000  # size of the weighted sample handed to sentencepiece
    seed: int = 1234
    holdout_fraction: float = 0.0  # duplicate families held out (written for fertility checks)
    user_defined_symbols: tuple[str, ...] = SECTION_HEADERS
    split_digits: bool = False  # True: one token per digit, as LLaMA
    split_by_number: bool = False  # True: letters never merge with digits ("500mg", "B12")
    # True: letters never merge with punctuation ("'s", "p.o.", "-year-old" stay split).
    split_by_unicode_script: bool = False
    # Collapse runs of spaces and drop leading/trailing spaces (newlines and tabs are kept):
    # double spaces after punctuation would otherwise cost a token each.
    collapse_spaces: bool = True
    normalization: str = "nfkc"  # sentencepiece rule: nfkc, nmt_nfkc, identity, ...
    character_coverage: float = 0.9999  # rarer characters fall back to bytes
    max_piece_length: int = 24  # sentencepiece's default 16 cannot hold "▁methylprednisolone"
    text_field: str = "text"
    num_threads: int = field(default_factory=lambda: os.cpu_count() or 1)

    @classmethod
    def from_toml(cls, path: str | os.PathLike, **overrides) -> TokenizerTrainingConfig:
        """The [tokenizer] table of a TOML file (weights in [tokenizer.weights]); unknown keys
        are an error naming the file, so a typo never silently falls back to a default."""
        import tomllib

        path = Path(path)
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("tokenizer", {})
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"{path}: {error}") from error
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"{path}: unknown [tokenizer] keys {unknown}; known: {sorted(known)}")
        if "user_defined_symbols" in table:
            table["user_defined_symbols"] = tuple(table["user_defined_symbols"])
        table.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**table)


@dataclass
class DocTypeSample:
    weight: float
    documents: int = 0
    duplicates_dropped: int = 0
    held_out: int = 0
    available_chars: int = 0
    sampled_chars: int = 0
    sampled_documents: int = 0

    @property
    def repeat_factor(self) -> float:
        return self.sampled_chars / self.available_chars if self.available_chars else 0.0


def _holdout_bucket(group: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64


def _training_lines(text: str) -> list[str]:
    lines = []
    for line in text.split("\n"):
        while len(line) > MAX_TRAINING_LINE_CHARS:
            cut = line.rfind(" ", 0, MAX_TRAINING_LINE_CHARS)
            cut = cut if cut > 0 else MAX_TRAINING_LINE_CHARS
            lines.append(line[:cut])
            line = line[cut:]
        if line.strip():
            lines.append(line)
    return lines


def _weighted_sample(by_type: dict[str, list[Document]], stats: dict[str, DocTypeSample],
                     config: TokenizerTrainingConfig) -> list[str]:
    """Whole documents drawn per doc_type until each reaches its share of sample_chars;
    doc_types with less text than their share are repeated (deterministically, by seed)."""
    total_weight = sum(s.weight for s in stats.values())
    lines: list[str] = []
    for doc_type in sorted(by_type):
        documents = by_type[doc_type]
        quota = config.sample_chars * stats[doc_type].weight / total_weight
        rng = random.Random(f"{config.seed}:{doc_type}")
        order = list(range(len(documents)))
        taken = 0
        while taken < quota and documents:
            rng.shuffle(order)
            for index in order:
                text = documents[index].text
                lines += _training_lines(text)
                taken += len(text)
                stats[doc_type].sampled_documents += 1
                if taken >= quota:
                    break
        stats[doc_type].sampled_chars = taken
    return lines


def train_tokenizer(inputs: list[str | os.PathLike], output_dir: str | os.PathLike,
                    config: TokenizerTrainingConfig | None = None, progress: bool = True) -> Path:
    """Train a sentencepiece BPE model on a doc_type-weighted sample of `inputs`.

    Writes OUTPUT/tokenizer.model and its sidecar OUTPUT/tokenizer.model.json (config, per-doc_type sample
    statistics, quarantined records, sha256); with holdout_fraction > 0, also the held-out
    documents as OUTPUT/holdout/<doc_type>.jsonl. Returns the model path.
    """
    import sentencepiece as spm

    config = config or TokenizerTrainingConfig()
    if config.vocab_size < 300:
        raise ValueError(f"vocab_size {config.vocab_size} is too small: 256 byte pieces, 4 specials and the "
                         "section headers need room")
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    report = ReadReport()
    by_type: dict[str, list[Document]] = defaultdict(list)
    held_out: dict[str, list[Document]] = defaultdict(list)
    skipped_types: dict[str, int] = defaultdict(int)
    seen_hashes: set[int] = set()
    stats: dict[str, DocTypeSample] = {}
    documents = list(read_documents(list(inputs), text_field=config.text_field, report=report))
    hashes = _core.normalized_hashes([d.text for d in documents])
    for document, digest in zip(documents, hashes):
        weight = (config.weights or {}).get(document.doc_type)
        if document.doc_type.startswith("eval_") and weight is None:
            skipped_types[document.doc_type] += 1
            continue
        if config.weights is not None and not weight:
            skipped_types[document.doc_type] += 1
            continue
        sample = stats.setdefault(document.doc_type, DocTypeSample(weight=weight or 1.0))
        sample.documents += 1
        if config.holdout_fraction and _holdout_bucket(document.group, config.seed) < config.holdout_fraction:
            sample.held_out += 1
            held_out[document.doc_type].append(document)
            continue
        if digest in seen_hashes:
            sample.duplicates_dropped += 1
            continue
        seen_hashes.add(digest)
        sample.available_chars += len(document.text)
        by_type[document.doc_type].append(document)
    if not by_type:
        raise ValueError(f"no training documents in {', '.join(map(str, inputs))} "
                         f"(skipped doc_types: {dict(skipped_types) or 'none'})")
    missing = sorted(set(config.weights or {}) - set(stats))
    if missing:
        raise ValueError(f"weights name doc_types not found in the inputs: {', '.join(missing)}")

    lines = _weighted_sample(by_type, stats, config)
    model_path = output / "tokenizer.model"
    trainer_options = dict(
        model_type="bpe", vocab_size=config.vocab_size, character_coverage=config.character_coverage,
        byte_fallback=True, split_by_whitespace=True, split_digits=config.split_digits,
        split_by_number=config.split_by_number, split_by_unicode_script=config.split_by_unicode_script,
        user_defined_symbols=list(config.user_defined_symbols),
        pad_id=0, bos_id=1, eos_id=2, unk_id=3,
        pad_piece=SPECIAL_PIECES["pad"], bos_piece=SPECIAL_PIECES["bos"], eos_piece=SPECIAL_PIECES["eos"],
        unk_piece=SPECIAL_PIECES["unk"], normalization_rule_name=config.normalization,
        remove_extra_whitespaces=config.collapse_spaces, add_dummy_prefix=True,
        max_sentencepiece_length=config.max_piece_length, max_sentence_length=4 * MAX_TRAINING_LINE_CHARS + 16,
        input_sentence_size=0, shuffle_input_sentence=False, num_threads=config.num_threads,
        minloglevel=0 if progress else 2,
    )
    with open(model_path, "wb") as writer:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=writer, **trainer_options)

    for doc_type, docs in held_out.items():
        holdout_path = output / "holdout" / f"{doc_type}.jsonl"
        holdout_path.parent.mkdir(parents=True, exist_ok=True)
        with open(holdout_path, "w", encoding="utf-8") as handle:
            for doc in docs:
                handle.write(json.dumps({"id": doc.id, "doc_type": doc.doc_type, "text": doc.text}, ensure_ascii=False) + "\n")

    sidecar = {
        "model": model_path.name,
        "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "sentencepiece_version": spm.__version__,
        "config": asdict(config),
        "trainer_options": {k: v for k, v in trainer_options.items() if k != "minloglevel"},
        "special_ids": {name: index for index, name in enumerate(("pad", "bos", "eos", "unk"))},
        "inputs": report.files,
        "documents_read": report.documents,
        "quarantined": [q.to_json() for q in report.quarantined],
        "skipped_doc_types": dict(skipped_types),
        "sample": {
            doc_type: {**asdict(s), "repeat_factor": round(s.repeat_factor, 4),
                       "share_of_sample": round(s.sampled_chars / max(1, sum(x.sampled_chars for x in stats.values())), 4)}
            for doc_type, s in sorted(stats.items())
        },
        "training_lines": len(lines),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (output / "tokenizer.model.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return model_path
