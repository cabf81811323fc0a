"""Training configuration: TOML files with torchtitan's section and key names, plus dotted
command-line overrides (`--training.steps 20`). Every field has a docstring-like comment; an
unknown section or key is an error naming the file (or flag) and listing the known ones."""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class Job:
    dump_folder: str = "out/train"  # metrics.jsonl, checkpoints and TensorBoard logs go here
    description: str = ""


@dataclass
class Model:
    flavor: str = "debug"  # debug, 1b, 7b (medtitan.models.FLAVORS)
    vocab_size: int | None = None  # default: the tokenizer's, read from the data manifest


@dataclass
class Training:
    steps: int = 100
    seq_len: int = 512  # must equal the data build's seq_len (samples hold seq_len + 1 tokens)
    global_batch_size: int = 8  # sequences per optimizer step, across all data-parallel ranks
    local_batch_size: int = 4  # sequences per forward pass on one rank (gradient accumulation fills the rest)
    max_norm: float = 1.0  # gradient clipping
    seed: int = 1234
    mixed_precision_param: str = "bfloat16"  # on GPU; CPU always trains in float32
    deterministic: bool = True


@dataclass
class Optimizer:
    name: str = "AdamW"
    lr: float = 3e-4
    beta1: float = 0.9
    beta2: float = 0.95
    eps: float = 1e-8
    weight_decay: float = 0.1
    decay_norms_and_embeddings: bool = False  # False: norms and embeddings are exempt from decay


@dataclass
class LRScheduler:
    warmup_steps: int = 10
    decay_type: str = "cosine"  # cosine or linear, from the peak down to min_lr_factor * peak
    min_lr_factor: float = 0.1


@dataclass
class Parallelism:
    data_parallel_shard_degree: int = -1  # -1: world size / tensor_parallel_degree
    tensor_parallel_degree: int = 1


@dataclass
class Checkpoint:
    enable: bool = True
    folder: str = "checkpoint"  # under job.dump_folder
    interval: int = 1000
    keep_latest_k: int = 5
    keep_every_n: int = 10  # also keep every n-th checkpoint (by count), beyond the latest k
    # On SIGUSR1 or SIGTERM to any rank (a scheduler's warning before preemption or the time
    # limit), every rank finishes the current step, saves a checkpoint and exits cleanly.
    save_on_signal: bool = True


@dataclass
class Metrics:
    log_freq: int = 10
    enable_tensorboard: bool = True


@dataclass
class Validation:
    enable: bool = True
    freq: int = 100
    steps: int = 4  # batches of local_batch_size per rank


@dataclass
class ActivationCheckpoint:
    mode: str = "none"  # none, selective, full


@dataclass
class Compile:
    enable: bool = False


@dataclass
class Float8:
    enable: bool = False
    fallback: str = "error"  # where the GPU lacks float8: "error" or "bf16"
    # torchao's scaling recipe: "tensorwise" (one scale per tensor, torchtitan's default and the
    # fastest) or "rowwise" (one per row, more robust to outliers)
    recipe: str = "tensorwise"


@dataclass
class Profiling:
    enable: bool = False
    start_step: int = 10  # first profiled step: after compile and the allocator have warmed up
    steps: int = 3  # profiled steps; summary.json gives top kernels, device busy time, communication
    folder: str = "profile"  # under job.dump_folder
    save_trace: bool = False  # also trace.json.gz (chrome://tracing, Perfetto): ~30 MB per step at 1B


@dataclass
class Data:
    build_config: str = "data_configs/demo.toml"  # the build that makes the shards
    # Build them first (rank 0) when the shards are missing; otherwise that is an error saying how.
    build_if_missing: bool = False
    shards: str = ""  # a build output folder; default: the build config's output


@dataclass
class Stability:
    policy: str = "warn"  # warn, skip (the step), rollback (to the last checkpoint, skipping the bad data)
    loss_spike_factor: float = 2.0  # a loss above this times the running average is a spike
    grad_spike_factor: float = 10.0
    window: int = 20  # steps in the running averages
    warmup: int = 10  # steps before spikes are judged


