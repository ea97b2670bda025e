//! Who is calling `/oauth/*`: client authentication (RFC 6749 §2.3) and public clients (§2.1).
//!
//! | the request carries | the client must be | method (RFC 8414 name) |
//! |---|---|---|
//! | `Authorization: Basic …` | confidential (or public with an empty secret) | `client_secret_basic` |
//! | `client_id` and `client_secret` in the body | confidential | `client_secret_post` |
//! | `client_id` alone | public | `none` |
//!
//! **Two spellings of a Basic secret.** RFC 6749 §2.3.1 says the id and the secret are
//! form-encoded *before* Basic's base64, so a secret `a+b` travels as `a%2Bb`. Many clients skip
//! that step (Authlib's default, requests' `HTTPBasicAuth`, httpx) and send `a+b` itself, which
//! form-decoding would turn into `a b`. Both spellings are accepted: the decoded one is checked
//! first, the raw one only when it differs.
//!
//! **Throttle.** Each check is an argon2 verification (tens of milliseconds of CPU, on purpose),
//! and the two spellings make it two. So failures are counted per `client_id` in the same kind of
//! back-off as logins ([`crate::throttle`]): the pair counts as one failure, and a locked client
//! gets 429 without any hashing. Unknown ids are checked against the dummy hash and counted the
//! same way, so the answer and its time do not reveal which ids exist.

use super::{OAuthError, Params};
use crate::{
    AppState,
    clients::{Client, Credentials},
    error::AuthError,
    passwords,
};
use axum::http::{HeaderMap, header};
use base64::{Engine, engine::general_purpose::STANDARD};
use secrecy::{ExposeSecret, SecretString};

/// Finds the client of the request and checks its credentials. `Ok(None)`: the request names no
/// client at all (the caller decides whether that is allowed).
pub(super) async fn authenticate<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Option<&'a Client>, OAuthError> {
    let basic = basic_credentials(headers)?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match (basic, body_id, body_secret) {
        (None, None, None) => Ok(None),
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method: HTTP Basic or client_secret in the body",
        )),
        (Some(basic), body_id, None) => {
            let client = state
                .clients
                .get(&basic.id)
                .or_else(|| state.clients.get(&basic.raw_id));
            let named = client.map_or(basic.id.as_str(), |c| c.id.as_str());
            if body_id.is_some_and(|b| b != named) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            let mut candidates = vec![basic.secret];
            if basic.raw_secret.expose_secret() != candidates[0].expose_secret() {
                candidates.push(basic.raw_secret);
            }
            verify(state, named, client, candidates).await.map(Some)
        }
        (None, Some(id), Some(secret)) => {
            let client = state.clients.get(id);
            verify(state, id, client, vec![SecretString::from(secret)])
                .await
                .map(Some)
        }
        (None, Some(id), None) => match state.clients.get(id) {
            Some(client) if client.is_public() => Ok(Some(client)),
            _ => Err(OAuthError::invalid_client(
                "client authentication failed (only a public client may send client_id alone)",
            )),
        },
        (None, None, Some(_)) => Err(OAuthError::invalid_request(
            "client_secret without client_id",
        )),
    }
}

/// Checks `candidates` (one or two spellings of one secret) for the client named `id`, under the
/// per-client throttle.
async fn verify<'a>(
    state: &AppState,
    id: &str,
    client: Option<&'a Client>,
    candidates: Vec<SecretString>,
) -> Result<&'a Client, OAuthError> {
    let now = state.clock.unix_secs();
    if let Err(retry_after) = state.client_throttle.check(id, now).await {
        return Err(OAuthError::too_many_attempts(
            retry_after,
            format!(
                "too many failed authentications for this client; retry in {retry_after} seconds"
            ),
        ));
    }
    // A public client has nothing to check; Basic with an empty secret is how some libraries
    // send a bare client_id.
    if let Some(client) = client
        && client.is_public()
    {
        return if candidates.iter().all(|c| c.expose_secret().is_empty()) {
            Ok(client)
        } else {
            Err(OAuthError::invalid_client(
                "this client is public: it has no secret",
            ))
        };
    }
    let hash = match client.map(|c| &c.credentials) {
        Some(Credentials::SecretHash(hash)) => hash.clone(),
        _ => state.settings.dummy_hash.clone(),
    };
    let mut matches = false;
    for candidate in candidates {
        if passwords::verify(candidate, hash.clone())
            .await
            .map_err(AuthError::from)?
        {
            matches = true;
            break;
        }
    }
    match client {
        Some(client) if matches => {
            state.client_throttle.record_success(id).await;
            Ok(client)
        }
        _ => {
            state.client_throttle.record_failure(id, now).await;
            Err(OAuthError::invalid_client("client authentication failed"))
        }
    }
}

/// The id and secret of an `Authorization: Basic` header, each in both spellings: form-decoded
/// (RFC 6749 §2.3.1) and as sent.
struct BasicCredentials {
    id: String,
    raw_id: String,
    secret: SecretString,
    raw_secret: SecretString,
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<BasicCredentials>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("malformed HTTP Basic credentials");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "the OAuth endpoints accept only HTTP Basic client authentication",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some(BasicCredentials {
        id: form_decode(id),
        raw_id: id.to_owned(),
        secret: SecretString::from(form_decode(secret)),
        raw_secret: SecretString::from(secret),
    }))
}

/// Undoes `application/x-www-form-urlencoded` encoding of one value.
fn form_decode(value: &str) -> String {
    let plus_as_space = value.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> BasicCredentials {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode(user_pass);
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {encoded}").parse().unwrap(),
        );
        basic_credentials(&headers).unwrap().unwrap()
    }

    #[test]
    fn basic_credentials_come_form_decoded_and_as_sent() {
        let credentials = basic("my%20client:s%3Acret+x");
        assert_eq!(credentials.id, "my client");
        assert_eq!(credentials.raw_id, "my%20client");
        assert_eq!(credentials.secret.expose_secret(), "s:cret x");
        assert_eq!(credentials.raw_secret.expose_secret(), "s%3Acret+x");
    }
}
