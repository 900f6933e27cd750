#!/usr/bin/env bash
# Installs what is missing, builds devo (Release, warnings as errors; CUDA code too when nvcc
# is found) and runs the whole test suite (with CUDA, the GPU check's dry run too:
# scripts/gpu-check.sh --self-test), then the Python package's (installed into a fresh venv),
# then the C tests again under AddressSanitizer + UBSan, then fuzzes every libFuzzer target
# for 60 s (DEVO_FUZZ_SECONDS) when clang is installed.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh --python

jobs=$(nproc)
cuda_args=()
if command -v nvcc > /dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="$PATH:/usr/local/cuda/bin"
  # CI compiles for sm_90 only, to stay fast; the default build covers 75..90.
  cuda_args=(-DDEVO_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${DEVO_CUDA_ARCHITECTURES:-90}")
else
  cuda_args=(-DDEVO_CUDA=OFF)
fi

echo "== Release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDEVO_WERROR=ON "${cuda_args[@]}"
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")
if [[ ${#cuda_args[@]} -gt 1 ]]; then
  echo "== The GPU check's dry run (scripts/gpu-check.sh --self-test: everything but the GPU)"
  scripts/gpu-check.sh --self-test build
fi

echo "== Python package: pip install into a fresh venv, then pytest"
scripts/python-tests.sh build

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (CPU)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DDEVO_WERROR=ON -DDEVO_SANITIZE=ON \
  -DDEVO_CUDA=OFF
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs")

echo "== Fuzzing (libFuzzer, clang; skipped without clang)"
tests/fuzz/run.sh "${DEVO_FUZZ_SECONDS:-60}" 2
