#!/bin/sh
# The Python package's tests, with the library and plugin of this build.
# Usage:
#   python_tests.sh pytest PYTHON SOURCE_DIR LIBPTO2 PLUGIN_DIR
#   python_tests.sh pip    PYTHON SOURCE_DIR LIBPTO2 PLUGIN_DIR WORK
# Exit code 77 (skipped) when PYTHON lacks numpy/pytest (make deps installs
# Debian's python3-numpy and python3-pytest), pip, or wheel for pip mode.
set -eu
mode=$1 python=$2 src=$3
export PTO2_LIBRARY=$4 PTO2_PLUGIN_DIR=$5 PYTHONDONTWRITEBYTECODE=1
case $mode in
pytest)
  "$python" -c 'import numpy, pytest' 2>/dev/null || {
    echo "skipped: $python has no numpy or pytest (apt-get install python3-numpy python3-pytest)"
    exit 77; }
  cd "$src/python"
  PYTHONPATH="$src/python" exec "$python" -m pytest -q -p no:cacheprovider tests
  ;;
pip)
  work=$6
  "$python" -m pip --version >/dev/null 2>&1 || { echo "skipped: no pip for $python"; exit 77; }
  "$python" -c 'import wheel' 2>/dev/null || {
    echo "skipped: no wheel for $python (apt-get install python3-wheel)"; exit 77; }
  # Install from a copy, so that the build leaves nothing in the source tree;
  # bundle this build's library and plugins (PTO2_LIBRARY_DIR) instead of
  # compiling them again.
  rm -rf "$work"; mkdir -p "$work/src"
  cp -r "$src/python" "$src/CMakeLists.txt" "$work/src/"
  rm -rf "$work/src/python/build" "$work/src/python/"*.egg-info
  # A wheel first: it bundles native code, so it must be platform-tagged
  # (py3-none-linux_<arch>, Root-Is-Purelib: false), not py3-none-any.
  PTO2_LIBRARY_DIR=$(dirname "$PTO2_LIBRARY") "$python" -m pip wheel -q --no-build-isolation \
    --no-deps --no-index -w "$work/wheel" "$work/src/python"
  wheel=$(ls "$work/wheel"/pto2-*.whl)
  case $(basename "$wheel") in
  pto2-*-py3-none-linux_*.whl) ;;
  *) echo "FAIL: the wheel is not platform-tagged: $(basename "$wheel")"; exit 1 ;;
  esac
  "$python" -m zipfile -l "$wheel" | grep -q 'pto2/_lib/libpto2.so.0' ||
    { echo "FAIL: $(basename "$wheel") bundles no libpto2.so.0"; exit 1; }
  echo "built $(basename "$wheel")"
  "$python" -m pip install -q --no-deps --no-index --target "$work/site" "$wheel"
  cd "$work"
  # The installed package alone: its bundled library and plugins.
  env -u PTO2_LIBRARY -u PTO2_PLUGIN_DIR PYTHONPATH="$work/site" "$python" -c '
import os, sys, pto2
site = sys.argv[1]
assert pto2.__file__.startswith(site), pto2.__file__
assert pto2.library_path.startswith(site), pto2.library_path
print("pip-installed pto2", pto2.__version__, "with", pto2.library_path)
from pto2 import bench
sys.exit(bench.main(["--rounds", "1", "--lane", "graph"]))' "$work/site"
  ;;
esac
