"""slurm/ against a fake Slurm (sbatch, srun, scontrol, squeue and scancel executables first on
PATH) that runs every job at once, in submission order, on this machine: what a real one-node
cluster cannot show here. build.sh's own logic (arrays split at ARRAY_MAX, empty steps skipped,
the dependency chain, a failure cancelling the rest) against a stub medtitan-data, and
train.sbatch on two nodes with their own hostnames (one torchrun per node, the rendezvous on the
first, requeue on USR1 and after a failure). The fake srun kills its tasks with SIGKILL on
SIGTERM, as real srun does. tests/test_slurm_real.py runs the rest on a real Slurm."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SLURM = REPO / "slurm"
BIN = Path(sys.executable).parent  # the environment's bin: medtitan-data, torchrun, python
SCRIPTS = ["build.sh", "build_task.sbatch", "train.sbatch"]
TASK_STAGES = ["deid", "filter", "dedup-map", "dedup-exact", "dedup-bands", "dedup-confirm", "decontaminate"]

# --- the fake Slurm ------------------------------------------------------------------------------
# State lives in $FAKE_SLURM_DIR: sbatch.jsonl (one record per submission, with the state the job
# ended in and each array element's exit code), srun.jsonl, scontrol.jsonl, squeue.jsonl,
# status.json (job id -> state, for --dependency), spool/ (the submitted scripts, copied as
# Slurm does, so a script cannot rely on its own path), next_id.

FAKE_SBATCH = r'''
import json, os, shutil, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_SLURM_DIR"])
FLAGS = {"--parsable", "--wait", "--requeue", "--exclusive"}


def parse(args):
    """Options as sbatch reads them; this fake insists on the --key=value form."""
    options, i = {}, 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] in FLAGS:
            options[args[i]] = True
        elif args[i].startswith("--") and "=" in args[i]:
            key, value = args[i].split("=", 1)
            options[key] = value
        else:
            sys.exit(f"fake sbatch: option {args[i]!r} not in --key=value form")
        i += 1
    return options, args[i:]


def directives(lines):
    found = []
    for line in lines[1:]:
        if line.startswith("#SBATCH"):
            found += line.split()[1:2]
        elif line.strip() and not line.startswith("#"):
            break  # sbatch stops reading directives at the first command
    return parse(found)[0]


def indices(spec):
    out = []
    for part in spec.split("%")[0].split(","):
        first, _, last = part.partition("-")
        out += range(int(first), int(last or first) + 1)
    return out


def main():
    options, rest = parse(sys.argv[1:])
    if not rest:
        sys.exit("fake sbatch: no batch script")
    script, args = rest[0], rest[1:]
    lines = Path(script).read_text().splitlines()
    if not lines or lines[0] != "#!/bin/bash":
        sys.exit(f"fake sbatch: {script} does not start with #!/bin/bash")
    options = directives(lines) | options
    counter = STATE / "next_id"
    job = int(counter.read_text()) if counter.exists() else 1000
    counter.write_text(str(job + 1))
    (STATE / "spool").mkdir(exist_ok=True)
    copy = STATE / "spool" / f"job-{job}.sh"
    shutil.copy(script, copy)
    status_path = STATE / "status.json"
    status = json.loads(status_path.read_text()) if status_path.exists() else {}
    name = options.get("--job-name", Path(script).name)
    array = options.get("--array")
    env = {"SLURM_SUBMIT_DIR": os.getcwd(), "SLURM_JOB_NAME": name,
           "SLURM_NNODES": options.get("--nodes", "1"), "SLURM_JOB_NUM_NODES": options.get("--nodes", "1"),
           "SLURM_JOB_NODELIST": os.environ.get("FAKE_SLURM_NODELIST", "localhost")}
    if "--cpus-per-task" in options:
        env["SLURM_CPUS_PER_TASK"] = options["--cpus-per-task"]
    if "--gpus-per-node" in options:
        env["SLURM_GPUS_ON_NODE"] = options["--gpus-per-node"]
    elements = [{"index": i, "env": env | {"SLURM_JOB_ID": f"{job}{i:04d}", "SLURM_ARRAY_JOB_ID": str(job),
                                            "SLURM_ARRAY_TASK_ID": str(i)}} for i in indices(array)] if array else \
               [{"index": None, "env": env | {"SLURM_JOB_ID": str(job)}}]
    record = {"id": job, "argv": sys.argv[1:], "options": options, "script": script, "args": args,
              "cwd": os.getcwd(), "copy": str(copy), "elements": elements}
    kind, _, needed = options.get("--dependency", "afterok:").partition(":")
    if kind != "afterok":
        sys.exit(f"fake sbatch: dependency type {kind!r} not simulated")
    unmet = [d for d in filter(None, needed.split(":")) if status.get(d) != "COMPLETED"]
    if unmet:  # a dependency that failed or never ran can never be satisfied
        state = "CANCELLED" if options.get("--kill-on-invalid-dep") == "yes" else "PENDING"
    elif name in os.environ.get("FAKE_SBATCH_HOLD", "").split(","):
        state = "HELD"  # the test runs it later itself
    else:
        for element in elements:
            pattern = options.get("--output", "slurm-%A_%a.out" if array else "slurm-%j.out")
            log = pattern.replace("%x", name).replace("%j", element["env"]["SLURM_JOB_ID"])
            log = log.replace("%A", str(job)).replace("%a", str(element["index"]))
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            with open(log, "a") as handle:
                element["rc"] = subprocess.run(["/bin/bash", str(copy), *args], stdout=handle, stderr=subprocess.STDOUT,
                                               env=os.environ | element["env"]).returncode
            element["log"] = str(Path(log).resolve())
        state = "COMPLETED" if all(e["rc"] == 0 for e in elements) else "FAILED"
    record["state"] = status[str(job)] = state
    status_path.write_text(json.dumps(status))
    with open(STATE / "sbatch.jsonl", "a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(job if "--parsable" in options else f"Submitted batch job {job}")
    if "--wait" in options:
        sys.exit(0 if state == "COMPLETED" else 1)


main()
'''

FAKE_SRUN = r"""
import json, os, signal, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_SLURM_DIR"])
args, options = sys.argv[1:], {}
while args and args[0].startswith("-"):
    key, sep, value = args.pop(0).partition("=")
    if not sep:
        sys.exit(f"fake srun: option {key!r} not in --key=value form")
    options[key] = value
