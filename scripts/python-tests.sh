#!/usr/bin/env bash
# The Python package's tests as a user meets the package: a fresh virtual environment,
# `pip install ".[test]"` from this checkout (builds libdevo with CMake), then pytest over
# python/tests with the devo command of the Release build (DEVO_CLI) for the interop tests.
# Usage: scripts/python-tests.sh [BUILD_DIR=build] [pytest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
venv=$build/python-test-venv
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q ".[test]"
cli=$(realpath "$build/src/cli/devo")
# From outside the checkout, so `import devo` is the installed package, not python/devo.
cd "$venv"
DEVO_CLI=$cli KERAS_BACKEND=jax "$PWD/bin/python" -m pytest -q -W ignore::DeprecationWarning \
  "$OLDPWD/python/tests" "$@"
