#!/usr/bin/env python3
"""Fail CI if the modules inside a crate import each other in a circle.

What it checks
--------------
Inside each crate, module `a` *depends on* module `b` when a file of `a` names a path into `b`
that starts with `crate::`, `super::` or `self::`. That counts both kinds of mention:

* `use` declarations, including nested braces (`use crate::{a::{b, c}, d};`), renames
  (`use crate::a::B as C;`) and globs (`use super::*;`);
* paths written inline in code (`crate::limits::LimitedBody::new(...)`, `super::Config`).

Comments (including doc comments and their intra-doc links) and string, byte-string and char
literals are blanked out first, so `// see crate::a` or `"crate::a"` never counts.

Each path goes to the deepest module that has a file of its own: `crate::upstream::call::exchange`
means `upstream::call` if `src/upstream/call.rs` (or `call/mod.rs`) exists, otherwise `upstream`.
So an item that a parent re-exports (`pub use`) and that is reached through the parent
(`crate::config::ConfigErrors`) is a dependency on the parent, not on the child that defines it.

The files become the modules: `lib.rs` (or `main.rs` when there is no `lib.rs`) is the crate root,
`a.rs` and `a/mod.rs` are `a`, `a/b.rs` is `a::b`.

Two kinds of edge are *not* dependencies and are ignored: a module naming itself, and a module
naming one of its own descendants. A parent declares its children (`mod b;`), re-exports them and
calls them; that is containment, not a circle. The other direction counts: a child that imports
from its parent depends on it, like any other module.

A circle is a set of two or more modules that all reach each other along these edges (a strongly
connected component of the graph). When there is one, the script prints each circle as a chain of
files, each with the line of the import that leads to the next file, e.g.

    gateway: src/error.rs:12 -> src/aggregate.rs:40 -> src/error.rs

and exits 1. Every import inside a circle appears in at least one chain; a chain disappears as soon
as any one of its imports goes. With no circle it prints `module graph: <crate>: <N> modules, no
circles` per crate and exits 0.

Why
---
When the module graph has no circle it is a stack: every module sits above the modules it uses.
A reader can then read a crate bottom-up, each file needing only files already read, and a new
step of the request pipeline has one obvious place to land, above what it uses and below what
uses it. A circle breaks both: no file in it can be understood first, and a change in any of them
can ripple round to all the others. Circles tend to creep back one convenient import at a time,
which is why this runs in CI rather than once.

What it leaves out (judgement calls)
------------------------------------
* Tests may import anything. An item gated by `#[cfg(test)]` (typically
  `#[cfg(test)] mod tests { ... }`) is skipped, as are files named `tests.rs` (or `tests/mod.rs`)
  under a module and files declared with `#[cfg(test)] mod x;`.
* Binary crate roots are separate crates, which reach the library by its name (`gateway::...`),
  not through `crate::`: `src/main.rs` when `src/lib.rs` exists, and everything under `src/bin/`.
  A one-file binary cannot hold a circle, so it is skipped. A binary directory with its own
  modules (`src/bin/<name>/main.rs` plus siblings) is checked as a tiny crate of its own, and so
  is a `src/main.rs` next to `src/lib.rs` that declares modules of its own (`mod cli;`).
* Only paths that start with `crate::`, `super::` or `self::` count. A bare path through a name
  that a `use` brought in (`use crate::upstream;` ... `upstream::call::exchange()`) is seen at the
  `use` line, as a dependency on `upstream`. `$crate::` inside `macro_rules!` is not followed (the
  workspace has no macros of its own), nor is code that a macro generates, nor `#[path]`.
* `pub(in crate::a)` is a visibility, not a dependency, and does not count.

Usage
-----
    python3 scripts/check-module-graph.py             # every crate of the workspace
    python3 scripts/check-module-graph.py DIR/src ... # just these crates' src/ directories

Without arguments it reads `[workspace] members` from the `Cargo.toml` above `scripts/`, plus the
root package's own `src/` when that `Cargo.toml` has a `[package]`. Python 3.11, standard library
only.
"""

from __future__ import annotations

import glob
import re
import sys
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

ModPath = tuple[str, ...]  # () is the crate root; ("upstream", "call") is upstream::call