nodes = int(options.get("--nodes", os.environ.get("SLURM_NNODES", "1")))
with open(STATE / "srun.jsonl", "a") as handle:
    handle.write(json.dumps({"options": options, "command": args}) + "\n")
# One task per node, all of them here: SLURM_NODEID tells them apart.
tasks = [subprocess.Popen(args, env=os.environ | {"SLURM_NODEID": str(n), "SLURM_PROCID": str(n), "SLURM_LOCALID": "0",
                                                  "SLURM_NTASKS": str(nodes)}) for n in range(nodes)]
# The step's tasks, for the fake scancel.
(STATE / f"step-{os.getpid()}.json").write_text(json.dumps([t.pid for t in tasks]))


def kill(signum, frame):
    # As real srun does: SIGTERM or SIGINT to srun ends the step, its tasks get SIGKILL ("forcing
    # job termination"), so a task never sees the signal.
    for task in tasks:
        if task.poll() is None:
            task.kill()


signal.signal(signal.SIGTERM, kill)
signal.signal(signal.SIGINT, kill)
codes = [task.wait() for task in tasks]
bad = [c if c > 0 else 128 - c for c in codes if c != 0]
sys.exit(bad[0] if bad else 0)
"""

FAKE_SCANCEL = r"""
import json, os, signal, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_SLURM_DIR"])
args = sys.argv[1:]
with open(STATE / "scancel.jsonl", "a") as handle:
    handle.write(json.dumps(args) + "\n")
# "scancel --signal=NAME JOB": as slurmstepd does, the signal goes to every process of the job's
# steps, each task and all its descendants (not to the batch shell).
name = next(a.split("=", 1)[1] for a in args if a.startswith("--signal="))


def tree(pid):
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [p for child in children for p in tree(int(child))]


for step in STATE.glob("step-*.json"):
    for pid in [p for task in json.loads(step.read_text()) for p in tree(task)]:
        try:
            os.kill(pid, getattr(signal, "SIG" + name))
        except ProcessLookupError:
            pass
"""

FAKE_SCONTROL = r"""
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
with open(Path(os.environ["FAKE_SLURM_DIR"]) / "scontrol.jsonl", "a") as handle:
    handle.write(json.dumps(args) + "\n")
if args[:2] == ["show", "hostnames"]:
    nodelist = args[2] if len(args) > 2 else os.environ.get("SLURM_JOB_NODELIST", "")
    print("\n".join(filter(None, nodelist.split(","))))
elif args[:1] != ["requeue"]:
    sys.exit(f"fake scontrol: {args} not simulated")
