#!/usr/bin/env bash
# gpu_bundle_test.sh BUILD_DIR SOURCE_DIR WORK_DIR - proves, without a GPU, that the bundle of
# scripts/gpu-bundle.sh is whole: packs it from the (already built) CUDA tree BUILD_DIR,
# unpacks it into an empty folder, and with the bundle's env.sh in force resolves every
# executable and library in it with ldd. Each resolved library must lie inside the unpacked
# bundle, or be the C runtime or CUDA (scripts/gpu-libs.sh); anything else (a system OpenBLAS,
# jansson or zlib, or a library not found) fails. Then each executable must start (--help,
# --gtest_list_tests), and the bundle must stay well under the device tool's 64 MiB.
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$2
work=$3
source "$source_dir/scripts/gpu-libs.sh"
rm -rf "$work"
mkdir -p "$work/packed" "$work/unpacked"

"$source_dir/scripts/gpu-bundle.sh" --pack "$build" "$work/packed/.gpu-bundle"
mib=$(du -sm "$work/packed/.gpu-bundle" | cut -f1)
if ((mib > 48)); then
  echo "FAIL: the bundle holds $mib MiB; the device call carries 64 MiB with the source tree"
  exit 1
fi
tar -C "$work/unpacked" -xJf "$work/packed/.gpu-bundle/devo-bundle.tar.xz"
root="$work/unpacked/devo-bundle"
# shellcheck disable=SC1091
source "$root/env.sh"

failures=0
checked=0
for file in "$root"/bin/* "$root"/lib/*.so.*; do
  [[ -L "$file" ]] && continue
  checked=$((checked + 1))
  while read -r name path; do
    if [[ "$path" == not-found ]]; then
      echo "FAIL: $file: $name not found"
      failures=$((failures + 1))
    elif [[ "$path" != "$root"/* ]] && ! gpu_lib_from_system "$path"; then
      echo "FAIL: $file: $name resolves outside the bundle, to $path"
      failures=$((failures + 1))
    fi
  done < <(gpu_ldd_paths "$file")
done
"$root/bin/devo" --help > /dev/null || { echo "FAIL: bin/devo does not start"; failures=$((failures + 1)); }
cuda_tests=$("$root/bin/devo_tests" --gtest_list_tests --gtest_filter='Cuda.*' | grep -c '^  ' || true)
if ((cuda_tests == 0)); then
  echo "FAIL: bin/devo_tests lists no Cuda.* test"
  failures=$((failures + 1))
fi
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz; do
  [[ -s "$work/packed/.gpu-bundle/data/$f" ]] || { echo "FAIL: data/$f missing"; failures=$((failures + 1)); }
done
echo "gpu bundle: $mib MiB, $checked files resolved with ldd, $cuda_tests Cuda.* tests listed, $failures failures"
rm -rf "$work"
((failures == 0))
