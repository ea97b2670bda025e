#!/usr/bin/env python3
"""The `scale` and `postgres` profiles, brought up and checked for real (docs/scaling.md).

    scripts/compose-scale-smoke.py

Run by scripts/compose-smoke.sh once the default stack is up and its images are built (it reuses
them, and tears everything down afterwards); it can also run by hand on a stack started with
`docker compose up -d`. Standard library only. Each check prints a line; the figures (time to
healthy, requests lost while a replica stops, Redis recovery, peak memory of every service) are
printed on `FIGURE` lines. Exit status 1 when a check fails.

Checks, in order:
1. `--profile scale --profile postgres up -d`, and the time until all their services are healthy;
2. each replica answers through the load balancer (`X-Served-By: gateway-a` / `gateway-b`);
3. a token issued through one replica is accepted by the other;
4. a rate limit holds across both replicas: `register-ip` (burst 40, then 10 a minute per
   client address, counted in Redis) lets through 40 registrations, not 80, however the load
   balancer spreads them; allowed = 40 plus what the elapsed time refilled, at most one more;
5. `docker compose stop gateway-a` while two users' GETs run through the load balancer at a
   steady pace: none is lost (nginx retries an idempotent request on the other replica,
   docker/nginx.conf);
6. Redis stopped: the API's limits fail open (200), the password endpoints' fail closed (503
   `rate_limiter_unavailable`); Redis started again: logins work again, no gateway restarted;
7. the auth-service on PostgreSQL (gateway-pg): login, refresh, and a reused refresh token
   refused with its whole family revoked;
8. peak resident memory (VmHWM) of every service after a short load (16 logins and 200
   dashboards through the default gateway, 8 at a time), the figures the Kubernetes manifests'
   requests and limits are sized from.

Settings: the compose command in COMPOSE (default `docker compose`, else `docker-compose`),
COMPOSE_PROJECT_NAME, SCALE_PORT (load balancer, default 18180), GATEWAY_PG_PORT (default
18280), GATEWAY_PORT (the default gateway, for the load of step 8, default 18080).
"""

from __future__ import annotations

import concurrent.futures as futures
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

COMPOSE = shlex.split(os.environ.get("COMPOSE", "docker compose"))
SCALE = f"http://127.0.0.1:{os.environ.get('SCALE_PORT', '18180')}"
PG = f"http://127.0.0.1:{os.environ.get('GATEWAY_PG_PORT', '18280')}"
DEFAULT = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '18080')}"
PROFILES = ["--profile", "scale", "--profile", "postgres"]
NEW_SERVICES = ["redis", "gateway-a", "gateway-b", "lb", "postgres", "auth-service-pg", "gateway-pg"]
STUDENT = {"email": "student@example.edu", "password": "student123"}
ADMIN = {"email": "admin@example.edu", "password": "admin123"}
HEALTH_DEADLINE = float(os.environ.get("SMOKE_HEALTH_DEADLINE", "240"))

passed = 0
failed = 0


def check(ok: bool, what: str) -> bool:
    global passed, failed
    if ok:
        passed += 1
        print(f"  ok   {what}", flush=True)
    else:
        failed += 1
        print(f"  FAIL {what}", flush=True)
    return ok


def figure(text: str) -> None:
    print(f"FIGURE {text}", flush=True)


def compose(*args: str, timeout: float = 300) -> str:
    return subprocess.run(
        [*COMPOSE, *PROFILES, *args], check=True, capture_output=True, text=True, timeout=timeout
    ).stdout


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict:
        try:
            return json.loads(self.body)
        except ValueError:
            return {}

    @property
    def served_by(self) -> str:
        return self.headers.get("x-served-by", "?")


