//! Token attacks, through `GET /api/users/me` (a signed-in route) of the demo gateway (HS256
//! with the demo secret) and of an RS256 gateway (a PEM public key, `kid = "key-a"`).

use crate::helpers::{Echo, KEYS, TestGateway, claims, now, parts, test_config};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, crypto};
use serde_json::{Value, json};
use shared::{Role, demo};

/// How a forged token is signed.
enum Sig {
    /// No signature at all: `header.payload.`
    Empty,
    /// HS256 with these key bytes.
    Hs256(&'static [u8]),
    /// HS256 with the bytes of a PEM file under `tests/fixtures/keys` (the public key, as an
    /// algorithm-confusion attacker would use it).
    Hs256File(&'static str),
    /// RS256 with a private key file under `tests/fixtures/keys`.
    Rs256File(&'static str),
    /// This string as the signature.
    Literal(String),
}

/// A token from a JSON header, JSON claims and a signature.
fn forge(header: &Value, claims: &Value, sig: Sig) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let read = |file: &str| std::fs::read(format!("{KEYS}/{file}")).unwrap();
    let signature = match sig {
        Sig::Empty => String::new(),
        Sig::Literal(s) => s,
        Sig::Hs256(key) => crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(key).unwrap(),
            Algorithm::HS256,
        )
        .unwrap(),
        Sig::Hs256File(file) => crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_secret(&read(file)).unwrap(),
            Algorithm::HS256,
        )
        .unwrap(),
        Sig::Rs256File(file) => crypto::sign(
            signing_input.as_bytes(),
            &EncodingKey::from_rsa_pem(&read(file)).unwrap(),
            Algorithm::RS256,
        )
        .unwrap(),
    };
    format!("{signing_input}.{signature}")
}

/// The claims of a valid student token, with `edit` applied (JSON, so types can be wrong).
fn student(edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = serde_json::to_value(claims(Role::Student)).unwrap();
    edit(&mut value);
    value
}

const SECRET: &[u8] = demo::HS256_SECRET.as_bytes();

/// One row: what is sent in `Authorization`, and the 401 reason expected (`None`: 200, and the
/// backend got the request).
struct Case {
    name: &'static str,
    stands_for: &'static str,
    authorization: String,
    reason: Option<&'static str>,
}

/// Sends every row to `gw` and checks the answer and what the backend saw.
async fn run(gw: &TestGateway, cases: Vec<Case>) {
    for case in cases {
        let before = gw.echo.seen().len();
        let response = gw
            .oneshot(
                gw.get("/api/users/me")
                    .header("authorization", &case.authorization),
            )
            .await;
        let (status, headers, body) = parts(response).await;
        let reached = gw.echo.seen().len() - before;
        let label = format!("{} ({})", case.name, case.stands_for);
        match case.reason {
            None => {
                assert_eq!(status, 200, "{label}: {body}");
                assert_eq!(reached, 1, "{label}");
            }
            Some(reason) => {
                assert_eq!(status, 401, "{label}: {body}");
                assert_eq!(body["reason"], reason, "{label}: {body}");
                assert_eq!(
                    headers["content-type"], "application/problem+json",
                    "{label}"
                );
                let challenge = headers["www-authenticate"].to_str().unwrap();
                assert!(challenge.starts_with("Bearer"), "{label}: {challenge}");
                assert_eq!(reached, 0, "{label}: the backend was reached");
                // The problem never quotes the credential back.
                let credential = case.authorization.trim_start_matches("Bearer ");
                assert!(
                    !body.to_string().contains(credential),
                    "{label}: the token was echoed"
                );
            }
        }
    }
}

