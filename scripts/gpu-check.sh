#!/usr/bin/env bash
# The GPU check, for a lent H200 (see /work/.library/device/): configure for sm_90, build,
# run the whole test suite with nothing skipped, run compute-sanitizer memcheck on a short
# run, run the GPU rows of the benchmark, and print a short table last. Under 8 minutes.
#
# On a machine without registries, prepare the packages and data first (here) with
# scripts/gpu-bundle.sh and carry .gpu-bundle; the script unpacks it when present.
# Results land in $OUT (or /tmp/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
export PATH="/usr/local/cuda/bin:$PATH"
started=$(date +%s)
status=0
step() { echo; echo "== $* ($(( $(date +%s) - started )) s)"; }

data=/usr/share/datasets/fashion-mnist
cmake_extra=()
if [[ -d .gpu-bundle ]]; then
  step "unpacking .gpu-bundle"
  root=/tmp/devo-root
  mkdir -p "$root"
  for deb in .gpu-bundle/*.deb; do dpkg -x "$deb" "$root"; done
  lib="$root/usr/lib/x86_64-linux-gnu"
  export LD_LIBRARY_PATH="$lib/openblas-pthread:$lib:${LD_LIBRARY_PATH:-}"
  cmake_extra=(-DCMAKE_PREFIX_PATH="$root/usr" -DCMAKE_LIBRARY_PATH="$lib/openblas-pthread;$lib")
  data="$PWD/.gpu-bundle/data"
fi

step "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"

step "configure and build (sm_90)"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DDEVO_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DDEVO_WERROR=ON "${cmake_extra[@]}" > "$out/configure.log" 2>&1 || { cat "$out/configure.log"; exit 1; }
cmake --build build-gpu -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }

step "test suite"
(cd build-gpu && ctest --output-on-failure -j 4 2>&1) | tee "$out/ctest.log" | tail -15
grep -q "100% tests passed" "$out/ctest.log" || status=1
# Tools this machine may lack (valgrind, gnuplot, PyPI) may skip their tests; CUDA tests may not.
skipped=$(grep -c "Cuda\..*Skipped" "$out/ctest.log" || true)
if [[ "$skipped" != "0" ]]; then echo "gpu-check: $skipped CUDA tests skipped on a GPU machine"; status=1; fi

step "compute-sanitizer memcheck on a short run"
devo=./build-gpu/src/cli/devo
timeout 240 compute-sanitizer --tool memcheck --error-exitcode 9 "$devo" evolve --data "$data" \
  --backend cuda --generations 2 --population 16 --fitness-samples 2048 --verbose 0 \
  > "$out/memcheck.log" 2>&1
memcheck=$?
tail -5 "$out/memcheck.log"
[[ $memcheck -eq 0 ]] || { echo "gpu-check: memcheck exit $memcheck"; status=1; }

step "benchmark (GPU rows)"
timeout 240 "$devo" bench --data "$data" --backend cuda --precision fp32,tf32,bf16 \
  --population 16,256,1024,4096 --generations 3 --csv "$out/bench.csv" 2>&1 | tee "$out/bench.log"

step "summary"
printf '%-5s %-5s %-16s %6s %9s %9s %7s %9s %7s\n' backend prec network P gen/s GFLOP/s %sgemm varyGB/s %copy
awk -F, 'NR > 1 { printf "%-5s %-5s %-16s %6d %9.2f %9.1f %6.1f%% %9.1f %6.1f%%\n", \
  $1, $2, $3, $4, $8, $10, 100 * $12, $16, 100 * $18 }' "$out/bench.csv" | tee "$out/summary.txt"
echo "tests: $(grep -E 'tests passed' "$out/ctest.log"); memcheck exit $memcheck; $(( $(date +%s) - started )) s"
exit $status