SECTIONS = {
    "job": Job,
    "model": Model,
    "training": Training,
    "optimizer": Optimizer,
    "lr_scheduler": LRScheduler,
    "parallelism": Parallelism,
    "checkpoint": Checkpoint,
    "metrics": Metrics,
    "validation": Validation,
    "activation_checkpoint": ActivationCheckpoint,
    "compile": Compile,
    "float8": Float8,
    "data": Data,
    "stability": Stability,
    "profiling": Profiling,
}


@dataclass
class JobConfig:
    job: Job = field(default_factory=Job)
    model: Model = field(default_factory=Model)
    training: Training = field(default_factory=Training)
    optimizer: Optimizer = field(default_factory=Optimizer)
    lr_scheduler: LRScheduler = field(default_factory=LRScheduler)
    parallelism: Parallelism = field(default_factory=Parallelism)
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    metrics: Metrics = field(default_factory=Metrics)
    validation: Validation = field(default_factory=Validation)
    activation_checkpoint: ActivationCheckpoint = field(default_factory=ActivationCheckpoint)
    compile: Compile = field(default_factory=Compile)
    float8: Float8 = field(default_factory=Float8)
    data: Data = field(default_factory=Data)
    stability: Stability = field(default_factory=Stability)
    profiling: Profiling = field(default_factory=Profiling)
    path: str = ""

    def to_dict(self) -> dict:
        return {name: asdict(getattr(self, name)) for name in SECTIONS}


def _convert(value: str, current, where: str):
    kind = type(current)
    if current is None:
        return int(value) if value.lstrip("-").isdigit() else value
    if kind is bool:
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"{where}: expected true or false, got {value!r}")
    try:
        return kind(value)
    except ValueError as error:
        raise ValueError(f"{where}: expected {kind.__name__}, got {value!r}") from error


# Paths a train config names: in the TOML file they are relative to the file's folder (so a
# config works from any working directory, and from an installed package); on the command line,
# relative to the working directory, as any command-line path.
PATH_KEYS = {("job", "dump_folder"), ("data", "build_config"), ("data", "shards")}


def load_job_config(path: str | os.PathLike | None, overrides: list[str] = ()) -> JobConfig:
    """A TOML file (sections and keys as above) with `--section.key value` overrides applied.
    Paths in the file resolve against its folder, paths on the command line against the
    working directory."""
    config = JobConfig(path=str(path or ""))
    data = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ValueError(f"{path}: no such train config") from error
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from error
    base = Path(path).parent if path else Path(".")
    for name, table in data.items():
        if name not in SECTIONS:
            raise ValueError(f"{path}: unknown section [{name}]; known: {', '.join(SECTIONS)}")
        section = getattr(config, name)
        known = {f.name for f in fields(section)}
        for key, value in table.items():
            if key not in known:
                raise ValueError(f"{path}: unknown key {name}.{key}; known: {', '.join(sorted(known))}")
            if (name, key) in PATH_KEYS and isinstance(value, str) and value and not Path(value).is_absolute():
                value = os.path.normpath(base / value)  # a file's paths are relative to the file's folder
            setattr(section, key, value)
    args = list(overrides)
    while args:
        flag = args.pop(0)
        if not flag.startswith("--") or "." not in flag:
            raise ValueError(f"override {flag!r}: expected --section.key value")
        name, _, key = flag[2:].partition(".")
        key, eq, inline = key.partition("=")
        if not eq:
            if not args:
                raise ValueError(f"override {flag}: missing its value")
            inline = args.pop(0)
        if name not in SECTIONS or key not in {f.name for f in fields(SECTIONS[name])}:
            raise ValueError(f"override {flag}: no such key {name}.{key}")
        section = getattr(config, name)
        setattr(section, key, _convert(inline, getattr(section, key), flag))
    return config
