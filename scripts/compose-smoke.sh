#!/usr/bin/env bash
# The classroom path, verified: `docker compose up` from nothing to a working system, and back.
#
#   scripts/compose-smoke.sh
#
# 1. checks docker-compose.yml for every profile, with each compose spelling this machine has
#    (`docker compose` and/or `docker-compose`);
# 2. makes the base images locally when they cannot be pulled (scripts/docker-bases.sh);
# 3. builds the images, validates the gateway's TOML with the gateway image's `check-config`;
# 4. brings the default profile up and waits until every service is healthy (with a deadline);
# 5. runs the lecture's flow against the published gateway port: login, a routed call, 403, a
#    tampered token (401 bad_signature), the dashboard; the console in headless Chromium
#    (tests/console/browser_e2e.py: the student's tampered token and its decision record, the
#    dashboard's timeline, OAuth with PKCE with and without crypto.subtle); then stops
#    billing-service and checks the gateway degrades (partial dashboard, 502 for billing, users
#    still served);
#    then starts the `observability` profile's Prometheus and waits until it scrapes all four
#    services (the gateway's admin listener and each service's /metrics, with the demo token);
# 6. checks the images run as non-root, carry the workspace version's tag, and that our own
#    layers are small; prints the timings;
# 7. brings up the `scale` and `postgres` profiles and checks them
#    (scripts/compose-scale-smoke.py: both replicas, one rate limit for both, a replica stopped
#    under load without a lost request, Redis away and back, the auth-service on PostgreSQL,
#    the services' peak memory);
# 8. tears everything down (`down -v`), also on failure or Ctrl-C.
#
# Settings: SMOKE_PORT (published gateway port, default 18080, so a demo on 8080 can keep
# running), SMOKE_HEALTH_DEADLINE (seconds, default 240), COMPOSE_PROJECT_NAME (default
# apigw-smoke, so the classroom's own stack is never touched), SMOKE_SCALE_PORT and SMOKE_PG_PORT
# (the scale profile's load balancer and the postgres profile's gateway, 18180 and 18280). The browser step needs Debian's
# chromium and chromedriver (`bash .ci/run` installs them); it makes its own virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-apigw-smoke}"
export GATEWAY_PORT="${SMOKE_PORT:-18080}"
export GATEWAY_BIND=127.0.0.1
# The public URL follows the published port, as a teacher would set it: the console's OAuth login
# comes back to `<public URL>/console/callback`, so it must be where the browser finds the gateway.
export PUBLIC_URL="http://localhost:${GATEWAY_PORT}"
DEADLINE="${SMOKE_HEALTH_DEADLINE:-240}"
SERVICES=(auth-service user-service billing-service gateway)
DEMO_SECRET="demo-only-hs256-secret-do-not-use-in-production"   # DEMO ONLY (shared::demo)
MAX_OWN_MB=30
# The workspace version: every image is built under this tag (docker-compose.yml names it, as
# deploy/kubernetes/ does) and also tagged `latest` here.
VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$VERSION" ] || { echo "compose-smoke: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
export SCALE_PORT="${SMOKE_SCALE_PORT:-18180}"
export GATEWAY_PG_PORT="${SMOKE_PG_PORT:-18280}"
BASE="http://127.0.0.1:${GATEWAY_PORT}"

passed=0
failed=0
say() { echo "compose-smoke: $*"; }
pass() { passed=$((passed + 1)); echo "  ok   $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL $*"; }
die() { echo "compose-smoke: ERROR: $*" >&2; exit 1; }

# --- which compose ---------------------------------------------------------------------------------
spellings=()
if docker compose version >/dev/null 2>&1; then spellings+=("docker compose"); fi
if command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
  spellings+=("docker-compose")
