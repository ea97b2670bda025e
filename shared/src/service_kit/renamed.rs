//! Configuration keys that were renamed, and the message that points from the old to the new.
//!
//! Every service spells its common keys the same way (`[server] listen`, `[server]
//! max_body_bytes`, `[server.limits] …`, `[database] url`). A file or an environment written for
//! an older version would otherwise fail with serde's bare "unknown field"; instead the old key
//! is refused with its replacement and the environment variable to use, e.g.
//!
//! ```text
//! `database_url` was renamed: write `[database] url = …` (env AUTH__DATABASE__URL)
//! ```
//!
//! An old key is refused, never quietly accepted: two spellings of one setting would leave a
//! reader unsure which one wins.

use crate::config::ConfigError;
use serde_json::Value;

/// One renamed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renamed {
    /// The old path, e.g. `["server", "max_connections"]`.
    pub old: &'static [&'static str],
    /// The new section, e.g. `"server.limits"`.
    pub section: &'static str,
    /// The new key in that section.
    pub key: &'static str,
}

/// Every old spelling, with its replacement (the table in `docs/configuration.md`).
#[rustfmt::skip] // one rename a line, aligned: it is read as a table
pub const RENAMED: &[Renamed] = &[
    Renamed::to(&["listen"],                           "server",        "listen"),
    Renamed::to(&["body_limit_bytes"],                 "server",        "max_body_bytes"),
    Renamed::to(&["max_body_bytes"],                   "server",        "max_body_bytes"),
    Renamed::to(&["database_url"],                     "database",      "url"),
    Renamed::to(&["server", "header_read_timeout_ms"], "server.limits", "header_read_timeout_ms"),
    Renamed::to(&["server", "max_header_bytes"],       "server.limits", "max_header_bytes"),
    Renamed::to(&["server", "max_connections"],        "server.limits", "max_connections"),
    Renamed::to(&["server", "drain_timeout_ms"],       "server.limits", "drain_timeout_ms"),
];

impl Renamed {
    /// `old` now lives at `key` in `[section]`.
    pub const fn to(
        old: &'static [&'static str],
        section: &'static str,
        key: &'static str,
    ) -> Renamed {
        Renamed { old, section, key }
    }

    /// "`database_url` was renamed: write `[database] url = …` (env AUTH__DATABASE__URL)".
    pub fn message(&self, env_prefix: &str) -> String {
        let env: Vec<String> = self
            .section
            .split('.')
            .chain([self.key])
            .map(str::to_ascii_uppercase)
            .collect();
        format!(
            "`{}` was renamed: write `[{}] {} = …` (env {env_prefix}{})",
            self.old.join("."),
            self.section,
            self.key,
            env.join("__")
        )
    }
}

/// Refuses the configuration if it uses any old spelling; the error lists each one found.
/// `raw` is the configuration as plain data (file and environment merged).
pub fn refuse_old_spellings(raw: &Value, env_prefix: &str) -> Result<(), ConfigError> {
    let found: Vec<String> = RENAMED
        .iter()
        .filter(|renamed| lookup(raw, renamed.old).is_some())
        .map(|renamed| renamed.message(env_prefix))
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::new(found.join("; ")))
    }
}

fn lookup<'a>(raw: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(raw, |value, key| value.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_old_spelling_is_refused_with_the_new_one_and_its_variable() {
        let cases = [
            (
                json!({"listen": "0.0.0.0:8081"}),
                "`listen` was renamed: write `[server] listen = …` (env AUTH__SERVER__LISTEN)",
            ),
            (
                json!({"body_limit_bytes": 10}),
                "`body_limit_bytes` was renamed: write `[server] max_body_bytes = …` \
                 (env AUTH__SERVER__MAX_BODY_BYTES)",
            ),
            (
                json!({"max_body_bytes": 10}),
                "`max_body_bytes` was renamed: write `[server] max_body_bytes = …` \
                 (env AUTH__SERVER__MAX_BODY_BYTES)",
            ),
            (
                json!({"database_url": "sqlite::memory:"}),
                "`database_url` was renamed: write `[database] url = …` (env AUTH__DATABASE__URL)",
            ),
            (
                json!({"server": {"header_read_timeout_ms": 5}}),
                "`server.header_read_timeout_ms` was renamed: write `[server.limits] \
                 header_read_timeout_ms = …` (env AUTH__SERVER__LIMITS__HEADER_READ_TIMEOUT_MS)",
            ),
            (
                json!({"server": {"max_header_bytes": 5}}),
                "`server.max_header_bytes` was renamed: write `[server.limits] max_header_bytes = …` \
                 (env AUTH__SERVER__LIMITS__MAX_HEADER_BYTES)",
            ),
            (
                json!({"server": {"drain_timeout_ms": 5}}),
                "`server.drain_timeout_ms` was renamed: write `[server.limits] drain_timeout_ms = …` \
                 (env AUTH__SERVER__LIMITS__DRAIN_TIMEOUT_MS)",
            ),
            (
                json!({"server": {"max_connections": 5}}),
                "`server.max_connections` was renamed: write `[server.limits] max_connections = …` \
                 (env AUTH__SERVER__LIMITS__MAX_CONNECTIONS)",
            ),
        ];
        assert_eq!(cases.len(), RENAMED.len(), "one case per old spelling");
        for (raw, expected) in cases {
            let error = refuse_old_spellings(&raw, "AUTH__").unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("invalid configuration: {expected}")
            );
        }
    }

    #[test]
    fn the_new_spellings_pass() {
        let raw = json!({
            "server": {"listen": "127.0.0.1:0", "max_body_bytes": 10, "limits": {"max_connections": 5}},
            "database": {"url": "sqlite::memory:"},
        });
        assert!(refuse_old_spellings(&raw, "USERS__").is_ok());
    }
}
