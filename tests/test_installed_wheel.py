"""medtitan installed as a wheel, outside the repository: the abi3 wheel that `make gpu-prep`
builds (.whl/) goes into a fresh virtual environment; from an empty folder, `medtitan init` writes
the starter configs shipped in the wheel, and `medtitan-data train-tokenizer`, `medtitan-data
build` and `python -m torch.distributed.run -m medtitan.train` run end to end on them, every
command from another folder (the configs' paths are relative to their own folder). Nothing may
come from the checkout: the package and its Rust core are the installed ones. (The fresh
environment borrows its third-party packages, torch above all, from the project's own through a
path file, so that the test does not download them again; medtitan itself is only in the wheel.)

Python 3.11 here; the GPU validation installs the same wheel on 3.12 (benchmarks/gpu/run.sh)."""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
WHEELS = REPO / ".whl"


def test_the_wheel_starts_a_project_builds_and_trains_from_an_empty_folder(demo_dir, tmp_path):
    (wheel,) = sorted(WHEELS.glob("medtitan-*-abi3-*.whl")) or [None]
    assert wheel is not None, f"no medtitan wheel in {WHEELS}: make gpu-prep builds it"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Third-party packages from the project's environment, after the fresh one's own site-packages.
    (Path(purelib) / "borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr

    project = tmp_path / "project"  # an empty folder: the user's
    project.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import medtitan, medtitan._core; print(medtitan.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=project,
    ).stdout.strip()
    assert where.startswith(purelib), where  # the wheel's copy, not the checkout's python/

    bin_ = venv / "bin"
    elsewhere = tmp_path / "cwd"  # every command runs from another folder: the configs' paths follow the files
    elsewhere.mkdir()

    def run(*command: str, timeout: int = 900) -> str:
        done = subprocess.run(
            list(command), check=False, capture_output=True, text=True, timeout=timeout, cwd=elsewhere
        )
        assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    # The starter configs, shipped in the wheel; the user's corpus; tokenizer, build, training.
    out = run(str(bin_ / "medtitan"), "init", str(project))
    assert "medtitan-data build --config" in out
    for source in sorted(demo_dir.glob("*.jsonl")):
        (project / "corpus" / source.name).write_bytes(source.read_bytes())
    run(
        str(bin_ / "medtitan-data"),
        "train-tokenizer",
        str(project / "corpus"),
        "--config",
        str(project / "tokenizer.toml"),
        "--output",
        str(project / "tokenizer"),
    )
    run(str(bin_ / "medtitan-data"), "build", "--config", str(project / "build.toml"), "--quiet")
    assert (project / "build" / "manifest.json").exists()
    run(
        str(python),
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=1",
        "-m",
        "medtitan.train",
        "--config",
        str(project / "train.toml"),
        "--training.steps",
        "3",
        "--validation.enable",
        "false",
        "--metrics.log_freq",
        "1",
        "--metrics.enable_tensorboard",
        "false",
        "--checkpoint.interval",
        "3",
    )
    steps = [json.loads(line)["step"] for line in (project / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3] and (project / "run" / "checkpoint" / "step-3").is_dir()
    assert sorted(p.name for p in elsewhere.iterdir()) == []  # nothing landed in the working directory
