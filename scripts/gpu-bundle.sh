#!/usr/bin/env bash
# gpu-bundle.sh - packs what scripts/gpu-check.sh needs on a lent GPU machine, which has CUDA 13
# (toolkit, cuBLAS, cuRAND, compute-sanitizer, ncu), CMake and ninja but no Debian packages, no
# pkg-config and no registry. Run here; carry the ignored folder .gpu-bundle in the device call.
#
#   .gpu-bundle/devo-bundle.tar.xz  bin/devo, bin/devo_tests (prebuilt, CUDA Release, sm_90),
#                                   lib/ libdevo and every shared library they load that is not
#                                   the C runtime or CUDA (OpenBLAS + libgfortran + libquadmath,
#                                   jansson, zlib; see scripts/gpu-libs.sh), include/ + lib/*.a for
#                                   a fallback CMake build (cblas.h, zlib, jansson, GoogleTest),
#                                   env.sh (puts lib/ first on LD_LIBRARY_PATH), MANIFEST
#   .gpu-bundle/data/               the Fashion-MNIST .gz files (train: the bench's 60,000 images)
#
# Usage: scripts/gpu-bundle.sh                  configure + build build/ (the same Release tree
#                                               ./test.sh builds with nvcc), then pack .gpu-bundle
#        scripts/gpu-bundle.sh --pack BUILD OUT pack an already built CUDA tree BUILD into OUT
# DEVO_BUNDLE_XZ_LEVEL (default -6) sets xz's level: the check's self-test packs with -0.
# Prove it: tests/gpu_bundle_test.sh (a ctest when CUDA is on) unpacks it into an empty folder
# and checks with ldd that every library resolves inside it, to the C runtime or to CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/gpu-libs.sh
data_dir=/usr/share/datasets/fashion-mnist

build=build
out=.gpu-bundle
if [[ "${1:-}" == "--pack" ]]; then
  [[ $# -eq 3 ]] || { echo "usage: $0 [--pack BUILD_DIR OUT_DIR]" >&2; exit 2; }
  build=$2
  out=$3
else
  scripts/install-deps.sh
  export PATH="$PATH:/usr/local/cuda/bin"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDEVO_WERROR=ON -DDEVO_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 > /dev/null
  cmake --build build -j "$(nproc)"
fi
cache="$build/CMakeCache.txt"
if ! grep -q '^DEVO_CUDA:BOOL=ON' "$cache" || ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$cache"; then
  echo "gpu-bundle: $build is not a CUDA Release build" >&2
  exit 1
fi
cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$cache"; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/devo-bundle"
mkdir -p "$root/bin" "$root/lib" "$root/include"
cp "$build/src/cli/devo" "$build/tests/devo_tests" "$root/bin/"
cp -P "$build"/src/libdevo.so* "$root/lib/"

# Every library the executables and libdevo load (ldd lists the whole closure) that may not
# come from the device's system, under its soname.
for file in "$root"/bin/* "$root"/lib/libdevo.so.*.*; do
  while read -r name path; do
    if [[ "$path" == not-found ]]; then
      echo "gpu-bundle: $file needs $name, which ldd does not find here" >&2
      exit 1
    fi
    gpu_lib_from_system "$path" || [[ -e "$root/lib/$name" ]] || cp -L "$path" "$root/lib/$name"
  done < <(gpu_ldd_paths "$file")
done

# The fallback build's link names and headers (CMake finds them through CMAKE_PREFIX_PATH).
for soname in "$root"/lib/libopenblas.so.* "$root"/lib/libjansson.so.* "$root"/lib/libz.so.*; do
  ln -s "$(basename "$soname")" "${soname%.so.*}.so"
done
cp "$(cache_value OPENBLAS_INCLUDE_DIR)"/*.h "$root/include/"
cp /usr/include/zlib.h /usr/include/zconf.h /usr/include/jansson.h /usr/include/jansson_config.h \
  "$root/include/"
cp -r /usr/include/gtest "$root/include/"
cp /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/x86_64-linux-gnu/libgtest_main.a "$root/lib/"

cat > "$root/env.sh" <<'ENV'
# Sourced by scripts/gpu-check.sh: this bundle's libraries before any other, then the device's
# CUDA libraries (the executables' own RUNPATH does not name them).
bundle_root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bundle_path="$bundle_root/lib"
for dir in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [[ -d "$dir" ]] && bundle_path="$bundle_path:$dir"
done
export LD_LIBRARY_PATH="$bundle_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ENV
{
  echo "devo GPU bundle, packed $(date -u +%FT%TZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "built with $(cache_value CMAKE_CUDA_COMPILER) for sm_$(cache_value CMAKE_CUDA_ARCHITECTURES)"
  (cd "$root" && find . -type f | sort | xargs sha256sum)
} > "$root/MANIFEST"

rm -rf "$out"
mkdir -p "$out/data"
tar -C "$stage" -cf - devo-bundle | xz -T2 "${DEVO_BUNDLE_XZ_LEVEL:--6}" > "$out/devo-bundle.tar.xz"
cp "$data_dir"/*-ubyte.gz "$out/data/"
echo "gpu-bundle: $out holds $(du -sm "$out" | cut -f1) MiB ($(du -sm "$root" | cut -f1) MiB unpacked + data)"
