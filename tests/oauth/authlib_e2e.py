#!/usr/bin/env python3
"""The acceptance test of "OAuth 2.0 as standard clients expect it": Authlib, a widely used
OAuth client library, against the running demo, through the gateway.

    python3 -m venv /tmp/authlib-venv
    /tmp/authlib-venv/bin/pip install -r tests/oauth/requirements.txt
    cargo build -p api-gateway-pattern -p auth-service --bins
    /tmp/authlib-venv/bin/python tests/oauth/authlib_e2e.py

It starts `target/debug/demo` on free ports (never 8080), waits for `/readyz`, and checks, one
line each:

- the RFC 8414 metadata, with Authlib's own validator;
- the authorization code flow with PKCE S256, driven like a browser (GET the form, read its
  CSRF field, POST the credentials, follow nothing: read the 303's Location), then Authlib's
  `fetch_token` with the `code_verifier`; a second redemption of the code is refused and
  revokes the first one's refresh token;
- the password grant with `classroom-app`; refresh with rotation (the old refresh token is
  refused afterwards);
- `client_credentials` for `reporting-job` with `client_secret_basic` and `client_secret_post`,
  and for a client whose secret holds `+`, `/` and `=`: the demo launcher takes no extra client,
  so this one runs against a second, stand-alone `target/debug/auth-service` started with a
  config file that declares it (its hash made by `auth-service hash-secret`);
- revocation, then introspection answering `active: false`;
- a `billing:read` token refused by the gateway's route scopes on /api/users/me with 403
  `insufficient_scope`, and let through to /api/billing/invoices.

AUTHLIB_INSECURE_TRANSPORT must not be set: every URL is http://127.0.0.1 or localhost, which
Authlib accepts as loopback. Exits 1 if any check fails. Python standard library plus Authlib
and requests only.
"""

