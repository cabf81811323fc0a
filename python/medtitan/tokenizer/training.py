"""Training the medical tokenizer: sentencepiece BPE on a doc_type-weighted sample of the corpus,
with a hold-out for fertility, written as `tokenizer.model` plus a sidecar."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from tqdm import tqdm

from medtitan import _core
from medtitan.data.documents import Document, ReadReport, read_documents
from medtitan.tokenizer.encoder import SPECIAL_PIECES

SECTION_HEADERS = ("[HISTORY]", "[ASSESSMENT]", "[PLAN]", "[MEDICATIONS]", "[ALLERGIES]", "[FINDINGS]", "[IMPRESSION]")
# sentencepiece skips training lines longer than its max_sentence_length; long lines are cut
# at whitespace into chunks below this many characters instead.
MAX_TRAINING_LINE_CHARS = 4000


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


def _decide(document: Document, config: TokenizerTrainingConfig) -> str:
    """'skip' (no weight), 'holdout' or 'train': a pure function of the document and config."""
    weight = (config.weights or {}).get(document.doc_type)
    if weight is None and (config.weights is not None or document.doc_type.startswith("eval_")):
        return "skip"
    if weight is not None and weight <= 0:
        return "skip"
    if config.holdout_fraction and _holdout_bucket(document.group, config.seed) < config.holdout_fraction:
        return "holdout"
    return "train"


def holdout_file_name(doc_type: str) -> str:
    """The held-out file of a doc_type: its name when that is a plain file name, else a safe
    name plus a hash of the doc_type (a doc_type comes from the data: "a/b", "../x" or a NUL must
    neither crash the training nor write outside OUTPUT/holdout). Records keep their doc_type."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", doc_type).strip(".") or "_"
    if safe != doc_type:
        safe += "-" + hashlib.sha256(doc_type.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return safe + ".jsonl"


def train_tokenizer(
    inputs: list[str | os.PathLike],
    output_dir: str | os.PathLike,
    config: TokenizerTrainingConfig | None = None,
    progress: bool = True,
    verbose: bool = False,
) -> Path:
    """Train a sentencepiece BPE model on a doc_type-weighted sample of `inputs`.

    Writes OUTPUT/tokenizer.model and its sidecar OUTPUT/tokenizer.model.json (config, per-doc_type sample
    statistics, quarantined records, sha256); with holdout_fraction > 0, also the held-out
    documents as OUTPUT/holdout/<doc_type>.jsonl. Returns the model path.
    """
    import sentencepiece as spm

    config = config or TokenizerTrainingConfig()
    if config.vocab_size < 300:
        raise ValueError(
            f"vocab_size {config.vocab_size} is too small: 256 byte pieces, 4 specials and the "
            "section headers need room"
        )
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    # Pass 1, streaming: what each doc_type offers, after exact-duplicate removal; held-out
    # documents are written out as they pass. Texts are not kept, so memory is bounded by the
    # sample size, not the corpus size.
    report = ReadReport()
    stats: dict[str, DocTypeSample] = {}
    skipped_types: dict[str, int] = defaultdict(int)
    first_seen: dict[int, int] = {}  # normalized-text hash -> ordinal of its first training document
    holdout_dir = output / "holdout"
    for stale in holdout_dir.glob("*.jsonl"):
        stale.unlink()
    holdout_files: dict[str, object] = {}
    try:
        documents = read_documents(list(inputs), text_field=config.text_field, report=report)
        for ordinal, document in enumerate(tqdm(documents, desc="counting", unit=" docs", disable=not progress)):
            decision = _decide(document, config)
            if decision == "skip":
                skipped_types[document.doc_type] += 1
                continue
            weight = (config.weights or {}).get(document.doc_type, 1.0)
            sample = stats.setdefault(document.doc_type, DocTypeSample(weight=weight))
            sample.documents += 1
            if decision == "holdout":
                sample.held_out += 1
                if document.doc_type not in holdout_files:
                    holdout_dir.mkdir(parents=True, exist_ok=True)
                    holdout_files[document.doc_type] = open(
                        holdout_dir / holdout_file_name(document.doc_type), "w", encoding="utf-8"
                    )
                record = {"id": document.id, "doc_type": document.doc_type, "text": document.text}
                holdout_files[document.doc_type].write(json.dumps(record, ensure_ascii=False) + "\n")
                continue
            digest = _core.normalized_hash(document.text)
            if digest in first_seen:
                sample.duplicates_dropped += 1
                continue
            first_seen[digest] = ordinal
            sample.available_chars += len(document.text)
    finally:
        for handle in holdout_files.values():
            handle.close()
    if not any(s.available_chars for s in stats.values()):
        raise ValueError(
            f"no training documents in {', '.join(map(str, inputs))} "
            f"(skipped doc_types: {dict(skipped_types) or 'none'})"
        )
    missing = sorted(set(config.weights or {}) - set(stats))
    if missing:
        raise ValueError(f"weights name doc_types not found in the inputs: {', '.join(missing)}")

    # Pass 2: each training document goes into the sample quota/available times on average.
    # Systematic sampling (a running sum per doc_type from a seeded start) makes every share
    # exact to within one document and repeats small sources evenly.
    total_weight = sum(s.weight for s in stats.values())
    rate = {
        t: config.sample_chars * s.weight / total_weight / s.available_chars
        for t, s in stats.items()
        if s.available_chars
    }
    position = {t: random.Random(f"{config.seed}:{t}").random() for t in rate}
    lines: list[str] = []
    documents = read_documents(list(inputs), text_field=config.text_field, report=ReadReport())
    for ordinal, document in enumerate(tqdm(documents, desc="sampling", unit=" docs", disable=not progress)):
        if document.doc_type not in rate or _decide(document, config) != "train":
            continue
        if first_seen.get(_core.normalized_hash(document.text)) != ordinal:
            continue
        before = position[document.doc_type]
        position[document.doc_type] = before + rate[document.doc_type]
        copies = int(position[document.doc_type]) - int(before)
        if copies:
            lines += _training_lines(document.text) * copies
            stats[document.doc_type].sampled_chars += copies * len(document.text)
            stats[document.doc_type].sampled_documents += copies

    model_path = output / "tokenizer.model"
    trainer_options = dict(
        model_type="bpe",
        vocab_size=config.vocab_size,
        character_coverage=config.character_coverage,
        byte_fallback=True,
        split_by_whitespace=True,
        split_digits=config.split_digits,
        split_by_number=config.split_by_number,
        split_by_unicode_script=config.split_by_unicode_script,
        user_defined_symbols=list(config.user_defined_symbols),
        pad_id=0,
        bos_id=1,
        eos_id=2,
        unk_id=3,
        pad_piece=SPECIAL_PIECES["pad"],
        bos_piece=SPECIAL_PIECES["bos"],
        eos_piece=SPECIAL_PIECES["eos"],
        unk_piece=SPECIAL_PIECES["unk"],
        normalization_rule_name=config.normalization,
        remove_extra_whitespaces=config.collapse_spaces,
        add_dummy_prefix=True,
        max_sentencepiece_length=config.max_piece_length,
        max_sentence_length=4 * MAX_TRAINING_LINE_CHARS + 16,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=config.num_threads,
        minloglevel=0 if verbose else 2,
    )
    # Written under a temporary name and renamed when whole: a training killed or failed midway
    # leaves no tokenizer.model for a later run to take as trained (an empty one did, once).
    partial = model_path.with_name(f"{model_path.name}.{os.getpid()}.partial")
    try:
        with open(partial, "wb") as writer:
            spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=writer, **trainer_options)
        os.replace(partial, model_path)
    finally:
        partial.unlink(missing_ok=True)

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
            doc_type: {
                **asdict(s),
                "repeat_factor": round(s.repeat_factor, 4),
                "share_of_sample": round(s.sampled_chars / max(1, sum(x.sampled_chars for x in stats.values())), 4),
            }
            for doc_type, s in sorted(stats.items())
        },
        "training_lines": len(lines),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (output / "tokenizer.model.json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return model_path
