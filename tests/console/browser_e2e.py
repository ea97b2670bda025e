#!/usr/bin/env python3
"""The console's acceptance test: a real headless browser (Debian's chromium, driven over
WebDriver by Selenium) uses the page the gateway serves at /console, as a student would.

    python3 -m venv target/console-venv
    target/console-venv/bin/pip install -r tests/console/requirements.txt
    cargo build -p api-gateway-pattern --bins
    target/console-venv/bin/python tests/console/browser_e2e.py              # starts the demo
    target/console-venv/bin/python tests/console/browser_e2e.py http://localhost:8080   # or not

Without a URL it starts `target/debug/demo` on free ports (never 8080) and uses its public URL
(`http://localhost:<port>`: the OAuth login comes back to the public URL, so the page must be
opened there). With a URL it drives whatever gateway answers there (the compose smoke test
passes the published port).

Checks, one line each:

- the student flow: log in, read the decoded role (STUDENT), change it to ADMIN in the payload
  editor, send GET /api/users with the edited token: 401 `bad_signature`, and the decision record
  on the page with the `signature` check failed and highlighted; no horizontal scrolling at
  1024x768 or at a phone's 390 px; nothing blocked by the page's Content-Security-Policy;
- the expiry: with the page's clock moved past `exp`, the countdown says expired and the refresh
  button trades the refresh token for a new pair;
- the dashboard: both backends' sections and a timeline bar per call; then as the admin, the
  latency switch on (300 ms), the dashboard again: the calls overlap on the timeline; switched
  back off;
- the live feed lists the requests made;
- bad input: a pasted non-JWT, a part that is not base64url, a part that is not JSON, a 100 KB
  paste: each explained on the page, which keeps working;
- the OAuth login (authorization code + PKCE S256) through the auth-service's form, each step
  shown, the challenge checked here against the verifier the page shows;
- the same OAuth login with `crypto.subtle` removed before any script runs (as on a plain-http
  classroom LAN): the page's own SHA-256 makes the challenge and the login completes.

Screenshots go to target/console-screenshots/ (or $CONSOLE_SCREENSHOTS), named by step. Exits 1
if any check fails. CHROMIUM and CHROMEDRIVER override the browser's and driver's paths.
"""

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", TARGET / "console-screenshots"))
STUDENT = ("student@example.edu", "student123")
ADMIN = ("admin@example.edu", "admin123")
WAIT = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process=None, log=None, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the demo exited early; its log:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout} s")


def browser(no_subtle: bool = False) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    # 1024x768: the classroom projector the page is made for.
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1024,768", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    if no_subtle:
        # Before any script of any page: what a browser does on a plain-http LAN origin.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "Object.defineProperty(Crypto.prototype, 'subtle', "
            "{get: function () { return undefined; }, configurable: true});")})
    return driver