fn bearer(token: String) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn hs256_gateway_refuses_every_forgery_with_its_reason() {
    let gw = TestGateway::spawn().await;
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let admin = student(|c| c["role"] = json!("ADMIN"));
    let genuine = forge(&hs, &student(|_| {}), Sig::Hs256(SECRET));
    let (genuine_input, genuine_sig) = genuine.rsplit_once('.').unwrap();
    // An HS256 signature is 32 bytes: 43 base64url characters (the truncation case relies on it).
    assert_eq!(genuine_sig.len(), 43);
    let mut cases = vec![Case {
        name: "the genuine token (control row)",
        stands_for: "RFC 7519 §7.2",
        authorization: bearer(genuine.clone()),
        reason: None,
    }];
    for alg in ["none", "None", "NONE", "nOnE"] {
        cases.push(Case {
            name: "alg none, no signature",
            stands_for: "RFC 8725 §2.1, §3.1 (alg none in any casing)",
            authorization: bearer(forge(
                &json!({"alg": alg, "typ": "JWT"}),
                &admin,
                Sig::Empty,
            )),
            reason: Some("algorithm_not_allowed"),
        });
    }
    cases.extend([
        Case {
            name: "alg none with the genuine signature kept",
            stands_for: "RFC 8725 §3.1",
            authorization: bearer(forge(
                &json!({"alg": "none"}),
                &student(|_| {}),
                Sig::Literal(genuine_sig.to_owned()),
            )),
            reason: Some("algorithm_not_allowed"),
        },
        Case {
            name: "HS512 instead of the configured HS256",
            stands_for: "RFC 8725 §3.1 (one algorithm per key)",
            authorization: bearer(forge(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &student(|_| {}),
                Sig::Hs256(SECRET),
            )),
            reason: Some("algorithm_not_allowed"),
        },
        Case {
            name: "signature stripped",
            stands_for: "OWASP JWT cheat sheet: signature not checked",
            authorization: bearer(format!("{genuine_input}.")),
            reason: Some("bad_signature"),
        },
        Case {
            // 41 base64url characters (a length of 1 mod 4) cannot be decoded at all: not even
            // a signature. One character less (42) would decode to 31 bytes whenever the last
            // character's low bits happen to be zero — a bad signature one time in sixteen, a
            // malformed token otherwise — so the case cuts two to always mean one thing.
            name: "signature truncated by two characters",
            stands_for: "RFC 7515 §2 (base64url), §5.2",
            authorization: bearer(genuine[..genuine.len() - 2].to_owned()),
            reason: Some("token_malformed"),
        },
        Case {
            name: "signature truncated to its first half",
            stands_for: "RFC 7515 §5.2 (a MAC is compared whole)",
            authorization: bearer(format!(
                "{genuine_input}.{}",
                URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(genuine_sig).unwrap()[..16])
            )),
            reason: Some("bad_signature"),
        },
        Case {
            name: "payload edited to ADMIN, signature kept",
            stands_for: "the lecture's tamper example; RFC 7515 §5.2",
            authorization: bearer(format!(
                "{}.{}.{genuine_sig}",
                URL_SAFE_NO_PAD.encode(hs.to_string()),
                URL_SAFE_NO_PAD.encode(admin.to_string())
            )),
            reason: Some("bad_signature"),
        },
        Case {
            name: "signed with a guessed weak key",
            stands_for: "RFC 8725 §3.5 (key entropy)",
            authorization: bearer(forge(&hs, &admin, Sig::Hs256(b"secret"))),
            reason: Some("bad_signature"),
        },
        Case {
            name: "kid path traversal to a predictable file",
            stands_for: "RFC 8725 §3.10; OWASP JWT cheat sheet (kid injection)",
            authorization: bearer(forge(
                &json!({"alg": "HS256", "kid": "../../../../dev/null"}),
                &admin,
                // /dev/null is empty; an empty HMAC key is refused by the signing library, so a
                // one-byte key stands in: the `kid` is refused before any key is tried.
                Sig::Hs256(b"\0"),
            )),
            reason: Some("unknown_kid"),
        },
        Case {
            name: "kid SQL injection",
            stands_for: "RFC 8725 §3.10; OWASP JWT cheat sheet (kid injection)",
            authorization: bearer(forge(
                &json!({"alg": "HS256", "kid": "x' UNION SELECT 'attacker-key"}),
                &admin,
                Sig::Hs256(b"attacker-key"),
            )),
            reason: Some("unknown_kid"),
        },
        Case {
            name: "jku pointing at the attacker's key set",
            stands_for: "RFC 8725 §3.10 (jku must not choose the key)",
            authorization: bearer(forge(
                &json!({"alg": "HS256", "jku": "https://attacker.example/jwks.json"}),
                &admin,
                Sig::Hs256(b"attacker-secret-attacker-secret!"),
            )),
            reason: Some("bad_signature"),
        },
        Case {
            name: "x5u pointing at the attacker's certificate",
            stands_for: "RFC 8725 §3.10",
            authorization: bearer(forge(
                &json!({"alg": "HS256", "x5u": "https://attacker.example/cert.pem"}),
                &admin,
                Sig::Hs256(b"attacker-secret-attacker-secret!"),
            )),
            reason: Some("bad_signature"),
        },
        Case {
            name: "embedded jwk (the attacker's own key)",
            stands_for: "CVE-2018-0114 (node-jose trusted an embedded jwk)",
            authorization: bearer(forge(
                &json!({"alg": "HS256", "jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode("attacker-secret-attacker-secret!")}}),
                &admin,
                Sig::Hs256(b"attacker-secret-attacker-secret!"),
            )),
            reason: Some("bad_signature"),
        },
        Case {
            name: "exp as a string",
            stands_for: "CVE-2026-25537 (string exp skipped the expiry check)",
            authorization: bearer(forge(
                &hs,
                &student(|c| c["exp"] = json!("9999999999")),
                Sig::Hs256(SECRET),
            )),
            reason: Some("invalid_claims"),
        },
        Case {
            name: "role of an unknown kind",
            stands_for: "RFC 7519 §4 (claims typed as the application expects)",
            authorization: bearer(forge(
                &hs,
                &student(|c| c["role"] = json!(["ADMIN"])),
                Sig::Hs256(SECRET),
            )),
            reason: Some("invalid_claims"),
        },
        Case {
            name: "no exp at all",
            stands_for: "RFC 7519 §4.1.4; jsonwebtoken requires only what it is told",
            authorization: bearer(forge(
                &hs,
                &student(|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
                Sig::Hs256(SECRET),
            )),
            reason: Some("invalid_claims"),
        },
        Case {
            name: "a token of another audience",
            stands_for: "RFC 8725 §2.8, §3.9 (cross-JWT confusion)",
            authorization: bearer(forge(
                &hs,
                &student(|c| c["aud"] = json!("another-api")),
                Sig::Hs256(SECRET),
            )),
            reason: Some("audience_mismatch"),
        },
        Case {
            name: "a token of another issuer",
            stands_for: "RFC 8725 §3.8",
            authorization: bearer(forge(
                &hs,
                &student(|c| c["iss"] = json!("https://attacker.example")),
                Sig::Hs256(SECRET),
            )),
            reason: Some("issuer_mismatch"),
        },
        Case {
            name: "expired an hour ago",
            stands_for: "RFC 7519 §4.1.4 (exp)",
            authorization: bearer(forge(
                &hs,
                &student(|c| {
                    c["exp"] = json!(now() - 3600);
                    c["iat"] = json!(now() - 4000);
                }),
                Sig::Hs256(SECRET),
            )),
            reason: Some("token_expired"),
        },
        Case {
            name: "issued an hour in the future",
            stands_for: "RFC 7519 §4.1.6 (iat); RFC 8725 §3.10 (validate every claim)",
            authorization: bearer(forge(
                &hs,
                &student(|c| {
                    c["iat"] = json!(now() + 3600);
                    c["exp"] = json!(now() + 3900);
                }),
                Sig::Hs256(SECRET),
            )),
            reason: Some("token_issued_in_the_future"),
        },
        Case {
            name: "valid for ten years",
            stands_for: "OWASP JWT cheat sheet (token lifetime); a leaked key outliving rotation",
            authorization: bearer(forge(
                &hs,
                &student(|c| c["exp"] = json!(now() + 10 * 365 * 86_400)),
                Sig::Hs256(SECRET),
            )),
            reason: Some("token_lifetime_too_long"),
        },
        Case {
            name: "not a JWT at all",
            stands_for: "RFC 7519 §7.2 step 1 (at least one period)",
            authorization: bearer("not-a-jwt".to_owned()),
            reason: Some("token_malformed"),
        },
        Case {
            name: "three parts that are not base64url JSON",
            stands_for: "RFC 7519 §7.2 steps 2-4",
            authorization: bearer("a.b.c".to_owned()),
            reason: Some("token_malformed"),
        },
        Case {
            name: "a refresh token presented as an access token",
            stands_for: "RFC 8725 §2.8, §3.12 (one kind of token for another)",
            authorization: bearer(
                "rT0k3n-rT0k3n-rT0k3n-rT0k3n-rT0k3n-rT0k3n-rT0".to_owned(),
            ),
            reason: Some("token_malformed"),
        },
        Case {
            name: "two tokens in one header",
            stands_for: "RFC 6750 §2.1 (one b64token)",
            authorization: format!("Bearer {genuine} {genuine}"),
            reason: Some("token_malformed"),
        },
        Case {
            name: "two tokens, comma-joined",
            stands_for: "RFC 9110 §5.3 (a singleton field is not a list)",
            authorization: format!("Bearer {genuine},{genuine}"),
            reason: Some("token_malformed"),
        },
        Case {
            name: "JSON serialization instead of compact",
            stands_for: "RFC 7515 §7.2 (only compact is accepted)",
            authorization: bearer(
                json!({"payload": "e30", "signatures": [{"protected": "e30", "signature": "AA"}]})
                    .to_string()
                    .replace(' ', ""),
            ),
            reason: Some("token_malformed"),
        },
    ]);
    run(&gw, cases).await;
}

#[tokio::test]
async fn rs256_gateway_refuses_algorithm_confusion() {
    let echo = Echo::spawn().await;
    let mut config = test_config(echo.addr).await;
    config.auth.hs256_secret = None;
    config.auth.public_keys = vec![shared::key_source::PublicKeyConfig {
        kid: "key-a".into(),
        alg: "RS256".into(),
        pem_file: format!("{KEYS}/rsa-2048.pub.pem").into(),
    }];
    let gw = TestGateway::spawn_with(echo, config).await;
    let admin = student(|c| c["role"] = json!("ADMIN"));
    let cases = vec![
        Case {
            name: "the genuine RS256 token (control row)",
            stands_for: "RFC 7518 §3.3",
            authorization: bearer(forge(
                &json!({"alg": "RS256", "kid": "key-a"}),
                &student(|_| {}),
                Sig::Rs256File("rsa-2048.pem"),
            )),
            reason: None,
        },
        Case {
            name: "HS256 keyed with the RSA public key",
            stands_for: "RFC 8725 §2.1; CVE-2015-9235, CVE-2016-10555",
            authorization: bearer(forge(
                &json!({"alg": "HS256", "kid": "key-a"}),
                &admin,
                Sig::Hs256File("rsa-2048.pub.pem"),
            )),
            reason: Some("algorithm_not_allowed"),
        },
        Case {
            name: "HS256 with the public key and no kid",
            stands_for: "RFC 8725 §2.1",
            authorization: bearer(forge(
                &json!({"alg": "HS256"}),
                &admin,
                Sig::Hs256File("rsa-2048.pub.pem"),
            )),
            reason: Some("unknown_kid"),
        },
        Case {
            name: "signed by another RSA key claiming key-a",
            stands_for: "RFC 7515 §5.2",
            authorization: bearer(forge(
                &json!({"alg": "RS256", "kid": "key-a"}),
                &admin,
                Sig::Rs256File("rsa-2048-b.pem"),
            )),
            reason: Some("bad_signature"),
        },
        Case {
            name: "alg none with key-a's kid",
            stands_for: "RFC 8725 §3.1",
            authorization: bearer(forge(
                &json!({"alg": "none", "kid": "key-a"}),
                &admin,
                Sig::Empty,
            )),
            reason: Some("algorithm_not_allowed"),
        },
    ];
    run(&gw, cases).await;
}

#[tokio::test]
async fn a_cached_token_does_not_vouch_for_its_look_alikes() {
    // A good token is verified once and then answered from the token cache, which is looked up
    // before the token's characters are checked. Only the exact bytes may hit: the same token
    // with anything added is checked and refused as before (RFC 6750 §2.1: one b64token).
    let gw = TestGateway::spawn().await;
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let genuine = forge(&hs, &student(|_| {}), Sig::Hs256(SECRET));
    let mut tampered = genuine.clone().into_bytes();
    let at = tampered.len() - 5;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let row = |name, authorization: String, reason| Case {
        name,
        stands_for: "the token cache keys on the exact bytes",
        authorization,
        reason,
    };
    run(
        &gw,
        vec![
            row("the genuine token, verified", bearer(genuine.clone()), None),
            row("the genuine token, cached", bearer(genuine.clone()), None),
            row(
                "cached token plus a comma",
                bearer(format!("{genuine},x")),
                Some("token_malformed"),
            ),
            row(
                "cached token plus a space",
                bearer(format!("{genuine} x")),
                Some("token_malformed"),
            ),
            row(
                "cached token plus a character",
                bearer(format!("{genuine}!")),
                Some("token_malformed"),
            ),
            row(
                "one signature character changed",
                bearer(tampered),
                Some("bad_signature"),
            ),
        ],
    )
    .await;
}
