# shellcheck shell=bash
# gpu-check-lib.sh - sourced by scripts/gpu-check.sh and its self-test (gpu-check-self-test.sh):
# how the check reads what the tests and compute-sanitizer leave behind. Each function prints
# its answer on stdout and needs nothing but grep and awk, so the self-test feeds it canned
# files here, without a GPU.

# count_of PATTERN FILE: how many times the extended regex PATTERN occurs in FILE; always a
# number (grep -c prints 0 but exits 1 when nothing matches, so `|| echo` after it would print
# a second word: the bug that reported a clean run as skipped).
count_of() {
  local n
  n=$(grep -oE -- "$1" "$2" 2> /dev/null | wc -l)
  echo "${n:-0}"
}

# gtest_counts XML: "RAN SKIPPED FAILED" of a GoogleTest XML report, counting test cases;
# "? ? ?" when the report is missing or empty (the binary died before writing it).
gtest_counts() {
  local xml=$1
  if [[ ! -s "$xml" ]]; then
    echo "? ? ?"
    return
  fi
  echo "$(count_of '<testcase ' "$xml") $(count_of '<testcase [^>]*result="skipped"' "$xml")" \
    "$(awk '/<testcase /{failed = 0} /<failure/ && !failed {n++; failed = 1} END {print n + 0}' "$xml")"
}

# sanitizer_verdict LOG RC: what one compute-sanitizer run (exit code RC, output in LOG) says.
#   ok        it ran and found nothing
#   unusable  the tool refused this machine ("Device not supported"; or the application's first
#             CUDA call failed with error 999 and no kernel was reported): not a finding of devo's
#   finding   it reported errors (its ERROR SUMMARY, or --error-exitcode 9)
#   failed    the tests failed under it without a report
sanitizer_verdict() {
  local log=$1 rc=$2
  if grep -q 'Device not supported' "$log"; then
    echo unusable
  elif ((rc != 0)) && grep -qE 'error 999|cudaErrorUnknown|CUDA_ERROR_UNKNOWN' "$log" &&
    ! grep -qE '^=========     at ' "$log"; then
    echo unusable
  elif ((rc == 9)) || grep -qE 'ERROR SUMMARY: [1-9]' "$log"; then
    echo finding
  elif ((rc != 0)); then
    echo failed
  else
    echo ok
  fi
}

# initcheck_reports LOG: "TOTAL CUB NAMES" for an initcheck log: the errors its ERROR SUMMARY
# lines add up to, how many of them are reported at a frame in CUB (cub::, the radix sort that
# ranks a generation: known upstream reports of reads of CUB's own uninitialised temp storage,
# NVIDIA/cccl#1891), and the CUB functions named, comma-separated ("-" when none).
initcheck_reports() {
  awk '
    /ERROR SUMMARY: [0-9]+ error/ { for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") total += $(i + 1) }
    /^=========     at / && /cub::/ {
      cub++
      match($0, /cub::[A-Za-z0-9_:]+/)
      n = split(substr($0, RSTART, RLENGTH), part, "::")
      names[part[n]] = 1
    }
    END {
      list = ""
      for (k in names) list = list (list == "" ? "" : ",") k
      print total + 0, cub + 0, (list == "" ? "-" : list)
    }' "$1"
}
