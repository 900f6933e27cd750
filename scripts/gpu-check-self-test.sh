#!/usr/bin/env bash
# gpu-check-self-test.sh [BUILD] - the dry run of scripts/gpu-check.sh off the device, run as
# `scripts/gpu-check.sh --self-test` (by ./test.sh wherever nvcc is): everything but the GPU.
#   1. parsing, on canned files: gtest reports with and without skips and none at all, and
#      compute-sanitizer logs (a clean run, a refusal of the machine, error 999 at the first
#      allocation, a finding; initcheck reports inside CUB and elsewhere);
#   2. the real bundle, packed from BUILD (a CUDA Release build, default build/), run by the check
#      in a private mount namespace where BUILD, this source tree and the system's copies of the
#      libraries the bundle carries are hidden: the prebuilt binaries must start, the check must
#      report compute-sanitizer and ncu as missing and FAIL because every Cuda.* test skips (no
#      GPU here), and StateFile.* must pass from the bundle with a temp folder that does not exist
#      yet (needs root for the namespace; without it the folders stay visible, and it says so);
#      every test the check's sanitizer filters name must be in the binary, and test_cuda.cpp
#      must use none of the paths compiled into the test binary;
#   3. fake bundles and tools (shell scripts in place of devo, devo_tests, compute-sanitizer,
#      nvidia-smi and ncu) for a clean run, a skipped test, a sanitizer that refuses the machine,
#      a memcheck finding, initcheck reports inside CUB and outside it, and a step that times out.
# Prints one line per expectation and exits 1 if any fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd) || exit 2
source "$here/gpu-check-lib.sh"
T=$(mktemp -d /tmp/gpu-check-self-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0

# expect DESCRIPTION CMD...: one expectation, true when CMD succeeds.
expect() {
  local what=$1
  shift
  if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; fails=$((fails + 1)); fi
}
has() { grep -qE -- "$2" "$1"; }
lacks() { ! grep -qE -- "$2" "$1"; }
equals() { [[ "$1" == "$2" ]] || { echo "      got '$1', want '$2'"; return 1; }; }

# ------------------------------------------------------------------ 1. parsing
report() { # report FILE RESULT...: a gtest XML report, one test case per RESULT
  local file=$1
  shift
  { echo '<testsuites><testsuite name="Cuda">'
    local i=0
    for r in "$@"; do
      i=$((i + 1))
      echo "<testcase name=\"T$i\" status=\"run\" result=\"${r%+fail}\" classname=\"Cuda\">"
      [[ $r == skipped ]] && echo '<skipped message="no CUDA device present"/>'
      [[ $r == *+fail ]] && echo '<failure message="a"/><failure message="b"/>'
      echo '</testcase>'
    done
    echo '</testsuite></testsuites>'; } > "$file"
}
report "$T/clean.xml" completed completed completed
report "$T/skips.xml" completed skipped skipped
report "$T/fails.xml" completed+fail completed
expect "gtest report without skips: 3 run, 0 skipped, 0 failed" equals "$(gtest_counts "$T/clean.xml")" "3 0 0"
expect "gtest report with skips: 3 run, 2 skipped" equals "$(gtest_counts "$T/skips.xml")" "3 2 0"
expect "gtest report with two failures in one test: 1 failed" equals "$(gtest_counts "$T/fails.xml")" "2 0 1"
expect "no gtest report: unknown counts" equals "$(gtest_counts "$T/none.xml")" "? ? ?"
expect "count_of prints one number when nothing matches" equals "$(count_of skipped "$T/clean.xml")" 0

log() { printf '%s\n' "========= COMPUTE-SANITIZER" "$@" > "$T/s.log"; echo "$T/s.log"; }
cub_line='=========     at void cub::CUB_300000_SM_900_NS::DeviceRadixSortOnesweepKernel<Policy, false, double, int, int, int>(int *)+0x1a0'
devo_line='=========     at vary_kernel(float *, const float *, unsigned long)+0x90 in cuda_vary.cu:52'
expect "sanitizer: clean run is ok" equals \
  "$(sanitizer_verdict "$(log '========= ERROR SUMMARY: 0 errors')" 0)" ok
expect "sanitizer: 'Device not supported' is unusable, not a finding" equals \
  "$(sanitizer_verdict "$(log '========= Error: Device not supported.' 'devo: CUDA error 999 (unknown error)' \
    '========= ERROR SUMMARY: 1 error')" 9)" unusable
expect "sanitizer: error 999 at the first allocation, no kernel reported, is unusable" equals \
  "$(sanitizer_verdict "$(log '========= Program hit cudaErrorUnknown (error 999) due to "unknown error" on CUDA API call to cudaMalloc.' \
    '========= ERROR SUMMARY: 1 error')" 9)" unusable
expect "sanitizer: an invalid read in a kernel is a finding" equals \
  "$(sanitizer_verdict "$(log '========= Invalid __global__ read of size 4 bytes' "$devo_line" \
    '========= ERROR SUMMARY: 1 error')" 9)" finding
expect "sanitizer: tests failing without a report is a failure" equals \
  "$(sanitizer_verdict "$(log '========= ERROR SUMMARY: 0 errors')" 1)" failed
expect "initcheck: two reports inside CUB, named" equals "$(initcheck_reports "$(log \
  '========= Uninitialized __global__ memory read of size 8 bytes' "$cub_line" \
  '========= Uninitialized __global__ memory read of size 8 bytes' "$cub_line" \
  '========= ERROR SUMMARY: 2 errors')")" "2 2 DeviceRadixSortOnesweepKernel"
expect "initcheck: a report outside CUB is counted apart" equals "$(initcheck_reports "$(log \
  '========= Uninitialized __global__ memory read of size 8 bytes' "$cub_line" \
  '========= Uninitialized __global__ memory read of size 4 bytes' "$devo_line" \
  '========= ERROR SUMMARY: 2 errors')")" "2 1 DeviceRadixSortOnesweepKernel"

# ------------------------------------------------------------------ the check's own tree
# repo DIR: a copy of what the check needs of the working tree (the device gets all of it).
repo() {
  mkdir -p "$1/scripts" "$1/tests/fuzz/corpus"
  cp "$here"/gpu-check*.sh "$1/scripts/"
  cp -r "$src/tests/fuzz/corpus/state_load" "$1/tests/fuzz/corpus/"
}
# A PATH without CUDA's tools, and a folder for fake ones.
plain_path=$(tr : '\n' <<< "$PATH" | grep -v -e cuda -e nsight | paste -sd:)
mkdir -p "$T/nothing"

# ------------------------------------------------------------------ 2. the real bundle, hidden
real="$T/real"
repo "$real"
DEVO_BUNDLE_XZ_LEVEL=-0 "$here/gpu-bundle.sh" --pack "$build" "$real/.gpu-bundle" > "$T/pack.log" 2>&1 ||
  { cat "$T/pack.log"; echo "FAIL  the bundle does not pack from $build"; exit 1; }
mkdir -p "$T/bundle" && tar -C "$T/bundle" -xJf "$real/.gpu-bundle/devo-bundle.tar.xz"
# The system's copies of every library the bundle carries (what ldconfig knows by that name).
hide_libs=()
for lib in "$T"/bundle/devo-bundle/lib/*.so.*; do
  name=$(basename "$lib")
  [[ -L "$lib" || $name == libdevo* ]] && continue
  while read -r path; do hide_libs+=("$(realpath "$path")"); done < <(ldconfig -p |
    awk -v n="$name" '$1 == n { print $NF }')
done
: > "$T/empty"
# The check, then StateFile.* from the bundle, as the device would run them; in the namespace
# after tmpfs over the build and source folders and an empty file over each library.
run_real='
  cd "$T/real" && OUT="$T/real/out" DEVO_CHECK_TOOL_DIRS= PATH="$PLAIN" bash scripts/gpu-check.sh \
    > "$T/real/stdout" 2>&1
  echo "$?" > "$T/real/rc"
  source "$T/bundle/devo-bundle/env.sh"
  DEVO_TEST_TMP="$T/not/yet/there" DEVO_TEST_SOURCE="$T/real" \
    "$T/bundle/devo-bundle/bin/devo_tests" --gtest_filter="StateFile.*" > "$T/real/state.log" 2>&1
'
hide='
  mount -t tmpfs none "$BUILD" && mount -t tmpfs none "$SRC" || exit 90
  for lib in "$@"; do mount --bind "$T/empty" "$lib" || exit 91; done
  [[ ! -e "$BUILD/CMakeCache.txt" && ! -e "$SRC/scripts" ]] || exit 92
'
export T SRC="$src" BUILD="$build" PLAIN="$plain_path"
if [[ $(id -u) == 0 ]] && unshare --mount --propagation private true 2> /dev/null; then
  unshare --mount --propagation private bash -c "$hide $run_real" hide "${hide_libs[@]}"
  expect "namespace: build folder, source tree and ${#hide_libs[@]} system libraries hidden" equals "$?" 0
else
  echo "note  not root or no private mount namespace: the real bundle runs with nothing hidden"
  bash -c "$run_real"
fi
summary="$real/out/summary.txt"
expect "real bundle: the prebuilt binaries start" has "$summary" '^prebuilt binaries start'
expect "real bundle: every Cuda.* test skips here, which FAILs the check" has "$summary" \
  '^FAIL: Cuda.* tests were skipped'
expect "real bundle: the skips are counted" has "$summary" '^Cuda.* tests: ([1-9][0-9]*) run of \1 listed, \1 skipped, 0 failed'
expect "real bundle: missing compute-sanitizer reported, step skipped" has "$summary" \
  '^compute-sanitizer: not on this machine, step skipped'
expect "real bundle: missing ncu reported" has "$summary" '^ncu: not on this machine'
expect "real bundle: the check exits 1" equals "$(cat "$real/rc" 2> /dev/null)" 1
expect "real bundle: the test report came back in \$OUT" has "$real/out/tests.xml" '<testcase '
expect "real bundle: StateFile.* pass from the bundle in a temp folder made at run time" has \
  "$real/state.log" '^\[  PASSED  \] [1-9][0-9]* tests'
expect "real bundle: no StateFile.* test fails from the bundle" lacks "$real/state.log" \
  '^\[  FAILED  \]'

# Every test the check's sanitizer filters name exists (a renamed test would leave a filter
# running nothing).
named=$(sed -n "s/^\(every\|short\)='\(.*\)'$/\2/p" "$here/gpu-check.sh" | tr ':' '\n' | sort -u)
listed=$(source "$T/bundle/devo-bundle/env.sh" && "$T/bundle/devo-bundle/bin/devo_tests" \
  --gtest_list_tests --gtest_filter='Cuda.*' | sed -n 's/^  \([A-Za-z0-9_]*\).*/Cuda.\1/p' | sort -u)
expect "the check's filters name $(wc -l <<< "$named") tests, each in the binary" equals \
  "$(comm -23 <(echo "$named") <(echo "$listed") | paste -sd' ')" ""

# The Cuda.* tests (test_cuda.cpp) use none of the paths compiled into the test binary (the
# build's programs, the source tree): on the device neither exists. Only test_paths.h, which
# prefers the environment, may name one.
compiled=$(grep -oE 'DEVO_[A-Z0-9_]+="' "$src/tests/CMakeLists.txt" | tr -d '="' | sort -u | paste -sd'|')
expect "the Cuda.* tests use no compiled-in path (${compiled//|/, })" \
  lacks "$src/tests/test_cuda.cpp" "\b($compiled)\b"

# ------------------------------------------------------------------ 3. fake bundles and tools
fake="$T/fake"
mkdir -p "$fake/bundle/devo-bundle/bin" "$fake/tools"
cat > "$fake/bundle/devo-bundle/bin/devo_tests" << 'EOF'
#!/usr/bin/env bash
# fake devo_tests: two Cuda.* tests; the report says what $FAKE_TESTS says (pass or skip)
for a; do
  case $a in
    --gtest_list_tests) printf 'Cuda.\n  One\n  Two\n'; exit 0 ;;
    --gtest_output=xml:*) xml=${a#--gtest_output=xml:} ;;
  esac
done
result=completed
[[ ${FAKE_TESTS:-pass} == skip ]] && result=skipped
[[ -n ${xml:-} ]] && printf '%s\n' '<testsuites><testsuite name="Cuda">' \
  '<testcase name="One" status="run" result="completed" classname="Cuda"></testcase>' \
  "<testcase name=\"Two\" status=\"run\" result=\"$result\" classname=\"Cuda\"></testcase>" \
  '</testsuite></testsuites>' > "$xml"
exit 0
EOF
cat > "$fake/bundle/devo-bundle/bin/devo" << 'EOF'
#!/usr/bin/env bash
# fake devo: --help and evolve succeed; bench writes its CSV (12 rows, 1 for a strategy),
# after sleeping $FAKE_BENCH_SLEEP seconds
[[ $1 == bench ]] || exit 0
rows=12
for a; do
  case $a in --strategy) rows=1 ;; esac
  [[ ${prev:-} == --csv ]] && csv=$a
  prev=$a
