#!/usr/bin/env bash
# Makes the two base images the Dockerfile names, when this Docker has no registry to pull them:
#
#   debian:bookworm-slim   a minimal Debian 12 root filesystem (debootstrap --variant=minbase)
#   rust:1-slim-bookworm   the same Debian plus gcc and libc6-dev (as the official image has) and
#                          this host's Rust toolchain under /usr/local/rustup, cargo on the PATH
#
# A user with internet access never needs this: `docker compose build` pulls the real images. CI
# and offline classrooms without a registry mirror run it once; a tag that already exists is left
# alone (so it also never replaces a real, pulled image). Needs root, debootstrap (installed from
# Debian's packages when missing) and a reachable Debian package mirror.
#
#   scripts/docker-bases.sh            # make whichever of the two tags is missing
#   FORCE=1 scripts/docker-bases.sh    # remake both
set -euo pipefail

DEBIAN_TAG="debian:bookworm-slim"
RUST_TAG="rust:1-slim-bookworm"
SUITE="bookworm"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

say() { echo "docker-bases: $*" >&2; }

have_image() { [ -z "${FORCE:-}" ] && docker image inspect "$1" >/dev/null 2>&1; }

need_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  say "installing debootstrap from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
}

work=""
cleanup() { if [ -n "$work" ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

# debootstrap into a fresh folder; extra packages as a comma-separated list ("" for none).
make_rootfs() {
  local dir="$1" include="$2"
  local args=(--variant=minbase)
  [ -n "$include" ] && args+=("--include=$include")
  # A mirror caught mid-sync serves an index that does not match its signed release file
  # ("Couldn't download …/Packages"), or packages that do not fit each other: a fresh folder and
  # another try a little later usually succeeds.
  local attempt
  for attempt in 1 2 3 4; do
    say "debootstrap $SUITE ${include:+(+ $include) }from $MIRROR (attempt $attempt)"
    rm -rf "$dir"
    if debootstrap "${args[@]}" "$SUITE" "$dir" "$MIRROR" >"$work/debootstrap.log" 2>&1; then
      break
    fi
    tail -n 12 "$work/debootstrap.log" >&2
    if ((attempt == 4)); then
      say "debootstrap failed four times (the last log above)"
      return 1
    fi
    say "debootstrap failed; trying again in $((attempt * 30)) s"
    sleep $((attempt * 30))
  done
  # Like the official slim image: no package lists, caches, manuals or translations, and sources
  # naming the public mirror.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
  printf 'deb http://deb.debian.org/debian %s main\ndeb http://deb.debian.org/debian %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
    "$SUITE" "$SUITE" "$SUITE" >"$dir/etc/apt/sources.list"
}

# `docker import` a folder under a tag, with the image settings the official image has.
import_rootfs() {
  local dir="$1" tag="$2"
  shift 2
  tar --numeric-owner -C "$dir" -c . | docker import "$@" - "$tag" >/dev/null
  say "made $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

make_debian() {
  local dir="$work/debian"
  make_rootfs "$dir" ""
  import_rootfs "$dir" "$DEBIAN_TAG" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]'
}

make_rust() {
  local dir="$work/rust" toolchain host tc
  command -v rustc >/dev/null 2>&1 || { say "no rustc on this host to copy into $RUST_TAG"; return 1; }
  toolchain=$(rustc --print sysroot)
  host=$(rustc -vV | sed -n 's/^host: //p')
  make_rootfs "$dir" "ca-certificates,gcc,libc6-dev"
  # cargo fetches crates inside `docker build`: trust what this host trusts (a host behind a
  # TLS-inspecting proxy has that proxy's CA in its bundle; elsewhere it is Debian's own list).
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  fi
  # The toolchain without its documentation (share/), laid out as the official image does.
  say "copying the host's Rust toolchain ($(rustc --version)) from $toolchain"
  # Named as rustup names it: a folder named after the bare target triple confuses rustc's search
  # for its own sysroot.
  tc="/usr/local/rustup/toolchains/stable-$host"
  mkdir -p "$dir$tc" "$dir/usr/local/cargo/bin"
  for part in bin lib libexec etc; do
    if [ -d "$toolchain/$part" ]; then
      cp -a "$toolchain/$part" "$dir$tc/"
    fi
  done
  # Small wrappers where the official image has rustup's proxies. Not symlinks: rustc finds its
  # standard library relative to the path it was started by.
  for tool in cargo rustc rustdoc; do
    printf '#!/bin/sh\nexec %s/bin/%s "$@"\n' "$tc" "$tool" \
      >"$dir/usr/local/cargo/bin/$tool"
    chmod 755 "$dir/usr/local/cargo/bin/$tool"
  done
  import_rootfs "$dir" "$RUST_TAG" \
    --change 'ENV RUSTUP_HOME=/usr/local/rustup' \
    --change 'ENV CARGO_HOME=/usr/local/cargo' \
    --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]'
  # The toolchain must find its standard library: compile something small once.
  docker run --rm "$RUST_TAG" sh -c \
    'cd /tmp && echo "fn main() {}" > t.rs && rustc -o t t.rs && ./t && cargo --version' >&2 \
    || { docker rmi "$RUST_TAG" >/dev/null; say "the toolchain in $RUST_TAG does not work"; return 1; }
}

main() {
  local missing=()
  have_image "$DEBIAN_TAG" || missing+=(debian)
  have_image "$RUST_TAG" || missing+=(rust)
  if [ ${#missing[@]} -eq 0 ]; then
    say "$DEBIAN_TAG and $RUST_TAG are present; nothing to do"
    return 0
  fi
  need_debootstrap
  work=$(mktemp -d /var/tmp/docker-bases-XXXXXX)
  for base in "${missing[@]}"; do
    "make_$base"
  done
}

main "$@"
