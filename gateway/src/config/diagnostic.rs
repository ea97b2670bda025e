//! Configuration errors that say where, what and how to fix it.
//!
//! Gateway users' most common complaint about configuration is "it refused to start and I do not
//! know why" (envoy #9677). So every problem is a [`Diagnostic`]: the file and line, the key
//! (`routes[3].upstream`), what is wrong, and the fix — with a "did you mean" when a name is close
//! to a known one. All problems are collected and reported together, not one per restart.

use std::fmt;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line and column in the source, when known.
    pub location: Option<(usize, usize)>,
    /// The key, e.g. `routes[3].upstream` (empty when the whole document is concerned).
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// Every problem found in one configuration source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file name (or `configuration` for one built in code).
    pub source: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigErrors {
    /// `Ok` when there is nothing to report.
    pub fn result(source: &str, mut diagnostics: Vec<Diagnostic>) -> Result<(), ConfigErrors> {
        if diagnostics.is_empty() {
            return Ok(());
        }
        diagnostics.sort_by_key(|d| d.location.unwrap_or((usize::MAX, 0)));
        Err(ConfigErrors {
            source: source.to_owned(),
            diagnostics,
        })
    }

    /// True when some diagnostic's message contains `needle` (handy in tests).
    pub fn mentions(&self, needle: &str) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.message.contains(needle) || d.fix.contains(needle))
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.source)?;
            if let Some((line, column)) = d.location {
                write!(f, ":{line}:{column}")?;
            }
            if d.key.is_empty() {
                write!(f, ": {}", d.message)?;
            } else {
                write!(f, ": `{}`: {}", d.key, d.message)?;
            }
            if !d.fix.is_empty() {
                write!(f, "\n    fix: {}", d.fix)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| {
            let distance = if c.eq_ignore_ascii_case(word) {
                0
            } else {
                levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase())
            };
            (distance, c)
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two neighbours
/// (`GTE` → `GET` is one typo, not two).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// ` (did you mean `x`?)` or nothing.
pub fn suggestion(close: Option<&str>) -> String {
    close.map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["auth", "users", "billing"];
        assert_eq!(did_you_mean("user", names), Some("users"));
        assert_eq!(did_you_mean("biling", names), Some("billing"));
        assert_eq!(did_you_mean("USERS", names), Some("users"));
        assert_eq!(did_you_mean("payments", names), None);
    }

    #[test]
    fn display_names_source_line_key_and_fix() {
        let errors = ConfigErrors {
            source: "gateway.toml".into(),
            diagnostics: vec![Diagnostic {
                location: Some((12, 1)),
                key: "routes[0].upstream".into(),
                message: "unknown upstream `user`".into(),
                fix: "use `users`".into(),
            }],
        };
        assert_eq!(
            errors.to_string(),
            "gateway.toml:12:1: `routes[0].upstream`: unknown upstream `user`\n    fix: use `users`"
        );
    }
}
