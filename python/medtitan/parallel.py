"""Parallelisms composed on the plain model, in torchtitan's order:
apply_tp -> apply_float8 -> apply_ac -> apply_compile -> apply_fsdp. Public torch APIs only
(parallelize_module, checkpoint_wrapper, torch.compile, torchao float8, fully_shard), so the
same code runs under NCCL on GPUs and gloo on CPUs."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributed.device_mesh import DeviceMesh


def apply_tp(model: nn.Module, tp_mesh: DeviceMesh) -> None:
    """Megatron-style tensor parallelism with sequence-parallel norms (torchtitan's plan):
    column-parallel q/k/v and gate/up, row-parallel o and down, activations sharded along the
    sequence between blocks, the embedding row-parallel and the output column-parallel. Every
    parameter becomes a DTensor on the TP mesh, so gradients of the norms are reduced across
    TP ranks like any other (a plain replicated norm weight would only see its rank's share)."""
    from torch.distributed.tensor import Replicate, Shard
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        PrepareModuleInput,
        RowwiseParallel,
        SequenceParallel,
        parallelize_module,
    )

    args = model.args
    degree = tp_mesh.size()
    if args.n_heads % degree or args.n_kv_heads % degree:
        raise ValueError(
            f"tensor_parallel_degree {degree} must divide n_heads {args.n_heads} and n_kv_heads {args.n_kv_heads}"
        )
    parallelize_module(
        model,
        tp_mesh,
        {
            "tok_embeddings": RowwiseParallel(input_layouts=Replicate(), output_layouts=Shard(1)),
            "norm": SequenceParallel(),
            "output": ColwiseParallel(input_layouts=Shard(1), output_layouts=Replicate(), use_local_output=True),
        },
    )
    for block in model.layers.values():
        parallelize_module(
            block,
            tp_mesh,
            {
                "attention_norm": SequenceParallel(),
                "attention": PrepareModuleInput(
                    input_layouts=(Shard(1), None), desired_input_layouts=(Replicate(), None)
                ),
                "attention.wq": ColwiseParallel(),
                "attention.wk": ColwiseParallel(),
                "attention.wv": ColwiseParallel(),
                "attention.wo": RowwiseParallel(output_layouts=Shard(1)),
                "ffn_norm": SequenceParallel(),
                "feed_forward": PrepareModuleInput(input_layouts=(Shard(1),), desired_input_layouts=(Replicate(),)),
                "feed_forward.w1": ColwiseParallel(),
                "feed_forward.w3": ColwiseParallel(),
                "feed_forward.w2": RowwiseParallel(output_layouts=Shard(1)),
            },
        )


def apply_ac(model: nn.Module, mode: str) -> None:
    """Activation checkpointing per block: "full" recomputes every block in backward,
    "selective" every second block, "none" nothing."""
    if mode == "none":
        return
    if mode not in ("full", "selective"):
        raise ValueError(f"activation_checkpoint.mode must be none, selective or full, got {mode!r}")
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import checkpoint_wrapper

    for index, (name, block) in enumerate(list(model.layers.items())):
        if mode == "full" or index % 2 == 0:
            model.layers[name] = checkpoint_wrapper(block, preserve_rng_state=False)


def apply_compile(model: nn.Module) -> None:
    """torch.compile each block (repeated structure: one compilation, reused)."""
    for name, block in list(model.layers.items()):
        model.layers[name] = torch.compile(block, fullgraph=True)


def float8_available() -> tuple[bool, str]:
    if not torch.cuda.is_available():
        return False, "float8 training needs a CUDA GPU"
    major, minor = torch.cuda.get_device_capability()
    if (major, minor) < (8, 9):
        return False, f"float8 training needs compute capability 8.9+ (H100, L4, ...); this GPU has {major}.{minor}"
    try:
        import torchao  # noqa: F401
    except ImportError:
        return False, "float8 training needs torchao (pip install torchao)"
    return True, ""


FLOAT8_RECIPES = ("tensorwise", "rowwise")


def apply_float8(model: nn.Module, enable: bool, fallback: str, recipe: str = "tensorwise") -> bool:
    """Swap Linear layers (not the output projection) for torchao float8 training with the named
    scaling recipe; returns whether float8 is on. Where the hardware lacks it: error, or fall back
    to bf16 if asked."""
    if not enable:
        return False
    if recipe not in FLOAT8_RECIPES:
        raise ValueError(f"float8.recipe must be one of {', '.join(FLOAT8_RECIPES)}, got {recipe!r}")
    ok, why = float8_available()
    if not ok:
        if fallback == "bf16":
            print(f"float8 disabled: {why}; training continues in bf16 (float8.fallback = 'bf16')")
            return False
        raise RuntimeError(f"float8.enable is set but {why}. Set float8.fallback = 'bf16' to train without it.")
    from torchao.float8 import Float8LinearConfig, convert_to_float8_training

    convert_to_float8_training(
        model, config=Float8LinearConfig.from_recipe_name(recipe), module_filter_fn=lambda module, fqn: fqn != "output"
    )
    return True


def apply_fsdp(
    model: nn.Module, dp_mesh: DeviceMesh, param_dtype: torch.dtype, reduce_dtype: torch.dtype, sum_reduction_only: bool
) -> None:
    """fully_shard each block, then the root. Gradients are summed, not averaged (the loss is
    already normalised by the global token count); gloo needs sum-only collectives."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy(param_dtype=param_dtype, reduce_dtype=reduce_dtype)
    modules = list(model.layers.values())
    for block in modules:
        fully_shard(block, mesh=dp_mesh, mp_policy=policy)
    fully_shard(model, mesh=dp_mesh, mp_policy=policy)
    for module in modules + [model]:
        module.set_gradient_divide_factor(1.0)
        if sum_reduction_only:
            module.set_force_sum_reduction_for_comms(True)
