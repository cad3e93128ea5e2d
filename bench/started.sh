# Sourced by run.sh and cluster.sh: every program a benchmark starts is written to $BENCH_PIDFILE, and whatever
# happens (end, failure, Ctrl+C), nothing it started survives it.
export BENCH_PIDFILE
BENCH_PIDFILE=$(mktemp "/tmp/streamlb-${1:-bench}-pids.XXXXXX")
stop_started() {
    while read -r pid; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done <"$BENCH_PIDFILE"
    sleep 1
    while read -r pid; do
        kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$BENCH_PIDFILE"
    rm -f "$BENCH_PIDFILE"
}
trap stop_started EXIT
