//! [`AppJson`]: like `axum::Json`, but every way a body can be wrong becomes problem+json.
//!
//! axum's own `Json` rejects with plain text, and serde's messages quote the offending *value*
//! (`invalid type: string "hunter2", expected …`) — which for a login body may be a password. This
//! extractor reports the field path and what was expected, never the value.

use crate::problem::Problem;
use axum::{
    extract::{FromRequest, Request, rejection::BytesRejection},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{StatusCode, header};
use serde::{Serialize, de::DeserializeOwned};

/// JSON request extractor and response type with problem+json rejections.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(request.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        parse(&bytes).map(AppJson)
    }
}

/// Parses `bytes` as `T`, with the same errors as the extractor.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(describe)?;
    deserializer.end().map_err(|_| {
        Problem::bad_request("malformed_json", "the body has data after the JSON value")
    })?;
    Ok(value)
}

fn describe(error: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let path = error.path().to_string();
    let inner = error.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            // Keep serde's words about *what* was expected, drop what was received.
            let detail = if let Some(rest) = message.strip_prefix("missing field ") {
                format!("missing field {}", cut_position(rest))
            } else if let Some(rest) = message.strip_prefix("unknown field ") {
                let field = rest.split(',').next().unwrap_or(rest);
                format!("unknown field {}", cut_position(field))
            } else if let Some((_, expected)) = message.split_once(", expected ") {
                format!(
                    "`{path}` has the wrong type or value, expected {}",
                    cut_position(expected)
                )
            } else {
                format!("`{path}` has the wrong type or value")
            };
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", detail)
        }
        _ => Problem::bad_request(
            "malformed_json",
            format!(
                "the body is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            ),
        ),
    }
}

fn cut_position(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

fn body_rejection(rejection: BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this endpoint accepts",
        )
    } else {
        Problem::bad_request("body_unreadable", "the request body could not be read")
    }
}

fn has_json_content_type(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    #[test]
    fn a_missing_field_is_named() {
        let problem = parse::<Login>(br#"{"email":"a@b.c"}"#).unwrap_err();
        assert_eq!(problem.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.detail(), "missing field `password`");
    }

    #[test]
    fn a_wrong_type_never_echoes_the_value() {
        let problem = parse::<Login>(br#"{"email":"a@b.c","password":["hunter2"]}"#).unwrap_err();
        assert_eq!(problem.reason(), "invalid_body");
        assert!(
            problem.detail().contains("`password`"),
            "{}",
            problem.detail()
        );
        assert!(!problem.detail().contains("hunter2"));
    }

    #[test]
    fn syntax_errors_are_400() {
        let problem = parse::<Login>(b"{not json").unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(problem.reason(), "malformed_json");
    }

    #[test]
    fn content_types() {
        let mut headers = http::HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(has_json_content_type(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            "application/merge-patch+json".parse().unwrap(),
        );
        assert!(has_json_content_type(&headers));
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!has_json_content_type(&headers));
    }
}
