#!/bin/sh
# pto2-report takes a trace and a graph of one run only: the files of one run
# make a report; a trace of one run with the graph of another (or with a
# graph without a run id) is refused with a message naming both ids, exit 1,
# and nothing on stdout.
#
#   test_report_run_id.sh PTO2_BENCH PTO2_REPORT
set -u
BENCH=$1
REPORT=$2
DIR=$(mktemp -d "${TMPDIR:-/tmp}/pto2-report-run-id.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "test_report_run_id: FAILED: $*"; exit 1; }

for run in 1 2; do
  "$BENCH" --scene paged_attention --case Small1 --lane auto --rounds 1 --warmup 0 \
    --trace "$DIR/trace$run.json" --graph "$DIR/graph$run.json" > "$DIR/bench$run.out" 2>&1 \
    || { cat "$DIR/bench$run.out"; fail "pto2-bench (run $run)"; }
done
grep -q '"run_id":"[^"]' "$DIR/trace1.json" || fail "no run_id in the trace"
grep -q '"run_id":"[^"]' "$DIR/graph1.json" || fail "no run_id in the graph"

"$REPORT" "$DIR/trace1.json" "$DIR/graph1.json" > "$DIR/ok.html" 2> "$DIR/ok.err" \
  || { cat "$DIR/ok.err"; fail "the files of one run were refused"; }
[ -s "$DIR/ok.html" ] || fail "empty report"

"$REPORT" "$DIR/trace1.json" "$DIR/graph2.json" > "$DIR/mixed.html" 2> "$DIR/mixed.err"
rc=$?
[ $rc -eq 1 ] || fail "trace and graph of different runs: exit $rc, expected 1"
grep -q "are not from the same run (run_id .* vs .*)" "$DIR/mixed.err" \
  || fail "no clear message: $(cat "$DIR/mixed.err")"
[ -s "$DIR/mixed.html" ] && fail "a report was written for files of different runs"

sed 's/"run_id":"[^"]*",//' "$DIR/graph1.json" > "$DIR/graph-noid.json"
"$REPORT" "$DIR/trace1.json" "$DIR/graph-noid.json" > "$DIR/noid.html" 2> "$DIR/noid.err"
rc=$?
[ $rc -eq 1 ] || fail "graph without a run id: exit $rc, expected 1"
grep -q "vs none" "$DIR/noid.err" || fail "no clear message: $(cat "$DIR/noid.err")"

echo "test_report_run_id: 1 passed, 0 failed"
