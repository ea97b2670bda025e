//! Loading a service's configuration: a TOML file, then environment overrides.
//!
//! Every service reads `<service>.toml` (optional) and then variables such as
//! `AUTH__SERVER__PORT=9000`: the prefix names the service, `__` separates nesting levels. So the
//! same binary runs from a file on a laptop and from environment variables in a container.
//! Mistakes are reported with the key that is wrong, so a typo is a one-line fix.
//!
//! # Environment overrides: one rule for every service
//!
//! The auth-, user- and billing-service load through [`load`]; the gateway has its own loader (it
//! keeps each key's line for its messages) but applies overrides with the same [`EnvOverride`], so
//! a variable means the same thing whichever service reads it:
//!
//! - `PREFIX__A__B=value` sets the key `a.b`: the prefix (`AUTH__`, `USERS__`, `BILLING__`,
//!   `GATEWAY__`) is removed, `__` separates levels and each level is lower-cased
//!   (`GATEWAY__SERVER__MAX_URI_BYTES` sets `server.max_uri_bytes`);
//! - a level that is a number indexes an array the file already has
//!   (`GATEWAY__UPSTREAMS__0__TARGETS` sets the `targets` of the first `[[upstreams]]`); a level
//!   missing from the document is created as a table;
//! - the value is read as a TOML value when it is one — `true`, `8080`, `1.5`, `["a", "b"]`,
//!   `{ alg = "HS256" }`, `"quoted text"` — and as plain text otherwise (`0.0.0.0:8080`,
//!   `http://host:8082`, `sqlite://auth.db?mode=rwc`). Quote text that would read as something
//!   else: `AUTH__X='"8080"'`;
//! - the value replaces what is at the key (a whole array or table), it is not merged into it;
//! - a name with an empty level (`A____B`), an index past the end of an array, or a level below a
//!   plain value is an error that names the variable.

use serde::de::DeserializeOwned;
use std::path::Path;

/// The configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// A configuration error with a message that names the key and the fix.
    pub fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

/// Reads `T` from `file` (skipped when `None`) and the environment variables that start with
/// `env_prefix` (for example `"AUTH__"`). Fields missing from both take `T`'s serde defaults.
pub fn load<T: DeserializeOwned>(file: Option<&Path>, env_prefix: &str) -> Result<T, ConfigError> {
    load_with_env(file, env_prefix, std::env::vars())
}

