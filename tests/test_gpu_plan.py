"""The GPU validation, checked where there is no GPU (issue 21): `benchmarks/gpu/run.sh
--dry-run` passes on what `make gpu-prep` made (wheels, shards, every run's config and memory
plan), and the orchestration itself (children under torchrun, the budget, results.json and
results.md, the bf16-vs-fp32 comparison) runs end to end on the CPU with the debug runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_dry_run_passes_on_what_make_gpu_prep_made():
    result = subprocess.run(
        ["bash", "benchmarks/gpu/run.sh", "--dry-run"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "dry-run: 6 runs planned; OK" in out
    assert "medtitan-" in out and "abi3" in out and "torchao-0.17.0" in out  # the wheels the machine installs
    # The 7b flavor is planned on the H200 only, and fits there; the 1b fits an H100.
    # Published figures, converted to MFU with the trainer's FLOPs per token: torchtitan's Llama-3
    # 8B at 5,762 tokens/s is 33.7%, OLMo-core's 7B at 10,000 is 48.3%.
    assert "| torchtitan Llama-3 8B, FSDP, bf16 | 5,762 | 57.9 G | 33.7% |" in out
    assert "| OLMo-core 7B, bf16 | 10,000 | 47.8 G | 48.3% |" in out
    assert "7b-probe" in out and "on h200" in out and "DOES NOT FIT" not in out.split("7b-probe")[0]


def test_the_dry_run_names_what_is_missing(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/gpu/measure.py", "--dry-run", "--wheels", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 1
    assert "expected one medtitan-*-abi3-*.whl, found 0 (make gpu-prep makes them)" in result.stderr
    assert "expected one torchao-*.whl" in result.stderr


def test_the_orchestration_runs_end_to_end_on_cpu(tmp_path):
    out = tmp_path / "results"
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/gpu/measure.py",
            "--cpu-smoke",
            "--only",
            "debug-fp32,debug-bf16",
            "--out",
            str(out),
            "--budget-s",
            "400",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads((out / "results.json").read_text())
    assert set(data["runs"]) == {"debug-fp32", "debug-bf16"}
    for run in data["runs"].values():
        assert len(run["losses"]) == 50 and run["losses"][-1] < run["losses"][0] and run["tokens_per_s"] > 0
        assert run["param_dtype"] == "float32"  # a CPU trains in fp32 whatever the config asks
    comparison = data["bf16_vs_fp32"]
    assert comparison["steps"] == 50 and comparison["max_relative_difference"] == 0.0 and comparison["agree"]
    table = (out / "results.md").read_text()
    assert "| debug-bf16: debug model, 50 steps, bf16" in table and "bf16 vs fp32, debug model, 50 steps" in table
    assert "===== debug-fp32" in (out / "log.txt").read_text()  # each child's output is kept
