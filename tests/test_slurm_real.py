"""slurm/ against a real Slurm: a one-node cluster (munged, slurmctld, slurmd from Debian's
slurm-wlm and munge) started on this machine by slurm/testing/cluster.sh, with its state under a
temporary folder. `.ci/run` installs the packages (CI runs as root); where they are missing or
the tests do not run as root, they skip and say so.

- The data build as array jobs gives the local build's bytes; a task that fails cancels the
  rest of the chain, and running build.sh again resumes to the same bytes.
- The time-limit path: with a short --time and the USR1 warning, the workers save the step they
  are on, the job is requeued, and the next run resumes there: every step is trained once.
- Training restarts a killed worker group inside the job (torchrun) and resumes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.build_helpers import demo_config, output_files
from tests.conftest import TRAIN_SEQ_LEN
from tests.test_slurm import free_port, read_jsonl

REPO = Path(__file__).resolve().parents[1]
SLURM = REPO / "slurm"
BIN = Path(sys.executable).parent
CLUSTER = SLURM / "testing" / "cluster.sh"
MISSING = [tool for tool in ("munged", "slurmctld", "slurmd", "sbatch") if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING) or os.geteuid() != 0,
    reason=f"needs a real Slurm: {', '.join(MISSING) or 'root'} missing (as root: slurm/testing/cluster.sh install; "
    ".ci/run does it)",
)


class RealSlurm:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        started = subprocess.run(
            [str(CLUSTER), "start", str(folder)], check=False, capture_output=True, text=True, timeout=60
        )
        assert started.returncode == 0, started.stdout + started.stderr
        self.conf = started.stdout.strip().removeprefix("export SLURM_CONF=")

    def env(self, **extra: str) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=self.conf, **extra)

    def run(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(command), check=False, capture_output=True, text=True, timeout=120, env=self.env(), **kwargs
        )

    def job(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as a dict (JobState, Restarts, Reason, ...)."""
        out = self.run("scontrol", "-o", "show", "job", job_id).stdout
        return dict(re.findall(r"(\w+)=(\S*)", out))

    ENDED = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")

    def final_state(self, job_id: str, timeout: float, what: str, on_poll=None, settle_s: float = 8.0) -> str:
        """The job's state once it has ended and stayed ended for settle_s: a job being requeued can
        show FAILED for a moment (its script exited non-zero after `scontrol requeue`) before it is
        PENDING again, as CI saw once."""
        since = {}

        def settled():
            info = self.job(job_id)
            if on_poll:
                on_poll(info)
            state = info.get("JobState")
            if state not in self.ENDED:
                since.clear()
                return None
            first = since.setdefault(state, time.monotonic())
            return state if time.monotonic() - first >= settle_s else None

        return self.wait_for(settled, timeout, what)

    # slurmd refuses a job whose credential was revoked in the same second it starts again ("Job
    # credential revoked": its check compares whole seconds), which Slurm's own BeginTime delay
    # after a requeue avoids. A test that starts a requeued job early waits this long first.
    REQUEUE_RELEASE_AFTER_S = 3.0

    def release_requeued(self, job_id: str) -> None:
        """Start a requeued (PENDING) job now instead of at its BeginTime, about two minutes away."""
        time.sleep(self.REQUEUE_RELEASE_AFTER_S)
        assert self.run("scontrol", "update", f"JobId={job_id}", "StartTime=now").returncode == 0

    def wait_for(self, predicate, timeout: float, what: str, poll: float = 1.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(poll)
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for {what}; slurmctld log tail:\n"
            + (self.folder / "slurmctld.log").read_text()[-3000:]
        )

    def stop(self) -> None:
        subprocess.run(
            [str(CLUSTER), "stop", str(self.folder)], check=False, capture_output=True, text=True, timeout=60
        )


@pytest.fixture(scope="module")
def real_slurm(tmp_path_factory):
    cluster = RealSlurm(tmp_path_factory.mktemp("slurm"))
    yield cluster
    cluster.stop()


