"""The step profiler (medtitan/profiling.py): its interval arithmetic (device busy time and
exposed communication), and a real profiled window of a CPU training run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from medtitan.profiling import _subtract_us, _union_us

REPO = Path(__file__).resolve().parents[1]


def test_busy_time_is_the_union_of_overlapping_kernels():
    assert _union_us([(0, 10), (5, 15), (20, 30)]) == 25
    assert _union_us([(0, 10), (2, 3)]) == 10
    assert _union_us([]) == 0


def test_exposed_communication_is_what_no_compute_covers():
    compute = [(0, 10), (20, 30)]
    assert _subtract_us([(5, 25)], compute) == 10  # 10-20 runs alone
    assert _subtract_us([(2, 8)], compute) == 0  # hidden behind compute


def test_a_profiled_window_of_training_is_summarised(train_shards, tmp_path):
    command = [
        sys.executable,
        "-m",
        "medtitan.train",
        "--config",
        str(REPO / "train_configs" / "debug.toml"),
        "--data.shards",
        str(train_shards),
        "--training.seq_len",
        "128",
        "--job.dump_folder",
        str(tmp_path),
        "--training.steps",
        "6",
        "--checkpoint.enable",
        "false",
        "--validation.enable",
        "false",
        "--profiling.enable",
        "true",
        "--profiling.start_step",
        "3",
        "--profiling.steps",
        "2",
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "profile" / "summary.json").read_text())
    assert summary["first_step"] == 3 and summary["steps"] == 2 and summary["device"] == "cpu"
    names = [op["name"] for op in summary["top_operators"]]
    assert "aten::mm" in names[:5], names  # the matrix products dominate a training step
    assert abs(sum(op["share"] for op in summary["top_operators"]) - 1.0) < 0.5
    assert "profile: steps 3-4 summarised" in result.stdout
