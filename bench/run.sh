#!/usr/bin/env bash
# StreamLb beside nginx and HAProxy, in one command: installs what is missing, builds in Release, runs every load
# against the three proxies in turn, and writes bench/results/latest.{md,png,json}. Bounded to 10 minutes in all.
# Settings (environment): see bench/README.md.
set -euo pipefail

limit=${BENCH_TOTAL_SECONDS:-600}
bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$bench")
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo

missing=()
command -v nginx >/dev/null || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
command -v openssl >/dev/null || missing+=(openssl)
command -v taskset >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
source "$bench/prepare.sh" dotnet python3 -- 300

# 2000 idle connections through a proxy need ~4000 descriptors in it and 2000 in the client.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

source "$bench/started.sh" bench

left=$((limit - SECONDS - 15))
export BENCH_TIME_LIMIT=$((left - 40))  # the benchmark skips a round that would not fit
cd "$bench"
timeout -k 10 "$left" python3 bench.py
