"""slurm/: the data build as a chain of array jobs and multi-node training, run against a fake
Slurm (sbatch, srun, scontrol and squeue executables first on PATH) that runs every job at once,
in submission order, on this machine. The build must give the same bytes as a local build;
training really runs two processes that meet through torchrun's c10d rendezvous (gloo), and
restarts inside the allocation, resumes after a requeue, and requeues on USR1 and on failure."""

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

from tests.build_helpers import demo_config, output_files
from tests.conftest import TRAIN_SEQ_LEN

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

FAKE_SRUN = r'''
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


def forward(signum, frame):  # srun passes SIGTERM and SIGINT on to its tasks
    for task in tasks:
        if task.poll() is None:
            task.send_signal(signum)


signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGINT, forward)
codes = [task.wait() for task in tasks]
bad = [c if c > 0 else 128 - c for c in codes if c != 0]
sys.exit(bad[0] if bad else 0)
'''

FAKE_SCONTROL = r'''
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
'''

FAKE_SQUEUE = r'''
import json, os, sys
from pathlib import Path

with open(Path(os.environ["FAKE_SLURM_DIR"]) / "squeue.jsonl", "a") as handle:
    handle.write(json.dumps(sys.argv[1:]) + "\n")
print("JOBID PARTITION NAME USER ST TIME NODES NODELIST(REASON)")  # every job has finished
'''


