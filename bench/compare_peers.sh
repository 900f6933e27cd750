#!/usr/bin/env bash
# devo side by side with evosax's SimpleGA (JAX on the CPU) on ./run.sh's workload:
# 784-30-10, a fresh 1,024-image Fashion-MNIST minibatch per generation, population 128 and
# 1,024, alternating runs, a table of generations per second and their ratio; devo-BF16 rows
# (devo in BF16 against evosax in FP32, said so under the table) where the CPU has BF16.
# Usage: bench/compare_peers.sh [--populations 128,1024] [--seconds 8] [--repeats 3]
# Creates .venv-peers with jax[cpu] and evosax from PyPI; if they cannot be installed it says
# so and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x build/src/cli/devo ]]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build -j "$(nproc)" > /dev/null \
    || { echo "compare: building devo failed"; exit 1; }
fi

venv=.venv-peers
python=${PYTHON:-python3}
if [[ ! -x "$venv/bin/python" ]]; then
  if ! "$python" -m venv "$venv" > /dev/null 2>&1; then
    echo "compare: cannot create a Python virtual environment ($python -m venv); skipped"
    exit 0
  fi
fi
if ! "$venv/bin/pip" install -q "jax[cpu]" "evosax==0.3.2" > "$venv.log" 2>&1; then
  echo "compare: PyPI, JAX or evosax is not available here (see $venv.log); skipped"
  exit 0
fi
exec "$venv/bin/python" bench/compare_peers.py --devo build/src/cli/devo "$@"
