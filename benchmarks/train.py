"""Training throughput on the device at hand: tokens/s per device and MFU for a train config,
measured over steps after a warm-up, with the model's FLOPs per token (attention included).

    torchrun --standalone --nproc_per_node=N benchmarks/train.py --config train_configs/debug.toml [--steps 20] [overrides]

On a CPU, MFU is not reported (no meaningful peak); on H100/H200/A100/B200 it uses the dense
bf16 peak of medtitan.metrics.PEAK_BF16_FLOPS.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from medtitan.config import load_job_config
    from medtitan.train import train

    argv = sys.argv[1:]
    config_path = str(REPO / "train_configs" / "debug.toml")
    steps = 20
    if "--config" in argv:
        i = argv.index("--config")
        config_path = argv[i + 1]
        del argv[i : i + 2]
    if "--steps" in argv:
        i = argv.index("--steps")
        steps = int(argv[i + 1])
        del argv[i : i + 2]
    with tempfile.TemporaryDirectory() as dump:
        config = load_job_config(
            config_path,
            argv
            + [
                "--training.steps",
                str(steps),
                "--job.dump_folder",
                dump,
                "--checkpoint.enable",
                "false",
                "--validation.enable",
                "false",
                "--metrics.log_freq",
                "1",
            ],
        )
        train(config)
        records = [json.loads(line) for line in (Path(dump) / "metrics.jsonl").read_text().splitlines()]
    measured = [r for r in records if r["step"] > max(2, steps // 4)]  # skip warm-up (compile, allocator)
    if not measured:
        return 0
    tokens_per_s = sum(r["tokens_per_s"] for r in measured) / len(measured)
    mfu = [r["mfu"] for r in measured if r["mfu"] is not None]
    print(
        f"{config.model.flavor}: {tokens_per_s:,.0f} tokens/s per device over steps {measured[0]['step']}-{measured[-1]['step']}, "
        f"MFU {sum(mfu) / len(mfu):.1%}"
        if mfu
        else f"{config.model.flavor}: {tokens_per_s:,.0f} tokens/s per device (no MFU on this device)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
