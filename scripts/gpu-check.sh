#!/usr/bin/env bash
# gpu-check.sh - the whole GPU check for a lent H100/H200, in one device call:
#   run(command="scripts/gpu-check.sh", carry=[".gpu-bundle"], timeout_s=360)
# after scripts/gpu-bundle.sh here (docs/gpu-check.md). In order of what matters most:
#   1. the bundle's prebuilt binaries (a CMake build there only if they fail to start);
#   2. tests: every Cuda.* test (FAIL if any is skipped, fails or does not run); a one-test
#      compute-sanitizer probe that tells a tool which refuses the machine (reported, skipped)
#      from a finding (FAIL); memcheck on a filter that launches every kernel the tests reach;
#      racecheck, synccheck and initcheck on a short one (initcheck's reports inside CUB's radix
#      sort are recorded and named, not failed); an evolve run with --top-k = --population;
#   3. bench: devo bench's GPU rows on all 60,000 images (FP32/TF32/BF16, P 256 and 4096,
#      784-30-10 and 784-256-10) and an OpenAI-ES rank-1 row;
#   4. profiles: an ncu summary of two generations' kernels.
# Every command that runs a devo binary or a tool has its own timeout (timeout -k 2); the limits
# plus the 2 s of kill slack each add up to at most DEVO_CHECK_BUDGET (300 s): a step whose limit
# would cross it is cut to what is left, or not run. Each result lands in $OUT (at most 8 files;
# /tmp/gpu-check without $OUT) as its step finishes, so a cut run returns what it did.
# A tool the machine lacks is reported and its step skipped.
#
#   scripts/gpu-check.sh --self-test [BUILD]   the dry run off the device (gpu-check-self-test.sh)
# For the self-test: DEVO_CHECK_LIMIT_<key> overrides one step's limit, DEVO_CHECK_TOOL_DIRS the
# folders searched for CUDA's tools.
set -uo pipefail
if [[ "${1:-}" == --self-test ]]; then
  shift
  exec "$(dirname "$0")/gpu-check-self-test.sh" "$@"
