#!/usr/bin/env bash
# Installs what devo needs to build, test and run, from Debian's packages, when missing.
# Usage: scripts/install-deps.sh [--python]   (--python: also python3-venv for interop tests)
set -euo pipefail

# openmpi-bin, libopenmpi-dev: libdevo_mpi (one run over many processes) and its mpirun tests.
# libdnnl-dev: oneDNN, the CPU device's BF16 GEMMs (--precision bf16; OpenBLAS has no sbgemm).
packages=(build-essential cmake pkg-config libopenblas-dev zlib1g-dev libjansson-dev googletest libgtest-dev
          dataset-fashion-mnist gnuplot-nox xz-utils clang libclang-rt-dev openmpi-bin
          libopenmpi-dev libdnnl-dev)
if [[ "${1:-}" == "--python" ]]; then packages+=(python3-venv); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
