#!/usr/bin/env bash
# gpu-check.sh - the whole GPU check for a lent H200, in one device call of under 9 minutes:
#   run(command="scripts/gpu-check.sh", carry=[".gpu-bundle"], timeout_s=600)
# after scripts/gpu-bundle.sh here (docs/gpu-check.md). It uses the bundle's prebuilt binaries
# and libraries (building there only if they fail to start), then runs every Cuda.* test
# (failing if any is skipped; the ES ones among them), the test binary under compute-sanitizer
# memcheck and, on a short filter, racecheck, synccheck and initcheck, an evolve run with
# --top-k equal to --population, devo bench's GPU rows (FP32/TF32/BF16, P = 16..4096, 1,024
# samples and all 60,000 images) and an OpenAI-ES rank-1 row beside them, an ncu summary of two generations' kernels, and prints gen/s, GFLOP/s and % of ceiling last.
# Every step has its own timeout; the timeouts add up to at most 540 s. A missing tool is
# reported and skipped. Logs land in $OUT (at most 8 files; /tmp/gpu-check without $OUT).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-check}
work=/tmp/gpu-check-work
mkdir -p "$out"
rm -rf "$work" && mkdir -p "$work"
export PATH="$PATH:/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer"
for dir in /opt/nvidia/nsight-compute/*/; do [[ -x "$dir/ncu" ]] && PATH="$PATH:$dir"; done
started=$(date +%s)
status=0
planned=0
summary="$out/summary.txt"
: > "$summary"

say() { echo "$*" | tee -a "$summary"; }
# step NAME LIMIT LOG CMD...: runs CMD under its own timeout, appending to LOG; shows the tail.
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  planned=$((planned + limit))
  echo
  echo "== $name (limit $limit s, at $(($(date +%s) - started)) s)" | tee -a "$log"
  local before
  before=$(stat -c %s "$log")
  timeout -k 5 "$limit" "$@" >> "$log" 2>&1
  local rc=$?
  tail -c +$((before + 1)) "$log" | tail -n 6
  if ((rc == 124 || rc == 137)); then say "$name: TIMED OUT after $limit s"; else say "$name: exit $rc"; fi
  return $rc
}
fail() { say "FAIL: $*"; status=1; }
have() { command -v "$1" > /dev/null 2>&1 || { say "$1: not on this machine, step skipped"; return 1; }; }

# ------------------------------------------------------------------ binaries and data (<= 150 s)
data=/usr/share/datasets/fashion-mnist
root=""
if [[ -f .gpu-bundle/devo-bundle.tar.xz ]]; then
  data="$PWD/.gpu-bundle/data"
  step "unpack .gpu-bundle" 20 "$out/device.txt" bash -c \
    "tar -C '$work' -xJf .gpu-bundle/devo-bundle.tar.xz || python3 -m tarfile -e .gpu-bundle/devo-bundle.tar.xz '$work'"
  root="$work/devo-bundle"
  # shellcheck disable=SC1091
  [[ -f "$root/env.sh" ]] && source "$root/env.sh"
else
  say "no .gpu-bundle: building against this machine's packages"
fi
step "device" 10 "$out/device.txt" bash -c \
  'nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nvcc --version | tail -2;
   compute-sanitizer --version | tail -1; ncu --version | tail -1; uname -r; true'
devo="$root/bin/devo"
tests="$root/bin/devo_tests"
spare=120 # the fallback build's budget, given to the bench when the prebuilt binaries start
if [[ -n "$root" ]] && "$devo" --help > /dev/null 2>> "$out/device.txt" &&
  "$tests" --gtest_list_tests > /dev/null 2>> "$out/device.txt"; then
  say "prebuilt binaries start: $(head -1 "$root/MANIFEST")"
else
  [[ -n "$root" ]] && say "prebuilt binaries do not start (device.txt): building here"
  prefix=()
  [[ -n "$root" ]] && prefix=(-DCMAKE_PREFIX_PATH="$root")
  generator=()
  command -v ninja > /dev/null && generator=(-G Ninja)
  if step "fallback build (sm_90)" 120 "$out/build.log" bash -c \
    "cmake -S . -B build-gpu ${generator[*]} -DCMAKE_BUILD_TYPE=Release -DDEVO_CUDA=ON \
       -DCMAKE_CUDA_ARCHITECTURES=90 ${prefix[*]} && cmake --build build-gpu -j $(nproc) --target devo_cli devo_tests"; then
    devo=$PWD/build-gpu/src/cli/devo
    tests=$PWD/build-gpu/tests/devo_tests
    spare=0
  else
    fail "no devo binaries to run"
    exit 1
  fi
fi

# ------------------------------------------------------------------ tests and sanitizers (<= 200 s)
listed=$("$tests" --gtest_list_tests --gtest_filter='Cuda.*' | grep -c '^  ')
step "Cuda.* tests ($listed)" 50 "$out/tests.log" "$tests" --gtest_filter='Cuda.*' \
  --gtest_output="xml:$work/cuda-tests.xml" || fail "Cuda.* tests"
skipped=$(grep -c 'result="skipped"' "$work/cuda-tests.xml" 2> /dev/null || echo "?")
ran=$(grep -c '<testcase ' "$work/cuda-tests.xml" 2> /dev/null || echo 0)
say "Cuda.* tests: $ran run of $listed listed, $skipped skipped"
[[ "$skipped" == 0 && "$ran" == "$listed" ]] || fail "Cuda.* tests were skipped or not run"

short='Cuda.EvaluationIsBitwiseReproducible:Cuda.EmptyRangeIsANoOp:Cuda.MutationIsEquivalentToRef:Cuda.SelectionIsEquivalentToRef'
if have compute-sanitizer; then
  step "memcheck, all Cuda.* tests" 85 "$out/sanitizer.log" compute-sanitizer --tool memcheck \
    --error-exitcode 9 "$tests" --gtest_filter='Cuda.*' || fail "memcheck"
  step "racecheck, short filter" 25 "$out/sanitizer.log" compute-sanitizer --tool racecheck \
    --error-exitcode 9 "$tests" --gtest_filter="$short" || fail "racecheck"
  step "synccheck, short filter" 20 "$out/sanitizer.log" compute-sanitizer --tool synccheck \
    --error-exitcode 9 "$tests" --gtest_filter="$short" || fail "synccheck"
  step "initcheck, short filter" 25 "$out/sanitizer.log" compute-sanitizer --tool initcheck \
    --error-exitcode 9 "$tests" --gtest_filter="$short" || fail "initcheck"
else
  planned=$((planned + 155))
fi

# ------------------------------------------------------------------ CLI edge run and bench (<= 155 s + spare)
step "evolve, --top-k = --population (generation 2 evaluates nothing)" 20 "$out/bench.log" \
  "$devo" evolve --data "$data" --backend cuda --population 16 --top-k 16 --generations 3 \
  --verbose 1 || fail "evolve with --top-k = --population"
bench=("$devo" bench --data "$data" --backend cuda --precision fp32,tf32,bf16
       --population 16,64,256,1024,4096 --layers 784-30-10 --layers 784-256-10 --generations 3
       --warmup 1)
step "bench, 1,024 samples" 40 "$out/bench.log" "${bench[@]}" --samples 1024 \
  --csv "$work/bench-1024.csv" || fail "bench (1,024 samples)"
step "bench, OpenAI-ES rank 1 (evaluation on the GPU)" 20 "$out/bench.log" "$devo" bench \
  --data "$data" --backend cuda --strategy openai-es --rank 1 --population 1024 \
  --layers 784-256-10 --samples 1024 --generations 3 --warmup 1 --csv "$work/bench-es.csv" ||
  fail "bench (OpenAI-ES rank 1)"
es_rows=$(($(wc -l < "$work/bench-es.csv" 2> /dev/null || echo 1) - 1))
((es_rows == 1)) || fail "bench-es.csv holds $es_rows rows, not 1"
cat "$work/bench-es.csv" >> "$out/bench.log" 2> /dev/null
step "bench, all 60,000 images" $((75 + spare)) "$out/bench.log" "${bench[@]}" \
  --csv "$work/bench-all.csv" || fail "bench (60,000 images)"
{ cat "$work/bench-1024.csv" 2> /dev/null; tail -n +2 "$work/bench-all.csv" 2> /dev/null; } > "$out/bench.csv"
rows=$(($(wc -l < "$out/bench.csv") - 1))
((rows == 60)) || fail "bench.csv holds $rows GPU rows, not 60 (3 precisions x 2 networks x 5 P x 2)"

# ------------------------------------------------------------------ one generation's kernels (<= 30 s)
if have ncu; then
  step "ncu, kernels of generations 1-2 (P 256, 2,048 samples)" 30 "$out/ncu.txt" ncu \
    --clock-control none --section SpeedOfLight --launch-count 200 --print-summary per-kernel \
    "$devo" evolve \
    --data "$data" --backend cuda --population 256 --top-k 64 --generations 2 \
    --fitness-samples 2048 --verbose 0 || say "ncu: no summary (see ncu.txt); not a failure"
else
  planned=$((planned + 30))
fi

# ------------------------------------------------------------------ summary
echo
say "gen/s, GFLOP/s and % of the measured ceiling of each precision (bench.csv):"
awk -F, 'NR > 1 { printf "%-5s %-11s %6d %6d %9.2f %10.1f %10.1f %6.1f%%\n", $2, $3, $7, $4, $8, \
  $10, $11, 100 * $12 }' "$out/bench.csv" | sort -k1,1 -k3,3n -k2,2 -k4,4n > "$work/table"
{ printf '%-5s %-11s %6s %6s %9s %10s %10s %7s\n' prec network samples P gen/s GFLOP/s ceiling %ceil
  cat "$work/table"; } | tee -a "$summary"
awk -F, 'NR > 1 { printf "OpenAI-ES rank 1 (%s, %s, P %d, %d samples): %.2f gen/s, %.1f GFLOP/s full-rank equivalent, evaluate %.1f ms, host update and draws %.1f ms\n", \
  $1, $3, $4, $7, $8, $10, $13, $15 }' "$work/bench-es.csv" 2> /dev/null | tee -a "$summary"
say "steps' timeouts: $planned s of 540 planned; took $(($(date +%s) - started)) s; status $status"
exit $status
