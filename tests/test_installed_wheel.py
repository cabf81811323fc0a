"""medtitan installed as a wheel, outside the repository: the abi3 wheel that `make gpu-prep`
builds (.whl/) goes into a fresh virtual environment, and from an empty folder `medtitan-data
build` and `python -m torch.distributed.run -m medtitan.train` run end to end on configs in that
folder, whose paths are relative to it. Nothing may come from the checkout: the package, its
Rust core and its configs' paths are all the installed ones. (The fresh environment borrows its
third-party packages, torch above all, from the project's own through a path file, so that the
test does not download them again; medtitan itself is only in the wheel.)

Python 3.11 here; the GPU validation installs the same wheel on 3.12 (benchmarks/gpu/run.sh)."""

from __future__ import annotations

import json
import site
import subprocess
import sys
from pathlib import Path

from tests.build_helpers import demo_config
from tests.conftest import TRAIN_SEQ_LEN

REPO = Path(__file__).resolve().parents[1]
WHEELS = REPO / ".whl"


def test_the_wheel_builds_and_trains_from_an_empty_folder(demo_dir, demo_tokenizer_dir, tmp_path):
    (wheel,) = sorted(WHEELS.glob("medtitan-*-abi3-*.whl")) or [None]
    assert wheel is not None, f"no medtitan wheel in {WHEELS}: make gpu-prep builds it"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    # Third-party packages from the project's environment, after the fresh one's own site-packages.
    (Path(purelib) / "borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                               check=False, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr

    project = tmp_path / "project"  # an empty folder: the user's
    project.mkdir()
    where = subprocess.run([str(python), "-c", "import medtitan, medtitan._core; print(medtitan.__file__)"],
                           check=True, capture_output=True, text=True, cwd=project).stdout.strip()
    assert where.startswith(purelib), where  # the wheel's copy, not the checkout's python/

    demo_config(project / "data.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", seq_len=TRAIN_SEQ_LEN,
                validation_tokens=5000, output=Path("build"))  # relative: project/build
    (project / "train.toml").write_text('[job]\ndump_folder = "run"\n[model]\nflavor = "debug"\n'
                                        f'[training]\nsteps = 3\nseq_len = {TRAIN_SEQ_LEN}\nglobal_batch_size = 4\n'
                                        'local_batch_size = 4\n[data]\nbuild_config = "data.toml"\nshards = "build"\n'
                                        '[validation]\nenable = false\n[metrics]\nenable_tensorboard = false\n')
    elsewhere = tmp_path / "cwd"  # run from another folder: the configs' paths follow the files
    elsewhere.mkdir()
    built = subprocess.run([str(venv / "bin" / "medtitan-data"), "build", "--config", str(project / "data.toml"),
                            "--quiet"], check=False, capture_output=True, text=True, timeout=900, cwd=elsewhere)
    assert built.returncode == 0, built.stderr[-3000:]
    assert (project / "build" / "manifest.json").exists()
    trained = subprocess.run([str(python), "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1",
                              "-m", "medtitan.train", "--config", str(project / "train.toml")], check=False,
                             capture_output=True, text=True, timeout=600, cwd=elsewhere)
    assert trained.returncode == 0, trained.stderr[-3000:]
    steps = [json.loads(line)["step"] for line in (project / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 3 and (project / "run" / "checkpoint" / "step-3").is_dir()
    assert not (elsewhere / "run").exists() and not (elsewhere / "build").exists()