# --------------------------------------------------------------------------------------------
# Blanking out comments and literals
# --------------------------------------------------------------------------------------------

_RAW_STRING = re.compile(r'[bc]?r(#*)"')
_PREFIXED_STRING = re.compile(r'[bc]"')


def _blank(s: str) -> str:
    """Spaces in place of every character but newlines, so line numbers stay right."""
    return re.sub(r"[^\n]", " ", s)


def strip_comments_and_literals(src: str) -> str:
    """Return `src` with comments and string/char literals blanked; same length, same lines."""
    out: list[str] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":  # line comment, doc comments included
            end = src.find("\n", i)
            end = n if end < 0 else end
            out.append(_blank(src[i:end]))
            i = end
        elif c == "/" and nxt == "*":  # block comment; Rust lets these nest
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(_blank(src[i:j]))
            i = j
        elif c in "rbc" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")) and (
            m := _RAW_STRING.match(src, i)
        ):  # r"..", r#".."#, br".."
            close = '"' + m.group(1)
            end = src.find(close, m.end())
            end = n if end < 0 else end + len(close)
            out.append('"' + _blank(src[i + 1 : end - 1]) + '"')
            i = end
        elif c == '"' or (
            c in "bc"
            and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_"))
            and _PREFIXED_STRING.match(src, i)
        ):  # "..", b"..", c".."
            j = i + 1 if c == '"' else i + 2
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            end = min(j + 1, n)
            out.append('"' + _blank(src[i + 1 : end - 1]) + '"')
            i = end
        elif c == "'":  # a char literal ('x', '\n', '\u{..}') or a lifetime/label ('a)
            if nxt == "\\":
                j = i + 1
                while j < n and src[j] != "'":
                    j += 2 if src[j] == "\\" else 1
                end = min(j + 1, n)
                out.append("'" + _blank(src[i + 1 : end - 1]) + "'")
                i = end
            elif i + 2 < n and src[i + 2] == "'":
                out.append("' '")
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Skipping test-only items
# --------------------------------------------------------------------------------------------

_CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
_ATTRIBUTE = re.compile(r"\s*#\s*\[")
_MOD_DECL = re.compile(r"(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+([A-Za-z_]\w*)\s*;")
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _match_bracket(text: str, i: int) -> int:
    """Index just past the bracket that closes the one at text[i]."""
    stack = [_PAIRS[text[i]]]
    j = i + 1
    while j < len(text) and stack:
        ch = text[j]
        if ch in _PAIRS:
            stack.append(_PAIRS[ch])
        elif ch in ")]}" and ch == stack[-1]:
            stack.pop()
        j += 1
    return j


def _item_end(text: str, i: int) -> int:
    """Index just past the item starting at text[i]: its `;`, or the `}` of its body."""
    j = i
    while j < len(text):
        ch = text[j]
        if ch == ";":
            return j + 1
        if ch == "{":
            return _match_bracket(text, j)
        if ch in "([":
            j = _match_bracket(text, j)
            continue
        j += 1
    return j


def remove_test_items(text: str) -> tuple[str, set[str]]:
    """Blank every `#[cfg(test)]` item; also return the names of `#[cfg(test)] mod x;` files."""
    test_mods: set[str] = set()
    while m := _CFG_TEST.search(text):
        start, j = m.start(), m.end()
        while a := _ATTRIBUTE.match(text, j):  # further attributes on the same item
            j = _match_bracket(text, a.end() - 1)
        while j < len(text) and text[j].isspace():
            j += 1
        if d := _MOD_DECL.match(text, j):
            test_mods.add(d.group(1))
        end = _item_end(text, j)
        text = text[:start] + _blank(text[start:end]) + text[end:]
    return text, test_mods


# --------------------------------------------------------------------------------------------
# Finding the paths a file names
# --------------------------------------------------------------------------------------------

_VISIBILITY_IN = re.compile(r"\bpub\s*\(\s*in\s+[^)]*\)")
_USE = re.compile(r"(?<![\w$])use\s")
_INLINE_MOD = re.compile(r"(?<![\w$])mod\s+([A-Za-z_]\w*)\s*\{")
_INLINE_PATH = re.compile(
    r"(?<![\w$])(?<!::)(?:crate|self|super)(?:\s*::\s*[A-Za-z_]\w*)+"
)
_TOKEN = re.compile(r"::|[{},*;]|[A-Za-z_]\w*|\S")
_ROOTS = ("crate", "super", "self")


