//! Reading the configuration: the TOML file, then `GATEWAY__…` environment overrides, keeping
//! track of where each key sits in the text so every message can name its line.
//!
//! Two passes over the same text: `toml::from_str` builds the typed [`Config`] (its own errors —
//! unknown key, wrong type, missing key — already carry a span), and a [`Locator`] over the text
//! is what the semantic checks ([`validate`]) ask "where is `routes[3].upstream`?".
//!
//! Environment overrides follow the rule every service shares, written down once in
//! [`shared::config`] and applied by its code: `GATEWAY__SERVER__LISTEN` sets `server.listen`;
//! `__` separates levels and a number indexes an array
//! (`GATEWAY__UPSTREAMS__0__TARGETS='["http://10.0.0.5:8082"]'`); a value is read as TOML when it
//! parses as one (`true`, `8080`, `["a"]`) and as text otherwise. With overrides present the
//! merged document is what gets validated, and messages say so.

use super::{
    Config,
    diagnostic::{ConfigErrors, Diagnostic, did_you_mean, suggestion},
    location::Locator,
    validate,
};
use shared::config::{EnvOverride, env_overrides};
use std::path::Path;

/// The prefix of the gateway's environment overrides.
pub const ENV_PREFIX: &str = "GATEWAY__";

/// Reads `file` (if given) and the environment, then validates.
pub fn load(file: Option<&Path>, env_prefix: &str) -> Result<Config, ConfigErrors> {
    load_with_env(file, env_prefix, std::env::vars())
}

/// [`load`] with the environment passed in, so tests need not touch the process environment.
pub fn load_with_env(
    file: Option<&Path>,
    env_prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let (source, text) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
                source: path.display().to_string(),
                diagnostics: vec![Diagnostic {
                    location: None,
                    key: String::new(),
                    message: format!("cannot read the configuration file: {e}"),
                    fix: "pass an existing file with `--config FILE`".into(),
                }],
            })?;
            (path.display().to_string(), text)
        }
        None => ("environment".to_owned(), String::new()),
    };
    let overrides = env_overrides(env_prefix, env);
    if overrides.is_empty() {
        return from_toml(&text, &source);
    }
    let merged = apply_env(&text, &source, &overrides)?;
    from_toml(&merged, &format!("{source} (with {env_prefix}* overrides)"))
}

/// Parses and validates TOML text.
pub fn from_toml(text: &str, source: &str) -> Result<Config, ConfigErrors> {
    let locator = Locator::new(text);
    let config: Config = toml::from_str(text).map_err(|e| ConfigErrors {
        source: source.to_owned(),
        diagnostics: vec![toml_diagnostic(&e, &locator)],
    })?;
    ConfigErrors::result(source, validate::validate(&config, &locator))?;
    Ok(config)
}

/// Turns a `toml` parse/deserialise error into a diagnostic with a fix.
fn toml_diagnostic(error: &toml::de::Error, locator: &Locator<'_>) -> Diagnostic {
    let message = error.message().trim().to_owned();
    let location = error.span().map(|span| locator.line_column(span.start));
    let fix = if let Some(rest) = message.strip_prefix("unknown field `") {
        // "unknown field `prefx`, expected one of `name`, `prefix`, …"
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let top_level = [
            "demo",
            "trusted_proxies",
            "server",
            "auth",
            "upstreams",
            "routes",
            "aggregates",
        ];
        if top_level.contains(&field) && !known.contains(&field) {
            format!(
                "`{field}` is a top-level key: move it above the first [section] (after a \
                 section header, a key belongs to that section)"
            )
        } else {
            format!(
                "remove or rename `{field}`{}",
                suggestion(did_you_mean(field, known.iter().copied()))
            )
        }
    } else if message.starts_with("missing field") {
        "add the key (see gateway.toml beside the crate for a commented example)".to_owned()
    } else if message.starts_with("unknown variant") {
        "use one of the values listed".to_owned()
    } else {
        "correct the value at this position".to_owned()
    };
    Diagnostic {
        location,
        key: String::new(),
        message,
        fix,
    }
}

