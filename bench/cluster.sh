#!/usr/bin/env bash
# The cluster variant: StreamLb as one node, then as a local three-node cluster, both in front of the same two
# WebSocket echo backends; measures what the sharded balancer's pick adds to a new connection, and connections per
# second through one node against all three. Writes bench/results/cluster-latest.md. Bounded to 8 minutes in all.
# Settings (environment): see bench/README.md.
set -euo pipefail

limit=${BENCH_TOTAL_SECONDS:-480}
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")

source "$bench/prepare.sh" dotnet python3 openssl taskset -- 150

source "$bench/started.sh" cluster-bench

left=$((limit - SECONDS - 15))
export BENCH_TIME_LIMIT=$((left - 20))  # the benchmark gives up on a load that would not fit
cd "$bench"
timeout -k 10 "$left" python3 cluster.py
