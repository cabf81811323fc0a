"""Fertility: how many tokens a tokenizer spends per word, per medical term, per doc_type,
against baseline tokenizers (sentencepiece .model, HF tokenizer.json, tiktoken ranks)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# The terms the case study singles out as split by general tokenizers.
CASE_STUDY_TERMS = (
    "acetaminophen",
    "electrocardiogram",
    "methylprednisolone",
    "pleural",
    "effusions",
    "atelectasis",
    "cardiomediastinal",
    "silhouette",
    "pneumothorax",
)

# Pre-tokenization patterns of OpenAI's byte-level BPE encodings (public facts of the format).
_R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


class Encoder(ABC):
    """Anything with a name and encode_batch(texts) -> list of id lists."""

    name: str
    # What puts a word in running-text position: sentencepiece-style tokenizers add their own
    # dummy prefix; byte-level BPEs need the leading space written out.
    word_prefix = ""

    @abstractmethod
    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Ids of each text, no special tokens added."""


class MedtitanEncoder(Encoder):
    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.name = str(tokenizer.path) if getattr(tokenizer, "path", None) else "medtitan"

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.tokenizer.encode_batch(texts)


class SentencePieceEncoder(Encoder):
    def __init__(self, path: Path) -> None:
        import sentencepiece as spm

        self.processor = spm.SentencePieceProcessor()
        try:
            self.processor.Load(str(path))
        except (OSError, RuntimeError) as error:
            raise ValueError(f"{path}: not a loadable sentencepiece model: {error}") from error
        self.name = path.name

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.processor.encode(texts)


class HuggingFaceEncoder(Encoder):
    def __init__(self, path: Path) -> None:
        import tokenizers

        try:
            self.tokenizer = tokenizers.Tokenizer.from_file(str(path))
        except Exception as error:  # tokenizers raises plain Exception subclasses
            raise ValueError(f"{path}: not a loadable HF tokenizer.json: {error}") from error
        self.name = path.name

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]


class TiktokenEncoder(Encoder):
    word_prefix = " "

    def __init__(self, path: Path) -> None:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        try:
            ranks = load_tiktoken_bpe(str(path))
        except Exception as error:
            raise ValueError(f"{path}: not a tiktoken rank file: {error}") from error
        # r50k-style ranks (GPT-2) have about 50K entries, cl100k about 100K.
        large = len(ranks) > 60_000
        pattern = _CL100K_PATTERN if large else _R50K_PATTERN
        specials = {"<|endoftext|>": len(ranks) + (1 if large else 0)}
        self.encoding = tiktoken.Encoding(path.stem, pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials)
        self.name = path.name

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.encoding.encode_ordinary_batch(texts)


