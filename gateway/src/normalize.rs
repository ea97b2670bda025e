//! Path normalisation: one canonical spelling per path, computed once per request.
//!
//! A gateway that matches routes on one spelling of a path and forwards another is a classic hole:
//! `/api/public/../admin` matches a public prefix at the gateway and reaches `/api/admin` at a
//! backend that resolves the dots itself. So the gateway computes the canonical path *once*, and
//! that same string is both matched against the routes and forwarded. No spelling of a path can
//! reach a backend under a weaker policy than its canonical form.
//!
//! The rules (RFC 3986 §6.2.2, made stricter where backends disagree with each other):
//!
//! - percent-encoded *unreserved* characters (`A-Z a-z 0-9 - . _ ~`) are decoded (`%75` → `u`);
//!   every other escape is kept, with upper-case hex (`%3a` → `%3A`);
//! - `.` segments are dropped and `..` removes the previous segment, never going above the root;
//!   encoded dots (`%2E%2E`) are decoded first, so they are resolved too;
//! - repeated slashes collapse (`//api//users` → `/api/users`) and a trailing slash is dropped
//!   (`/api/users/` → `/api/users`), so an exact-match route cannot be dodged with a slash;
//! - refused outright, because backends interpret them differently: an encoded slash (`%2F`) or
//!   backslash (`%5C`), a literal backslash, NUL (`%00`), `;` path parameters (raw or `%3B`),
//!   invalid escapes (`%G1`, `%2`), raw non-ASCII or control bytes, and fragments (`#`).
//!
//! [`normalize`] borrows its input when it is already canonical (the common case), so the hot path
//! allocates nothing.

use std::borrow::Cow;

/// Why a path was refused. Every variant becomes 400 problem+json with reason `bad_path`; the
/// [`PathError::detail`] says which rule was broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/`.
    NotAbsolute,
    /// `%2F`: an encoded slash would let one segment become two behind the gateway.
    EncodedSlash,
    /// `%5C` or a literal `\`: some servers treat a backslash as a slash.
    Backslash,
    /// `%00`: C-based backends cut the path there.
    Nul,
    /// `;` (raw or `%3B`): matrix parameters, which some servers strip before routing.
    PathParameter,
    /// `%` not followed by two hex digits.
    InvalidEscape,
    /// A raw byte outside printable ASCII.
    NonAscii,
    /// A `#` fragment: clients never send one, so its presence is an attack or a bug.
    Fragment,
}

impl PathError {
    /// A sentence for the problem+json `detail`.
    pub const fn detail(self) -> &'static str {
        match self {
            PathError::NotAbsolute => "the path must start with `/`",
            PathError::EncodedSlash => "the path contains an encoded slash (%2F)",
            PathError::Backslash => "the path contains a backslash (raw or %5C)",
            PathError::Nul => "the path contains an encoded NUL (%00)",
            PathError::PathParameter => "the path contains a `;` path parameter",
            PathError::InvalidEscape => "the path contains an invalid percent-encoding",
            PathError::NonAscii => "the path contains a byte outside printable ASCII",
            PathError::Fragment => "the path contains a fragment (#)",
        }
    }
}

/// Returns the canonical form of `path` (the path component only, without the query), or why it
/// is refused. See the module docs for the rules.
pub fn normalize(path: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    if is_canonical(bytes)? {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode(bytes)?;
    Ok(Cow::Owned(resolve_segments(&decoded)))
}

/// The fast path: true when `path` needs no change. Also refuses the bytes that are always wrong,
/// so the slow path only runs for paths with escapes or odd segments.
fn is_canonical(bytes: &[u8]) -> Result<bool, PathError> {
    let mut canonical = true;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'%' => canonical = false,
            b'/' => {
                // A segment that is empty, `.` or `..` needs resolving.
                let rest = &bytes[i + 1..];
                let segment_end = rest.iter().position(|&c| c == b'/').unwrap_or(rest.len());
                let segment = &rest[..segment_end];
                if (segment.is_empty() && bytes.len() > 1) || segment == b"." || segment == b".." {
                    canonical = false;
                }
            }
            _ => check_raw_byte(b)?,
        }
    }
    Ok(canonical)
}

/// Bytes that may never appear raw in a path we accept.
fn check_raw_byte(b: u8) -> Result<(), PathError> {
    match b {
        b'\\' => Err(PathError::Backslash),
        b';' => Err(PathError::PathParameter),
        b'#' => Err(PathError::Fragment),
        0x21..=0x7e => Ok(()),
        _ => Err(PathError::NonAscii),
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes unreserved escapes, upper-cases the others, and refuses the dangerous ones.
fn decode(bytes: &[u8]) -> Result<String, PathError> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            check_raw_byte(b)?;
            out.push(b as char);
            i += 1;
            continue;
        }
        let (Some(hi), Some(lo)) = (
            bytes.get(i + 1).copied().and_then(hex_value),
            bytes.get(i + 2).copied().and_then(hex_value),
        ) else {
            return Err(PathError::InvalidEscape);
        };
        let value = hi << 4 | lo;
        match value {
            b'/' => return Err(PathError::EncodedSlash),
            b'\\' => return Err(PathError::Backslash),
            0 => return Err(PathError::Nul),
            b';' => return Err(PathError::PathParameter),
            v if is_unreserved(v) => out.push(v as char),
            v => {
                out.push('%');
                out.push(HEX[usize::from(v >> 4)] as char);
                out.push(HEX[usize::from(v & 0xf)] as char);
            }
        }
        i += 3;
    }
    Ok(out)
}