"""

FAKE_SQUEUE = r"""
import json, os, sys
from pathlib import Path

with open(Path(os.environ["FAKE_SLURM_DIR"]) / "squeue.jsonl", "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\n")
print("JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)")  # every job has finished
"""


def write_executable(path: Path, source: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{source.lstrip()}")
    path.chmod(0o755)
    return path


class FakeSlurm:
    def __init__(self, folder: Path) -> None:
        self.bin, self.state = folder / "bin", folder / "state"
        self.bin.mkdir(parents=True)
        self.state.mkdir()
        for name, source in [
            ("sbatch", FAKE_SBATCH),
            ("srun", FAKE_SRUN),
            ("scontrol", FAKE_SCONTROL),
            ("squeue", FAKE_SQUEUE),
            ("scancel", FAKE_SCANCEL),
        ]:
            write_executable(self.bin / name, source)

    def env(self, **extra: str) -> dict[str, str]:
        return dict(os.environ, PATH=f"{self.bin}:{os.environ['PATH']}", FAKE_SLURM_DIR=str(self.state), **extra)

    def records(self, name: str) -> list:
        path = self.state / f"{name}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def release(self, job: dict, **extra_env: str) -> subprocess.CompletedProcess:
        """Run a job that FAKE_SBATCH_HOLD kept back, as Slurm would have."""
        (element,) = job["elements"]
        return subprocess.run(
            ["/bin/bash", job["copy"], *job["args"]],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=job["cwd"],
            env=self.env(**element["env"], **extra_env),
        )


@pytest.fixture
def slurm(tmp_path) -> FakeSlurm:
    return FakeSlurm(tmp_path / "fake_slurm")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the scripts ---------------------------------------------------------------------------------


def test_the_scripts_are_valid_bash_with_well_formed_directives():
    for name in SCRIPTS:
        path = SLURM / name
        assert path.read_text().startswith("#!/bin/bash\n"), name
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        for line in path.read_text().splitlines():
            if line.startswith("#SBATCH"):
                option = line.split()[1]
                assert option in ("--requeue", "--exclusive") or option.startswith("--") and "=" in option, line
    assert os.access(SLURM / "build.sh", os.X_OK), "slurm/build.sh runs as a command: chmod +x"


# --- the data build as array jobs ------------------------------------------------------------------

STUB_DATA = r"""
import json, os, sys

args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as handle:
    handle.write(json.dumps(args) + "\n")
option = lambda name: args[args.index(name) + 1] if name in args else None
if args[0] == "build-tasks":
    print(os.environ["STUB_COUNTS"])
elif args[0] == "build-task" and os.environ.get("STUB_FAIL") == f"{option('--stage')}:{option('--task')}":
    sys.exit(3)
elif args[0] == "build" and os.environ.get("STUB_FAIL") == option("--stop-after") == "ingest":
    sys.exit(4)