done
sleep "${FAKE_BENCH_SLEEP:-0}"
{ echo "backend,precision,network,population,c5,c6,samples,gens,c9,gflops,ceiling,frac,c13,c14,c15"
  for ((i = 0; i < rows; i++)); do echo "cuda,fp32,784-30-10,$((256 + i)),0,0,60000,1.5,0,10,100,0.1,1,0,2"; done
} > "$csv"
EOF
cat > "$fake/tools/compute-sanitizer" << 'EOF'
#!/usr/bin/env bash
# fake compute-sanitizer --tool TOOL ...: $FAKE_SANITIZER is clean, refuses or finds (in a
# memcheck of more than one test); $FAKE_INITCHECK is clean, cub or devo
tool=$2
echo "========= COMPUTE-SANITIZER"
cub='=========     at void cub::CUB_300000_SM_900_NS::DeviceRadixSortOnesweepKernel<int>(int *)+0x1a0'
case ${FAKE_SANITIZER:-clean},$tool,${FAKE_INITCHECK:-clean} in
  refuses,*) echo "========= Error: Device not supported."; echo "CUDA error 999"; exit 1 ;;
  finds,memcheck,*) if [[ $* == *:* ]]; then echo "========= Invalid __global__ read of size 4 bytes"
    echo "=========     at vary_kernel(float *)+0x90"; echo "========= ERROR SUMMARY: 1 error"; exit 9; fi ;;
  *,initcheck,cub) printf '%s\n' "========= Uninitialized __global__ memory read of size 8 bytes" \
    "$cub" "========= ERROR SUMMARY: 1 error"; exit 9 ;;
  *,initcheck,devo) printf '%s\n' "========= Uninitialized __global__ memory read of size 8 bytes" \
    "$cub" "========= Uninitialized __global__ memory read of size 4 bytes" \
    "=========     at output_kernel(float *)+0x40" "========= ERROR SUMMARY: 2 errors"; exit 9 ;;