class Page:
    """The console in one browser, found by data-testid."""

    def __init__(self, driver, base):
        self.driver = driver
        self.base = base

    def open(self):
        self.driver.get(f"{self.base}/console")
        self.wait_for(lambda: self.find("login-submit").is_displayed(), "the page")

    def find(self, testid):
        return self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def text(self, testid):
        return self.find(testid).text

    def wait_for(self, condition, what, timeout=WAIT):
        try:
            return WebDriverWait(self.driver, timeout).until(lambda _: condition())
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}") from None

    def type(self, testid, text):
        field = self.find(testid)
        field.clear()
        field.send_keys(text)

    def set_value(self, testid, text):
        """Sets a field's value as a paste would (one `input` event): fast for long texts."""
        self.driver.execute_script(
            "arguments[0].value = arguments[1];"
            "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
            self.find(testid), text)

    def login(self, account):
        self.type("login-email", account[0])
        self.type("login-password", account[1])
        self.find("login-submit").click()
        self.wait_for(lambda: f'"email": "{account[0]}"' in self.text("token-payload"),
                      f"the token of {account[0]}")
        return json.loads(self.text("token-payload"))

    def response(self, status_prefix):
        self.wait_for(lambda: self.text("response-status").startswith(status_prefix),
                      f"a {status_prefix} answer (now {self.text('response-status')!r})")
        return self.text("response-status")

    def shot(self, name):
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        # The whole page, not only the window: set the window to the document's height first.
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1024, max(768, min(height, 6000)))
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1024, 768)
        return path

    def csp_violations(self):
        logs = self.driver.get_log("browser")
        return [entry["message"] for entry in logs
                if "Content Security Policy" in entry["message"]
                or "Refused to" in entry["message"]]


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


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def student_flow(page: Page):
    page.open()
    payload = page.login(STUDENT)
    expect(payload["role"] == "STUDENT", f"decoded role {payload['role']}")
    expect(json.loads(page.text("token-header"))["alg"], "no alg in the decoded header")
    expect("HMAC" in page.driver.find_element(By.ID, "signature-notes").text
           or "signature" in page.driver.find_element(By.ID, "signature-notes").text,
           "the signature is not explained")
    expect("Expires in" in page.text("token-expiry"), page.text("token-expiry"))
    page.shot("01-student-token")

    payload["role"] = "ADMIN"
    page.type("payload-editor", json.dumps(payload, indent=2))
    page.wait_for(lambda: "payload" in page.text("edit-status"), "the edit to be seen")
    page.type("path", "/api/users")
    page.find("send-request").click()
    status = page.response("401")
    page.wait_for(lambda: page.text("response-reason") == "bad_signature",
                  f"reason bad_signature (now {page.text('response-reason')!r})")
    failed = page.wait_for(
        lambda: page.driver.find_elements(
            By.CSS_SELECTOR, '[data-testid="decision-record"] li[data-outcome="fail"]'),
        "the decision record's failed check")
    expect(len(failed) == 1, f"{len(failed)} failed checks")
    expect(failed[0].get_attribute("data-check") == "signature",
           f"failed check {failed[0].get_attribute('data-check')}")
    expect("fail" in failed[0].get_attribute("class"), "the failed check is not highlighted")
    colour = failed[0].value_of_css_property("color")
    passed = page.driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="decision-record"] li[data-outcome="pass"]')
    expect(passed and passed[0].value_of_css_property("color") != colour,
           "the failed check looks like the others")
    page.shot("02-role-admin-refused")
    # Usable on a projector and on a phone: nothing wider than the window at either size.
    for width, height in ((1024, 768), (390, 844)):
        page.driver.set_window_size(width, height)
        overflow = page.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        expect(overflow <= 0, f"the page is {overflow}px wider than a {width}px window")
    page.driver.save_screenshot(str(SHOTS / "10-phone.png"))
    page.driver.set_window_size(1024, 768)
    violations = page.csp_violations()
    expect(not violations, f"blocked by the CSP: {violations}")
    return f"{status}, bad_signature, decision record fails at 'signature'"


def expiry_flow(page: Page):
    """The countdown reaching zero and the refresh button, with the page's clock moved 16 minutes
    on (a demo token lives 15): the gateway's own `token_expired` needs the real wait, and is
    tested on the server side (gateway/tests/api/auth.rs)."""
    page.driver.execute_script(
        "window.realNow = Date.now; Date.now = function () { return window.realNow() + 16 * 60e3; };")
    try:
        page.wait_for(lambda: page.text("token-expiry").startswith("Expired"), "the expiry")
        page.wait_for(lambda: page.find("refresh").is_displayed(), "the refresh button")
        expect("token_expired" in page.text("token-expiry"), page.text("token-expiry"))
        page.shot("11-expired")
    finally:
        page.driver.execute_script("Date.now = window.realNow;")
    before = page.text("token-payload")
    page.find("refresh").click()
    page.wait_for(lambda: "Refreshed" in page.text("login-status"), "the refreshed token")
    expect(page.text("token-payload") != before, "the same token after a refresh")
    page.wait_for(lambda: page.text("token-expiry").startswith("Expires in 1"), "a new countdown")
    expect(not page.find("refresh").is_displayed(), "the refresh button stays")
    return page.text("token-expiry")


