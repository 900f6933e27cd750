#!/usr/bin/env bash
# The Python package's speed (bench/python_speed.py) in a virtual environment made here,
# .venv-python: keras, jax and this checkout's package. Builds the devo command if needed.
# Usage: bench/python_speed.sh [python_speed.py arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -x build/src/cli/devo ]]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build build -j "$(nproc)" > /dev/null
fi
venv=.venv-python
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/pip" install -q ".[keras]"
KERAS_BACKEND=jax exec "$venv/bin/python" bench/python_speed.py --devo build/src/cli/devo "$@"