esac
echo "========= ERROR SUMMARY: 0 errors"
EOF
printf '#!/usr/bin/env bash\necho "fake $(basename "$0") $*"\n' > "$fake/tools/ncu"
cp "$fake/tools/ncu" "$fake/tools/nvidia-smi"
chmod +x "$fake"/bundle/devo-bundle/bin/* "$fake"/tools/*
echo 'true' > "$fake/bundle/devo-bundle/env.sh"
echo "fake bundle" > "$fake/bundle/devo-bundle/MANIFEST"
repo "$fake/repo"
mkdir -p "$fake/repo/.gpu-bundle/data"
tar -C "$fake/bundle" -cJf "$fake/repo/.gpu-bundle/devo-bundle.tar.xz" devo-bundle

# fake_check NAME VAR=VALUE...: the check on the fake bundle with these settings; its summary
# is $fake/NAME/summary.txt and its exit code $fake/NAME/rc.
fake_check() {
  local name=$1
  shift
  (cd "$fake/repo" && env OUT="$fake/$name" DEVO_CHECK_TOOL_DIRS= PATH="$fake/tools:$plain_path" \
    "$@" bash scripts/gpu-check.sh > "$fake/$name.stdout" 2>&1)
  echo "$?" > "$fake/$name/rc"
}
rc() { cat "$fake/$1/rc"; }

fake_check clean
expect "clean run: passes" equals "$(rc clean)" 0
expect "clean run: no FAIL, nothing reported as skipped" lacks "$fake/clean/summary.txt" 'FAIL|skipped [^0]'
expect "clean run: 2 run of 2 listed, 0 skipped" has "$fake/clean/summary.txt" \
  '^Cuda.* tests: 2 run of 2 listed, 0 skipped, 0 failed'
booked=$(sed -n 's/^steps. limits with kill slack: \([0-9]*\) s of 300 booked.*/\1/p' "$fake/clean/summary.txt")
expect "clean run: every step booked, $booked s of 300 in all" test "${booked:-999}" -le 300 -a "${booked:-0}" -ge 250
expect "clean run: bench.csv holds 12 rows in \$OUT" equals "$(wc -l < "$fake/clean/bench.csv")" 13
expect "clean run: at most 8 files in \$OUT" test "$(find "$fake/clean" -type f ! -name rc | wc -l)" -le 8