"""


def stub_medtitan(folder: Path) -> Path:
    folder.mkdir()
    write_executable(folder / "medtitan-data", STUB_DATA)
    (folder / "python").symlink_to(sys.executable)
    return folder


@pytest.mark.parametrize("fail", ["", "deid:3", "ingest"])
def test_build_sh_splits_big_steps_skips_empty_ones_and_a_failure_stops_the_chain(fail, slurm, tmp_path):
    """build.sh's own logic, against a stub medtitan-data that logs its calls."""
    log = tmp_path / "calls.jsonl"
    config = tmp_path / "build.toml"
    config.write_text("[build]\n")
    env = slurm.env(
        MEDTITAN=str(stub_medtitan(tmp_path / "stub")),
        ARRAY_MAX="2",
        MAX_CONCURRENT="4",
        CPUS="3",
        TIME="00:30:00",
        DRIVER_CPUS="5",
        LOG_DIR="logs",
        STUB_LOG=str(log),
        STUB_FAIL=fail,
        STUB_COUNTS=json.dumps({"deid": 5, "filter": 0, "dedup-map": 3}),
    )
    result = subprocess.run(
        [str(SLURM / "build.sh"), "build.toml"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    jobs = slurm.records("sbatch")
    ingest_call = ["build", "--config", str(config), "--workers", "5", "--stop-after", "ingest"]
    if fail == "ingest":
        assert result.returncode == 1 and "ingest job failed" in result.stderr
        assert len(jobs) == 1 and calls == [ingest_call]
        return
    assert result.returncode == 0, result.stdout + result.stderr
    assert "filter has no tasks; skipped" in result.stdout
    assert [(j["args"][2:], j["options"].get("--array")) for j in jobs] == [
        (["build", "ingest"], None),
        (["task", "deid", "0"], "0-1%4"),
        (["task", "deid", "2"], "0-1%4"),
        (["task", "deid", "4"], "0-0%4"),
        (["build", "filter"], None),  # the stages before dedup complete (filter had no tasks to wait for)
        (["task", "dedup-map", "0"], "0-1%4"),
        (["task", "dedup-map", "2"], "0-0%4"),
        (["build"], None),
    ]
    ids = [str(j["id"]) for j in jobs]
    assert [j["options"].get("--dependency") for j in jobs] == [
        None,
        None,
        None,
        None,
        f"afterok:{':'.join(ids[1:4])}",
        f"afterok:{ids[4]}",
        f"afterok:{ids[4]}",
        f"afterok:{ids[5]}:{ids[6]}",
    ]
    assert [j["options"]["--cpus-per-task"] for j in jobs] == ["5", "3", "3", "3", "5", "3", "3", "5"]
    assert all(j["options"]["--kill-on-invalid-dep"] == "yes" for j in jobs)
    assert (tmp_path / "logs" / f"medtitan-deid-{ids[1]}_1.out").exists()
    tasks = [(c[4], int(c[6])) for c in calls if c[0] == "build-task"]
    assert all(c[-2:] == ["--workers", "3"] for c in calls if c[0] == "build-task")
    if not fail:
        assert tasks == [("deid", k) for k in range(5)] + [("dedup-map", k) for k in range(3)]
        assert calls[0] == ingest_call and calls[-1] == ["build", "--config", str(config), "--workers", "5"]
        assert all(j["state"] == "COMPLETED" for j in jobs)
    else:  # deid task 3 fails: its array fails, and everything after it is cancelled, not run
        assert tasks == [("deid", k) for k in range(5)]
        assert [j["state"] for j in jobs] == ["COMPLETED", "COMPLETED", "FAILED", "COMPLETED"] + ["CANCELLED"] * 4
        assert calls[-1][0] == "build-task"


# --- training --------------------------------------------------------------------------------------


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


STUB_TORCHRUN = r'''
import json, os, signal, subprocess, sys, time

log = os.environ["STUB_LOG"]
with open(log, "a") as handle:
    handle.write(json.dumps({"argv": sys.argv[1:], "SLURM_NODEID": os.environ.get("SLURM_NODEID")}) + "\n")
if os.environ["STUB_MODE"] == "fail":
    sys.exit(1)
# Like torchrun: one worker process, a child, whose exit code becomes ours. The worker notes
# USR1 as train.py does (it ends its step, saves, exits 0); SIGTERM, or SIGKILL, ends it unsaved.
WORKER = """
import json, os, signal, sys, time
def noted(signum, frame):
    with open(os.environ["STUB_LOG"], "a") as handle:
        handle.write(json.dumps({"worker_signal": signum}) + chr(10))
    sys.exit(0 if signum == signal.SIGUSR1 else 143)
signal.signal(signal.SIGUSR1, noted)
signal.signal(signal.SIGTERM, noted)
open(os.environ["STUB_LOG"] + ".started" + os.environ["SLURM_NODEID"], "w").close()
time.sleep(60)
"""
worker = subprocess.Popen([sys.executable, "-c", WORKER])
signal.signal(signal.SIGTERM, lambda signum, frame: worker.send_signal(signal.SIGTERM))
sys.exit(worker.wait())
'''


@pytest.mark.parametrize("case", ["usr1", "fail", "fail-fast", "fail-out-of-requeues"])
def test_train_sbatch_requeues_near_the_time_limit_and_after_a_failure(case, slurm, tmp_path):
    stub = tmp_path / "stub"
    stub.mkdir()
    write_executable(stub / "torchrun", STUB_TORCHRUN)
    log = tmp_path / "torchrun.jsonl"
    env = slurm.env(
        SLURM_JOB_ID="4242",
        SLURM_NNODES="2",
        SLURM_JOB_NODELIST="nodeA,nodeB",
        SLURM_CPUS_PER_TASK="16",
        SLURM_SUBMIT_DIR=str(REPO),
        SLURM_RESTART_COUNT="3" if case == "fail-out-of-requeues" else "1",
        MAX_REQUEUES="3",
        REQUEUE_MIN_S="600" if case == "fail-fast" else "0",
        MEDTITAN=str(stub),
        GPUS_PER_NODE="4",
        STUB_LOG=str(log),
        STUB_MODE="sleep" if case == "usr1" else "fail",
        EXTRA_ARGS="--training.steps 10  --checkpoint.interval 5",
    )
    process = subprocess.Popen(
        ["/bin/bash", str(SLURM / "train.sbatch")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    if case == "usr1":
        deadline = time.monotonic() + 30
        started = [Path(f"{log}.started{node}") for node in (0, 1)]  # each stub's SIGTERM handler is set
        while not all(p.exists() for p in started) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGUSR1)
    stdout, stderr = process.communicate(timeout=30)
    requeues = [c for c in slurm.records("scontrol") if c[0] == "requeue"]
    runs = [r for r in read_jsonl(log) if "argv" in r]
    assert len(runs) == 2 and {r["SLURM_NODEID"] for r in runs} == {"0", "1"}, stdout + stderr  # one per node
    assert runs[0]["argv"][:12] == [
        "--nnodes",
        "2",
        "--nproc_per_node",
        "4",
        "--rdzv_backend",
        "c10d",
        "--rdzv_endpoint",
        "nodeA:29500",
        "--rdzv_id",
        "4242",
        "--max-restarts",
        "3",
    ]
    assert runs[0]["argv"][12:] == [
        "-m",
        "medtitan.train",
        "--config",
        "train_configs/medtitan_7b.toml",
        "--training.steps",
        "10",
        "--checkpoint.interval",
        "5",
    ]
    assert "OMP_NUM_THREADS=4" in stdout
    if case == "usr1":
        assert process.returncode == 0, stderr
        assert requeues == [["requeue", "4242"]] and "time limit near" in stdout
        # Both workers got USR1 and saved; the torchruns ignored it; nothing went through srun
        # (which would SIGKILL them), and no SIGTERM was needed within STOP_GRACE_S.
        assert [r.get("worker_signal") for r in read_jsonl(log)].count(signal.SIGUSR1) == 2, read_jsonl(log)
        assert slurm.records("scancel") == [["--signal=USR1", "4242"]]
    elif case == "fail":
        assert process.returncode == 1 and requeues == [["requeue", "4242"]] and "(restart 2, at most 3)" in stderr
    elif case == "fail-fast":  # a run that fails at once would fail again: not requeued
        assert process.returncode == 1 and requeues == [] and "not requeued" in stderr
    else:
        assert process.returncode == 1 and requeues == [] and "giving up" in stderr


FAKE_SINFO = r"""
import os, sys

fields = {"%G": os.environ["FAKE_SINFO_GRES"], "%c": os.environ["FAKE_SINFO_CPUS"]}
option = next(a for a in sys.argv[1:] if a.startswith("%"))
print("\n".join(fields[option].split(";")))
"""


@pytest.mark.parametrize(
    ("gres", "cpus", "env", "expected"),
    [
        (
            "gpu:8;gpu:h100:8(S:0-1)",
            "64;128",
            {"NODES": "32"},
            (["--nodes=32", "--cpus-per-task=64", "--mem=0", "--gpus-per-node=8"], "8"),
        ),
        ("(null)", "2;4", {}, (["--nodes=1", "--cpus-per-task=2", "--mem=0"], "1")),
        (
            "(null)",
            "16",
            {"WORKERS": "2", "PARTITION": "cpu", "MEM": "32G"},
            (["--nodes=1", "--cpus-per-task=16", "--mem=32G", "--partition=cpu"], "2"),
        ),
        (
            "gpu:4",
            "32",
            {"GPUS": "2", "CPUS": "8"},
            (["--nodes=1", "--cpus-per-task=8", "--mem=0", "--gpus-per-node=2"], "2"),
        ),
    ],
)
def test_submit_train_asks_for_what_the_nodes_offer(gres, cpus, env, expected, slurm, tmp_path):
    """slurm/submit_train.sh reads GPUs and CPUs from sinfo (the smallest over the partition's
    nodes), asks for GPUs only where there are some, and one variable overrides each."""
    write_executable(slurm.bin / "sinfo", FAKE_SINFO)
    result = subprocess.run(
        [str(SLURM / "submit_train.sh"), "--time=1:00:00"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=slurm.env(FAKE_SINFO_GRES=gres, FAKE_SINFO_CPUS=cpus, FAKE_SBATCH_HOLD="medtitan-train", **env),
    )
    assert result.returncode == 0, result.stderr
    (job,) = slurm.records("sbatch")
    options, workers = expected
    assert job["argv"] == [*options, "--time=1:00:00", str(SLURM / "train.sbatch")]
    assert f"(workers per node: {workers})" in result.stderr
