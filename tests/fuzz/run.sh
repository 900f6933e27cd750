#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz and fuzzes each for
# SECONDS (default 60), JOBS at a time (default 2), starting from the committed seed corpus
# and dictionary. New inputs go to build-fuzz/corpus/NAME, crashes to build-fuzz/artifacts/.
# Usage: tests/fuzz/run.sh [SECONDS [JOBS [TARGET...]]]; exits 0 with a message when clang
# is absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
jobs=${2:-2}
shift $(( $# > 2 ? 2 : $# ))
if ! command -v clang > /dev/null 2>&1 || ! command -v clang++ > /dev/null 2>&1; then
  echo "== Fuzzing SKIPPED: clang is not installed (apt-get install clang)"
  exit 0
fi
fuzz_flags="-fsanitize=fuzzer-no-link -gline-tables-only"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DDEVO_FUZZ=ON \
  -DDEVO_SANITIZE=ON -DDEVO_CUDA=OFF -DCMAKE_C_FLAGS="$fuzz_flags" \
  -DCMAKE_CXX_FLAGS="$fuzz_flags" > build-fuzz.log 2>&1 || { cat build-fuzz.log; exit 1; }
cmake --build build-fuzz -j "$(nproc)" --target devo_fuzzers >> build-fuzz.log 2>&1 ||
  { tail -50 build-fuzz.log; exit 1; }
rm -f build-fuzz.log
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in tests/fuzz/fuzz_*.c; do
    name=${source#tests/fuzz/fuzz_}
    name=${name%.c}
    [[ -d tests/fuzz/corpus/$name ]] && targets+=("$name")
  done
fi
mkdir -p build-fuzz/artifacts build-fuzz/logs
fuzz_one() {
  local name=$1 dict=()
  mkdir -p "build-fuzz/corpus/$name"
  [[ -f tests/fuzz/$name.dict ]] && dict=("-dict=tests/fuzz/$name.dict")
  ASAN_OPTIONS=detect_leaks=1 "build-fuzz/tests/fuzz/fuzz_$name" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/$name-" "${dict[@]}" \
    "build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" > "build-fuzz/logs/$name.log" 2>&1
}
echo "== Fuzzing ${targets[*]} for ${seconds} s each, $jobs at a time"
failed=()
pids=()
names=()
for name in "${targets[@]}"; do
  fuzz_one "$name" &
  pids+=($!)
  names+=("$name")
  if [[ ${#pids[@]} -ge $jobs ]]; then
    wait "${pids[0]}" || failed+=("${names[0]}")
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=("${names[$i]}"); done
for name in "${targets[@]}"; do
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/logs/$name.log" | grep -o '[0-9]*$' || echo "?")
  echo "   $name: $runs inputs"
done
if [[ ${#failed[@]} -gt 0 ]]; then
  for name in "${failed[@]}"; do
    echo "== Fuzz target $name FAILED; the end of build-fuzz/logs/$name.log:"
    tail -40 "build-fuzz/logs/$name.log"
  done
  exit 1
fi
echo "== Fuzzing found nothing"
