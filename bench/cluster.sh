#!/usr/bin/env bash
# The cluster variant: StreamLb as one node, then as a local three-node cluster, both in front of the same two
# WebSocket echo backends; measures what the sharded balancer's pick adds to a new connection, and connections per
# second through one node against all three. Writes bench/results/cluster-latest.md. Bounded to 5 minutes in all.
# Settings (environment): see bench/README.md.
set -euo pipefail

limit=${BENCH_TOTAL_SECONDS:-300}
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")

for tool in dotnet python3 openssl taskset; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
    echo "note: one CPU only: nodes and client share it" >&2
    export BENCH_PROXY_CPU=${BENCH_PROXY_CPU:-0} BENCH_CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
fi

echo "building (Release)"
timeout 150 dotnet build "$root/src/StreamLb.Host" -c Release -nologo -v q >/dev/null
timeout 60 dotnet build "$bench/WsLoad" -c Release -nologo -v q >/dev/null

source "$bench/started.sh" cluster-bench

left=$((limit - SECONDS - 15))
export BENCH_TIME_LIMIT=$((left - 20))  # the benchmark gives up on a load that would not fit
cd "$bench"
timeout -k 10 "$left" python3 cluster.py
