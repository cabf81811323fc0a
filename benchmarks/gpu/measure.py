"""The GPU validation of the trainer, as one program (benchmarks/gpu/run.sh calls it):

    python benchmarks/gpu/measure.py --prepare            # here, on CPU: the shards the runs train on
    python benchmarks/gpu/measure.py --dry-run            # here, on CPU: configs, wheels, data, memory plan
    python benchmarks/gpu/measure.py --out DIR [--only a,b] [--budget-s 460]   # on the GPU

On the GPU it checks the device, runs the CUDA tests (pytest -m gpu), then the measurements of
RUNS, each in its own `torchrun --nproc_per_node=1` process (NCCL, and an out-of-memory in one
leaves the others alone) under a time limit drawn from one budget for the whole program. After
every step it rewrites DIR/results.json and DIR/results.md, so a run cut short still reports
what it measured; DIR/log.txt holds every child's output.

Each measurement reports tokens/s per GPU, MFU (with attention FLOPs, as the trainer logs it,
and 6N), peak memory and the first 20 losses. The 7b probe on an H200 grows the micro-batch
inside one process until the next size would not fit (a line through the measured peaks) or
runs out of memory, and reports the largest that ran.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "out" / "gpu"  # the shards, made here by --prepare and carried to the GPU machine
WHEELS = REPO / ".whl"
BASE_CONFIG = REPO / "train_configs" / "debug.toml"  # sections and defaults; each run overrides the rest
WARMUP_STEPS = 5  # compile, autotuning and the allocator settle in these; throughput counts the steps after
GPU_MEMORY_GIB = {"h100": 79.6, "h200": 139.8}
H100_PEAK_FLOPS = 989e12  # dense bf16, as medtitan.metrics.PEAK_BF16_FLOPS  # what torch reports as total memory, for the dry-run plan


@dataclass(frozen=True)
class Run:
    name: str
    what: str  # one line for the table
    flavor: str
    seq_len: int
    local_batch: int
    steps: int
    overrides: tuple[str, ...] = ()
    needs: str = "any"  # "any", "float8" (compute capability 8.9+ and torchao), "h200" (139 GiB)
    timeout_s: int = 150
    probe: bool = False  # grow the micro-batch in one process (see probe())
    profile: bool = False  # torch.profiler over the last 3 steps, summarised


COMMON = (
    "--training.deterministic",
    "false",
    "--checkpoint.enable",
    "false",
    "--validation.enable",
    "false",
    "--metrics.log_freq",
    "1",
    "--metrics.enable_tensorboard",
    "false",
    "--stability.policy",
    "warn",
    "--lr_scheduler.warmup_steps",
    "10",
)
FAST_1B = ("--compile.enable", "true", "--activation_checkpoint.mode", "selective", "--model.vocab_size", "64000")
RUNS = (
    Run("1b-bf16", "1b, seq 4096, bf16, compile, selective AC", "1b", 4096, 4, 30, FAST_1B, profile=True),
    Run(
        "1b-float8",
        "1b, seq 4096, float8 tensorwise (torchao), compile, selective AC",
        "1b",
        4096,
        4,
        30,
        FAST_1B + ("--float8.enable", "true", "--float8.recipe", "tensorwise"),
        needs="float8",
    ),
    Run(
        "debug-fp32",
        "debug model, 50 steps, fp32 (the reference curve)",
        "debug",
        512,
        8,
        50,
        ("--training.mixed_precision_param", "float32"),
        timeout_s=90,
    ),
    Run(
        "debug-bf16",
        "debug model, 50 steps, bf16 (same data and seed)",
        "debug",
        512,
        8,
        50,
        ("--training.mixed_precision_param", "bfloat16"),
        timeout_s=90,
    ),
    Run(
        "7b-probe",
        "7b, seq 4096, bf16, full AC, largest micro-batch that fits",
        "7b",
        4096,
        8,
        0,
        ("--activation_checkpoint.mode", "full", "--model.vocab_size", "64000"),
        needs="h200",
        timeout_s=200,
        probe=True,
    ),
    Run(
        "1b-float8-rowwise",
        "1b, seq 4096, float8 rowwise (torchao), compile, selective AC",
        "1b",
        4096,
        4,
        30,
        FAST_1B + ("--float8.enable", "true", "--float8.recipe", "rowwise"),
        needs="float8",
    ),
)
BF16_TOLERANCE = 0.02  # bf16 vs fp32: |loss difference| / fp32 loss at every one of the 50 steps


def reference_rows() -> list[tuple[str, int, float, float]]:
    """Published throughputs on H100s (per GPU, 8 GPUs) converted to MFU with the trainer's own
    FLOPs per token (6 x non-embedding parameters + attention at the run's sequence length) and
    the 989 TFLOP/s dense bf16 peak: (what, tokens/s, FLOPs per token, MFU). The architectures
    are the published ones: Llama-3 8B (vocab 128,256, FFN 14,336, 8 KV heads, seq 8192 in
    torchtitan's benchmark) and OLMo-2 7B (vocab 100,352 padded, FFN 11,008, full multi-head
    attention, seq 4096)."""
    from medtitan.models.llama import ModelArgs

    llama3_8b = ModelArgs(
        dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, vocab_size=128_256, ffn_dim=14_336, max_seq_len=8192
    )
    olmo2_7b = ModelArgs(
        dim=4096, n_layers=32, n_heads=32, n_kv_heads=32, vocab_size=100_352, ffn_dim=11_008, max_seq_len=4096
    )
    published = (
        ("torchtitan Llama-3 8B, FSDP, bf16", llama3_8b, 8192, 5762),
        ("torchtitan Llama-3 8B, FSDP, bf16, compile", llama3_8b, 8192, 6667),
        ("torchtitan Llama-3 8B, FSDP, compile, float8", llama3_8b, 8192, 8532),
        ("OLMo-core 7B, bf16", olmo2_7b, 4096, 10_000),
        ("OLMo-core 7B, float8", olmo2_7b, 4096, 13_000),
    )
    return [
        (what, tokens, args.flops_per_token(seq), tokens * args.flops_per_token(seq) / H100_PEAK_FLOPS)
        for what, args, seq, tokens in published
    ]


def reference_table() -> str:
    lines = ["| published (H100, per GPU) | tokens/s | FLOPs/token | MFU |", "|---|---|---|---|"]
    lines += [
        f"| {what} | {tokens:,} | {flops / 1e9:.1f} G | {mfu:.1%} |" for what, tokens, flops, mfu in reference_rows()
    ]
    return "\n".join(lines) + "\n"


def shards_for(seq_len: int) -> Path:
    return DATA / f"build-{seq_len}"


def run_config(run: Run, dump: str):
    """The JobConfig of a run (parsed exactly as the trainer parses it)."""
    from medtitan.config import load_job_config

    batch = run.local_batch
    overrides = [
        *COMMON,
        "--model.flavor",
        run.flavor,
        "--training.seq_len",
        str(run.seq_len),
        "--training.local_batch_size",
        str(batch),
        "--training.global_batch_size",
        str(batch),
        "--training.steps",
        str(max(run.steps, 1)),
        "--data.shards",
        str(shards_for(run.seq_len)),
        "--job.dump_folder",
        dump,
        *run.overrides,
    ]
    if run.profile:
        overrides += [
            "--profiling.enable",
            "true",
            "--profiling.start_step",
            str(run.steps - 2),
            "--profiling.steps",
            "3",
        ]
    return load_job_config(BASE_CONFIG, overrides)


# ---------------------------------------------------------------- here, on CPU: --prepare, --dry-run


def prepare() -> None:
    """The shards of every sequence length the runs use, from the demo corpus and tokenizer
    (made first when missing), under out/gpu/: a few MB, carried to the GPU machine."""
    from medtitan.data.build import build
    from medtitan.data.build_config import load_build_config
    from medtitan.data.bootstrap import _demo_prerequisites

    demo = REPO / "data_configs" / "demo.toml"
    for seq_len in sorted({run.seq_len for run in RUNS}):
        output = shards_for(seq_len)
        if (output / "manifest.json").exists():
            print(f"prepare: {output} exists")
            continue
        config = load_build_config(demo, output=str(output))
        _demo_prerequisites(config)
        config.build.seq_len = seq_len
        report = build(config, progress=False)
        print(f"prepare: {output}: {report['splits']['train']['samples']} training samples of {seq_len + 1} tokens")


def memory_plan_gib(run: Run, gpu: str, batch: int | None = None) -> float:
    """medtitan plan's per-GPU memory estimate for the run on one GPU, in GiB."""
    from medtitan.plan import plan

    config = run_config(run, "/tmp/unused")
    if batch is not None:
        config.training.local_batch_size = batch
    result = plan(config, gpus=1, gpu_name=gpu, mfu=0.4, tokens=1e9, price_per_gpu_hour=1.0)
    return result["memory_per_gpu_gb"]["total"] * 1e9 / 2**30


def dry_run(wheels: Path) -> int:
    """What can be checked without a GPU: every run's config parses and names existing shards
    of its sequence length, the wheels the GPU machine installs are present, and every run fits
    the memory estimate of `medtitan plan` on the GPUs it is meant for."""
    problems = []
    for pattern, what in (
        ("medtitan-*-abi3-*.whl", "the medtitan abi3 wheel"),
        ("torchao-*.whl", "torchao"),
        ("zstandard-*.whl", "zstandard"),
    ):
        found = sorted(wheels.glob(pattern))
        print(f"wheel {what}: {found[0].name if found else 'MISSING'}")
        if len(found) != 1:
            problems.append(f"{wheels}: expected one {pattern}, found {len(found)} (make gpu-prep makes them)")
    for run in RUNS:
        config = run_config(run, "/tmp/unused")
        manifest = shards_for(run.seq_len) / "manifest.json"
        if not manifest.exists():
            problems.append(f"{run.name}: {manifest} is missing (make gpu-prep makes it)")
        elif json.loads(manifest.read_text())["seq_len"] != config.training.seq_len:
            problems.append(f"{run.name}: {manifest} is not of seq_len {config.training.seq_len}")
        gpus = ["h200"] if run.needs == "h200" else ["h100", "h200"]
        for gpu in gpus:
            planned = memory_plan_gib(run, gpu)
            fits = planned < GPU_MEMORY_GIB[gpu]
            print(
                f"{run.name:<18} {run.flavor:>5} seq {run.seq_len} micro-batch {run.local_batch}: plan "
                f"{planned:6.1f} GiB on {gpu} ({GPU_MEMORY_GIB[gpu]} GiB): {'fits' if fits else 'DOES NOT FIT'}"
            )
            if not fits and not run.probe:
                problems.append(f"{run.name}: the plan's {planned:.1f} GiB exceed the {gpu}'s {GPU_MEMORY_GIB[gpu]}")
        if run.probe:
            smallest = memory_plan_gib(run, "h200", batch=1)
            if smallest >= GPU_MEMORY_GIB["h200"]:
                problems.append(f"{run.name}: even a micro-batch of 1 is planned at {smallest:.1f} GiB on an h200")
    print(reference_table())
    for problem in problems:
        print(f"dry-run: {problem}", file=sys.stderr)
    print(f"dry-run: {len(RUNS)} runs planned; {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 0 if not problems else 1


# ---------------------------------------------------------------- on the GPU: one run (a torchrun child)


def child(run: Run, result_path: Path) -> None:
    """Train one run in this (torchrun) process and write its figures to result_path."""
    import torch
    from medtitan.train import Trainer

    dump = tempfile.mkdtemp(prefix=f"medtitan-{run.name}-")
    config = run_config(run, dump)
    started = time.perf_counter()
    trainer = Trainer(config)
    result = {
        "name": run.name,
        "what": run.what,
        "flavor": run.flavor,
        "seq_len": run.seq_len,
        "setup_s": time.perf_counter() - started,
        "init_s": trainer.init_seconds,
        "float8": trainer.float8,
        "param_dtype": str(trainer.param_dtype).removeprefix("torch."),
        "parameters": trainer.args.parameter_count(),
        "flops_per_token": trainer.flops_per_token,
    }
    peak, parameters = trainer.peak_flops, trainer.args.parameter_count()
    if run.probe:
        result |= probe(trainer, run, peak)
    else:
        trainer.train()
        records = [json.loads(line) for line in (Path(dump) / "metrics.jsonl").read_text().splitlines()]
        tokens_per_step = run.local_batch * run.seq_len
        step_s = [tokens_per_step / r["tokens_per_s"] for r in records]  # one record per step (log_freq 1)
        last_timed = run.steps - 3 if run.profile else run.steps  # profiled steps run slower
        timed = [s for r, s in zip(records, step_s) if WARMUP_STEPS < r["step"] <= last_timed]
        on_gpu = trainer.device.type == "cuda"
        result |= {
            "local_batch": run.local_batch,
            "steps": run.steps,
            "timed_steps": len(timed),
            "tokens_per_s": len(timed) * tokens_per_step / sum(timed),
            "first_steps_s": step_s[:3],
            "losses": [r["loss"] for r in records][:50],
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if on_gpu else None,
            "peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30 if on_gpu else None,
        }
        profile = Path(dump) / "profile" / "summary.json"
        if profile.exists():
            result["profile"] = json.loads(profile.read_text())
    if peak and result.get("tokens_per_s"):
        result["mfu"] = result["tokens_per_s"] * trainer.flops_per_token / peak
        result["mfu_6n"] = result["tokens_per_s"] * 6 * parameters / peak
    result_path.write_text(json.dumps(result, indent=1) + "\n")
    shutil.rmtree(dump, ignore_errors=True)


def probe(trainer, run: Run, peak: float | None) -> dict:
    """Grow the micro-batch 1, 2, 3, ... in this process, 3 optimizer steps each (the first
    warms the allocator; the other two are timed). The next size runs only when a line through
    the last two peaks says it stays under 94% of the GPU's memory, or until it runs out of
    memory; the largest size that ran is the result."""
    import torch

    total = torch.cuda.get_device_properties(0).total_memory / 2**30
    inputs, labels = trainer.loader.next_step()[0]  # run.local_batch samples to cut micro-batches from
    sizes, losses, step = [], [], 0
    for batch in range(1, run.local_batch + 1):
        torch.cuda.reset_peak_memory_stats()
        try:
            times = []
            for _ in range(3):
                step += 1
                trainer.set_lr(step)
                torch.cuda.synchronize()
                began = time.perf_counter()
                outcome = trainer.train_step([(inputs[:batch], labels[:batch])], step)
                times.append(time.perf_counter() - began)
                losses.append(outcome.loss)
        except torch.OutOfMemoryError as error:
            sizes.append({"local_batch": batch, "out_of_memory": str(error).splitlines()[0][:200]})
            break
        peak_gib = torch.cuda.max_memory_allocated() / 2**30
        tokens_per_s = 2 * batch * run.seq_len / sum(times[1:])
        sizes.append(
            {
                "local_batch": batch,
                "peak_memory_gib": peak_gib,
                "peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30,
                "step_s": times,
                "tokens_per_s": tokens_per_s,
                "mfu": tokens_per_s * trainer.flops_per_token / peak if peak else None,
            }
        )
        print(f"probe: micro-batch {batch}: {peak_gib:.1f} GiB peak, {tokens_per_s:,.0f} tokens/s", flush=True)
        ran = [s for s in sizes if "peak_memory_gib" in s]
        if len(ran) >= 2 and 2 * ran[-1]["peak_memory_gib"] - ran[-2]["peak_memory_gib"] > 0.94 * total:
            sizes.append(
                {
                    "local_batch": batch + 1,
                    "skipped": f"a line through the last two peaks exceeds 94% of {total:.1f} GiB",
                }
            )
            break
    ran = [s for s in sizes if "peak_memory_gib" in s]
    best = ran[-1] if ran else {}
    return {
        "probe": sizes,
        "local_batch": best.get("local_batch"),
        "tokens_per_s": best.get("tokens_per_s"),
        "peak_memory_gib": best.get("peak_memory_gib"),
        "peak_reserved_gib": best.get("peak_reserved_gib"),
        "losses": losses[:20],
        "gpu_memory_gib": total,
    }


# ---------------------------------------------------------------- on the GPU: the whole program


@dataclass
class Report:
    out: Path
    data: dict = field(
        default_factory=lambda: {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": {}}
    )

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "results.json").write_text(json.dumps(self.data, indent=1) + "\n")
        (self.out / "results.md").write_text(markdown(self.data))

    def log(self, text: str) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
        print(text, flush=True)


def gpu_facts() -> dict:
    import torch

    props = torch.cuda.get_device_properties(0)
    facts = {
        "name": props.name,
        "memory_gib": props.total_memory / 2**30,
        "compute_capability": f"{props.major}.{props.minor}",
        "multiprocessors": props.multi_processor_count,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
    }
    try:
        facts["nccl"] = ".".join(map(str, torch.cuda.nccl.version()))
    except Exception as error:  # noqa: BLE001 - a fact we report, not one we need
        facts["nccl"] = f"unknown ({error})"
    for module in ("torchao", "triton"):
        try:
            facts[module] = __import__(module).__version__
        except Exception as error:  # noqa: BLE001
            facts[module] = f"not importable: {error}"
    try:
        facts["driver"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            check=False,
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        facts["driver"] = f"unknown ({error})"
    from medtitan.metrics import device_peak_flops

    facts["peak_bf16_tflops"] = (device_peak_flops(torch.device("cuda", 0)) or 0) / 1e12 or None
    return facts


def runnable(run: Run, facts: dict) -> str | None:
    """Why a run cannot run on this GPU, or None."""
    major, minor = map(int, facts["compute_capability"].split("."))
    if run.needs == "float8" and ((major, minor) < (8, 9) or facts["torchao"].startswith("not")):
        return (
            f"float8 needs compute capability 8.9+ and torchao (this GPU {facts['compute_capability']}, "
            f"torchao {facts['torchao']})"
        )
    if run.needs == "h200" and facts["memory_gib"] < 120:
        return (
            f"the 7b flavor's fp32 weights, gradients and Adam moments alone are 99 GB; this GPU has "
            f"{facts['memory_gib']:.0f} GiB (1b is the largest flavor that fits)"
        )
    return None


def run_child(run: Run, report: Report, timeout: float) -> dict:
    result_path = Path(tempfile.mkdtemp()) / "result.json"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=1",
        str(Path(__file__).resolve()),
        "--child",
        run.name,
        "--result",
        str(result_path),
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode(errors="replace") + (expired.stderr or b"").decode(errors="replace")
        code = "timeout"
    seconds = time.perf_counter() - started
    report.log(f"===== {run.name} ({seconds:.0f} s, exit {code})\n{output[-12000:]}")
    if result_path.exists():
        return json.loads(result_path.read_text()) | {"wall_s": seconds}
    tail = [line for line in output.splitlines() if line.strip()][-3:]
    return {
        "name": run.name,
        "what": run.what,
        "error": f"exit {code} after {seconds:.0f} s: " + " | ".join(tail)[-600:],
        "wall_s": seconds,
    }


def compare_precisions(runs: dict) -> dict | None:
    fp32, bf16 = runs.get("debug-fp32", {}).get("losses"), runs.get("debug-bf16", {}).get("losses")
    if not fp32 or not bf16:
        return None
    steps = min(len(fp32), len(bf16))
    relative = [abs(b - f) / f for f, b in zip(fp32[:steps], bf16[:steps])]
    return {
        "steps": steps,
        "max_relative_difference": max(relative),
        "mean_relative_difference_last_10": sum(relative[-10:]) / len(relative[-10:]),
        "tolerance": BF16_TOLERANCE,
        "agree": max(relative) <= BF16_TOLERANCE,
        "fp32_first_last": [fp32[0], fp32[steps - 1]],
        "bf16_first_last": [bf16[0], bf16[steps - 1]],
    }


def gpu_tests(report: Report, timeout: float) -> dict:
    started = time.perf_counter()
    command = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests/test_gpu.py"]
    try:
        done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, cwd=REPO)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        output, code = (expired.stdout or b"").decode(errors="replace"), "timeout"
    report.log(f"===== pytest -m gpu ({time.perf_counter() - started:.0f} s, exit {code})\n{output[-8000:]}")
    summary = [line for line in output.splitlines() if " passed" in line or " failed" in line or " error" in line]
    return {
        "exit": code,
        "summary": summary[-1] if summary else output[-300:],
        "seconds": time.perf_counter() - started,
    }


def main_gpu(out: Path, only: set[str] | None, budget_s: float, cpu_smoke: bool = False) -> int:
    deadline = time.perf_counter() + budget_s
    report = Report(out)
    import torch

    if not torch.cuda.is_available() and not cpu_smoke:
        print("measure: no CUDA device; use --dry-run on a CPU machine", file=sys.stderr)
        return 2
    facts = report.data["gpu"] = (
        gpu_facts()
        if not cpu_smoke
        else {"name": "cpu", "compute_capability": "0.0", "memory_gib": 0.0, "torchao": "not used"}
    )
    report.log(json.dumps(facts))
    report.save()
    if only is None or "tests" in only:
        report.data["tests"] = gpu_tests(report, timeout=min(150, deadline - time.perf_counter() - 60))
        report.save()
    for run in RUNS:
        if only is not None and run.name not in only:
            continue
        left = deadline - time.perf_counter()
        why = runnable(run, facts)
        if why is None and left < 45:
            why = f"out of time ({left:.0f} s of the budget left)"
        if why:
            report.data["runs"][run.name] = {"name": run.name, "what": run.what, "skipped": why}
        else:
            report.data["runs"][run.name] = run_child(run, report, timeout=min(run.timeout_s, left - 10))
        report.data["bf16_vs_fp32"] = compare_precisions(report.data["runs"])
        report.save()
    report.data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report.save()
    print(markdown(report.data))
    failed = [name for name, r in report.data["runs"].items() if "error" in r]
    return 1 if failed or report.data.get("tests", {}).get("exit") not in (0, None) else 0


def _percent(value) -> str:
    return f"{value:.1%}" if isinstance(value, float) and math.isfinite(value) else "-"


def markdown(data: dict) -> str:
    facts = data.get("gpu", {})
    lines = [
        (
            f"GPU: {facts.get('name')} ({facts.get('memory_gib', 0):.0f} GiB, compute capability "
            f"{facts.get('compute_capability')}), driver {facts.get('driver')}, torch {facts.get('torch')} "
            f"(CUDA {facts.get('cuda')}, NCCL {facts.get('nccl')}), torchao {facts.get('torchao')}, "
            f"triton {facts.get('triton')}; peak bf16 {facts.get('peak_bf16_tflops')} TFLOP/s"
        ),
        "",
    ]
    if "tests" in data:
        lines += [f"CUDA tests (pytest -m gpu): {data['tests']['summary']}", ""]
    lines += [
        "| run | micro-batch | tokens/s/GPU | MFU (attention) | MFU (6N) | peak GiB | losses 1, 10, 20 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in data.get("runs", {}).items():
        if "skipped" in r or "error" in r:
            lines.append(
                f"| {name}: {r['what']} | | {'skipped: ' + r['skipped'] if 'skipped' in r else 'ERROR: ' + r['error']} |"
                " | | | |"
            )
            continue
        losses = r.get("losses") or []
        shown = ", ".join(f"{losses[i]:.3f}" for i in (0, 9, 19) if i < len(losses))
        tokens = f"{r['tokens_per_s']:,.0f}" if r.get("tokens_per_s") else "-"
        peak = f"{r['peak_memory_gib']:.1f}" if r.get("peak_memory_gib") else "-"
        lines.append(
            f"| {name}: {r['what']} | {r.get('local_batch')} | {tokens} | {_percent(r.get('mfu'))} | "
            f"{_percent(r.get('mfu_6n'))} | {peak} | {shown} |"
        )
    comparison = data.get("bf16_vs_fp32")
    if comparison:
        lines += [
            "",
            (
                f"bf16 vs fp32, debug model, {comparison['steps']} steps: max relative loss difference "
                f"{comparison['max_relative_difference']:.4f}, mean over the last 10 "
                f"{comparison['mean_relative_difference_last_10']:.4f} (tolerance {comparison['tolerance']}): "
                f"{'agree' if comparison['agree'] else 'DISAGREE'}"
            ),
        ]
    bf16, fp8 = data.get("runs", {}).get("1b-bf16", {}), data.get("runs", {}).get("1b-float8", {})
    if bf16.get("tokens_per_s") and fp8.get("tokens_per_s"):
        lines += ["", f"float8 / bf16 (1b): {fp8['tokens_per_s'] / bf16['tokens_per_s']:.2f}x"]
    profile = bf16.get("profile")
    if profile and profile.get("device") == "cuda":
        lines += [
            "",
            (
                f"Profile of 1b-bf16, steps {profile['first_step']}-{profile['first_step'] + profile['steps'] - 1}: "
                f"{profile['wall_ms_per_step']:.0f} ms per step, device busy {profile['device_busy_fraction']:.1%}, "
                f"host gaps {profile['host_gap_ms_per_step']:.1f} ms/step, communication "
                f"{profile['communication_ms_per_step']:.1f} ms/step "
                f"({profile['exposed_communication_ms_per_step']:.1f} exposed)"
            ),
            "",
            "| kernel | calls | ms/step | share |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| `{k['name'][:90]}` | {k['calls']} | {k['ms_per_step']:.1f} | {k['share']:.1%} |"
            for k in profile["top_kernels"][:12]
        ]
    return "\n".join(lines) + "\n\n" + reference_table()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", action="store_true", help="make the shards under out/gpu (CPU)")
    parser.add_argument("--dry-run", action="store_true", help="check the plan without a GPU")
    parser.add_argument("--wheels", type=Path, default=WHEELS)
    parser.add_argument("--out", type=Path, default=REPO / "out" / "gpu" / "results")
    parser.add_argument("--only", help="comma-separated run names (and 'tests') to run")
    parser.add_argument("--budget-s", type=float, default=460.0, help="the whole program's time, compile included")
    # Runs the orchestration on a CPU (the debug runs; tests/test_gpu_plan.py), to catch its bugs
    # before they cost GPU minutes.
    parser.add_argument("--cpu-smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(next(run for run in RUNS if run.name == args.child), args.result)
        return 0
    if args.prepare:
        prepare()
        return 0
    if args.dry_run:
        return dry_run(args.wheels)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {run.name for run in RUNS} - {"tests"}
    if unknown:
        parser.error(f"unknown run(s) {', '.join(sorted(unknown))}; known: tests, {', '.join(r.name for r in RUNS)}")
    return main_gpu(args.out, only, args.budget_s, args.cpu_smoke)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
