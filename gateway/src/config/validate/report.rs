//! [`Report`]: where every check writes what it found.
//!
//! A check names the key it complains about; the report looks up the key's line through the
//! [`Locator`] (none for a configuration built in code) and keeps the problem with its fix.
//! Nothing stops at the first problem: the user gets the whole list at once.

use crate::config::{
    diagnostic::Diagnostic,
    location::{KeyPath, Locator},
};

/// The problems found so far, and where to look keys up.
pub struct Report<'a, 'b> {
    at: &'a Locator<'b>,
    list: Vec<Diagnostic>,
}

impl<'a, 'b> Report<'a, 'b> {
    /// An empty report whose keys are located by `at`.
    pub fn new(at: &'a Locator<'b>) -> Self {
        Report {
            at,
            list: Vec::new(),
        }
    }

    /// Records a problem at `key`, with what is wrong and what to do about it.
    pub fn push(&mut self, key: &KeyPath, message: impl Into<String>, fix: impl Into<String>) {
        self.list.push(Diagnostic {
            location: self.at.locate(key),
            key: key.to_string(),
            message: message.into(),
            fix: fix.into(),
        });
    }

    /// ` (line N)` for `key`, or nothing without positions: points at the *other* entry a
    /// message is about (the first of two duplicates, the route that shadows this one).
    pub fn line_of(&self, key: &KeyPath) -> String {
        self.at
            .locate(key)
            .map_or_else(String::new, |(line, _)| format!(" (line {line})"))
    }

    /// Every problem recorded, in the order found.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.list
    }
}