def write_executable(path: Path, source: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{source.lstrip()}")
    path.chmod(0o755)
    return path


class FakeSlurm:
    def __init__(self, folder: Path) -> None:
        self.bin, self.state = folder / "bin", folder / "state"
        self.bin.mkdir(parents=True)
        self.state.mkdir()
        for name, source in [("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN), ("scontrol", FAKE_SCONTROL),
                             ("squeue", FAKE_SQUEUE)]:
            write_executable(self.bin / name, source)

    def env(self, **extra: str) -> dict[str, str]:
        return dict(os.environ, PATH=f"{self.bin}:{os.environ['PATH']}", FAKE_SLURM_DIR=str(self.state), **extra)

    def records(self, name: str) -> list:
        path = self.state / f"{name}.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def release(self, job: dict, **extra_env: str) -> subprocess.CompletedProcess:
        """Run a job that FAKE_SBATCH_HOLD kept back, as Slurm would have."""
        (element,) = job["elements"]
        return subprocess.run(["/bin/bash", job["copy"], *job["args"]], capture_output=True, text=True, timeout=300,
                              cwd=job["cwd"], env=self.env(**element["env"], **extra_env))


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

SEQ_LEN = TRAIN_SEQ_LEN


@pytest.fixture(scope="module")
def local_build(train_shards) -> Path:
    """The reference: a plain `medtitan-data build` of the same config; its shards also feed
    the training tests."""
    return train_shards


def test_the_build_as_slurm_array_jobs_gives_the_local_build_byte_for_byte(local_build, demo_dir, demo_tokenizer_dir,
                                                                            slurm, tmp_path):
    output = tmp_path / "shared_fs" / "build"
    config = demo_config(tmp_path / "build.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", seq_len=SEQ_LEN,
                         validation_tokens=5000, output=output)
    env = slurm.env(CONFIG=str(config), MEDTITAN=str(BIN), PARTITION="cpu", ACCOUNT="med", CPUS="2",
                    LOG_DIR=str(tmp_path / "logs"), FAKE_SBATCH_HOLD="medtitan-final")
    submitted = subprocess.run([str(SLURM / "build.sh")], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                               env=env)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    jobs = slurm.records("sbatch")
    failed = [(j["args"][2:], e.get("log")) for j in jobs for e in j["elements"] if e.get("rc")]
    assert not failed, failed

    counts = json.loads(subprocess.run([str(BIN / "medtitan-data"), "build-tasks", "--config", str(config)],
                                       capture_output=True, text=True, check=True).stdout)
    assert list(counts) == TASK_STAGES and all(counts[s] > 1 for s in TASK_STAGES), counts
    # One array per step, a driver job where the build moves on to another stage, in order.
    assert [j["options"]["--job-name"].removeprefix("medtitan-") for j in jobs] == [
        "ingest", "deid", "merge-deid", "filter", "merge-filter", "dedup-map", "dedup-exact", "dedup-bands",
        "dedup-confirm", "merge-dedup", "decontaminate", "final"]
    for job in jobs:
        assert job["args"][:2] == [str(BIN), str(config)]
        assert job["options"]["--partition"] == "cpu" and job["options"]["--account"] == "med"
        assert job["options"]["--kill-on-invalid-dep"] == "yes" and job["options"]["--cpus-per-task"] == "2"
    ingest, final = jobs[0], jobs[-1]
    assert ingest["args"][2:] == ["build", "ingest"] and "--wait" in ingest["options"]
    assert "--dependency" not in ingest["options"] and "--dependency" not in jobs[1]["options"]  # ingest has finished
    for before, job in zip(jobs[1:], jobs[2:]):
        assert job["options"]["--dependency"] == f"afterok:{before['id']}", job["options"]["--job-name"]
    for job in jobs[1:-1]:
        name = job["options"]["--job-name"].removeprefix("medtitan-")
        if name.startswith("merge-"):
            assert job["args"][2:] == ["build", name.removeprefix("merge-")] and "--array" not in job["options"]
        else:
            assert job["args"][2:] == ["task", name, "0"]  # offset 0: one array holds the whole step
            assert job["options"]["--array"] == f"0-{counts[name] - 1}%64"
            assert [e["index"] for e in job["elements"]] == list(range(counts[name]))
        assert job["state"] == "COMPLETED"
    assert final["args"][2:] == ["build"] and "--array" not in final["options"]
    assert f"final {final['id']}" in submitted.stdout and f"deid {jobs[1]['id']} (" in submitted.stdout

    # The final job finds every partitioned task done: made to crash inside decontamination's
    # partition 0, it still succeeds, because the array already did that partition.
    assert final["state"] == "HELD" and not (output / "manifest.json").exists()
    finished = slurm.release(final, MEDTITAN_BUILD_CRASH="decontaminate:0")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert output_files(output) == output_files(local_build)


STUB_DATA = r'''
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
'''


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
    env = slurm.env(MEDTITAN=str(stub_medtitan(tmp_path / "stub")), ARRAY_MAX="2", MAX_CONCURRENT="4", CPUS="3",
                    TIME="00:30:00", DRIVER_CPUS="5", LOG_DIR="logs", STUB_LOG=str(log), STUB_FAIL=fail,
                    STUB_COUNTS=json.dumps({"deid": 5, "filter": 0, "dedup-map": 3}))
    result = subprocess.run([str(SLURM / "build.sh"), "build.toml"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, env=env)
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
        (["task", "deid", "0"], "0-1%4"), (["task", "deid", "2"], "0-1%4"), (["task", "deid", "4"], "0-0%4"),
        (["build", "filter"], None),  # the stages before dedup complete (filter had no tasks to wait for)
        (["task", "dedup-map", "0"], "0-1%4"), (["task", "dedup-map", "2"], "0-0%4"),
        (["build"], None)]
    ids = [str(j["id"]) for j in jobs]
    assert [j["options"].get("--dependency") for j in jobs] == [
        None, None, None, None, f"afterok:{':'.join(ids[1:4])}", f"afterok:{ids[4]}", f"afterok:{ids[4]}",
        f"afterok:{ids[5]}:{ids[6]}"]
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

def train_sbatch(slurm: FakeSlurm, tmp_path: Path, dump: Path, shards: Path, *extra: str, **env: str):
    args = ["--data.shards", str(shards), "--training.seq_len", str(SEQ_LEN), "--checkpoint.interval", "2",
            "--validation.enable", "false", "--metrics.log_freq", "1", *extra]
    return subprocess.run(["sbatch", "--nodes=1", "--cpus-per-task=2", f"--output={tmp_path}/train-%j.out",
                           str(SLURM / "train.sbatch")], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env=slurm.env(CONFIG="train_configs/debug.toml", GPUS_PER_NODE="2", DUMP=str(dump),
                                        MEDTITAN=str(BIN), RDZV_PORT=str(free_port()), EXTRA_ARGS=" ".join(args),
                                        **env))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_train_sbatch_trains_two_processes_restarts_them_and_resumes_after_a_requeue(local_build, slurm, tmp_path):
    dump = tmp_path / "dump"
    # Run 1: every rank dies after step 2 (checkpoint written); torchrun restarts the worker
    # group inside the allocation (--max-restarts) and the new workers resume from step 2.
    first = train_sbatch(slurm, tmp_path, dump, local_build, "--training.steps", "4", MAX_RESTARTS="1",
                         MEDTITAN_TRAIN_INJECT="crash@2")
    (job,) = slurm.records("sbatch")
    log = Path(job["elements"][0]["log"]).read_text()
    assert first.returncode == 0 and job["state"] == "COMPLETED", log[-4000:]
    (launch,) = slurm.records("srun")
    assert launch["options"] == {"--nodes": "1", "--ntasks-per-node": "1", "--kill-on-bad-exit": "1"}
    torchrun = launch["command"]
    assert torchrun[0] == str(BIN / "torchrun")
    assert torchrun[1:13] == ["--nnodes", "1", "--nproc_per_node", "2", "--rdzv_backend", "c10d", "--rdzv_endpoint",
                              torchrun[8], "--rdzv_id", str(job["id"]), "--max-restarts", "1"]
    assert torchrun[8].startswith("localhost:")  # the first (only) host of the fake scontrol
    assert torchrun[13:18] == ["-m", "medtitan.train", "--config", "train_configs/debug.toml", "--job.dump_folder"]
    assert "running: srun --nodes=1" in log and "OMP_NUM_THREADS=1" in log
    steps = {m["step"] for m in read_jsonl(dump / "metrics.jsonl")}
    assert {1, 2, 3, 4} <= steps
    assert (dump / "checkpoint" / "step-4" / "model.json").exists()
    assert json.loads((dump / "checkpoint" / "step-4" / "model.json").read_text())["world_size"] == 2
    assert [e["step"] for e in read_jsonl(dump / "events.jsonl") if e["event"] == "resumed"] == [2]

    # Run 2 (a requeued or resubmitted job): more steps, resumed from the newest checkpoint.
    second = train_sbatch(slurm, tmp_path, dump, local_build, "--training.steps", "6")
    job = slurm.records("sbatch")[-1]
    assert second.returncode == 0 and job["state"] == "COMPLETED", Path(job["elements"][0]["log"]).read_text()[-4000:]
    assert [e["step"] for e in read_jsonl(dump / "events.jsonl") if e["event"] == "resumed"] == [2, 4]
    assert max(m["step"] for m in read_jsonl(dump / "metrics.jsonl")) == 6
    assert (dump / "checkpoint" / "step-6").is_dir()


STUB_TORCHRUN = r'''
import json, os, signal, sys, time

with open(os.environ["STUB_LOG"], "a") as handle:
    handle.write(json.dumps({"argv": sys.argv[1:], "SLURM_NODEID": os.environ.get("SLURM_NODEID")}) + "\n")
if os.environ["STUB_MODE"] == "fail":
    sys.exit(1)


def stop(signum, frame):
    with open(os.environ["STUB_LOG"], "a") as handle:
        handle.write(json.dumps({"signal": signum}) + "\n")
    sys.exit(143)


signal.signal(signal.SIGTERM, stop)
open(os.environ["STUB_LOG"] + ".started" + os.environ["SLURM_NODEID"], "w").close()
time.sleep(60)
'''


@pytest.mark.parametrize("case", ["usr1", "fail", "fail-fast", "fail-out-of-requeues"])
def test_train_sbatch_requeues_near_the_time_limit_and_after_a_failure(case, slurm, tmp_path):
    stub = tmp_path / "stub"
    stub.mkdir()
    write_executable(stub / "torchrun", STUB_TORCHRUN)
    log = tmp_path / "torchrun.jsonl"
    env = slurm.env(SLURM_JOB_ID="4242", SLURM_NNODES="2", SLURM_JOB_NODELIST="nodeA,nodeB", SLURM_CPUS_PER_TASK="16",
                    SLURM_SUBMIT_DIR=str(REPO), SLURM_RESTART_COUNT="3" if case == "fail-out-of-requeues" else "1",
                    MAX_REQUEUES="3", REQUEUE_MIN_S="600" if case == "fail-fast" else "0",
                    MEDTITAN=str(stub), GPUS_PER_NODE="4", STUB_LOG=str(log), STUB_MODE="sleep" if case == "usr1" else "fail",
                    EXTRA_ARGS="--training.steps 10  --checkpoint.interval 5")
    process = subprocess.Popen(["/bin/bash", str(SLURM / "train.sbatch")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
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
    assert runs[0]["argv"][:12] == ["--nnodes", "2", "--nproc_per_node", "4", "--rdzv_backend", "c10d",
                                    "--rdzv_endpoint", "nodeA:29500", "--rdzv_id", "4242", "--max-restarts", "3"]
    assert runs[0]["argv"][12:] == ["-m", "medtitan.train", "--config", "train_configs/medtitan_7b.toml",
                                    "--training.steps", "10", "--checkpoint.interval", "5"]
    assert "OMP_NUM_THREADS=4" in stdout
    if case == "usr1":
        assert process.returncode == 0, stderr
        assert requeues == [["requeue", "4242"]] and "time limit near" in stdout
        assert [r.get("signal") for r in read_jsonl(log)].count(signal.SIGTERM) == 2  # both torchruns stopped
    elif case == "fail":
        assert process.returncode == 1 and requeues == [["requeue", "4242"]] and "(restart 2, at most 3)" in stderr
    elif case == "fail-fast":  # a run that fails at once would fail again: not requeued
        assert process.returncode == 1 and requeues == [] and "not requeued" in stderr
    else:
        assert process.returncode == 1 and requeues == [] and "giving up" in stderr
