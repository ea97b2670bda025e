//! The checks more than one section needs: a name that is present and not repeated, a path in
//! canonical form, roles that exist and can be checked, a reference to a defined upstream.
//!
//! Each lives here once, so an upstream, a route and a rate-limit policy are held to the same
//! rule and a fix to the rule reaches all of them.

use super::report::Report;
use crate::{
    config::{
        AuthMode, UpstreamConfig,
        diagnostic::{did_you_mean, suggestion},
        location::KeyPath,
    },
    normalize::normalize,
};
use shared::Role;
use std::collections::HashMap;

/// How the names of one section may be written, and how their messages read.
pub struct NameRule {
    /// The entries named, in messages: `upstream`, `route`, `rate limit`.
    pub what: &'static str,
    /// Which spellings are accepted.
    pub form: NameForm,
    /// Said of the first of two entries with one name: `already defined`, `already used`.
    pub first_was: &'static str,
    /// The fix for a repeated name.
    pub duplicate_fix: &'static str,
}

/// Which spellings a name may have.
pub enum NameForm {
    /// Any text that is not blank; `fix` is what to do about a blank one.
    NotBlank {
        /// e.g. "name the route".
        fix: &'static str,
    },
    /// Letters, digits, `-`, `_` and `.` only: the name travels further than the access log.
    Token,
}

/// The names of one namespace met so far, each with the entry that first used it.
pub struct Names<'c> {
    rule: NameRule,
    first: HashMap<&'c str, KeyPath>,
}

impl<'c> Names<'c> {
    /// An empty namespace whose names follow `rule`.
    pub fn new(rule: NameRule) -> Self {
        Names {
            rule,
            first: HashMap::new(),
        }
    }

    /// Checks the name of the entry at `entry` (`routes[3]`): reports a badly written or
    /// repeated name, and says whether the name was well written and new.
    pub fn check(&mut self, name: &'c str, entry: &KeyPath, report: &mut Report<'_, '_>) -> bool {
        let at = entry.field("name");
        match self.rule.form {
            NameForm::NotBlank { fix } if name.trim().is_empty() => {
                report.push(&at, "the name is empty", fix);
                return false;
            }
            NameForm::Token if !is_token(name) => {
                report.push(
                    &at,
                    format!("`{name}` is not a usable policy name"),
                    "use letters, digits, `-`, `_` and `.` only",
                );
                return false;
            }
            _ => {}
        }
        if let Some(first) = self.first.insert(name, entry.clone()) {
            let NameRule {
                what,
                first_was,
                duplicate_fix,
                ..
            } = self.rule;
            report.push(
                &at,
                format!(
                    "duplicate {what} name `{name}`: {first_was}{}",
                    report.line_of(&first)
                ),
                duplicate_fix,
            );
            return false;
        }
        true
    }
}

/// At least one letter, digit, `-`, `_` or `.`, and nothing else. A policy name goes into a
/// structured-field string in the `RateLimit` headers and into Redis keys: this alphabet is safe
/// in both.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A prefix, rewrite or probe path must be a canonical absolute path, or it could never match
/// (or reach) a normalised request path.
pub fn check_canonical_path(value: &str, path: &KeyPath, report: &mut Report<'_, '_>) {
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
pub fn check_roles(
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

/// A route's or an aggregate's `scopes`: each one an RFC 6749 §3.3 `scope-token` (printable
/// ASCII except space, `"` and `\`), and only where a token is verified.
pub fn check_scopes(
    scopes: &[String],
    auth: AuthMode,
    what: &str,
    path: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    for (i, scope) in scopes.iter().enumerate() {
        let bad = scope
            .bytes()
            .find(|&b| !(b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)));
        if scope.is_empty() {
            report.push(
                &path.field("scopes").index(i),
                "a scope is empty",
                "remove the empty string, or write the scope, e.g. \"billing:read\"",
            );
        } else if let Some(b) = bad {
            let shown = if b == b' ' {
                "a space".to_owned()
            } else if b.is_ascii_graphic() {
                format!("`{}`", char::from(b))
            } else {
                format!("the byte 0x{b:02X}")
            };
            report.push(
                &path.field("scopes").index(i),
                format!(
                    "the scope `{}` contains {shown}, which RFC 6749 §3.3 does not allow in a scope",
                    scope.escape_debug()
                ),
                "one scope per list item (`scopes = [\"a\", \"b\"]`, not \"a b\"), made of printable \
                 ASCII other than space, `\"` and `\\`, e.g. \"billing:read\"",
            );
        }
    }
    if !scopes.is_empty() && auth != AuthMode::Required {
        report.push(
            &path.field("scopes"),
            format!(
                "scopes can only be checked on a verified token, but this {what} is not `auth = \"required\"`"
            ),
            "set auth = \"required\", or remove `scopes`",
        );
    }
}

/// The names of the `[[upstreams]]` entries, for the checks of what refers to them.
pub fn upstream_names(upstreams: &[UpstreamConfig]) -> Vec<&str> {
    upstreams.iter().map(|u| u.name.as_str()).collect()
}

/// A reference to an upstream by name (a route's or a call's `upstream`) must name one of
/// `known`; `fix` says which exist, in the words of the section that refers.
pub fn check_upstream_ref(
    name: &str,
    known: &[&str],
    path: &KeyPath,
    fix: impl FnOnce() -> String,
    report: &mut Report<'_, '_>,
) {
    if !known.contains(&name) {
        report.push(
            path,
            format!(
                "unknown upstream `{name}`{}",
                suggestion(did_you_mean(name, known.iter().copied()))
            ),
            fix(),
        );
    }
}
