#!/usr/bin/env python3
"""The invariants of deploy/kubernetes/, checked over the rendered objects, and the manifests
checked against the code.

    python3 tests/kubernetes/check_manifests.py            # renders both overlays with kubectl
    python3 tests/kubernetes/check_manifests.py FILE.yaml  # checks rendered objects in a file

Schema validity is kubernetes-validate's job (`.ci/run` runs it on the same rendering); this
checks what a schema cannot say:

- every container has a startup, a readiness and a liveness probe, CPU and memory limits (and
  requests), runs as a non-root numeric uid with a read-only root filesystem, no privilege
  escalation and every capability dropped; every image has an explicit tag, never `latest`,
  and our own images carry the workspace version (Cargo.toml);
- the `production` rendering holds no secret value: no Secret objects, no literal env value
  under a secret-looking name, nothing from the demo;
- manifests against the code: an HTTP probe's path is a route the service serves (read from
  the `.route("…")` calls of its crate and of `shared::service_kit` when it uses that router),
  its port is a container port the service really listens on (from its `…SERVER__LISTEN` or
  the gateway's TOML), and never on loopback; every environment variable is one the program
  reads: a `PREFIX__A__B` key is walked through the service's `Config` struct as serde sees it
  (parsed from the Rust source, so a renamed or removed key fails here), any other name must be
  read with `std::env::var` in the code, or be `RUST_LOG` where the code builds its log filter
  from it.

Each check prints a line; any failure makes the exit status 1. The functions are imported by
test_check_manifests.py, which also shows the checker failing on broken fixtures.
"""

from __future__ import annotations

import functools
import pathlib
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
OVERLAYS = ROOT / "deploy" / "kubernetes" / "overlays"

# Our images, by the crate that builds each binary. Anything else (redis, postgres) is checked
# for the invariants but not against Rust code.
CRATES = {
    "gateway": "gateway",
    "auth-service": "auth-service",
    "user-service": "user-service",
    "billing-service": "billing-service",
}
OUR_IMAGES = {*CRATES, "redis", "postgres"}

# Variables whose literal value would be a secret (production must reference them).
SECRET_NAME = re.compile(r"(SECRET|TOKEN|PASSWORD|SIGNING__KEYS|CLIENTS|DATABASE__URL|REDIS__URL)")


# --- reading the code ---------------------------------------------------------------------------


def rust_sources(*crates: str) -> list[pathlib.Path]:
    files: list[pathlib.Path] = []
    for crate in crates:
        files += sorted((ROOT / crate / "src").rglob("*.rs"))
    return files


def strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)


@dataclass
class Struct:
    """A serde struct: its fields (by their serialized name) and their Rust types."""

    name: str
    fields: dict[str, str] = field(default_factory=dict)


def parse_structs(files: list[pathlib.Path]) -> tuple[dict[str, Struct], dict[str, str]]:
    """Every `struct Name { … }` with named fields, and every `type Name = …;`, in `files`."""
    structs: dict[str, Struct] = {}
    aliases: dict[str, str] = {}
    for path in files:
        text = strip_comments(path.read_text())
        for m in re.finditer(r"\btype\s+(\w+)\s*=\s*([^;]+);", text):
            aliases.setdefault(m.group(1), m.group(2).strip())
        for m in re.finditer(r"\bstruct\s+(\w+)\s*(<[^{;]*?>)?\s*(where[^{]*)?\{", text):
            start = m.end()
            depth, i = 1, start
            while depth and i < len(text):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                i += 1
            body = text[start : i - 1]
            struct = Struct(m.group(1))
            attrs: list[str] = []
            # Fields sit at depth 0 of the body; a type may wrap over lines until its comma.
            for item in split_fields(body):
                item = item.strip()
                while item.startswith("#["):
                    end = matching_bracket(item, 1)
                    attrs.append(item[: end + 1])
                    item = item[end + 1 :].strip()
                fm = re.match(r"(?:pub(?:\([^)]*\))?\s+)?(\w+)\s*:\s*(.+)$", item, re.S)
                if fm:
                    serde = " ".join(a for a in attrs if a.startswith("#[serde"))
                    if not re.search(r"\bskip\b|\bskip_deserializing\b", serde):
                        rename = re.search(r'rename\s*=\s*"([^"]+)"', serde)
                        name = rename.group(1) if rename else fm.group(1)
                        struct.fields[name] = " ".join(fm.group(2).split())
                attrs = []
            if struct.fields:
                structs.setdefault(struct.name, struct)
    return structs, aliases