/// Applies the environment overrides to the document and renders it back to TOML. The rule of
/// what a variable means is [`shared::config`]'s, the same for every service; what is added here
/// is a [`Diagnostic`] per variable that does not fit the document.
fn apply_env(text: &str, source: &str, overrides: &[EnvOverride]) -> Result<String, ConfigErrors> {
    let locator = Locator::new(text);
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigErrors {
        source: source.to_owned(),
        diagnostics: vec![toml_diagnostic(&e, &locator)],
    })?;
    let diagnostics = overrides
        .iter()
        .filter_map(|o| {
            let message = o.apply(&mut table).err()?;
            Some(Diagnostic {
                location: None,
                key: o.key(),
                message,
                fix: "check the variable's name: levels are separated by `__`".into(),
            })
        })
        .collect();
    ConfigErrors::result(source, diagnostics)?;
    toml::to_string(&table).map_err(|e| ConfigErrors {
        source: source.to_owned(),
        diagnostics: vec![Diagnostic {
            location: None,
            key: String::new(),
            message: format!("the overridden configuration cannot be rendered: {e}"),
            fix: "check the GATEWAY__ variables".into(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn env_overrides_set_nested_keys_and_array_items() {
        let text = "[server]\nlisten = \"127.0.0.1:8080\"\n[[upstreams]]\nname = \"u\"\ntargets = [\"http://a:1\"]\n";
        let overrides = env_overrides(
            "G__",
            env(&[
                ("G__SERVER__LISTEN", "0.0.0.0:9000"),
                ("G__SERVER__MAX_URI_BYTES", "100"),
                ("G__UPSTREAMS__0__TARGETS", "[\"http://b:2\"]"),
            ]),
        );
        let merged = apply_env(text, "t", &overrides).unwrap();
        let table: toml::Table = toml::from_str(&merged).unwrap();
        assert_eq!(table["server"]["listen"].as_str(), Some("0.0.0.0:9000"));
        assert_eq!(table["server"]["max_uri_bytes"].as_integer(), Some(100));
        assert_eq!(
            table["upstreams"][0]["targets"][0].as_str(),
            Some("http://b:2")
        );
    }

    /// The kinds of override `shared::config`'s own test makes — text, a number, a boolean, a key
    /// nested in an array of tables, an array — give the gateway the same document as they give
    /// every other service, and the typed configuration shows them.
    #[test]
    fn overrides_mean_what_they_mean_for_every_service() {
        let text = "[server]\nlisten = \"127.0.0.1:8080\"\nmax_uri_bytes = 8192\n\n\
                    [auth]\nissuer = \"http://localhost:8080\"\naudience = \"ecommerce-api\"\n\
                    hs256_secret = \"a-test-secret-that-is-long-enough-for-hs256\"\n\n\
                    [[upstreams]]\nname = \"u\"\ntargets = [\"http://a:1\"]\n";
        let dir = std::env::temp_dir().join(format!("gw-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gw.toml");
        std::fs::write(&file, text).unwrap();
        let vars = env(&[
            ("G__SERVER__LISTEN", "0.0.0.0:9000"),
            ("G__SERVER__MAX_URI_BYTES", "100"),
            ("G__UPSTREAMS__0__BREAKER__CONSECUTIVE_FAILURES", "0"),
            (
                "G__UPSTREAMS__0__TARGETS",
                r#"["http://b:2", "http://c:3"]"#,
            ),
            ("G__DEMO", "false"),
        ]);

        let gateway = apply_env(text, "t", &env_overrides("G__", vars.clone()));
        let every_service: toml::Table =
            shared::config::load_with_env(Some(&file), "G__", vars.clone()).unwrap();
        let config = load_with_env(Some(&file), "G__", vars).unwrap();

        let gateway: toml::Table = toml::from_str(&gateway.unwrap()).unwrap();
        assert_eq!(gateway, every_service);
        assert_eq!(config.server.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(config.server.max_uri_bytes, 100);
        assert_eq!(config.upstreams[0].targets, ["http://b:2", "http://c:3"]);
        assert_eq!(config.upstreams[0].breaker.consecutive_failures, 0);
        assert!(!config.demo);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_bad_override_path_is_reported() {
        let text = "[[upstreams]]\nname = \"u\"\n";
        let overrides = env_overrides("G__", env(&[("G__UPSTREAMS__7__NAME", "x")]));
        let error = apply_env(text, "t", &overrides).unwrap_err();
        assert!(error.mentions("past the end"), "{error}");
    }
}
