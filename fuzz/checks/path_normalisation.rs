//! The path normaliser's properties, for any input.
//!
//! The gateway matches routes on the canonical path and forwards that same string, so the
//! canonical path must mean exactly one thing to every backend behind it:
//!
//! 1. `normalize` never panics, whatever the bytes.
//! 2. An accepted path is canonical: it starts with `/`, has no empty, `.` or `..` segment, no
//!    trailing slash (except `/` itself), and normalising it again gives the same string.
//! 3. A backend that percent-decodes each segment once sees the same segments the gateway
//!    matched: no segment decodes to `.` or `..`, or to anything holding `/`, `\`, `;` or NUL.
//! 4. Every escape left is upper-case and encodes a byte that is *not* unreserved (those are
//!    always decoded), so two spellings of one path always meet in one canonical form.
//! 5. When the input was a valid request target, so is the canonical path: `http` accepts it as
//!    the target that goes upstream. (A raw string may hold bytes `http` refuses, such as a
//!    backtick; `normalize` passes them through, which is harmless only because the gateway
//!    never sees such a target — hyper refuses it first. The first fuzzing run found exactly
//!    this, `/api/u`ers`, and the property now says so.)
//!
//! The input is tried twice: as a raw string (the function's own contract) and as the path of a
//! request target `http` parsed first (what the gateway really hands it).

use gateway::normalize::normalize;

/// Checks every property for `data`; panics (a fuzzer finding) when one fails.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_path(text, false);
    }
    if let Ok(target) = http::uri::PathAndQuery::try_from(data) {
        check_path(target.path(), true);
    }
}

fn check_path(input: &str, valid_target: bool) {
    let Ok(canonical) = normalize(input) else {
        return;
    };
    let canonical: &str = &canonical;
    assert!(canonical.starts_with('/'), "{input:?} → {canonical:?}");
    assert!(
        canonical == "/" || !canonical.ends_with('/'),
        "{input:?} → {canonical:?}: trailing slash"
    );
    assert_eq!(
        normalize(canonical).as_deref(),
        Ok(canonical),
        "{input:?} → {canonical:?}: not stable"
    );
    for segment in canonical[1..].split('/').filter(|_| canonical != "/") {
        assert!(
            !segment.is_empty(),
            "{input:?} → {canonical:?}: empty segment"
        );
        let decoded = decode_once(segment, input, canonical);
        assert!(
            decoded != b"." && decoded != b"..",
            "{input:?} → {canonical:?}: a dot segment survives decoding"
        );
        assert!(
            !decoded.iter().any(|b| matches!(b, b'/' | b'\\' | b';' | 0)),
            "{input:?} → {canonical:?}: a segment decodes to a separator"
        );
    }
    assert!(
        !valid_target || http::uri::PathAndQuery::try_from(canonical).is_ok(),
        "{input:?} → {canonical:?}: not a valid request target"
    );
}

/// Percent-decodes `segment` once, as a backend would, checking property 4 on the way.
fn decode_once(segment: &str, input: &str, canonical: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let escape = &segment[i + 1..i + 3];
        assert!(
            escape
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "{input:?} → {canonical:?}: escape `%{escape}` not upper-case"
        );
        let value = u8::from_str_radix(escape, 16).expect("a kept escape is two hex digits");
        assert!(
            !(value.is_ascii_alphanumeric() || matches!(value, b'-' | b'.' | b'_' | b'~')),
            "{input:?} → {canonical:?}: `%{escape}` encodes an unreserved character"
        );
        out.push(value);
        i += 3;
    }
    out
}
