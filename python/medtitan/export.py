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

Tokenizer: `tokenizer.json` and its settings are written by medtitan/tokenizer/huggingface.py,
whose docstring lists how it matches SentencePiece and where it differs.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from medtitan.tokenizer.huggingface import read_sentencepiece, write_tokenizer

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
DEFAULT_MAX_SHARD_BYTES = 5 * 10**9

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
_TOP_NAMES = {
    "tok_embeddings.weight": "model.embed_tokens.weight",
    "norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


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


def write_safetensors(
    tensors: dict[str, torch.Tensor], output: Path, dtype: torch.dtype, max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES
) -> list[str]:
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
        index = {
            "metadata": {"total_size": total},
            "weight_map": {n: file for names, file in zip(shards, files) for n in names},
        }
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
        steps = sorted(
            (int(m.group(1)), p)
            for p in checkpoint.iterdir()
            if p.is_dir() and (m := re.match(r"^step-(\d+)$", p.name))
        )
        hint = f"; pass a step folder, e.g. {steps[-1][1]}" if steps else "; pass a step-N folder"
        raise FileNotFoundError(
            f"{checkpoint / 'model.json'}: missing, so {checkpoint} is not a medtitan checkpoint{hint}"
        )
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


def export_hf(
    checkpoint: str | Path,
    output: str | Path,
    tokenizer: str | Path | None,
    dtype: str = "float32",
    force: bool = False,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
) -> dict:
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
            raise ValueError(
                f"{checkpoint / 'model.json'} records no tokenizer (an older checkpoint): pass --tokenizer, "
                "the tokenizer.model the model was trained with (the data build's [build] tokenizer)"
            )
        tokenizer = recorded
    tokenizer = Path(tokenizer)
    if not tokenizer.is_file():
        raise FileNotFoundError(
            f"{tokenizer}: tokenizer model not found (pass the tokenizer.model the checkpoint was trained with)"
        )
    description = json.loads((checkpoint / "model.json").read_text())
    sp_model = read_sentencepiece(tokenizer)
    model = load_model(checkpoint)
    args = model.args
    if len(sp_model.pieces) > args.vocab_size:
        raise ValueError(
            f"{tokenizer}: {len(sp_model.pieces)} pieces, more than the model's vocab_size "
            f"{args.vocab_size} ({checkpoint / 'model.json'}); is it the tokenizer this model was trained with?"
        )

    staging = _prepare_output(output, force)
    try:
        files = write_safetensors(hf_tensors(model), staging, DTYPES[dtype], max_shard_bytes)
        tokenizer_record = write_tokenizer(tokenizer, staging, args.max_seq_len)
        specials = tokenizer_record["ids"]
        config = hf_config(args, dtype, specials)
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        generation = {
            f"{name}_id": specials[name] for name in ("bos_token", "eos_token", "pad_token") if name in specials
        }
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
