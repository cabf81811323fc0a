"""The training entry point:

    torchrun --nproc_per_node=N -m medtitan.train --config train_configs/debug.toml [--section.key value ...]

config -> process group and 2-D mesh (dp_shard, tp) -> model on meta -> parallelisms -> weights
-> loop (gradient accumulation, token-normalised loss, clipping, guards) -> metrics, validation,
DCP checkpoints. NCCL on GPUs, gloo on CPUs, same code.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from medtitan.checkpoint import CheckpointManager
from medtitan.config import JobConfig, load_job_config
from medtitan.lr import lr_factor
from medtitan.metrics import MetricsLogger, device_peak_flops, memory_gib
from medtitan.models import build_model, model_args
from medtitan.parallel import apply_ac, apply_compile, apply_float8, apply_fsdp, apply_tp
from medtitan.stability import StabilityGuard

# Fault injection for tests: MEDTITAN_TRAIN_INJECT="nan@7,spike@12" makes the loss NaN (or
# 50x) at those steps, before backward, on every rank; "crash@9" kills every rank abruptly
# after step 9 (its checkpoint, if any, written).
INJECT_ENV = "MEDTITAN_TRAIN_INJECT"


class StopSignal:
    """SIGUSR1 / SIGTERM noted by a handler, acted on between steps: ranks agree through an
    all-reduce (max), so one signalled rank is enough for all to save the same step."""

    def __init__(self, enabled: bool) -> None:
        self.received: int | None = None
        if enabled:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                for number in (signal.SIGUSR1, signal.SIGTERM):
                    signal.signal(number, self._note)

    def _note(self, number, _frame) -> None:
        self.received = number

    def any_rank(self, device) -> bool:
        flag = torch.tensor([1.0 if self.received is not None else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


def _injections() -> dict[int, str]:
    spec = os.environ.get(INJECT_ENV, "")
    out = {}
    for item in filter(None, spec.split(",")):
        kind, _, step = item.partition("@")
        out[int(step)] = kind
    return out


def init_distributed() -> tuple[int, int, torch.device]:
    """Process group from torchrun's environment (a world of one without torchrun)."""
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("LOCAL_RANK", "0")
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=dt.timedelta(minutes=10))
    return rank, world, device


def build_mesh(config: JobConfig, world: int, device: torch.device):
    from torch.distributed.device_mesh import init_device_mesh

    tp = config.parallelism.tensor_parallel_degree
    dp = config.parallelism.data_parallel_shard_degree
    if dp == -1:
        dp = world // tp
    if dp * tp != world:
        raise ValueError(f"data_parallel_shard_degree {dp} x tensor_parallel_degree {tp} != world size {world}")
    return init_device_mesh(device.type, (dp, tp), mesh_dim_names=("dp_shard", "tp")), dp, tp