import html.parser
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
STUDENT = ("student@example.edu", "student123")
CLIENT = "classroom-app"
REPORTING = ("reporting-job", "reporting-secret")
SIGNS = ("signs-job", "s3cr+t/with=signs==")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited early; its log:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout} s; log:\n{log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class FormReader(html.parser.HTMLParser):
    """The login form's action and its input fields (hidden ones with their values)."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields = {}
        self.inputs = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action")
        elif tag == "input":
            self.inputs.append(attrs.get("name"))
            if attrs.get("type") == "hidden":
                self.fields[attrs["name"]] = attrs.get("value", "")


class Checks:
    def __init__(self):
        self.failed = 0

    def run(self, name, check):
        try:
            detail = check()
            print(f"ok    {name}" + (f" ({detail})" if detail else ""), flush=True)
        except Exception as error:  # every failure is reported, then the next check runs
            self.failed += 1
            print(f"FAIL  {name}: {type(error).__name__}: {error}", flush=True)

    def skip(self, name, why):
        print(f"skip  {name}: {why}", flush=True)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_oauth_error(call, error):
    try:
        call()
    except OAuthError as e:
        expect(e.error == error, f"expected {error}, got {e.error}: {e.description}")
        return
    raise AssertionError(f"expected the OAuth error {error}, got a success")


def main() -> int:
    if os.environ.get("AUTHLIB_INSECURE_TRANSPORT"):
        raise SystemExit("unset AUTHLIB_INSECURE_TRANSPORT: the test checks Authlib's defaults")
    ports = {name: free_port() for name in
             ("GATEWAY_PORT", "AUTH_PORT", "USERS_PORT", "BILLING_PORT", "ADMIN_PORT")}
    gateway = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
    # The issuer the metadata names: the demo's one `public_url`, which the launcher derives from
    # the port the gateway really bound (never 8080 here), spelled `localhost`.
    expected_issuer = f"http://localhost:{ports['GATEWAY_PORT']}"
    token_url = f"{gateway}/api/oauth/token"
    authorize_url = f"{gateway}/api/oauth/authorize"
    revoke_url = f"{gateway}/api/oauth/revoke"
    introspect_url = f"{gateway}/api/oauth/introspect"

    work = Path(tempfile.mkdtemp(prefix="authlib-e2e-"))
    demo_log = work / "demo.log"
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "RUST_LOG": "warn"}
    demo = subprocess.Popen([BIN / "demo"], env=env, stdout=demo_log.open("w"),
                            stderr=subprocess.STDOUT)
    # The stand-alone auth-service with the client whose secret holds + / =.
    signs_hash = subprocess.run([BIN / "auth-service", "hash-secret"], input=SIGNS[1],
                                capture_output=True, text=True, check=True).stdout.strip()
    signs_port = free_port()
    signs_config = work / "auth-signs.toml"
    signs_config.write_text(
        "demo = true\n"
        f'[server]\nlisten = "127.0.0.1:{signs_port}"\n'
        f'[[clients]]\nclient_id = "{SIGNS[0]}"\nsecret_hash = "{signs_hash}"\n'
        'scopes = ["billing:read"]\ngrant_types = ["client_credentials"]\n')
    signs_log = work / "auth-signs.log"
    signs = subprocess.Popen([BIN / "auth-service", "--config", signs_config],
                             env={**os.environ, "RUST_LOG": "warn"},
                             stdout=signs_log.open("w"), stderr=subprocess.STDOUT)
    checks = Checks()
    try:
        wait_ready(f"{gateway}/readyz", demo, demo_log)
        wait_ready(f"http://127.0.0.1:{signs_port}/readyz", signs, signs_log)
        print(f"demo at {gateway}; stand-alone auth-service at 127.0.0.1:{signs_port}")

        def metadata():
            doc = requests.get(f"{gateway}/.well-known/oauth-authorization-server",
                               timeout=10).json()
            AuthorizationServerMetadata(doc).validate()
            expect(doc["issuer"] == expected_issuer, f"issuer {doc['issuer']}")
            expect(doc["authorization_endpoint"] == f"{expected_issuer}/api/oauth/authorize",
                   doc["authorization_endpoint"])
            expect(doc["response_types_supported"] == ["code"], doc["response_types_supported"])
            expect(doc["code_challenge_methods_supported"] == ["S256"], "PKCE methods")
            expect("authorization_code" in doc["grant_types_supported"], "grant types")
            openid = requests.get(f"{gateway}/.well-known/openid-configuration",
                                  timeout=10).json()
            expect(openid == doc, "openid-configuration differs")
            return "AuthorizationServerMetadata.validate() passed"

        checks.run("RFC 8414 metadata", metadata)

        def me(access_token):
            return requests.get(f"{gateway}/api/users/me", timeout=10,
                                headers={"Authorization": f"Bearer {access_token}"})

        code_flow = {}

        def authorization_code():
            callback = f"http://127.0.0.1:{free_port()}/callback"
            client = OAuth2Session(CLIENT, redirect_uri=callback, code_challenge_method="S256",
                                   scope="profile")
            verifier = generate_token(64)
            url, state = client.create_authorization_url(authorize_url, code_verifier=verifier)
            browser = requests.Session()
            page = browser.get(url, allow_redirects=False, timeout=10)
            expect(page.status_code == 200, f"form: HTTP {page.status_code} {page.text[:200]}")
            expect("frame-ancestors 'none'" in page.headers["Content-Security-Policy"], "CSP")
            expect(page.headers["X-Frame-Options"] == "DENY", "X-Frame-Options")
            form = FormReader()
            form.feed(page.text)
            expect(form.fields.get("csrf_token"), "the form has no csrf_token")
            expect("email" in form.inputs and "password" in form.inputs, "no credential fields")
            fields = {**form.fields, "email": STUDENT[0], "password": STUDENT[1]}
            answer = browser.post(urllib.parse.urljoin(page.url, form.action), data=fields,
                                  allow_redirects=False, timeout=10)
            expect(answer.status_code == 303, f"sign-in: HTTP {answer.status_code}")
            location = answer.headers["Location"]
            expect(location.startswith(callback + "?"), location)
            # With `state`, Authlib checks the redirect's state is the one it sent.
            token = client.fetch_token(token_url, authorization_response=location,
                                       code_verifier=verifier, state=state)
            expect(token.get("refresh_token"), "no refresh token")
            profile = me(token["access_token"])
            expect(profile.status_code == 200, f"/api/users/me: HTTP {profile.status_code}")
            expect(profile.json()["email"] == STUDENT[0], profile.text)
            code_flow.update(client=client, location=location, verifier=verifier, token=token,
                             state=state)
            return f"state {state[:6]}…, 303 to {callback}, tokens, /api/users/me 200"

        checks.run("authorization code + PKCE S256 (form, CSRF, 303, fetch_token)",
                   authorization_code)

        def code_replay():
            expect(code_flow, "needs the previous check")
            client = code_flow["client"]
            expect_oauth_error(lambda: client.fetch_token(
                token_url, authorization_response=code_flow["location"],
                code_verifier=code_flow["verifier"], state=code_flow["state"]), "invalid_grant")
            refresh = code_flow["token"]["refresh_token"]
            expect_oauth_error(lambda: client.refresh_token(token_url, refresh_token=refresh),
                               "invalid_grant")
            return "invalid_grant; the first exchange's refresh token is revoked"

        checks.run("a redeemed code redeemed again", code_replay)

        password_flow = {}

        def password_grant():
            client = OAuth2Session(CLIENT)
            token = client.fetch_token(token_url, username=STUDENT[0], password=STUDENT[1])
            expect(me(token["access_token"]).status_code == 200, "/api/users/me")
            password_flow.update(client=client, token=token)
            return "classroom-app, client_id alone"

        checks.run("password grant", password_grant)

        def refresh_rotation():
            expect(password_flow, "needs the previous check")
            client, old = password_flow["client"], password_flow["token"]["refresh_token"]
            new = client.refresh_token(token_url, refresh_token=old)
            expect(new["refresh_token"] != old, "the refresh token did not rotate")
            expect(me(new["access_token"]).status_code == 200, "/api/users/me")
            expect_oauth_error(lambda: client.refresh_token(token_url, refresh_token=old),
                               "invalid_grant")
            return "new pair; the old refresh token is refused"

        checks.run("refresh with rotation", refresh_rotation)

        def client_credentials(client_id, secret, method, url):
            client = OAuth2Session(client_id, secret, token_endpoint_auth_method=method,
                                   scope="billing:read")
            token = client.fetch_token(url, grant_type="client_credentials")
            expect(token["scope"] == "billing:read", token)
            expect("refresh_token" not in token, "client_credentials gives no refresh token")
            return token

        for method in ("client_secret_basic", "client_secret_post"):
            checks.run(f"client_credentials, reporting-job, {method}",
                       lambda m=method: client_credentials(*REPORTING, m, token_url) and None)
        signs_token_url = f"http://127.0.0.1:{signs_port}/oauth/token"
        for method in ("client_secret_basic", "client_secret_post"):
            checks.run(f"client_credentials, a secret with + / =, {method}",
                       lambda m=method: client_credentials(*SIGNS, m, signs_token_url) and
                       "stand-alone auth-service")

        def revoke_then_introspect():
            reporting = OAuth2Session(*REPORTING)
            token = reporting.fetch_token(token_url, grant_type="client_credentials")
            access = token["access_token"]
            active = reporting.introspect_token(introspect_url, token=access).json()
            expect(active["active"] is True, f"before: {active}")
            revoked = reporting.revoke_token(revoke_url, token=access,
                                             token_type_hint="access_token")
            expect(revoked.status_code == 200, f"revoke: HTTP {revoked.status_code}")
            after = reporting.introspect_token(introspect_url, token=access).json()
            expect(after == {"active": False}, f"after: {after}")
            # A public client revokes its own refresh token (client_id alone).
            user = OAuth2Session(CLIENT)
            pair = user.fetch_token(token_url, username=STUDENT[0], password=STUDENT[1])
            user.revoke_token(revoke_url, token=pair["refresh_token"],
                              token_type_hint="refresh_token").raise_for_status()
            after = reporting.introspect_token(introspect_url,
                                               token=pair["refresh_token"]).json()
            expect(after == {"active": False}, f"refresh after: {after}")
            return "access and refresh tokens: active → revoked → active: false"

        checks.run("revocation, then introspection", revoke_then_introspect)

        def scope_limited():
            reporting = OAuth2Session(*REPORTING, scope="billing:read")
            token = reporting.fetch_token(token_url, grant_type="client_credentials")
            answer = me(token["access_token"])
            expect(answer.status_code == 403, f"HTTP {answer.status_code}")
            challenge = answer.headers.get("WWW-Authenticate", "")
            expect('error="insufficient_scope"' in challenge, challenge)
            expect('scope="profile"' in challenge, challenge)
            # Refused by the gateway's route scopes, before the user-service is asked.
            reason = answer.json().get("reason")
            expect(reason == "insufficient_scope", f"reason {reason}")
            billing = requests.get(f"{gateway}/api/billing/invoices", timeout=10,
                                   headers={"Authorization": f"Bearer {token['access_token']}"})
            expect(billing.status_code != 403, f"billing:read refused on billing: {billing.text}")
            return f"403 insufficient_scope on /api/users/me; /api/billing/invoices {billing.status_code}"

        checks.run("a billing:read token on /api/users/me", scope_limited)
    finally:
        stop(demo)
        stop(signs)
    if checks.failed:
        print(f"{checks.failed} check(s) failed; logs in {work}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
