#!/usr/bin/env python3
"""The cluster variant: what the sharded balancer's pick adds to a new connection. Run through bench/cluster.sh, which
builds the project first.

Two WebSocket echo backends behind (1) a single StreamLb node (a cluster of one), then (2) a local cluster of three
nodes (b and c seeded from a), every node with the same upstream (least_conn over the two backends). Figures:
- connect latency: N sequential new wss connections through each node, each timed from its TCP connect to its first
  echoed message (TLS handshake, upgrade, pick, backend connect, one round trip) and then closed; p50/p99 per node,
  and cluster minus single node. The node hosting the balancer entity picks with a local ask, the other two with the
  pick the balancer made ahead for them (or a remote ask when there is none); which node hosts it cannot be seen from
  outside, so every node is reported.
- connections per second: the same connections, PARALLEL at a time, through the single node, through one cluster
  node, and through all three cluster nodes at once (the workers spread over the three).
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench import (finish, BENCH, CLIENT_CPU, PROXY_CPU, ROOT, Processes, compiler_threads, cpu_seconds, dedent,
                   free_port, machine, run, wait_for_port)

RESULTS = os.path.join(BENCH, "results")
WSLOAD = os.path.join(BENCH, "WsLoad/bin/Release/net10.0/WsLoad.dll")
HOST = os.path.join(ROOT, "src/StreamLb.Host/bin/Release/net10.0/StreamLb.Host.dll")
ECHO = os.path.join(ROOT, "src/StreamLb.EchoBackend/bin/Release/net10.0/StreamLb.EchoBackend.dll")

SEQUENTIAL = int(os.environ.get("BENCH_CLUSTER_CONNECTIONS", 300))  # per node and round, one after another
ROUNDS = int(os.environ.get("BENCH_CLUSTER_ROUNDS", 3))
RATE_CONNECTIONS = int(os.environ.get("BENCH_CLUSTER_RATE_CONNECTIONS", 1500))
PARALLEL = int(os.environ.get("BENCH_CLUSTER_PARALLEL", 24))
WARM_ROUNDS = int(os.environ.get("BENCH_CLUSTER_WARM_ROUNDS", 3))  # warm-ups before measuring each set-up
DEADLINE = time.monotonic() + int(os.environ.get("BENCH_TIME_LIMIT", 240))
NODES = ["a", "b", "c"]


def connect(urls, count, parallel, seconds=90, pids=()):
    """bench/WsLoad connect: one JSON line with the totals and the figures per URL; with pids, the CPU seconds those
    nodes spent meanwhile (utime+stime), as µs per connection."""
    before = sum(cpu_seconds(p) for p in pids)
    if time.monotonic() + 5 > DEADLINE:
        raise RuntimeError("out of time")
    out = run(["dotnet", WSLOAD, "connect", ",".join(urls), str(count), str(parallel), "32", str(seconds)],
              timeout=seconds + 20)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"WsLoad connect printed nothing (code {out.returncode}): {out.stderr[-400:]}")
    r = json.loads(lines[-1])
    if pids and r["connections"]:
        r["cpu_us_per_conn"] = (sum(cpu_seconds(p) for p in pids) - before) * 1e6 / r["connections"]
    return r


class Bench:
    def __init__(self, workdir, procs):
        self.dir, self.procs = workdir, procs
        self.cert, self.key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
        self.echo_ports = [free_port(), free_port()]
        self.admin = {}  # node name -> its pick latency URL (admin API)

    def picks(self, name, reset=False):
        """The node's own pick latency histogram (GET), or start it afresh (DELETE)."""
        request = urllib.request.Request(self.admin[name], method="DELETE" if reset else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return None if reset else json.loads(response.read())

    def prepare(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True, timeout=60)
        self.write("upstreams.conf", f"""
            # Shared by every node: in a cluster, every node carries the same upstream blocks.
            upstream ws_backends {{
                least_conn;
                server 127.0.0.1:{self.echo_ports[0]};
                server 127.0.0.1:{self.echo_ports[1]};
            }}""")
        echoes = [self.procs.start(f"echo-{i}", ["dotnet", ECHO, f"127.0.0.1:{port}", f"echo-{i}"], cpu=CLIENT_CPU)
                  for i, port in enumerate(self.echo_ports)]
        for port, proc in zip(self.echo_ports, echoes):
            wait_for_port(port, proc)

    def node(self, name, seed_port=None):
        """One StreamLb node with its own listen port; returns (process, wss URL, listen port, cluster port)."""
        listen, cluster, admin = free_port(), free_port(), free_port()
        self.admin[name] = f"http://127.0.0.1:{admin}/api/stream/picks"
        conf = self.write(f"node-{name}.conf", f"""
            stream {{
                include upstreams.conf;
                ssl_certificate {self.cert};
                ssl_certificate_key {self.key};
                ssl_protocols TLSv1.2 TLSv1.3;
                proxy_connect_timeout 10s;
                proxy_timeout 10m;
                server {{ listen 127.0.0.1:{listen} ssl; proxy_pass ws_backends; }}
            }}""")
        argv = ["dotnet", HOST, "run", "-c", conf, "--admin", f"127.0.0.1:{admin}", "--cluster-port", str(cluster)]
        if seed_port is not None:  # "self": the first node of a cluster seeds itself, as scripts/local-cluster.sh does
            argv += ["--seed", f"127.0.0.1:{cluster if seed_port == 'self' else seed_port}"]
        proc = self.procs.start(f"node-{name}", argv, cpu=PROXY_CPU, env={"DOTNET_PROCESSOR_COUNT": "1"})
        return proc, f"wss://127.0.0.1:{listen}/", listen, cluster

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(dedent(text))
        return path


def wait_listening(proc, port, name, workdir, seconds=90):
    wait_for_port(port, proc, seconds)
    log = os.path.join(workdir, f"node-{name}.log")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if f"listening on 127.0.0.1:{port}" in open(log, errors="replace").read():
            return
        time.sleep(0.2)
    raise RuntimeError(f"node {name} never logged that it listens on {port}")


def warm(b, names, urls, pids):
    """Not measured, WARM_ROUNDS times: the JIT of every node's connection path (the framework's precompiled methods
    compiled again once hot: tiered compilation), the balancer entity started, every node's first asks; then waits
    until the nodes are idle. Every node's admin API is asked first: its first request compiles the web server's
    routing and JSON (~2,000 methods, a few hundred ms of CPU), which would otherwise run during the first round."""
    for name in names:
        b.picks(name, reset=True)
        b.picks(name)
    for _ in range(WARM_ROUNDS):
        r = connect(urls, 600 * len(urls), 4 * len(urls))
        if r["errors"]:
            raise RuntimeError(f"warm-up through {urls}: {r['errors']} errors")
        for url in urls:
            connect([url], 150, 1)
    settle(pids)


def settle(pids, seconds=180, window=5):
    """Waits (at most `seconds`) for a window in which no node spends more than 2% of a CPU and no node's runtime
    compiles: tiered compilation compiles a method again once it has run often enough (twice with dynamic PGO: once to
    measure it, once with what was measured), and the methods only the cluster's periodic work runs (gossip,
    heartbeats) get there a minute or more after a start. Those compilations are what a node does in its first minutes,
    not what it does for a connection, and on the shared CPU they stall the other nodes too."""
    end = time.monotonic() + seconds
    began = time.monotonic()
    while time.monotonic() < end:
        before = [cpu_seconds(p) for p in pids]
        compiling = [compiler_threads(p) for p in pids]
        time.sleep(window)
        idle = max(cpu_seconds(p) - b for p, b in zip(pids, before)) < 0.02 * window
        if idle and all(compiler_threads(p).items() <= c.items() for p, c in zip(pids, compiling)):
            print(f"nodes idle and done compiling after {time.monotonic() - began:.0f} s", flush=True)
            return
    print(f"nodes still busy or compiling after {seconds} s of settling; measuring anyway", flush=True)


def med(values):
    return statistics.median(values) if values else None


def ms(us):
    return f"{us / 1e3:.2f}" if us is not None else "–"


def main():
    def on_signal(signum, _):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    began = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="streamlb-cluster-bench-")
    procs = Processes(workdir)
    ok = False
    try:
        b = Bench(workdir, procs)
        b.prepare()
        latency = {}   # case -> list of per-round (p50_us, p99_us)
        rates = {}     # case -> result
        picks = {}     # case -> the node's own pick latency over the sequential rounds
        errors = 0

        # (1) One node, a cluster of one.
        proc, url, port, _ = b.node("single")
        wait_listening(proc, port, "single", workdir)
        warm(b, ["single"], [url], [proc.pid])
        b.picks("single", reset=True)
        for _ in range(ROUNDS):
            r = connect([url], SEQUENTIAL, 1)
            errors += r["errors"]
            latency.setdefault("single", []).append((r["all"]["p50_us"], r["all"]["p99_us"]))
            print(f"single node: p50 {ms(r['all']['p50_us'])} ms, p99 {ms(r['all']['p99_us'])} ms", flush=True)
        picks["single"] = b.picks("single")
        rates["single"] = connect([url], RATE_CONNECTIONS, PARALLEL, pids=[proc.pid])
        errors += rates["single"]["errors"]
        print(f"single node: {rates['single']['rate']:.0f} connections/s", flush=True)
        procs.check_alive()
        procs.stop(proc)

        # (2) Three nodes; b and c seeded from a (a seeds itself, as scripts/local-cluster.sh does).
        nodes = {}
        a_proc, a_url, a_port, a_cluster = b.node("a", seed_port="self")
        nodes["a"] = (a_proc, a_url, a_port)
        wait_listening(a_proc, a_port, "a", workdir)
        for name in ("b", "c"):
            p, u, lp, _ = b.node(name, seed_port=a_cluster)
            nodes[name] = (p, u, lp)
        for name in ("b", "c"):
            wait_listening(nodes[name][0], nodes[name][2], name, workdir)
        urls = [nodes[n][1] for n in NODES]
        warm(b, NODES, urls, [nodes[n][0].pid for n in NODES])
        for name in NODES:
            b.picks(name, reset=True)
        for rnd in range(ROUNDS):
            order = NODES[rnd % 3:] + NODES[:rnd % 3]
            for name in order:
                r = connect([nodes[name][1]], SEQUENTIAL, 1)
                errors += r["errors"]
                latency.setdefault(name, []).append((r["all"]["p50_us"], r["all"]["p99_us"]))
                print(f"cluster node {name}: p50 {ms(r['all']['p50_us'])} ms, p99 {ms(r['all']['p99_us'])} ms", flush=True)
        for name in NODES:
            picks[name] = b.picks(name)
        pids = [nodes[n][0].pid for n in NODES]
        rates["one of three"] = connect([nodes["a"][1]], RATE_CONNECTIONS, PARALLEL, pids=pids)
        for name in NODES:
            b.picks(name, reset=True)
        rates["all three"] = connect(urls, RATE_CONNECTIONS, PARALLEL, pids=pids)
        busy_picks = {name: b.picks(name) for name in NODES}
        for case in ("one of three", "all three"):
            errors += rates[case]["errors"]
            print(f"cluster, {case}: {rates[case]['rate']:.0f} connections/s", flush=True)
        procs.check_alive()

        write_report(latency, rates, picks, busy_picks, errors, time.monotonic() - began)
        ok = True
    finally:
        finish(procs, workdir, ok)
    return 0