def request(method: str, url: str, body: dict | None = None, token: str | None = None) -> Answer:
    """One request on a fresh connection; a connection failure is status 0."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return Answer(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())
    except (urllib.error.URLError, OSError) as e:
        return Answer(0, {}, str(e).encode())


def health(service: str) -> str:
    ids = compose("ps", "-q", service).split()
    if not ids:
        return "missing"
    fmt = "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"
    return subprocess.run(
        ["docker", "inspect", "-f", fmt, ids[0]], capture_output=True, text=True
    ).stdout.strip()


def wait_healthy(services: list[str], deadline: float) -> float | None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        states = {s: health(s) for s in services}
        if all(v == "healthy" for v in states.values()):
            return time.monotonic() - t0
        time.sleep(0.5)
    print(f"  not healthy within {deadline:.0f}s: {states}")
    return None


def login(base: str) -> Answer:
    return request("POST", f"{base}/api/auth/login", STUDENT)


# --- 1. up ----------------------------------------------------------------------------------------


def up() -> bool:
    print("compose-scale-smoke: up --profile scale --profile postgres", flush=True)
    t0 = time.monotonic()
    compose("up", "-d", timeout=600)
    took = wait_healthy(NEW_SERVICES, HEALTH_DEADLINE)
    if not check(took is not None, "scale and postgres profiles healthy"):
        return False
    total = time.monotonic() - t0
    figure(f"time to healthy (scale + postgres profiles, images built): {total:.1f} s")
    return True


# --- 2.-3. replicas -------------------------------------------------------------------------------


def replicas() -> str | None:
    answer = login(SCALE)
    if not check(answer.status == 200, f"login through the load balancer: HTTP {answer.status}"):
        return None
    token = answer.json()["access_token"]
    issued_by = answer.served_by
    seen: dict[str, int] = {}
    other_ok = False
    for _ in range(8):
        a = request("GET", f"{SCALE}/api/users/me", token=token)
        seen.setdefault(a.served_by, a.status)
        if a.served_by not in (issued_by, "?") and a.status == 200:
            other_ok = True
    check(
        set(seen) == {"gateway-a", "gateway-b"} and set(seen.values()) == {200},
        f"each replica answers (X-Served-By seen: {seen})",
    )
    check(
        other_ok,
        f"a token issued through {issued_by} is accepted by the other replica",
    )
    return token


# --- 4. one rate limit for both replicas ----------------------------------------------------------


def shared_rate_limit() -> None:
    burst, per_refill = 40, 6.0  # register-ip: burst 40, 10 per minute (docker/gateway.toml)
    stamp = int(time.time())
    allowed = 0
    by_replica: dict[str, int] = {}
    t0 = time.monotonic()
    for i in range(burst + 20):
        a = request(
            "POST",
            f"{SCALE}/api/auth/register",
            {"email": f"scale-{stamp}-{i}@example.edu", "password": "scale-smoke-pw-1", "name": "Scale"},
        )
        by_replica[a.served_by] = by_replica.get(a.served_by, 0) + 1
        if a.status != 429:
            allowed += 1
    elapsed = time.monotonic() - t0
    refilled = int(elapsed // per_refill)
    check(
        burst <= allowed <= burst + refilled + 1 and len(by_replica) == 2,
        f"register-ip across both replicas: {allowed} of {burst + 20} let through in {elapsed:.1f} s "
        f"(limit {burst} + {refilled} refilled, at most one more; spread {by_replica})",
    )
    figure(f"shared rate limit: {allowed} allowed for a limit of {burst} (+{refilled} refilled in {elapsed:.1f} s) over 2 replicas")


# --- 5. a replica stops under load ----------------------------------------------------------------


def stop_a_replica(tokens: list[str]) -> None:
    """GETs at a steady pace — one user every 0.15 s each, well inside the per-user limit
    (burst 100, then 10 a second), so every answer but a lost request is a 200 — from 2 s
    before `stop gateway-a` until 3 s after it returns."""
    results: list[tuple[int, str]] = []
    stop = threading.Event()

    def loop(token: str) -> None:
        while not stop.wait(0.15):
            a = request("GET", f"{SCALE}/api/users/me", token=token)
            results.append((a.status, a.served_by))

    workers = [threading.Thread(target=loop, args=(t,)) for t in tokens]
    for w in workers:
        w.start()
    time.sleep(2)
    before = len(results)
    t0 = time.monotonic()
    compose("stop", "gateway-a", timeout=60)
    stopped_in = time.monotonic() - t0
    time.sleep(3)
    stop.set()
    for w in workers:
        w.join(timeout=15)
    lost = [r for r in results if r[0] != 200]
    after = results[before:]
    check(
        not lost and len(results) > 20 and {s for _, s in after} >= {"gateway-b"},
        f"`stop gateway-a` under a GET loop of {len(tokens)} users: {len(results)} requests, "
        f"{len(lost)} lost {sorted(set(lost))[:5]}; answered during and after the stop by "
        f"{sorted({s for _, s in after})}",
    )
    figure(
        f"requests lost while gateway-a stopped: {len(lost)} of {len(results)} GETs "
        f"({stopped_in:.1f} s for `stop gateway-a`)"
    )
    compose("start", "gateway-a", timeout=60)


# --- 6. Redis away and back -----------------------------------------------------------------------


def redis_away(token: str) -> None:
    compose("stop", "redis", timeout=60)
    api = [request("GET", f"{SCALE}/api/users/me", token=token) for _ in range(2)]
    check(
        all(a.status == 200 for a in api),
        f"Redis stopped: /api/users/me (per-user limit, fail open) {[a.status for a in api]}",
    )
    a = login(SCALE)
    check(
        a.status == 503 and a.json().get("reason") == "rate_limiter_unavailable",
        f"Redis stopped: /api/auth/login (login-ip, fail closed) HTTP {a.status} {a.json().get('reason')}",
    )
    t0 = time.monotonic()
    compose("start", "redis", timeout=60)
    recovered = None
    while time.monotonic() - t0 < 30:
        if login(SCALE).status == 200:
            recovered = time.monotonic() - t0
            break
        time.sleep(0.5)
    check(recovered is not None, "Redis started again: logins work, no gateway restarted")
    if recovered is not None:
        figure(f"logins back {recovered:.1f} s after `start redis` (gateways not restarted)")


# --- 7. the auth-service on PostgreSQL ------------------------------------------------------------


def postgres_flow() -> None:
    a = login(PG)
    if not check(a.status == 200, f"postgres: login through gateway-pg: HTTP {a.status}"):
        return
    first = a.json()
    me = request("GET", f"{PG}/api/users/me", token=first["access_token"])
    check(me.status == 200, f"postgres: the token works: /api/users/me HTTP {me.status}")
    r = request("POST", f"{PG}/api/auth/refresh", {"refresh_token": first["refresh_token"]})
    check(
        r.status == 200 and r.json().get("refresh_token") not in (None, first["refresh_token"]),
        f"postgres: refresh gives a new pair: HTTP {r.status}",
    )
    second = r.json()
    reuse = request("POST", f"{PG}/api/auth/refresh", {"refresh_token": first["refresh_token"]})
    check(
        reuse.status == 401,
        f"postgres: the used refresh token again: HTTP {reuse.status} {reuse.json().get('reason')}",
    )
    family = request("POST", f"{PG}/api/auth/refresh", {"refresh_token": second.get("refresh_token", "")})
    check(
        family.status == 401,
        f"postgres: its family is revoked, the newer token too: HTTP {family.status} {family.json().get('reason')}",
    )


# --- 8. memory ------------------------------------------------------------------------------------


def load_then_measure() -> None:
    """A short load through the default gateway (logins: argon2 at 19 MiB each; dashboards: all
    three backends), then each service's peak resident memory."""
    # Two users, so the per-user limit (burst 100) lets every dashboard through.
    tokens = [
        login(DEFAULT).json().get("access_token"),
        request("POST", f"{DEFAULT}/api/auth/login", ADMIN).json().get("access_token"),
    ]
    with futures.ThreadPoolExecutor(8) as pool:
        logins = list(pool.map(lambda _: login(DEFAULT).status, range(16)))
        dashboards = list(
            pool.map(
                lambda i: request("GET", f"{DEFAULT}/api/dashboard", token=tokens[i % 2]).status,
                range(200),
            )
        )
    check(
        set(logins) <= {200, 429} and set(dashboards) == {200},
        f"load: 16 logins ({sorted(set(logins))}), 200 dashboards ({sorted(set(dashboards))}), 8 at a time",
    )
    binaries = {
        "gateway": "gateway",
        "gateway-a": "gateway",
        "auth-service": "auth-service",
        "auth-service-pg": "auth-service",
        "user-service": "user-service",
        "billing-service": "billing-service",
        "redis": "redis-server",
        "postgres": "postgres",
    }
    for service, binary in binaries.items():
        ids = compose("ps", "-q", service).split()
        if not ids:
            continue
        # `path:Key:\tvalue` lines of every process in the container, read inside it.
        out = subprocess.run(
            ["docker", "exec", ids[0], "bash", "-c",
             "grep -E '^(Name|VmHWM|VmRSS):' /proc/[0-9]*/status"],
            capture_output=True, text=True,
        ).stdout
        processes: dict[str, dict[str, str]] = {}
        for line in out.splitlines():
            path, key, value = line.split(":", 2)
            processes.setdefault(path, {})[key] = value.split()[0]
        ours = [p for p in processes.values() if p.get("Name") == binary[:15] and "VmHWM" in p]
        if ours:
            # The largest (postgres has several processes; each service has one).
            top = max(ours, key=lambda p: int(p["VmHWM"]))
            figure(
                f"memory {service}: peak RSS {int(top['VmHWM']) / 1024:.1f} MiB, "
                f"now {int(top['VmRSS']) / 1024:.1f} MiB"
            )


def main() -> int:
    if not up():
        return 1
    token = replicas()
    if token:
        shared_rate_limit()
        admin = request("POST", f"{SCALE}/api/auth/login", ADMIN).json().get("access_token", "")
        stop_a_replica([token, admin])
        wait_healthy(["gateway-a"], 60)
        redis_away(token)
    postgres_flow()
    load_then_measure()
    print(f"compose-scale-smoke: {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