@dataclass
class PathRef:
    segments: list[str]  # e.g. ["super", "super", "config", "Config"]
    offset: int  # where in the file, for the line number and the inline-module context
    names_module: bool  # a `use` may end at a module; an inline path always ends at an item


def _parse_use_tree(tokens: list[tuple[str, int]], k: int, prefix: list[str], out: list):
    """Parse one use tree at tokens[k]; append (segments, offset) leaves; return next index."""
    segs = list(prefix)
    last_offset = tokens[k][1] if k < len(tokens) else 0
    while k < len(tokens):
        tok, off = tokens[k]
        if tok == "{":
            k += 1
            while k < len(tokens) and tokens[k][0] != "}":
                if tokens[k][0] == ",":
                    k += 1
                    continue
                k = _parse_use_tree(tokens, k, segs, out)
            return k + 1  # past the "}"
        if tok == "*":
            out.append((segs, off))
            return k + 1
        if tok == "::":
            k += 1
            continue
        if tok in (",", "}", ";"):
            break
        if tok == "as":  # `as Name`: the rename does not change what is imported
            k += 2
            continue
        if tok == "self" and segs:  # `use super::{self, X}`: `self` is the prefix itself
            last_offset = off
            k += 1
            continue
        segs.append(tok)
        last_offset = off
        k += 1
    out.append((segs, last_offset))
    return k


def find_paths(text: str) -> tuple[list[PathRef], list[tuple[int, int, str]]]:
    """All crate/super/self paths in a blanked file, and its inline `mod x { }` spans."""
    text = _VISIBILITY_IN.sub(lambda m: _blank(m.group(0)), text)
    refs: list[PathRef] = []

    for m in _USE.finditer(text):
        end = text.find(";", m.end())
        end = len(text) if end < 0 else end
        body = text[m.end() : end]
        tokens = [(t.group(0), m.end() + t.start()) for t in _TOKEN.finditer(body)]
        leaves: list = []
        k = 0
        while k < len(tokens):
            if tokens[k][0] == ",":
                k += 1
                continue
            k = _parse_use_tree(tokens, k, [], leaves)
        for segs, off in leaves:
            if segs and segs[0] in _ROOTS:
                refs.append(PathRef(segs, off, names_module=True))
        # Blank the declaration so the inline scan below does not count it twice.
        text = text[: m.start()] + _blank(text[m.start() : end]) + text[end:]

    for m in _INLINE_PATH.finditer(text):
        segs = re.split(r"\s*::\s*", m.group(0))
        refs.append(PathRef(segs, m.end(), names_module=False))

    inline_mods = [
        (m.start(), _match_bracket(text, m.end() - 1), m.group(1))
        for m in _INLINE_MOD.finditer(text)
    ]
    return refs, inline_mods


# --------------------------------------------------------------------------------------------
# The crate: files, modules, edges
# --------------------------------------------------------------------------------------------


@dataclass
class Edge:
    line: int  # where the first import of `target` is made in the importing file
    count: int = 1


@dataclass
class Graph:
    name: str
    src: Path
    files: dict[ModPath, Path]  # module -> its file
    base: Path  # file names are shown relative to this: the crate's directory
    edges: dict[ModPath, dict[ModPath, Edge]] = field(default_factory=dict)

    def show(self, module: ModPath) -> str:
        return self.files[module].relative_to(self.base).as_posix()


def module_path_of(rel: Path) -> ModPath:
    """`lib.rs`/`main.rs` -> (); `a.rs`, `a/mod.rs` -> (a,); `a/b.rs` -> (a, b)."""
    parts = list(rel.with_suffix("").parts)
    if len(parts) == 1 and parts[0] in ("lib", "main"):
        return ()
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