/// Drops empty and `.` segments, applies `..` (never above the root), joins with single slashes.
fn resolve_segments(decoded: &str) -> String {
    let mut segments: Vec<&str> = Vec::with_capacity(8);
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in segments {
        out.push('/');
        out.push_str(segment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        normalize(input)
            .unwrap_or_else(|e| panic!("{input}: {e:?}"))
            .into_owned()
    }

    fn err(input: &str) -> PathError {
        normalize(input).expect_err(input)
    }

    #[test]
    fn canonical_paths_are_borrowed_unchanged() {
        for path in [
            "/",
            "/api/users",
            "/api/users/me",
            "/a-b_c~d.e/x",
            "/.well-known/jwks.json",
        ] {
            assert!(
                matches!(normalize(path), Ok(Cow::Borrowed(p)) if p == path),
                "{path}"
            );
        }
    }

    #[test]
    fn dot_segments_are_resolved_never_above_root() {
        assert_eq!(ok("/api/users/../users/me"), "/api/users/me");
        assert_eq!(ok("/api/./users"), "/api/users");
        assert_eq!(ok("/api/users/.."), "/api");
        assert_eq!(ok("/.."), "/");
        assert_eq!(ok("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(ok("/api/billing/../../api/users"), "/api/users");
        // A segment that merely contains dots is an ordinary name.
        assert_eq!(ok("/a/..b/c..d/..."), "/a/..b/c..d/...");
    }

    #[test]
    fn repeated_and_trailing_slashes_collapse() {
        assert_eq!(ok("//api//users"), "/api/users");
        assert_eq!(ok("/api/users/"), "/api/users");
        assert_eq!(ok("///"), "/");
    }

    #[test]
    fn unreserved_escapes_are_decoded_others_kept_upper_case() {
        assert_eq!(ok("/api/%75sers/me"), "/api/users/me");
        assert_eq!(ok("/api/%7Eme"), "/api/~me");
        assert_eq!(ok("/a%20b"), "/a%20b");
        assert_eq!(ok("/a%3ab"), "/a%3Ab");
        assert_eq!(ok("/caf%c3%a9"), "/caf%C3%A9");
        // %25 is a literal percent sign: kept encoded, never decoded twice.
        assert_eq!(ok("/a%252F"), "/a%252F");
    }

    #[test]
    fn encoded_dot_segments_are_decoded_then_resolved() {
        assert_eq!(ok("/api/users/%2e%2e/billing"), "/api/billing");
        assert_eq!(ok("/api/%2E/users"), "/api/users");
        assert_eq!(ok("/api/users/.%2e/.%2E/x"), "/x");
    }

    #[test]
    fn dangerous_spellings_are_refused() {
        assert_eq!(err("/api/users%2Fme"), PathError::EncodedSlash);
        assert_eq!(err("/api/users%2fme"), PathError::EncodedSlash);
        assert_eq!(err("/api/users/..%2F.."), PathError::EncodedSlash);
        assert_eq!(err("/api/users%5Cme"), PathError::Backslash);
        assert_eq!(err("/api/users%5cme"), PathError::Backslash);
        assert_eq!(err("/api\\users"), PathError::Backslash);
        assert_eq!(err("/api/users%00.json"), PathError::Nul);
        assert_eq!(err("/api/users;x/me"), PathError::PathParameter);
        assert_eq!(err("/api/users%3Bx"), PathError::PathParameter);
        assert_eq!(err("/api/users#frag"), PathError::Fragment);
        assert_eq!(err("/api/café"), PathError::NonAscii);
        assert_eq!(err("/api/a b"), PathError::NonAscii);
        assert_eq!(err("/api/\x7f"), PathError::NonAscii);
        assert_eq!(err("api/users"), PathError::NotAbsolute);
        assert_eq!(err(""), PathError::NotAbsolute);
        assert_eq!(err("*"), PathError::NotAbsolute);
    }

    #[test]
    fn invalid_escapes_are_refused() {
        assert_eq!(err("/a%"), PathError::InvalidEscape);
        assert_eq!(err("/a%2"), PathError::InvalidEscape);
        assert_eq!(err("/a%G1"), PathError::InvalidEscape);
        assert_eq!(err("/a%%41"), PathError::InvalidEscape);
    }

    #[test]
    fn refusals_win_even_in_the_slow_path() {
        // A dot segment sends the path to the slow path; the bad byte must still be caught.
        assert_eq!(err("/a/../b;c"), PathError::PathParameter);
        assert_eq!(err("//a\\b"), PathError::Backslash);
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for input in [
            "/api/users/../users/me",
            "//api//users/",
            "/api/%75sers/%7e%3a",
            "/a/./b/../c/%2e%2e/d",
        ] {
            let once = ok(input);
            assert_eq!(ok(&once), once, "{input}");
        }
    }
}
