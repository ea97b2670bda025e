//! The semantic checks: what a TOML parser cannot know.
//!
//! Each check pushes a [`Diagnostic`] naming the key, the problem and the fix, located through the
//! [`Locator`] so the message carries the line. The same function runs on a file (with positions)
//! and on a configuration built in code (without), so `gateway check-config` and start-up can
//! never disagree.

use super::{
    AuthMode, Config,
    diagnostic::{Diagnostic, did_you_mean, suggestion},
    load::{KeyPath, Locator},
};
use crate::{
    forwarded::Cidr,
    normalize::normalize,
    routing::MethodSet,
    upstream::{MAX_TARGETS, Target},
};
use secrecy::ExposeSecret;
use shared::{Role, VerificationKey};
use std::collections::HashMap;

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
const MIN_HS256_SECRET_BYTES: usize = 32;

struct Report<'a, 'b> {
    at: &'a Locator<'b>,
    list: Vec<Diagnostic>,
}

impl Report<'_, '_> {
    fn push(&mut self, key: &KeyPath, message: impl Into<String>, fix: impl Into<String>) {
        self.list.push(Diagnostic {
            location: self.at.locate(key),
            key: key.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    fn line_of(&self, key: &KeyPath) -> String {
        self.at
            .locate(key)
            .map_or_else(String::new, |(line, _)| format!(" (line {line})"))
    }
}

/// Every semantic problem of `config`.
pub fn validate(config: &Config, at: &Locator<'_>) -> Vec<Diagnostic> {
    let mut report = Report {
        at,
        list: Vec::new(),
    };
    check_server(config, &mut report);
    check_auth(config, &mut report);
    check_trusted_proxies(config, &mut report);
    check_upstreams(config, &mut report);
    check_routes(config, &mut report);
    report
        .list
        .extend(super::rate_limits::validate(config, report.at));
    check_aggregates(config, &mut report);
    report.list
}

fn check_server(config: &Config, report: &mut Report<'_, '_>) {
    let server = KeyPath::key("server");
    if config.server.max_uri_bytes < 16 {
        report.push(
            &server.field("max_uri_bytes"),
            "the URI limit is too small to be useful",
            "use at least a few hundred bytes; 8192 is usual",
        );
    }
    if config.server.max_body_bytes == 0 {
        report.push(
            &server.field("max_body_bytes"),
            "a zero body limit refuses every request with a body",
            "set a positive size in bytes, e.g. 1048576",
        );
    }
}

fn check_auth(config: &Config, report: &mut Report<'_, '_>) {
    let auth = KeyPath::key("auth");
    let a = &config.auth;
    if a.issuer.trim().is_empty() {
        report.push(
            &auth.field("issuer"),
            "the issuer is empty",
            "set it to the auth-service's public URL",
        );
    }
    if a.audience.trim().is_empty() {
        report.push(
            &auth.field("audience"),
            "the audience is empty",
            "set it to the API's audience, e.g. \"ecommerce-api\"",
        );
    }
    if let Some(secret) = &a.hs256_secret {
        let secret = secret.expose_secret();
        if secret.len() < MIN_HS256_SECRET_BYTES {
            report.push(
                &auth.field("hs256_secret"),
                format!(
                    "the HS256 secret is {} bytes; HS256 needs at least {MIN_HS256_SECRET_BYTES} (RFC 7518 §3.2)",
                    secret.len()
                ),
                "use a random secret of 32 bytes or more, or switch to RS256/EdDSA public keys",
            );
        }
        if secret == shared::demo::HS256_SECRET && !config.demo {
            report.push(
                &auth.field("hs256_secret"),
                "this is the public demo secret, which anyone can sign tokens with",
                "use your own secret, or set `demo = true` at the top of the file for the demo",
            );
        }
    }
    let mut kids: HashMap<&str, usize> = HashMap::new();
    for (i, key) in a.public_keys.iter().enumerate() {
        let path = auth.field("public_keys").index(i);
        if let Some(first) = kids.insert(&key.kid, i) {
            report.push(
                &path.field("kid"),
                format!(
                    "the kid `{}` is used twice{}",
                    key.kid,
                    report.line_of(&auth.field("public_keys").index(first))
                ),
                "give each key its own kid",
            );
        }
        check_public_key(&key.alg, &key.pem_file, &path, report);
    }
    if a.hs256_secret.is_none() && a.public_keys.is_empty() && a.jwks_url.is_none() {
        report.push(
            &auth,
            "no verification key is configured, so no token could ever be accepted",
            "set `hs256_secret`, add `[[auth.public_keys]]`, or set `jwks_url`",
        );
    }
    if let Some(url) = &a.jwks_url {
        let ok = url
            .parse::<http::Uri>()
            .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some());
        if !ok {
            report.push(
                &auth.field("jwks_url"),
                format!("`{url}` is not an http(s) URL"),
                "use e.g. \"http://127.0.0.1:8081/.well-known/jwks.json\"",
            );
        }
    }
}

/// Checks that the algorithm fits the key in the file — the classic mismatch is an Ed25519 key
/// declared `RS256`, or a PEM key declared `HS256` (algorithm confusion).
fn check_public_key(
    alg: &str,
    file: &std::path::Path,
    path: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    let alg_path = path.field("alg");
    let parse = |alg: &str, pem: &[u8]| match alg {
        "RS256" => VerificationKey::rsa_pem(None, pem).is_ok(),
        "EdDSA" => VerificationKey::ed25519_pem(None, pem).is_ok(),
        _ => false,
    };
    match alg {
        "RS256" | "EdDSA" => {}
        "HS256" | "HS384" | "HS512" => {
            report.push(
                &alg_path,
                format!("{alg} is a shared-secret algorithm and cannot use a PEM public key"),
                "put an HS256 secret in `auth.hs256_secret`, or declare the key RS256 or EdDSA",
            );
            return;
        }
        other => {
            report.push(
                &alg_path,
                format!("the algorithm `{other}` is not supported for public keys"),
                format!(
                    "use \"RS256\" or \"EdDSA\"{}",
                    suggestion(did_you_mean(other, ["RS256", "EdDSA"]))
                ),
            );
            return;
        }
    }
    let pem = match std::fs::read(file) {
        Ok(pem) => pem,
        Err(e) => {
            report.push(
                &path.field("pem_file"),
                format!("cannot read {}: {e}", file.display()),
                "point `pem_file` at the PEM public key (paths are relative to the working directory)",
            );
            return;
        }
    };
    if String::from_utf8_lossy(&pem).contains("PRIVATE KEY") {
        report.push(
            &path.field("pem_file"),
            "this file holds a private key; a verifier must only hold the public key",
            "extract it with `openssl pkey -in key.pem -pubout -out key.pub.pem`",
        );
        return;
    }
    if parse(alg, &pem) {
        return;
    }
    let other = if alg == "RS256" { "EdDSA" } else { "RS256" };
    if parse(other, &pem) {
        report.push(
            &alg_path,
            format!("alg = \"{alg}\" does not fit the key in the file, which is an {other} key"),
            format!("set alg = \"{other}\", or point `pem_file` at an {alg} public key"),
        );
    } else {
        report.push(
            &path.field("pem_file"),
            format!("{} is not a PEM public key for {alg}", file.display()),
            "use a `-----BEGIN PUBLIC KEY-----` file",
        );
    }
}

fn check_trusted_proxies(config: &Config, report: &mut Report<'_, '_>) {
    for (i, cidr) in config.trusted_proxies.iter().enumerate() {
        if let Err(e) = Cidr::parse(cidr) {
            report.push(
                &KeyPath::key("trusted_proxies").index(i),
                format!("`{cidr}` is not an IP address or CIDR: {e}"),
                "write e.g. \"10.0.0.0/8\", \"192.168.1.10\" or \"fd00::/8\"",
            );
        }
    }
}

fn check_upstreams(config: &Config, report: &mut Report<'_, '_>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, upstream) in config.upstreams.iter().enumerate() {
        let path = KeyPath::key("upstreams").index(i);
        if upstream.name.trim().is_empty() {
            report.push(
                &path.field("name"),
                "the name is empty",
                "name the upstream",
            );
        } else if let Some(first) = names.insert(&upstream.name, i) {
            report.push(
                &path.field("name"),
                format!(
                    "duplicate upstream name `{}`: already defined{}",
                    upstream.name,
                    report.line_of(&KeyPath::key("upstreams").index(first))
                ),
                "rename one of them, or merge their targets into one entry",
            );
        }
        if upstream.targets.is_empty() {
            report.push(
                &path.field("targets"),
                "the upstream has no target",
                "add at least one URL, e.g. targets = [\"http://127.0.0.1:8082\"]",
            );
        }
        for (t, target) in upstream.targets.iter().enumerate() {
            if let Err(e) = Target::parse(target) {
                report.push(
                    &path.field("targets").index(t),
                    format!("`{target}` is not a usable upstream URL: {e}"),
                    "write `http://host:port` with no path, query or credentials",
                );
            }
        }
        for (key, value) in [
            ("connect_timeout_ms", upstream.connect_timeout_ms),
            ("request_timeout_ms", upstream.request_timeout_ms),
        ] {
            if value == 0 {
                report.push(
                    &path.field(key),
                    "a zero timeout fails every request",
                    "set a positive number of milliseconds",
                );
            }
        }
        check_resilience(upstream, &path, report);
    }
}

/// Targets, health checks, breaker and retries of one upstream.
fn check_resilience(upstream: &super::UpstreamConfig, path: &KeyPath, report: &mut Report<'_, '_>) {
    if upstream.targets.len() > MAX_TARGETS {
        report.push(
            &path.field("targets"),
            format!(
                "{} targets; an upstream may have at most {MAX_TARGETS}",
                upstream.targets.len()
            ),
            "split the targets over several upstreams, or put a load balancer in front",
        );
    }
    if let Some(check) = &upstream.health_check {
        let at = path.field("health_check");
        check_path_key(&check.path, &at.field("path"), report);
        for (key, value) in [
            ("interval_ms", check.interval_ms),
            ("timeout_ms", check.timeout_ms),
        ] {
            if value == 0 {
                report.push(
                    &at.field(key),
                    "must be a positive number of milliseconds",
                    "e.g. interval_ms = 2000, timeout_ms = 500",
                );
            }
        }
    }
    if upstream.breaker.consecutive_failures > 0 && upstream.breaker.open_ms == 0 {
        report.push(
            &path.field("breaker").field("open_ms"),
            "a circuit open for 0 ms never refuses anything",
            "set open_ms to a few seconds (e.g. 10000), or consecutive_failures = 0 to turn the breaker off",
        );
    }
    for (i, status) in upstream.retry.statuses.iter().enumerate() {
        if *status != 429 && !(500..=599).contains(status) {
            report.push(
                &path.field("retry").field("statuses").index(i),
                format!(
                    "retrying on {status} would repeat a request the upstream refused for good"
                ),
                "list only 429 or 5xx statuses, e.g. statuses = [503]",
            );
        }
    }
}

fn check_routes(config: &Config, report: &mut Report<'_, '_>) {
    let upstream_names: Vec<&str> = config.upstreams.iter().map(|u| u.name.as_str()).collect();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut methods = Vec::with_capacity(config.routes.len());
    for (i, route) in config.routes.iter().enumerate() {
        let path = KeyPath::key("routes").index(i);
        if route.name.trim().is_empty() {
            report.push(&path.field("name"), "the name is empty", "name the route");
        } else if let Some(first) = names.insert(&route.name, i) {
            report.push(
                &path.field("name"),
                format!(
                    "duplicate route name `{}`: already used{}",
                    route.name,
                    report.line_of(&KeyPath::key("routes").index(first))
                ),
                "give each route its own name (the access log shows it)",
            );
        }
        check_path_key(&route.prefix, &path.field("prefix"), report);
        if let Some(rewrite) = &route.rewrite_prefix {
            check_path_key(rewrite, &path.field("rewrite_prefix"), report);
            if route.strip_prefix {
                report.push(
                    &path.field("rewrite_prefix"),
                    "both `strip_prefix` and `rewrite_prefix` are set",
                    "keep one: `strip_prefix = true` is the same as rewrite_prefix = \"/\"",
                );
            }
        }
        if !upstream_names.contains(&route.upstream.as_str()) {
            let known = if upstream_names.is_empty() {
                "no [[upstreams]] are defined yet".to_owned()
            } else {
                format!("defined upstreams: {}", upstream_names.join(", "))
            };
            report.push(
                &path.field("upstream"),
                format!(
                    "unknown upstream `{}`{}",
                    route.upstream,
                    suggestion(did_you_mean(
                        &route.upstream,
                        upstream_names.iter().copied()
                    ))
                ),
                format!("name one of the [[upstreams]] ({known})"),
            );
        }
        let mut set = MethodSet::EMPTY;
        for (m, method) in route.methods.iter().enumerate() {
            match MethodSet::parse_one(method) {
                Some(bits) => set = set.union(bits),
                None => report.push(
                    &path.field("methods").index(m),
                    format!(
                        "`{method}` is not an HTTP method{}",
                        suggestion(did_you_mean(method, MethodSet::NAMES))
                    ),
                    "use upper-case names such as \"GET\" or \"POST\"",
                ),
            }
        }
        if route.methods.is_empty() {
            set = MethodSet::ANY;
        }
        methods.push(set);
        check_roles(&route.roles, route.auth, "route", &path, report);
        // Shadowing: an earlier route with the same prefix and the same kind of match takes every
        // request for the methods both answer, so this one would never see them.
        for (j, earlier) in config.routes[..i].iter().enumerate() {
            let overlap = methods[j].intersect(set);
            if earlier.prefix == route.prefix && earlier.exact == route.exact && !overlap.is_empty()
            {
                report.push(
                    &path,
                    format!(
                        "route `{}` is shadowed for {} by route `{}`{}, which has the same prefix `{}` and comes first",
                        route.name,
                        overlap.describe(),
                        earlier.name,
                        report.line_of(&KeyPath::key("routes").index(j)),
                        route.prefix
                    ),
                    "give the routes disjoint `methods`, make one `exact = true`, or remove one",
                );
                break;
            }
        }
    }
}

/// A prefix (or rewrite) must be a canonical absolute path, or it could never match a
/// normalised request path.
fn check_path_key(value: &str, path: &KeyPath, report: &mut Report<'_, '_>) {
    match normalize(value) {
        Ok(canonical) if canonical == value => {}
        Ok(canonical) => report.push(
            path,
            format!("`{value}` is not in canonical form, so no request path would ever match it"),
            format!("write \"{canonical}\""),
        ),
        Err(e) => report.push(
            path,
            format!("`{value}` is not a valid path: {}", e.detail()),
            "write an absolute path such as \"/api/users\"",
        ),
    }
}

/// The `roles` of a route or an aggregate: known role names, and only where a token is required.
fn check_roles(
    roles: &[String],
    auth: AuthMode,
    what: &str,
    path: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    for (r, role) in roles.iter().enumerate() {
        if Role::parse(role).is_none() {
            report.push(
                &path.field("roles").index(r),
                format!(
                    "unknown role `{role}`{}",
                    suggestion(did_you_mean(role, ["STUDENT", "ADMIN", "SERVICE"]))
                ),
                "use STUDENT, ADMIN or SERVICE",
            );
        }
    }
    if !roles.is_empty() && auth != AuthMode::Required {
        report.push(
            &path.field("roles"),
            format!(
                "roles can only be checked on a verified token, but this {what} is not `auth = \"required\"`"
            ),
            "set auth = \"required\", or remove `roles`",
        );
    }
}

/// Placeholders an aggregate call's path may use.
const PLACEHOLDERS: [&str; 1] = ["{sub}"];

fn check_aggregates(config: &Config, report: &mut Report<'_, '_>) {
    let upstream_names: Vec<&str> = config.upstreams.iter().map(|u| u.name.as_str()).collect();
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut paths: HashMap<&str, usize> = HashMap::new();
    for (i, aggregate) in config.aggregates.iter().enumerate() {
        let path = KeyPath::key("aggregates").index(i);
        if aggregate.name.trim().is_empty() {
            report.push(
                &path.field("name"),
                "the name is empty",
                "name the aggregate",
            );
        } else if let Some(first) = names.insert(&aggregate.name, i) {
            report.push(
                &path.field("name"),
                format!(
                    "duplicate aggregate name `{}`: already used{}",
                    aggregate.name,
                    report.line_of(&KeyPath::key("aggregates").index(first))
                ),
                "give each aggregate its own name",
            );
        } else if let Some(route) = config.routes.iter().position(|r| r.name == aggregate.name) {
            // Access-log lines and rate-limit attachments name routes and aggregates alike.
            report.push(
                &path.field("name"),
                format!(
                    "the name `{}` is already a route's{}",
                    aggregate.name,
                    report.line_of(&KeyPath::key("routes").index(route))
                ),
                "give routes and aggregates different names",
            );
        }
        check_path_key(&aggregate.path, &path.field("path"), report);
        if let Some(first) = paths.insert(&aggregate.path, i) {
            report.push(
                &path.field("path"),
                format!(
                    "the path `{}` is already an aggregate{}",
                    aggregate.path,
                    report.line_of(&KeyPath::key("aggregates").index(first))
                ),
                "give each aggregate its own path",
            );
        }
        if let Some((r, route)) = config
            .routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.prefix == aggregate.path)
        {
            report.push(
                &path.field("path"),
                format!(
                    "the path `{}` is also the prefix of route `{}`{}: the aggregate would take its requests",
                    aggregate.path,
                    route.name,
                    report.line_of(&KeyPath::key("routes").index(r))
                ),
                "choose another path for the aggregate, or remove the route",
            );
        }
        check_roles(&aggregate.roles, aggregate.auth, "aggregate", &path, report);
        if aggregate.timeout_ms == 0 {
            report.push(
                &path.field("timeout_ms"),
                "a zero budget fails every call",
                "set the aggregate's budget in milliseconds, e.g. 3000",
            );
        }
        if aggregate.max_call_bytes == 0 {
            report.push(
                &path.field("max_call_bytes"),
                "a zero limit refuses every call's response",
                "set a size in bytes, e.g. 262144",
            );
        }
        if aggregate.calls.is_empty() {
            report.push(
                &path,
                "the aggregate has no call",
                "add at least one [[aggregates.calls]] with key, upstream and path",
            );
        }
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for (c, call) in aggregate.calls.iter().enumerate() {
            let at = path.field("calls").index(c);
            if call.key == "_meta" {
                report.push(
                    &at.field("key"),
                    "`_meta` is reserved for the aggregate's own report",
                    "choose another key",
                );
            } else if call.key.trim().is_empty() {
                report.push(
                    &at.field("key"),
                    "the key is empty",
                    "name the response section, e.g. \"profile\"",
                );
            } else if let Some(first) = keys.insert(&call.key, c) {
                report.push(
                    &at.field("key"),
                    format!(
                        "duplicate call key `{}`{}: two calls would write the same section",
                        call.key,
                        report.line_of(&path.field("calls").index(first))
                    ),
                    "give each call its own key",
                );
            }
            if !upstream_names.contains(&call.upstream.as_str()) {
                report.push(
                    &at.field("upstream"),
                    format!(
                        "unknown upstream `{}`{}",
                        call.upstream,
                        suggestion(did_you_mean(&call.upstream, upstream_names.iter().copied()))
                    ),
                    format!(
                        "name one of the [[upstreams]] (defined upstreams: {})",
                        upstream_names.join(", ")
                    ),
                );
            }
            check_call_path(&call.path, aggregate.auth, &at.field("path"), report);
            match call.timeout_ms {
                Some(0) => report.push(
                    &at.field("timeout_ms"),
                    "a zero timeout fails the call every time",
                    "set a positive number of milliseconds, or leave it out to use the aggregate's budget",
                ),
                Some(ms) if ms > aggregate.timeout_ms => report.push(
                    &at.field("timeout_ms"),
                    format!(
                        "the call's timeout ({ms} ms) is longer than the aggregate's budget ({} ms), so it could never be reached",
                        aggregate.timeout_ms
                    ),
                    format!("set it to at most {} ms, or raise the aggregate's timeout_ms", aggregate.timeout_ms),
                ),
                _ => {}
            }
        }
    }
}

/// A call's path: absolute, canonical once its placeholders are filled, and `{sub}` only where
/// a verified caller exists.
fn check_call_path(value: &str, auth: AuthMode, path: &KeyPath, report: &mut Report<'_, '_>) {
    let mut rest = value;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map(|c| open + c + 1);
        let Some(close) = close else {
            report.push(
                path,
                format!("`{value}` has an unclosed `{{`"),
                "write placeholders as {sub}",
            );
            return;
        };
        let placeholder = &rest[open..close];
        if !PLACEHOLDERS.contains(&placeholder) {
            report.push(
                path,
                format!("unknown placeholder `{placeholder}` in `{value}`"),
                "the only placeholder is {sub} (the caller's id)",
            );
            return;
        }
        rest = &rest[close..];
    }
    if value.contains("{sub}") && auth != AuthMode::Required {
        report.push(
            path,
            format!("`{value}` uses {{sub}}, but an anonymous caller has no id"),
            "set the aggregate's auth = \"required\"",
        );
    }
    check_path_key(&value.replace("{sub}", "x"), path, report);
}
