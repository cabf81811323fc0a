"""`medtitan plan`: what a training run costs before it starts: parameters, FLOPs per token (6N and
with attention), total FLOPs, per-GPU memory under the configured FSDP / TP / activation
checkpointing, GPU-hours, days, cost, checkpoint size and write time, and where the case study's
own arithmetic disagrees with itself.

Memory figures are estimates (activations by the standard per-layer formula with SDPA, i.e. no
stored attention matrix; sequence parallelism divides them by the TP degree).
"""

from __future__ import annotations

from dataclasses import dataclass

from medtitan.config import JobConfig
from medtitan.models import model_args


@dataclass(frozen=True)
class GPU:
    name: str
    bf16_tflops: float  # dense peak
    memory_gb: float


GPUS = {
    "a100-40gb": GPU("NVIDIA A100 40GB", 312, 40),
    "a100-80gb": GPU("NVIDIA A100 80GB", 312, 80),
    "h100-80gb": GPU("NVIDIA H100 80GB SXM", 989, 80),
    "h200-141gb": GPU("NVIDIA H200 141GB", 989, 141),
    "b200-192gb": GPU("NVIDIA B200 192GB", 2250, 192),
}
ALIASES = {"a100": "a100-80gb", "h100": "h100-80gb", "h200": "h200-141gb", "b200": "b200-192gb"}
OPERATIONAL_OVERHEAD = 1.15  # checkpoint pauses, restarts, data stalls (the case study's factor)
GB = 1e9


def find_gpu(name: str) -> GPU:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in GPUS:
        raise ValueError(f"unknown GPU {name!r}; known: {', '.join(sorted(GPUS))} (or {', '.join(sorted(ALIASES))})")
    return GPUS[key]


def plan(
    config: JobConfig,
    gpus: int,
    gpu_name: str,
    mfu: float,
    tokens: float,
    price_per_gpu_hour: float,
    parameters: float | None = None,
    checkpoint_write_gb_per_s: float = 2.0,
) -> dict:
    """Every figure of the plan, as a dict (the CLI prints it and can write it as JSON)."""
    if gpus <= 0 or not 0 < mfu <= 1 or tokens <= 0:
        raise ValueError("gpus and tokens must be positive and mfu in (0, 1]")
    gpu = find_gpu(gpu_name)
    args = model_args(config.model.flavor, vocab_size=config.model.vocab_size, max_seq_len=config.training.seq_len)
    actual = args.parameter_count()
    n = parameters or actual
    seq, micro = config.training.seq_len, config.training.local_batch_size
    tp = config.parallelism.tensor_parallel_degree
    dp = gpus // tp
    flops_6n = 6 * n
    # As the trainer's MFU counts them: the input embedding is a lookup (no FLOPs), and attention
    # adds 12 x layers x dim x seq_len per token (forward and backward).
    flops_with_attention = 6 * (n - args.vocab_size * args.dim) + 12 * args.n_layers * args.dim * seq
    effective = gpu.bf16_tflops * 1e12 * mfu
    total_6n = flops_6n * tokens
    total_attention = flops_with_attention * tokens
    gpu_hours = total_6n / (effective * 3600)
    gpu_hours_attention = total_attention / (effective * 3600)
    wall_hours = gpu_hours / gpus

    # Memory per GPU (bytes): FSDP shards everything over dp, TP splits the blocks over tp.
    shards = dp * tp
    weights_fp32 = 4 * actual / shards  # FSDP keeps fp32 master weights sharded
    adam = 8 * actual / shards  # two fp32 moments
    grads = 4 * actual / shards  # fp32 reduce dtype
    block = 2 * args.dim * args.dim + 2 * args.dim * args.n_kv_heads * args.head_dim + 3 * args.dim * args.hidden_dim
    gathered = 2 * (2 * block / tp)  # bf16, current block + the one prefetched
    per_layer = 34 * seq * micro * args.dim / tp  # bytes, bf16, SDPA (no stored scores), sequence parallel
    mode = config.activation_checkpoint.mode
    if mode == "full":
        activations = args.n_layers * 2 * seq * micro * args.dim / tp + per_layer
    elif mode == "selective":
        activations = args.n_layers / 2 * per_layer + args.n_layers / 2 * 2 * seq * micro * args.dim / tp
    else:
        activations = args.n_layers * per_layer
    logits = 4 * seq * micro * args.vocab_size  # fp32 logits for the loss, on every TP rank
    memory = {
        "fp32 weights (sharded)": weights_fp32,
        "Adam moments (sharded)": adam,
        "gradients (sharded, fp32)": grads,
        "gathered bf16 blocks (2)": gathered,
        f"activations (AC {mode})": activations,
        "fp32 logits": logits,
    }
    total_memory = sum(memory.values())
    checkpoint_bytes = 12 * actual  # fp32 weights + two fp32 moments (DCP), small state aside

    result = {
        "model": {
            "flavor": config.model.flavor,
            "parameters": actual,
            "parameters_used": n,
            "vocab_size": args.vocab_size,
            "layers": args.n_layers,
            "dim": args.dim,
            "heads": args.n_heads,
            "kv_heads": args.n_kv_heads,
            "ffn_dim": args.hidden_dim,
            "seq_len": seq,
        },
        "cluster": {
            "gpus": gpus,
            "gpu": gpu.name,
            "peak_bf16_tflops": gpu.bf16_tflops,
            "mfu": mfu,
            "effective_tflops_per_gpu": effective / 1e12,
            "data_parallel": dp,
            "tensor_parallel": tp,
        },
        "flops_per_token_6n": flops_6n,
        "flops_per_token_with_attention": flops_with_attention,
        "tokens": tokens,
        "total_flops_6n": total_6n,
        "total_flops_with_attention": total_attention,
        "gpu_hours": gpu_hours,
        "gpu_hours_with_attention": gpu_hours_attention,
        # The case study writes 312 x 0.45 = 140.4 TFLOPS as 140 before dividing.
        "gpu_hours_case_study_rounding": total_6n / (round(effective / 1e12) * 1e12 * 3600),
        "cluster_tokens_per_s": gpus * effective / flops_6n,
        "wall_hours": wall_hours,
        "wall_days": wall_hours / 24,
        "wall_days_with_overhead": wall_hours * OPERATIONAL_OVERHEAD / 24,
        "cost": gpu_hours * price_per_gpu_hour,
        "cost_with_overhead": gpu_hours * OPERATIONAL_OVERHEAD * price_per_gpu_hour,
        "memory_per_gpu_gb": {k: v / GB for k, v in memory.items()} | {"total": total_memory / GB},
        "memory_fits": total_memory / GB < gpu.memory_gb,
        "checkpoint_gb": checkpoint_bytes / GB,
        "checkpoint_write_seconds": checkpoint_bytes / GB / checkpoint_write_gb_per_s,
        "case_study_inconsistencies": case_study_notes(actual, gpus, gpu, mfu, tokens),
    }
    return result


