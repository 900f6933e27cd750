#!/usr/bin/env bash
# Interoperability of devo's model files with Python's safetensors and numpy, installed from
# PyPI into a virtual environment. Usage: safetensors_interop.sh DEVO WORKDIR
# Exit 77 (ctest: skipped) when no virtual environment or PyPI is available.
set -uo pipefail
devo=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
venv="$work/venv"
# System site-packages: a machine that already has safetensors and numpy needs no download.
if [[ ! -x "$venv/bin/python" ]] && ! python3 -m venv --system-site-packages "$venv" > "$work/venv.log" 2>&1; then
  echo "interop: cannot create a virtual environment (python3 -m venv); skipped"; exit 77
fi
if ! "$venv/bin/python" -c "import safetensors, numpy" 2> /dev/null &&
   ! "$venv/bin/pip" install -q safetensors numpy >> "$work/venv.log" 2>&1; then
  echo "interop: safetensors and numpy could not be installed from PyPI; skipped"; exit 77
fi
exec "$venv/bin/python" "$here/safetensors_interop.py" "$devo" "$work"
