# gpu-libs.sh - sourced by scripts/gpu-bundle.sh and tests/gpu_bundle_test.sh: which shared
# libraries a devo executable may take from the machine it runs on rather than from the bundle.
# Those are the C runtime (glibc, libstdc++, libgcc), which every Linux machine has in a version
# new enough (devo needs GLIBC_2.34 and GLIBCXX_3.4.29 at most), and CUDA, whose user-space
# libraries must match the device's driver and come from its own toolkit. Everything else that
# ldd resolves (OpenBLAS and its Fortran runtime, jansson, zlib) travels in the bundle.

# gpu_lib_from_system PATH: true when the resolved library PATH may come from the system.
gpu_lib_from_system() {
  local path=$1 name
  name=$(basename "$path")
  case "$name" in
    linux-vdso.so.* | ld-linux-x86-64.so.* | libc.so.* | libm.so.* | libpthread.so.* | \
      libdl.so.* | librt.so.* | libutil.so.* | libstdc++.so.* | libgcc_s.so.*) return 0 ;;
    libcuda.so.* | libcudart.so.* | libcublas.so.* | libcublasLt.so.* | libcurand.so.* | \
      libnvJitLink.so.* | libnvrtc.so.*) return 0 ;;
  esac
  [[ "$path" == /usr/local/cuda* ]]
}

# gpu_ldd_paths FILE: "NAME PATH" per library ldd resolves for FILE ("NAME not-found" when missing).
gpu_ldd_paths() {
  ldd "$1" | awk '
    $2 == "=>" && $3 == "not" { print $1, "not-found"; next }
    $2 == "=>" { print $1, $3; next }
    $1 ~ /^\// { print $1, $1; next }
    $1 ~ /linux-vdso/ { print $1, $1 }'
}
