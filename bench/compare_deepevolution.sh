#!/usr/bin/env bash
# devo side by side with deepevolution 0.0.4 on the seed's workload: 784-30-10, sparse
# categorical cross-entropy, all 60,000 Fashion-MNIST training images, verbose off; once with
# the default fitness (negative loss) and once with accuracy. deepevolution runs population 10,
# top_k 3 (9 members from its second generation on); devo runs population 9, top_k 3.
# Usage: bench/compare_deepevolution.sh [GENERATIONS=10] [DATA_DIR]
# Also devo.keras.fit_evolve on the same Keras model, from .venv-python (keras, jax, this package).
# Creates .venv-compare with tensorflow-cpu and deepevolution from PyPI; if they cannot be
# installed it says so and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
generations=${1:-10}
data=${2:-/usr/share/datasets/fashion-mnist}

if [[ ! -x build/src/cli/devo ]]; then
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build -j "$(nproc)" > /dev/null \
    || { echo "compare: building devo failed"; exit 1; }
fi

venv=.venv-compare
python=${PYTHON:-python3}
if [[ ! -x "$venv/bin/python" ]]; then
  if ! "$python" -m venv "$venv" > /dev/null 2>&1; then
    echo "compare: cannot create a Python virtual environment ($python -m venv); skipped"
    exit 0
  fi
fi
# TensorFlow 2.15 is the last release whose tf.keras is Keras 2, which deepevolution targets.
if ! "$venv/bin/pip" install -q "tensorflow-cpu==2.15.1" "numpy<2" "pandas<2.3" tqdm \
     "deepevolution==0.0.4" > "$venv.log" 2>&1; then
  echo "compare: PyPI or TensorFlow is not available here (see $venv.log); skipped"
  exit 0
fi
# devo.keras needs Keras 3, which TensorFlow 2.15's environment cannot hold: its own venv.
keras_venv=.venv-python
[[ -x "$keras_venv/bin/python" ]] || python3 -m venv "$keras_venv"
keras_args=()
if "$keras_venv/bin/pip" install -q ".[keras]" > "$keras_venv.log" 2>&1; then
  keras_args=(--devo-keras-python "$keras_venv/bin/python")
else
  echo "compare: devo's Python package could not be installed (see $keras_venv.log); its rows skipped"
fi
exec "$venv/bin/python" bench/compare_deepevolution.py --generations "$generations" --data "$data" \
  --devo build/src/cli/devo "${keras_args[@]}"