fi
[ ${#spellings[@]} -gt 0 ] || die "neither 'docker compose' nor 'docker-compose' is installed"
read -r -a COMPOSE <<<"${spellings[0]}"
compose() { "${COMPOSE[@]}" "$@"; }
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed (to read JSON and edit a token)"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (is it running?)"

started=""
cleanup() {
  local code=$?
  if [ -n "$started" ]; then
    if [ "$code" != 0 ]; then
      say "failed; state and recent logs:"
      compose ps || true
      compose logs --no-color --tail 60 || true
    fi
    say "tearing down (down -v)"
    compose --profile postgres --profile scale --profile observability down -v --remove-orphans \
      >/dev/null 2>&1 || true
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. the compose file, every profile, every spelling ----------------------------------------------
say "compose config (${spellings[*]})"
for spelling in "${spellings[@]}"; do
  read -r -a cmd <<<"$spelling"
  for profile in "" postgres scale observability; do
    args=()
    [ -n "$profile" ] && args=(--profile "$profile")
    if "${cmd[@]}" "${args[@]}" config -q; then
      pass "$spelling ${args[*]} config -q"
    else
      fail "$spelling ${args[*]} config -q"
    fi
  done
done

# --- 2. base images ----------------------------------------------------------------------------------
scripts/docker-bases.sh

# --- 3. build --------------------------------------------------------------------------------------
if (exec 3<>"/dev/tcp/127.0.0.1/${GATEWAY_PORT}") 2>/dev/null; then
  die "port ${GATEWAY_PORT} is taken; choose another with SMOKE_PORT=..."
fi
say "building the images (the first build compiles the workspace: several minutes)"
t0=$(date +%s)
compose --profile scale --profile postgres build
compose --profile observability build prometheus
build_secs=$(( $(date +%s) - t0 ))
# `latest` beside the version, for whoever runs an image by hand.
for image in $(docker images --format '{{.Repository}}:{{.Tag}}' | grep "^api-gateway-pattern/.*:${VERSION}$"); do
  docker tag "$image" "${image%:*}:latest"
done
untagged=$(grep -E '^\s*image: api-gateway-pattern/' docker-compose.yml | grep -v ":${VERSION}\$" || true)
if [ -z "$untagged" ]; then
  pass "docker-compose.yml names every image with the workspace version ${VERSION}"
else
  fail "docker-compose.yml: images without the version ${VERSION}: ${untagged}"
fi

say "gateway check-config docker/gateway.toml"
# check_gateway_config WHAT [-e VAR=VALUE ...]: the gateway image's own validator.
check_gateway_config() {
  local what="$1"
  shift
  if docker run --rm -e GATEWAY__AUTH__HS256_SECRET="$DEMO_SECRET" "$@" \
      -v "$PWD/docker/gateway.toml:/etc/gateway/gateway.toml:ro" \
      "api-gateway-pattern/gateway:${VERSION}" check-config /etc/gateway/gateway.toml; then
    pass "docker/gateway.toml is valid ($what)"
  else
    fail "docker/gateway.toml is invalid ($what)"
  fi
}
check_gateway_config "as the default gateway runs it"
# The `scale` and `postgres` profiles' gateways change it through the environment.
check_gateway_config "with the scale profile's Redis settings" \
  -e GATEWAY__REDIS__URL=redis://redis:6379 -e GATEWAY__RATE_LIMITS__0__BACKEND=redis \
  -e GATEWAY__RATE_LIMITS__1__BACKEND=redis -e GATEWAY__RATE_LIMITS__2__BACKEND=redis \
  -e GATEWAY__RATE_LIMITS__1__ON_REDIS_ERROR=closed -e GATEWAY__RATE_LIMITS__2__ON_REDIS_ERROR=closed \
  -e GATEWAY__QUOTAS__0__BACKEND=redis -e GATEWAY__SERVER__SERVED_BY=gateway-a
check_gateway_config "with the postgres profile's auth upstream" \
  -e 'GATEWAY__UPSTREAMS__0__TARGETS=["http://auth-service-pg:8081"]'

# --- 4. up, and wait for health ---------------------------------------------------------------------
say "docker compose up -d (project ${COMPOSE_PROJECT_NAME}, gateway on 127.0.0.1:${GATEWAY_PORT})"
started=yes
t0=$(date +%s.%N)
compose up -d
health_of() {
  local id
  id=$(compose ps -q "$1" 2>/dev/null || true)
  [ -n "$id" ] || { echo missing; return; }
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id"
}
while :; do
  states=()
  all=yes
  for s in "${SERVICES[@]}"; do
    h=$(health_of "$s")
    states+=("$s=$h")
    [ "$h" = healthy ] || all=""
  done
  [ -n "$all" ] && break
  if awk -v a="$(date +%s.%N)" -v b="$t0" -v d="$DEADLINE" 'BEGIN { exit !(a - b > d) }'; then
    die "not healthy within ${DEADLINE}s: ${states[*]}"
  fi
  sleep 0.5
done
healthy_secs=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
pass "all four services healthy ${healthy_secs}s after 'up' (${states[*]})"

# --- 4b. the observability profile: Prometheus scrapes every service ---------------------------------
export PROMETHEUS_PORT="${SMOKE_PROMETHEUS_PORT:-19090}"
say "observability profile: prometheus on 127.0.0.1:${PROMETHEUS_PORT}"
compose --profile observability up -d prometheus
targets_up() {
  curl -s --max-time 3 "http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/targets" | python3 -c '
import json, sys
active = json.load(sys.stdin)["data"]["activeTargets"]
up = sorted(t["labels"]["job"] for t in active if t["health"] == "up")
print(" ".join(up))' 2>/dev/null || true
}
want="auth-service billing-service gateway user-service"
t1=$(date +%s)
up=""
while [ "$(( $(date +%s) - t1 ))" -lt 120 ]; do
  up=$(targets_up)
  [ "$up" = "$want" ] && break
  sleep 2
done
if [ "$up" = "$want" ]; then
  pass "prometheus scrapes all four: ${up}"
else
  fail "prometheus scrapes '${up}', not '${want}', after 120 s"
fi

# --- 5. the lecture's flow through the published port -------------------------------------------------
# request METHOD PATH [TOKEN] [BODY] → sets $status, $body, $headers
request() {
  local method="$1" path="$2" token="${3:-}" data="${4:-}" args=()
  args=(-s -X "$method" -D /tmp/compose-smoke-headers -o /tmp/compose-smoke-body -w '%{http_code}'
        --max-time 10)
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
  status=$(curl "${args[@]}" "$BASE$path" || echo 000)
  body=$(cat /tmp/compose-smoke-body 2>/dev/null || true)
  headers=$(cat /tmp/compose-smoke-headers 2>/dev/null || true)
}
json() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2], {"d": d}))' "$body" "$1" 2>/dev/null || true; }
expect() {   # expect WHAT STATUS [PYTHON-EXPR-ON-d EXPECTED]
  local what="$1" want="$2" expr="${3:-}" value="${4:-}"
  if [ "$status" != "$want" ]; then
    fail "$what: HTTP $status, expected $want; body: ${body:0:300}"
  elif [ -n "$expr" ] && [ "$(json "$expr")" != "$value" ]; then
    fail "$what: $expr = '$(json "$expr")', expected '$value'; body: ${body:0:300}"
  else
    pass "$what: HTTP $status${expr:+, $expr = $value}"
  fi
}

