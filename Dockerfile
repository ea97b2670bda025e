# One Dockerfile, one compile, four small images (plus the two helpers of the `scale` profile).
#
#   docker build --target gateway -t api-gateway-pattern/gateway .     # or: docker compose build
#
# Stages, in the order a build runs them:
#   builder          compiles the whole workspace once, dependencies first (cached while
#                    Cargo.toml/Cargo.lock do not change), then our own crates
#   runtime          debian:bookworm-slim + an unprivileged user + the HTTP health probe
#   auth-service, user-service, billing-service, gateway
#                    runtime + one binary each: the targets docker-compose.yml builds (the gateway
#                    image also carries the students' `jwt` helper: `docker compose exec gateway
#                    jwt decode …`, or `docker compose run --rm jwt decode …`)
#   lb, redis        nginx and Redis from Debian's packages, for `--profile scale`
#   postgres         PostgreSQL from Debian's packages, for `--profile postgres`
#   prometheus       Prometheus from Debian's packages, for `--profile observability`
#
# It builds with the classic builder and with BuildKit, on x86_64 and arm64 alike: nothing in it
# names an architecture. The two base images are public; scripts/docker-bases.sh makes local
# stand-ins under the same tags on machines that cannot pull them.

# ---------------------------------------------------------------------------------------------------
# builder: the Rust toolchain, gcc for the C in libsqlite3-sys, and the whole workspace.
FROM rust:1-slim-bookworm AS builder
WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1. Dependencies only. Copy just the manifests and give every workspace member an empty
#    lib.rs/main.rs, so this layer (the slow one: every crate from crates.io) is rebuilt only when
#    a manifest or Cargo.lock changes, never for an edit to our own code.
COPY Cargo.toml Cargo.lock ./
COPY shared/Cargo.toml shared/
COPY auth-service/Cargo.toml auth-service/
COPY user-service/Cargo.toml user-service/
COPY billing-service/Cargo.toml billing-service/
COPY gateway/Cargo.toml gateway/
#    test-support is a workspace member (the services' tests use it), so cargo needs its manifest
#    to load the workspace; it is never built here and keeps its placeholder.
COPY test-support/Cargo.toml test-support/
#    Tests, benches and examples are not part of the images (.dockerignore leaves them out): their
#    [[test]]/[[bench]]/[[example]] tables are dropped from this stage's copies of the manifests.
RUN set -eu; \
    for crate in . shared auth-service user-service billing-service gateway test-support; do \
      awk '/^\[\[(bench|test|example)\]\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
        "$crate/Cargo.toml" > /tmp/Cargo.toml && mv /tmp/Cargo.toml "$crate/Cargo.toml"; \
      mkdir -p "$crate/src"; \
      echo '// placeholder: dependencies are built first' > "$crate/src/lib.rs"; \
      echo 'fn main() {}' > "$crate/src/main.rs"; \
    done; \
    cargo build --release --locked \
      -p auth-service -p user-service -p billing-service -p gateway; \
    rm -rf target/release/.fingerprint/shared-* target/release/.fingerprint/auth-service-* \
      target/release/.fingerprint/user-service-* target/release/.fingerprint/billing-service-* \
      target/release/.fingerprint/gateway-*

