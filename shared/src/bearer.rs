//! Reading a bearer token (RFC 6750 §2.1) and the [`Authenticated`] extractor backends use.
//!
//! Only the `Authorization` header is accepted. Tokens in the query string (`?access_token=`) end
//! up in access logs, browser history and `Referer` headers, so they are never looked at.

use crate::{claims::Claims, key_source::Verifier, problem::Problem, verifier::TokenError};
use axum::extract::{FromRef, FromRequestParts};
use http::{HeaderMap, header, request::Parts};

/// True when `headers` carry `Authorization: Bearer <expected>`: the operators' fixed tokens
/// (the gateway's admin listener, a service's `/metrics`). Compared in constant time, so the
/// token cannot be guessed byte by byte from response times.
pub fn carries_token(headers: &HeaderMap, expected: &secrecy::SecretString) -> bool {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|sent| bool::from(sent.ct_eq(expected.expose_secret().as_bytes())))
}

/// The token from `Authorization: Bearer <token>`. Two `Authorization` headers are refused: a
/// proxy and a backend could each pick a different one.
pub fn token_from_headers(headers: &HeaderMap) -> Result<&str, TokenError> {
    as_token(bearer_credentials(headers)?)
}

/// What follows `Bearer ` in the one `Authorization` header, not yet checked to be a token
/// ([`as_token`] does that). For a caller that can answer from bytes it has seen verified before
/// (the gateway's token cache) without checking the same bytes again.
pub fn bearer_credentials(headers: &HeaderMap) -> Result<&[u8], TokenError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(TokenError::Missing)?;
    if values.next().is_some() {
        return Err(TokenError::Malformed);
    }
    // Bytes, not `to_str()`: the token's own check is stricter than "visible ASCII", so a
    // second pass over a 300-byte header would buy nothing.
    let value = value.as_bytes();
    let space = value
        .iter()
        .position(|&b| b == b' ')
        .ok_or(TokenError::Malformed)?;
    let (scheme, token) = (&value[..space], &value[space..]);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(TokenError::Missing);
    }
    let start = token.iter().position(|&b| b != b' ').unwrap_or(token.len());
    Ok(&token[start..])
}

/// `credentials` as a token: non-empty and made of b64token characters only.
pub fn as_token(credentials: &[u8]) -> Result<&str, TokenError> {
    if credentials.is_empty() || !is_b64token(credentials) {
        return Err(TokenError::Malformed);
    }
    // All ASCII by now, so this cannot fail; it is a fast ASCII scan.
    std::str::from_utf8(credentials).map_err(|_| TokenError::Malformed)
}

/// RFC 6750's b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", and "="s (allowed
/// anywhere here; a misplaced "=" fails verification anyway).
///
/// Every authenticated request checks a ~300-byte token, so the loop is written to be
/// vectorised: no early exit, only comparisons, folded into one flag (LLVM turns it into SIMD
/// compares, 16 or 32 bytes at a time; a lookup table or `all()` goes byte by byte).
fn is_b64token(token: &[u8]) -> bool {
    let bad = token.iter().fold(false, |bad, &b| {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        let symbol =
            b == b'-' || b == b'.' || b == b'_' || b == b'~' || b == b'+' || b == b'/' || b == b'=';
        bad | !(letter | digit | symbol)
    });
    !bad
}

/// A handler argument that holds the verified claims of the caller. A request without a valid
/// token never reaches the handler: it gets 401 problem+json with the reason.
///
/// Backends use it even though the gateway already checked the token: a request that reaches a
/// backend directly (a misconfigured network, a compromised neighbour) carrying a forged
/// `X-User-Id` is still refused.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let token = token_from_headers(&parts.headers)?;
        let claims = verifier.verify(token).await?;
        Ok(Authenticated(claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn reads_a_bearer_token() {
        assert_eq!(
            token_from_headers(&headers(&["Bearer abc.def.ghi"])),
            Ok("abc.def.ghi")
        );
        assert_eq!(
            token_from_headers(&headers(&["bearer abc.def.ghi"])),
            Ok("abc.def.ghi")
        );
    }

    #[test]
    fn refuses_missing_duplicate_and_odd_headers() {
        assert_eq!(token_from_headers(&headers(&[])), Err(TokenError::Missing));
        assert_eq!(
            token_from_headers(&headers(&["Basic dXNlcjpwYXNz"])),
            Err(TokenError::Missing)
        );
        assert_eq!(
            token_from_headers(&headers(&["Bearer a.b.c", "Bearer d.e.f"])),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            token_from_headers(&headers(&["Bearer"])),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            token_from_headers(&headers(&["Bearer a b"])),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn a_token_is_made_of_b64token_characters_only() {
        let every_allowed = "AZaz09-._~+/==";
        assert_eq!(
            token_from_headers(&headers(&[&format!("Bearer {every_allowed}")])),
            Ok(every_allowed)
        );
        for odd in ["a!b", "a\"b", "a,b", "a%2Eb", "a;b", "a\tb"] {
            assert_eq!(
                token_from_headers(&headers(&[&format!("Bearer {odd}")])),
                Err(TokenError::Malformed),
                "{odd}"
            );
        }
    }
}
