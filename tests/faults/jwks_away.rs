//! The JWKS endpoint goes away under load: the gateway keeps verifying with the keys it cached,
//! never accepts a token it cannot verify, and picks up a rotated key when the auth-service is
//! back — without a restart.
//!
//! The production set-up (`docs/tokens.md`): the auth-service signs RS256 and publishes its
//! public keys at `/.well-known/jwks.json`; the gateway and both backends hold no secret, only
//! that URL (`[auth] jwks_url`), and cache what they fetched (`shared::key_source`). The run
//! stops the auth-service — logins and the JWKS go with it — and sends, open loop:
//!
//! - tokens signed with the cached key (`kid` A), each one new, so every one is really verified
//!   (not served from the gateway's cache of recently verified tokens), and the student's token
//!   from a login before the outage: all answered 200;
//! - attacks that must stay 401 whatever the key cache holds: a `kid` nobody published yet (B,
//!   signed with B's real private key), the lecture's tampered payload, B's signature under A's
//!   `kid`, `alg: none`, and HS256 keyed with A's *public* key (algorithm confusion).
//!
//! The unknown `kid` makes the gateway try to fetch the JWKS again — at most once per
//! `jwks_min_refetch_secs`, so the failed fetches stay few however many such tokens arrive. The
//! auth-service then comes back on the same port with a rotated key list, A then B (new tokens
//! are signed with B): a login's B token is accepted within a few refetch periods, and tokens
//! signed with B stop being refused.

use crate::support::*;
use auth_service::config::{KeyAlgorithm, SigningConfig, SigningKeyConfig};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use shared::{Role, VerifierConfig, service_kit::settings};
use std::{
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};
use tokio::{sync::oneshot, task::JoinHandle};

const KID_A: &str = "fault-a";
const KID_B: &str = "fault-b";
/// Requests a second.
const RATE: f64 = 60.0;
/// How long the auth-service stays away.
const OUTAGE: Duration = Duration::from_secs(3);
/// The verifiers' `jwks_min_refetch_secs` and `jwks_refresh_secs` in this run.
const REFETCH_SECS: u64 = 1;

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys")).join(file)
}

fn rs256(kid: &str, file: &str) -> SigningKeyConfig {
    SigningKeyConfig {
        kid: Some(kid.to_owned()),
        alg: KeyAlgorithm::RS256,
        secret: None,
        private_key_file: Some(fixture(file)),
    }
}

/// A service running on a task until [`Running::stop`].
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops it (in-flight requests drain) and waits until its port is closed.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

/// A demo-mode auth-service on `listen`, signing RS256 with `keys` (the last one signs).
async fn auth_service(
    listen: SocketAddr,
    issuer: &str,
    keys: Vec<SigningKeyConfig>,
) -> (SocketAddr, Running) {
    let mut config = auth_service::Config::demo();
    config.server.listen = listen;
    config.issuer = issuer.to_owned();
    config.signing = SigningConfig { keys };
    let app = auth_service::build(config).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (addr, Running { stop, task })
}

/// What every verifier in the run trusts: the issuer, and the auth-service's JWKS — no secret.
fn jwks_verifier(issuer: &str, auth: SocketAddr) -> VerifierConfig {
    VerifierConfig {
        issuer: issuer.to_owned(),
        hs256_secret: None,
        jwks_url: Some(format!("http://{auth}/.well-known/jwks.json")),
        jwks_min_refetch_secs: REFETCH_SECS,
        jwks_refresh_secs: REFETCH_SECS,
        ..VerifierConfig::demo()
    }
}

/// An access token for a new user `sub`, signed by the RS256 key in `pem` under `kid`.
fn mint(issuer: &str, sub: &str, kid: &str, pem: &str) -> String {
    let mut claims = test_support::tokens::claims_for(sub, "Fault Run", Role::Student, None);
    claims.iss = issuer.to_owned();
    let header = Header {
        kid: Some(kid.to_owned()),
        ..Header::new(Algorithm::RS256)
    };
    let key = EncodingKey::from_rsa_pem(&std::fs::read(fixture(pem)).unwrap()).unwrap();
    encode(&header, &claims, &key).unwrap()
}

/// `token` with its header replaced and its signature set to `signature`.
fn with_header(token: &str, header: &serde_json::Value, signature: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    format!("{header}.{payload}.{signature}")
}