# 2. Our own crates (the root package keeps its placeholder lib and demo launcher: the images do
#    not need the launcher). The fingerprints removed above make cargo rebuild exactly these five
#    crates. The same [[test]]/[[bench]]/[[example]] tables are dropped again: their files are
#    not here. Then the root package's `jwt` helper (src/bin/jwt.rs: base64 and serde_json only),
#    so a student with Docker and no Rust can decode a token.
COPY shared/ shared/
COPY auth-service/ auth-service/
COPY user-service/ user-service/
COPY billing-service/ billing-service/
COPY gateway/ gateway/
COPY src/bin/jwt.rs src/bin/jwt.rs
RUN set -eu; \
    for crate in shared auth-service user-service billing-service gateway; do \
      awk '/^\[\[(bench|test|example)\]\]/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
        "$crate/Cargo.toml" > /tmp/Cargo.toml && mv /tmp/Cargo.toml "$crate/Cargo.toml"; \
    done; \
    cargo build --release --locked \
      -p auth-service -p user-service -p billing-service -p gateway \
 && cargo build --release --locked -p api-gateway-pattern --bin jwt \
 && mkdir -p /out \
 && for bin in auth-service user-service billing-service gateway jwt; do \
      cp "target/release/$bin" /out/; \
    done \
 && strip /out/* \
 && ls -l /out

# ---------------------------------------------------------------------------------------------------
# runtime: what every service image shares. No compiler, no package manager run, no curl: bash
# (already in the base) is enough for the health probe, and the binaries need only libc and
# libgcc_s, which the base has.
FROM debian:bookworm-slim AS runtime
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
# Logs as plain text without colour codes, at info level (override per container).
ENV RUST_LOG=info \
    NO_COLOR=1
USER 10001:10001
STOPSIGNAL SIGTERM

# ---------------------------------------------------------------------------------------------------
FROM runtime AS auth-service
# /data holds the SQLite database; docker-compose.yml mounts a named volume there. Created here,
# owned by the service's user, so a new volume starts with the right owner.
USER root
RUN mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
VOLUME ["/data"]
COPY --from=builder /out/auth-service /usr/local/bin/auth-service
ENV AUTH__SERVER__LISTEN=0.0.0.0:8081
EXPOSE 8081
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["healthcheck", "8081", "/readyz"]
ENTRYPOINT ["auth-service"]

FROM runtime AS user-service
COPY --from=builder /out/user-service /usr/local/bin/user-service
ENV USERS__SERVER__LISTEN=0.0.0.0:8082
EXPOSE 8082
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["healthcheck", "8082", "/readyz"]
ENTRYPOINT ["user-service"]

FROM runtime AS billing-service
COPY --from=builder /out/billing-service /usr/local/bin/billing-service
ENV BILLING__SERVER__LISTEN=0.0.0.0:8083
EXPOSE 8083
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["healthcheck", "8083", "/readyz"]
ENTRYPOINT ["billing-service"]

FROM runtime AS gateway
COPY --from=builder /out/gateway /usr/local/bin/gateway
# The students' token helper, for a class that has Docker but no Rust toolchain:
#   docker compose exec gateway jwt decode "$TOKEN"
#   docker compose run --rm jwt decode "$TOKEN"      (the `tools` profile's one-shot service)
COPY --from=builder /out/jwt /usr/local/bin/jwt
# The compose set-up (upstreams by service name, listening on every interface). docker-compose.yml
# mounts the same file from docker/ over this copy, so an edit there needs only a restart.
COPY docker/gateway.toml /etc/gateway/gateway.toml
EXPOSE 8080
# Liveness, not readiness: the gateway's /readyz is 503 while any upstream is down, and a gateway
# with one backend down must keep serving the others (and say so, e.g. a partial dashboard).
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["healthcheck", "8080", "/healthz"]
ENTRYPOINT ["gateway"]
CMD ["--config", "/etc/gateway/gateway.toml"]

# ---------------------------------------------------------------------------------------------------
# `--profile scale`: a load balancer and a shared Redis, from Debian's packages (no other base).
FROM debian:bookworm-slim AS lb
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
COPY docker/nginx.conf /etc/nginx/nginx.conf
USER www-data
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["healthcheck", "8080", "/lb-health"]
CMD ["nginx", "-g", "daemon off;"]

FROM debian:bookworm-slim AS redis
# A fixed uid (999, as in the official image) so Kubernetes' runAsUser can name it.
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid 999 --home-dir /var/lib/redis --shell /usr/sbin/nologin redis \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
USER redis
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["redis-cli", "ping"]
# No persistence: the rate-limit counters are short-lived by nature.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"]

# `--profile postgres`: Debian's PostgreSQL, started like the official image (same variables).
FROM debian:bookworm-slim AS postgres
# A fixed uid (999, as in the official image) so Kubernetes' runAsUser can name it.
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data \
 && chown -R postgres:postgres /var/lib/postgresql
COPY docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
USER postgres
ENV PGDATA=/var/lib/postgresql/data
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["pg_isready", "-h", "127.0.0.1"]
ENTRYPOINT ["postgres-entrypoint"]

# `--profile observability`: Debian's Prometheus, scraping every service (docker/prometheus.yml).
FROM debian:bookworm-slim AS prometheus
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/*
COPY docker/healthcheck.sh /usr/local/bin/healthcheck
COPY docker/prometheus.yml /etc/prometheus/prometheus.yml
USER prometheus
EXPOSE 9090
HEALTHCHECK --interval=5s --timeout=3s --start-period=20s --retries=3 \
  CMD ["healthcheck", "9090", "/-/ready"]
# The time series live in /tmp (a tmpfs in docker-compose.yml): a class's hour, not an archive.
ENTRYPOINT ["prometheus", "--config.file=/etc/prometheus/prometheus.yml", \
  "--storage.tsdb.path=/tmp/prometheus", "--storage.tsdb.retention.time=1d", \
  "--web.listen-address=0.0.0.0:9090"]