def dashboard_flow(page: Page):
    # Still signed in as the student: the explore buttons use the token as issued.
    page.find("call-dashboard").click()
    page.response("200")
    body = json.loads(page.text("response-body"))
    for section in ("profile", "invoices", "summary"):
        expect(body.get(section) is not None, f"no {section} section: {body}")
    rows = page.wait_for(lambda: page.driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="dashboard-timeline"] .row'), "the timeline")
    calls = {row.get_attribute("data-call") for row in rows}
    expect(calls == {"profile", "invoices", "summary"}, f"timeline rows {calls}")
    upstreams = {body["_meta"]["calls"][k]["upstream"] for k in calls}
    expect(upstreams == {"users", "billing"}, f"upstreams {upstreams}")
    page.shot("03-dashboard")

    page.login(ADMIN)
    page.type("latency-ms", "300")
    page.find("latency-set").click()
    page.wait_for(lambda: "Both backends" in page.text("latency-status"),
                  f"the latency switch (now {page.text('latency-status')!r})")
    try:
        page.find("call-dashboard").click()
        page.wait_for(lambda: page.text("response-status").startswith("200")
                      and '"_meta"' in page.text("response-body")
                      and json.loads(page.text("response-body"))["_meta"]["latency_ms"] >= 300,
                      "the slow dashboard")
        meta = json.loads(page.text("response-body"))["_meta"]
        spans = {k: (c["started_ms"], c["latency_ms"]) for k, c in meta["calls"].items()}
        first_end = min(end for _, end in spans.values())
        expect(all(start < first_end for start, _ in spans.values()),
               f"the calls did not overlap: {spans}")
        expect(meta["latency_ms"] < 900, f"the calls ran one after another: {spans}")
        page.wait_for(lambda: "ran at the same time" in page.text("dashboard-timeline"),
                      "the timeline's overlap note")
        page.shot("04-dashboard-slow-backends")
    finally:
        page.find("latency-off").click()
        page.wait_for(lambda: "wait 0 ms" in page.text("latency-status"), "latency back to 0")
    return (f"3 calls on the timeline; at 300 ms each the dashboard took {meta['latency_ms']} ms "
            f"(calls started at {sorted(round(s, 1) for s, _ in spans.values())} ms)")