# fake_case NAME WHAT RC REGEX VAR=VALUE...: with these settings the check must exit RC and
# its summary hold a line matching REGEX.
fake_case() {
  local name=$1 what=$2 want=$3 regex=$4
  shift 4
  fake_check "$name" "$@"
  expect "$what: exit $want" equals "$(rc "$name")" "$want"
  expect "$what: the summary says so" has "$fake/$name/summary.txt" "$regex"
}
fake_case skip "a Cuda.* test that skips" 1 '^FAIL: Cuda.* tests were skipped' FAKE_TESTS=skip
fake_case refuses "sanitizer refuses the machine (reported, steps skipped)" 0 \
  '^compute-sanitizer refuses this machine' FAKE_SANITIZER=refuses
fake_case finds "memcheck finding" 1 '^FAIL: memcheck: finding' FAKE_SANITIZER=finds
fake_case cub "initcheck reports inside CUB only (recorded, named)" 0 \
  '^initcheck: 1 reports, all inside CUB.s radix sort \(DeviceRadixSortOnesweepKernel\)' \
  FAKE_INITCHECK=cub
fake_case devo "initcheck report outside CUB" 1 '^FAIL: initcheck: finding, 2 reports of which 1' \
  FAKE_INITCHECK=devo
fake_case slow "a step that times out" 1 \
  '^bench, all 60,000 images, P 256 and 4096: TIMED OUT after 1 s' \
  FAKE_BENCH_SLEEP=30 DEVO_CHECK_LIMIT_bench=1
expect "a step that times out: the steps after it still run" has "$fake/slow/summary.txt" '^ncu, kernels'

echo "gpu-check self-test: $fails failed"
((fails == 0))
