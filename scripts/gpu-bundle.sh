#!/usr/bin/env bash
# Prepares .gpu-bundle/ (git-ignored) for scripts/gpu-check.sh on a lent GPU machine, which
# reaches no package registry: the Debian packages devo builds against (OpenBLAS, GoogleTest,
# zlib headers) and the Fashion-MNIST files. Run it here, then carry .gpu-bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
rm -rf .gpu-bundle && mkdir -p .gpu-bundle/data
(cd .gpu-bundle && apt-get download libopenblas0-pthread libopenblas-pthread-dev libgfortran5 \
  libgtest-dev googletest zlib1g-dev libjansson-dev libjansson4 > /dev/null)
cp /usr/share/datasets/fashion-mnist/*.gz .gpu-bundle/data/
du -sh .gpu-bundle
