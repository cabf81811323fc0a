"""Model flavors and builders (torchtitan-style: `build_model(flavor)` on the meta device,
then `init_weights` where the parameters will live)."""

from __future__ import annotations

from dataclasses import replace

import torch

from medtitan.models.llama import ModelArgs, Transformer

FLAVORS: dict[str, ModelArgs] = {
    # Tiny, for CPU tests and the demo: seconds per hundred steps on two cores.
    "debug": ModelArgs(
        dim=128, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=8_000, max_seq_len=512, ffn_dim_multiple_of=64
    ),
    # The proof-of-concept run: ~1.25B parameters with the 64K vocabulary.
    "1b": ModelArgs(dim=2048, n_layers=22, n_heads=32, n_kv_heads=4, vocab_size=64_000, max_seq_len=4096),
    # The case study's production model: dim 4096, 32 layers, 32 heads, 8 KV heads, FFN 11,008
    # (8/3 x 4096 rounded up to a multiple of 256), 64K untied vocabulary, context 4096.
    "7b": ModelArgs(dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, vocab_size=64_000, max_seq_len=4096),
}


def model_args(flavor: str, **overrides) -> ModelArgs:
    if flavor not in FLAVORS:
        raise ValueError(f"unknown model flavor {flavor!r}; known: {', '.join(FLAVORS)}")
    return replace(FLAVORS[flavor], **{k: v for k, v in overrides.items() if v is not None})


def build_model(flavor: str, device: str | torch.device = "meta", **overrides) -> Transformer:
    """The flavor's model; on the meta device (no memory) unless `device` says otherwise, in
    which case its weights are initialised there."""
    args = model_args(flavor, **overrides)
    with torch.device("meta"):
        model = Transformer(args)
    if torch.device(device).type != "meta":
        model.to_empty(device=device)
        model.init_weights(buffer_device=torch.device(device))
    return model


__all__ = ["FLAVORS", "ModelArgs", "Transformer", "build_model", "model_args"]