def matching_bracket(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"[": 1, "]": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return len(text) - 1


def split_fields(body: str) -> list[str]:
    """The body of a struct cut at its top-level commas (generics and attributes kept whole)."""
    items, depth, current = [], 0, []
    for ch in body:
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        items.append("".join(current))
    return items


@dataclass
class ConfigShape:
    """What one service's environment may say: its prefix and its `Config` struct tree."""

    prefix: str
    structs: dict[str, Struct]
    aliases: dict[str, str]
    plain_vars: set[str]

    def resolve(self, rust_type: str) -> tuple[str, str | None]:
        """`("struct", Name)`, `("list", element type)`, `("map", None)` or `("leaf", None)`."""
        t = rust_type.strip()
        for _ in range(10):
            m = re.fullmatch(r"(?:[\w:]+::)?(Option|Box|Arc)<(.+)>", t)
            if not m:
                break
            t = m.group(2).strip()
        m = re.fullmatch(r"(?:[\w:]+::)?Vec<(.+)>", t)
        if m:
            return "list", m.group(1)
        if re.fullmatch(r"(?:[\w:]+::)?(HashMap|BTreeMap|IndexMap)<.+>", t):
            return "map", None
        name = re.sub(r"<.*>$", "", t).split("::")[-1]
        seen = set()
        while name in self.aliases and name not in seen and name not in self.structs:
            seen.add(name)
            target = self.aliases[name]
            kind, inner = self.resolve(target)
            if kind != "struct":
                return kind, inner
            name = inner
        if name in self.structs:
            return "struct", name
        return "leaf", None

    def check_key(self, variable: str) -> str | None:
        """None when `variable` names a key the service reads; otherwise why not."""
        if not variable.startswith(self.prefix):
            if variable in self.plain_vars:
                return None
            return f"{variable} is read nowhere in the code (not {self.prefix}…, not std::env::var)"
        levels = [l.lower() for l in variable[len(self.prefix) :].split("__")]
        kind, name = "struct", "Config"
        walked: list[str] = []
        for level in levels:
            if kind == "struct":
                fields = self.structs[name].fields
                if level not in fields:
                    where = ".".join(walked) or "the top level"
                    return (
                        f"{variable}: `{level}` is no key of {where} "
                        f"(struct {name} has: {', '.join(sorted(fields))})"
                    )
                kind, name = self.resolve(fields[level])
            elif kind == "list":
                if not level.isdigit():
                    return f"{variable}: `{'.'.join(walked)}` is a list; `{level}` is no index"
                kind, name = self.resolve(name)
            elif kind == "map":
                kind, name = "leaf", None
            else:
                return f"{variable}: `{'.'.join(walked)}` is a plain value, it has no `{level}`"
            walked.append(level)
        return None


@functools.cache
def config_shape(crate: str) -> ConfigShape:
    files = rust_sources(crate, "shared")
    own = rust_sources(crate)
    structs, aliases = parse_structs(own)
    shared_structs, shared_aliases = parse_structs(rust_sources("shared"))
    for k, v in shared_structs.items():
        structs.setdefault(k, v)
    for k, v in shared_aliases.items():
        aliases.setdefault(k, v)
    own_text = "\n".join(p.read_text() for p in own)
    prefix = re.search(r'ENV_PREFIX\s*:\s*&(?:\'static\s+)?str\s*=\s*"([A-Z_]+__)"', own_text)
    if not prefix:
        raise SystemExit(f"{crate}: no ENV_PREFIX constant found in its source")
    all_text = "\n".join(p.read_text() for p in files)
    plain = set(re.findall(r'env::var(?:_os)?\(\s*"([A-Z0-9_]+)"\s*\)', all_text))
    # Constants naming a variable, read through `env::var(CONST)`.
    for const, value in re.findall(r'const\s+(\w*ENV\w*)\s*:\s*&str\s*=\s*"([A-Z0-9_]+)"', all_text):
        if re.search(rf"env::var\([^)]*\b{const}\b", all_text):
            plain.add(value)
    # tracing-subscriber's EnvFilter::from_default_env reads RUST_LOG.
    if re.search(r"EnvFilter::(try_)?from_default_env", all_text):
        plain.add("RUST_LOG")
    return ConfigShape(prefix.group(1), structs, aliases, plain)


@functools.cache
def served_paths(crate: str) -> set[str]:
    """The paths a crate's public listener routes (`.route("…")`, constant arrays of paths),
    plus `shared::service_kit`'s when the crate builds its router with it."""
    files = rust_sources(crate)
    text = "\n".join(strip_comments(p.read_text()) for p in files)
    if "service_kit::router(" in text:
        files += sorted((ROOT / "shared" / "src" / "service_kit").rglob("*.rs"))
        text = "\n".join(strip_comments(p.read_text()) for p in files)
    paths = set(re.findall(r'\.route\(\s*"([^"]+)"', text))
    consts = {
        name: re.findall(r'"([^"]+)"', items)
        for name, items in re.findall(r"const\s+(\w+)\s*:\s*\[&str;\s*\d+\]\s*=\s*\[([^\]]*)\]", text)
    }
    for name, index in re.findall(r"\.route\(\s*(\w+)\[(\d+)\]", text):
        if name in consts and int(index) < len(consts[name]):
            paths.add(consts[name][int(index)])
    return paths


def entrypoint_vars(script: pathlib.Path) -> set[str]:
    """The variables a shell entrypoint reads (`$NAME`, `${NAME…}`)."""
    return set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script.read_text()))


