#!/usr/bin/env python3
"""The gateway's load benchmark: the same cheap backend behind nginx, HAProxy and the gateway.

Run it with `scripts/bench/run` (installs what is missing, builds, then calls this file); the
method and the latest table are in docs/performance.md. Everything listens on 127.0.0.1 only and
every load loop is bounded in time.

What one run does:
  1. starts the backend (`bench backend`, one thread) and every target in front of it:
       direct         the backend itself (the ceiling)
       nginx          `proxy_pass` to an upstream with a keepalive pool, access_log off
       haproxy        `mode http`, keep-alive to the server, nbthread 1
       gateway-hs256  our gateway, route with auth = "required", an HS256 token
       gateway-rs256  the same, keys from the backend's JWKS, an RS256 token
       gateway-eddsa  the same, an EdDSA token
     all with one worker (nginx worker_processes 1, haproxy nbthread 1, TOKIO_WORKER_THREADS=1),
     the servers pinned to one core and the load generator to another;
  2. checks every target answers 200 (and that the gateway answers 401 without a token);
  3. rounds, interleaved (A B C … A B C …): throughput with wrk (closed loop, fixed connections),
     then latency at a fixed rate below saturation (`bench rate`, open loop);
     CPU seconds of each target's processes from /proc/<pid>/stat around every run;
  4. the aggregation benchmark: /api/dashboard (three calls of 5, 10 and 20 ms) against its
     slowest call alone;
  5. optionally a soak: the HS256 gateway at the fixed rate for --soak seconds, RSS sampled;
  6. prints the table with the ratios to nginx and the goals, writes JSON and Markdown results
     with the machine's description.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ROOT / "tests" / "fixtures" / "keys"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_PATH = "/api/items/7"  # what every target is asked for

# ----------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def children_of(pid: int) -> list[int]:
    """`pid` and all its descendants (nginx's master and worker)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_split(pids: list[int]) -> tuple[float, float]:
    """(utime, stime) of every process (all threads included), in seconds: the time spent in
    the program's own code and libraries, and in the kernel on its behalf (system calls, TCP)."""
    user = system = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11])  # field 14 of proc(5)
        system += int(fields[12])  # field 15
    return user / CLK_TCK, system / CLK_TCK


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of every process (all threads included), in seconds."""
    return sum(cpu_split(pids))


def context_switches(pids: list[int]) -> int:
    """Voluntary + involuntary context switches of every process's threads so far (with the
    backend on the same core, each is a hand-over between the proxy and the backend)."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
            except OSError:
                pass
    return total