def _resolve(ref: PathRef, here: ModPath, modules: set[ModPath]) -> ModPath | None:
    """The deepest module with a file that `ref`, written in module `here`, leads into."""
    segs = ref.segments if ref.names_module else ref.segments[:-1]
    if not segs:
        return None
    head, rest = segs[0], segs[1:]
    if head == "crate":
        base: ModPath = ()
    elif head == "self":
        base = here
    else:  # super, possibly super::super::...
        base = here[:-1] if here else None
        while base is not None and rest and rest[0] == "super":
            base, rest = (base[:-1] if base else None), rest[1:]
        if base is None:
            return None  # above the crate root: not ours to judge
    full = base + tuple(s for s in rest if s != "self")
    for depth in range(len(full), -1, -1):
        if full[:depth] in modules:
            return full[:depth]
    return None


def build_graph(name: str, src: Path, files: dict[ModPath, Path], base: Path) -> Graph:
    graph = Graph(name, src, files, base)
    modules = set(files)
    texts: dict[ModPath, str] = {}
    test_modules: set[ModPath] = set()
    for module, path in files.items():
        text = strip_comments_and_literals(path.read_text(encoding="utf-8"))
        text, test_mods = remove_test_items(text)
        texts[module] = text
        test_modules |= {module + (m,) for m in test_mods}
    # Test modules (and what they contain) may import anything: drop them.
    for module in list(files):
        if any(module[: len(t)] == t for t in test_modules) or (module and module[-1] == "tests"):
            del files[module]
            modules.discard(module)

    for module in files:
        text = texts[module]
        refs, inline_mods = find_paths(text)
        out = graph.edges.setdefault(module, {})
        for ref in refs:
            # Inside `mod inner { ... }`, `self` and `super` start from the inline module.
            inner = tuple(n for (s, e, n) in sorted(inline_mods) if s <= ref.offset < e)
            target = _resolve(ref, module + inner, modules)
            if target is None or target[: len(module)] == module:
                continue  # itself, or one of its descendants: containment, not a dependency
            line = text.count("\n", 0, ref.offset) + 1
            if target in out:
                out[target].count += 1
                out[target].line = min(out[target].line, line)
            else:
                out[target] = Edge(line)
    return graph


# --------------------------------------------------------------------------------------------
# Circles
# --------------------------------------------------------------------------------------------


def strongly_connected(graph: Graph) -> list[list[ModPath]]:
    """Tarjan's algorithm (iterative); components of two or more modules, in file order."""
    index: dict[ModPath, int] = {}
    low: dict[ModPath, int] = {}
    on_stack: set[ModPath] = set()
    stack: list[ModPath] = []
    found: list[list[ModPath]] = []
    counter = 0
    for start in sorted(graph.files):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.edges.get(start, {}))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            advanced = False
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.edges.get(w, {})))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def _shortest_path(graph: Graph, start: ModPath, goal: ModPath, within: set[ModPath]):
    """Breadth-first path start -> goal inside one component (list of modules, both ends)."""
    previous: dict[ModPath, ModPath | None] = {start: None}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        if v == goal:
            path = [v]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])
            return path[::-1]
        for w in sorted(graph.edges.get(v, {})):
            if w in within and w not in previous:
                previous[w] = v
                queue.append(w)
    return None


def circles_in(graph: Graph, component: list[ModPath]) -> list[list[ModPath]]:
    """For every import inside the component, the shortest circle through it (no repeats)."""
    within = set(component)
    seen: set[tuple[ModPath, ...]] = set()
    circles: list[list[ModPath]] = []
    for v in component:
        for w in sorted(graph.edges.get(v, {})):
            if w not in within:
                continue
            back = _shortest_path(graph, w, v, within)
            cycle = [v] + back[:-1]  # v -> w -> ... -> (back to v)
            turn = cycle.index(min(cycle))  # one spelling per circle, whatever its start
            key = tuple(cycle[turn:] + cycle[:turn])
            if key not in seen:
                seen.add(key)
                circles.append(list(key))
    return sorted(circles, key=lambda c: (len(c), c))


def describe(graph: Graph, cycle: list[ModPath]) -> str:
    hops = [
        f"{graph.show(v)}:{graph.edges[v][cycle[(i + 1) % len(cycle)]].line}"
        for i, v in enumerate(cycle)
    ]
    return " -> ".join(hops + [graph.show(cycle[0])])


