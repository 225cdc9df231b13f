#!/bin/sh
# Runs the peer harnesses and pto2's lanes on the same task graphs,
# interleaved: each pass runs every runtime once per graph and kernel (one
# process each, in an order rotated from pass to pass); the tables show the
# median over passes of each process's median round.  The graphs: paged
# attention (pto2-bench's lanes; graph.h's paged_attention scene) for each
# case, and the tiled GEMM (pto2-tmap-bench's bgemm lanes; the bgemm scene).
#
#   run.sh PEERS_DIR PTO2_BENCH [PTO2_TMAP_BENCH]
#   run.sh --check      only checks the environment below (make bench-peers
#                       runs it before building anything)
# PTO2_TMAP_BENCH defaults to pto2-tmap-bench next to PTO2_BENCH.  Exits 2
# on a bad setting, before any run; 1 when a run failed (after the tables).
# x ideal (busy kernels): elapsed / (tasks x busy / threads), threads = 1 for
# the sequential loop.
# Environment: PASSES (default 5), ROUNDS per process (3),
# SCENES ("paged_attention bgemm"), CASES of paged attention ("Case1 Case2"),
# GRID and K of bgemm (64 and 4: 16,384 tasks),
# BUSY_US ("0 2": empty kernels and 2 us spins), THREADS (2).
# The peers know the paged-attention cases Case1 and Case2 only.
set -eu
CHECK_ONLY=
if [ "${1:-}" = --check ]; then
  CHECK_ONLY=1
else
  if [ $# -lt 2 ]; then
    echo "usage: run.sh PEERS_DIR PTO2_BENCH [PTO2_TMAP_BENCH] | run.sh --check" >&2
    exit 2
  fi
  PEERS=$1
  BENCH=$2
  TMAP=${3:-$(dirname "$BENCH")/pto2-tmap-bench}
fi
PASSES=${PASSES:-5}
ROUNDS=${ROUNDS:-3}
SCENES=${SCENES:-"paged_attention bgemm"}
CASES=${CASES:-"Case1 Case2"}
GRID=${GRID:-64}
K=${K:-4}
BUSY_US=${BUSY_US:-"0 2"}
THREADS=${THREADS:-2}

# The graphs, one word each: a paged-attention case, or bgemm-G<G>-K<K>
# (the label the harnesses print).
GRAPHS=""
for s in $SCENES; do
  case $s in
    paged_attention) GRAPHS="$GRAPHS $CASES" ;;
    bgemm) GRAPHS="$GRAPHS bgemm-G$GRID-K$K" ;;
    *) echo "run.sh: unknown scene '$s' (paged_attention, bgemm)" >&2; exit 2 ;;
  esac
done
for c in $CASES; do
  case $c in
    Case1 | Case2) ;;
    *) echo "run.sh: unsupported CASES value '$c': the peers run paged attention's Case1 and" \
            "Case2 only (CASES=\"Case1 Case2\", the default)" >&2
       exit 2 ;;
  esac
done
[ -n "$CHECK_ONLY" ] && exit 0

RUNTIMES=""
for r in seq openmp onetbb taskflow starpu; do
  [ -x "$PEERS/$r" ] && RUNTIMES="$RUNTIMES $r"
done
RUNTIMES="$RUNTIMES pto2"
RAW=$(mktemp)
trap 'rm -f "$RAW"' EXIT

# pto2-bench's worker_threads: executor threads besides the caller.
WORKERS=$((THREADS - 1))

run_one() { # runtime graph busy_us -> lines "runtime graph kernels us tasks"
  rt=$1 c=$2 us=$3
  k=noop; [ "$us" -gt 0 ] && k=busy
  case $c in
    bgemm-*) peer_graph="--scene bgemm --grid $GRID --k $K"
             pto2_prog=$TMAP pto2_graph="--scene bgemm --grid $GRID --k $K --repeat $ROUNDS" ;;
    *) peer_graph="--scene paged_attention --case $c"
       pto2_prog=$BENCH pto2_graph="--case $c --rounds $ROUNDS" ;;
  esac
  # A process that fails (a failed verification or count included) leaves
  # no line: the caller reports it.
  if [ "$rt" = pto2 ]; then
    if [ "$us" -gt 0 ]; then kargs="--kernels busy --busy-us $us"; else kargs="--kernels noop"; fi
    # shellcheck disable=SC2086
    out=$("$pto2_prog" $pto2_graph --lane all $kargs --threads "$WORKERS" --warmup 1 --format json) || return 1
    echo "$out" |
      sed -n 's/.*"lane":"\([a-z]*\)".*"tasks":\([0-9]*\).*"elapsed_us":{"median":\([0-9.]*\).*/pto2:\1 \2 \3/p' |
      while read -r name tasks us_med; do echo "$name $c $k $us_med $tasks"; done
  else
    # shellcheck disable=SC2086
    out=$("$PEERS/$rt" $peer_graph --busy-us "$us" --threads "$THREADS" --rounds "$ROUNDS" --warmup 1) ||
      return 1
    echo "$out" |
      sed -n 's/.*"tasks":\([0-9]*\).*"elapsed_us":{"median":\([0-9.]*\).*/\1 \2/p' |
      while read -r tasks us_med; do echo "$rt $c $k $us_med $tasks"; done
  fi
}