/// [`load`] with the environment passed in, so tests need not touch the process environment.
pub fn load_with_env<T: DeserializeOwned>(
    file: Option<&Path>,
    env_prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError> {
    let (mut source, mut document) = match file {
        Some(file) => (file.display().to_string(), read_toml_file(file)?),
        None => ("environment".to_owned(), toml::Table::new()),
    };
    let overrides = env_overrides(env_prefix, env);
    let problems: Vec<String> = overrides
        .iter()
        .filter_map(|o| o.apply(&mut document).err())
        .collect();
    if !problems.is_empty() {
        return Err(ConfigError(problems.join("; ")));
    }
    if !overrides.is_empty() {
        source = format!("{source} with {env_prefix}* overrides");
    }
    serde_path_to_error::deserialize(toml::Value::Table(document)).map_err(|error| {
        let key = error.path().to_string();
        let message = error.into_inner().message().trim().to_owned();
        if key == "." {
            ConfigError(format!("{message} ({source})"))
        } else {
            ConfigError(format!("key `{key}`: {message} ({source})"))
        }
    })
}

/// The file's text as a TOML table; the error names the file (and the line, for bad TOML).
fn read_toml_file(file: &Path) -> Result<toml::Table, ConfigError> {
    if !file.exists() {
        return Err(ConfigError(format!(
            "the configuration file {} does not exist",
            file.display()
        )));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| ConfigError(format!("cannot read {}: {e}", file.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", file.display())))
}

/// The path given with `--config FILE` on the command line, if any.
pub fn path_from_args() -> Option<std::path::PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(Into::into);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    None
}

/// One environment variable `PREFIX__A__B=value`, read as "set `a.b` to `value`" (the rule is in
/// this module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvOverride {
    /// The variable's name, for messages: `GATEWAY__UPSTREAMS__0__TARGETS`.
    pub variable: String,
    /// The levels of the key, lower-cased: `["upstreams", "0", "targets"]`.
    pub path: Vec<String>,
    /// The value, read by [`parse_env_value`].
    pub value: toml::Value,
}

/// The overrides among `env` whose names start with `prefix`, in the order given.
pub fn env_overrides(
    prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Vec<EnvOverride> {
    env.into_iter()
        .filter_map(|(variable, raw)| {
            let path = variable
                .strip_prefix(prefix)?
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            Some(EnvOverride {
                path,
                value: parse_env_value(&raw),
                variable,
            })
        })
        .collect()
}

/// Reads an environment value: as TOML when it is a TOML value (`true`, `8080`, `["a", "b"]`),
/// as plain text otherwise (`0.0.0.0:8080`).
pub fn parse_env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

impl EnvOverride {
    /// The key it sets, dotted: `upstreams.0.targets`.
    pub fn key(&self) -> String {
        self.path.join(".")
    }

    /// Sets the value at the key in `document`. The error names the variable and says why its
    /// key does not fit the document.
    pub fn apply(&self, document: &mut toml::Table) -> Result<(), String> {
        set_in_table(document, &self.path, self.value.clone())
            .map_err(|why| format!("environment variable {}: {why}", self.variable))
    }
}

fn set_in_table(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
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
        toml::Value::Table(table) => set_in_table(table, path, value),
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
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[allow(dead_code)]
        port: u16,
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sample.toml");
        std::fs::write(&file, "port = \"eighty\"\n").unwrap();
        let error = load::<Sample>(Some(&file), "SAMPLE_TEST_UNUSED__").unwrap_err();
        assert!(error.to_string().contains("key `port`"), "{error}");
    }

    /// A service with a list of tables, like the gateway's `[[upstreams]]`.
    #[derive(Debug, Deserialize, PartialEq)]
    struct Service {
        server: Server,
        upstreams: Vec<Upstream>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Server {
        listen: String,
        max_uri_bytes: u64,
        open: bool,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Upstream {
        name: String,
        targets: Vec<String>,
    }

    /// Text, a number, a boolean, a nested key and an array inside an array of tables; the
    /// gateway's `config::load` tests check that its loader reads them the same way.
    #[test]
    fn overrides_set_nested_keys_numbers_booleans_and_array_items() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("service.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"127.0.0.1:8080\"\nmax_uri_bytes = 8192\nopen = false\n\n\
             [[upstreams]]\nname = \"u\"\ntargets = [\"http://a:1\"]\n",
        )
        .unwrap();
        let env = [
            ("S__SERVER__LISTEN", "0.0.0.0:9000"),
            ("S__SERVER__MAX_URI_BYTES", "100"),
            ("S__SERVER__OPEN", "true"),
            (
                "S__UPSTREAMS__0__TARGETS",
                r#"["http://b:2", "http://c:3"]"#,
            ),
            ("OTHER__SERVER__LISTEN", "ignored"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()));

        let service: Service = load_with_env(Some(&file), "S__", env).unwrap();

        assert_eq!(
            service,
            Service {
                server: Server {
                    listen: "0.0.0.0:9000".into(),
                    max_uri_bytes: 100,
                    open: true,
                },
                upstreams: vec![Upstream {
                    name: "u".into(),
                    targets: vec!["http://b:2".into(), "http://c:3".into()],
                }],
            }
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_override_that_does_not_fit_the_document_names_the_variable() {
        let env = [("S__UPSTREAMS__7__NAME".to_owned(), "x".to_owned())];
        let mut document: toml::Table = toml::from_str("[[upstreams]]\nname = \"u\"\n").unwrap();
        let error = env_overrides("S__", env)[0]
            .apply(&mut document)
            .unwrap_err();
        assert_eq!(
            error,
            "environment variable S__UPSTREAMS__7__NAME: index 7 is past the end of the list"
        );
    }

    #[test]
    fn values_are_toml_when_they_parse_and_text_otherwise() {
        assert_eq!(parse_env_value("8080"), toml::Value::Integer(8080));
        assert_eq!(parse_env_value("true"), toml::Value::Boolean(true));
        assert_eq!(
            parse_env_value("\"8080\""),
            toml::Value::String("8080".into())
        );
        assert_eq!(
            parse_env_value("0.0.0.0:8080"),
            toml::Value::String("0.0.0.0:8080".into())
        );
        assert_eq!(
            parse_env_value(r#"["a", "b"]"#),
            toml::Value::Array(vec!["a".into(), "b".into()])
        );
    }
}
