#!/usr/bin/env python3
"""Instructions per proxied request, counted by callgrind: repeatable whatever else the machine
is doing, so it can judge an optimisation that a noisy throughput run cannot.

    python3 scripts/bench/profile.py [--alg HS256|RS256|EdDSA] [--requests 3000] [--gateway-bin PATH]
    python3 scripts/bench/profile.py --nginx      # the same count for nginx's plain proxy_pass

Needs valgrind and the release builds of `scripts/bench/run`. Starts the bench backend and the
gateway under `valgrind --tool=callgrind`, warms it up, zeroes the counters, sends --requests
requests at a low fixed rate, and prints the instructions per request and the functions with the
largest inclusive share (the callgrind file is kept for `callgrind_annotate` or kcachegrind).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (the harness: ports, configs, the load generator)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alg", choices=["HS256", "RS256", "EdDSA"], default="HS256")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--tokens", type=int, default=100)
    p.add_argument("--bin-dir", default=str(bench.ROOT / "target" / "release"))
    p.add_argument("--gateway-bin")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--nginx", action="store_true",
                   help="profile nginx (the benchmark's configuration, one process) instead")
    args = p.parse_args()
    bin_dir = Path(args.bin_dir)
    gateway_bin = Path(args.gateway_bin) if args.gateway_bin else bin_dir / "gateway"
    bench_bin = bin_dir / "examples" / "bench"
    work = Path(tempfile.mkdtemp(prefix="gateway-profile-"))
    procs = []
    try:
        backend_port, port = bench.free_port(), bench.free_port()
        procs.append(subprocess.Popen(
            [str(bench_bin), "backend", "--listen", f"127.0.0.1:{backend_port}", "--keys", str(bench.KEYS)],
            stdout=subprocess.DEVNULL))
        bench.wait_port(backend_port)
        secret = os.urandom(24).hex()
        tokens = json.loads(subprocess.run(
            [str(bench_bin), "tokens", "--secret", secret, "--keys", str(bench.KEYS), "--count",
             str(args.tokens)], capture_output=True, text=True, check=True).stdout)
        (work / "tokens").write_text("\n".join(tokens[args.alg]) + "\n")
        out = work / "callgrind.out"
        if args.nginx:
            # The benchmark's nginx, in one process (no master) so that callgrind sees the
            # worker; it ignores the token, as it does in the benchmark.
            (work / "nginx.conf").write_text(
                bench.NGINX_CONF.format(dir=work, backend=backend_port, port=port)
                .replace("master_process on;", "master_process off;"))
            target = ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work), "-e",
                      str(work / "nginx-error.log")]
        else:
            (work / "gw.toml").write_text(bench.gateway_config(
                port, backend_port, secret if args.alg == "HS256" else None, jwks=args.alg != "HS256"))
            target = [str(gateway_bin), "--config", str(work / "gw.toml")]
        gw = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *target],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "TOKIO_WORKER_THREADS": "1", "RUST_LOG": "warn"})
        procs.append(gw)
        bench.wait_port(port, timeout=60)
        url = f"http://127.0.0.1:{port}{bench.PAGE_PATH}"
        # Warm-up: every token once (a cache, if any, is filled), pools and buffers grown.
        bench.run_rate(bench_bin, None, url, 200, max(2.0, args.tokens / 100), 4, work / "tokens")
        subprocess.run(["callgrind_control", "--zero", str(gw.pid)], capture_output=True, check=True)
        rate = 300
        load = bench.run_rate(bench_bin, None, url, rate, args.requests / rate, 4, work / "tokens")
        subprocess.run(["callgrind_control", "--dump", str(gw.pid)], capture_output=True, check=True)
        time.sleep(1)
        dumps = sorted(work.glob("callgrind.out*"), key=lambda f: f.stat().st_mtime)
        dump = next(f for f in reversed(dumps) if f.stat().st_size > 0)
        annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(dump)],
                                  capture_output=True, text=True).stdout
        total = next(int(line.split()[0].replace(",", "")) for line in annotate.splitlines()
                     if "PROGRAM TOTALS" in line)
        answered = load["requests"]
        what = "nginx" if args.nginx else args.alg
        print(f"{what}: {answered} requests ({load['non_2xx'] + load['errors']} failed), "
              f"{total:,} instructions, {total / max(1, answered):,.0f} per request")
        print(f"callgrind file: {dump}")
        shown = 0
        for line in annotate.splitlines():
            if "(" in line and "%)" in line and "???" in line or ".c:" in line:
                print(line[:160])
                shown += 1
                if shown >= args.top:
                    break
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