def status_kib(pids: list[int], key: str) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def threads_of(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    def pids(self) -> list[int]:
        return children_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pinned(core: int | None, argv: list[str]) -> list[str]:
    return argv if core is None else ["taskset", "-c", str(core), *argv]


# ----------------------------------------------------------------------------------------------
# targets


@dataclass
class Target:
    name: str
    port: int
    server: Server | None  # None: the backend itself
    token: str | None = None
    tokens_file: Path | None = None
    # measurements
    rps: list[float] = field(default_factory=list)
    cpu_us_sat: list[float] = field(default_factory=list)
    user_us_sat: list[float] = field(default_factory=list)
    sys_us_sat: list[float] = field(default_factory=list)
    switches_sat: list[float] = field(default_factory=list)
    backend_cpu_us_sat: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_us_rate: list[float] = field(default_factory=list)
    errors: int = 0
    idle_rss_kib: int = 0
    peak_rss_kib: int = 0
    threads: int = 0


def gateway_config(port: int, backend_port: int, secret: str | None, jwks: bool) -> str:
    auth = [
        "[auth]",
        'issuer = "http://bench.local"',
        'audience = "bench-api"',
    ]
    if secret:
        auth.append(f'hs256_secret = "{secret}"')
    if jwks:
        auth.append(f'jwks_url = "http://127.0.0.1:{backend_port}/jwks.json"')
    return "\n".join(
        [
            "# Generated by scripts/bench/bench.py: one route, token required, no rate limits.",
            "demo = false",
            "[server]",
            f'listen = "127.0.0.1:{port}"',
            # Several gateways run side by side: each admin listener on a port of its own.
            "[admin]",
            'listen = "127.0.0.1:0"',
            *auth,
            "[[upstreams]]",
            'name = "backend"',
            f'targets = ["http://127.0.0.1:{backend_port}"]',
            "[[routes]]",
            'name = "items"',
            'prefix = "/api/items"',
            'upstream = "backend"',
            'auth = "required"',
            "[[routes]]",
            'name = "delay"',
            'prefix = "/delay"',
            'upstream = "backend"',
            'auth = "required"',
            "[[aggregates]]",
            'name = "dashboard"',
            'path = "/api/dashboard"',
            'auth = "required"',
            "[[aggregates.calls]]",
            'key = "profile"',
            'upstream = "backend"',
            'path = "/delay/5/profile"',
            "required = true",
            "[[aggregates.calls]]",
            'key = "invoices"',
            'upstream = "backend"',
            'path = "/delay/10/invoices"',
            "[[aggregates.calls]]",
            'key = "summary"',
            'upstream = "backend"',
            'path = "/delay/20/summary"',
            "",
        ]
    )


NGINX_CONF = """\
# Generated by scripts/bench/bench.py: a plain proxy_pass with an upstream keepalive pool.
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    upstream backend {{
        server 127.0.0.1:{backend};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""

HAPROXY_CONF = """\
# Generated by scripts/bench/bench.py: HTTP mode, keep-alive both ways, one thread.
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse always
frontend bench
    bind 127.0.0.1:{port}
    default_backend backend
backend backend
    server s1 127.0.0.1:{backend}
"""


def http_get(port: int, path: str, token: str | None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


# ----------------------------------------------------------------------------------------------
# load generators


def run_wrk(core, url, seconds, connections, token) -> dict:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(
        pinned(core, [*argv, url]), capture_output=True, text=True, timeout=seconds + 30
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (m and rps):
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return {"requests": int(m.group(1)), "rps": float(rps.group(1)), "errors": errors}


def run_rate(bench_bin, core, url, rate, seconds, connections, tokens_file) -> dict:
    argv = [
        str(bench_bin), "rate", "--url", url, "--rate", str(rate),
        "--seconds", str(seconds), "--connections", str(connections),
    ]
    if tokens_file:
        argv += ["--tokens", str(tokens_file)]
    out = subprocess.run(
        pinned(core, argv), capture_output=True, text=True, timeout=seconds + 60
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench rate failed: {out.stderr}")
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------------------------
# the run


def machine_description() -> dict:
    def cmd(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else ""
        except (OSError, subprocess.TimeoutExpired):
            return "not installed"

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": mem,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "nginx": cmd(["nginx", "-v"]),
        "haproxy": cmd(["haproxy", "-v"]),
        "wrk": cmd(["wrk", "--version"]) if shutil.which("wrk") else "not installed",
        "rustc": cmd(["rustc", "--version"]),
        "commit": cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true",
                   help="a few seconds, only targets that need nothing installed (direct, gateway)")
    p.add_argument("--targets", help="comma-separated subset, e.g. direct,nginx,gateway-hs256")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seconds", type=float, default=8, help="each throughput run")
    p.add_argument("--connections", type=int, default=50, help="wrk connections")
    p.add_argument("--rate", type=float, default=5000, help="the fixed rate for latency, req/s")
    p.add_argument("--rate-seconds", type=float, default=8)
    p.add_argument("--rate-connections", type=int, default=16)
    p.add_argument("--tokens", type=int, default=100,
                   help="distinct tokens (users) per algorithm in the fixed-rate runs")
    p.add_argument("--no-aggregate", action="store_true")
    p.add_argument("--soak", type=float, default=0, help="seconds of soak on gateway-hs256 (600 = 10 min)")
    p.add_argument("--bin-dir", default=str(ROOT / "target" / "release"),
                   help="where `gateway` and `examples/bench` are")
    p.add_argument("--gateway-bin", help="another gateway binary (e.g. a build from before a change)")
    p.add_argument("--gateway-b", help="A/B: also run gateway-hs256-b with this binary, interleaved "
                   "with the others (judge a change on a busy machine)")
    p.add_argument("--out", default=str(ROOT / "target" / "bench"), help="results directory")
    p.add_argument("--json", help="also write the JSON results to this file")
    p.add_argument("--loadgen", choices=["auto", "wrk", "builtin"], default="auto")
    args = p.parse_args()

    if args.smoke:
        args.rounds, args.seconds, args.rate_seconds = 1, 1, 1
        args.rate, args.tokens, args.connections, args.rate_connections = 500, 4, 16, 4
    all_targets = ["direct", "nginx", "haproxy", "gateway-hs256", "gateway-rs256", "gateway-eddsa"]
    if args.targets:
        wanted = args.targets.split(",")
    elif args.smoke:
        wanted = ["direct", "gateway-hs256", "gateway-eddsa"]
    else:
        wanted = all_targets
    if args.gateway_b:
        all_targets.append("gateway-hs256-b")
        if "gateway-hs256-b" not in wanted:
            wanted.append("gateway-hs256-b")
    for w in wanted:
        if w not in all_targets:
            p.error(f"unknown target {w!r}; known: {', '.join(all_targets)}")
    for tool in ("nginx", "haproxy"):
        if tool in wanted and not shutil.which(tool):
            print(f"# {tool} is not installed: skipped (scripts/bench/run installs it)", file=sys.stderr)
            wanted.remove(tool)
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if shutil.which("wrk") else "builtin"

    bin_dir = Path(args.bin_dir)
    gateway_bin, bench_bin = bin_dir / "gateway", bin_dir / "examples" / "bench"
    if args.gateway_bin:
        gateway_bin = Path(args.gateway_bin)
    for b in (gateway_bin, bench_bin):
        if not b.exists():
            print(f"missing {b}: run scripts/bench/run (or cargo build --release -p gateway "
                  f"--bin gateway --example bench)", file=sys.stderr)
            return 2

    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        server_core, load_core = cores[-1], cores[0]
    else:
        server_core = load_core = None
        print("# one core only: nothing pinned", file=sys.stderr)

    work = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    servers: list[Server] = []

    def start(name: str, argv: list[str], port: int, env: dict | None = None) -> Server:
        log = work / f"{name}.log"
        proc = subprocess.Popen(
            pinned(server_core, argv), stdout=open(log, "w"), stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, cwd=work,
        )
        server = Server(name, port, proc, log)
        servers.append(server)
        try:
            wait_port(port)
        except RuntimeError:
            raise RuntimeError(f"{name} did not start; its log:\n{log.read_text()}")
        return server

    machine = machine_description()
    results: dict = {"machine": machine, "settings": {
        "rounds": args.rounds, "seconds": args.seconds, "connections": args.connections,
        "rate": args.rate, "rate_seconds": args.rate_seconds,
        "rate_connections": args.rate_connections, "tokens": args.tokens,
        "loadgen": loadgen, "server_core": server_core, "load_core": load_core,
        "smoke": args.smoke, "bin_dir": str(bin_dir), "gateway_bin": str(gateway_bin), "gateway_b": args.gateway_b,
    }}
    try:
        # The backend, then the tokens.
        backend_port = free_port()
        backend = start("backend", [str(bench_bin), "backend", "--listen",
                                    f"127.0.0.1:{backend_port}", "--keys", str(KEYS)], backend_port)
        secret = os.urandom(24).hex()
        tokens = json.loads(subprocess.run(
            [str(bench_bin), "tokens", "--secret", secret, "--keys", str(KEYS),
             "--count", str(max(1, args.tokens))],
            capture_output=True, text=True, check=True).stdout)
        targets: list[Target] = []
        gw_env = {"TOKIO_WORKER_THREADS": "1", "RUST_LOG": "warn"}
        for name in wanted:
            if name == "direct":
                targets.append(Target(name, backend_port, None))
            elif name == "nginx":
                port = free_port()
                (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, backend=backend_port, port=port))
                s = start(name, ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                                 str(work / "nginx-error.log")], port)
                targets.append(Target(name, port, s))
            elif name == "haproxy":
                port = free_port()
                (work / "haproxy.cfg").write_text(HAPROXY_CONF.format(backend=backend_port, port=port))
                s = start(name, ["haproxy", "-db", "-f", str(work / "haproxy.cfg")], port)
                targets.append(Target(name, port, s))
            else:
                alg = {"gateway-hs256": "HS256", "gateway-rs256": "RS256", "gateway-eddsa": "EdDSA",
                       "gateway-hs256-b": "HS256"}[name]
                binary = Path(args.gateway_b) if name.endswith("-b") else gateway_bin
                port = free_port()
                cfg = work / f"{name}.toml"
                cfg.write_text(gateway_config(port, backend_port, secret if alg == "HS256" else None,
                                              jwks=alg != "HS256"))
                s = start(name, [str(binary), "--config", str(cfg)], port, gw_env)
                tokens_file = work / f"tokens-{alg}.txt"
                tokens_file.write_text("\n".join(tokens[alg]) + "\n")
                targets.append(Target(name, port, s, token=tokens[alg][0], tokens_file=tokens_file))
        # Every target works, and the gateway really verifies.
        for t in targets:
            status = http_get(t.port, PAGE_PATH, t.token)
            if status != 200:
                raise RuntimeError(f"{t.name}: GET {PAGE_PATH} answered {status}, expected 200")
            if t.token and http_get(t.port, PAGE_PATH, None) != 401:
                raise RuntimeError(f"{t.name}: a request without a token was not refused with 401")
            if t.server:
                t.idle_rss_kib = status_kib(t.server.pids(), "VmRSS")
                t.threads = threads_of(t.server.proc.pid)
        by_name = {t.name: t for t in targets}

        def url(t: Target) -> str:
            return f"http://127.0.0.1:{t.port}{PAGE_PATH}"

        def measure_throughput(t: Target, seconds: float) -> dict:
            pids = t.server.pids() if t.server else []
            bpids = backend.pids()
            (u0, s0), b0, x0 = cpu_split(pids), cpu_seconds(bpids), context_switches(pids)
            if loadgen == "wrk":
                r = run_wrk(load_core, url(t), max(1, round(seconds)), args.connections, t.token)
            else:
                j = run_rate(bench_bin, load_core, url(t), 0, seconds, args.connections,
                             t.tokens_file if t.token else None)
                r = {"requests": j["requests"], "rps": j["achieved_rps"],
                     "errors": j["errors"] + j["non_2xx"]}
            (u1, s1), b1, x1 = cpu_split(pids), cpu_seconds(bpids), context_switches(pids)
            per_request = 1e6 / max(1, r["requests"])
            r["user_us"] = (u1 - u0) * per_request
            r["sys_us"] = (s1 - s0) * per_request
            r["cpu_us"] = r["user_us"] + r["sys_us"]
            r["switches"] = (x1 - x0) / max(1, r["requests"])
            r["backend_cpu_us"] = (b1 - b0) * per_request
            return r

        # Warm-up: connections, pools, JWKS, caches, page cache (the smoke run only checks).
        for t in targets if not args.smoke else []:
            measure_throughput(t, 1)
        print(f"# {len(targets)} targets, {args.rounds} round(s), loadgen {loadgen}, servers on core "
              f"{server_core}, load on core {load_core}", file=sys.stderr)
        for rnd in range(args.rounds):
            for t in targets:
                r = measure_throughput(t, args.seconds)
                t.rps.append(r["rps"])
                t.cpu_us_sat.append(r["cpu_us"])
                t.user_us_sat.append(r["user_us"])
                t.sys_us_sat.append(r["sys_us"])
                t.switches_sat.append(r["switches"])
                t.backend_cpu_us_sat.append(r["backend_cpu_us"])
                t.errors += r["errors"]
                print(f"# round {rnd + 1} {t.name:14} {r['rps']:9.0f} req/s  proxy CPU "
                      f"{r['cpu_us']:6.1f} µs/req", file=sys.stderr)
            for t in targets:
                pids = t.server.pids() if t.server else []
                c0 = cpu_seconds(pids)
                j = run_rate(bench_bin, load_core, url(t), args.rate, args.rate_seconds,
                             args.rate_connections, t.tokens_file)
                c1 = cpu_seconds(pids)
                t.p50.append(j["latency_us"]["p50"])
                t.p99.append(j["latency_us"]["p99"])
                t.cpu_us_rate.append((c1 - c0) * 1e6 / max(1, j["requests"]))
                t.errors += j["errors"] + j["non_2xx"]
                print(f"# round {rnd + 1} {t.name:14} at {args.rate:.0f}/s p50 "
                      f"{j['latency_us']['p50']} µs p99 {j['latency_us']['p99']} µs", file=sys.stderr)
        for t in targets:
            if t.server:
                t.peak_rss_kib = status_kib(t.server.pids(), "VmHWM")

        aggregation = None
        gw = by_name.get("gateway-hs256") or next((t for t in targets if t.name.startswith("gateway")), None)
        if gw and not args.no_aggregate:
            aggregation = measure_aggregation(bench_bin, load_core, gw, backend_port, args)
        soak = None
        if gw and args.soak > 0:
            soak = measure_soak(bench_bin, load_core, gw, args)
    finally:
        for s in reversed(servers):
            s.stop()
    results["loadavg_at_end"] = os.getloadavg()
    results["targets"] = summarise(targets)
    results["aggregation"] = aggregation
    results["soak"] = soak
    results["goals"] = goals(results)
    table = render(results)
    print(table)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + ("-smoke" if args.smoke else "")
    (out / f"results-{stamp}.json").write_text(json.dumps(results, indent=2))
    (out / f"results-{stamp}.md").write_text(table + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"# results: {out / f'results-{stamp}.json'} and .md", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    return 0


def measure_aggregation(bench_bin, core, gw: Target, backend_port: int, args) -> dict:
    """/api/dashboard (calls of 5, 10, 20 ms at once) against its slowest call (20 ms) alone."""
    seconds = 0.5 if args.smoke else 5
    rate = 50 if args.smoke else 200
    runs = {
        "dashboard": f"http://127.0.0.1:{gw.port}/api/dashboard",
        "slowest_call_direct": f"http://127.0.0.1:{backend_port}/delay/20/summary",
        "slowest_call_via_gateway": f"http://127.0.0.1:{gw.port}/delay/20/summary",
    }
    out = {}
    for name, u in runs.items():
        j = run_rate(bench_bin, core, u, rate, seconds, 16, gw.tokens_file)
        out[name] = {"p50_us": j["latency_us"]["p50"], "p99_us": j["latency_us"]["p99"],
                     "requests": j["requests"], "errors": j["errors"] + j["non_2xx"]}
    out["p50_over_slowest_us"] = out["dashboard"]["p50_us"] - out["slowest_call_direct"]["p50_us"]
    return out


def measure_soak(bench_bin, core, gw: Target, args) -> dict:
    """The HS256 gateway at the fixed rate for --soak seconds; RSS sampled every few seconds."""
    argv = [str(bench_bin), "rate", "--url", f"http://127.0.0.1:{gw.port}{PAGE_PATH}", "--rate",
            str(args.rate), "--seconds", str(args.soak), "--connections", str(args.rate_connections),
            "--tokens", str(gw.tokens_file)]
    proc = subprocess.Popen(pinned(core, argv), stdout=subprocess.PIPE, text=True)
    samples, started = [], time.monotonic()
    step = max(0.5, min(2.0, args.soak / 60))
    while proc.poll() is None:
        samples.append((round(time.monotonic() - started, 1), status_kib(gw.server.pids(), "VmRSS")))
        time.sleep(step)
    load = json.loads(proc.stdout.read())
    window = min(60.0, args.soak / 6)
    first = [kib for t, kib in samples if window <= t < 2 * window]
    last = [kib for t, kib in samples if t >= samples[-1][0] - window] if samples else []
    growth = soak_growth(samples, window)
    return {"seconds": args.soak, "rate": args.rate, "tokens": args.tokens, "samples_kib": samples,
            "growth_percent": growth,
            "median_first_mib": round(statistics.median(first) / 1024, 1) if first else None,
            "median_last_mib": round(statistics.median(last) / 1024, 1) if last else None, "p50_us": load["latency_us"]["p50"],
            "p99_us": load["latency_us"]["p99"], "errors": load["errors"] + load["non_2xx"]}


def soak_growth(samples: list[tuple[float, int]], warm_up: float) -> float | None:
    """RSS growth after warm-up, in percent of the mean: the least-squares line through the
    samples, from its value at the end of warm-up to its value at the end. RSS saw-tooths by
    ±15 % as the allocator and the token cache's generations turn over; a leak is a slope, a
    saw-tooth is not, and a fit over every sample is not fooled by where two windows fall."""
    pts = [(t, kib) for t, kib in samples if t >= warm_up]
    if len(pts) < 3:
        return None
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mk = sum(k for _, k in pts) / n
    var = sum((t - mt) ** 2 for t, _ in pts)
    if var == 0 or mk == 0:
        return None
    slope = sum((t - mt) * (k - mk) for t, k in pts) / var
    return slope * (pts[-1][0] - pts[0][0]) / mk * 100


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def summarise(targets: list[Target]) -> dict:
    out = {}
    for t in targets:
        out[t.name] = {
            "rps": med(t.rps), "rps_rounds": t.rps,
            "proxy_cpu_us_per_req": med(t.cpu_us_sat) if t.server else None,
            "proxy_user_us_per_req": med(t.user_us_sat) if t.server else None,
            "proxy_system_us_per_req": med(t.sys_us_sat) if t.server else None,
            "proxy_context_switches_per_req": med(t.switches_sat) if t.server else None,
            "backend_cpu_us_per_req": med(t.backend_cpu_us_sat),
            "proxy_cpu_us_per_req_at_rate": med(t.cpu_us_rate) if t.server else None,
            "p50_us": med(t.p50), "p99_us": med(t.p99),
            "p99_us_rounds": t.p99,
            "idle_rss_mib": round(t.idle_rss_kib / 1024, 1) if t.server else None,
            "peak_rss_mib": round(t.peak_rss_kib / 1024, 1) if t.server else None,
            "threads": t.threads or None,
            "errors": t.errors,
        }
    nginx = out.get("nginx")
    direct = out.get("direct")
    for name, r in out.items():
        r["rps_vs_direct"] = r["rps"] / direct["rps"] if direct and direct["rps"] else None
        if nginx and nginx["rps"]:
            r["rps_vs_nginx"] = r["rps"] / nginx["rps"]
            r["cpu_vs_nginx"] = (r["proxy_cpu_us_per_req"] / nginx["proxy_cpu_us_per_req"]
                                 if r["proxy_cpu_us_per_req"] and nginx["proxy_cpu_us_per_req"] else None)
            r["p99_vs_nginx"] = r["p99_us"] / nginx["p99_us"] if nginx["p99_us"] else None
        else:
            r["rps_vs_nginx"] = r["cpu_vs_nginx"] = r["p99_vs_nginx"] = None
    return out


def goals(results: dict) -> list[dict]:
    t = results["targets"]
    g = []

    def goal(name, value, ok, target):
        g.append({"goal": name, "value": value, "target": target,
                  "met": None if value is None or ok is None else bool(ok)})

    hs = t.get("gateway-hs256")
    if hs:
        v = hs.get("rps_vs_nginx")
        goal("HS256 throughput vs nginx", v, v is not None and v >= 1.0, "≥ 1.00 (stretch 1.25)")
        v = hs.get("cpu_vs_nginx")
        goal("HS256 proxy CPU/req vs nginx", v, v is not None and v <= 1.0, "≤ 1.00")
        v = hs.get("p99_vs_nginx")
        goal("HS256 p99 at fixed rate vs nginx", v, v is not None and v <= 1.2, "≤ 1.20")
    for name in ("gateway-rs256", "gateway-eddsa"):
        if name in t:
            v = t[name].get("rps_vs_nginx")
            goal(f"{name[8:].upper().replace('EDDSA', 'EdDSA')} throughput vs nginx", v,
                 v is not None and v >= 0.9, "≥ 0.90")
    gws = [r for n, r in t.items() if n.startswith("gateway")]
    if gws:
        v = max(r["idle_rss_mib"] for r in gws)
        goal("gateway idle RSS (MiB)", v, v < 20, "< 20")
        v = max(r["peak_rss_mib"] for r in gws)
        goal("gateway peak RSS under load (MiB)", v, v < 60, "< 60")
    agg = results.get("aggregation")
    if agg:
        v = agg["p50_over_slowest_us"] / 1000
        goal("/api/dashboard p50 − slowest call p50 (ms)", v, v <= 1.0, "≤ 1.0")
    soak = results.get("soak")
    if soak:
        v = soak["growth_percent"]
        goal(f"RSS growth over a {soak['seconds']:.0f} s soak (%)", v, v is not None and v < 5, "< 5")
    return g


def fmt(v, spec=".2f", none="–"):
    return none if v is None else format(v, spec)


def render(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}; "
        f"{m['nginx']}; {m['haproxy'].split(' - ')[0]}; load generator {s['loadgen']}; "
        f"commit {m['commit']}; {m['date']}",
        f"Servers pinned to core {s['server_core']}, load generator to core {s['load_core']}; one "
        f"worker each; {s['rounds']} interleaved round(s) of {s['seconds']:g} s at {s['connections']} "
        f"connections (median shown); fixed rate {s['rate']:g} req/s for {s['rate_seconds']:g} s "
        f"over {s['rate_connections']} connections; load average {m['loadavg_at_start'][0]:.2f} at "
        f"start, {results['loadavg_at_end'][0]:.2f} at end.",
        "",
        "| target | req/s | × direct | × nginx | proxy CPU µs/req (s per 10k) | × nginx | "
        f"p50 µs @{s['rate']:g}/s | p99 µs | p99 × nginx | idle RSS MiB | peak RSS MiB | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["targets"].items():
        cpu = r["proxy_cpu_us_per_req"]
        lines.append(
            f"| {name} | {fmt(r['rps'], '.0f')} | {fmt(r['rps_vs_direct'])} | {fmt(r['rps_vs_nginx'])} | "
            f"{fmt(cpu, '.1f')}{'' if cpu is None else f' ({cpu / 100:.3f})'} | {fmt(r['cpu_vs_nginx'])} | "
            f"{fmt(r['p50_us'], '.0f')} | {fmt(r['p99_us'], '.0f')} | {fmt(r['p99_vs_nginx'])} | "
            f"{fmt(r['idle_rss_mib'], '.1f')} | {fmt(r['peak_rss_mib'], '.1f')} | {r['errors']} |"
        )
    lines += [
        "",
        "Where each proxy's CPU goes (the same throughput runs, medians): its own code and "
        "libraries (user), the kernel on its behalf (system: the system calls, TCP over "
        "loopback), the hand-overs between it and the backend that shares its core, and what "
        "the backend spent per request:",
        "",
        "| target | user µs/req | × nginx | system µs/req | × nginx | context switches/req | "
        "backend CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    nginx = results["targets"].get("nginx") or {}
    for name, r in results["targets"].items():
        if r["proxy_cpu_us_per_req"] is None:
            continue
        ratio = lambda key: (r[key] / nginx[key]  # noqa: E731
                             if r.get(key) is not None and nginx.get(key) else None)
        lines.append(
            f"| {name} | {fmt(r['proxy_user_us_per_req'], '.1f')} | "
            f"{fmt(ratio('proxy_user_us_per_req'))} | {fmt(r['proxy_system_us_per_req'], '.1f')} | "
            f"{fmt(ratio('proxy_system_us_per_req'))} | "
            f"{fmt(r['proxy_context_switches_per_req'])} | "
            f"{fmt(r['backend_cpu_us_per_req'], '.1f')} |"
        )
    agg = results.get("aggregation")
    if agg:
        lines += [
            "",
            "Aggregation: `/api/dashboard` = 3 concurrent calls of 5, 10 and 20 ms (p50 / p99 µs): "
            f"dashboard {agg['dashboard']['p50_us']} / {agg['dashboard']['p99_us']}; slowest call "
            f"direct {agg['slowest_call_direct']['p50_us']} / {agg['slowest_call_direct']['p99_us']}; "
            f"slowest call through the gateway {agg['slowest_call_via_gateway']['p50_us']} / "
            f"{agg['slowest_call_via_gateway']['p99_us']}.",
        ]
    soak = results.get("soak")
    if soak:
        kib = [k for _, k in soak["samples_kib"]]
        lines += [
            "",
            f"Soak: gateway-hs256 at {soak['rate']:g} req/s for {soak['seconds']:g} s with "
            f"{soak['tokens']} tokens: RSS {min(kib) / 1024:.1f}–{max(kib) / 1024:.1f} MiB, median "
            f"{fmt(soak['median_first_mib'], '.1f')} MiB after warm-up and "
            f"{fmt(soak['median_last_mib'], '.1f')} MiB in the last minute "
            f"(growth along a fitted line {fmt(soak['growth_percent'], '.1f')} %), p50 {soak['p50_us']} µs, p99 {soak['p99_us']} µs, "
            f"errors {soak['errors']}.",
        ]
    lines += ["", "| goal | value | target | met |", "|---|---:|---|---|"]
    for g in results["goals"]:
        met = {True: "yes", False: "**no**", None: "–"}[g["met"]]
        lines.append(f"| {g['goal']} | {fmt(g['value'])} | {g['target']} | {met} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
