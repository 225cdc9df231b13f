#!/bin/sh
# make bench-peers' checks, without building or running a real peer:
#  - run.sh --check rejects a CASES value the peers do not know (exit 2,
#    naming Case1 and Case2) and accepts the supported ones;
#  - a peer skipped at build time leaves no binary from an earlier build
#    (the peers Makefile with TASKFLOW_DIR pointing nowhere, only seq and
#    openmp built);
#  - a peer run that fails makes run.sh exit 1, after the tables.
#
#   test_run.sh PEERS_SOURCE_DIR
set -u
SRC=$1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/pto2-peers-run.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "test_peers_run: FAILED: $*"; exit 1; }

CASES=Small1 sh "$SRC/run.sh" --check 2> "$DIR/err"
rc=$?
[ "$rc" -eq 2 ] || fail "CASES=Small1: exit status $rc, not 2"
grep -q "unsupported CASES value 'Small1'.*Case1 and Case2 only" "$DIR/err" ||
  fail "CASES=Small1: $(cat "$DIR/err")"
echo "ok: CASES=Small1 -> $(cat "$DIR/err")"
CASES="Case2 Case1" sh "$SRC/run.sh" --check || fail "CASES='Case2 Case1' rejected"
SCENES=bgemm CASES=Small1 sh "$SRC/run.sh" --check 2>/dev/null && fail "SCENES=bgemm CASES=Small1 accepted"
echo "ok: supported cases pass --check"

# A stale Taskflow binary from an earlier build is removed when Taskflow is
# skipped (oneTBB and StarPU left out: only the C harnesses are compiled).
mkdir -p "$DIR/peers"
printf '#!/bin/sh\necho stale\n' > "$DIR/peers/taskflow"
chmod +x "$DIR/peers/taskflow"
make -s -C "$SRC" OUT="$DIR/peers" TASKFLOW_DIR="$DIR/nowhere" HAVE_TBB=no HAVE_STARPU=no \
  > "$DIR/make.out" 2>&1 || fail "peers make: $(cat "$DIR/make.out")"
grep -q "Taskflow skipped" "$DIR/make.out" || fail "no 'Taskflow skipped': $(cat "$DIR/make.out")"
[ ! -e "$DIR/peers/taskflow" ] || fail "the stale taskflow binary is still there"
[ -x "$DIR/peers/seq" ] || fail "seq not built"
echo "ok: skipped Taskflow, stale binary removed"

# A failing peer: run.sh reports it and exits 1.  The fake pto2 benches
# print nothing and succeed; the fake seq fails.
mkdir -p "$DIR/fake"
printf '#!/bin/sh\necho "seq: broken" >&2\nexit 3\n' > "$DIR/fake/seq"
printf '#!/bin/sh\nexit 0\n' > "$DIR/fake/pto2-bench"
cp "$DIR/fake/pto2-bench" "$DIR/fake/pto2-tmap-bench"
chmod +x "$DIR/fake/seq" "$DIR/fake/pto2-bench" "$DIR/fake/pto2-tmap-bench"
PASSES=1 ROUNDS=1 SCENES=paged_attention CASES=Case1 BUSY_US=0 \
  sh "$SRC/run.sh" "$DIR/fake" "$DIR/fake/pto2-bench" > "$DIR/out" 2> "$DIR/err"
rc=$?
[ "$rc" -eq 1 ] || fail "a failing peer: exit status $rc, not 1"
grep -q "seq Case1 us=0 failed" "$DIR/err" || fail "no failure line: $(cat "$DIR/err")"
grep -q "1 run(s) failed" "$DIR/err" || fail "no failure count: $(cat "$DIR/err")"
echo "ok: a failing peer -> exit 1"
echo "test_peers_run: ok"
