//! `[[upstreams]]`: unique names, usable target URLs (at most [`MAX_TARGETS`]), positive
//! timeouts, and health checks, breakers and retries that can do their job.

use super::{
    common::{NameForm, NameRule, Names, check_canonical_path},
    report::Report,
};
use crate::{
    config::{Config, UpstreamConfig, location::KeyPath},
    upstream::{
        target::{MAX_TARGETS, Target},
        tls,
    },
};

/// Checks every upstream.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    let mut names = Names::new(NameRule {
        what: "upstream",
        form: NameForm::NotBlank {
            fix: "name the upstream",
        },
        first_was: "already defined",
        duplicate_fix: "rename one of them, or merge their targets into one entry",
    });
    for (i, upstream) in config.upstreams.iter().enumerate() {
        let path = KeyPath::key("upstreams").index(i);
        names.check(&upstream.name, &path, report);
        if upstream.targets.is_empty() {
            report.push(
                &path.field("targets"),
                "the upstream has no target",
                "add at least one URL, e.g. targets = [\"http://127.0.0.1:8082\"]",
            );
        }
        let mut https = Vec::new();
        for (t, target) in upstream.targets.iter().enumerate() {
            match Target::parse(target) {
                Ok(parsed) => {
                    if parsed.https {
                        https.push((t, parsed));
                    }
                }
                Err(e) => report.push(
                    &path.field("targets").index(t),
                    format!("`{target}` is not a usable upstream URL: {e}"),
                    "write `http://host:port` or `https://host:port` with no path, query or \
                     credentials",
                ),
            }
        }
        check_tls(upstream, &https, &path, report);
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

/// `[upstreams.tls]`: its files load, and it is there for an `https://` target.
fn check_tls(
    upstream: &UpstreamConfig,
    https: &[(usize, Target)],
    path: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    if https.is_empty() {
        if upstream.tls.is_some() {
            report.push(
                &path.field("tls"),
                "`tls` is set, but every target is `http://`",
                "write the targets as `https://host:port`, or remove `[upstreams.tls]`",
            );
        }
        return;
    }
    match tls::client_config(upstream.tls.as_ref()) {
        Err(e) => report.push(
            &path.field("tls"),
            e,
            "point `ca_file` at the PEM certificate of the CA that signs the targets' \
             certificates, and `client_cert_file`/`client_key_file` at a matching pair; see \
             docs/tls.md",
        ),
        Ok(client) => {
            for (t, target) in https {
                if let Err(e) = tls::connect_to(&client, target.authority.host()) {
                    report.push(
                        &path.field("targets").index(*t),
                        e,
                        "name the target by the host its certificate carries",
                    );
                }
            }
        }
    }
}

/// Targets, health checks, breaker and retries of one upstream.
fn check_resilience(upstream: &UpstreamConfig, path: &KeyPath, report: &mut Report<'_, '_>) {
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
        check_canonical_path(&check.path, &at.field("path"), report);
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