say "smoke flow against $BASE"
request POST /api/auth/login "" '{"email":"student@example.edu","password":"student123"}'
expect "login as the demo student" 200 "bool(d.get('access_token'))" True
token=$(json "d['access_token']")

request GET /api/users/me "$token"
expect "GET /api/users/me (routed to user-service)" 200 "d['id']" 1905551042

request GET /api/billing/invoices "$token"
expect "GET /api/billing/invoices (routed to billing-service)" 200

request GET /api/users "$token"
expect "GET /api/users as STUDENT" 403 "d['reason']" role_required

# Same header and signature, payload's role changed to ADMIN: the signature no longer matches.
tampered=$(python3 - "$token" <<'PY'
import base64, json, sys
h, p, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["role"] = "ADMIN"
p = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
print(f"{h}.{p}.{s}")
PY
)
request GET /api/users "$tampered"
expect "token with role edited to ADMIN" 401 "d['reason']" bad_signature

request GET /api/dashboard "$token"
dashboard=""
if [ "$status" = 404 ]; then
  say "SKIP /api/dashboard: this gateway has no dashboard aggregate yet (404 $(json "d.get('reason')"))"
else
  dashboard=yes
  expect "GET /api/dashboard" 200 "all(d.get(k) is not None for k in ('profile','invoices','summary'))" True