def workspace_version() -> str:
    with open(ROOT / "Cargo.toml", "rb") as f:
        return tomllib.load(f)["workspace"]["package"]["version"]


# --- the checks ---------------------------------------------------------------------------------


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)
    passes: int = 0

    def check(self, ok: bool, what: str) -> None:
        if ok:
            self.passes += 1
        else:
            self.failures.append(what)


def pod_specs(objects: list[dict]):
    """(kind/name, pod spec) of every workload."""
    for obj in objects:
        kind = obj.get("kind")
        spec = obj.get("spec") or {}
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            yield f"{kind}/{obj['metadata']['name']}", spec["template"]["spec"]
        elif kind == "CronJob":
            yield f"{kind}/{obj['metadata']['name']}", spec["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Pod":
            yield f"Pod/{obj['metadata']['name']}", spec


def image_name(image: str) -> tuple[str, str | None]:
    """`registry/x/gateway:0.1.0` → (`gateway`, `0.1.0`); no tag → None."""
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return last.split("@")[0], "digest"
    if ":" in last:
        name, tag = last.split(":", 1)
        return name, tag
    return last, None


def check_invariants(objects: list[dict], report: Report, version: str) -> None:
    workloads = list(pod_specs(objects))
    report.check(bool(workloads), "the rendering holds no workload at all")
    for where, pod in workloads:
        pod_sc = pod.get("securityContext") or {}
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            at = f"{where} container {c['name']}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                report.check(probe in c, f"{at}: no {probe}")
            res = c.get("resources") or {}
            for kind in ("limits", "requests"):
                for r in ("cpu", "memory"):
                    report.check(r in (res.get(kind) or {}), f"{at}: no {r} in resources.{kind}")
            sc = c.get("securityContext") or {}
            uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
            non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            report.check(non_root is True, f"{at}: runAsNonRoot is not true")
            report.check(isinstance(uid, int) and uid != 0, f"{at}: no non-zero numeric runAsUser")
            report.check(sc.get("readOnlyRootFilesystem") is True, f"{at}: root filesystem writable")
            report.check(
                sc.get("allowPrivilegeEscalation") is False, f"{at}: allowPrivilegeEscalation not false"
            )
            report.check(
                "ALL" in ((sc.get("capabilities") or {}).get("drop") or []),
                f"{at}: capabilities not dropped (drop: [ALL])",
            )
            name, tag = image_name(c.get("image", ""))
            report.check(tag is not None, f"{at}: image {c.get('image')} has no tag (means latest)")
            report.check(tag != "latest", f"{at}: image {c.get('image')} uses the latest tag")
            if name in OUR_IMAGES:
                report.check(
                    tag == version,
                    f"{at}: image {c.get('image')} is not tagged with the workspace version {version}",
                )


def check_no_secret_values(objects: list[dict], report: Report) -> None:
    """Production: secrets are referenced, never written in the manifests."""
    for obj in objects:
        name = f"{obj.get('kind')}/{obj['metadata']['name']}"
        if obj.get("kind") == "Secret":
            report.check(False, f"{name}: a Secret with inline values (reference one instead)")
        text = yaml.safe_dump(obj)
        report.check("demo-only" not in text, f"{name}: carries a demo-only value or label")
    for where, pod in pod_specs(objects):
        for c in pod.get("containers", []):
            for env in c.get("env") or []:
                if SECRET_NAME.search(env["name"]):
                    report.check(
                        "value" not in env,
                        f"{where} {env['name']}: a literal value; take it from a Secret",
                    )


def check_demo_secrets_marked(objects: list[dict], report: Report) -> None:
    for obj in objects:
        if obj.get("kind") == "Secret":
            labels = obj["metadata"].get("labels") or {}
            report.check(
                labels.get("api-gateway-pattern/demo-only") == "true",
                f"Secret/{obj['metadata']['name']}: not labelled api-gateway-pattern/demo-only",
            )


def listen_port(value: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"\[?([^\]]*)\]?:(\d+)", value.strip())
    return (m.group(1), int(m.group(2))) if m else None


def gateway_toml(objects: list[dict], pod: dict, container: dict) -> dict:
    """The TOML the gateway container is started with (`--config PATH` in a mounted ConfigMap)."""
    args = container.get("args") or []
    path = args[args.index("--config") + 1] if "--config" in args else None
    if not path:
        return {}
    for mount in container.get("volumeMounts") or []:
        if path.startswith(mount["mountPath"].rstrip("/") + "/"):
            volume = next(v for v in pod.get("volumes", []) if v["name"] == mount["name"])
            cm_name = (volume.get("configMap") or {}).get("name")
            key = path[len(mount["mountPath"].rstrip("/")) + 1 :]
            for obj in objects:
                if obj.get("kind") == "ConfigMap" and obj["metadata"]["name"] == cm_name:
                    return tomllib.loads(obj["data"][key])
    return {}


def check_against_code(objects: list[dict], report: Report, shapes: dict, routes: dict) -> None:
    for where, pod in pod_specs(objects):
        for c in pod.get("containers", []):
            at = f"{where} container {c['name']}"
            name, _ = image_name(c.get("image", ""))
            env = {e["name"]: e for e in c.get("env") or []}
            if name == "postgres":
                reads = entrypoint_vars(ROOT / "docker" / "postgres-entrypoint.sh")
                for var in env:
                    report.check(var in reads, f"{at}: {var} is read nowhere in docker/postgres-entrypoint.sh")
                continue
            crate = CRATES.get(name)
            if crate is None:
                report.check(not env, f"{at}: environment for a program whose code is not here")
                continue
            shape = shapes[crate]
            for var in env:
                problem = shape.check_key(var)
                report.check(problem is None, f"{at}: {problem}")
            # Where the service listens: its …SERVER__LISTEN, else (gateway) its TOML.
            listen = None
            literal = env.get(f"{shape.prefix}SERVER__LISTEN", {}).get("value")
            if literal:
                listen = listen_port(literal)
            elif crate == "gateway":
                toml = gateway_toml(objects, pod, c)
                if "listen" in toml.get("server", {}):
                    listen = listen_port(toml["server"]["listen"])
            report.check(listen is not None, f"{at}: no listen address set (the default is loopback)")
            if listen is None:
                continue
            host, port = listen
            report.check(
                host not in ("127.0.0.1", "localhost", "::1"),
                f"{at}: listens on loopback {host}:{port}: the kubelet's probes cannot reach it",
            )
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
            for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = c.get(probe_name) or {}
                http = probe.get("httpGet")
                if not http:
                    report.check(False, f"{at}: {probe_name} is not an HTTP probe of a route")
                    continue
                p = http["port"]
                number = ports.get(p) if isinstance(p, str) else p
                report.check(number is not None, f"{at}: {probe_name} port {p} is no container port")
                report.check(
                    number == port,
                    f"{at}: {probe_name} asks port {number}, the service listens on {port}",
                )
                report.check(
                    http["path"] in routes[crate],
                    f"{at}: {probe_name} path {http['path']} is no route of {crate} "
                    f"(it serves {', '.join(sorted(routes[crate]))})",
                )


def render(overlay: str) -> list[dict]:
    out = subprocess.run(
        ["kubectl", "kustomize", str(OVERLAYS / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [o for o in yaml.safe_load_all(out) if o]


def check(objects: list[dict], production: bool) -> Report:
    """Every check on one rendering."""
    report = Report()
    shapes = {crate: config_shape(crate) for crate in set(CRATES.values())}
    routes = {crate: served_paths(crate) for crate in set(CRATES.values())}
    check_invariants(objects, report, workspace_version())
    if production:
        check_no_secret_values(objects, report)
    else:
        check_demo_secrets_marked(objects, report)
    check_against_code(objects, report, shapes, routes)
    return report


def main(argv: list[str]) -> int:
    if argv:
        targets = [(pathlib.Path(a).name, [o for o in yaml.safe_load_all(open(a)) if o], "prod" in a) for a in argv]
    else:
        targets = [(o, render(o), o == "production") for o in ("demo", "production")]
    failed = False
    for name, objects, production in targets:
        report = check(objects, production)
        for failure in report.failures:
            print(f"  FAIL {name}: {failure}")
        print(
            f"  {'ok  ' if not report.failures else 'FAIL'} {name}: {len(objects)} objects, "
            f"{report.passes} checks passed, {len(report.failures)} failed"
        )
        failed |= bool(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
