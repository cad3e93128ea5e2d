#!/usr/bin/env bash
# A local three-node cluster and two echo backends, all on loopback, in one command:
#   wss://127.0.0.1:8443, :8444, :8445 (nodes a, b, c; cluster ports 4053-4055; admin API on 8081-8083)
#   echo backends ws://127.0.0.1:9001 and :9002
# Ctrl+C stops everything. Logs go to ./cluster-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/StreamLb.Host -c Release -v quiet -nologo
bin=src/StreamLb.Host/bin/Release/net10.0
echo_bin=src/StreamLb.EchoBackend/bin/Release/net10.0
mkdir -p cluster-logs
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

dotnet "$echo_bin/StreamLb.EchoBackend.dll" 127.0.0.1:9001 echo-1 > cluster-logs/echo-1.log 2>&1 & pids+=($!)
dotnet "$echo_bin/StreamLb.EchoBackend.dll" 127.0.0.1:9002 echo-2 > cluster-logs/echo-2.log 2>&1 & pids+=($!)

start_node() { # name tls-port-offset
  local name=$1 i=$2
  dotnet "$bin/StreamLb.Host.dll" run -c "cluster-config/node-$name.conf" \
    --cluster-port $((4053 + i)) --seed 127.0.0.1:4053 --admin 127.0.0.1:$((8081 + i)) \
    > "cluster-logs/node-$name.log" 2>&1 &
  pids+=($!)
}

# Node a first: it generates the development certificate the others then load.
start_node a 0
until grep -q "listening on 127.0.0.1:8443" cluster-logs/node-a.log; do
  sleep 0.5
  kill -0 "${pids[-1]}" || { cat cluster-logs/node-a.log; exit 1; }
done
start_node b 1
start_node c 2
echo "cluster up: wss://127.0.0.1:8443 :8444 :8445, admin http://127.0.0.1:8081/api/stream/upstreams; logs in cluster-logs/"
wait
