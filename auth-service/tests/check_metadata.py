#!/usr/bin/env python3
"""Check the auth-service's RFC 8414 metadata with Authlib's own validator.

A Rust test cannot run Authlib, so this script does, against a running auth-service (or the
gateway in front of it):

    python3 -m venv /tmp/authlib-venv && /tmp/authlib-venv/bin/pip install 'authlib==1.*'
    AUTH__DEMO=true cargo run -p auth-service &          # listens on 127.0.0.1:8081
    /tmp/authlib-venv/bin/python auth-service/tests/check_metadata.py http://127.0.0.1:8081

It fetches `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`,
runs `AuthorizationServerMetadata(document).validate()` on each, checks that both are the same
document, that it lists the authorization endpoint as served (`code`, PKCE `S256` only) and
claims nothing the server does not do (no ID tokens), and exits 1 on the first failure. Standard library plus Authlib only.
"""

import json
import sys
import urllib.request

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata


def fetch(base: str, path: str) -> dict:
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=10) as response:
        if response.status != 200:
            raise SystemExit(f"{path}: HTTP {response.status}")
        return json.load(response)


def main() -> int:
    base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8081"
    rfc8414 = fetch(base, "/.well-known/oauth-authorization-server")
    AuthorizationServerMetadata(rfc8414).validate()
    openid = fetch(base, "/.well-known/openid-configuration")
    if openid != rfc8414:
        raise SystemExit("openid-configuration differs from oauth-authorization-server")
    # Only what is true: the authorization code flow with PKCE S256, no OpenID Connect.
    for absent in ("id_token_signing_alg_values_supported", "subject_types_supported",
                   "userinfo_endpoint"):
        if absent in rfc8414:
            raise SystemExit(f"the metadata claims `{absent}`, which the server does not serve")
    if not rfc8414.get("authorization_endpoint", "").endswith("/api/oauth/authorize"):
        raise SystemExit("the metadata does not name the authorization endpoint")
    if rfc8414["response_types_supported"] != ["code"]:
        raise SystemExit("response_types_supported must be exactly [\"code\"]")
    if rfc8414.get("code_challenge_methods_supported") != ["S256"]:
        raise SystemExit("code_challenge_methods_supported must be exactly [\"S256\"]")
    if "authorization_code" not in rfc8414["grant_types_supported"]:
        raise SystemExit("grant_types_supported lacks authorization_code")
    print(f"RFC 8414 metadata at {base}: valid for Authlib's AuthorizationServerMetadata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
