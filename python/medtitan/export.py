"""`medtitan export-hf`: a DCP checkpoint (any sharding) -> a HuggingFace folder that
`transformers` loads as `LlamaForCausalLM` with no custom code.

The folder holds:

- `model.safetensors` (or `model-0000i-of-0000N.safetensors` + `model.safetensors.index.json` when
  larger than `max_shard_bytes`), float32 or bfloat16;
- `config.json` (LlamaForCausalLM) and `generation_config.json`;
- `tokenizer.model` (the SentencePiece model, copied), `tokenizer.json` (a `tokenizers` pipeline
  built here from that model), `tokenizer_config.json`, `special_tokens_map.json`;
- `medtitan_export.json`: the source checkpoint, step, flavor, model args, parameter count and the
  tokenizer's sha256.

Weights. Names map one to one onto transformers' Llama names. Our RoPE rotates interleaved channel
pairs (2i, 2i+1) of each head; transformers' `rotate_half` pairs channel i with i + head_dim/2. So the
rows of wq and wk are permuted per head (HF row j <- our row 2j, HF row j + head_dim/2 <- our row
2j+1): q.k dot products are unchanged by a permutation applied to both, and each pair now sits
where `rotate_half` looks for it, with the same frequency theta^(-2j/head_dim).

Tokenizer. `tokenizer.json` reproduces SentencePiece's BPE encoding with `tokenizers` parts:
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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from medtitan.checksums import sha256_of

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DEFAULT_MAX_SHARD_BYTES = 5 * 10**9
SPACE = "\u2581"  # SentencePiece's visible space "▁"

# --- SentencePiece model ------------------------------------------------------------------------
# The Rust core reads the .model protobuf (rust/sp_model.rs, the same reader the encoder uses).

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
        pieces=[Piece(piece, score, kind) for piece, score, kind in raw["pieces"]], model_type=raw["model_type"],
        byte_fallback=raw["byte_fallback"], treat_whitespace_as_suffix=raw["treat_whitespace_as_suffix"],
        normalizer_name=normalizer["name"], precompiled_charsmap=bytes(normalizer["precompiled_charsmap"]),
        add_dummy_prefix=normalizer["add_dummy_prefix"], remove_extra_whitespaces=normalizer["remove_extra_whitespaces"],
        escape_whitespaces=normalizer["escape_whitespaces"])
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
    return models.BPE(vocab=vocab, merges=bpe_merges(model), unk_token=unk, fuse_unk=True,
                      byte_fallback=model.byte_fallback, ignore_merges=ignore_merges)


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
    from medtitan.tokenizer import SPECIAL_PIECES

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
        print(f"medtitan export-hf: warning: {len(mismatched)} pieces of {tokenizer_model} do not encode to "
              f"themselves; tokenizer.json may differ from SentencePiece on those words: {mismatched[:10]}",
              file=sys.stderr)
    return {"vocab_size": len(model.pieces), "sha256": sha256_of(tokenizer_model),
            "ids": {name: next(i for i, p in enumerate(model.pieces) if p.piece == piece)
                    for name, piece in specials.items()},
            "pieces_not_encoding_to_themselves": mismatched}


# --- weights -----------------------------------------------------------------------------------

_LAYER = re.compile(r"^layers\.(\d+)\.(.+)$")
_LAYER_NAMES = {
    "attention.wq.weight": "self_attn.q_proj.weight",
    "attention.wk.weight": "self_attn.k_proj.weight",
    "attention.wv.weight": "self_attn.v_proj.weight",
    "attention.wo.weight": "self_attn.o_proj.weight",
    "feed_forward.w1.weight": "mlp.gate_proj.weight",
    "feed_forward.w2.weight": "mlp.down_proj.weight",
    "feed_forward.w3.weight": "mlp.up_proj.weight",
    "attention_norm.weight": "input_layernorm.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
}
_TOP_NAMES = {"tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
              "output.weight": "lm_head.weight"}


def hf_name(name: str) -> str:
    if name in _TOP_NAMES:
        return _TOP_NAMES[name]
    match = _LAYER.match(name)
    if match and match.group(2) in _LAYER_NAMES:
        return f"model.layers.{match.group(1)}.{_LAYER_NAMES[match.group(2)]}"
    raise ValueError(f"parameter {name!r} has no transformers Llama counterpart; export-hf needs updating")


def rope_to_half_layout(weight: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Reorder each head's output rows from interleaved pairs (2i, 2i+1) to halves (i, i + d/2)."""
    rows, columns = weight.shape
    head_dim = rows // n_heads
    return weight.reshape(n_heads, head_dim // 2, 2, columns).transpose(1, 2).reshape(rows, columns)


def hf_tensors(model) -> dict[str, torch.Tensor]:
    """transformers Llama name -> tensor (fp32, RoPE rows permuted); the order of our state dict."""
    args = model.args
    out = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach()
        if name.endswith("attention.wq.weight"):
            tensor = rope_to_half_layout(tensor, args.n_heads)
        elif name.endswith("attention.wk.weight"):
            tensor = rope_to_half_layout(tensor, args.n_kv_heads)
        out[hf_name(name)] = tensor
    return out


def write_safetensors(tensors: dict[str, torch.Tensor], output: Path, dtype: torch.dtype,
                      max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES) -> list[str]:
    """One model.safetensors, or numbered shards plus model.safetensors.index.json when the
    weights exceed max_shard_bytes; only one shard's converted tensors are in memory at a time."""
    from safetensors.torch import save_file

    itemsize = torch.empty((), dtype=dtype).element_size()
    shards: list[list[str]] = [[]]
    size = 0
    for name, tensor in tensors.items():
        nbytes = tensor.numel() * itemsize
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(name)
        size += nbytes
    total = sum(t.numel() * itemsize for t in tensors.values())
    if len(shards) == 1:
        files = ["model.safetensors"]
    else:
        files = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    for names, file in zip(shards, files):
        save_file({n: tensors[n].to(dtype).contiguous() for n in names}, str(output / file), metadata={"format": "pt"})
    if len(shards) > 1:
        index = {"metadata": {"total_size": total},
                 "weight_map": {n: file for names, file in zip(shards, files) for n in names}}
        (output / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return files


def hf_config(args, dtype: str, specials: dict[str, int]) -> dict:
    """config.json for LlamaForCausalLM. rope_theta is written both where transformers 4.x reads
    it (top level) and where 5.x does (rope_parameters)."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": args.vocab_size,
        "hidden_size": args.dim,
        "intermediate_size": args.hidden_dim,
        "num_hidden_layers": args.n_layers,
        "num_attention_heads": args.n_heads,
        "num_key_value_heads": args.n_kv_heads,
        "head_dim": args.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": args.max_seq_len,
        "rms_norm_eps": args.norm_eps,
        "rope_theta": args.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": args.rope_theta},
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": False,
        "initializer_range": args.init_std,
        "pretraining_tp": 1,
        "use_cache": True,
        "bos_token_id": specials.get("bos_token"),
        "eos_token_id": specials.get("eos_token"),
        "pad_token_id": specials.get("pad_token"),
        "dtype": dtype,
        "torch_dtype": dtype,
    }


# --- the export ----------------------------------------------------------------------------------


def _check_checkpoint(checkpoint: Path) -> None:
    if not checkpoint.is_dir():
        raise FileNotFoundError(f"{checkpoint}: no such checkpoint folder")
    if not (checkpoint / "model.json").is_file():
        steps = sorted((int(m.group(1)), p) for p in checkpoint.iterdir()
                       if p.is_dir() and (m := re.match(r"^step-(\d+)$", p.name)))
        hint = f"; pass a step folder, e.g. {steps[-1][1]}" if steps else "; pass a step-N folder"
        raise FileNotFoundError(f"{checkpoint / 'model.json'}: missing, so {checkpoint} is not a medtitan "
                                f"checkpoint{hint}")
    if not (checkpoint / ".metadata").is_file():
        raise FileNotFoundError(f"{checkpoint / '.metadata'}: missing; {checkpoint} is not a complete DCP checkpoint")


def _prepare_output(output: Path, force: bool) -> Path:
    if output.exists() and not output.is_dir():
        raise ValueError(f"{output}: exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not force:
        raise ValueError(f"{output}: folder exists and is not empty; pass --force to replace it")
    staging = output.with_name(output.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def export_hf(checkpoint: str | Path, output: str | Path, tokenizer: str | Path | None, dtype: str = "float32",
              force: bool = False, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES) -> dict:
    """Export the checkpoint folder `checkpoint` (step-N) to `output`; returns the
    medtitan_export.json record. The folder appears complete or not at all (written into
    OUTPUT.tmp, then renamed); a non-empty `output` is replaced only with `force`."""
    from medtitan.checkpoint import load_model

    checkpoint, output = Path(checkpoint), Path(output)
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    _check_checkpoint(checkpoint)
    if tokenizer is None:
        # Checkpoints record the tokenizer of the data they were trained on (train.py's model.json).
        recorded = json.loads((checkpoint / "model.json").read_text()).get("tokenizer", {}).get("path")
        if recorded is None:
            raise ValueError(f"{checkpoint / 'model.json'} records no tokenizer (an older checkpoint): pass --tokenizer, "
                             "the tokenizer.model the model was trained with (the data build's [build] tokenizer)")
        tokenizer = recorded
    tokenizer = Path(tokenizer)
    if not tokenizer.is_file():
        raise FileNotFoundError(f"{tokenizer}: tokenizer model not found (pass the tokenizer.model the checkpoint "
                                "was trained with)")
    description = json.loads((checkpoint / "model.json").read_text())
    sp_model = read_sentencepiece(tokenizer)
    model = load_model(checkpoint)
    args = model.args
    if len(sp_model.pieces) > args.vocab_size:
        raise ValueError(f"{tokenizer}: {len(sp_model.pieces)} pieces, more than the model's vocab_size "
                         f"{args.vocab_size} ({checkpoint / 'model.json'}); is it the tokenizer this model was trained with?")

    staging = _prepare_output(output, force)
    try:
        files = write_safetensors(hf_tensors(model), staging, DTYPES[dtype], max_shard_bytes)
        tokenizer_record = write_tokenizer(tokenizer, staging, args.max_seq_len)
        specials = tokenizer_record["ids"]
        config = hf_config(args, dtype, specials)
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        generation = {f"{name}_id": specials[name] for name in ("bos_token", "eos_token", "pad_token") if name in specials}
        (staging / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")
        step = re.match(r"^step-(\d+)$", checkpoint.name)
        record = {
            "source_checkpoint": str(checkpoint.resolve()),
            "step": int(step.group(1)) if step else None,
            "flavor": description.get("flavor"),
            "args": asdict(args),
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": dtype,
            "weights": files,
            "tokenizer": {"source": str(tokenizer.resolve()), **tokenizer_record},
        }
        (staging / "medtitan_export.json").write_text(json.dumps(record, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if output.exists():  # empty, or replaced with force: swap, then delete the old one
        old = output.with_name(output.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        output.rename(old)
        staging.rename(output)
        shutil.rmtree(old)
    else:
        staging.rename(output)
    return record
