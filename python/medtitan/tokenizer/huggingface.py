"""The HuggingFace `tokenizer.json` of a sentencepiece BPE model, for `medtitan export-hf`.

`tokenizer.json` reproduces SentencePiece's BPE encoding with `tokenizers` parts:
the precompiled NFKC charsmap, SentencePiece's whitespace rules (leading spaces dropped, runs of
spaces collapsed, trailing spaces dropped; other whitespace such as newlines kept), the dummy "▁"
prefix, spaces as "▁", user-defined symbols (the section headers) isolated and emitted whole, BPE
merges ranked by piece score, and byte fallback. Measured: ids equal to `medtitan.Tokenizer` (which
is SentencePiece-exact) on every text of the demo corpus (tests/test_export.py). Deliberate
choices and known differences:

- `tokenizer_config.json` sets `split_special_tokens: true`: "<s>" or "</s>" typed in text are
  ordinary characters, as in SentencePiece and in training; special ids come only from ids.
- No BOS/EOS is added by default: training packs documents as `ids + [eos]`, with no BOS.
- Unicode normalization. SentencePiece applies its NFKC charsmap piecewise (longest match at each
  position), which is not full NFKC: it neither reorders combining marks canonically nor composes
  across the pieces it rewrote ("Ⅻ" + U+0308 stays "XII" + U+0308; NFKC gives "XI" + "Ï"). tokenizers'
  `Precompiled` port of that charsmap walks grapheme clusters and gets clusters of 6+ bytes or
  repeated combining marks wrong ("ｶﾞ" -> "カ" + U+3099, "é" + U+0301 loses the mark). So for NFKC
  models the pipeline runs NFKC, then the charsmap. On 30 MB of the shared medical corpus (64K
  tokenizer) both agree with SentencePiece on every text; on 20,000 random strings built from
  adversarial pieces (combining marks, compatibility characters, half-width kana, emoji, odd
  spaces) NFKC + charsmap differs on 1-2% of them (charsmap alone: 43-46%), all of them combining
  marks next to compatibility characters or marks in non-canonical order.
- SentencePiece leaves user-defined symbols untouched by the normalizer; here they pass through
  NFKC first. Identical for ASCII symbols such as the section headers.
- Ties between two different merges that make the same piece are broken leftmost-first by
  SentencePiece and by split position here (a piece that can be built two ways, twice in one word).
- User-defined symbols need `ignore_merges` (a word that is itself a piece is emitted whole). That
  equals SentencePiece only if every piece encodes to itself; export checks this and records the
  exceptions (none in medtitan's tokenizers so far) in medtitan_export.json.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from medtitan.checksums import sha256_of
from medtitan.tokenizer.encoder import SPECIAL_PIECES

SPACE = "\u2581"  # SentencePiece's visible space "▁"

# --- SentencePiece model ------------------------------------------------------------------------
# The Rust core reads the .model protobuf (rust/tokenizer/sp_model.rs, the same reader the encoder uses).

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MODEL_TYPE_BPE = 2


@dataclass
class Piece:
    piece: str
    score: float = 0.0
    type: int = NORMAL


@dataclass
class SentencePieceModel:
    pieces: list[Piece] = field(default_factory=list)
    model_type: int = 1  # unigram unless stated
    byte_fallback: bool = False
    treat_whitespace_as_suffix: bool = False
    normalizer_name: str = ""
    precompiled_charsmap: bytes = b""
    add_dummy_prefix: bool = True
    remove_extra_whitespaces: bool = True
    escape_whitespaces: bool = True

    def ids_of(self, kind: int) -> list[int]:
        return [i for i, p in enumerate(self.pieces) if p.type == kind]


def read_sentencepiece(path: str | Path) -> SentencePieceModel:
    """The pieces, trainer flags and normalizer spec of a SentencePiece `.model` file."""
    from medtitan import _core

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: tokenizer model not found")
    raw = _core.read_sentencepiece_model(path)
    normalizer = raw["normalizer"]
    model = SentencePieceModel(
        pieces=[Piece(piece, score, kind) for piece, score, kind in raw["pieces"]],
        model_type=raw["model_type"],
        byte_fallback=raw["byte_fallback"],
        treat_whitespace_as_suffix=raw["treat_whitespace_as_suffix"],
        normalizer_name=normalizer["name"],
        precompiled_charsmap=bytes(normalizer["precompiled_charsmap"]),
        add_dummy_prefix=normalizer["add_dummy_prefix"],
        remove_extra_whitespaces=normalizer["remove_extra_whitespaces"],
        escape_whitespaces=normalizer["escape_whitespaces"],
    )
    if not model.pieces:
        raise ValueError(f"{path}: not a SentencePiece model (no pieces)")
    if model.model_type != MODEL_TYPE_BPE:
        raise ValueError(f"{path}: only SentencePiece BPE models are supported (model_type {model.model_type})")
    if model.treat_whitespace_as_suffix or not model.escape_whitespaces:
        raise ValueError(f"{path}: treat_whitespace_as_suffix / unescaped whitespace are not supported")
    if len(model.ids_of(UNKNOWN)) != 1:
        raise ValueError(f"{path}: expected exactly one <unk> piece")
    return model


# --- tokenizer.json ---------------------------------------------------------------------------


def bpe_merges(model: SentencePieceModel) -> list[tuple[str, str]]:
    """Every split of a normal piece into two normal pieces, best (highest-scoring) piece first:
    SentencePiece merges any adjacent pair whose concatenation is a piece, highest score first."""
    normal = {p.piece: (p.score, i) for i, p in enumerate(model.pieces) if p.type == NORMAL}
    ranked = []
    for piece, (score, index) in normal.items():
        for split in range(1, len(piece)):
            left, right = piece[:split], piece[split:]
            if left in normal and right in normal:
                ranked.append((-score, index, split, left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def _bpe(model: SentencePieceModel, ignore_merges: bool):
    from tokenizers import models

    vocab = {p.piece: i for i, p in enumerate(model.pieces)}
    unk = model.pieces[model.ids_of(UNKNOWN)[0]].piece
    return models.BPE(
        vocab=vocab,
        merges=bpe_merges(model),
        unk_token=unk,
        fuse_unk=True,
        byte_fallback=model.byte_fallback,
        ignore_merges=ignore_merges,
    )


def pieces_not_encoding_to_themselves(model: SentencePieceModel) -> list[str]:
    """Normal pieces that plain BPE does not encode as themselves: exactly the words on which
    `ignore_merges` (needed for user-defined symbols) departs from SentencePiece."""
    bpe = _bpe(model, ignore_merges=False)
    return [p.piece for p in model.pieces if p.type == NORMAL and [t.value for t in bpe.tokenize(p.piece)] != [p.piece]]


def build_fast_tokenizer(model: SentencePieceModel):
    """A `tokenizers.Tokenizer` that encodes like SentencePiece (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers

    user_defined = [model.pieces[i].piece for i in model.ids_of(USER_DEFINED)]
    tokenizer = Tokenizer(_bpe(model, ignore_merges=bool(user_defined)))

    steps = []
    if "nfkc" in model.normalizer_name:
        # tokenizers' Precompiled alone mishandles grapheme clusters of 6+ bytes and repeated
        # combining marks ("ｶﾞ", "é" + U+0301); NFKC first, then the charsmap, agrees with
        # SentencePiece far more often (see the module docstring).
        steps.append(normalizers.NFKC())
    if model.precompiled_charsmap:
        steps.append(normalizers.Precompiled(model.precompiled_charsmap))
    if model.remove_extra_whitespaces:  # only U+0020 counts; newlines and tabs stay
        steps += [normalizers.Replace(Regex(r"\A +"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if model.add_dummy_prefix:
        steps.append(normalizers.Prepend(" "))  # Prepend skips empty text, as SentencePiece does
    steps.append(normalizers.Replace(" ", SPACE))
    if model.remove_extra_whitespaces:
        # SentencePiece strips trailing "▁" after escaping, a literal "▁" in the text included.
        steps.append(normalizers.Replace(Regex(f"{SPACE}+\\z"), ""))
    tokenizer.normalizer = normalizers.Sequence(steps)

    splits = []
    if user_defined:
        pattern = "|".join(re.escape(s) for s in sorted(user_defined, key=len, reverse=True))
        splits.append(pre_tokenizers.Split(Regex(pattern), behavior="isolated"))
    if not any(SPACE in p.piece[1:] for p in model.pieces if p.type == NORMAL):
        # No piece holds "▁" past its first character, so no merge crosses the start of a word:
        # words encode independently (and tokenizers caches them).
        splits.append(pre_tokenizers.Split(SPACE, behavior="merged_with_next"))
    if splits:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(splits)

    parts = [decoders.Replace(SPACE, " ")]
    if model.byte_fallback:
        parts.append(decoders.ByteFallback())
    parts.append(decoders.Fuse())
    if model.remove_extra_whitespaces:
        # SentencePiece drops the leading "▁" of every piece while the text decoded so far is empty.
        parts.append(decoders.Replace(Regex(r"\A +"), ""))
    elif model.add_dummy_prefix:
        parts.append(decoders.Strip(" ", 1, 0))  # only the first piece's dummy prefix
    tokenizer.decoder = decoders.Sequence(parts)

    specials = [model.pieces[i].piece for i in model.ids_of(CONTROL) + model.ids_of(UNKNOWN)]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tokenizer


def _special_tokens(model: SentencePieceModel) -> dict[str, str]:
    """bos/eos/pad/unk by medtitan's convention (the pieces of medtitan.tokenizer.SPECIAL_PIECES)."""
    present = {p.piece for p in model.pieces if p.type in (CONTROL, UNKNOWN)}
    return {f"{name}_token": piece for name, piece in SPECIAL_PIECES.items() if piece in present}


def write_tokenizer(tokenizer_model: Path, output: Path, model_max_length: int) -> dict:
    """tokenizer.model (copied), tokenizer.json, tokenizer_config.json, special_tokens_map.json;
    returns what medtitan_export.json records about the tokenizer."""
    model = read_sentencepiece(tokenizer_model)
    shutil.copyfile(tokenizer_model, output / "tokenizer.model")
    build_fast_tokenizer(model).save(str(output / "tokenizer.json"))
    specials = _special_tokens(model)
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",  # loads tokenizer.json as it is
        **specials,
        "add_bos_token": False,
        "add_eos_token": False,
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
    }
    (output / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (output / "special_tokens_map.json").write_text(json.dumps(specials, indent=2, ensure_ascii=False) + "\n")
    mismatched = pieces_not_encoding_to_themselves(model) if model.ids_of(USER_DEFINED) else []
    if mismatched:
        print(
            f"medtitan export-hf: warning: {len(mismatched)} pieces of {tokenizer_model} do not encode to "
            f"themselves; tokenizer.json may differ from SentencePiece on those words: {mismatched[:10]}",
            file=sys.stderr,
        )
    return {
        "vocab_size": len(model.pieces),
        "sha256": sha256_of(tokenizer_model),
        "ids": {
            name: next(i for i, p in enumerate(model.pieces) if p.piece == piece) for name, piece in specials.items()
        },
        "pieces_not_encoding_to_themselves": mismatched,
    }