n=$(echo $RUNTIMES | wc -w)
failed=0
for pass in $(seq 1 "$PASSES"); do
  # rotate the order by the pass number
  order=$(echo $RUNTIMES | tr ' ' '\n' | awk -v s="$pass" -v n="$n" '{a[NR]=$0} END{for(i=0;i<n;i++) print a[(i+s)%n+1]}')
  for c in $GRAPHS; do
    for us in $BUSY_US; do
      for rt in $order; do
        if ! run_one "$rt" "$c" "$us" >>"$RAW"; then
          echo "run.sh: $rt $c us=$us failed" >&2
          failed=$((failed + 1))
        fi
      done
    done
  done
  echo "pass $pass of $PASSES done" >&2
done

echo
echo "peers:$GRAPHS, $THREADS threads, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs"
echo "paged attention: pto2's graph lane's tasks and edges (pto2-bench); bgemm-G<G>-K<K>: C += A x B on"
echo "G x G tiles of C, K steps, a chain of K tasks per tile (pto2-tmap-bench --scene bgemm)"
echo "median over $PASSES interleaved processes of each process's median of $ROUNDS rounds"
echo "x graph = elapsed / pto2 graph lane's; x seq = elapsed / sequential loop's;"
echo "busy kernels: x ideal = elapsed / (tasks x busy / $THREADS threads; 1 for seq)"
awk -v threads="$THREADS" -v busy_list="$BUSY_US" '
  function median(s,   n, v, i, j, t) {
    n = split(s, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
    return n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2
  }
  {
    key = $2 " " $3; k[key] = 1; r[$1] = 1
    vals[key SUBSEP $1] = vals[key SUBSEP $1] " " $4; tasks[key SUBSEP $1] = $5
  }
  END {
    split(busy_list, bl, " "); busy = 0; for (i in bl) if (bl[i] > 0) busy = bl[i]
    for (key in k) keys[++nk] = key
    for (i = 2; i <= nk; i++) for (j = i; j > 1 && keys[j-1] > keys[j]; j--) { t = keys[j]; keys[j] = keys[j-1]; keys[j-1] = t }
    for (ki = 1; ki <= nk; ki++) {
      key = keys[ki]; split(key, kk, " ")
      printf "\n%s  kernels=%s\n", kk[1], kk[2]
      printf "  %-14s %8s %14s %10s %9s %9s%s\n", "runtime", "tasks", "elapsed(us)", "ns/task", "x graph", "x seq", kk[2] == "busy" ? "   x ideal" : ""
      g = (key SUBSEP "pto2:graph") in vals ? median(vals[key SUBSEP "pto2:graph"]) : 0
      s = (key SUBSEP "seq") in vals ? median(vals[key SUBSEP "seq"]) : 0
      n = split("seq pto2:graph pto2:auto pto2:manual taskflow onetbb openmp starpu", names, " ")
      for (i = 1; i <= n; i++) {
        if (!((key SUBSEP names[i]) in vals)) continue
        m = median(vals[key SUBSEP names[i]]); tk = tasks[key SUBSEP names[i]]
        printf "  %-14s %8d %14.1f %10.1f %9s %9s", names[i], tk, m, m * 1000 / tk, g ? sprintf("%.3f", m / g) : "-", s ? sprintf("%.2f", m / s) : "-"
        if (kk[2] == "busy") printf " %9.3f", m / (tk * busy / (names[i] == "seq" ? 1 : threads))
        printf "\n"
      }
    }
  }' "$RAW"
if [ "$failed" -gt 0 ]; then
  echo "run.sh: $failed run(s) failed (see above); their rows are missing" >&2
  exit 1
fi
