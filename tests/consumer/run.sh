#!/bin/sh
# Builds and runs the consumer project of this folder the ways a user
# would consume pto2.  Usage:
#   run.sh install        PTO2_BUILD PREFIX             install pto2's build into PREFIX
#   run.sh find_package   PREFIX WORK shared|static      CMake find_package(pto2)
#   run.sh pkgconfig      PREFIX WORK shared|static      cc/c++ with pkg-config flags
#   run.sh subdirectory   PTO2_SOURCE WORK               CMake add_subdirectory(pto2)
# CMAKE, CC and CXX name the tools (default cmake, cc, c++).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CMAKE=${CMAKE:-cmake}
CC=${CC:-cc}
CXX=${CXX:-c++}
mode=$1; shift

# needs_libpto2 EXE yes|no: whether EXE loads libpto2.so at run time.
needs_libpto2() {
  if readelf -d "$1" | grep -q 'NEEDED.*libpto2\.so'; then has=yes; else has=no; fi
  if [ "$has" != "$2" ]; then
    echo "$1: depends on libpto2.so: $has, expected $2"; exit 1
  fi
}

run_cmake_consumer() { # WORK LINKAGE CMAKE-ARGS...
  work=$1; linkage=$2; shift 2
  rm -rf "$work"; mkdir -p "$(dirname "$work")"
  "$CMAKE" -S "$here" -B "$work" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_CXX_COMPILER="$CXX" "$@" >"$work.configure.log" 2>&1 || {
    cat "$work.configure.log"; exit 1; }
  grep 'found pto2' "$work.configure.log" || true
  "$CMAKE" --build "$work" -j 2 >"$work.build.log" 2>&1 || { cat "$work.build.log"; exit 1; }
  if [ "$linkage" = shared ]; then want=yes; else want=no; fi
  needs_libpto2 "$work/consumer_c" $want
  needs_libpto2 "$work/consumer_cxx" $want
  needs_libpto2 "$work/libconsumer_lib.so" no
  "$work/consumer_c"
  "$work/consumer_cxx"
  "$work/consumer_via_lib"
}

case $mode in
install)
  rm -rf "$2"
  "$CMAKE" --install "$1" --prefix "$2" >/dev/null
  ls "$2/include/pto2" "$2/lib"
  ;;
find_package)
  prefix=$1; work=$2; linkage=$3
  static=OFF; [ "$linkage" = static ] && static=ON
  run_cmake_consumer "$work" "$linkage" -DCMAKE_PREFIX_PATH="$prefix" -DPTO2_USE_STATIC_LIBS=$static
  ;;
pkgconfig)
  prefix=$1; work=$2; linkage=$3
  rm -rf "$work"; mkdir -p "$work"
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  echo "pkg-config --modversion pto2: $(pkg-config --modversion pto2)"
  cflags=$(pkg-config --cflags pto2)
  if [ "$linkage" = shared ]; then
    libs="$(pkg-config --libs pto2) -Wl,-rpath,$(pkg-config --variable=libdir pto2)"
    want=yes
  else
    # libpto2.a by full path, then what it needs (pkg-config --static).
    libs="$(pkg-config --variable=libdir pto2)/libpto2.a $(pkg-config --static --libs pto2 | sed 's/-lpto2//')"
    want=no
  fi
  set -x
  $CC -std=c11 -Wall -Wextra -pedantic -Werror $cflags "$here/main.c" -o "$work/consumer_c" $libs
  $CXX -std=c++17 -Wall -Wextra -pedantic -Werror $cflags "$here/main.cpp" -o "$work/consumer_cxx" $libs
  set +x
  needs_libpto2 "$work/consumer_c" $want
  needs_libpto2 "$work/consumer_cxx" $want
  "$work/consumer_c"
  "$work/consumer_cxx"
  ;;
subdirectory)
  src=$1; work=$2
  run_cmake_consumer "$work" shared -DPTO2_SOURCE_DIR="$src"
  ;;
*)
  echo "unknown mode $mode"; exit 2
  ;;
esac