def pick_row(title, p):
    a = p["asked"]
    return (f"| {title} | {p['picks']} | {p['made_ahead']} | {p['fallbacks']} | {p['p50_ms']:.3f} | {p['p90_ms']:.3f} | "
            f"{p['p99_ms']:.3f} | {p['max_ms']:.3f} | {a['picks']} | {a['p50_ms']:.3f} | {a['p99_ms']:.3f} | {a['max_ms']:.3f} |")


PICK_HEAD = ["| node | picks | made ahead | by the fallback | p50 | p90 | p99 | max | asked | asked p50 | asked p99 | asked max |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]


def write_report(latency, rates, picks, busy_picks, errors, elapsed):
    info = machine()
    single50 = med([p for p, _ in latency["single"]])
    single99 = med([q for _, q in latency["single"]])
    rows = []
    for case, title in [("single", "single node (cluster of one)"), ("a", "cluster node a (seed)"),
                        ("b", "cluster node b"), ("c", "cluster node c")]:
        p50, p99 = med([p for p, _ in latency[case]]), med([q for _, q in latency[case]])
        d50 = "" if case == "single" else f"{(p50 - single50) / 1e3:+.2f}"
        d99 = "" if case == "single" else f"{(p99 - single99) / 1e3:+.2f}"
        rows.append(f"| {title} | {ms(p50)} | {ms(p99)} | {d50} | {d99} |")
    pick_rows = []
    for case, title in [("single", "single node (cluster of one)"), ("a", "cluster node a (seed)"),
                        ("b", "cluster node b"), ("c", "cluster node c")]:
        pick_rows.append(pick_row(title, picks[case]))
    busy_rows = [pick_row(f"cluster node {name}", busy_picks[name]) for name in NODES]
    worst99 = max(picks[n]["p99_ms"] for n in NODES)
    rate_rows = []
    base = rates["single"]["rate"]
    for case, title in [("single", "single node"), ("one of three", "one cluster node (a), others idle"),
                        ("all three", "all three cluster nodes at once")]:
        r = rates[case]
        per = ", ".join(f"{u['connections']} via :{u['url'].rsplit(':', 1)[1].strip('/')} p50 {ms(u['p50_us'])} ms"
                        for u in r["per_url"]) if case == "all three" else f"p50 {ms(r['all']['p50_us'])} ms, p99 {ms(r['all']['p99_us'])} ms"
        cpu = r.get("cpu_us_per_conn")
        rate_rows.append(f"| {title} | {r['rate']:.0f} | {r['rate'] / base:.2f} | {cpu:,.0f} | {per} |")
    lines = [
        "# StreamLb: one node against a three-node cluster",
        "",
        f"{info['date']} · commit `{info['commit']}` · `nproc` {info['nproc']} · {info['cpu']} · Linux {info['kernel']} · "
        f".NET SDK {info['dotnet']} · {info['openssl']}",
        "",
        f"Every StreamLb node is pinned to CPU {PROXY_CPU} (`taskset`, `DOTNET_PROCESSOR_COUNT=1`): the three cluster "
        f"nodes share the one CPU the single node had, so the cluster has the same total CPU. The client (bench/WsLoad "
        f"`connect`) and the two echo backends are pinned to CPU {CLIENT_CPU}. Every node has the same upstream "
        "(least_conn over the two echo backends), so every connection's pick is the balancer entity's of that "
        "upstream: a local ask on the node hosting it; on the others the pick the entity made ahead for that node "
        "(`NextPick`, replaced whenever it falls behind the cluster-wide counts), or a remote ask when none is held.",
        "",
        f"## Connect latency: {SEQUENTIAL} new wss connections one after another, per node, {ROUNDS} round(s)",
        "",
        "Each connection timed from its TCP connect to its first echoed 32-byte message (TLS handshake without "
        "resumption, WebSocket upgrade, the pick, the connect to the backend, one round trip), then closed. Medians "
        "of the rounds; the cluster's nodes in a rotating order. Which node hosts the balancer entity is not visible "
        "from outside: it is the node whose figures match the single node's; the other two include the remote ask.",
        "",
        "| through | p50, ms | p99, ms | p50 minus single node, ms | p99 minus single node, ms |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "## Pick latency inside the nodes",
        "",
        "Each node's own histogram of its picks over the same sequential rounds (`GET /api/stream/picks`, started "
        "afresh after the warm-up with `DELETE`): from the connection actor's ask to its answer, in ms (a percentile "
        "is its histogram bucket's upper bound, within 19%). All picks, then those the balancer answered when asked "
        "(local, or across the cluster: neither made ahead nor by the fallback). Target: p99 ≤ 2 ms through the "
        f"cluster; worst node here, all picks: **{worst99:.3f} ms**.",
        "",
        *PICK_HEAD,
        *pick_rows,
        "",
        f"## Connections per second: {RATE_CONNECTIONS} connections, {PARALLEL} at a time",
        "",
        "The same connections (connect, TLS, upgrade, one echo, close), many at once. For all three nodes the client's "
        f"{PARALLEL} workers are spread evenly over the three nodes. CPU is utime+stime (`/proc/PID/stat`) of every "
        "running node (one, or all three) over the run, divided by the connections: for one cluster node it includes "
        "what the other two spend meanwhile (the balancer entity, if one of them hosts it; gossip).",
        "",
        "| through | connections/s | × single node | CPU of all nodes, µs per connection | latency |",
        "| --- | ---: | ---: | ---: | --- |",
        *rate_rows,
        "",
        "The picks of the three nodes while all three took connections at once (histograms started afresh before): "
        f"with {PARALLEL // 3} connections at a time on each node, a node holding a pick made ahead gives it to one of "
        "them and the others ask.",
        "",
        *PICK_HEAD,
        *busy_rows,
        "",
        f"Errors (failed connections or echoes, all cases): {errors}. Run time {elapsed:.0f}s after the build.",
        "",
    ]
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "cluster-latest.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
