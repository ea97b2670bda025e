//! Where a key sits in the configuration file: a [`KeyPath`] names a key (`routes[3].upstream`)
//! and a [`Locator`] finds its line and column in the source text.
//!
//! Both reading (`load`) and checking (`validate`) need this, so it lives below both: the checks
//! name the keys they complain about, and the loader turns a parser's byte offset into a line.
//! `toml`'s span-aware [`DeTable`] keeps every value's position, which the typed `Config` loses.

use std::{fmt, ops::Range};
use toml::de::{DeTable, DeValue};

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg {
    /// `routes`, `upstream`, …
    Key(&'static str),
    /// `[3]`
    Index(usize),
}

/// A key path such as `routes[3].upstream`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// `key`
    pub fn key(key: &'static str) -> Self {
        KeyPath(vec![Seg::Key(key)])
    }

    /// `self[index]`
    pub fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.0.push(Seg::Index(index));
        path
    }

    /// `self.key`
    pub fn field(&self, key: &'static str) -> Self {
        let mut path = self.clone();
        path.0.push(Seg::Key(key));
        path
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Finds where a key sits in the source text.
pub struct Locator<'a> {
    text: &'a str,
    root: Option<DeTable<'a>>,
}

impl<'a> Locator<'a> {
    /// A locator over `text` (finds nothing if the text does not parse).
    pub fn new(text: &'a str) -> Self {
        Locator {
            text,
            root: DeTable::parse(text).ok().map(toml::Spanned::into_inner),
        }
    }

    /// A locator for configurations built in code: no positions.
    pub fn none() -> Locator<'static> {
        Locator {
            text: "",
            root: None,
        }
    }

    /// The span of the value at `path`, or of its nearest ancestor that exists.
    pub fn span(&self, path: &KeyPath) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let mut best = None;
        let mut table = Some(root);
        let mut array: Option<&[toml::Spanned<DeValue<'a>>]> = None;
        for seg in &path.0 {
            let value = match (*seg, table, array) {
                (Seg::Key(key), Some(t), _) => t.get(key),
                (Seg::Index(i), _, Some(a)) => a.get(i),
                _ => None,
            };
            let Some(value) = value else { break };
            best = Some(value.span());
            table = value.get_ref().as_table();
            array = value.get_ref().as_array().map(|a| &a[..]);
        }
        best
    }

    /// 1-based line and column of the value at `path` (or its nearest ancestor).
    pub fn locate(&self, path: &KeyPath) -> Option<(usize, usize)> {
        self.span(path).map(|span| self.line_column(span.start))
    }

    /// 1-based line and column of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[server]\nlisten = \"127.0.0.1:0\"\n\n[[routes]]\nname = \"a\"\n\n[[routes]]\nname = \"b\"\nupstream = \"x\"\n";

    #[test]
    fn locates_keys_in_arrays_of_tables() {
        let locator = Locator::new(TEXT);
        let path = KeyPath::key("routes").index(1).field("upstream");
        assert_eq!(path.to_string(), "routes[1].upstream");
        assert_eq!(locator.locate(&path), Some((9, 12)));
        assert_eq!(
            locator.locate(&KeyPath::key("server").field("listen")),
            Some((2, 10))
        );
    }
}
