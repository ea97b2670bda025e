#!/usr/bin/env python3
"""An overlay's pods, started as processes from the rendered manifests, and probed.

    python3 tests/kubernetes/run_overlay.py [production|demo]     # default: production

No cluster is needed to learn whether the manifests' settings work: each Deployment's container
runs as a local process of the binary its image carries (target/debug/<name>, built by `cargo
build`), with exactly the environment and arguments the manifest gives it and nothing else
(`env -i`), its ConfigMap and Secret volumes written to a temporary folder. What a cluster
would provide is stood in for on loopback:

- every Service address (`auth-service:8081`) and listen address (`0.0.0.0:8081`) becomes
  `127.0.0.1:<a free port>`, in environment values and in mounted files alike;
- the Secrets production references are made here: an Ed25519 signing key, no OAuth clients,
  a metrics token, and a `redis-server` of our own for the Secret `redis` (the demo overlay's
  generated Secrets are used as they are); the database is a SQLite file (or TEST_POSTGRES_URL's
  PostgreSQL when set), standing in for the external one and for the demo's StatefulSet;
- `fieldRef: metadata.name` is `<deployment>-0`.

Then every probe of every container must answer as the kubelet wants (HTTP 200), and a user
goes through the gateway: register, log in (an EdDSA token), read the profile and the
dashboard (verified by the gateway and the backends from the auth-service's JWKS), with the
pod's name in `X-Served-By`. Prints one line per check; exit status 1 on a failure.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import check_manifests as cm  # noqa: E402

BIN = cm.ROOT / "target" / "debug"
failures = 0


def say(ok: bool, what: str) -> None:
    global failures
    failures += not ok
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: dict | None = None, token: str | None = None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    if body:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except OSError:
        return 0, {}, b""


class Cluster:
    """Loopback stand-ins for what Kubernetes would give the pods."""

    def __init__(self, objects: list[dict], tmp: pathlib.Path):
        self.objects = objects
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        # One loopback port per port number the Services expose (they are distinct here).
        self.ports: dict[int, int] = {}
        self.services: set[str] = set()
        for obj in objects:
            if obj["kind"] == "Service":
                self.services.add(obj["metadata"]["name"])
                for p in obj["spec"]["ports"]:
                    self.ports.setdefault(p["port"], free_port())
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(tmp / "signing.pem")],
                       check=True, capture_output=True)
        database = os.environ.get("TEST_POSTGRES_URL") or f"sqlite://{tmp}/auth.db?mode=rwc"
        self.secrets = {
            ("auth-signing", "signing.pem"): (tmp / "signing.pem").read_text(),
            ("auth-signing", "keys.toml"): '[{ kid = "2026-01", alg = "EdDSA", private_key_file = '
            '"/var/run/secrets/auth-signing/signing.pem" }]',
            ("auth-database", "url"): database,
            ("auth-clients", "clients.toml"): "[]",
            ("metrics-token", "token"): "run-overlay-metrics-token-0123456789abcdef",
            ("redis", "url"): "redis://redis:6379",
        }
        # Secrets the rendering holds itself (the demo overlay's) win over the stand-ins, but
        # for the database: its PostgreSQL StatefulSet is not run here.
        # (Generated Secrets carry a hash suffix: `auth-database-2md5cm9599`.)
        for obj in objects:
            if obj["kind"] == "Secret":
                name = obj["metadata"]["name"]
                for key, value in (obj.get("data") or {}).items():
                    self.secrets[(name, key)] = base64.b64decode(value).decode()
                if name.startswith("auth-database"):
                    self.secrets[(name, "url")] = database

    def local(self, text: str) -> str:
        """Service and listen addresses on loopback; mount paths inside the temporary folder."""
        names = "|".join(sorted(map(re.escape, self.services | {"0.0.0.0"}), key=len, reverse=True))

        def to_loopback(m: re.Match) -> str:
            port = int(m.group(2))
            return f"127.0.0.1:{self.ports.get(port, port)}"

        text = re.sub(rf"\b({names}):(\d+)\b", to_loopback, text)
        return re.sub(r"(?<![\w/])/(etc/gateway|var/run/secrets)/", lambda m: f"{self.tmp}/{m.group(1)}/", text)

    def config_map(self, name: str) -> dict:
        for obj in self.objects:
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == name:
                return obj["data"]
        raise KeyError(name)

    def env_value(self, env: dict, pod_name: str) -> str:
        if "value" in env:
            return self.local(env["value"])
        ref = env["valueFrom"]
        if "secretKeyRef" in ref:
            r = ref["secretKeyRef"]
            return self.local(self.secrets[(r["name"], r["key"])])
        if "configMapKeyRef" in ref:
            r = ref["configMapKeyRef"]
            return self.local(self.config_map(r["name"])[r["key"]])
        if ref.get("fieldRef", {}).get("fieldPath") == "metadata.name":
            return pod_name
        raise ValueError(f"cannot resolve {env}")

    def mount(self, pod: dict, container: dict) -> None:
        for m in container.get("volumeMounts") or []:
            volume = next(v for v in pod["volumes"] if v["name"] == m["name"])
            if "configMap" in volume:
                files = self.config_map(volume["configMap"]["name"])
            elif "secret" in volume:
                name = volume["secret"]["secretName"]
                files = {k: v for (s, k), v in self.secrets.items() if s == name}
            else:
                continue
            folder = pathlib.Path(self.local(m["mountPath"].rstrip("/") + "/"))
            folder.mkdir(parents=True, exist_ok=True)
            for key, content in files.items():
                (folder / key).write_text(self.local(content))

    def start(self, deployment: dict) -> tuple[str, dict]:
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        name, _ = cm.image_name(container["image"])
        pod_name = f"{deployment['metadata']['name']}-0"
        self.mount(pod, container)
        env = {e["name"]: self.env_value(e, pod_name) for e in container.get("env") or []}
        args = [self.local(a) for a in container.get("args") or []]
        log = open(self.tmp / f"{name}.log", "w")
        # `env -i`: the manifest's environment and nothing else (PATH only, to find nothing).
        process = subprocess.Popen(
            [str(BIN / name), *args], env={"PATH": "/usr/bin:/bin", **env}, stdout=log, stderr=log
        )
        self.processes.append(process)
        return pod_name, container

    def redis(self) -> None:
        self.processes.append(subprocess.Popen(
            ["redis-server", "--port", str(self.ports[6379]), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def stop(self) -> None:
        for p in self.processes:
            p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def probe_url(cluster: Cluster, container: dict, probe: dict) -> str:
    http_get = probe["httpGet"]
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    port = ports.get(http_get["port"], http_get["port"])
    return f"http://127.0.0.1:{cluster.ports[port]}{http_get['path']}"


def main(argv: list[str]) -> int:
    overlay = argv[0] if argv else "production"
    objects = cm.render(overlay)
    # Production signs with the private key (and verifies with the JWKS); the demo with HS256.
    algorithm = "HS256" if overlay == "demo" else "EdDSA"
    print(f"run_overlay: {overlay}")
    deployments = [
        o for o in objects
        if o["kind"] == "Deployment"
        and cm.image_name(o["spec"]["template"]["spec"]["containers"][0]["image"])[0] in cm.CRATES
    ]
    missing = [d for d in deployments if not (BIN / cm.image_name(
        d["spec"]["template"]["spec"]["containers"][0]["image"])[0]).exists()]
    if missing:
        print("run_overlay: build the binaries first: cargo build -p gateway -p auth-service "
              "-p user-service -p billing-service --bins")
        return 1
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="run-overlay-"))
    cluster = Cluster(objects, tmp)
    try:
        cluster.redis()
        started = [(d["metadata"]["name"], *cluster.start(d)) for d in deployments]
        # Startup probes first, as the kubelet does: up to each probe's failureThreshold.
        for deployment, pod_name, container in started:
            probe = container["startupProbe"]
            url = probe_url(cluster, container, probe)
            deadline = time.monotonic() + probe["periodSeconds"] * probe["failureThreshold"]
            status = 0
            while time.monotonic() < deadline and status != 200:
                status = http("GET", url)[0]
                time.sleep(0.2)
            say(status == 200, f"{deployment}: startupProbe /{url.split('/', 3)[-1]} → {status}")
        for deployment, pod_name, container in started:
            for kind in ("readinessProbe", "livenessProbe"):
                url = probe_url(cluster, container, container[kind])
                status = http("GET", url)[0]
                say(status == 200, f"{deployment}: {kind} /{url.split('/', 3)[-1]} → {status}")

        gateway = f"http://127.0.0.1:{cluster.ports[8080]}"
        user = {"email": "ada@example.edu", "password": "long enough pw", "name": "Ada"}
        status, _, _ = http("POST", f"{gateway}/api/auth/register", user)
        say(status == 201, f"register through the gateway → {status}")
        credentials = {k: user[k] for k in ("email", "password")}
        status, _, body = http("POST", f"{gateway}/api/auth/login", credentials)
        token = json.loads(body or b"{}").get("access_token", "")
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==") or b"{}") if token else {}
        say(status == 200 and header.get("alg") == algorithm, f"login → {status}, token header {header}")
        for path in ("/api/users/me", "/api/dashboard"):
            status, headers, body = http("GET", f"{gateway}{path}", token=token)
            say(
                status == 200 and headers.get("x-served-by") == "gateway-0",
                f"GET {path} → {status}, X-Served-By {headers.get('x-served-by')}",
            )
    finally:
        cluster.stop()
        if failures:
            for log in sorted(tmp.glob("*.log")):
                print(f"--- {log.name} (last lines)")
                print("\n".join(log.read_text().splitlines()[-8:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"run_overlay: {'all checks passed' if not failures else f'{failures} failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