def module_name(module: ModPath) -> str:
    return "::".join(module) if module else "crate root"


# --------------------------------------------------------------------------------------------
# Which crates, which files
# --------------------------------------------------------------------------------------------


def crate_name(crate_dir: Path) -> str:
    manifest = crate_dir / "Cargo.toml"
    if manifest.is_file():
        with manifest.open("rb") as f:
            name = tomllib.load(f).get("package", {}).get("name")
        if name:
            return name
    return crate_dir.resolve().name


def _declared_mods(path: Path) -> set[str]:
    text, test_mods = remove_test_items(strip_comments_and_literals(path.read_text("utf-8")))
    return {m.group(1) for m in _MOD_DECL.finditer(text)} - test_mods


def graphs_for_src(src: Path, name: str, base: Path | None = None) -> list[Graph]:
    """The library (or binary) in `src`, plus any binary that has modules of its own."""
    src = src.resolve()
    base = base or src.parent
    files = {
        module_path_of(p.relative_to(src)): p
        for p in sorted(src.rglob("*.rs"))
        if p.relative_to(src).parts[0] != "bin"
    }
    graphs = []
    if (src / "lib.rs").is_file() and (src / "main.rs").is_file():
        # Two crates share src/: main.rs is the binary's root; the lib owns the rest, unless
        # main.rs declares modules of its own.
        files[()] = src / "lib.rs"
        own = _declared_mods(src / "main.rs")
        if own:
            binary = {m: p for m, p in files.items() if m and m[0] in own}
            for m in binary:
                del files[m]
            binary[()] = src / "main.rs"
            graphs.append(build_graph(f"{name} (binary src/main.rs)", src, binary, base))
    if () not in files:
        return graphs  # no crate root here
    graphs.insert(0, build_graph(name, src, files, base))
    for main in sorted(src.glob("bin/*/main.rs")):  # a multi-file binary: a tiny crate
        if len(list(main.parent.rglob("*.rs"))) > 1:
            label = f"{name} (binary src/bin/{main.parent.name})"
            graphs += graphs_for_src(main.parent, label, base)
    return graphs


def workspace_srcs(root: Path) -> list[Path]:
    with (root / "Cargo.toml").open("rb") as f:
        manifest = tomllib.load(f)
    workspace = manifest.get("workspace", {})
    excluded = {(root / e).resolve() for e in workspace.get("exclude", [])}
    crate_dirs: list[Path] = []
    for pattern in workspace.get("members", []):
        for match in sorted(glob.glob(str(root / pattern))):
            path = Path(match).resolve()
            if path not in excluded and (path / "Cargo.toml").is_file():
                crate_dirs.append(path)
    if "package" in manifest:
        crate_dirs.append(root.resolve())
    return [d / "src" for d in crate_dirs]


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    srcs = [Path(a) for a in argv] or workspace_srcs(Path(__file__).resolve().parent.parent)
    failed = False
    for src in srcs:
        if not src.is_dir():
            print(f"module graph: {src}: not a directory (expected a crate's src/)")
            failed = True
            continue
        for graph in graphs_for_src(src, crate_name(src.resolve().parent)):
            components = strongly_connected(graph)
            if not components:
                count = len(graph.files)
                print(f"module graph: {graph.name}: {count} module{'s' * (count != 1)}, no circles")
                continue
            failed = True
            circles = "a circle" if len(components) == 1 else f"{len(components)} circles"
            print(f"module graph: {graph.name}: {circles} between modules")
            for component in components:
                names = ", ".join(module_name(m) for m in component)
                size = len(component)
                print(f"\n  these {size} modules reach each other through imports: {names}")
                print("  each chain is file:line of an import -> the file it imports from:")
                for cycle in circles_in(graph, component):
                    print(f"    {graph.name}: {describe(graph, cycle)}")
            print()
    if failed:
        print(
            "module graph: FAILED. Modules in a circle cannot be read one after another, and a\n"
            "change to one can ripple round to all of them. Break each circle: move what both\n"
            "sides need into a module below them both, or pass it in as a parameter. (A parent\n"
            "declaring, re-exporting or calling its own children is not counted.)"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
