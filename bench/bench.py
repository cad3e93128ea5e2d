#!/usr/bin/env python3
"""StreamLb side by side with nginx `stream` and HAProxy `mode tcp`: three TLS-terminating TCP proxies with
equivalent configs in front of the same backends, the same loads against each in turn, interleaved, for a few
rounds. Run through bench/run.sh, which installs the tools and builds the project first.

Figures per load and proxy: throughput, latency p50/p99, the proxy's CPU seconds (utime+stime of all its processes,
from /proc/PID/stat, before/after each run) per unit of work, and for idle connections the resident memory
(VmRSS) each one costs. Medians of the rounds; ratios StreamLb/nginx and StreamLb/HAProxy.
"""

import datetime
import json
import os
import platform
import re
import selectors
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

import pngchart

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
RESULTS = os.path.join(BENCH, "results")


def env_int(name, default):
    return int(os.environ.get(name, default))


ROUNDS = env_int("BENCH_ROUNDS", 4)  # a round that would pass the time limit is skipped
SECONDS = env_int("BENCH_SECONDS", 5)           # each wrk / s_time run
CONNS = env_int("BENCH_CONNECTIONS", 32)        # wrk -c for small responses
BIG_CONNS = env_int("BENCH_BIG_CONNECTIONS", 8) # wrk -c for 1 MiB downloads
WS_CONNS = env_int("BENCH_WS_CONNECTIONS", 50)
WS_MESSAGES = env_int("BENCH_WS_MESSAGES", 600) # per connection: a few seconds per run, like the wrk loads
WS_SIZE = env_int("BENCH_WS_SIZE", 32)
IDLE = env_int("BENCH_IDLE_CONNECTIONS", 2000)
PROXY_CPU = os.environ.get("BENCH_PROXY_CPU", "1")   # every proxy is pinned here
CLIENT_CPU = os.environ.get("BENCH_CLIENT_CPU", "0") # load generators and backends are pinned here
BEGAN = time.monotonic()
DEADLINE = BEGAN + env_int("BENCH_TIME_LIMIT", 540)
CLK_TCK = os.sysconf("SC_CLK_TCK")

PROXIES = ["nginx", "haproxy", "streamlb"]
NAMES = {"nginx": "nginx", "haproxy": "HAProxy", "streamlb": "StreamLb"}


# ---------------------------------------------------------------------------------------------------------------
# Processes: everything started here is recorded (pid file for run.sh's trap) and stopped by its id at the end.

class Processes:
    def __init__(self, workdir):
        self.workdir = workdir
        self.started = []  # (name, Popen)
        self.pidfile = os.environ.get("BENCH_PIDFILE") or os.path.join(workdir, "pids")

    def start(self, name, argv, cpu=None, env=None, stdin=None):
        if cpu is not None:
            argv = ["taskset", "-c", cpu] + argv  # taskset execs: the pid is the program's own
        log = open(os.path.join(self.workdir, f"{name}.log"), "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=stdin or subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True)
        self.started.append((name, proc))
        self.write_pidfile()
        return proc

    def write_pidfile(self):
        with open(self.pidfile, "w") as f:
            f.writelines(f"{proc.pid}\n" for _, proc in self.started)

    def stop(self, proc):
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        self.started = [(n, p) for n, p in self.started if p is not proc]
        self.write_pidfile()

    def check_alive(self):
        for name, proc in self.started:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode}; see {self.workdir}/{name}.log")

    def stop_all(self):
        for _, proc in reversed(self.started):
            signal_group(proc.pid, signal.SIGTERM)
        end = time.monotonic() + 10
        for _, proc in reversed(self.started):
            try:
                proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def signal_group(pid, signum):
    """Each started program leads its own process group (nginx's worker is in its master's)."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def process_tree(pid):
    """pid and its descendants (nginx's master and its worker)."""
    tree, frontier = [], [pid]
    while frontier:
        p = frontier.pop()
        tree.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    frontier.extend(int(c) for c in f.read().split())
        except FileNotFoundError:
            pass
    return tree


def cpu_seconds(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except FileNotFoundError:
            pass
    return total / CLK_TCK


def rss_kib(pid):
    total = 0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                total += int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
        except (FileNotFoundError, AttributeError):
            pass
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=60):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"a process exited while its port {port} was awaited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


def run(argv, timeout, cpu=CLIENT_CPU, stdin=None):
    if cpu is not None:
        argv = ["taskset", "-c", cpu] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=stdin)