def load_encoder(path: str | os.PathLike) -> Encoder:
    """A baseline by file type: .model (sentencepiece), .json (HF tokenizers), .tiktoken."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such tokenizer file")
    if path.suffix == ".json":
        return HuggingFaceEncoder(path)
    if path.suffix == ".tiktoken":
        return TiktokenEncoder(path)
    if path.suffix == ".model" or path.name.endswith(".model.v1") or ".model" in path.name:
        return SentencePieceEncoder(path)
    raise ValueError(f"{path}: unknown tokenizer format (expected .model, .json or .tiktoken)")


@dataclass
class Fertility:
    documents: int
    words: int
    tokens: int
    single_token_words: int  # words encoded (on their own, after a space) as one token

    @property
    def tokens_per_word(self) -> float:
        return self.tokens / self.words if self.words else 0.0

    @property
    def single_token_share(self) -> float:
        return self.single_token_words / self.words if self.words else 0.0

    def to_json(self) -> dict:
        return {
            "documents": self.documents,
            "words": self.words,
            "tokens": self.tokens,
            "tokens_per_word": round(self.tokens_per_word, 4),
            "single_token_word_share": round(self.single_token_share, 4),
        }


def _single_token_words(encoder: Encoder, word_counts: Counter) -> int:
    words = sorted(word_counts)
    lengths = [len(ids) for ids in encoder.encode_batch([encoder.word_prefix + w for w in words])] if words else []
    return sum(word_counts[w] for w, n in zip(words, lengths) if n == 1)


def fertility(tokenizer, texts: list[str]) -> Fertility:
    """Tokens per whitespace word of `texts` and the share of words that are one token."""
    encoder = tokenizer if isinstance(tokenizer, Encoder) else MedtitanEncoder(tokenizer)
    tokens = sum(len(ids) for ids in encoder.encode_batch(list(texts)))
    word_counts = Counter(word for text in texts for word in text.split())
    return Fertility(len(texts), sum(word_counts.values()), tokens, _single_token_words(encoder, word_counts))


def term_fertility(tokenizer, terms: list[str]) -> dict[str, int]:
    """Tokens per term, each encoded as a word of running text (after a space)."""
    encoder = tokenizer if isinstance(tokenizer, Encoder) else MedtitanEncoder(tokenizer)
    return {term: len(ids) for term, ids in zip(terms, encoder.encode_batch([encoder.word_prefix + t for t in terms]))}


@dataclass
class FertilityReport:
    tokenizers: list[str]  # ours first, then the baselines
    by_doc_type: dict[str, list[Fertility]]  # doc_type -> one Fertility per tokenizer
    terms: dict[str, list[int]]  # term -> tokens per tokenizer

    def mean_term_tokens(self, index: int) -> float:
        return sum(counts[index] for counts in self.terms.values()) / len(self.terms) if self.terms else 0.0

    def to_json(self) -> dict:
        ours = self.tokenizers[0]
        result = {"tokenizer": ours, "baselines": self.tokenizers[1:], "doc_types": {}, "terms": {}}
        for doc_type, rows in sorted(self.by_doc_type.items()):
            entry = {name: row.to_json() for name, row in zip(self.tokenizers, rows)}
            entry["improvement_over"] = {
                name: round(1 - rows[0].tokens_per_word / row.tokens_per_word, 4)
                for name, row in zip(self.tokenizers[1:], rows[1:])
                if row.tokens_per_word
            }
            result["doc_types"][doc_type] = entry
        result["terms"] = {term: dict(zip(self.tokenizers, counts)) for term, counts in self.terms.items()}
        result["mean_tokens_per_term"] = {
            name: round(self.mean_term_tokens(i), 4) for i, name in enumerate(self.tokenizers)
        }
        return result


def fertility_report(
    documents_by_type: dict[str, list[str]],
    encoders: list[Encoder],
    terms: list[str] | tuple[str, ...] = CASE_STUDY_TERMS,
) -> FertilityReport:
    by_doc_type = {
        doc_type: [fertility(encoder, texts) for encoder in encoders]
        for doc_type, texts in sorted(documents_by_type.items())
    }
    per_encoder = [term_fertility(encoder, terms) for encoder in encoders]
    return FertilityReport(
        [e.name for e in encoders], by_doc_type, {term: [counts[term] for counts in per_encoder] for term in terms}
    )


def format_report(report: FertilityReport) -> str:
    """Tokens per whitespace word by doc_type: ours, then each baseline, then our saving."""
    baselines = report.tokenizers[1:]
    header = ["doc_type", "words", "ours"] + baselines + ["1-token words"] + [f"vs {n}" for n in baselines]
    rows = []
    for doc_type, values in report.by_doc_type.items():
        row = [doc_type, f"{values[0].words:,}"] + [f"{v.tokens_per_word:.3f}" for v in values]
        row.append(f"{values[0].single_token_share:.1%}")
        row += [
            f"{1 - values[0].tokens_per_word / v.tokens_per_word:+.1%}" if v.tokens_per_word else "-"
            for v in values[1:]
        ]
        rows.append(row)
    means = [report.mean_term_tokens(i) for i in range(len(report.tokenizers))]
    term_row = ["per medical term", f"{len(report.terms)} terms"] + [f"{m:.2f}" for m in means] + [""]
    term_row += [f"{1 - means[0] / m:+.1%}" if m else "-" for m in means[1:]]
    rows.append(term_row)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in [header] + rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.insert(len(lines) - 1, lines[1])
    lines.append(f"tokens per whitespace word; ours = {report.tokenizers[0]}; 'vs X' = tokens saved against X")
    lines.append(
        "terms (tokens: "
        + " / ".join(["ours"] + baselines)
        + "): "
        + ", ".join(f"{t} {'/'.join(map(str, c))}" for t, c in report.terms.items())
    )
    return "\n".join(lines)
