//! `application/x-www-form-urlencoded` parsing that refuses what RFC 6749 refuses.
//!
//! The `form_urlencoded` crate decodes leniently: bytes that are not UTF-8 become U+FFFD, and a
//! repeated parameter is just another pair. Both would let a request mean something other than
//! what it says (a mangled password checked anyway, a second `redirect_uri` read by one component
//! and not another), so this parser (a few lines on top of `percent_encoding`) returns an error
//! for bad UTF-8 and keeps every pair, for [`Form::get`] to refuse repeats (§3.1, §3.2).

use percent_encoding::percent_decode;

/// The pairs of a query string or form body, in order.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

/// Why a form could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A name or value is not UTF-8 once decoded.
    #[error("the parameters are not valid UTF-8 once decoded")]
    NotUtf8,
    /// A parameter appears more than once.
    #[error("the parameter `{0}` is repeated")]
    Repeated(String),
}

impl Form {
    /// Parses `input` (a query string without `?`, or a form body).
    pub fn parse(input: &[u8]) -> Result<Form, FormError> {
        let mut pairs = Vec::new();
        for part in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Form(pairs))
    }

    /// The value of `name`; `None` when absent or empty (an empty value counts as absent, §3.1);
    /// an error when it appears more than once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, FormError> {
        let mut values = self.0.iter().filter(|(n, _)| n == name);
        let first = values.next();
        if values.next().is_some() {
            return Err(FormError::Repeated(name.to_owned()));
        }
        Ok(first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty()))
    }

    /// The first parameter that appears more than once, if any.
    pub fn first_repeated(&self) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, (name, _))| self.0[..*i].iter().any(|(n, _)| n == name))
            .map(|(_, (name, _))| name.as_str())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// `+` is a space, then percent-decoding, then UTF-8 or an error.
fn decode(raw: &[u8]) -> Result<String, FormError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus_as_space)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| FormError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_and_repeats_found() {
        let form = Form::parse(b"a=1+2&b=%C3%A9&c=&d&a=3").unwrap();
        assert_eq!(form.get("b"), Ok(Some("é")));
        assert_eq!(form.get("c"), Ok(None));
        assert_eq!(form.get("d"), Ok(None));
        assert_eq!(form.get("x"), Ok(None));
        assert_eq!(form.get("a"), Err(FormError::Repeated("a".into())));
        assert_eq!(form.first_repeated(), Some("a"));
        assert_eq!(Form::parse(b"a=1&b=2").unwrap().first_repeated(), None);
    }

    #[test]
    fn bad_utf8_is_an_error() {
        assert_eq!(Form::parse(b"a=%FF").unwrap_err(), FormError::NotUtf8);
        assert_eq!(Form::parse(b"%C3=1").unwrap_err(), FormError::NotUtf8);
        assert_eq!(Form::parse(b"a=\xff").unwrap_err(), FormError::NotUtf8);
    }
}