def test_the_build_on_real_slurm_equals_the_local_build_and_resumes_after_a_failure(
    real_slurm, train_shards, demo_dir, demo_tokenizer_dir, tmp_path
):
    output = tmp_path / "build"
    config = demo_config(
        tmp_path / "build.toml",
        demo_dir,
        demo_tokenizer_dir / "tokenizer.model",
        seq_len=TRAIN_SEQ_LEN,
        validation_tokens=5000,
        output=output,
    )
    env = real_slurm.env(
        CONFIG=str(config),
        MEDTITAN=str(BIN),
        CPUS="1",
        LOG_DIR=str(tmp_path / "logs"),
        TIME="00:20:00",
        DRIVER_TIME="00:20:00",
    )

    def final_job(stdout: str) -> str:
        return re.search(r"final (\d+)", stdout).group(1)

    # First run: task 0 of deid fails; its array fails and the jobs after it are cancelled.
    first = subprocess.run(
        [str(SLURM / "build.sh")],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env | {"MEDTITAN_BUILD_CRASH": "deid:0"},
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert real_slurm.final_state(final_job(first.stdout), 600, "the first chain to end") == "CANCELLED"
    assert not (output / "manifest.json").exists()

    # Second run: the finished tasks are skipped, the rest run, and the shards are the local build's.
    second = subprocess.run(
        [str(SLURM / "build.sh")], check=False, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert real_slurm.final_state(final_job(second.stdout), 600, "the second chain") == "COMPLETED"
    assert output_files(output) == output_files(train_shards)


def train_env(real_slurm: RealSlurm, dump: Path, shards: Path, *extra: str, **env: str) -> dict[str, str]:
    args = [
        "--data.shards",
        str(shards),
        "--training.seq_len",
        str(TRAIN_SEQ_LEN),
        "--validation.enable",
        "false",
        "--metrics.log_freq",
        "1",
        "--metrics.enable_tensorboard",
        "false",
        *extra,
    ]
    return real_slurm.env(
        CONFIG="train_configs/debug.toml",
        GPUS_PER_NODE="2",
        DUMP=str(dump),
        MEDTITAN=str(BIN),
        RDZV_PORT=str(free_port()),
        EXTRA_ARGS=" ".join(args),
        OMP_NUM_THREADS="1",
        **env,
    )


def submit(env: dict[str, str], *options: str) -> str:
    result = subprocess.run(
        ["sbatch", "--parsable", "--nodes=1", "--cpus-per-task=2", *options, str(SLURM / "train.sbatch")],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().split(";")[0]


def steps_of(dump: Path) -> list[int]:
    return [m["step"] for m in read_jsonl(dump / "metrics.jsonl")]


def test_the_time_limit_saves_the_step_requeues_and_resumes_with_no_step_trained_twice(
    real_slurm, train_shards, tmp_path
):
    dump = tmp_path / "dump"
    # Training that would outlast the 2-minute limit; the only checkpoint is the one at the signal.
    env = train_env(
        real_slurm,
        dump,
        train_shards,
        "--training.steps",
        "100000",
        "--checkpoint.interval",
        "100000",
        WARN_S="75",
        STOP_GRACE_S="45",
    )
    job = submit(env, "--time=2", "--signal=B:USR1@75", f"--output={tmp_path}/train-%j.out")
    log = tmp_path / f"train-{job}.out"

    def stopped():
        events = [e for e in read_jsonl(dump / "events.jsonl") if e["event"] == "stopped_on_signal"]
        return events[0] if events and real_slurm.job(job).get("JobState") == "PENDING" else None

    stop = real_slurm.wait_for(stopped, 300, "the save at the signal and the requeue")
    saved = stop["step"]
    assert stop["signal"] == "SIGUSR1" and stop["checkpoint"] is True
    assert (dump / "checkpoint" / f"step-{saved}" / "model.json").exists()
    assert real_slurm.job(job)["Restarts"] == "1"
    assert steps_of(dump) == list(range(1, saved + 1))  # the first run stopped at the step it saved
    text = log.read_text()
    assert "time limit near (USR1)" in text and "did not stop within STOP_GRACE_S" not in text

    real_slurm.release_requeued(job)
    real_slurm.wait_for(lambda: len(steps_of(dump)) >= saved + 5, 180, "the resumed run's first steps")
    real_slurm.run("scancel", job)
    resumed = [e["step"] for e in read_jsonl(dump / "events.jsonl") if e["event"] == "resumed"]
    assert resumed == [saved]
    steps = steps_of(dump)
    assert steps == list(range(1, len(steps) + 1)), "every step trained once, in order"


def test_a_killed_worker_is_restarted_inside_the_job_and_resumes(real_slurm, train_shards, tmp_path):
    dump = tmp_path / "dump"
    env = train_env(
        real_slurm,
        dump,
        train_shards,
        "--training.steps",
        "6",
        "--checkpoint.interval",
        "2",
        MAX_RESTARTS="1",
        MEDTITAN_TRAIN_INJECT="crash@4",
    )
    job = submit(env, "--time=10", f"--output={tmp_path}/train-%j.out")
    state = real_slurm.final_state(job, 300, "the training job")
    assert state == "COMPLETED", (tmp_path / f"train-{job}.out").read_text()[-4000:]
    assert [e["step"] for e in read_jsonl(dump / "events.jsonl") if e["event"] == "resumed"] == [4]
    assert max(steps_of(dump)) == 6 and (dump / "checkpoint" / "step-6").is_dir()
    assert json.loads((dump / "checkpoint" / "step-6" / "model.json").read_text())["world_size"] == 2


def test_a_failed_run_is_requeued_resumes_and_gives_up_after_max_requeues(real_slurm, train_shards, tmp_path):
    dump = tmp_path / "dump"
    # Every run fails at step 3 (the fault fires in each run: the environment is the job's); no
    # restart inside the job, one requeue allowed.
    env = train_env(
        real_slurm,
        dump,
        train_shards,
        "--training.steps",
        "6",
        "--checkpoint.interval",
        "2",
        MAX_RESTARTS="0",
        MAX_REQUEUES="1",
        REQUEUE_MIN_S="0",
        MEDTITAN_TRAIN_INJECT="crash@3",
    )
    job = submit(env, "--time=10", f"--output={tmp_path}/train-%j.out")

    released = []

    def release_requeued(info):
        if info.get("JobState") == "PENDING" and info.get("Restarts") == "1" and not released:
            real_slurm.release_requeued(job)
            released.append(job)

    state = real_slurm.final_state(job, 300, "the failing job to give up", on_poll=release_requeued)
    log = (tmp_path / f"train-{job}.out").read_text()
    assert state == "FAILED" and real_slurm.job(job)["Restarts"] == "1", log[-4000:]
    assert "requeueing job" in log and "(MAX_REQUEUES=1); giving up" in log
    assert [e["step"] for e in read_jsonl(dump / "events.jsonl") if e["event"] == "resumed"] == [2]


def test_submit_train_runs_on_a_cpu_cluster_with_what_sinfo_reports(real_slurm, train_shards, tmp_path):
    """No GPU gres on this cluster: submit_train.sh asks for none (a GPU request would be refused)
    and the node's CPUs, and the training runs to its end with two gloo workers."""
    dump = tmp_path / "dump"
    env = train_env(real_slurm, dump, train_shards, "--training.steps", "4", "--checkpoint.interval", "4", WORKERS="2")
    del env["GPUS_PER_NODE"]
    result = subprocess.run(
        [str(SLURM / "submit_train.sh"), "--time=10", f"--output={tmp_path}/train-%j.out"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert f"--cpus-per-task={os.cpu_count()}" in result.stderr and "--gpus-per-node" not in result.stderr
    job = result.stdout.split()[-1]
    state = real_slurm.final_state(job, 300, "the job submitted by submit_train.sh")
    assert state == "COMPLETED", (tmp_path / f"train-{job}.out").read_text()[-3000:]
    assert steps_of(dump) == [1, 2, 3, 4]
    assert json.loads((dump / "checkpoint" / "step-4" / "model.json").read_text())["world_size"] == 2
