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
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from medtitan.checkpoint import CheckpointManager
from medtitan.config import JobConfig, load_job_config
from medtitan.data.loader import ShardLoader
from medtitan.data.bootstrap import ensure_build
from medtitan.faults import crash, training_faults
from medtitan.lr import lr_factor
from medtitan.metrics import MetricsLogger, device_peak_flops, memory_gib
from medtitan.models import build_model, model_args
from medtitan.parallel import apply_ac, apply_compile, apply_float8, apply_fsdp, apply_tp
from medtitan.profiling import StepProfiler
from medtitan.stability import StabilityGuard


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
        """Whether any rank has received a stop signal (a collective: every rank calls it)."""
        flag = torch.tensor([1.0 if self.received is not None else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())


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
    return [{"params": decay, "weight_decay": config.optimizer.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


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
    """The same weights whatever the parallelism: a full model is initialised from the seed, then
    loaded into the (possibly sharded) model. On CPUs the reference is built on the CPU; on GPUs
    on the GPU itself, where a seeded init is deterministic too and takes seconds rather than the
    minute a CPU spends on 6B parameters (and every rank of a node no longer holds a 25 GB copy in
    host memory). CPU and GPU runs start from different draws of the same distribution."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    torch.manual_seed(config.training.seed)
    where = device if device.type == "cuda" else torch.device("cpu")
    reference = build_model(config.model.flavor, device=where, vocab_size=args.vocab_size, max_seq_len=args.max_seq_len)
    model.to_empty(device=device)
    model.init_weights(buffer_device=device)  # buffers (RoPE tables) and a first fill
    set_model_state_dict(model, reference.state_dict(), options=StateDictOptions(full_state_dict=True))
    del reference
    if device.type == "cuda":
        torch.cuda.empty_cache()


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


@dataclass
class StepOutcome:
    """What one optimizer step saw: the token-mean loss over the global batch, the gradient
    norm before clipping, the tokens it trained on, and the guard's decision (the optimizer
    stepped only when the decision let it)."""

    loss: float
    grad_norm: float
    tokens: int
    decision: object
    stepped: bool


class Trainer:
    """One training run, set up in the constructor (process group, mesh, data, model with its
    parallelisms, optimizer, checkpoints, guard, metrics, resume) and driven by `fit`.
    `train_step` is one optimizer step on the micro-batches it is given, so a benchmark can feed
    its own batches (the GPU benchmark probes the largest micro-batch that fits this way).

    The parts, as torchtitan splits them: `forward_backward_step` (one micro-batch),
    `train_step` (one optimizer step over a global batch's micro-batches) and `train` (the loop:
    schedule, logging, validation, checkpoints, the stop signal)."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.rank, self.world, self.device = init_distributed()
        if config.training.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.mesh, dp, tp = build_mesh(config, self.world, self.device)
        dp_rank = self.mesh.get_local_rank("dp_shard")
        self.shards = ensure_build(config)  # built first (by rank 0) when missing
        manifest = json.loads((self.shards / "manifest.json").read_text())
        if manifest["seq_len"] != config.training.seq_len:
            raise ValueError(
                f"training.seq_len {config.training.seq_len} differs from the data's seq_len {manifest['seq_len']}"
            )

        started = time.perf_counter()
        self.args = args = model_args(
            config.model.flavor,
            vocab_size=config.model.vocab_size or manifest["tokenizer"]["vocab_size"],
            max_seq_len=config.training.seq_len,
        )
        model = build_model(config.model.flavor, vocab_size=args.vocab_size, max_seq_len=args.max_seq_len)
        on_gpu = self.device.type == "cuda"
        if tp > 1:
            apply_tp(model, self.mesh["tp"])
        # float8 swaps Linear modules first (torchtitan converts at model build), so activation
        # checkpointing and compile wrap the float8 modules they will run.
        self.float8 = apply_float8(model, config.float8.enable, config.float8.fallback, config.float8.recipe)
        apply_ac(model, config.activation_checkpoint.mode)
        if config.compile.enable:
            apply_compile(model)
        self.param_dtype = getattr(torch, config.training.mixed_precision_param) if on_gpu else torch.float32
        # On a GPU, FSDP is applied even to a world of one: its mixed-precision policy is what
        # runs forward and backward in bf16 (without it a single GPU would train in fp32).
        if dp > 1 or on_gpu:
            apply_fsdp(model, self.mesh["dp_shard"], self.param_dtype, torch.float32, sum_reduction_only=not on_gpu)
        initialise_weights(model, config, args, self.device)
        self.model = model
        self.init_seconds = time.perf_counter() - started

        fingerprint = manifest["files"][f"train/{manifest['splits']['train']['shards'][0]}.bin"]["sha256"]
        training = config.training
        self.loader = ShardLoader(
            self.shards / "train",
            training.seq_len,
            training.global_batch_size,
            training.local_batch_size,
            dp_rank,
            dp,
            training.seed,
            fingerprint,
        )
        self.validation = None
        if config.validation.enable and manifest["splits"]["validation"]["samples"] >= training.local_batch_size * dp:
            self.validation = ShardLoader(
                self.shards / "validation",
                training.seq_len,
                training.local_batch_size * dp,
                training.local_batch_size,
                dp_rank,
                dp,
                training.seed,
                fingerprint,
            )

        opt = config.optimizer
        # Fused AdamW on GPUs: one kernel per parameter group and no foreach temporaries (a full
        # extra copy of the optimizer state at 7B); foreach on CPUs, where the tests pin its bits.
        implementation = {"fused": True} if on_gpu else {"foreach": True}
        self.optimizer = torch.optim.AdamW(
            _decay_groups(model, config), lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps, **implementation
        )
        dump = Path(config.job.dump_folder)
        # model.json in every checkpoint: what load_model builds, and what export-hf and the model
        # card need (the tokenizer, the data it was trained on, the whole job config).
        description = {
            "flavor": config.model.flavor,
            "args": asdict(args),
            "tokenizer": manifest["tokenizer"],
            "data": {
                "shards": str(self.shards.resolve()),
                "seq_len": manifest["seq_len"],
                "seed": manifest["seed"],
                "sources": manifest["sources"],
            },
            "job_config": config.to_dict(),
            "world_size": self.world,
            "device": self.device.type,
            "param_dtype": str(self.param_dtype).removeprefix("torch."),
        }
        self.checkpoints = CheckpointManager(dump / config.checkpoint.folder, config.checkpoint, self.rank, description)
        self.guard = StabilityGuard(config.stability)
        self.metrics = MetricsLogger(dump, self.rank, config.metrics)
        self.profiler = StepProfiler(config.profiling, dump, self.rank)
        self.step = 0
        resumed = self.checkpoints.load_latest(model, self.optimizer, self.loader, self.guard)
        if resumed is not None:
            self.step = resumed
            self.metrics.log_event({"event": "resumed", "step": self.step})
        self.flops_per_token = args.flops_per_token(training.seq_len)
        self.peak_flops = device_peak_flops(self.device)
        self.dp_group = self.mesh.get_group("dp_shard")
        self.faults = training_faults()  # medtitan/faults.py: MEDTITAN_TRAIN_INJECT, for the tests

    def forward_backward_step(
        self, inputs: torch.Tensor, labels: torch.Tensor, global_tokens: torch.Tensor, step: int
    ) -> torch.Tensor:
        """One micro-batch: forward, the summed token cross-entropy, backward of it divided by the
        global batch's token count (so gradients add up to the global token mean whatever the
        parallelism and accumulation). Returns the summed loss, detached, in float64."""
        logits = self.model(inputs.to(self.device))
        summed = F.cross_entropy(logits.flatten(0, 1).float(), labels.to(self.device).flatten(), reduction="sum")
        # An injected fault stands for bad data at that point of the stream: it fires once, so a
        # rollback that skips the data range does not meet it again.
        if step in self.faults["nan"]:
            self.faults["nan"].discard(step)
            summed = summed * float("nan")
        elif step in self.faults["spike"]:
            self.faults["spike"].discard(step)
            summed = summed * 50.0
        (summed / global_tokens.float()).backward()
        return summed.detach().double()

    def train_step(self, micro_batches: list[tuple[torch.Tensor, torch.Tensor]], step: int) -> StepOutcome:
        """One optimizer step on the micro-batches given: forward and backward of each, the
        gradient norm, the guard's check, clipping and the optimizer step."""
        device, model = self.device, self.model
        local_tokens = torch.tensor(
            float(sum(labels.numel() for _, labels in micro_batches)), dtype=torch.float64, device=device
        )
        global_tokens = local_tokens.clone()
        dist.all_reduce(global_tokens, group=self.dp_group)
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for inputs, labels in micro_batches:
            loss_sum += self.forward_backward_step(inputs, labels, global_tokens, step)
        dist.all_reduce(loss_sum, group=self.dp_group)
        loss = (loss_sum / global_tokens).item()
        norm_value = grad_norm(model.parameters()).item()
        decision = self.guard.check(step, loss, norm_value)
        tokens = int(global_tokens.item())
        if decision.action in ("skip", "rollback") or not math.isfinite(norm_value):
            self.optimizer.zero_grad(set_to_none=True)
            return StepOutcome(loss, norm_value, tokens, decision, stepped=False)
        clip = self.config.training.max_norm / (norm_value + 1e-6)
        if clip < 1.0:
            grads = [param.grad for param in model.parameters() if param.grad is not None]
            torch._foreach_mul_(grads, clip)  # one multi-tensor kernel, the same products as one mul_ each
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.guard.accept(loss, norm_value)
        return StepOutcome(loss, norm_value, tokens, decision, stepped=True)

    def set_lr(self, step: int) -> float:
        """Set the optimizer's learning rate for `step` (warmup, then the configured decay); returns it."""
        config = self.config
        lr = config.optimizer.lr * lr_factor(
            step,
            config.lr_scheduler.warmup_steps,
            config.training.steps,
            config.lr_scheduler.decay_type,
            config.lr_scheduler.min_lr_factor,
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _roll_back(self, step: int, outcome: StepOutcome) -> int:
        """Log a skipped or rolled-back step; returns the step to continue from."""
        metrics = self.metrics
        metrics.log_event(
            {
                "event": outcome.decision.action,
                "step": step,
                "reason": outcome.decision.reason,
                "loss": outcome.loss,
                "grad_norm": outcome.grad_norm,
            }
        )
        if outcome.decision.action != "rollback":
            return step
        restored = self.checkpoints.load_latest(self.model, self.optimizer, self.loader, self.guard)
        if restored is None:
            metrics.log_event({"event": "rollback_without_checkpoint", "step": step})
            return step
        self.loader.skip_steps(step - restored)
        metrics.log_event({"event": "rolled_back", "to_step": restored, "skipped_steps": step - restored})
        return restored

    def train(self) -> dict:
        """Train to training.steps: learning-rate schedule, logging, validation, checkpoints,
        the stop signal and fault injection."""
        config, metrics = self.config, self.metrics
        stop = StopSignal(config.checkpoint.save_on_signal)
        history = []
        window_started, window_tokens = time.perf_counter(), 0
        step = self.step
        while step < config.training.steps:
            step += 1
            lr = self.set_lr(step)
            self.profiler.before_step(step)
            outcome = self.train_step(self.loader.next_step(), step)
            self.profiler.after_step(step)
            if not outcome.stepped:
                step = self._roll_back(step, outcome)
                continue
            if outcome.decision.reason:
                metrics.log_event(
                    {
                        "event": "warning",
                        "step": step,
                        "reason": outcome.decision.reason,
                        "loss": outcome.loss,
                        "grad_norm": outcome.grad_norm,
                    }
                )
            history.append(outcome.loss)
            window_tokens += outcome.tokens
            validate = self.validation is not None and (
                step % config.validation.freq == 0 or step == config.training.steps
            )
            if validate or step % config.metrics.log_freq == 0 or step == config.training.steps or step == 1:
                # One record per logged step (validation included when it ran at that step).
                elapsed = time.perf_counter() - window_started
                tokens_per_s = window_tokens / elapsed / self.world if elapsed > 0 else 0.0
                record = {
                    "step": step,
                    "loss": outcome.loss,
                    "grad_norm": outcome.grad_norm,
                    "lr": lr,
                    "tokens_per_s": tokens_per_s,  # per device
                    "mfu": (tokens_per_s * self.flops_per_token / self.peak_flops) if self.peak_flops else None,
                    "memory_gib": memory_gib(self.device),
                    "float8": self.float8,
                }
                if validate:
                    self.validation.load_state_dict({"epoch": 0, "position": 0})
                    val_loss = evaluate(self.model, self.validation, config.validation.steps, self.device)
                    record |= {"validation_loss": val_loss, "validation_perplexity": math.exp(min(val_loss, 50))}
                metrics.log(record)
                window_started, window_tokens = time.perf_counter(), 0
            stopping = config.checkpoint.save_on_signal and stop.any_rank(self.device)
            if config.checkpoint.enable and (
                step % config.checkpoint.interval == 0 or step == config.training.steps or stopping
            ):
                self.checkpoints.save(step, self.model, self.optimizer, self.loader, self.guard)
            if stopping:
                import signal

                name = signal.Signals(stop.received).name if stop.received is not None else "another rank's signal"
                metrics.log_event(
                    {
                        "event": "stopped_on_signal",
                        "step": step,
                        "signal": name,
                        "checkpoint": bool(config.checkpoint.enable),
                    }
                )
                if self.rank == 0:
                    print(f"stopped at step {step} on {name}; checkpoint saved, the next run resumes here", flush=True)
                break
            if step in self.faults["crash"]:
                crash()
        self.step = step
        self.profiler.close()
        metrics.close()
        if self.rank == 0 and history:
            marks = sorted({0, len(history) // 4, len(history) // 2, 3 * len(history) // 4, len(history) - 1})
            curve = " -> ".join(f"{history[i]:.3f}" for i in marks)
            print(
                f"loss curve ({len(history)} steps this run, at {', '.join(str(i + 1) for i in marks)}): {curve}",
                flush=True,
            )
        dist.barrier()
        return {"losses": history, "step": step}


def train(config: JobConfig) -> dict:
    return Trainer(config).train()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    path = None
    if "--config" in argv:
        index = argv.index("--config")
        path = argv[index + 1]
        del argv[index : index + 2]
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
