"""Making sure the shards a training config names exist: on a fresh checkout, the demo build
(data_configs/demo.toml) is produced first, with the demo corpus and tokenizer it needs."""

from __future__ import annotations

import sys
from pathlib import Path

import torch.distributed as dist

REPO = Path(__file__).resolve().parents[3]


def _demo_prerequisites(build_config) -> None:
    """Generate the demo corpus and train the demo tokenizer when the demo build needs them (the
    generator, data_tools/, belongs to the source checkout, not to the installed package)."""
    if not (REPO / "data_tools" / "demo_corpus.py").exists():
        raise ValueError(
            "the demo corpus is made by data_tools/ of the source checkout (make demo there); an "
            "installed medtitan builds from your own corpus and tokenizer"
        )
    # The demo sources all live in the generated corpus folder.
    corpus = build_config.resolve(build_config.sources[0].paths[0]).parent
    if not all(build_config.source_files_exist()):
        sys.path.insert(0, str(REPO))
        from data_tools import demo_corpus

        demo_corpus.write(demo_corpus.generate(), corpus)
    if not build_config.tokenizer.exists():
        from medtitan.tokenizer import TokenizerTrainingConfig, train_tokenizer

        config = TokenizerTrainingConfig.from_toml(REPO / "data_configs" / "tokenizer_demo.toml")
        train_tokenizer([corpus], build_config.tokenizer.parent, config, progress=False)


def ensure_build(config) -> Path:
    """The build output folder to train on. When it is missing: an error saying how to build it,
    or, with data.build_if_missing, rank 0 builds it (the demo's corpus and tokenizer first) while
    the others wait."""
    if config.data.shards and (Path(config.data.shards) / "manifest.json").exists():
        return Path(config.data.shards)  # built already: the build config (and its corpus) need not be here
    from medtitan.data.build import build
    from medtitan.data.build_config import load_build_config

    # (load_job_config resolved a path of the config file against the file's folder.)
    build_config_path = Path(config.data.build_config).resolve()
    build_config = load_build_config(build_config_path) if build_config_path.exists() else None
    shards = Path(config.data.shards) if config.data.shards else (build_config.output if build_config else None)
    if shards is None:
        raise ValueError(f"data.shards is empty and {config.data.build_config} does not exist")
    if not (shards / "manifest.json").exists():
        if build_config is None:
            raise ValueError(f"{shards}/manifest.json is missing and there is no build config to make it")
        if not config.data.build_if_missing:
            raise ValueError(
                f"{shards}/manifest.json is missing: build the data first (medtitan-data build --config "
                f"{build_config_path}; `make demo` does it for the demo), or pass "
                "--data.build_if_missing true to have rank 0 build it before training"
            )
        if dist.get_rank() == 0:
            if build_config_path.resolve() == (REPO / "data_configs" / "demo.toml").resolve():
                _demo_prerequisites(build_config)
            print(f"data: {shards} is missing; building it from {build_config_path}", flush=True)
            build(build_config, progress=False)
        dist.barrier()
    return shards
