#!/usr/bin/env bash
# Installs devo into a temporary prefix, then builds and runs examples/consumer against it twice:
# with CMake (find_package(devo), devo::devo) and with pkg-config. Also checks the installed
# shared library: its SONAME, and that it exports devo_ symbols only.
# Usage: consumer_test.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1
source=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

echo "== CMake consumer"
cmake -S "$source/examples/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  > "$work/cmake.log"
cmake --build "$work/cmake-build" > "$work/cmake-build.log"
"$work/cmake-build/app"

echo "== pkg-config consumer"
libdir=$(find "$prefix" -name devo.pc -printf '%h\n' | head -1)
export PKG_CONFIG_PATH="$libdir"
cc -std=c11 -o "$work/app-pkgconfig" "$source/examples/consumer/main.c" \
  $(pkg-config --cflags --libs devo) -Wl,-rpath,"$(pkg-config --variable=libdir devo)"
"$work/app-pkgconfig"

echo "== installed shared library"
lib=$(find "$prefix" -name 'libdevo.so.*.*.*' | head -1)
soname=$(objdump -p "$lib" | awk '/SONAME/ { print $2 }')
echo "SONAME $soname"
[[ "$soname" == libdevo.so.* ]] || { echo "unexpected SONAME '$soname'"; exit 1; }
foreign=$(nm -D --defined-only "$lib" | awk '{ print $3 }' | grep -v '^devo_' || true)
if [[ -n "$foreign" ]]; then
  echo "libdevo.so exports symbols outside devo_:"; echo "$foreign"; exit 1
fi
echo "exports: $(nm -D --defined-only "$lib" | grep -c ' devo_') devo_ symbols, nothing else"
