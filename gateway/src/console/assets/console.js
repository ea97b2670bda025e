// The JWT console's script (docs/console.md). Plain JavaScript, no library, no build step.
//
// What it does, panel by panel:
//   1. log in (password, registration, or OAuth authorization code + PKCE, step by step);
//   2. show the token: its three parts, colour-coded and decoded, the signature explained, the
//      expiry counting down;
//   3. break it: edit the header, the payload or the signature, and send a request with it;
//   4. show what the gateway answered and its decision record, the failing check highlighted;
//   5. call the demo routes, draw the dashboard's calls on a timeline, switch latency on;
//   6. watch every request through the gateway (server-sent events).
//
// Rules it keeps:
//   - Tokens live in this page's memory (the `session` object) only: never localStorage, never a
//     cookie. Only an OAuth login in progress keeps its PKCE verifier and state in
//     sessionStorage, because the browser leaves the page to log in; they are removed on return.
//   - Every request goes to this page's own origin (the gateway): paths are checked to stay on
//     it, and the Content-Security-Policy (connect-src 'self') enforces it again.
//   - Text from outside (tokens, answers) is only ever put in the page with textContent, never
//     as HTML.
//   - Bad input is explained, never thrown: every handler catches and reports.
(function () {
  "use strict";

  // A JWT from this gateway is a few hundred characters; the gateway refuses request heads over
  // 16 KB (431). Anything longer is not decoded at all, so a 100 KB paste cannot freeze the page.
  var MAX_TOKEN_CHARS = 16 * 1024;
  var MAX_BODY_SHOWN = 20 * 1024;
  var MAX_WATCH_ROWS = 60;
  var CLIENT_ID = "classroom-app";
  var OAUTH_SCOPE = "profile billing";
  var PKCE_KEY = "console.pkce";

  // Everything the page knows, in memory only.
  var session = {
    access: null, // the access token as issued
    refresh: null,
    via: null, // "login" or "oauth": how to refresh
    decoded: null, // decode(session.access or the pasted token)
    lastReason: null
  };

  function $(id) {
    return document.getElementById(id);
  }

  function setText(id, text, className) {
    var el = $(id);
    el.textContent = text == null ? "" : String(text);
    if (className !== undefined) {
      el.className = className;
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text != null) {
      node.textContent = String(text);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  // ---- base64url and UTF-8 ------------------------------------------------------------------

  var encoder = new TextEncoder();
  var strictDecoder = new TextDecoder("utf-8", { fatal: true });

  function bytesToB64url(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function textToB64url(text) {
    return bytesToB64url(encoder.encode(text));
  }

  // Throws an Error whose message says what is wrong with `part`.
  function b64urlToBytes(part) {
    if (!/^[A-Za-z0-9_-]*$/.test(part)) {
      var bad = part.match(/[^A-Za-z0-9_-]/)[0];
      throw new Error("is not base64url: it contains " + JSON.stringify(bad) +
        " (base64url uses only A–Z, a–z, 0–9, - and _)");
    }
    if (part.length % 4 === 1) {
      throw new Error("is not base64url: its length (" + part.length +
        ") leaves a single character over, which no byte sequence encodes to");
    }
    var standard = part.replace(/-/g, "+").replace(/_/g, "/");
    while (standard.length % 4) {
      standard += "=";
    }
    var binary = atob(standard);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function toHex(bytes, max) {
    var out = [];
    var n = Math.min(bytes.length, max || bytes.length);
    for (var i = 0; i < n; i++) {
      out.push((bytes[i] < 16 ? "0" : "") + bytes[i].toString(16));
    }
    return out.join(" ") + (bytes.length > n ? " …" : "");
  }

  // ---- decoding a token ---------------------------------------------------------------------

  // Decodes `text` as a compact JWT. Never throws: returns
  // {ok, parts, header, payload, signature, errors: ["…", …]}.
  function decode(text) {
    var result = { ok: false, parts: null, header: null, payload: null, signature: null, errors: [] };
    if (typeof text !== "string" || text.trim() === "") {
      result.errors.push("Nothing to decode: the text is empty.");
      return result;
    }
    text = text.trim().replace(/^Bearer\s+/i, "");
    if (text.length > MAX_TOKEN_CHARS) {
      result.errors.push("This is " + text.length.toLocaleString("en") + " characters long. " +
        "A JWT from this gateway is a few hundred, and the gateway refuses request heads over " +
        "16 KB (431 headers_too_large), so it was not decoded.");
      return result;
    }
    var parts = text.split(".");
    if (parts.length !== 3) {
      result.errors.push("Not a JWT: a JWT has three parts separated by two dots " +
        "(header.payload.signature); this has " + parts.length + " part" +
        (parts.length === 1 ? "" : "s") + ".");
      return result;
    }
    result.parts = parts;
    var names = ["header", "payload"];
    for (var i = 0; i < 2; i++) {
      try {
        var bytes = b64urlToBytes(parts[i]);
        var json;
        try {
          json = strictDecoder.decode(bytes);
        } catch (e) {
          throw new Error("decodes to bytes that are not UTF-8 text");
        }
        var value;
        try {
          value = JSON.parse(json);
        } catch (e) {
          throw new Error("decodes to text that is not JSON: " + JSON.stringify(json.slice(0, 60)));
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw new Error("is JSON but not an object: " + JSON.stringify(value).slice(0, 60));
        }
        result[names[i]] = value;
      } catch (e) {
        result.errors.push("The " + names[i] + " (part " + (i + 1) + ") " + e.message + ".");
      }
    }
    try {
      result.signature = b64urlToBytes(parts[2]);
    } catch (e) {
      result.errors.push("The signature (part 3) " + e.message + ".");
    }
    result.ok = result.errors.length === 0;
    return result;
  }

  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }

  // What the signature is, in words, for the header's `alg`.
  function signatureWords(header, signature) {
    var alg = header && typeof header.alg === "string" ? header.alg : "?";
    var input = "over the ASCII text base64url(header) + \".\" + base64url(payload)";
    var size = signature ? signature.length + " bytes" : "";
    switch (alg) {
      case "HS256":
        return "HMAC-SHA256 " + input + ", keyed with the auth-service's secret (" + size +
          "). Anyone can read the payload; only a holder of the secret can make a matching " +
          "signature, so any change to the first two parts makes the gateway refuse it " +
          "(bad_signature).";
      case "RS256":
        return "An RSA signature (RSASSA-PKCS1-v1_5 with SHA-256) " + input + ", made with the " +
          "auth-service's private key (" + size + "). Anyone can check it with the public key " +
          "at /.well-known/jwks.json (kid " + JSON.stringify(header.kid) + "); nobody else can " +
          "make one.";
      case "EdDSA":
        return "An Ed25519 signature " + input + ", made with the auth-service's private key (" +
          size + "). Anyone can check it with the public key at /.well-known/jwks.json.";
      case "none":
        return "alg \"none\": an unsigned token. A gateway must never accept one; this one " +
          "refuses it before looking for a key.";
      default:
        return "alg " + JSON.stringify(alg) + ": not an algorithm this gateway accepts.";
    }
  }

  // ---- the token panel ----------------------------------------------------------------------

  function renderCompact(target, parts, changed) {
    var node = $(target);
    clear(node);
    if (!parts) {
      return;
    }
    var classes = ["h", "p", "s"];
    for (var i = 0; i < 3; i++) {
      if (i > 0) {
        node.appendChild(el("span", "dot", "."));
      }
      var text = parts[i] === "" ? "(empty)" : parts[i];
      node.appendChild(el("span", classes[i] + (changed && changed[i] ? " changed" : ""), text));
    }
  }

  function showToken(text, source) {
    var decoded = decode(text);
    session.decoded = decoded;
    if (!decoded.parts) {
      return decoded;
    }
    renderCompact("compact", decoded.parts);
    setText("token-header", decoded.header ? pretty(decoded.header) : "(not readable)");
    setText("token-payload", decoded.payload ? pretty(decoded.payload) : "(not readable)");
    setText("token-signature", decoded.signature
      ? toHex(decoded.signature, 64) : "(not readable)");
    setText("signature-notes", signatureWords(decoded.header, decoded.signature));
    var notes = [];
    var p = decoded.payload || {};
    if (p.role) {
      notes.push("role " + p.role + ": what the gateway's policies check.");
    }
    if (typeof p.exp === "number") {
      notes.push("exp " + new Date(p.exp * 1000).toLocaleTimeString() + " (seconds since 1970).");
    }
    if (p.iss) {
      notes.push("iss " + p.iss + ": must be this gateway's public URL.");
    }
    setText("payload-notes", notes.join(" "));
    loadEditors(decoded);
    tick();
    setText("paste-status", decoded.ok
      ? (source === "paste" ? "Decoded. Edit it below and send it." : "")
      : decoded.errors.join(" "), decoded.ok ? "ok" : "error");
    return decoded;
  }

  function tick() {
    var decoded = session.decoded;
    var node = $("expiry");
    if (!decoded || !decoded.payload || typeof decoded.payload.exp !== "number") {
      node.textContent = decoded && decoded.parts ? "This token has no exp: it never expires." : "";
      return;
    }
    var left = Math.round(decoded.payload.exp - Date.now() / 1000);
    if (left > 0) {
      var m = Math.floor(left / 60);
      var s = left % 60;
      node.textContent = "Expires in " + m + ":" + (s < 10 ? "0" : "") + s;
      node.className = "";
    } else {
      node.textContent = "Expired " + (-left) + " s ago: the next call is refused with " +
        "token_expired.";
      node.className = "expired";
      $("refresh").hidden = !session.refresh;
    }
  }

  // ---- editing ------------------------------------------------------------------------------

  var originalEdits = { header: "", payload: "", signature: "", parts: null };

  function loadEditors(decoded) {
    originalEdits.parts = decoded.parts;
    originalEdits.header = decoded.header ? pretty(decoded.header) : decodeLoosely(decoded.parts[0]);
    originalEdits.payload = decoded.payload ? pretty(decoded.payload) : decodeLoosely(decoded.parts[1]);
    originalEdits.signature = decoded.parts[2];
    $("header-editor").value = originalEdits.header;
    $("payload-editor").value = originalEdits.payload;
    $("signature-editor").value = originalEdits.signature;
    updateEdited();
  }

  function decodeLoosely(part) {
    try {
      return new TextDecoder("utf-8").decode(b64urlToBytes(part));
    } catch (e) {
      return part;
    }
  }

  // The edited token: a part whose editor still holds the original text keeps its original
  // bytes; an edited one is re-encoded (compact JSON when it is JSON, the text as typed when not,
  // so a student can also watch the gateway call a broken part `malformed`).
  function editedToken() {
    if (!originalEdits.parts) {
      return { token: null, notes: ["No token to edit yet."], changed: [false, false, false] };
    }
    var notes = [];
    var changed = [false, false, false];
    var parts = originalEdits.parts.slice();
    var editors = [["header-editor", "header"], ["payload-editor", "payload"]];
    for (var i = 0; i < 2; i++) {
      var text = $(editors[i][0]).value;
      if (text === originalEdits[editors[i][1]]) {
        continue;
      }
      changed[i] = true;
      try {
        parts[i] = textToB64url(JSON.stringify(JSON.parse(text)));
      } catch (e) {
        parts[i] = textToB64url(text);
        notes.push("The " + editors[i][1] + " is not valid JSON (" + e.message +
          "); it is sent as typed.");
      }
    }
    var signature = $("signature-editor").value.trim();
    if (signature !== originalEdits.signature) {
      changed[2] = true;
      parts[2] = signature;
      if (!/^[A-Za-z0-9_-]*$/.test(signature)) {
        notes.push("The signature holds characters base64url never uses; the browser may " +
          "refuse to send it.");
      }
    }
    return { token: parts.join("."), notes: notes, changed: changed, parts: parts };
  }

  function updateEdited() {
    var edited = editedToken();
    if (edited.parts) {
      renderCompact("edited-compact", edited.parts, edited.changed);
    } else {
      clear($("edited-compact"));
    }
    var what = [];
    ["header", "payload", "signature"].forEach(function (name, i) {
      if (edited.changed[i]) {
        what.push(name);
      }
    });
    var summary = what.length ? "Edited: " + what.join(", ") + "." : "No edits: the token as issued.";
    setText("edit-status", [summary].concat(edited.notes).join(" "),
      edited.notes.length ? "warn" : "");
  }

  function editJson(editorId, change) {
    var editor = $(editorId);
    try {
      var value = JSON.parse(editor.value);
      change(value);
      editor.value = pretty(value);
      updateEdited();
    } catch (e) {
      setText("edit-status", "The " + editorId.replace("-editor", "") +
        " editor does not hold JSON right now (" + e.message + "): fix it or undo the edits.",
        "error");
    }
  }

  // ---- sending a request --------------------------------------------------------------------

  // A path on this gateway, or an Error saying why not. Keeps every request on this origin.
  function checkedPath(path) {
    path = (path || "").trim();
    if (path.charAt(0) !== "/" || path.charAt(1) === "/" || path.charAt(1) === "\\") {
      throw new Error("The path must start with a single / (a path on this gateway, like " +
        "/api/users): the console sends requests to this gateway only.");
    }
    var url = new URL(path, window.location.origin);
    if (url.origin !== window.location.origin) {
      throw new Error("That path leaves this gateway; the console sends requests to it only.");
    }
    return url.pathname + url.search;
  }

  // Sends one request and shows everything about it. `token` may be null (no Authorization).
  function send(method, path, token, body) {
    var shown = [method + " " + path];
    var init = { method: method, headers: {}, credentials: "omit", cache: "no-store",
      redirect: "manual" };
    if (token) {
      init.headers.Authorization = "Bearer " + token;
      shown.push("Authorization: Bearer " + abbreviate(token));
    }
    if (body != null && method !== "GET" && method !== "HEAD") {
      init.headers["Content-Type"] = "application/json";
      init.body = body;
      shown.push("Content-Type: application/json", "", body);
    }
    setText("request-shown", shown.join("\n"));
    setText("response-status", "…", "status");
    setText("response-reason", "");
    setText("response-latency", "");
    setText("response-detail", "");
    setText("response-headers", "");
    setText("response-body", "");
    clear($("decision-record"));
    setText("decision-notes", "");
    var started = performance.now();
    return fetch(path, init).then(function (response) {
      var latency = performance.now() - started;
      return response.text().then(function (text) {
        return show(response, text, latency, init.headers.Authorization);
      });
    }).catch(function (error) {
      setText("response-status", "not sent", "status bad");
      setText("response-detail", "The browser could not send it: " + error.message, "error");
      return null;
    });
  }

  function abbreviate(token) {
    return token.length > 48 ? token.slice(0, 24) + "…" + token.slice(-16) : token;
  }

  function show(response, text, latency, authorization) {
    if (response.type === "opaqueredirect") {
      setText("response-status", "redirect", "status");
      setText("response-detail", "A redirect: the browser does not show where to.");
      return { status: 0, body: null };
    }
    var good = response.status < 400;
    setText("response-status", response.status + " " + (response.statusText || ""),
      "status " + (good ? "good" : "bad"));
    setText("response-latency", latency.toFixed(1) + " ms");
    var lines = [];
    response.headers.forEach(function (value, name) {
      lines.push(name + ": " + value);
    });
    setText("response-headers", lines.join("\n"));
    var json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (e) {
      json = null;
    }
    var shownBody = json !== null ? pretty(json) : text;
    if (shownBody.length > MAX_BODY_SHOWN) {
      shownBody = shownBody.slice(0, MAX_BODY_SHOWN) + "\n… (" + shownBody.length + " characters)";
    }
    setText("response-body", shownBody);
    var reason = json && typeof json.reason === "string" ? json.reason : "";
    session.lastReason = reason;
    setText("response-reason", reason);
    if (json && json.detail) {
      setText("response-detail", json.detail);
    }
    if (reason === "token_expired" && session.refresh) {
      $("refresh").hidden = false;
    }
    var decision = response.headers.get("X-Gateway-Decision");
    if (decision) {
      loadDecision(decision, authorization);
    } else {
      setText("decision-notes", "This answer names no decision record (the console's own " +
        "endpoints are not routed through the pipeline).");
    }
    return { status: response.status, body: json };
  }

  function loadDecision(id, authorization) {
    if (!/^[0-9a-f]{16}$/.test(id)) {
      setText("decision-notes", "The decision id is not one the gateway makes.");
      return;
    }
    if (!authorization) {
      setText("decision-notes", "Decision " + id + ": sent without a token, so the gateway " +
        "shows this record to nobody on the public port (the admin listener has it).");
      return;
    }
    // The same Authorization header: the gateway shows a record only to whoever made the
    // request it describes.
    fetch("/gateway/decisions/" + id, { headers: { Authorization: authorization },
      credentials: "omit", cache: "no-store" })
      .then(function (r) {
        return r.json().then(function (body) {
          return { ok: r.ok, body: body };
        });
      })
      .then(function (answer) {
        if (!answer.ok) {
          setText("decision-notes", "Decision " + id + " is not available: " +
            (answer.body.detail || answer.body.reason || "unknown"));
          return;
        }
        renderDecision(answer.body);
      })
      .catch(function (e) {
        setText("decision-notes", "Could not read decision " + id + ": " + e.message);
      });
  }

  function renderDecision(record) {
    var list = $("decision-record");
    clear(list);
    (record.checks || []).forEach(function (check) {
      var item = el("li", check.outcome);
      item.setAttribute("data-check", check.check);
      item.setAttribute("data-outcome", check.outcome);
      item.appendChild(el("span", "outcome", check.outcome));
      item.appendChild(document.createTextNode(check.check +
        (check.detail ? " — " + check.detail : "")));
      list.appendChild(item);
    });
    var notes = ["Decision " + record.id + ": route " + (record.route || "none") +
      ", " + record.status + (record.reason ? " " + record.reason : "") +
      " in " + record.latency_ms + " ms."];
    if (record.caller) {
      notes.push("Caller " + record.caller.sub + " (" + record.caller.role + ").");
    }
    (record.upstream_calls || []).forEach(function (call) {
      notes.push("Upstream " + call.upstream + ": " + (call.status || call.outcome) + " in " +
        call.latency_ms + " ms.");
    });
    var failed = (record.checks || []).filter(function (c) {
      return c.outcome === "fail";
    })[0];
    if (failed) {
      notes.push("Refused at the " + failed.check + " check; the later ones did not run.");
    }
    setText("decision-notes", notes.join(" "));
  }

  // ---- logging in ---------------------------------------------------------------------------

  function postJson(path, body) {
    return fetch(path, { method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (text) {
          var json = null;
          try {
            json = JSON.parse(text);
          } catch (e) {
            json = null;
          }
          return { status: r.status, ok: r.ok, body: json };
        });
      });
  }

  function problemText(answer) {
    var b = answer.body || {};
    return answer.status + " " + (b.reason || b.error || "") +
      (b.detail || b.error_description ? ": " + (b.detail || b.error_description) : "");
  }

  function signedIn(tokens, via) {
    session.access = tokens.access_token;
    session.refresh = tokens.refresh_token || null;
    session.via = via;
    $("refresh").hidden = true;
    $("paste").value = "";
    var decoded = showToken(session.access, via);
    var who = decoded.payload ? decoded.payload.name + " (" + decoded.payload.role + ")" : "?";
    setText("login-status", "Signed in as " + who + ". The token is in this page's memory " +
      "only: reload the page and it is gone.", "ok");
  }

  function login(event) {
    if (event) {
      event.preventDefault();
    }
    var email = $("login-email").value.trim();
    var password = $("login-password").value;
    setText("login-status", "Logging in…", "");
    return postJson("/api/auth/login", { email: email, password: password })
      .then(function (answer) {
        if (answer.ok && answer.body && answer.body.access_token) {
          signedIn(answer.body, "login");
        } else {
          setText("login-status", "Login refused: " + problemText(answer), "error");
        }
      })
      .catch(function (e) {
        setText("login-status", "Login failed: " + e.message, "error");
      });
  }

  function register() {
    var body = {
      email: $("login-email").value.trim(),
      password: $("login-password").value,
      name: $("register-name").value.trim() || "New Student"
    };
    setText("login-status", "Registering…", "");
    postJson("/api/auth/register", body)
      .then(function (answer) {
        if (!answer.ok) {
          setText("login-status", "Registration refused: " + problemText(answer), "error");
          return null;
        }
        return login();
      })
      .catch(function (e) {
        setText("login-status", "Registration failed: " + e.message, "error");
      });
  }

  function refresh() {
    if (!session.refresh) {
      return;
    }
    var answer;
    if (session.via === "oauth") {
      answer = postForm("/api/oauth/token", { grant_type: "refresh_token",
        refresh_token: session.refresh, client_id: CLIENT_ID });
    } else {
      answer = postJson("/api/auth/refresh", { refresh_token: session.refresh });
    }
    answer.then(function (a) {
      if (a.ok && a.body && a.body.access_token) {
        signedIn(a.body, session.via);
        setText("login-status", "Refreshed: a new access token and a new refresh token " +
          "(the old refresh token is now spent; using it again revokes the family).", "ok");
      } else {
        setText("login-status", "Refresh refused: " + problemText(a), "error");
      }
    }).catch(function (e) {
      setText("login-status", "Refresh failed: " + e.message, "error");
    });
  }

  // ---- OAuth: authorization code + PKCE -----------------------------------------------------

  function randomB64url(size) {
    var bytes = new Uint8Array(size);
    window.crypto.getRandomValues(bytes);
    return bytesToB64url(bytes);
  }

  // S256: base64url(SHA-256(ASCII(verifier))). crypto.subtle where the browser offers it; the
  // page's own SHA-256 where it does not (plain http on a classroom LAN).
  function challengeFor(verifier) {
    var bytes = encoder.encode(verifier);
    var subtle = window.crypto && window.crypto.subtle;
    if (subtle && typeof subtle.digest === "function") {
      return subtle.digest("SHA-256", bytes).then(function (digest) {
        return { challenge: bytesToB64url(new Uint8Array(digest)), impl: "crypto.subtle" };
      });
    }
    return Promise.resolve({ challenge: bytesToB64url(window.consoleSha256(bytes)),
      impl: "the page's own SHA-256 (sha256.js: crypto.subtle is not available here)" });
  }

  function postForm(path, fields) {
    var body = new URLSearchParams(fields).toString();
    return fetch(path, { method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: body })
      .then(function (r) {
        return r.json().catch(function () {
          return null;
        }).then(function (json) {
          return { status: r.status, ok: r.ok, body: json };
        });
      });
  }

  function showStep(n) {
    $("oauth-steps").hidden = false;
    for (var i = 1; i <= n; i++) {
      $("oauth-step-" + i).hidden = false;
    }
  }

  function describeUrl(url) {
    var parsed = new URL(url);
    var lines = ["GET " + parsed.origin + parsed.pathname];
    parsed.searchParams.forEach(function (value, name) {
      lines.push("  " + name + "=" + value);
    });
    return lines.join("\n");
  }

  function startOAuth() {
    if (!window.crypto || typeof window.crypto.getRandomValues !== "function") {
      setText("login-status", "This browser offers no secure random numbers: no PKCE " +
        "verifier can be made.", "error");
      return;
    }
    setText("login-status", "Reading the authorization server's metadata…", "");
    fetch("/.well-known/oauth-authorization-server", { credentials: "omit" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("metadata answered " + r.status);
        }
        return r.json();
      })
      .then(function (metadata) {
        var publicUrl = String(metadata.issuer || "").replace(/\/$/, "");
        var redirectUri = publicUrl + "/console/callback";
        if (publicUrl !== window.location.origin) {
          setText("login-status", "This page is at " + window.location.origin + ", but the " +
            "gateway's public URL is " + publicUrl + ": the login would come back there, " +
            "where this page's memory is not. Open " + publicUrl + "/console to use OAuth.",
            "error");
          return null;
        }
        var verifier = randomB64url(32);
        var state = randomB64url(16);
        return challengeFor(verifier).then(function (made) {
          var url = new URL(metadata.authorization_endpoint);
          url.search = new URLSearchParams({
            response_type: "code",
            client_id: CLIENT_ID,
            redirect_uri: redirectUri,
            scope: OAUTH_SCOPE,
            state: state,
            code_challenge: made.challenge,
            code_challenge_method: "S256"
          }).toString();
          // Kept across the trip to the login form, and removed on return (see the top).
          sessionStorage.setItem(PKCE_KEY, JSON.stringify({
            verifier: verifier, state: state, redirect_uri: redirectUri,
            token_endpoint: metadata.token_endpoint, request: url.toString(), impl: made.impl
          }));
          setText("oauth-sha-impl", made.impl);
          setText("oauth-request", describeUrl(url.toString()) +
            "\n\ncode_verifier (kept in the page, not sent): " + verifier);
          $("oauth-go").setAttribute("data-url", url.toString());
          showStep(1);
          setText("login-status", "Step 1 ready: read the request, then go to the login form.",
            "");
        });
      })
      .catch(function (e) {
        setText("login-status", "OAuth could not start: " + e.message, "error");
      });
  }

  var pendingCode = null;

  // Back from the login form at /console/callback?code=…&state=… (or ?error=…).
  function oauthCallback() {
    if (window.location.pathname !== "/console/callback") {
      return;
    }
    var params = new URLSearchParams(window.location.search);
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
    } catch (e) {
      saved = null;
    }
    sessionStorage.removeItem(PKCE_KEY);
    // The code leaves the address bar (and the history) at once.
    window.history.replaceState(null, "", "/console");
    var shownCallback = "GET /console/callback\n" + Array.from(params.entries()).map(function (p) {
      return "  " + p[0] + "=" + p[1];
    }).join("\n");
    if (!saved) {
      setText("login-status", "Back from the login form, but this tab started no OAuth login " +
        "(or it was already finished): nothing to exchange.", "error");
      return;
    }
    setText("oauth-sha-impl", saved.impl);
    setText("oauth-request", describeUrl(saved.request) +
      "\n\ncode_verifier (kept in the page, not sent): " + saved.verifier);
    showStep(2);
    if (params.get("error")) {
      setText("oauth-redirect", shownCallback + "\n\nThe authorization server refused: " +
        params.get("error") + (params.get("error_description")
        ? " (" + params.get("error_description") + ")" : ""));
      $("oauth-exchange").disabled = true;
      return;
    }
    var stateMatches = params.get("state") === saved.state;
    setText("oauth-redirect", shownCallback + "\n\nstate is the one sent in step 1: " +
      (stateMatches ? "yes" : "NO — this redirect was not started by this tab; refused"));
    if (!stateMatches || !params.get("code")) {
      $("oauth-exchange").disabled = true;
      return;
    }
    pendingCode = { code: params.get("code"), saved: saved };
    setText("login-status", "Step 2: the code came back. Exchange it (step 3).", "");
  }

  function exchangeCode() {
    if (!pendingCode) {
      return;
    }
    var fields = {
      grant_type: "authorization_code",
      code: pendingCode.code,
      redirect_uri: pendingCode.saved.redirect_uri,
      client_id: CLIENT_ID,
      code_verifier: pendingCode.saved.verifier
    };
    var tokenPath = new URL(pendingCode.saved.token_endpoint).pathname;
    pendingCode = null;
    $("oauth-exchange").disabled = true;
    setText("oauth-token-request", "POST " + tokenPath + "\nContent-Type: " +
      "application/x-www-form-urlencoded\n\n" + Object.keys(fields).map(function (k) {
        return k + "=" + fields[k];
      }).join("\n&"));
    showStep(3);
    postForm(tokenPath, fields).then(function (answer) {
      showStep(4);
      if (!answer.ok || !answer.body || !answer.body.access_token) {
        setText("oauth-tokens", "Refused: " + problemText(answer));
        return;
      }
      var b = answer.body;
      setText("oauth-tokens", pretty({
        token_type: b.token_type,
        expires_in: b.expires_in,
        scope: b.scope,
        access_token: abbreviate(b.access_token) + " (decoded below)",
        refresh_token: b.refresh_token ? "(" + b.refresh_token.length +
          " characters, kept in this page's memory)" : null
      }));
      signedIn(b, "oauth");
    }).catch(function (e) {
      setText("oauth-tokens", "The token request failed: " + e.message);
    });
  }

  // ---- explore: the demo routes, the dashboard timeline, the latency switch -----------------

  function callRoute(path) {
    $("method").value = "GET";
    $("path").value = path;
    var token = session.access;
    return send("GET", path, token, null).then(function (answer) {
      if (path === "/api/dashboard" && answer) {
        drawTimeline(answer.body);
      }
      return answer;
    });
  }

  function drawTimeline(body) {
    var node = $("dashboard-timeline");
    clear(node);
    var meta = body && body._meta;
    if (!meta || !meta.calls) {
      node.appendChild(el("p", "error", "No timeline: the dashboard was refused (see its " +
        "answer above)."));
      return;
    }
    var keys = Object.keys(meta.calls);
    var total = Math.max(meta.latency_ms || 0, 0.001);
    keys.forEach(function (key) {
      var call = meta.calls[key];
      var start = Math.max(0, call.started_ms || 0);
      var end = Math.max(start, call.latency_ms || 0);
      var row = el("div", "row");
      row.setAttribute("data-call", key);
      row.appendChild(el("span", "label", key + " · " + call.upstream));
      var track = el("div", "track");
      var bar = el("div", "bar " + call.upstream + (call.reason ? " failed" : ""));
      bar.style.left = (100 * start / total).toFixed(2) + "%";
      bar.style.width = (100 * (end - start) / total).toFixed(2) + "%";
      bar.title = key + ": " + start.toFixed(1) + "–" + end.toFixed(1) + " ms, " +
        (call.status || call.reason);
      track.appendChild(bar);
      row.appendChild(track);
      node.appendChild(row);
      node.appendChild(el("div", "scale", key + ": started at " + start.toFixed(1) +
        " ms, ended at " + end.toFixed(1) + " ms (" + (call.status || call.reason) + ")"));
    });
    var overlap = keys.every(function (k) {
      return (meta.calls[k].started_ms || 0) < Math.min.apply(null, keys.map(function (j) {
        return meta.calls[j].latency_ms || 0;
      }));
    });
    node.appendChild(el("p", "hint", "Whole dashboard: " + meta.latency_ms + " ms" +
      (meta.partial ? " (partial: some sections are missing)" : "") + ". " + (overlap
        ? "Every call started before the first one ended: they ran at the same time."
        : "")));
  }

  function setLatency(ms) {
    if (!session.access) {
      setText("latency-status", "Log in as the admin first: the switch is ADMIN only.", "error");
      return;
    }
    if (!(ms >= 0 && ms <= 5000)) {
      setText("latency-status", "Choose 0 to 5000 ms.", "error");
      return;
    }
    var body = JSON.stringify({ latency_ms: ms, error_rate: 0 });
    var backends = ["users", "billing"];
    Promise.all(backends.map(function (name) {
      return fetch("/api/demo/toggles/" + name, { method: "PUT", credentials: "omit",
        headers: { Authorization: "Bearer " + session.access,
          "Content-Type": "application/json" }, body: body })
        .then(function (r) {
          return r.json().catch(function () {
            return {};
          }).then(function (json) {
            return name + ": " + r.status + (r.ok ? "" : " " + (json.reason || ""));
          });
        });
    })).then(function (results) {
      var ok = results.every(function (r) {
        return / 200$/.test(r);
      });
      setText("latency-status", (ok ? "Both backends now wait " + ms + " ms per request. "
        : "Not set (ADMIN only). ") + results.join(", "), ok ? "ok" : "error");
    }).catch(function (e) {
      setText("latency-status", "Could not set it: " + e.message, "error");
    });
  }

  // ---- watch: the live feed -----------------------------------------------------------------

  function watch() {
    if (typeof EventSource !== "function") {
      setText("watch-state", "(this browser has no EventSource)");
      return;
    }
    var source = new EventSource("/console/events");
    source.onopen = function () {
      setText("watch-state", "(live)", "ok");
    };
    source.onerror = function () {
      setText("watch-state", source.readyState === EventSource.CLOSED
        ? "(closed: too many open feeds, or the gateway is gone; reload to retry)"
        : "(reconnecting…)", "warn");
    };
    source.addEventListener("lagged", function (event) {
      addWatchRow(null, "missed " + event.data + " requests (too many at once)");
    });
    source.addEventListener("request", function (event) {
      try {
        addWatchRow(JSON.parse(event.data));
      } catch (e) {
        addWatchRow(null, "an event that is not JSON");
      }
    });
  }

  function addWatchRow(entry, note) {
    var list = $("watch-list");
    var row = el("tr");
    if (entry) {
      var when = new Date(entry.at_unix_ms).toLocaleTimeString();
      [when, entry.method + " " + entry.path, entry.route || "—", entry.status,
        entry.reason || "", entry.latency_ms].forEach(function (value, i) {
        row.appendChild(el("td", (i === 3 || i === 4) && entry.status >= 400 ? "bad" : "",
          value));
      });
    } else {
      var cell = el("td", "muted", note);
      cell.colSpan = 6;
      row.appendChild(cell);
    }
    list.insertBefore(row, list.firstChild);
    while (list.children.length > MAX_WATCH_ROWS) {
      list.removeChild(list.lastChild);
    }
  }

  // ---- wiring -------------------------------------------------------------------------------

  function guarded(handler) {
    return function (event) {
      try {
        return handler(event);
      } catch (e) {
        setText("edit-status", "Something went wrong: " + e.message, "error");
        return undefined;
      }
    };
  }

  function start() {
    $("noscript").hidden = true;
    $("login-form").addEventListener("submit", guarded(login));
    $("register").addEventListener("click", guarded(register));
    $("as-student").addEventListener("click", function () {
      $("login-email").value = "student@example.edu";
      $("login-password").value = "student123";
    });
    $("as-admin").addEventListener("click", function () {
      $("login-email").value = "admin@example.edu";
      $("login-password").value = "admin123";
    });
    $("refresh").addEventListener("click", guarded(refresh));
    $("oauth-start").addEventListener("click", guarded(startOAuth));
    $("oauth-go").addEventListener("click", function () {
      var url = this.getAttribute("data-url");
      if (url) {
        window.location.assign(url);
      }
    });
    $("oauth-exchange").addEventListener("click", guarded(exchangeCode));
    $("paste").addEventListener("input", guarded(function () {
      var text = $("paste").value;
      if (text.trim() === "") {
        setText("paste-status", "");
        return;
      }
      var decoded = decode(text);
      if (decoded.parts && text.length <= MAX_TOKEN_CHARS) {
        showToken(text, "paste");
      } else {
        setText("paste-status", decoded.errors.join(" "), "error");
      }
    }));
    ["header-editor", "payload-editor", "signature-editor"].forEach(function (id) {
      $(id).addEventListener("input", guarded(updateEdited));
    });
    $("make-admin").addEventListener("click", guarded(function () {
      editJson("payload-editor", function (payload) {
        payload.role = "ADMIN";
      });
    }));
    $("alg-none").addEventListener("click", guarded(function () {
      editJson("header-editor", function (header) {
        header.alg = "none";
      });
      $("signature-editor").value = "";
      updateEdited();
    }));
    $("other-kid").addEventListener("click", guarded(function () {
      editJson("header-editor", function (header) {
        header.kid = "someone-elses-key";
      });
    }));
    $("flip-signature").addEventListener("click", guarded(function () {
      var s = $("signature-editor").value;
      // The first character: every one of its 6 bits is signature (the last may be padding).
      $("signature-editor").value = s ? (s.charAt(0) === "A" ? "B" : "A") + s.slice(1) : "AAAA";
      updateEdited();
    }));
    $("reset-edits").addEventListener("click", guarded(function () {
      if (session.decoded && session.decoded.parts) {
        loadEditors(session.decoded);
      }
    }));
    $("request-form").addEventListener("submit", guarded(function (event) {
      event.preventDefault();
      var path;
      try {
        path = checkedPath($("path").value);
      } catch (e) {
        setText("response-status", "not sent", "status bad");
        setText("response-detail", e.message, "error");
        return;
      }
      var token = session.access;
      if ($("use-edited").checked) {
        var edited = editedToken();
        token = edited.token || session.access;
      }
      var method = $("method").value;
      var body = $("body").value.trim();
      send(method, path, token, body === "" ? null : body);
    }));
    Array.prototype.forEach.call(document.querySelectorAll("button.call"), function (button) {
      button.addEventListener("click", guarded(function () {
        callRoute(button.getAttribute("data-path"));
      }));
    });
    $("latency-form").addEventListener("submit", guarded(function (event) {
      event.preventDefault();
      setLatency(Number($("latency-ms").value));
    }));
    $("latency-off").addEventListener("click", guarded(function () {
      setLatency(0);
    }));
    window.setInterval(tick, 1000);
    oauthCallback();
    watch();
  }

  start();
})();
