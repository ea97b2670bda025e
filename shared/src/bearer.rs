//! Reading a bearer token (RFC 6750 §2.1) and the [`Authenticated`] extractor backends use.
//!
//! Only the `Authorization` header is accepted. Tokens in the query string (`?access_token=`) end
//! up in access logs, browser history and `Referer` headers, so they are never looked at.

use crate::{claims::Claims, key_source::Verifier, problem::Problem, verifier::TokenError};
use axum::extract::{FromRef, FromRequestParts};
use http::{HeaderMap, header, request::Parts};

/// The token from `Authorization: Bearer <token>`. Two `Authorization` headers are refused: a
/// proxy and a backend could each pick a different one.
pub fn token_from_headers(headers: &HeaderMap) -> Result<&str, TokenError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(TokenError::Missing)?;
    if values.next().is_some() {
        return Err(TokenError::Malformed);
    }
    let value = value.to_str().map_err(|_| TokenError::Malformed)?;
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::Missing);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || !token.bytes().all(|b| B64TOKEN[usize::from(b)]) {
        return Err(TokenError::Malformed);
    }
    Ok(token)
}

/// The bytes a token may contain, as a lookup table: RFC 6750's b64token is ALPHA / DIGIT / "-" /
/// "." / "_" / "~" / "+" / "/" (and trailing "="s, allowed anywhere here; a misplaced "=" fails
/// verification anyway). Every request's token is checked byte by byte, and one table load per
/// byte is several times cheaper than a chain of range comparisons.
static B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=');
        b += 1;
    }
    table
};

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