fi

# The console, in a real browser, through the published port: the same flow as `.ci/run`'s
# console step (it sets the backends' latency and back to 0, before billing is stopped below).
say "the console in headless Chromium at ${PUBLIC_URL}/console"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  fail "console browser flow: chromium and chromedriver are not installed (apt-get install --no-install-recommends chromium chromium-driver)"
else
  if [ ! -x target/console-venv/bin/python ]; then
    python3 -m venv target/console-venv
    target/console-venv/bin/pip install -q --disable-pip-version-check -r tests/console/requirements.txt
  fi
  t_browser=$(date +%s)
  if CONSOLE_SCREENSHOTS=target/console-screenshots/compose timeout 600 \
      target/console-venv/bin/python tests/console/browser_e2e.py "$PUBLIC_URL"; then
    pass "console browser flow in $(( $(date +%s) - t_browser ))s (screenshots: target/console-screenshots/compose/)"
  else
    fail "console browser flow (see the lines above)"
  fi
fi

# The instructor's reset (scripts/class reset) through the published port: a failure switch left
# on and a locked account are put back, with no restart.
say "scripts/class reset through the published port"
request POST /api/auth/login "" '{"email":"admin@example.edu","password":"admin123"}'
admin_token=$(json "d['access_token']")
request PUT /api/demo/toggles/billing "$admin_token" '{"latency_ms":0,"error_rate":1.0}'
expect "billing's failure switch on through the gateway" 200 "d['error_rate']" 1.0
for _ in 1 2 3 4 5 6; do
  request POST /api/auth/login "" '{"email":"student@example.edu","password":"guess"}'
done
expect "the student's account locked" 429 "d['reason']" too_many_attempts
if reset_out=$(GW="127.0.0.1:${GATEWAY_PORT}" JWT="${COMPOSE[*]} exec -T gateway jwt" \
    timeout 60 bash scripts/class reset 2>&1); then
  pass "scripts/class reset: $(tr '\n' ' ' <<<"$reset_out")"
else
  fail "scripts/class reset: $reset_out"
fi
request POST /api/auth/login "" '{"email":"student@example.edu","password":"student123"}'
expect "the student logs in again after the reset" 200 "bool(d.get('access_token'))" True
request GET /api/billing/summary "$token"
expect "billing answers again after the reset" 200 "d['user_id']" 1905551042

say "stopping billing-service: the gateway must degrade, not fail"
compose stop billing-service >/dev/null 2>&1
request GET /api/billing/invoices "$token"
expect "GET /api/billing/invoices with billing stopped" 502 "d['reason']" upstream_unavailable
request GET /api/users/me "$token"
expect "GET /api/users/me with billing stopped" 200 "d['id']" 1905551042
if [ -n "$dashboard" ]; then
  request GET /api/dashboard "$token"
  expect "GET /api/dashboard with billing stopped (partial)" 200 \
    "(d['_meta']['partial'], d['profile'] is not None, d['invoices'])" "(True, True, None)"
  if grep -qi '^x-gateway-partial: *true' <<<"$headers"; then
    pass "partial dashboard says X-Gateway-Partial: true"
  else
    fail "partial dashboard lacks X-Gateway-Partial: true"
  fi
else
  say "SKIP partial dashboard: no dashboard aggregate in this gateway yet"
fi
gateway_health=$(health_of gateway)
if [ "$gateway_health" = healthy ]; then
  pass "gateway stays healthy with billing stopped"
else
  fail "gateway is '$gateway_health' with billing stopped"
