#!/bin/sh
# pto2-bench's observability options: --summary prints the per-kernel table
# (calls adding up to the run's tasks), --graph and --trace files agree with
# the tasks and edges the bench reports, and the progress line appears on
# stderr only when stderr is a terminal.
#
#   test_bench_observe.sh PTO2_BENCH
set -u
BENCH=$1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/pto2-bench-observe.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "test_bench_observe: FAILED: $*"; exit 1; }
ARGS="--scene paged_attention --case VarSeq4 --lane manual --rounds 2 --warmup 0"

"$BENCH" $ARGS --format json --graph "$DIR/g.json" --trace "$DIR/t.json" \
  > "$DIR/out.json" 2> "$DIR/err" || fail "bench run"
[ ! -s "$DIR/err" ] || fail "stderr is not a terminal, yet the bench wrote: $(cat "$DIR/err")"
TASKS=$(sed -n 's/.*"tasks":\([0-9]*\),.*/\1/p' "$DIR/out.json")
EDGES=$(sed -n 's/.*"edges":\([0-9]*\),.*/\1/p' "$DIR/out.json")
grep -q "\"run\":{\"tasks\":$TASKS,\"edges\":$EDGES," "$DIR/g.json" || fail "graph counts differ from the run's"
grep -q "\"tasks\":$TASKS,\"edges\":$EDGES," "$DIR/t.json" || fail "trace counts differ from the run's"

"$BENCH" $ARGS --summary > "$DIR/summary" 2>&1 || fail "bench --summary"
grep -q "^summary of the last round: paged_attention-VarSeq4-manual" "$DIR/summary" || fail "no summary"
CALLS=$(sed -n '/^per kernel/,/share: of all/p' "$DIR/summary" | awk '$2 ~ /^[0-9]+$/ { s += $2 } END { print s }')
[ "$CALLS" = "$TASKS" ] || fail "per-kernel calls $CALLS != tasks $TASKS"
grep -q "^critical path: " "$DIR/summary" || fail "no critical path"
grep -q "^edges by reason: creator 0, tensormap 0, submit_dep 0, add_dependency $EDGES;" "$DIR/summary" \
  || fail "edges by reason: $(grep '^edges by reason' "$DIR/summary")"

# On a terminal (util-linux script gives the bench a pty) the progress line shows.
if command -v script > /dev/null 2>&1; then
  script -qec "\"$BENCH\" $ARGS" /dev/null > "$DIR/tty" 2>&1 || fail "bench on a pty"
  grep -q "paged_attention VarSeq4 manual: round 2/2" "$DIR/tty" || fail "no progress line on a terminal"
else
  echo "test_bench_observe: no 'script' command; the terminal case is not checked"
fi
# A .dot graph is Graphviz, one arrow per edge and hold.
"$BENCH" $ARGS --graph "$DIR/g.dot" > /dev/null || fail "bench --graph FILE.dot"
head -1 "$DIR/g.dot" | grep -q '^digraph pto2 {' || fail "no DOT header"
HOLDS=$(sed -n 's/.*"recorded_edges":[0-9]*,"holds":\([0-9]*\),.*/\1/p' "$DIR/g.json")
[ "$(grep -c ' -> ' "$DIR/g.dot")" -eq $((EDGES + HOLDS)) ] || fail "DOT arrows != edges + holds"
echo "test_bench_observe: ok"