def case_study_notes(actual: int, gpus: int, gpu: GPU, mfu: float, tokens: float) -> list[str]:
    """Where the case study's numbers disagree with each other (facts, computed here)."""
    effective = gpu.bf16_tflops * mfu
    claimed = 6.7e9
    tokens_per_s = gpus * effective * 1e12 / (6 * claimed)
    step5_mfu = 85_000 * 6 * claimed / (gpus * gpu.bf16_tflops * 1e12)
    return [
        f"Parameters: the architecture table (GQA with 8 KV heads, 64K untied vocabulary) gives {actual / 1e9:.2f}B, "
        f"not 6.7B; 6.7B is what full multi-head attention with a 32K vocabulary gives.",
        f"Step 5 vs Step 6: Step 5's 85,000 tokens/s (27 days for 200B tokens) would be {step5_mfu:.1%} MFU on "
        f"{gpus} x {gpu.name}; at {mfu:.0%} MFU the cluster processes {tokens_per_s:,.0f} tokens/s "
        f"({tokens / tokens_per_s / 3600:.0f} hours for {tokens / 1e9:.0f}B tokens), Step 6's ~3 days.",
        f"GPU-hours: {gpu.bf16_tflops} x {mfu} = {effective:.1f} TFLOPS; the case study divides by "
        f"{round(effective)} (15,952 GPU-hours for 6.7B and 200B tokens instead of "
        f"{6 * claimed * 200e9 / (effective * 1e12 * 3600):,.0f}).",
        "Memory table: parameters and gradients are divided by the 128 FSDP shards only, though TP 2 halves them "
        "too, and the optimizer row (53.6 GB) leaves out the fp32 master weights that bf16 training keeps "
        "(another 4 bytes per parameter).",
    ]


def format_plan(result: dict) -> str:
    m, c = result["model"], result["cluster"]
    lines = [
        f"model {m['flavor']}: {m['parameters']:,} parameters ({m['parameters'] / 1e9:.2f}B)"
        + (f"; planning with {m['parameters_used']:.3g}" if m["parameters_used"] != m["parameters"] else ""),
        f"  {m['layers']} layers, dim {m['dim']}, {m['heads']} heads / {m['kv_heads']} KV heads, FFN {m['ffn_dim']}, "
        f"vocab {m['vocab_size']:,}, seq_len {m['seq_len']}",
        f"cluster: {c['gpus']} x {c['gpu']} (peak {c['peak_bf16_tflops']} TFLOPS bf16), MFU {c['mfu']:.0%} = "
        f"{c['effective_tflops_per_gpu']:.1f} TFLOPS per GPU; FSDP {c['data_parallel']} x TP {c['tensor_parallel']}",
        f"FLOPs per token: 6N = {result['flops_per_token_6n']:.4g}; with attention (embedding lookup excluded) "
        f"{result['flops_per_token_with_attention']:.4g}",
        f"total FLOPs for {result['tokens']:.3g} tokens: {result['total_flops_6n']:.4g} (6N); "
        f"{result['total_flops_with_attention']:.4g} with attention",
        f"GPU-hours: {result['gpu_hours']:,.0f} (6N; {result['gpu_hours_case_study_rounding']:,.0f} with the case study's "
        f"rounding), {result['gpu_hours_with_attention']:,.0f} with attention",
        f"throughput {result['cluster_tokens_per_s']:,.0f} tokens/s; wall clock {result['wall_hours']:.1f} h = "
        f"{result['wall_days']:.2f} days ({result['wall_days_with_overhead']:.2f} with x{OPERATIONAL_OVERHEAD} overhead)",
        f"cost: ${result['cost']:,.0f} (${result['cost_with_overhead']:,.0f} with overhead)",
        "memory per GPU (estimate):",
    ]
    for name, value in result["memory_per_gpu_gb"].items():
        lines.append(f"  {name:<28}{value:8.2f} GB")
    lines.append(f"  fits in {c['gpu']}: {'yes' if result['memory_fits'] else 'NO'}")
    lines.append(
        f"checkpoint: {result['checkpoint_gb']:.1f} GB, {result['checkpoint_write_seconds']:.0f} s to write "
        f"at the assumed bandwidth"
    )
    lines.append("where the case study disagrees with itself:")
    lines += [f"  - {note}" for note in result["case_study_inconsistencies"]]
    return "\n".join(lines)
