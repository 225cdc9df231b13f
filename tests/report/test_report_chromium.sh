#!/bin/sh
# The HTML report in a real browser: headless Chromium loads the report of a
# small paged-attention run (pto2-bench --report, and pto2-report from the
# trace and graph files) without console errors or viewer errors, and the
# rendered page shows the run's task count, the per-kernel table, the
# timeline, the dependency graph and the critical path.  The page makes no
# network fetches.  A report with broken data is detected (the check can
# fail).  Exit 77 (skipped) when no Chromium is installed ("make deps"
# installs the Debian package chromium).
#
#   test_report_chromium.sh PTO2_BENCH PTO2_REPORT
set -u
BENCH=$1
REPORT=$2
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "test_report_chromium: no chromium found; skipped (make deps installs it)"
  exit 77
fi
DIR=$(mktemp -d "${TMPDIR:-/tmp}/pto2-report-test.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
fail() { echo "test_report_chromium: FAILED: $*"; exit 1; }

"$BENCH" --scene paged_attention --case Small1 --lane auto --rounds 1 --warmup 0 \
  --trace "$DIR/trace.json" --graph "$DIR/graph.json" --report "$DIR/bench.html" \
  > "$DIR/bench.out" 2>&1 || { cat "$DIR/bench.out"; fail "pto2-bench"; }
"$REPORT" "$DIR/trace.json" "$DIR/graph.json" --title "Small1 auto" > "$DIR/cli.html" \
  || fail "pto2-report"
# Wrong inputs are refused with a message, not turned into a broken page.
if "$REPORT" "$DIR/graph.json" "$DIR/trace.json" > "$DIR/bad.html" 2> "$DIR/bad.err"; then
  fail "pto2-report accepted a graph as the trace"
fi
grep -q "is not a pto2 trace" "$DIR/bad.err" || fail "no message for a wrong input: $(cat "$DIR/bad.err")"

TASKS=$(sed -n 's/.*"run":{"tasks":\([0-9]*\),.*/\1/p' "$DIR/graph.json")
KERNELS=$(grep -o '"calls":' "$DIR/graph.json" | wc -l)
[ -n "$TASKS" ] && [ "$TASKS" -gt 0 ] || fail "no task count in graph.json"

# Loads the page; prints the DOM after the scripts ran, console output in $2.
render() {
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$DIR/profile" --enable-logging=stderr --v=0 \
    --virtual-time-budget=5000 --dump-dom "file://$1" 2> "$2"
}

for page in bench cli; do
  html="$DIR/$page.html"
  # Self-contained: no external scripts, styles, images or fetches.
  if grep -Eq '(src|href)=["'"'"']?(https?:)?//|fetch\(|XMLHttpRequest|@import' "$html"; then
    fail "$page.html refers to the network"
  fi
  render "$html" "$DIR/$page.console" > "$DIR/$page.dom" || fail "chromium failed on $page.html"
  if grep -Ei 'Uncaught|:ERROR:CONSOLE|CONSOLE.*(Error|error)' "$DIR/$page.console"; then
    fail "console errors in $page.html"
  fi
  dom="$DIR/$page.dom"
  grep -q 'data-status="ok"' "$dom" || fail "$page.html: viewer did not finish: $(grep -o 'id="status"[^<]*' "$dom")"
  grep -q "id=\"task-count\">$TASKS<" "$dom" || fail "$page.html: task count $TASKS not shown"
  grep -q "data-tasks=\"$TASKS\"" "$dom" || fail "$page.html: body lists a different task count"
  ROWS=$(sed -n '/id="kernel-table"/,/<\/table>/p' "$dom" | grep -o '<tr>' | wc -l)
  [ "$ROWS" -eq $((KERNELS + 1)) ] || fail "$page.html: $ROWS kernel table rows, want $((KERNELS + 1))"
  grep -q '<canvas id="timeline"' "$dom" || fail "$page.html: no timeline"
  grep -q '<canvas id="rings"' "$dom" || fail "$page.html: no occupancy plot"
  grep -Eq '<svg id="graph"[^>]*data-nodes="[1-9]' "$dom" || fail "$page.html: empty dependency graph"
  grep -q '<ol id="critical-path"><li>' "$dom" || fail "$page.html: no critical path"
done
grep -q 'Small1 auto' "$DIR/cli.dom" || fail "cli.html: title missing"

# The check can fail: a report whose data is broken must not pass as "ok".
sed 's/"format":"pto2-graph"/"format":"pto2-graph",/' "$DIR/cli.html" > "$DIR/broken.html"
render "$DIR/broken.html" "$DIR/broken.console" > "$DIR/broken.dom"
if grep -q 'data-status="ok"' "$DIR/broken.dom"; then fail "a broken report rendered as ok"; fi
grep -q 'Uncaught' "$DIR/broken.console" || fail "a broken report raised no console error"

echo "test_report_chromium: ok ($TASKS tasks, $KERNELS kernels, 2 pages)"