fi
cd "$(dirname "$0")/.." || exit 2
source scripts/gpu-check-lib.sh
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
work=$(mktemp -d /tmp/gpu-check-work.XXXXXX)
# The tests' temporary files (tests/test_paths.h) and the inputs they read from the source tree.
export DEVO_TEST_TMP="$work/test-tmp" DEVO_TEST_SOURCE="$PWD"
for dir in ${DEVO_CHECK_TOOL_DIRS-/usr/local/cuda/bin /usr/local/cuda/compute-sanitizer /opt/nvidia/nsight-compute/*}; do
  [[ -d "$dir" ]] && PATH="$PATH:$dir"
done
budget=${DEVO_CHECK_BUDGET:-300}
slack=2
started=$(date +%s)
status=0
planned=0
summary="$out/summary.txt"
: > "$summary"

say() { echo "$*" | tee -a "$summary"; }
fail() { say "FAIL: $*"; status=1; }
have() { command -v "$1" > /dev/null 2>&1 || { say "$1: not on this machine, step skipped"; return 1; }; }

# grant KEY LIMIT: sets `granted` to the step's limit (DEVO_CHECK_LIMIT_KEY overrides LIMIT), cut
# to what the budget has left after the kill slack, and books it; 0 when nothing is left.
grant() {
  local override="DEVO_CHECK_LIMIT_$1"
  granted=${!override:-$2}
  local left=$((budget - planned - slack))
  ((granted > left)) && granted=$left
  ((granted < 1)) && granted=0
  ((granted > 0)) && planned=$((planned + granted + slack))
}

# step KEY NAME LIMIT LOG CMD...: runs CMD under its granted limit, appending to LOG; shows the
# tail; returns CMD's exit code (124 or 137 when it timed out, 125 when the budget was spent).
step() {
  local key=$1 name=$2 limit=$3 log=$4
  shift 4
  grant "$key" "$limit"
  if ((granted == 0)); then
    say "$name: NOT RUN, the check's $budget s are booked"
    return 125
  fi
  echo
  echo "== $name (limit $granted s, at $(($(date +%s) - started)) s)" | tee -a "$log"
  local before
  before=$(stat -c %s "$log")
  timeout -k "$slack" "$granted" "$@" >> "$log" 2>&1
  local rc=$?
  tail -c +$((before + 1)) "$log" | tail -n 6
  if ((rc == 124 || rc == 137)); then say "$name: TIMED OUT after $granted s"; else say "$name: exit $rc"; fi
  return $rc
}

# ------------------------------------------------------------------ 1. binaries and data
data=/usr/share/datasets/fashion-mnist
root=""
if [[ -f .gpu-bundle/devo-bundle.tar.xz ]]; then
  data="$PWD/.gpu-bundle/data"
  step unpack "unpack .gpu-bundle" 10 "$out/device.txt" bash -c \
    "tar -C '$work' -xJf .gpu-bundle/devo-bundle.tar.xz || python3 -m tarfile -e .gpu-bundle/devo-bundle.tar.xz '$work'"
  root="$work/devo-bundle"
  # shellcheck disable=SC1091
  [[ -f "$root/env.sh" ]] && source "$root/env.sh"
else
  say "no .gpu-bundle: building against this machine's packages"
fi
step device "device" 5 "$out/device.txt" bash -c \
  'nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv; nvcc --version | tail -2;
   compute-sanitizer --version | tail -1; ncu --version | tail -1; uname -r; true'
devo="$root/bin/devo"
tests="$root/bin/devo_tests"
# both binaries start, and the test binary lists its Cuda.* tests into list.txt
starts() {
  step start "$1" 8 "$out/device.txt" bash -c '"$1" --help > /dev/null &&
    "$2" --gtest_list_tests --gtest_filter="Cuda.*" > "$3"' starts "$devo" "$tests" "$work/list.txt"
}
if [[ -n "$root" ]] && starts "prebuilt binaries start"; then
  say "prebuilt binaries start: $(head -1 "$root/MANIFEST")"
else
  [[ -n "$root" ]] && say "prebuilt binaries do not start (device.txt): building here"
  prefix=()
  [[ -n "$root" ]] && prefix=(-DCMAKE_PREFIX_PATH="$root")
  generator=()
  command -v ninja > /dev/null && generator=(-G Ninja)
  if step build "fallback build (sm_90)" 120 "$out/device.txt" bash -c \
    "cmake -S . -B build-gpu ${generator[*]} -DCMAKE_BUILD_TYPE=Release -DDEVO_CUDA=ON \
       -DCMAKE_CUDA_ARCHITECTURES=90 ${prefix[*]} && cmake --build build-gpu -j $(nproc) --target devo_cli devo_tests"; then
    devo=$PWD/build-gpu/src/cli/devo
    tests=$PWD/build-gpu/tests/devo_tests
    starts "built binaries start" || fail "the built binaries do not start"
  else
    fail "no devo binaries to run"
    exit 1
  fi
fi

# ------------------------------------------------------------------ 2. tests and sanitizers
listed=$(count_of '^  ' "$work/list.txt")
((listed > 0)) || fail "the test binary lists no Cuda.* test"
step tests "Cuda.* tests ($listed)" 45 "$out/tests.log" "$tests" --gtest_filter='Cuda.*' \
  --gtest_output="xml:$out/tests.xml" || fail "Cuda.* tests"
read -r ran skipped failed <<< "$(gtest_counts "$out/tests.xml")"
say "Cuda.* tests: $ran run of $listed listed, $skipped skipped, $failed failed"
# What the epilogue probe let each precision fuse into its GEMMs (cuda_epilogue.cu).
grep -F '[ epilogue ]' "$out/tests.log" 2>/dev/null | sort -u | while read -r line; do say "$line"; done
[[ "$skipped" == 0 && "$failed" == 0 && "$ran" == "$listed" ]] ||
  fail "Cuda.* tests were skipped, failed or not run (a skip means no GPU was used)"

# Filters: `every` launches each kernel the tests can reach (evaluation in three precisions:
# to_bf16, bias + activation, the fused epilogues, BF16 ReLU, bias gathering, hidden softmax, loss; gather in FP32 and BF16 (subsets, the
# resumed BF16 run); forward's output; selection's keys and CUB sort; first population,
# mutation and crossover; cuRAND's layout; low-rank pack/thin/correct/draw; ES perturb and
# update sums); only the bench's ceiling kernel (fill_uniform) is left out. `short` is
# evaluation, selection and variation.
every='Cuda.EvaluationIsEquivalentToRef:Cuda.EvaluationOfSubsetsAndChildrenIsEquivalentToRef:Cuda.NanPropagatesThroughEveryActivation:Cuda.ForwardIsEquivalentToRef:Cuda.SelectionIsEquivalentToRef:Cuda.FirstPopulationIsEquivalentToRef:Cuda.MutationIsEquivalentToRef:Cuda.CrossoverMasksAreBitIdenticalToRef:Cuda.CurandPhiloxUsesTheDocumentedLayout:Cuda.ResumedRunIsEquivalentToRef:Cuda.LowRankEvaluationIsEquivalentToRef:Cuda.PerturbationAndUpdateSumsAreEquivalentToRef:Cuda.EmptyRangeIsANoOp:Cuda.RankTakesTheFitnessItIsGivenAfterAnEvaluation:Cuda.FusedEpiloguesAreEquivalentToRefAndReported'
short='Cuda.EvaluationIsBitwiseReproducible:Cuda.SelectionIsEquivalentToRef:Cuda.MutationIsEquivalentToRef'
# sanitize KEY TOOL LIMIT FILTER: one compute-sanitizer run, judged by sanitizer_verdict.
sanitize() {
  local log="$work/$2.log"
  : > "$log"
  step "$1" "$2, ${4:0:60}" "$3" "$log" compute-sanitizer --tool "$2" --error-exitcode 9 \
    "$tests" --gtest_filter="$4"
  local rc=$?
  cat "$log" >> "$out/sanitizer.log"
  ((rc == 125)) && { verdict=skipped; return; }
  verdict=$(sanitizer_verdict "$log" "$rc")
}
if have compute-sanitizer; then
  sanitize probe memcheck 15 Cuda.EmptyRangeIsANoOp
  case $verdict in
    ok) ;;
    unusable) say "compute-sanitizer refuses this machine (sanitizer.log: 'Device not supported' or error 999): sanitizer steps skipped, not a finding" ;;
    *) fail "compute-sanitizer probe: $verdict (sanitizer.log)" ;;
  esac
  if [[ $verdict == ok ]]; then
    for run in "memcheck memcheck 60 $every" "racecheck racecheck 15 $short" \
      "synccheck synccheck 10 $short"; do
      read -r key tool limit filter <<< "$run"
      sanitize "$key" "$tool" "$limit" "$filter"
      [[ $verdict == ok ]] || fail "$tool: $verdict (sanitizer.log)"
    done
    sanitize initcheck initcheck 15 "$short"
    read -r total cub names <<< "$(initcheck_reports "$work/initcheck.log")"
    if [[ $verdict == finding ]] && ((total > 0 && total == cub)); then
      say "initcheck: $cub reports, all inside CUB's radix sort ($names): known upstream (NVIDIA/cccl#1891), recorded, not a failure"
    elif [[ $verdict != ok ]]; then
      fail "initcheck: $verdict, $total reports of which $cub inside CUB (sanitizer.log)"
    fi
  fi
fi

step evolve "evolve, --top-k = --population (generation 2 evaluates nothing)" 8 "$out/bench.log" \
  "$devo" evolve --data "$data" --backend cuda --population 16 --top-k 16 --generations 3 \
  --verbose 1 || fail "evolve with --top-k = --population"

# ------------------------------------------------------------------ 3. bench (into bench.csv)
# keep_rows CSV: appends CSV's rows to $out/bench.csv (its header only the first time).
keep_rows() {
  if [[ -s "$out/bench.csv" ]]; then tail -n +2 "$1" >> "$out/bench.csv"; else cat "$1" > "$out/bench.csv"; fi
}
step bench "bench, all 60,000 images, P 256 and 4096" 50 "$out/bench.log" "$devo" bench \
  --data "$data" --backend cuda --precision fp32,tf32,bf16 --population 256,4096 \
  --layers 784-30-10 --layers 784-256-10 --generations 3 --warmup 1 --csv "$work/bench.csv" ||
  fail "bench (60,000 images)"
[[ -s "$work/bench.csv" ]] && keep_rows "$work/bench.csv"
rows=$(($(wc -l < "$out/bench.csv" 2> /dev/null || echo 1) - 1))
((rows == 12)) || fail "bench.csv holds $rows GPU rows, not 12 (3 precisions x 2 networks x 2 P)"
step es "bench, OpenAI-ES rank 1 (evaluation on the GPU)" 12 "$out/bench.log" "$devo" bench \
  --data "$data" --backend cuda --strategy openai-es --rank 1 --population 1024 \
  --layers 784-256-10 --samples 1024 --generations 3 --warmup 1 --csv "$work/bench-es.csv" ||
  fail "bench (OpenAI-ES rank 1)"
es_rows=$(($(wc -l < "$work/bench-es.csv" 2> /dev/null || echo 1) - 1))
((es_rows == 1)) || fail "bench-es.csv holds $es_rows rows, not 1"
cat "$work/bench-es.csv" >> "$out/bench.log" 2> /dev/null

# ------------------------------------------------------------------ 4. one generation's kernels
if have ncu; then
  step ncu "ncu, kernels of generations 1-2 (P 256, 2,048 samples)" 15 "$out/ncu.txt" ncu \
    --clock-control none --section SpeedOfLight --launch-count 200 --print-summary per-kernel \
    "$devo" evolve --data "$data" --backend cuda --population 256 --top-k 64 --generations 2 \
    --fitness-samples 2048 --verbose 0 || say "ncu: no summary (see ncu.txt); not a failure"
fi

# ------------------------------------------------------------------ summary
echo
say "gen/s, GFLOP/s and % of the measured ceiling of each precision (bench.csv):"
awk -F, 'NR > 1 { printf "%-5s %-11s %6d %6d %9.2f %10.1f %10.1f %6.1f%%\n", $2, $3, $7, $4, $8, \
  $10, $11, 100 * $12 }' "$out/bench.csv" 2> /dev/null | sort -k1,1 -k3,3n -k2,2 -k4,4n > "$work/table"
{ printf '%-5s %-11s %6s %6s %9s %10s %10s %7s\n' prec network samples P gen/s GFLOP/s ceiling %ceil
  cat "$work/table"; } | tee -a "$summary"
awk -F, 'NR > 1 { printf "OpenAI-ES rank 1 (%s, %s, P %d, %d samples): %.2f gen/s, %.1f GFLOP/s full-rank equivalent, evaluate %.1f ms, host update and draws %.1f ms\n", \
  $1, $3, $4, $7, $8, $10, $13, $15 }' "$work/bench-es.csv" 2> /dev/null | tee -a "$summary"
say "steps' limits with kill slack: $planned s of $budget booked; took $(($(date +%s) - started)) s; status $status"
rm -rf "$work"
exit $status
