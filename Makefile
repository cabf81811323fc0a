# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Each runs `setup` first, which is idempotent and only redoes what changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION := 2.11.0
SEED ?= 1234
DEMO_DIR := out/demo
SHARED_TOKENIZERS := ../shared/data/baseline_tokenizers
# Baselines for the demo's fertility table, where the shared development data is present.
DEMO_BASELINES := $(if $(wildcard $(SHARED_TOKENIZERS)/tokenizer.model.v1),\
	--baseline $(SHARED_TOKENIZERS)/tokenizer.model.v1 --baseline $(SHARED_TOKENIZERS)/gpt2.tiktoken,)
RUST_SOURCES := Cargo.toml Cargo.lock $(shell find rust -name '*.rs')

# pyo3's build script (cargo test and maturin) must see the venv's interpreter, not whatever
# python3 is first on PATH.
export PYO3_PYTHON := $(abspath $(PY))
export VIRTUAL_ENV := $(abspath $(VENV))

.PHONY: setup demo test lint test-rust test-python bench clean gpu-prep

setup: $(VENV)/.medtitan-built

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch is pinned to the version on our GPU machines; the PyPI wheel is the CUDA build and runs
# on the CPU here. Reinstalled only when pyproject.toml changes.
$(VENV)/.deps-installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==$(TORCH_VERSION) 'maturin>=1.16,<2'
	touch $@

# Rebuild the Rust extension (release) whenever a Rust source or the package metadata changes.
$(VENV)/.medtitan-built: $(VENV)/.deps-installed $(RUST_SOURCES) pyproject.toml
	$(VENV)/bin/maturin develop --release --extras dev --quiet
	touch $@

demo: setup
	$(PY) -m data_tools.demo_corpus --output $(DEMO_DIR)/corpus --seed $(SEED)
	$(VENV)/bin/medtitan-data stats $(DEMO_DIR)/corpus --near-duplicates \
		--json $(DEMO_DIR)/corpus_stats.json
	$(VENV)/bin/medtitan-data train-tokenizer $(DEMO_DIR)/corpus --config data_configs/tokenizer_demo.toml \
		--output $(DEMO_DIR)/tokenizer
	$(VENV)/bin/medtitan-data fertility $(DEMO_DIR)/tokenizer/holdout --tokenizer $(DEMO_DIR)/tokenizer/tokenizer.model \
		$(DEMO_BASELINES) --json $(DEMO_DIR)/fertility.json
	$(VENV)/bin/medtitan-data build --config data_configs/demo.toml --quiet
	$(VENV)/bin/medtitan-data inspect $(DEMO_DIR)/build --verify
	rm -rf $(DEMO_DIR)/train
	OMP_NUM_THREADS=1 $(VENV)/bin/torchrun --standalone --nproc_per_node=2 -m medtitan.train \
		--config train_configs/debug.toml --job.dump_folder $(DEMO_DIR)/train
	$(VENV)/bin/medtitan eval perplexity --checkpoint $(DEMO_DIR)/train/checkpoint/step-200 \
		--shards $(DEMO_DIR)/build --json $(DEMO_DIR)/eval/perplexity.json
	$(VENV)/bin/medtitan export-hf --checkpoint $(DEMO_DIR)/train/checkpoint/step-200 --output $(DEMO_DIR)/hf --force
	$(VENV)/bin/medtitan model-card --checkpoint $(DEMO_DIR)/train/checkpoint/step-200 \
		--eval $(DEMO_DIR)/eval/perplexity.json --output $(DEMO_DIR)/hf/README.md

test: setup lint test-rust test-python

# ruff (the rules in pyproject.toml), rustfmt (rustfmt.toml) and clippy, warnings as errors.
lint: setup
	$(VENV)/bin/ruff check python tests benchmarks data_tools
	$(VENV)/bin/ruff format --check python tests benchmarks data_tools
	cargo fmt --check
	cargo clippy --release --quiet --lib --tests -- -D warnings

test-rust: setup
	cargo test --quiet

test-python: setup gpu-prep
	$(PY) -m pytest -q

# What a GPU machine without network needs for benchmarks/gpu/run.sh (issue 21): the wheels
# (medtitan abi3, torchao, zstandard) in .whl/ and the shards it trains on in out/gpu/. The
# dry-run test (tests/test_gpu_plan.py) checks both. Carry .whl and out/gpu to the machine.
gpu-prep: setup
	benchmarks/gpu/wheels.sh .whl
	$(PY) benchmarks/gpu/measure.py --prepare

bench: setup
	$(PY) benchmarks/dedup_oracle.py
	$(PY) benchmarks/tokenizer.py
	$(PY) benchmarks/build.py
	$(PY) benchmarks/build_memory.py
	$(PY) benchmarks/deid.py
	$(PY) benchmarks/deid_quality.py
	$(PY) benchmarks/filter_quality.py

clean:
	rm -rf $(VENV) target out
