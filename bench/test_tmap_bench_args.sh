#!/bin/sh
# pto2-tmap-bench's bad options and values: each prints, first, one line
# naming the option or value (and what is expected), then the usage, on
# stderr only, and exits with status 2; --help prints the usage and the
# columns' legend on stdout and exits 0.
#
#   test_tmap_bench_args.sh PTO2_TMAP_BENCH
set -u
BENCH=$1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/pto2-tmap-args.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "test_tmap_bench_args: FAILED: $*"; exit 1; }

# expect "ARGS" "FIRST LINE OF STDERR"
expect() {
  # shellcheck disable=SC2086
  "$BENCH" $1 > "$DIR/out" 2> "$DIR/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$1': exit status $rc, not 2"
  [ ! -s "$DIR/out" ] || fail "'$1': wrote to stdout: $(cat "$DIR/out")"
  first=$(head -1 "$DIR/err")
  [ "$first" = "$2" ] || fail "'$1': first line '$first', expected '$2'"
  grep -q '^usage: pto2-tmap-bench ' "$DIR/err" || fail "'$1': no usage after the error"
  echo "ok: $1 -> $first"
}

expect "--frob 1" "pto2-tmap-bench: invalid option '--frob'"
expect "--scene bgemm --grid" "pto2-tmap-bench: invalid option (missing value) '--grid'"
expect "--grid 4,0" \
  "pto2-tmap-bench: invalid grid '4,0' (expected a comma-separated list of 1..1024, at most 32)"
expect "--n 1,x" \
  "pto2-tmap-bench: invalid n '1,x' (expected a comma-separated list of 0..1000000, at most 32)"
expect "--scene bgemm --repeat 500" "pto2-tmap-bench: invalid repeat '500' (expected 1..101)"
expect "--k 0" "pto2-tmap-bench: invalid k '0' (expected 1..1024)"
expect "--threads -1" "pto2-tmap-bench: invalid threads '-1' (expected 0..256)"
expect "--scene big" "pto2-tmap-bench: invalid scene 'big' (expected tiles, bgemm or all)"
expect "--lane auto,fast" \
  "pto2-tmap-bench: invalid lane 'auto,fast' (expected auto, manual, graph, a list, or all)"
expect "--kernels real" "pto2-tmap-bench: invalid kernels 'real' (expected noop or busy)"
expect "--format csv" "pto2-tmap-bench: invalid format 'csv' (expected table or json)"
expect "--busy-us 3" "pto2-tmap-bench: --busy-us needs --kernels busy"

"$BENCH" --help > "$DIR/out" 2> "$DIR/err" || fail "--help: exit status $?"
grep -q '^usage: pto2-tmap-bench ' "$DIR/out" || fail "--help: no usage on stdout"
grep -q '^columns: orch ns/task = ' "$DIR/out" || fail "--help: no legend of the columns"
[ ! -s "$DIR/err" ] || fail "--help wrote to stderr"
# Singular counts: "1 K step", "1 worker".
"$BENCH" --scene bgemm --grid 2 --k 1 --threads 1 --repeat 1 --lane graph > "$DIR/out" 2>&1 ||
  fail "bgemm run: $(cat "$DIR/out")"
grep -q '^bgemm: G x G tiles of C, 1 K step, .*, 1 worker (median of 1)' "$DIR/out" ||
  fail "bgemm header: $(head -1 "$DIR/out")"
echo "test_tmap_bench_args: all passed"
