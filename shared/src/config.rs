//! Loading a service's configuration: a TOML file, then environment overrides.
//!
//! Every service reads `<service>.toml` (optional) and then variables such as
//! `AUTH__SERVER__PORT=9000`: the prefix names the service, `__` separates nesting levels. So the
//! same binary runs from a file on a laptop and from environment variables in a container.
//! Mistakes are reported with the key that is wrong, so a typo is a one-line fix.

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
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

/// Reads `T` from `file` (skipped when `None` or absent) and the environment variables that start
/// with `env_prefix` (for example `"AUTH__"`). Fields missing from both take `T`'s serde defaults.
pub fn load<T: DeserializeOwned>(file: Option<&Path>, env_prefix: &str) -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError(format!(
                "the configuration file {} does not exist",
                file.display()
            )));
        }
        figment = figment.merge(Toml::file(file));
    }
    figment
        .merge(Env::prefixed(env_prefix).split("__"))
        .extract()
        .map_err(|error| {
            let messages: Vec<String> = error
                .into_iter()
                .map(|e| {
                    let key = e.path.join(".");
                    let source = e
                        .metadata
                        .as_ref()
                        .map(|m| m.name.to_string())
                        .unwrap_or_default();
                    if key.is_empty() {
                        format!("{} ({source})", e.kind)
                    } else {
                        format!("key `{key}`: {} ({source})", e.kind)
                    }
                })
                .collect();
            ConfigError(messages.join("; "))
        })
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
}
