//! Reading the configuration: the TOML file, then `GATEWAY__…` environment overrides, keeping
//! track of where each key sits in the text so every message can name its line.
//!
//! Two passes over the same text: `toml::from_str` builds the typed [`Config`] (its own errors —
//! unknown key, wrong type, missing key — already carry a span), and a [`Locator`] over the text
//! is what the semantic checks ([`validate`]) ask "where is `routes[3].upstream`?".
//!
//! Environment overrides follow the convention of every service here: `GATEWAY__SERVER__LISTEN`
//! sets `server.listen`; `__` separates levels and a number indexes an array
//! (`GATEWAY__UPSTREAMS__0__TARGETS='["http://10.0.0.5:8082"]'`). A value is read as TOML when it
//! parses as one (`true`, `8080`, `["a"]`) and as a string otherwise. With overrides present the
//! merged document is what gets validated, and messages say so.

use super::{
    Config,
    diagnostic::{ConfigErrors, Diagnostic, did_you_mean, suggestion},
    location::Locator,
    validate,
};
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
    let overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(env_prefix))
        .collect();
    if overrides.is_empty() {
        return from_toml(&text, &source);
    }
    let merged = apply_env(&text, &source, env_prefix, &overrides)?;
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

/// Applies `PREFIX__A__B=value` overrides to the document and renders it back to TOML.
fn apply_env(
    text: &str,
    source: &str,
    prefix: &str,
    overrides: &[(String, String)],
) -> Result<String, ConfigErrors> {
    let locator = Locator::new(text);
    let mut table: toml::Table = toml::from_str(text).map_err(|e| ConfigErrors {
        source: source.to_owned(),
        diagnostics: vec![toml_diagnostic(&e, &locator)],
    })?;
    let mut diagnostics = Vec::new();
    for (name, raw) in overrides {
        let path: Vec<String> = name[prefix.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if let Err(message) = set_path(&mut table, &path, parse_env_value(raw)) {
            diagnostics.push(Diagnostic {
                location: None,
                key: path.join("."),
                message: format!("environment variable {name}: {message}"),
                fix: "check the variable's name: levels are separated by `__`".into(),
            });
        }
    }
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

fn parse_env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        return Err("names no key".into());
    };
    if first.is_empty() {
        return Err("has an empty level".into());
    }
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return Ok(());
    }
    let entry = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    set_in_value(entry, rest, value)
}

fn set_in_value(
    target: &mut toml::Value,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
    match target {
        toml::Value::Table(table) => set_path(table, path, value),
        toml::Value::Array(items) => {
            let index: usize = path[0]
                .parse()
                .map_err(|_| format!("`{}` is a list: index it with a number", path[0]))?;
            let item = items
                .get_mut(index)
                .ok_or_else(|| format!("index {index} is past the end of the list"))?;
            if path.len() == 1 {
                *item = value;
                Ok(())
            } else {
                set_in_value(item, &path[1..], value)
            }
        }
        _ => Err(format!("`{}` is inside a plain value", path[0])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_set_nested_keys_and_array_items() {
        let text = "[server]\nlisten = \"127.0.0.1:8080\"\n[[upstreams]]\nname = \"u\"\ntargets = [\"http://a:1\"]\n";
        let merged = apply_env(
            text,
            "t",
            "G__",
            &[
                ("G__SERVER__LISTEN".into(), "0.0.0.0:9000".into()),
                ("G__SERVER__MAX_URI_BYTES".into(), "100".into()),
                ("G__UPSTREAMS__0__TARGETS".into(), "[\"http://b:2\"]".into()),
            ],
        )
        .unwrap();
        let table: toml::Table = toml::from_str(&merged).unwrap();
        assert_eq!(table["server"]["listen"].as_str(), Some("0.0.0.0:9000"));
        assert_eq!(table["server"]["max_uri_bytes"].as_integer(), Some(100));
        assert_eq!(
            table["upstreams"][0]["targets"][0].as_str(),
            Some("http://b:2")
        );
    }

    #[test]
    fn a_bad_override_path_is_reported() {
        let text = "[[upstreams]]\nname = \"u\"\n";
        let error = apply_env(
            text,
            "t",
            "G__",
            &[("G__UPSTREAMS__7__NAME".into(), "x".into())],
        )
        .unwrap_err();
        assert!(error.mentions("past the end"), "{error}");
    }
}
