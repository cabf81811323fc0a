#!/usr/bin/env bash
# The GPU validation in one command (issue 21). On a GPU machine with no network, from the
# repository root, with the wheels of `make gpu-prep` in .whl/ and its shards in out/gpu/:
#
#   benchmarks/gpu/run.sh [--only 1b-bf16,tests] [--budget-s 460]    results under $OUT (or out/gpu/results)
#   benchmarks/gpu/run.sh --dry-run                                   on a CPU: the plan, wheels and data
#
# It installs the wheels into a private folder (never over the machine's own packages), checks
# the GPU, runs the CUDA tests (pytest -m gpu) and the measurements of benchmarks/gpu/measure.py,
# and writes results.json, results.md and log.txt. The budget (default 460 s) covers everything
# after the install, compile warm-up included.
set -euo pipefail
cd "$(dirname "$0")/../.."

WHEELS="${MEDTITAN_WHEELS:-.whl}"
if [[ "${1:-}" == "--dry-run" ]]; then
  shift
  PY=python3
  [[ -x .venv/bin/python ]] && PY=.venv/bin/python
  exec "$PY" benchmarks/gpu/measure.py --dry-run --wheels "$WHEELS" "$@"
fi

shopt -s nullglob
wheels=("$WHEELS"/*.whl)
(( ${#wheels[@]} )) || { echo "run.sh: no wheels in $WHEELS (make gpu-prep makes them, then carry .whl)" >&2; exit 2; }
SITE="${MEDTITAN_SITE:-/tmp/medtitan-site}"
rm -rf "$SITE"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}"
# torchao's wheel also installs a top-level test/ package, which would shadow the standard
# library's: it is not needed.
rm -rf "$SITE/test"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
python3 -c "import medtitan, medtitan._core, sys; print('medtitan from', medtitan.__file__)"
OUT_DIR="${OUT:-out/gpu/results}"
exec python3 benchmarks/gpu/measure.py --out "$OUT_DIR" "$@"
