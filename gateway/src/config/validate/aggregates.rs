//! `[[aggregates]]`: unique names (not a route's either) and paths (not a route's prefix), a
//! budget and a size limit above zero, and calls with distinct keys, defined upstreams, usable
//! paths and timeouts within the budget.

use super::{
    common::{
        NameForm, NameRule, Names, check_canonical_path, check_roles, check_scopes,
        check_upstream_ref, upstream_names,
    },
    report::Report,
};
use crate::config::{AggregateConfig, AuthMode, Config, location::KeyPath};
use std::collections::HashMap;

/// Placeholders an aggregate call's path may use.
const PLACEHOLDERS: [&str; 1] = ["{sub}"];

/// Checks every aggregate and its calls.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    let mut names = Names::new(NameRule {
        what: "aggregate",
        form: NameForm::NotBlank {
            fix: "name the aggregate",
        },
        first_was: "already used",
        duplicate_fix: "give each aggregate its own name",
    });
    let mut paths: HashMap<&str, usize> = HashMap::new();
    for (i, aggregate) in config.aggregates.iter().enumerate() {
        let path = KeyPath::key("aggregates").index(i);
        // Access-log lines and rate-limit attachments name routes and aggregates alike, so an
        // aggregate's (well-formed, new) name must not be a route's either.
        if names.check(&aggregate.name, &path, report)
            && let Some(route) = config.routes.iter().position(|r| r.name == aggregate.name)
        {
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
        check_canonical_path(&aggregate.path, &path.field("path"), report);
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
        check_scopes(
            &aggregate.scopes,
            aggregate.auth,
            "aggregate",
            &path,
            report,
        );
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
        check_calls(config, aggregate, &path, report);
    }
}

/// The calls of one aggregate: each fills its own section from a defined upstream, in time.
fn check_calls(
    config: &Config,
    aggregate: &AggregateConfig,
    path: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    let upstreams = upstream_names(&config.upstreams);
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
        let known = || {
            format!(
                "name one of the [[upstreams]] (defined upstreams: {})",
                upstreams.join(", ")
            )
        };
        check_upstream_ref(
            &call.upstream,
            &upstreams,
            &at.field("upstream"),
            known,
            report,
        );
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
                format!(
                    "set it to at most {} ms, or raise the aggregate's timeout_ms",
                    aggregate.timeout_ms
                ),
            ),
            _ => {}
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
    check_canonical_path(&value.replace("{sub}", "x"), path, report);
}
