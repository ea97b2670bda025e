#!/usr/bin/env python3
"""Check the auth-service's RFC 8414 metadata with Authlib's own validator.

A Rust test cannot run Authlib, so this script does, against a running auth-service (or the
gateway in front of it):

    python3 -m venv /tmp/authlib-venv && /tmp/authlib-venv/bin/pip install 'authlib==1.*'
    AUTH__DEMO=true cargo run -p auth-service &          # listens on 127.0.0.1:8081
    /tmp/authlib-venv/bin/python auth-service/tests/check_metadata.py http://127.0.0.1:8081

It fetches `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`,
runs `AuthorizationServerMetadata(document).validate()` on each, checks that both are the same
document and that it claims nothing the server does not do (no authorization endpoint, no ID
tokens), and exits 1 on the first failure. Standard library plus Authlib only.
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
    # Only what is true: no authorization endpoint yet, no OpenID Connect.
    for absent in ("authorization_endpoint", "id_token_signing_alg_values_supported",
                   "subject_types_supported", "userinfo_endpoint"):
        if absent in rfc8414:
            raise SystemExit(f"the metadata claims `{absent}`, which the server does not serve")
    if "code" in rfc8414["response_types_supported"]:
        raise SystemExit("the metadata claims the `code` response type without an authorize endpoint")
    print(f"RFC 8414 metadata at {base}: valid for Authlib's AuthorizationServerMetadata")
    return 0


if __name__ == "__main__":
    sys.exit(main())
