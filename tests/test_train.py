"""The trainer on CPU with gloo: parallelisms agree with one process, kill-and-resume is
bit-identical, stability guards act, the debug model learns."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from medtitan.config import load_job_config
from medtitan.lr import lr_factor
from tests.conftest import TRAIN_SEQ_LEN

REPO = Path(__file__).resolve().parents[1]
SEQ_LEN = TRAIN_SEQ_LEN


@pytest.fixture(scope="module")
def shards(train_shards) -> Path:
    return train_shards


def run_train(
    shards: Path, dump: Path, nproc: int = 1, *overrides: str, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    launcher = (
        [str(Path(sys.executable).with_name("torchrun")), "--standalone", f"--nproc_per_node={nproc}"]
        if nproc > 1
        else [sys.executable]
    )
    command = launcher + [
        "-m",
        "medtitan.train",
        "--config",
        str(REPO / "train_configs" / "debug.toml"),
        "--data.shards",
        str(shards),
        "--training.seq_len",
        str(SEQ_LEN),
        "--job.dump_folder",
        str(dump),
        "--metrics.log_freq",
        "1",
        "--validation.enable",
        "false",
        "--training.steps",
        "5",
        "--checkpoint.enable",
        "false",
        *overrides,
    ]
    import os

    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
        env=dict(os.environ, OMP_NUM_THREADS="1", **(env or {})),
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def metrics(dump: Path) -> list[dict]:
    return [json.loads(line) for line in (dump / "metrics.jsonl").read_text().splitlines()]


def losses(dump: Path) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in metrics(dump) if "loss" in m}


def events(dump: Path) -> list[dict]:
    path = dump / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def single(shards, tmp_path_factory) -> dict[int, float]:
    dump = tmp_path_factory.mktemp("single")
    run_train(shards, dump)
    return losses(dump)


@pytest.mark.parametrize("nproc, tp", [(2, 1), (2, 2), (4, 2)], ids=["fsdp2", "tp2", "fsdp2xtp2"])
def test_parallelisms_match_a_single_process(nproc, tp, shards, single, tmp_path):
    run_train(shards, tmp_path, nproc, "--parallelism.tensor_parallel_degree", str(tp))
    ours = losses(tmp_path)
    assert sorted(ours) == [1, 2, 3, 4, 5]
    for step, loss in single.items():
        assert ours[step] == pytest.approx(loss, rel=1e-5), step
    records = metrics(tmp_path)
    assert all({"step", "loss", "grad_norm", "lr", "tokens_per_s", "mfu"} <= set(r) for r in records)


def test_killed_and_resumed_training_is_bit_identical(shards, tmp_path):
    full, broken = tmp_path / "full", tmp_path / "broken"
    common = ("--training.steps", "10", "--checkpoint.enable", "true", "--checkpoint.interval", "4")
    run_train(shards, full, 2, *common)
    crashed = run_train(shards, broken, 2, *common, env={"MEDTITAN_TRAIN_INJECT": "crash@6"}, check=False)
    assert crashed.returncode != 0
    assert sorted(p.name for p in (broken / "checkpoint").iterdir()) == ["step-4"]
    run_train(shards, broken, 2, *common)
    reference, resumed = losses(full), losses(broken)
    for step in range(5, 11):
        assert resumed[step] == reference[step], step  # bit-identical, not approximately equal
    assert any(e["event"] == "resumed" and e["step"] == 4 for e in events(broken))


def test_resuming_with_another_data_parallel_degree_works(shards, tmp_path):
    common = ("--training.steps", "8", "--checkpoint.enable", "true", "--checkpoint.interval", "4")
    run_train(shards, tmp_path, 2, *common, env={"MEDTITAN_TRAIN_INJECT": "crash@4"}, check=False)
    run_train(shards, tmp_path, 1, *common)
    resumed = losses(tmp_path)
    assert set(range(5, 9)) <= set(resumed)
    assert all(math.isfinite(v) for v in resumed.values())
    reference = tmp_path.parent / "ref_dp"
    run_train(shards, reference, 1, *common)
    assert losses(reference)[8] == pytest.approx(resumed[8], rel=1e-4)  # same data order and state


@pytest.mark.parametrize("policy", ["warn", "skip", "rollback"])
def test_stability_guards_follow_the_policy(policy, shards, tmp_path):
    overrides = (
        "--training.steps",
        "16",
        "--stability.policy",
        policy,
        "--stability.warmup",
        "4",
        "--checkpoint.enable",
        "true",
        "--checkpoint.interval",
        "5",
    )
    run_train(shards, tmp_path, 1, *overrides, env={"MEDTITAN_TRAIN_INJECT": "nan@3,spike@12"})
    log = events(tmp_path)
    nan_events = [e for e in log if e.get("step") == 3]
    assert nan_events and nan_events[0]["event"] in ("skip", "rollback") and "non-finite" in nan_events[0]["reason"]
    spike = [e for e in log if e.get("step") == 12 and e["event"] != "rolled_back"]
    assert spike and "loss spike" in spike[0]["reason"]
    assert spike[0]["event"] == policy if policy != "warn" else spike[0]["event"] == "warning"
    recorded = losses(tmp_path)
    assert all(math.isfinite(v) for v in recorded.values())
    if policy == "rollback":
        rolled = [e for e in log if e["event"] == "rolled_back"]
        assert rolled and rolled[0]["to_step"] == 10 and rolled[0]["skipped_steps"] == 2
    assert recorded[16] < recorded[1]


def test_the_debug_model_learns_and_reports_validation_perplexity(shards, tmp_path):
    run_train(
        shards,
        tmp_path,
        2,
        "--training.steps",
        "60",
        "--validation.enable",
        "true",
        "--validation.freq",
        "60",
        "--metrics.log_freq",
        "10",
    )
    recorded = losses(tmp_path)
    assert recorded[60] < recorded[1] - 2.0, recorded
    records = metrics(tmp_path)
    assert all({"step", "loss", "grad_norm", "lr", "tokens_per_s", "mfu"} <= set(r) for r in records)
    validation = [m for m in records if "validation_perplexity" in m]
    assert validation and validation[-1]["validation_perplexity"] < math.exp(recorded[1])


def test_learning_rate_schedule():
    assert lr_factor(1, 10, 100) == pytest.approx(0.1)
    assert lr_factor(10, 10, 100) == pytest.approx(1.0)
    assert lr_factor(100, 10, 100) == pytest.approx(0.1)
    assert lr_factor(55, 10, 100) == pytest.approx(0.55)
    assert lr_factor(55, 10, 100, decay_type="linear") == pytest.approx(0.55)
    with pytest.raises(ValueError):
        lr_factor(50, 10, 100, decay_type="step")


def test_config_overrides_and_errors(tmp_path):
    config = load_job_config(
        REPO / "train_configs" / "debug.toml",
        ["--training.steps", "7", "--optimizer.lr=0.01", "--checkpoint.enable", "false"],
    )
    assert config.training.steps == 7 and config.optimizer.lr == 0.01 and config.checkpoint.enable is False
    for bad in (["--training.stepz", "1"], ["--training.steps"], ["--training.steps", "many"], ["training.steps", "1"]):
        with pytest.raises(ValueError):
            load_job_config(REPO / "train_configs" / "debug.toml", bad)
    (tmp_path / "bad.toml").write_text("[trainin]\nsteps = 1\n")
    with pytest.raises(ValueError, match="bad.toml: unknown section"):
        load_job_config(tmp_path / "bad.toml")


def test_paths_in_a_config_file_resolve_against_its_folder_and_on_the_command_line_against_the_cwd(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.toml").write_text(
        f'[job]\ndump_folder = "runs/a"\n[data]\nbuild_config = "data.toml"\nshards = "{tmp_path / "abs"}"\n'
    )
    config = load_job_config(folder / "train.toml")
    assert config.job.dump_folder == str(folder / "runs" / "a") and config.data.build_config == str(
        folder / "data.toml"
    )
    assert config.data.shards == str(tmp_path / "abs")  # absolute stays
    config = load_job_config(folder / "train.toml", ["--job.dump_folder", "elsewhere"])
    assert config.job.dump_folder == "elsewhere"  # the command line's own, as typed
    repo_config = load_job_config(REPO / "train_configs" / "debug.toml")
    assert Path(repo_config.data.build_config).resolve() == REPO / "data_configs" / "demo.toml"


def test_activation_checkpointing_changes_memory_not_losses(shards, single, tmp_path):
    for mode in ("full", "selective"):
        dump = tmp_path / mode
        run_train(shards, dump, 1, "--activation_checkpoint.mode", mode)
        for step, loss in losses(dump).items():
            assert loss == pytest.approx(single[step], rel=1e-5), (mode, step)


def test_a_crash_while_saving_never_leaves_a_checkpoint_that_looks_complete(shards, tmp_path):
    common = ("--training.steps", "8", "--checkpoint.enable", "true", "--checkpoint.interval", "4")
    crashed = run_train(shards, tmp_path, 1, *common, env={"MEDTITAN_TRAIN_INJECT": "crash_in_save@8"}, check=False)
    assert crashed.returncode != 0
    names = sorted(p.name for p in (tmp_path / "checkpoint").iterdir())
    assert names == ["step-4", "step-8.tmp"]
    run_train(shards, tmp_path, 1, *common)
    assert any(e["event"] == "resumed" and e["step"] == 4 for e in events(tmp_path))
    assert sorted(p.name for p in (tmp_path / "checkpoint").iterdir()) == ["step-4", "step-8"]


def test_checkpoint_retention_keeps_the_latest_and_every_nth(tmp_path):
    from medtitan.checkpoint import CheckpointManager
    from medtitan.config import Checkpoint

    for step in range(100, 2100, 100):
        (tmp_path / f"step-{step}").mkdir()
    manager = CheckpointManager(tmp_path, Checkpoint(interval=100, keep_latest_k=3, keep_every_n=5), rank=0)
    manager._prune()
    assert manager.steps() == [500, 1000, 1500, 1800, 1900, 2000]


def test_metrics_reach_tensorboard(shards, tmp_path):
    run_train(shards, tmp_path, 1, "--metrics.enable_tensorboard", "true", "--training.steps", "3")
    events_files = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events_files and events_files[0].stat().st_size > 0


def test_compiled_blocks_train_like_eager_ones(shards, single, tmp_path):
    run_train(shards, tmp_path, 1, "--compile.enable", "true")
    for step, loss in losses(tmp_path).items():
        assert loss == pytest.approx(single[step], rel=1e-4), step  # fused kernels may round differently


def test_load_model_reads_a_checkpoint_of_any_sharding(shards, tmp_path):
    import torch

    import medtitan

    common = ("--training.steps", "4", "--checkpoint.enable", "true", "--checkpoint.interval", "4")
    run_train(shards, tmp_path / "one", 1, *common)
    run_train(shards, tmp_path / "tp", 2, *common, "--parallelism.tensor_parallel_degree", "2")
    reference = medtitan.load_model(tmp_path / "one" / "checkpoint" / "step-4")
    sharded = medtitan.load_model(tmp_path / "tp" / "checkpoint" / "step-4")
    assert not any(isinstance(p, torch.distributed.tensor.DTensor) for p in sharded.parameters())
    for (name, a), (_, b) in zip(reference.named_parameters(), sharded.named_parameters()):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), name
    tokens = torch.randint(0, reference.args.vocab_size, (1, 32))
    with torch.no_grad():
        assert torch.allclose(reference(tokens), sharded(tokens), atol=1e-4)
    with pytest.raises(FileNotFoundError, match="model.json"):
        medtitan.load_model(tmp_path)


def test_norms_and_embeddings_are_exempt_from_weight_decay_unless_configured():
    from medtitan.models import build_model
    from medtitan.train import _decay_groups

    model = build_model("debug")
    config = load_job_config(REPO / "train_configs" / "debug.toml")
    names = {id(p): n for n, p in model.named_parameters()}
    decay, no_decay = _decay_groups(model, config)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    exempt = {names[id(p)] for p in no_decay["params"]}
    assert exempt == {n for n in names.values() if "norm" in n or "tok_embeddings" in n}
    assert "output.weight" in {names[id(p)] for p in decay["params"]}
    config.optimizer.decay_norms_and_embeddings = True
    assert not _decay_groups(model, config)[1]["params"]


def test_a_signal_stops_every_rank_after_a_step_with_a_checkpoint(shards, tmp_path):
    """SIGTERM to one rank of two (what torchrun forwards on preemption): both finish the
    step, save it, and exit 0; the next run resumes from that step."""
    import os
    import signal
    import time

    command = [
        str(Path(sys.executable).with_name("torchrun")),
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "medtitan.train",
        "--config",
        str(REPO / "train_configs" / "debug.toml"),
        "--data.shards",
        str(shards),
        "--training.seq_len",
        str(SEQ_LEN),
        "--job.dump_folder",
        str(tmp_path),
        "--metrics.log_freq",
        "1",
        "--validation.enable",
        "false",
        "--training.steps",
        "100000",
        "--checkpoint.interval",
        "100000",
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if (tmp_path / "metrics.jsonl").exists() and len(metrics(tmp_path)) >= 3:
            break
        time.sleep(0.2)
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2, workers
    os.kill(int(workers[1]), signal.SIGTERM)  # one rank only
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout[-2000:] + stderr[-2000:]
    stopped = [e for e in events(tmp_path) if e["event"] == "stopped_on_signal"]
    assert stopped and 3 <= stopped[0]["step"] < 100000
    step = stopped[0]["step"]
    assert (tmp_path / "checkpoint" / f"step-{step}").is_dir()
    run_train(
        shards,
        tmp_path,
        1,
        "--training.steps",
        str(step + 2),
        "--checkpoint.enable",
        "true",
        "--checkpoint.interval",
        "100000",
    )
    assert [e["step"] for e in events(tmp_path) if e["event"] == "resumed"] == [step]
    assert max(m["step"] for m in metrics(tmp_path)) == step + 2


def test_missing_shards_are_an_error_that_says_how_to_build_them_unless_asked_to_build(shards, tmp_path):
    """The trainer does not build data behind the user's back: missing shards are an error
    naming the folder and the command; --data.build_if_missing true builds them (rank 0) first."""
    config = tmp_path / "build.toml"
    config.write_text((shards.parent / "build.toml").read_text().replace(str(shards), str(tmp_path / "fresh")))
    base = [
        sys.executable,
        "-m",
        "medtitan.train",
        "--config",
        str(REPO / "train_configs" / "debug.toml"),
        "--data.build_config",
        str(config),
        "--training.seq_len",
        str(SEQ_LEN),
        "--job.dump_folder",
        str(tmp_path / "dump"),
        "--training.steps",
        "2",
        "--checkpoint.enable",
        "false",
        "--validation.enable",
        "false",
    ]
    refused = subprocess.run(base, check=False, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert refused.returncode != 0 and not (tmp_path / "fresh").exists()
    assert (
        f"{tmp_path / 'fresh'}/manifest.json is missing: build the data first (medtitan-data build --config"
        in refused.stderr
        and "--data.build_if_missing true" in refused.stderr
    )
    built = subprocess.run(
        base + ["--data.build_if_missing", "true"], check=False, capture_output=True, text=True, timeout=600, cwd=REPO
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "fresh" / "manifest.json").exists() and len(losses(tmp_path / "dump")) == 2
