#!/bin/sh
# The shared library exports exactly the functions declared PTO2_API in the
# public headers: nothing internal leaks out, nothing declared is missing.
# Usage: check_exports.sh LIBPTO2_SO INCLUDE_DIR...
set -eu
lib=$1; shift
tmp=${TMPDIR:-/tmp}/pto2-exports.$$
trap 'rm -f "$tmp".*' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u >"$tmp.exported"
# Declarations: "PTO2_API <type> <name>(" possibly with a pointer star.
cat "$@" | tr '\n' ' ' | grep -o 'PTO2_API[^;{(]*(' |
  sed -e 's/($//' -e 's/.*[ *]//' | grep '^pto2_' | sort -u >"$tmp.declared"
status=0
if grep -v '^pto2_' "$tmp.exported" >"$tmp.bad"; then
  echo "exported symbols without the pto2_ prefix:"; cat "$tmp.bad"; status=1
fi
if ! diff -u "$tmp.declared" "$tmp.exported" >"$tmp.diff"; then
  echo "declared (-) and exported (+) differ:"; cat "$tmp.diff"; status=1
fi
n=$(wc -l <"$tmp.exported")
[ "$n" -gt 50 ] || { echo "only $n symbols exported"; status=1; }
[ $status = 0 ] && echo "ok: $n exported symbols, all pto2_*, all declared PTO2_API"
exit $status