/// Signs the student's claims again with HS256 keyed by A's *public* key: the algorithm
/// confusion attack (a verifier that let the token choose the algorithm would accept it).
fn algorithm_confusion(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let header = Header {
        kid: Some(KID_A.to_owned()),
        ..Header::new(Algorithm::HS256)
    };
    let public = std::fs::read(fixture("rsa-2048.pub.pem")).unwrap();
    encode(
        &header,
        &claims,
        &EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap()
}

/// The `kid` in a token's header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "fault run: .ci/run runs it"]
async fn jwks_away_keeps_cached_keys_refuses_what_it_cannot_verify_and_picks_up_a_rotation() {
    // The gateway's port first: its address is the issuer every service agrees on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = settings::public_url_for(listener.local_addr().unwrap());
    let loopback_any = SocketAddr::from(([127, 0, 0, 1], 0));
    let (auth, auth_running) =
        auth_service(loopback_any, &issuer, vec![rs256(KID_A, "rsa-2048.pem")]).await;

    let mut users_config = user_service::Config::demo();
    users_config.server.listen = loopback_any;
    users_config.auth = Some(jwks_verifier(&issuer, auth));
    let users = user_service::build(users_config).await.unwrap();
    let mut billing_config = billing_service::Config::demo();
    billing_config.server.listen = loopback_any;
    billing_config.auth = Some(jwks_verifier(&issuer, auth));
    let billing = billing_service::build(billing_config).await.unwrap();

    let mut config = gateway::Config::demo();
    config.server.listen = listener.local_addr().unwrap();
    config.auth = jwks_verifier(&issuer, auth);
    for upstream in &mut config.upstreams {
        let target = match upstream.name.as_str() {
            "auth" => auth,
            "users" => users.local_addr(),
            _ => billing.local_addr(),
        };
        upstream.targets = vec![format!("http://{target}")];
    }
    let gw = gateway::build_on(config, listener).await.unwrap();
    let gateway = format!("http://{}", gw.local_addr());
    let admin_metrics = format!("http://{}/metrics", gw.admin_addr());
    let never = std::future::pending::<()>;
    tokio::spawn(users.run_until(never()));
    tokio::spawn(billing.run_until(never()));
    tokio::spawn(gw.run_until(never()));

    let client = client();
    let student =
        access_token(&login(&client, &gateway, "student@example.edu", "student123").await);
    assert_eq!(kid_of(&student), KID_A);
    let tampered = test_support::tokens::tamper_role_to_admin(&student);
    let alg_none = with_header(
        &student,
        &serde_json::json!({"alg": "none", "typ": "JWT", "kid": KID_A}),
        "",
    );
    let confusion = algorithm_confusion(&student);

    let load = {
        let (client, url, issuer) = (
            client.clone(),
            // Billing answers any verified caller (an empty summary for a user it has no invoices
            // for), so the minted users need no profile: what this run measures is verification.
            format!("{gateway}/api/billing/summary"),
            issuer.clone(),
        );
        Load::start(
            RATE,
            Box::new(move |n| {
                let user = format!("fault-user-{}", n % 40);
                let (kind, token) = match n % 10 {
                    3 => ("login-token", student.clone()),
                    4 => ("unknown-kid", mint(&issuer, &user, KID_B, "rsa-2048-b.pem")),
                    5 => ("tampered", tampered.clone()),
                    6 => ("wrong-key", mint(&issuer, &user, KID_A, "rsa-2048-b.pem")),
                    7 => ("alg-none", alg_none.clone()),
                    8 => ("alg-confusion", confusion.clone()),
                    _ => ("cached-kid", mint(&issuer, &user, KID_A, "rsa-2048.pem")),
                };
                (kind, client.get(&url).bearer_auth(token))
            }),
        )
    };
    let fetches = |outcome: &'static str| {
        let (client, admin_metrics) = (client.clone(), admin_metrics.clone());
        async move {
            metric(
                &client,
                &admin_metrics,
                "gateway_jwks_fetches_total",
                &[("outcome", outcome)],
            )
            .await
        }
    };
    tokio::time::sleep(Duration::from_secs(2)).await;

    let failed_before = fetches("failed").await;
    let stopped = Instant::now();
    auth_running.stop().await;
    tokio::time::sleep(OUTAGE).await;
    let failed_during = fetches("failed").await - failed_before;
    let restarted = Instant::now();
    // Back on the same port, rotated: A still verifies, B signs from now on.
    let (_, _auth_back) = auth_service(
        auth,
        &issuer,
        vec![rs256(KID_A, "rsa-2048.pem"), rs256(KID_B, "rsa-2048-b.pem")],
    )
    .await;
    let rotated =
        access_token(&login(&client, &gateway, "student@example.edu", "student123").await);
    assert_eq!(
        kid_of(&rotated),
        KID_B,
        "the restarted auth-service signs with B"
    );
    let picked_up = loop {
        let outcome = send(
            "rotated",
            Instant::now(),
            client
                .get(format!("{gateway}/api/users/me"))
                .bearer_auth(&rotated),
        )
        .await;
        if outcome.is(200, None) {
            break Instant::now();
        }
        assert!(
            outcome.is(401, Some("unknown_kid")),
            "the rotated token got {:?}",
            outcome.answer
        );
        assert!(
            restarted.elapsed() < Duration::from_secs(10 * REFETCH_SECS),
            "the rotated key was not picked up within 10 refetch periods"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let picked_up_after = picked_up - restarted;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outcomes = load.stop().await;
    let keys = metric(&client, &admin_metrics, "gateway_jwks_keys", &[]).await;

    let expected = |o: &Outcome| match o.kind {
        "cached-kid" | "login-token" => o.is(200, None),
        "tampered" | "wrong-key" => o.is(401, Some("bad_signature")),
        "alg-none" | "alg-confusion" => o.is(401, None),
        _ if o.due + o.latency < restarted => o.is(401, Some("unknown_kid")),
        _ if o.due >= picked_up => o.is(200, None),
        _ => o.is(401, Some("unknown_kid")) || o.is(200, None),
    };
    let tally = Tally::of(&outcomes, expected);
    let away = |o: &&Outcome| o.due >= stopped && o.due + o.latency < restarted;
    let count = |kind: &str, f: &dyn Fn(&Outcome) -> bool| {
        outcomes
            .iter()
            .filter(away)
            .filter(|o| o.kind == kind && f(o))
            .count()
    };
    let accepted_attacks = outcomes
        .iter()
        .filter(|o| o.kind != "cached-kid" && o.kind != "login-token")
        // B's tokens are attacks until B is published (the auth-service's restart).
        .filter(|o| o.kind != "unknown-kid" || o.due + o.latency < restarted)
        .filter(|o| o.status().is_some_and(|s| s < 400))
        .count();
    let unknown_during = count("unknown-kid", &|_| true);
    report(
        "jwks_away",
        &format!(
            "{} | away {}ms: cached-kid 200={}/{} login-token 200={}/{} attacks accepted={accepted_attacks} \
             unknown-kid 401={unknown_during} jwks_fetches_failed={failed_during} | rotated key \
             accepted {}ms after the auth-service came back, keys now {keys} \
             (jwks_min_refetch_secs={REFETCH_SECS}, jwks_refresh_secs={REFETCH_SECS})",
            tally.figures(),
            (restarted - stopped).as_millis(),
            count("cached-kid", &|o| o.is(200, None)),
            count("cached-kid", &|_| true),
            count("login-token", &|o| o.is(200, None)),
            count("login-token", &|_| true),
            picked_up_after.as_millis(),
        ),
    );

    assert_eq!(
        tally.unexpected,
        0,
        "unexpected answers:\n  {}",
        unexpected_sample(&outcomes, expected)
    );
    assert_eq!(accepted_attacks, 0);
    assert!(
        count("cached-kid", &|o| o.is(200, None)) > 0,
        "no valid token during the outage"
    );
    assert!(unknown_during > 0, "no unknown kid during the outage");
    // Unknown kids do not turn into a flood of fetches: the periodic refresh and at most one
    // refetch per `jwks_min_refetch_secs`, each failing while the endpoint is away.
    let bound = 2.0 * (OUTAGE.as_secs_f64() / REFETCH_SECS as f64 + 1.0);
    assert!(
        failed_during <= bound,
        "{failed_during} JWKS fetches for {unknown_during} unknown kids (bound {bound})"
    );
    assert!(failed_during >= 1.0, "the outage was never noticed");
    assert_eq!(keys, 2.0, "A and B in use after the rotation");
}
