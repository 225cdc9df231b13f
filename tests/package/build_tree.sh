#!/bin/sh
# The README's commands that compile a program against the build tree (no
# install), run verbatim on examples/hello/hello.c as prog.c: each must
# compile, link and run.  The commands are read from the README, in a
# folder where include/ and build/ are the source's headers and this build.
#   build_tree.sh SOURCE_DIR BINARY_DIR
set -eu
src=$1 bin=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/pto2-build-tree.XXXXXX")
trap 'rm -rf "$work"' EXIT
ln -s "$src/include" "$work/include"
ln -s "$bin" "$work/build"
cp "$src/examples/hello/hello.c" "$work/prog.c"
cmds=$(grep '^cc -std=c11 -Iinclude -Ibuild/include prog.c ' "$src/README.md" || true)
[ "$(echo "$cmds" | grep -c .)" -ge 2 ] || {
  echo "FAIL: the README shows no static and shared build-tree command"; exit 1; }
cd "$work"
echo "$cmds" | while IFS= read -r cmd; do
  echo "$cmd"
  rm -f prog
  sh -c "$cmd" || { echo "FAIL: the README's command does not build"; exit 1; }
  ./prog || { echo "FAIL: the program it built fails"; exit 1; }
done
# Without build/include the generated pto2/version.h is missing (the reason
# the README gives for -Ibuild/include).
if cc -std=c11 -Iinclude -c prog.c -o prog.o 2>err; then
  echo "FAIL: compiled without -Ibuild/include: the README's reason is wrong"; exit 1
fi
grep -q 'pto2/version.h' err || { cat err; echo "FAIL: another error than version.h"; exit 1; }
echo "ok: the README's build-tree commands build and run hello"
