# Sourced by run.sh and cluster.sh once their tools are there: checks them, shares the machine out when it has one
# CPU only, and builds what the benchmarks run, in Release (bounded).
# Arguments: the tools to check, then "--", then the build's time limit in seconds.
# Needs $root and $bench (the repository and bench/ folders).
while [ "$1" != "--" ]; do
    command -v "$1" >/dev/null || { echo "$1 is required (the .NET 10 SDK for dotnet)" >&2; exit 1; }
    shift
done
build_limit=$2

if [ "$(nproc)" -lt 2 ]; then
    echo "note: one CPU only: the proxies and the load generators share it" >&2
    export BENCH_PROXY_CPU=${BENCH_PROXY_CPU:-0} BENCH_CLIENT_CPU=${BENCH_CLIENT_CPU:-0}
fi

echo "building (Release)"
timeout "$build_limit" dotnet build "$root/src/StreamLb.Host" -c Release -nologo -v q >/dev/null
timeout "$build_limit" dotnet build "$bench/WsLoad" -c Release -nologo -v q >/dev/null