fi

# --- 6. images: non-root, small -----------------------------------------------------------------------
say "images"
base_bytes=$(docker image inspect -f '{{.Size}}' debian:bookworm-slim)
for s in "${SERVICES[@]}"; do
  image="api-gateway-pattern/$s:${VERSION}"
  user=$(docker image inspect -f '{{.Config.User}}' "$image")
  case "$user" in
    "" | root | 0 | 0:* | root:*) fail "$image runs as root (User='$user')" ;;
    *) pass "$image runs as user $user" ;;
  esac
  bytes=$(docker image inspect -f '{{.Size}}' "$image")
  own_mb=$(awk -v a="$bytes" -v b="$base_bytes" 'BEGIN { printf "%.1f", (a - b) / 1e6 }')
  if awk -v o="$own_mb" -v m="$MAX_OWN_MB" 'BEGIN { exit !(o < m) }'; then
    pass "$image: our layers ${own_mb} MB over debian:bookworm-slim (limit ${MAX_OWN_MB} MB)"
  else
    fail "$image: our layers ${own_mb} MB over debian:bookworm-slim (limit ${MAX_OWN_MB} MB)"
  fi
done
if id=$(compose exec -T gateway id -u 2>/dev/null) && [ "${id//[$'\r\n']/}" != 0 ]; then
  pass "the running gateway's uid is ${id//[$'\r\n']/}"
else
  fail "the running gateway's uid is '${id:-?}'"
fi

# --- jwt: the students' token helper ships in the gateway image ---------------------------------------
# (self-contained: its own token, its own checks; bounded by `timeout`)
say "jwt decode from the gateway image"
jwt_token=$(curl -s --max-time 10 -X POST "http://127.0.0.1:${GATEWAY_PORT}/api/auth/login" \
  -H 'Content-Type: application/json' \
  -d '{"email":"student@example.edu","password":"student123"}' \
  | python3 -c 'import json, sys; print(json.load(sys.stdin).get("access_token", ""))' 2>/dev/null || true)
check_jwt_output() { # WHAT OUTPUT
  if grep -qx 'header:  {"typ":"JWT","alg":"HS256"}' <<<"$2" \
     && grep -q '^  "sub": "1905551042",$' <<<"$2" \
     && grep -Eq '^signature: [A-Za-z0-9_-]{43} \(32 bytes: HMAC-SHA256 of `header.payload`' <<<"$2"; then
    pass "$1: header in its own byte order, the payload, a 32-byte HS256 signature line"
  else
    fail "$1 printed: ${2:-nothing}"
  fi
}
if [ -z "$jwt_token" ]; then
  fail "jwt: no token to decode (the student's login failed)"
else
  jwt_out=$(timeout 60 "${COMPOSE[@]}" exec -T gateway jwt decode "$jwt_token" 2>&1 || true)
  check_jwt_output "docker compose exec gateway jwt decode" "$jwt_out"
  jwt_out=$(timeout 120 "${COMPOSE[@]}" --profile tools run --rm -T jwt decode "$jwt_token" 2>&1 \
    || true)
  check_jwt_output "docker compose run --rm jwt decode" "$jwt_out"
fi

# --- 7. the scale and postgres profiles, for real -------------------------------------------------
say "scale and postgres profiles (scripts/compose-scale-smoke.py)"
t_scale=$(date +%s)
if COMPOSE="${COMPOSE[*]}" timeout 900 python3 scripts/compose-scale-smoke.py; then
  pass "scale and postgres profiles in $(( $(date +%s) - t_scale ))s"
else
  fail "scale and postgres profiles (see the lines above)"
fi

echo
say "build ${build_secs}s; time to healthy ${healthy_secs}s"
docker images --format 'table {{.Repository}}:{{.Tag}}\t{{.Size}}' \
  | grep -E 'REPOSITORY|api-gateway-pattern|debian|rust' || true
echo
echo "compose-smoke: ${passed} passed, ${failed} failed"
[ "$failed" = 0 ]