def _decay_groups(model: torch.nn.Module, config: JobConfig) -> list[dict]:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        exempt = not config.optimizer.decay_norms_and_embeddings and ("norm" in name or "tok_embeddings" in name)
        (no_decay if exempt else decay).append(param)
    return [{"params": decay, "weight_decay": config.optimizer.weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def grad_norm(parameters) -> torch.Tensor:
    """The global L2 norm of the gradients, plain tensors and DTensors (sharded or replicated on
    any mesh) alike. Sums of squares are linear, so a sharded DTensor's sum is a pending
    (Partial) sum that full_tensor() reduces exactly once; grads are grouped by mesh and
    placements so each group costs one collective."""
    from torch.distributed.tensor import DTensor

    groups: dict = {}
    squares = []
    for param in parameters:
        grad = param.grad
        if grad is None:
            continue
        if isinstance(grad, DTensor):
            groups.setdefault((id(grad.device_mesh), grad.placements), []).append(grad)
        else:
            squares.append(grad.float().pow(2).sum())
    for grads in groups.values():
        total = grads[0].float().pow(2).sum()
        for grad in grads[1:]:
            total = total + grad.float().pow(2).sum()
        squares.append(total.full_tensor())
    return torch.sqrt(torch.stack(squares).sum()) if squares else torch.zeros(())


def initialise_weights(model: torch.nn.Module, config: JobConfig, args, device: torch.device) -> None:
    """The same weights whatever the parallelism: a full model is initialised from the seed on
    the CPU, then loaded into the (possibly sharded) model."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    torch.manual_seed(config.training.seed)
    reference = build_model(config.model.flavor, device="cpu", vocab_size=args.vocab_size, max_seq_len=args.max_seq_len)
    model.to_empty(device=device)
    model.init_weights(buffer_device=device)  # buffers (RoPE tables) and a first fill
    set_model_state_dict(model, reference.state_dict(), options=StateDictOptions(full_state_dict=True))
    del reference


def evaluate(model, loader, steps: int, device) -> float:
    """Mean token cross-entropy over `steps` validation micro-batches (all ranks)."""
    model.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for _ in range(steps):
            for inputs, labels in loader.next_step():
                logits = model(inputs.to(device))
                total[0] += F.cross_entropy(logits.flatten(0, 1).float(), labels.to(device).flatten(), reduction="sum")
                total[1] += labels.numel()
    dist.all_reduce(total)
    model.train()
    return (total[0] / total[1]).item()


def train(config: JobConfig) -> dict:
    rank, world, device = init_distributed()
    if config.training.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    mesh, dp, tp = build_mesh(config, world, device)
    dp_rank = mesh.get_local_rank("dp_shard")
    from medtitan.data.prepare import ensure_build

    shards = ensure_build(config)  # built first (by rank 0) when missing
    manifest = json.loads((shards / "manifest.json").read_text())
    if manifest["seq_len"] != config.training.seq_len:
        raise ValueError(f"training.seq_len {config.training.seq_len} differs from the data's seq_len {manifest['seq_len']}")

    args = model_args(config.model.flavor, vocab_size=config.model.vocab_size or manifest["tokenizer"]["vocab_size"],
                      max_seq_len=config.training.seq_len)
    model = build_model(config.model.flavor, vocab_size=args.vocab_size, max_seq_len=args.max_seq_len)
    on_gpu = device.type == "cuda"
    if tp > 1:
        apply_tp(model, mesh["tp"])
    apply_ac(model, config.activation_checkpoint.mode)
    if config.compile.enable:
        apply_compile(model)
    float8 = apply_float8(model, config.float8.enable, config.float8.fallback)
    param_dtype = getattr(torch, config.training.mixed_precision_param) if on_gpu else torch.float32
    if dp > 1:
        apply_fsdp(model, mesh["dp_shard"], param_dtype, torch.float32, sum_reduction_only=not on_gpu)
    initialise_weights(model, config, args, device)

    from medtitan.data.loader import ShardLoader

    fingerprint = manifest["files"][f"train/{manifest['splits']['train']['shards'][0]}.bin"]["sha256"]
    loader = ShardLoader(shards / "train", config.training.seq_len, config.training.global_batch_size,
                         config.training.local_batch_size, dp_rank, dp, config.training.seed, fingerprint)
    validation = None
    if config.validation.enable and manifest["splits"]["validation"]["samples"] >= config.training.local_batch_size * dp:
        validation = ShardLoader(shards / "validation", config.training.seq_len, config.training.local_batch_size * dp,
                                 config.training.local_batch_size, dp_rank, dp, config.training.seed, fingerprint)

    opt = config.optimizer
    optimizer = torch.optim.AdamW(_decay_groups(model, config), lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps,
                                  foreach=True)
    dump = Path(config.job.dump_folder)
    from dataclasses import asdict

    # model.json in every checkpoint: what load_model builds, and what export-hf and the model
    # card need (the tokenizer, the data it was trained on, the whole job config).
    description = {"flavor": config.model.flavor, "args": asdict(args), "tokenizer": manifest["tokenizer"],
                   "data": {"shards": str(shards.resolve()), "seq_len": manifest["seq_len"], "seed": manifest["seed"],
                            "sources": manifest["sources"]},
                   "job_config": config.to_dict(), "world_size": world, "device": device.type,
                   "param_dtype": str(param_dtype).removeprefix("torch.")}
    checkpoints = CheckpointManager(dump / config.checkpoint.folder, config.checkpoint, rank, description)
    guard = StabilityGuard(config.stability)
    metrics = MetricsLogger(dump, rank, config.metrics)
    step = 0
    resumed = checkpoints.load_latest(model, optimizer, loader, guard)
    if resumed is not None:
        step = resumed
        metrics.log_event({"event": "resumed", "step": step})

    flops_per_token = args.flops_per_token(config.training.seq_len)
    peak = device_peak_flops(device)
    injections = _injections()
    stop = StopSignal(config.checkpoint.save_on_signal)
    dp_group = mesh.get_group("dp_shard")
    history = []
    window_started, window_tokens = time.perf_counter(), 0
    while step < config.training.steps:
        step += 1
        lr = opt.lr * lr_factor(step, config.lr_scheduler.warmup_steps, config.training.steps,
                                config.lr_scheduler.decay_type, config.lr_scheduler.min_lr_factor)
        for group in optimizer.param_groups:
            group["lr"] = lr
        micro_batches = loader.next_step()
        local_tokens = torch.tensor(float(sum(labels.numel() for _, labels in micro_batches)), dtype=torch.float64, device=device)
        global_tokens = local_tokens.clone()
        dist.all_reduce(global_tokens, group=dp_group)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for inputs, labels in micro_batches:
            logits = model(inputs.to(device))
            summed = F.cross_entropy(logits.flatten(0, 1).float(), labels.to(device).flatten(), reduction="sum")
            # An injected fault stands for bad data at that point of the stream: it fires once,
            # so a rollback that skips the data range does not meet it again.
            kind = injections.pop(step, None) if injections.get(step) in ("nan", "spike") else None
            if kind == "nan":
                summed = summed * float("nan")
            elif kind == "spike":
                summed = summed * 50.0
            (summed / global_tokens.float()).backward()
            loss_sum += summed.detach().double()
        dist.all_reduce(loss_sum, group=dp_group)
        loss = (loss_sum / global_tokens).item()
        norm = grad_norm(model.parameters())
        norm_value = norm.item()
        decision = guard.check(step, loss, norm_value)
        if decision.action in ("skip", "rollback") or not math.isfinite(norm_value):
            optimizer.zero_grad(set_to_none=True)
            metrics.log_event({"event": decision.action, "step": step, "reason": decision.reason, "loss": loss,
                               "grad_norm": norm_value})
            if decision.action == "rollback":
                restored = checkpoints.load_latest(model, optimizer, loader, guard)
                if restored is None:
                    metrics.log_event({"event": "rollback_without_checkpoint", "step": step})
                else:
                    loader.skip_steps(step - restored)
                    metrics.log_event({"event": "rolled_back", "to_step": restored, "skipped_steps": step - restored})
                    step = restored
            continue
        if decision.reason:
            metrics.log_event({"event": "warning", "step": step, "reason": decision.reason, "loss": loss, "grad_norm": norm_value})
        clip = config.training.max_norm / (norm_value + 1e-6)
        if clip < 1.0:
            for param in model.parameters():
                if param.grad is not None:
                    param.grad.mul_(clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        guard.accept(loss, norm_value)
        history.append(loss)
        window_tokens += int(global_tokens.item())
        validate = validation is not None and (step % config.validation.freq == 0 or step == config.training.steps)
        if validate or step % config.metrics.log_freq == 0 or step == config.training.steps or step == 1:
            # One record per logged step (validation included when it ran at that step).
            elapsed = time.perf_counter() - window_started
            tokens_per_s = window_tokens / elapsed / world if elapsed > 0 else 0.0
            record = {"step": step, "loss": loss, "grad_norm": norm_value, "lr": lr,
                      "tokens_per_s": tokens_per_s,  # per device
                      "mfu": (tokens_per_s * flops_per_token / peak) if peak else None,
                      "memory_gib": memory_gib(device), "float8": float8}
            if validate:
                validation.load_state_dict({"epoch": 0, "position": 0})
                val_loss = evaluate(model, validation, config.validation.steps, device)
                record |= {"validation_loss": val_loss, "validation_perplexity": math.exp(min(val_loss, 50))}
            metrics.log(record)
            window_started, window_tokens = time.perf_counter(), 0
        stopping = config.checkpoint.save_on_signal and stop.any_rank(device)
        if config.checkpoint.enable and (step % config.checkpoint.interval == 0 or step == config.training.steps
                                         or stopping):
            checkpoints.save(step, model, optimizer, loader, guard)
        if stopping:
            import signal

            name = signal.Signals(stop.received).name if stop.received is not None else "another rank's signal"
            metrics.log_event({"event": "stopped_on_signal", "step": step, "signal": name,
                               "checkpoint": bool(config.checkpoint.enable)})
            if rank == 0:
                print(f"stopped at step {step} on {name}; checkpoint saved, the next run resumes here", flush=True)
            break
        if injections.get(step) == "crash":
            sys.stdout.flush()
            os._exit(75)
    metrics.close()
    if rank == 0 and history:
        marks = sorted({0, len(history) // 4, len(history) // 2, 3 * len(history) // 4, len(history) - 1})
        curve = " -> ".join(f"{history[i]:.3f}" for i in marks)
        print(f"loss curve ({len(history)} steps this run, at {', '.join(str(i + 1) for i in marks)}): {curve}", flush=True)
    dist.barrier()
    return {"losses": history, "step": step}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    path = None
    if "--config" in argv:
        index = argv.index("--config")
        path = argv[index + 1]
        del argv[index:index + 2]
    try:
        config = load_job_config(path, argv)
    except ValueError as error:
        print(f"medtitan.train: error: {error}", file=sys.stderr)
        return 2
    try:
        train(config)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