# ---------------------------------------------------------------------------------------------------------------
# The set-up: certificate, backends, three proxies with equivalent configs.

class Setup:
    def __init__(self, workdir, procs):
        self.dir, self.procs = workdir, procs
        self.cert, self.key, self.pem = (os.path.join(workdir, n) for n in ("cert.pem", "key.pem", "combined.pem"))
        self.http_ports = [free_port(), free_port()]
        self.ws_ports = [free_port(), free_port()]
        self.front = {p: {"http": free_port(), "ws": free_port()} for p in PROXIES}
        self.pids = {}

    def certificate(self):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True, timeout=60)
        with open(self.pem, "w") as out:
            out.write(open(self.cert).read() + open(self.key).read())

    def backends(self):
        www = os.path.join(self.dir, "www")
        os.makedirs(www)
        with open(os.path.join(www, "small.txt"), "wb") as f:
            f.write(b"x" * 99 + b"\n")
        with open(os.path.join(www, "1mib.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))
        for path in (self.dir, www):
            os.chmod(path, 0o755)  # nginx's worker runs as nobody
        conf = self.write("nginx-backend.conf", f"""
            worker_processes 1;
            daemon off;
            pid {self.dir}/nginx-backend.pid;
            error_log {self.dir}/nginx-backend-error.log error;
            events {{ worker_connections 9000; }}
            http {{
                access_log off;
                sendfile on;
                keepalive_requests 10000000;  # wrk's keep-alive connections through the proxies must not be cut
                keepalive_timeout 120s;
                server {{
                    listen 127.0.0.1:{self.http_ports[0]};
                    listen 127.0.0.1:{self.http_ports[1]};
                    root {www};
                }}
            }}""")
        proc = self.procs.start("nginx-backend", ["nginx", "-e", f"{self.dir}/nginx-backend-error.log", "-p", self.dir, "-c", conf],
                                cpu=CLIENT_CPU)
        echo = os.path.join(ROOT, "src/StreamLb.EchoBackend/bin/Release/net10.0/StreamLb.EchoBackend.dll")
        echoes = [self.procs.start(f"echo-{i}", ["dotnet", echo, f"127.0.0.1:{port}", f"echo-{i}"], cpu=CLIENT_CPU)
                  for i, port in enumerate(self.ws_ports)]
        for port in self.http_ports:
            wait_for_port(port, proc)
        for port, p in zip(self.ws_ports, echoes):
            wait_for_port(port, p)

    def nginx(self):
        ports = self.front["nginx"]
        conf = self.write("nginx-proxy.conf", f"""
            load_module /usr/lib/nginx/modules/ngx_stream_module.so;
            worker_processes 1;
            daemon off;
            pid {self.dir}/nginx-proxy.pid;
            error_log {self.dir}/nginx-proxy-error.log error;
            events {{ worker_connections 9000; }}
            {self.stream_block(ports)}""")
        return self.procs.start("nginx", ["nginx", "-e", f"{self.dir}/nginx-proxy-error.log", "-p", self.dir, "-c", conf],
                                cpu=PROXY_CPU)

    def stream_block(self, ports):
        """The one `stream` block nginx and StreamLb both run: StreamLb reads nginx's syntax."""
        return f"""stream {{
                upstream http_backends {{ least_conn; {self.servers(self.http_ports)} }}
                upstream ws_backends {{ least_conn; {self.servers(self.ws_ports)} }}
                ssl_certificate {self.cert};
                ssl_certificate_key {self.key};
                ssl_protocols TLSv1.2 TLSv1.3;
                proxy_connect_timeout 10s;
                proxy_timeout 10m;
                server {{ listen 127.0.0.1:{ports['http']} ssl; proxy_pass http_backends; }}
                server {{ listen 127.0.0.1:{ports['ws']} ssl; proxy_pass ws_backends; }}
            }}"""

    def haproxy(self):
        ports = self.front["haproxy"]
        lines = [
            "global",
            "    nbthread 1",
            "    maxconn 9000",
            "    ssl-default-bind-options ssl-min-ver TLSv1.2",
            "defaults",
            "    mode tcp",
            "    maxconn 9000",
            "    timeout connect 10s",
            "    timeout client 10m",
            "    timeout server 10m",
        ]
        for name, backend_ports in (("http", self.http_ports), ("ws", self.ws_ports)):
            lines += [f"frontend {name}_front",
                      f"    bind 127.0.0.1:{ports[name]} ssl crt {self.pem}",
                      f"    default_backend {name}_backends",
                      f"backend {name}_backends",
                      "    balance leastconn"]
            lines += [f"    server {name}{i} 127.0.0.1:{port}" for i, port in enumerate(backend_ports)]
        conf = self.write("haproxy.cfg", "\n".join(lines))
        return self.procs.start("haproxy", ["haproxy", "-db", "-f", conf], cpu=PROXY_CPU)

    def streamlb(self):
        ports = self.front["streamlb"]
        conf = self.write("streamlb.conf", f"""
            {self.stream_block(ports)}""")
        host = os.path.join(ROOT, "src/StreamLb.Host/bin/Release/net10.0/StreamLb.Host.dll")
        # Pinned to one core like the others, and told so: the runtime sizes its thread pool and GC by it. Logging at
        # warning, as nginx's error_log here is at error: neither writes a line per client that leaves early (s_time's
        # do, every one of them), which both would at info.
        return self.procs.start("streamlb", ["dotnet", host, "run", "-c", conf, "--admin", "off", "--cluster-port", "0",
                                             "--log-level", "warning"],
                                cpu=PROXY_CPU, env={"DOTNET_PROCESSOR_COUNT": "1"})

    def proxies(self):
        for name in PROXIES:
            self.start_proxy(name)

    def start_proxy(self, name):
        proc = getattr(self, name)()
        for port in self.front[name].values():
            wait_for_port(port, proc, seconds=90)
        self.pids[name] = proc.pid

    def restart_proxy(self, name):
        self.procs.stop(next(p for _, p in self.procs.started if p.pid == self.pids[name]))
        self.start_proxy(name)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(dedent(text))
        return path

    @staticmethod
    def servers(ports):
        return " ".join(f"server 127.0.0.1:{p};" for p in ports)


def dedent(text):
    lines = text.strip("\n").split("\n")
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    return "\n".join(l[indent:] for l in lines) + "\n"


def tls_check(port):
    """One request through a proxy: the small file must come back, and the TLS version and cipher are recorded."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, context.wrap_socket(raw) as tls:
        tls.sendall(b"GET /small.txt HTTP/1.0\r\nHost: localhost\r\n\r\n")
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        if not data.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer through 127.0.0.1:{port}: {data[:80]!r}")
        return f"{tls.version()} {tls.cipher()[0]}"


# ---------------------------------------------------------------------------------------------------------------
# The loads. Each returns a dict of figures; the proxy's CPU time is sampled around the run.

def wrk(url, connections, seconds, close=False):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if close:
        argv += ["-H", "Connection: close"]
    out = run(argv + [url], timeout=seconds + 30).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    elapsed = duration(re.search(r"requests in ([\d.]+\w+),", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"units": requests, "seconds": elapsed, "p50_ms": duration(latency["50"]) * 1e3,
            "p99_ms": duration(latency["99"]) * 1e3, "errors": errors + (int(non2xx.group(1)) if non2xx else 0)}


def duration(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]


def s_time(port, seconds):
    out = run(["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-time", str(seconds)],
              timeout=seconds + 30).stdout
    # "N connections in X.XXs; Y connections/user sec" and then "N connections in T real seconds, ..."
    found = re.search(r"(\d+) connections in (\d+) real seconds", out)
    if not found:
        raise RuntimeError(f"openssl s_time printed no result: {out[-300:]!r}")
    return {"units": int(found.group(1)), "seconds": float(found.group(2)), "p50_ms": None, "p99_ms": None, "errors": 0}


class WsLoad:
    """bench/WsLoad run step by step: it prints a JSON line when its connections are open and waits for a line on
    stdin before it goes on, so the proxy's CPU and memory can be read at exactly those points."""

    def __init__(self, *args):
        argv = ["taskset", "-c", CLIENT_CPU, "dotnet", WSLOAD, *map(str, args)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def read(self, seconds):
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=seconds):
                raise RuntimeError(f"no answer from the WebSocket client in {seconds}s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the WebSocket client exited with code {self.proc.wait()}")
        return json.loads(line)

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()


def ws_pingpong(port, pid):
    """The proxy's CPU is read once every connection is open and again before they close: messages only."""
    with WsLoad("pingpong", f"wss://127.0.0.1:{port}/", WS_CONNS, WS_MESSAGES, WS_SIZE, 60) as client:
        client.read(60)
        cpu_before = cpu_seconds(pid)
        client.go()
        r = client.read(70)
        cpu = cpu_seconds(pid) - cpu_before
    return {"units": r["messages"], "seconds": r["seconds"], "p50_ms": r["p50_us"] / 1e3, "p99_ms": r["p99_us"] / 1e3,
            "errors": r["errors"] + (WS_CONNS * WS_MESSAGES - r["messages"]), "cpu": cpu}


def ws_idle(setup, proxy):
    """Opens IDLE wss connections, holds them, and reads the proxy's RSS before and while they are held. The proxy is
    restarted first: nginx's and HAProxy's allocators keep what earlier loads (and rounds) freed, and reuse it, so only
    a fresh process shows what idle connections cost. 32 connections first bring it to its working state (and the .NET
    proxy's connection path through the JIT)."""
    setup.restart_proxy(proxy)
    port, pid = setup.front[proxy]["ws"], setup.pids[proxy]
    run(["dotnet", WSLOAD, "pingpong", f"wss://127.0.0.1:{port}/", "32", "50", str(WS_SIZE), "30"], timeout=60, stdin="go\n")
    time.sleep(0.5)
    rss_before, cpu_before = rss_kib(pid), cpu_seconds(pid)
    with WsLoad("idle", f"wss://127.0.0.1:{port}/", IDLE, 120) as client:
        held = client.read(120)
        time.sleep(1.0)  # let the proxy settle: buffers handed back, upstream sockets established
        rss_after, cpu_after = rss_kib(pid), cpu_seconds(pid)
        client.go()
    n = held["held"]
    return {"units": n, "seconds": held["open_seconds"], "p50_ms": None, "p99_ms": None,
            "errors": held["errors"] + IDLE - n, "cpu": cpu_after - cpu_before,
            "rss_before_kib": rss_before, "rss_after_kib": rss_after,
            "kib_per_conn": (rss_after - rss_before) / n if n else None}


WSLOAD = os.path.join(BENCH, "WsLoad/bin/Release/net10.0/WsLoad.dll")

# (key, title, unit of work, how to run it against a proxy)
LOADS = [
    ("a", "(a) keep-alive, 100 B responses", "req",
     lambda s, p: wrk(f"https://127.0.0.1:{s.front[p]['http']}/small.txt", CONNS, SECONDS)),
    ("b", "(b) new TLS connection per request", "conn",
     lambda s, p: wrk(f"https://127.0.0.1:{s.front[p]['http']}/small.txt", CONNS, SECONDS, close=True)),
    ("b2", "(b) full handshakes, s_time -new", "handshake",
     lambda s, p: s_time(s.front[p]["http"], SECONDS)),
    ("c", "(c) 1 MiB downloads", "MiB",
     lambda s, p: wrk(f"https://127.0.0.1:{s.front[p]['http']}/1mib.bin", BIG_CONNS, SECONDS)),
    ("d", f"(d) WebSocket echo, {WS_CONNS} conns x {WS_MESSAGES} msgs", "msg",
     lambda s, p: ws_pingpong(s.front[p]["ws"], s.pids[p])),
    ("e", f"(e) {IDLE} idle wss connections", "conn",
     lambda s, p: ws_idle(s, p)),
]


def measure(setup, procs, key, load, proxy):
    pid = setup.pids[proxy]
    before = cpu_seconds(pid)
    figures = load(setup, proxy)
    cpu = figures.pop("cpu", None)
    cpu = cpu if cpu is not None else cpu_seconds(pid) - before
    procs.check_alive()
    figures["cpu_s"] = cpu
    figures["rate"] = figures["units"] / figures["seconds"] if figures["seconds"] else 0
    figures["cpu_us_per_unit"] = cpu * 1e6 / figures["units"] if figures["units"] else None
    return figures


def warm_up(setup, limit=90):
    """
    Not measured: every proxy's first connections and buffers, and the .NET proxy's JIT. Its runtime compiles a
    method again once it is hot, twice with dynamic PGO (to measure it, then with what was measured), on a background
    thread that shares the proxy's one CPU with the load: under load that takes some 30 s. Every proxy gets the same
    warm-up; then the loads are run through StreamLb alone, a few seconds of each, until a pass finds its runtime
    compiling for less than 1% of the time (at most `limit` seconds): what it compiles later is not what a connection
    costs, but it would count in the first round's CPU.
    """
    def one_pass(proxy, seconds):
        wrk(f"https://127.0.0.1:{setup.front[proxy]['http']}/small.txt", CONNS, seconds)
        wrk(f"https://127.0.0.1:{setup.front[proxy]['http']}/small.txt", CONNS, max(seconds // 2, 1), close=True)
        wrk(f"https://127.0.0.1:{setup.front[proxy]['http']}/1mib.bin", 4, max(seconds // 4, 1))
        run(["dotnet", WSLOAD, "pingpong", f"wss://127.0.0.1:{setup.front[proxy]['ws']}/", "8", "1000", str(WS_SIZE), "30"],
            timeout=60, stdin="go\n")

    for proxy in PROXIES:
        one_pass(proxy, 12)
    pid = setup.pids["streamlb"]
    began = time.monotonic()
    while time.monotonic() - began < limit:
        compiling, started = compiler_threads(pid), time.monotonic()
        one_pass("streamlb", 4)
        spent = sum(ns - compiling.get(tid, 0) for tid, ns in compiler_threads(pid).items()) / 1e9
        if spent < 0.01 * (time.monotonic() - started):
            print(f"StreamLb done compiling after {time.monotonic() - began:.0f} s more of warm-up", flush=True)
            return
    print(f"StreamLb still compiling after {limit} s more of warm-up; measuring anyway", flush=True)


def compiler_threads(pid):
    """The run time so far (ns, /proc/PID/task/TID/schedstat) of each of a .NET process's tiered compilation threads;
    such a thread ends after a few idle seconds, and a new one starts with the next compilation."""
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith(".NET Tiered"):
                    continue
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                threads[tid] = int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return threads


# ---------------------------------------------------------------------------------------------------------------
# Figures: medians, ratios, the printed table, latest.md and latest.png.

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def summarize(results):
    """rows: (load title, figure name, {proxy: median}, lower_is_better)"""
    rows = []
    for key, title, unit, _ in LOADS:
        per = results[key]
        if not per["nginx"]:
            continue
        med = lambda field: {p: median([r[field] for r in per[p]]) for p in PROXIES}
        if key == "e":
            rows.append((title, "RSS per idle connection, KiB", med("kib_per_conn"), True))
            rows.append((title, "connections opened /s", med("rate"), False))
            rows.append((title, "proxy CPU µs per connection opened", med("cpu_us_per_unit"), True))
            continue
        rate_name = "MiB/s" if key == "c" else f"{unit}/s"
        rows.append((title, rate_name, med("rate"), False))
        if key != "b2":
            rows.append((title, "latency p50, ms", med("p50_ms"), True))
            rows.append((title, "latency p99, ms", med("p99_ms"), True))
        rows.append((title, f"proxy CPU µs per {unit}", med("cpu_us_per_unit"), True))
        errors = {p: sum(r["errors"] for r in per[p]) for p in PROXIES}
        if any(errors.values()):
            rows.append((title, "errors (sum of rounds)", errors, True))
    return rows


def paired(results):
    """Per load, each round's StreamLb figure over the other proxy's in the same round (measured seconds apart), as
    median (lowest–highest) over the rounds: a machine whose speed drifts between rounds moves these less than it
    moves the ratio of the medians in the main table, which may take each proxy's median from a different round."""
    head = ["load", "figure", "StreamLb/nginx by round", "StreamLb/HAProxy by round"]
    body = []
    for key, title, unit, _ in LOADS:
        per = results[key]
        if not per["nginx"]:
            continue
        field, figure = ("kib_per_conn", "RSS per idle connection") if key == "e" else ("cpu_us_per_unit", f"proxy CPU per {unit}")
        cells = []
        for other in ("nginx", "haproxy"):
            rs = [r for r in (ratio(s[field], o[field]) for s, o in zip(per["streamlb"], per[other])) if r is not None]
            cells.append(f"{median(rs):.2f} ({min(rs):.2f}–{max(rs):.2f})" if rs else "–")
        body.append([title, figure] + cells)
    return head, body


def table(rows):
    head = ["load", "figure", "nginx", "HAProxy", "StreamLb", "StreamLb/nginx", "StreamLb/HAProxy"]
    body = []
    for title, figure, m, _ in rows:
        body.append([title, figure, fmt(m["nginx"]), fmt(m["haproxy"]), fmt(m["streamlb"]),
                     fmt(ratio(m["streamlb"], m["nginx"]), 2), fmt(ratio(m["streamlb"], m["haproxy"]), 2)])
    return head, body


def print_table(head, body):
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for r in body:
        print(line(r))


def machine():
    model = re.search(r"Model name:\s*(.+)", subprocess.run(["lscpu"], capture_output=True, text=True).stdout)
    version = lambda argv: (subprocess.run(argv, capture_output=True, text=True).stdout +
                            subprocess.run(argv, capture_output=True, text=True).stderr).strip().splitlines()[0]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "kernel": platform.release(),
        "openssl": version(["openssl", "version"]),
        "nginx": version(["nginx", "-v"]),
        "haproxy": version(["haproxy", "-v"]),
        "dotnet": version(["dotnet", "--version"]),
        "commit": commit,
    }


def markdown_table(head, body):
    """Lines of a Markdown table: two text columns, then right-aligned figures."""
    return (["| " + " | ".join(head) + " |", "| " + " | ".join(["---", "---"] + ["---:"] * (len(head) - 2)) + " |"]
            + ["| " + " | ".join(r) + " |" for r in body])


def write_markdown(path, info, tls, head, body, rounds_done, loadavg, by_round):
    lines = [
        "# StreamLb beside nginx and HAProxy",
        "",
        f"{info['date']} · commit `{info['commit']}` · `nproc` {info['nproc']} · {info['cpu']} · Linux {info['kernel']}",
        "",
        f"{info['openssl']} (nginx, HAProxy, wrk and .NET all use the system libssl) · {info['nginx']} · "
        f"{info['haproxy'].split(' - ')[0]} · .NET SDK {info['dotnet']}",
        "",
        f"Each proxy is pinned to CPU {PROXY_CPU} (`taskset -c {PROXY_CPU}`; StreamLb also runs with "
        f"`DOTNET_PROCESSOR_COUNT=1`); nginx with `worker_processes 1`, HAProxy with `nbthread 1`. Load generators "
        f"and backends are pinned to CPU {CLIENT_CPU}. Loads run against the three proxies in turn, interleaved, "
        f"{rounds_done} round(s): first (e)'s rounds (each restarts the proxies), then a warm-up of every proxy alike, "
        f"then (a)–(d)'s. Every figure is the median of the rounds. Load average at start/end: {loadavg}.",
        "",
        "Negotiated TLS: " + "; ".join(f"{NAMES[p]} {tls[p]}" for p in PROXIES) + ".",
        "",
        "Proxy CPU is utime+stime of all the proxy's processes (nginx master+worker, haproxy, the dotnet process) "
        "from `/proc/PID/stat`, sampled before and after each run, divided by the units of work done. "
        "Memory per idle connection is the growth of VmRSS while the idle connections are held, divided by their "
        "number. Ratios above 1 mean StreamLb is higher (for CPU, latency and memory: worse; for rates: better).",
        "",
    ]
    lines += markdown_table(head, body)
    lines += [
        "",
        "The same ratios paired by round: each round's StreamLb figure over the other proxy's in that round (run "
        "seconds apart), median (lowest–highest) over the rounds. The machine's speed drifts between rounds, and the "
        "ratio of medians above may take each proxy's median from a different round; these pairs are less moved by it.",
        "",
    ]
    lines += markdown_table(*by_round)
    lines += [
        "",
        f"Loads: (a) `wrk -t1 -c{CONNS} -d{SECONDS}s` of a 100-byte file over keep-alive; (b) the same with "
        f"`Connection: close` (a new TCP and TLS connection per request; wrk resumes its TLS session, so each is an "
        f"abbreviated TLS 1.3 handshake with a fresh key exchange) and `openssl s_time -new -time {SECONDS}` (full "
        f"handshakes, one at a time); (c) `wrk -t1 -c{BIG_CONNS} -d{SECONDS}s` of a 1 MiB file; (d) {WS_CONNS} wss "
        f"connections each sending {WS_MESSAGES} {WS_SIZE}-byte messages one at a time to the echo backends "
        f"(bench/WsLoad; the proxy's CPU is read once all are open and again at the last echo); (e) each proxy restarted "
        f"(allocators keep and reuse what earlier loads freed), warmed with 32 connections, then {IDLE} wss connections "
        f"opened 32 at a time and held idle.",
        "",
        "![CPU per unit of work, StreamLb over nginx and HAProxy](latest.png)",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_chart(path, rows, rounds_done):
    wanted = [("(a)", "proxy CPU µs per req", "A KEEP-ALIVE\nCPU/REQUEST"),
              ("(b) new", "proxy CPU µs per conn", "B CONNECTION: CLOSE\nCPU/CONNECTION"),
              ("(b) full", "proxy CPU µs per handshake", "B S_TIME -NEW\nCPU/HANDSHAKE"),
              ("(c)", "proxy CPU µs per MiB", "C 1 MIB DOWNLOADS\nCPU/MIB"),
              ("(d)", "proxy CPU µs per msg", "D WS ECHO\nCPU/MESSAGE"),
              ("(e)", "proxy CPU µs per connection opened", "E IDLE WSS\nCPU/CONNECTION"),
              ("(e)", "RSS per idle connection, KiB", "E IDLE WSS\nRSS/CONNECTION")]
    groups, values = [], []
    for prefix, figure, label in wanted:
        for title, name, m, _ in rows:
            if title.startswith(prefix) and name == figure:
                groups.append(label)
                values.append([ratio(m["streamlb"], m["nginx"]), ratio(m["streamlb"], m["haproxy"])])
    pngchart.bar_chart(path, "STREAMLB'S CPU PER UNIT OF WORK, AS A MULTIPLE OF NGINX'S AND HAPROXY'S",
                       groups, [("STREAMLB / NGINX", (52, 101, 164)), ("STREAMLB / HAPROXY", (230, 140, 30))], values,
                       footnote=f"MEDIAN OF {rounds_done} ROUND(S). LOWER IS BETTER FOR STREAMLB. SEE LATEST.MD FOR THE FIGURES.")


# ---------------------------------------------------------------------------------------------------------------

def main():
    def on_signal(signum, _):
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    workdir = tempfile.mkdtemp(prefix="streamlb-bench-")
    os.environ["BENCH_WORKDIR"] = workdir
    procs = Processes(workdir)
    ok = False
    try:
        setup = Setup(workdir, procs)
        setup.certificate()
        setup.backends()
        setup.proxies()
        tls = {p: tls_check(setup.front[p]["http"]) for p in PROXIES}
        print("up: " + "; ".join(f"{NAMES[p]} on :{setup.front[p]['http']}/:{setup.front[p]['ws']} ({tls[p]})" for p in PROXIES), flush=True)
        loadavg_start = open("/proc/loadavg").read().split()[0]
        results = {key: {p: [] for p in PROXIES} for key, *_ in LOADS}

        def round_of(rnd, loads):
            order = PROXIES[rnd % 3:] + PROXIES[:rnd % 3]
            for key, title, unit, load in loads:
                for proxy in order:
                    r = measure(setup, procs, key, load, proxy)
                    results[key][proxy].append(r)
                    print(f"round {rnd + 1} {title:<42} {NAMES[proxy]:<8} {fmt(r['rate']):>9} {unit}/s  "
                          f"cpu {fmt(r['cpu_us_per_unit'])} µs/{unit}  p50 {fmt(r['p50_ms'], 2)} p99 {fmt(r['p99_ms'], 2)} ms"
                          + (f"  rss {fmt(r['kib_per_conn'])} KiB/conn" if key == "e" else "")
                          + (f"  errors {r['errors']}" if r["errors"] else ""), flush=True)

        # (e) first, all its rounds: it restarts each proxy (a fresh process shows what idle connections cost), and a
        # restarted .NET proxy runs its first seconds of load on code not yet compiled for it. The loads measured
        # per request then all run on the warmed-up processes.
        idle = [load for load in LOADS if load[0] == "e"]
        busy = [load for load in LOADS if load[0] != "e"]
        for rnd in range(ROUNDS):
            round_of(rnd, idle)
        warm_up(setup)
        per_round = None
        rounds_done = 0
        for rnd in range(ROUNDS):
            started = time.monotonic()
            if per_round and time.monotonic() + per_round > DEADLINE:
                print(f"stopping after {rounds_done} round(s): another would pass the time limit", flush=True)
                break
            round_of(rnd, busy)
            rounds_done += 1
            per_round = time.monotonic() - started
        loadavg = f"{loadavg_start} / {open('/proc/loadavg').read().split()[0]}"

        rows = summarize(results)
        head, body = table(rows)
        by_round = paired(results)
        print()
        print_table(head, body)
        print()
        print_table(*by_round)
        info = machine()
        os.makedirs(RESULTS, exist_ok=True)
        write_markdown(os.path.join(RESULTS, "latest.md"), info, tls, head, body, rounds_done, loadavg, by_round)
        write_chart(os.path.join(RESULTS, "latest.png"), rows, rounds_done)
        with open(os.path.join(RESULTS, "latest.json"), "w") as f:
            json.dump({"machine": info, "tls": tls, "results": results}, f, indent=1)
        print(f"\nwrote {RESULTS}/latest.md, latest.png and latest.json ({time.monotonic() - BEGAN:.0f}s)")
        ok = True
    finally:
        finish(procs, workdir, ok)
    return 0



def finish(procs, workdir, ok):
    """Stops everything started; keeps the configs and logs when the run failed or BENCH_KEEP is set."""
    procs.stop_all()
    if ok and not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"logs and configs kept in {workdir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
