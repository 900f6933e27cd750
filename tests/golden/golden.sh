#!/usr/bin/env bash
# Golden outputs: fixed-seed runs of the GA and of each evolution strategy (full rank and
# rank 1), on 1 and 2 threads and under mpirun -np 2, whose model files, checkpoints and
# history rows (less the seconds column and a checkpoint's elapsed time) must stay byte-identical across refactors.
# The SHA-256 of every output is kept in tests/golden/expected.sha256, beside the CPU kernels
# that produced them (tests/golden/kernels.txt): other kernels round otherwise, so a machine
# whose kernels differ skips (exit 77) and says so.
#
# Usage: golden.sh check  DEVO WORKDIR [MPIEXEC]   compare with the recorded outputs
#        golden.sh record DEVO WORKDIR [MPIEXEC]   record them (only before a refactor)
set -uo pipefail
mode=$1
devo=$2
work=$3
mpiexec=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"

# name|arguments; MPI runs start with "mpi:".
runs=(
  "ga-t1|--threads 1"
  "ga-t2|--threads 2"
  "ga-all-accuracy|--threads 2 --fitness accuracy --fitness-samples 0 --generations 3"
  "openai-es-full-t1|--threads 1 --strategy openai-es --sigma-final 0.01"
  "openai-es-full-t2|--threads 2 --strategy openai-es --sigma-final 0.01"
  "openai-es-rank1-t1|--threads 1 --strategy openai-es --rank 1 --weight-decay 0.01"
  "openai-es-rank1-t2|--threads 2 --strategy openai-es --rank 1 --weight-decay 0.01"
  "pgpe-full-t1|--threads 1 --strategy pgpe"
  "pgpe-full-t2|--threads 2 --strategy pgpe"
  "pgpe-rank1-t1|--threads 1 --strategy pgpe --rank 1"
  "pgpe-rank1-t2|--threads 2 --strategy pgpe --rank 1"
  "snes-full-t1|--threads 1 --strategy snes"
  "snes-full-t2|--threads 2 --strategy snes"
  "snes-rank1-t1|--threads 1 --strategy snes --rank 1"
  "snes-rank1-t2|--threads 2 --strategy snes --rank 1"
  "mpi:ga-np2|--threads 1"
  "mpi:openai-es-full-np2|--threads 1 --strategy openai-es"
  "mpi:snes-rank1-np2|--threads 1 --strategy snes --rank 1"
)
common="--layers 16:relu,10:softmax --population 16 --top-k 4 --generations 4
        --fitness-samples 256 --batch-size 96 --seed 7 --verbose 0"

kernels=$("$devo" evolve --generations 1 --population 2 --top-k 1 --fitness-samples 8 \
            --layers 2:softmax --verbose 1 2>&1 | head -n 1 | sed 's/.*CPU GEMM //')
for run in "${runs[@]}"; do
  name=${run%%|*}
  args=${run#*|}
  launcher=()
  if [[ $name == mpi:* ]]; then
    name=${name#mpi:}
    if [[ -z $mpiexec ]]; then echo "golden: $name needs mpirun; none given"; exit 1; fi
    launcher=("$here/../mpi/own_session_dir.sh" timeout 120 "$mpiexec" --allow-run-as-root
              --oversubscribe -np 2)
  fi
  out="$work/$name"
  # shellcheck disable=SC2086  # the arguments are words
  if ! "${launcher[@]}" "$devo" evolve $common $args --save "$out.safetensors" \
       --history "$out.history.csv" --checkpoint "$out.ckpt" > "$out.log" 2>&1; then
    echo "golden: run $name failed:"; cat "$out.log"; exit 1
  fi
  # The seconds column (9th) is the only one that may change between runs.
  cut -d, -f1-8,10- "$out.history.csv" > "$out.history"
  # A checkpoint also records its elapsed time: its digest leaves that out.
  python3 "$here/state_digest.py" "$out.ckpt" > "$out.state"
  rm "$out.history.csv" "$out.log" "$out.ckpt"
done
(cd "$work" && sha256sum -- * | LC_ALL=C sort -k2) > "$work.sums"

if [[ $mode == record ]]; then
  cp "$work.sums" "$here/expected.sha256"
  echo "$kernels" > "$here/kernels.txt"
  echo "golden: recorded ${#runs[@]} runs on $kernels"
  exit 0
fi
expected_kernels=$(cat "$here/kernels.txt")
if [[ $kernels != "$expected_kernels" ]]; then
  echo "golden: recorded on CPU kernels '$expected_kernels', this machine runs '$kernels':"
  echo "golden: their sums round otherwise, so the comparison is skipped"
  exit 77
fi
if ! diff -u "$here/expected.sha256" "$work.sums"; then
  echo "golden: outputs differ from the recorded ones (above: expected -, got +)"
  exit 1
fi
echo "golden: ${#runs[@]} runs byte-identical to the recorded outputs"
