"""`medtitan plan`: the case study's arithmetic where it is right, and where it is not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medtitan.config import load_job_config
from medtitan.models import model_args
from medtitan.plan import find_gpu, plan

REPO = Path(__file__).resolve().parents[1]
SEVEN_B = REPO / "train_configs" / "medtitan_7b.toml"


def case_study_plan(**overrides):
    settings = dict(gpus=256, gpu_name="a100-80gb", mfu=0.45, tokens=200e9, price_per_gpu_hour=3.0) | overrides
    return plan(load_job_config(SEVEN_B), **settings)


def test_reproduces_the_case_study_where_it_is_right():
    result = case_study_plan(parameters=6.7e9)
    assert result["total_flops_6n"] == pytest.approx(8.04e21, rel=1e-12)
    assert round(result["gpu_hours_case_study_rounding"]) == 15_952
    assert round(result["gpu_hours"]) == 15_907  # 312 x 0.45 = 140.4, not 140
    assert result["wall_hours"] == pytest.approx(15_907 / 256, rel=1e-3)  # ~62 hours, Step 6's ~2.6 days
    assert result["cluster_tokens_per_s"] == pytest.approx(894_090, rel=1e-4)


def test_plans_the_real_model_and_names_the_inconsistencies():
    result = case_study_plan()
    assert result["model"]["parameters"] == model_args("7b").parameter_count() == 6_195_253_248
    assert result["flops_per_token_with_attention"] == model_args("7b", max_seq_len=4096).flops_per_token(4096)
    notes = " ".join(result["case_study_inconsistencies"])
    assert "6.20B" in notes and "4.3% MFU" in notes and "27 days" in notes and "divides by 140" in notes
    assert result["cost"] == pytest.approx(result["gpu_hours"] * 3.0)
    assert result["checkpoint_gb"] == pytest.approx(12 * 6_195_253_248 / 1e9)
    assert result["memory_fits"]


def test_memory_follows_sharding_and_activation_checkpointing():
    config = load_job_config(SEVEN_B)
    activations = {}
    for mode in ("none", "selective", "full"):
        config.activation_checkpoint.mode = mode
        memory = plan(config, 256, "h100", 0.45, 200e9, 2.0)["memory_per_gpu_gb"]
        activations[mode] = memory[f"activations (AC {mode})"]
    assert activations["full"] < activations["selective"] < activations["none"]
    small, large = case_study_plan(gpus=64), case_study_plan(gpus=256)
    assert small["memory_per_gpu_gb"]["Adam moments (sharded)"] == pytest.approx(
        4 * large["memory_per_gpu_gb"]["Adam moments (sharded)"]
    )
    assert large["wall_hours"] == pytest.approx(small["wall_hours"] / 4)


def test_cli_prints_the_plan_and_json_and_rejects_unknown_gpus():
    script = Path(sys.executable).with_name("medtitan")
    base = [
        str(script),
        "plan",
        "--config",
        str(SEVEN_B),
        "--gpus",
        "256",
        "--mfu",
        "0.45",
        "--tokens",
        "200e9",
        "--price-per-gpu-hour",
        "3",
    ]
    text = subprocess.run(base + ["--gpu", "a100-80gb"], capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and "6,195,253,248 parameters" in text.stdout and "disagrees" in text.stdout
    as_json = subprocess.run(
        base + ["--gpu", "a100", "--parameters", "6.7e9", "--json"], capture_output=True, text=True, timeout=120
    )
    assert json.loads(as_json.stdout)["total_flops_6n"] == pytest.approx(8.04e21)
    bad = subprocess.run(base + ["--gpu", "v100"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown GPU 'v100'" in bad.stderr
    with pytest.raises(ValueError):
        find_gpu("tpu")
