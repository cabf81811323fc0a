"""The build's executors: a real local Ray cluster (2 CPUs) and a pool of fresh processes give
output byte-identical to the local executor; the keyed dedup (shuffle on hash and band keys)
removes exactly what the in-memory dedup removes, whatever the number of buckets."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.build_helpers import demo_config, output_files, run_build
from tests.conftest import read_jsonl

RAY = Path(sys.executable).with_name("ray")


@pytest.fixture(scope="module")
def local_build(demo_dir, demo_tokenizer_dir, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("local")
    # keep_work: the tests read work/ (task stats, partitions, dedup removals) after the build.
    config = demo_config(folder / "demo.toml", demo_dir, demo_tokenizer_dir / "tokenizer.model", keep_work=True)
    result = run_build(config)
    assert result.returncode == 0, result.stderr
    return config, folder / "build"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """`ray start --head` with 2 CPUs: a real cluster, reached by address like a remote one."""
    port = _free_port()
    temp = Path("/tmp") / f"mt-ray-{os.getpid()}"  # Ray's socket paths must stay short
    # A throwaway cluster on this machine: no token authentication (Ray 2.5x enables it).
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    started = subprocess.run(
        [
            str(RAY),
            "start",
            "--head",
            "--num-cpus=2",
            f"--port={port}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert started.returncode == 0, started.stdout + started.stderr
    address = re.search(r"--address='([^']+)'", started.stdout + started.stderr)
    assert address, started.stdout
    try:
        yield address.group(1)
    finally:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, text=True, env=env, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_ray_cluster_builds_the_demo_byte_identically(local_build, ray_cluster, tmp_path):
    config, local = local_build
    result = run_build(config, "--executor", "ray", "--address", ray_cluster, "--output", str(tmp_path / "ray"))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    ray_files, local_files = output_files(tmp_path / "ray"), output_files(local)
    assert ray_files.keys() == local_files.keys()
    assert [name for name in ray_files if ray_files[name] != local_files[name]] == []
    # The tasks really ran in Ray's worker processes: each reports its own peak memory.
    import json

    tasks = json.loads((tmp_path / "ray" / "work" / "tasks" / "dedup-map.json").read_text())
    assert len(tasks) == json.loads((local / "private" / "work" / "ingest" / "DONE.json").read_text())["partitions"]


def test_fresh_processes_build_the_demo_byte_identically(local_build, tmp_path):
    config, local = local_build
    result = run_build(config, "--executor", "process", "--workers", "2", "--output", str(tmp_path / "process"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert output_files(tmp_path / "process") == output_files(local)


@pytest.mark.parametrize("buckets", [1, 7])
def test_the_keyed_dedup_matches_the_in_memory_dedup(local_build, buckets, tmp_path):
    """Same removals, reasons and keepers as `medtitan.data.dedup.deduplicate` over all texts at
    once, for any number of shuffle buckets."""
    from medtitan.data.dedup import deduplicate

    config, local = local_build
    output = tmp_path / f"buckets{buckets}"
    text = config.read_text() + f"\n[dedup]\nbuckets = {buckets}\n"
    (tmp_path / "config.toml").write_text(text)
    result = run_build(tmp_path / "config.toml", "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    docs = []
    for part in sorted((output / "work" / "filter").glob("part-*[0-9].jsonl")):
        docs += [(r["id"], r["source"], r["n"], r["text"]) for r in read_jsonl(part)]
    docs.sort(key=lambda d: (d[0], d[1], d[2]))
    reference = deduplicate([d[3] for d in docs])
    exact, final = reference.exact_representatives.tolist(), reference.representatives.tolist()
    expected = set()
    for i, doc in enumerate(docs):
        if exact[i] != i:
            expected.add((doc[2], "exact_duplicate", f"duplicate of {docs[exact[i]][1]}/{docs[exact[i]][0]}"))
        elif final[i] != i:
            expected.add((doc[2], "near_duplicate", f"duplicate of {docs[final[i]][1]}/{docs[final[i]][0]}"))
    found = {(r["n"], r["reason"], r["detail"]) for r in read_jsonl(output / "work" / "dedup" / "removed.jsonl")}
    assert found == expected and len(found) > 100
    import json

    stats = json.loads((output / "report.json").read_text())["dedup"]
    assert {k: stats[k] for k in reference.near.stats} == reference.near.stats
    # The shards do not depend on the bucket count either.
    for split in ("train", "validation"):
        for shard in (local / split).iterdir():
            assert (output / split / shard.name).read_bytes() == shard.read_bytes(), shard.name