def watch_flow(page: Page):
    rows = page.wait_for(lambda: [r.text for r in page.driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="watch-list"] tr') if "/api/users" in r.text],
        "/api/users in the live feed")
    expect(any("401" in r and "bad_signature" in r for r in rows), f"rows {rows}")
    expect(any("/api/dashboard" in r.text for r in page.driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="watch-list"] tr')), "no dashboard in the feed")
    page.shot("05-watch")
    return f"{len(page.driver.find_elements(By.CSS_SELECTOR, '[data-testid=watch-list] tr'))} rows"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bad_input_flow(page: Page):
    cases = [
        ("hello, this is not a token", "three parts"),
        ("eyJhbGciOiJIUzI1NiJ9.e30!.c2ln", "not base64url"),
        (b64url(b"{not json") + "." + b64url(b"{}") + ".c2ln", "not JSON"),
        (b64url(b'{"alg":"HS256"}') + "." + b64url(b"\xff\xfe") + ".c2ln", "not UTF-8"),
        ("a" * 100 * 1024, "102,400 characters"),
    ]
    for text, explained in cases:
        page.set_value("token-paste", text)
        page.wait_for(lambda: explained in page.text("paste-status"),
                      f"{explained!r} for {text[:30]!r} (now {page.text('paste-status')[:120]!r})")
        if explained == "not JSON":
            page.shot("06-bad-input-not-json")
    page.shot("06-bad-input-100kb")
    # Still working: a real token pasted after all that is decoded.
    good = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + b64url(b'{"role":"STUDENT"}') + "." + \
        b64url(b"x" * 32)
    page.set_value("token-paste", good)
    page.wait_for(lambda: '"role": "STUDENT"' in page.text("token-payload"), "the good paste")
    expect(not page.csp_violations(), "CSP violations")
    return f"{len(cases)} bad pastes explained, the page still decodes the next one"


def oauth_flow(page: Page, no_subtle: bool):
    page.open()
    subtle = page.driver.execute_script("return typeof window.crypto.subtle")
    expect(subtle == ("undefined" if no_subtle else "object"), f"crypto.subtle is {subtle}")
    page.find("oauth-start").click()
    page.wait_for(lambda: "code_challenge=" in page.text("oauth-request"), "step 1")
    request = page.text("oauth-request")
    impl = page.driver.find_element(By.ID, "oauth-sha-impl").text
    expect(("own SHA-256" in impl) if no_subtle else (impl == "crypto.subtle"), impl)
    fields = dict(line.strip().split("=", 1) for line in request.splitlines()
                  if line.startswith("  "))
    verifier = request.rsplit("code_verifier (kept in the page, not sent): ", 1)[1].strip()
    expected = b64url(hashlib.sha256(verifier.encode()).digest())
    expect(fields["code_challenge"] == expected,
           f"challenge {fields['code_challenge']} is not S256({verifier}) = {expected}")
    expect(fields["code_challenge_method"] == "S256", "method")
    expect(fields["redirect_uri"] == f"{page.base}/console/callback", fields["redirect_uri"])
    suffix = "-no-subtle" if no_subtle else ""
    page.shot(f"07-oauth-request{suffix}")

    page.find("oauth-go").click()
    page.wait_for(lambda: page.driver.find_elements(By.NAME, "password"), "the login form")
    page.driver.find_element(By.NAME, "email").clear()
    page.driver.find_element(By.NAME, "email").send_keys(STUDENT[0])
    page.driver.find_element(By.NAME, "password").send_keys(STUDENT[1])
    page.driver.find_element(By.CSS_SELECTOR, 'button[value="allow"]').click()

    page.wait_for(lambda: "code=" in page.driver.find_element(By.ID, "oauth-redirect").text,
                  "step 2 (back with the code)")
    redirect = page.text("oauth-redirect")
    expect("state is the one sent in step 1: yes" in redirect, redirect)
    expect(page.driver.current_url == f"{page.base}/console",
           f"the code stays in the address bar: {page.driver.current_url}")
    page.shot(f"08-oauth-redirect{suffix}")
    page.find("oauth-exchange").click()
    page.wait_for(lambda: "access_token" in page.text("oauth-tokens"), "step 4 (the tokens)")
    token_request = page.text("oauth-token-request")
    expect(f"code_verifier={verifier}" in token_request, token_request)
    payload = json.loads(page.text("token-payload"))
    expect(payload["role"] == "STUDENT" and "profile" in payload.get("scope", ""), payload)
    stored = page.driver.execute_script(
        "return [localStorage.length, sessionStorage.length, document.cookie]")
    expect(stored == [0, 0, ""], f"something stored by the page: {stored}")
    page.find("call-dashboard").click()
    page.response("200")
    page.shot(f"09-oauth-tokens{suffix}")
    return f"challenge by {impl}; state checked; code exchanged; scope {payload['scope']!r}"


def main() -> int:
    base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else None
    demo = None
    if base is None:
        port = free_port()
        ports = {"GATEWAY_PORT": port, "AUTH_PORT": free_port(), "USERS_PORT": free_port(),
                 "BILLING_PORT": free_port(), "ADMIN_PORT": free_port()}
        work = Path(tempfile.mkdtemp(prefix="console-e2e-"))
        log = work / "demo.log"
        env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "RUST_LOG": "warn"}
        demo = subprocess.Popen([TARGET / "debug" / "demo"], env=env, stdout=log.open("w"),
                                stderr=subprocess.STDOUT)
        base = f"http://localhost:{port}"
        wait_ready(f"{base}/readyz", demo, log)
    else:
        wait_ready(f"{base}/readyz")
    print(f"console at {base}/console; screenshots in {SHOTS}", flush=True)
    checks = Checks()
    started = time.monotonic()
    try:
        driver = browser()
        try:
            page = Page(driver, base)
            checks.run("student: role edited to ADMIN → 401 bad_signature, decision record",
                       lambda: student_flow(page))
            checks.run("expiry: the countdown reaches zero, the refresh button gets a new pair",
                       lambda: expiry_flow(page))
            checks.run("dashboard: both backends, the timeline, the latency switch",
                       lambda: dashboard_flow(page))
            checks.run("watch: the live feed lists the requests", lambda: watch_flow(page))
            checks.run("bad input: non-JWT, bad base64url, bad JSON, bad UTF-8, 100 KB",
                       lambda: bad_input_flow(page))
            checks.run("OAuth: authorization code + PKCE S256 (crypto.subtle)",
                       lambda: oauth_flow(page, no_subtle=False))
        finally:
            driver.quit()
        driver = browser(no_subtle=True)
        try:
            checks.run("OAuth with crypto.subtle removed (the page's own SHA-256)",
                       lambda: oauth_flow(Page(driver, base), no_subtle=True))
        finally:
            driver.quit()
    finally:
        if demo is not None and demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=15)
            except subprocess.TimeoutExpired:
                demo.kill()
    shots = sorted(p.name for p in SHOTS.glob("*.png"))
    print(f"browser test: {time.monotonic() - started:.1f} s, {len(shots)} screenshots: "
          f"{', '.join(shots)}", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
