#!/bin/sh
# pto2-bench's bad options and values: each prints one line naming the
# option or value (with the expected range or words), then where the options
# are listed, on stderr only, and exits with status 2 before any run; a
# --trace, --graph or --report path that cannot be written is refused the
# same way, naming the user's path.  --help lists the defaults.
#
#   test_bench_args.sh PTO2_BENCH
set -u
BENCH=$1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/pto2-bench-args.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "test_bench_args: FAILED: $*"; exit 1; }

# expect "ARGS" "FIRST LINE OF STDERR"
expect() {
  # shellcheck disable=SC2086
  "$BENCH" $1 > "$DIR/out" 2> "$DIR/err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "'$1': exit status $rc, not 2"
  [ ! -s "$DIR/out" ] || fail "'$1': wrote to stdout (ran?): $(cat "$DIR/out")"
  first=$(head -1 "$DIR/err")
  [ "$first" = "$2" ] || fail "'$1': first line '$first', expected '$2'"
  [ "$(wc -l < "$DIR/err")" -le 2 ] || fail "'$1': more than two lines: $(cat "$DIR/err")"
  echo "ok: $1 -> $first"
}

expect "--bogus" "pto2-bench: unknown option '--bogus'"
expect "--case Small1 --bogus 3" "pto2-bench: unknown option '--bogus'"
expect "--rounds" "pto2-bench: option '--rounds' needs a value"
expect "--threads 1000" "pto2-bench: invalid threads '1000' (expected 0..256)"
expect "--block-dim 0" "pto2-bench: invalid block-dim '0' (expected 1..1024)"
expect "--block-dim 1025" "pto2-bench: invalid block-dim '1025' (expected 1..1024)"
expect "--rounds -1" "pto2-bench: invalid rounds '-1' (expected 1..10000)"
expect "--warmup x" "pto2-bench: invalid warmup 'x' (expected 0..10000)"
expect "--busy-us 0" "pto2-bench: invalid busy-us '0' (expected 1..1000000)"
expect "--kernels fast" "pto2-bench: invalid kernels 'fast' (expected real, noop or busy)"
expect "--lane fast" "pto2-bench: invalid lane 'fast' (expected auto, manual, graph or all)"
expect "--report $DIR/none/x.html" \
  "pto2-bench: cannot write --report $DIR/none/x.html: folder $DIR/none: No such file or directory"
expect "--trace $DIR/none/t.json" \
  "pto2-bench: cannot write --trace $DIR/none/t.json: folder $DIR/none: No such file or directory"
expect "--graph $DIR" "pto2-bench: cannot write --graph $DIR: it is a folder"
touch "$DIR/file"
expect "--graph $DIR/file/g.json" "pto2-bench: cannot write --graph $DIR/file/g.json: folder $DIR/file: not a folder"

"$BENCH" --help > "$DIR/out" 2> "$DIR/err" || fail "--help: exit status $?"
[ ! -s "$DIR/err" ] || fail "--help wrote to stderr"
grep -q '^usage: pto2-bench ' "$DIR/out" || fail "--help: no usage"
grep -q -- '--rounds 10 (1..10000)' "$DIR/out" || fail "--help: no default for --rounds"
grep -q -- '--case Case1' "$DIR/out" || fail "--help: no default for --case"
echo "ok: --help lists the defaults"

# One run: "1 run", not "1 runs".
"$BENCH" --case Small1 --lane graph --kernels noop --rounds 1 --warmup 0 > "$DIR/out" 2>&1 ||
  fail "one run: $(cat "$DIR/out")"
grep -q '^ok: 1 run completed;' "$DIR/out" || fail "one run: $(tail -2 "$DIR/out")"
echo "ok: 1 run completed"
echo "test_bench_args: ok"
