//! `jwt` — a pocket tool for the lecture's exercises, so nobody needs a website to look inside a
//! token (pasting a real token into a website is a habit worth not learning).
//!
//! ```text
//! jwt decode TOKEN              print the header and payload as JSON (no verification!)
//! jwt tamper TOKEN role=ADMIN   change payload claims, keep the old signature
//! jwt token                     read a login response on stdin, print its access_token
//! jwt refresh-token             read a login response on stdin, print its refresh_token
//! ```
//!
//! `decode` does not check the signature: anyone can *read* a JWT, which is why a token must
//! never carry secrets. `tamper` shows why reading is harmless but *editing* is not: the
//! signature covers the header and payload, so the edited token is refused with 401.
//!
//! Run it with `cargo run -q --bin jwt -- decode $TOKEN`, or make an alias:
//! `alias jwt='cargo run -q --release --bin jwt --'`.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use std::{
    io::{Read, Write},
    process::ExitCode,
};

const USAGE: &str = "usage:
  jwt decode TOKEN               print the header and payload (no verification)
  jwt tamper TOKEN CLAIM=VALUE…  edit payload claims, keep the old signature
  jwt token                      read a login response on stdin, print its access_token
  jwt refresh-token              read a login response on stdin, print its refresh_token";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["decode", token] => decode(token).map(|(header, payload)| {
            format!(
                "header:  {}\npayload: {}",
                serde_json::to_string(&header).unwrap_or_default(),
                serde_json::to_string_pretty(&payload).unwrap_or_default()
            )
        }),
        ["tamper", token, edits @ ..] if !edits.is_empty() => tamper(token, edits),
        ["token"] => field_from_stdin("access_token"),
        ["refresh-token"] => field_from_stdin("refresh_token"),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(output) => {
            // `writeln!`, not `println!`: piping into `head` closes stdout early, and that is
            // not an error worth a panic message.
            let _ = writeln!(std::io::stdout(), "{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Splits `header.payload.signature` and decodes the first two parts.
fn decode(token: &str) -> Result<(Value, Value), String> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return Err("a JWT has three parts separated by dots: header.payload.signature".into());
    };
    Ok((part_json(header, "header")?, part_json(payload, "payload")?))
}

fn part_json(part: &str, name: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("the {name} is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| format!("the {name} is not JSON"))
}

/// Replaces claims in the payload; the header and signature are kept as they were.
fn tamper(token: &str, edits: &[&str]) -> Result<String, String> {
    let (_, payload) = decode(token)?;
    let Value::Object(mut claims) = payload else {
        return Err("the payload is not a JSON object".into());
    };
    for edit in edits {
        let (claim, value) = edit
            .split_once('=')
            .ok_or_else(|| format!("`{edit}`: write CLAIM=VALUE, e.g. role=ADMIN"))?;
        claims.insert(claim.to_owned(), parse_value(value));
    }
    let parts: Vec<&str> = token.trim().split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&Value::Object(claims)).unwrap());
    Ok(format!("{}.{}.{}", parts[0], payload, parts[2]))
}

/// Numbers stay numbers (`exp=1700000000`), everything else is a string (`role=ADMIN`).
fn parse_value(value: &str) -> Value {
    value
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::String(value.to_owned()))
}

fn field_from_stdin(field: &str) -> Result<String, String> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| format!("cannot read stdin: {e}"))?;
    let body: Map<String, Value> = serde_json::from_str(&input)
        .map_err(|_| format!("stdin is not a JSON object: {}", input.trim()))?;
    body.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("the response has no `{field}`: {}", input.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LECTURE_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxOTA1NTUxMDQyIiwibmFtZSI6IkkgV2F5YW4gU3VkYXJtYSIsInJvbGUiOiJTVFVERU5UIiwiZXhwIjoxNjc5MDAwMDAwfQ.c2lnbmF0dXJl";

    #[test]
    fn decodes_the_lectures_example() {
        let (header, payload) = decode(LECTURE_TOKEN).unwrap();
        assert_eq!(header, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(payload["role"], "STUDENT");
        assert_eq!(payload["exp"], 1_679_000_000);
    }

    #[test]
    fn tamper_changes_the_payload_and_keeps_the_signature() {
        let edited = tamper(LECTURE_TOKEN, &["role=ADMIN"]).unwrap();
        let (_, payload) = decode(&edited).unwrap();
        assert_eq!(payload["role"], "ADMIN");
        assert_eq!(payload["sub"], "1905551042");
        assert_eq!(edited.rsplit('.').next(), LECTURE_TOKEN.rsplit('.').next());
        assert_eq!(edited.split('.').next(), LECTURE_TOKEN.split('.').next());
    }

    #[test]
    fn garbage_gets_a_helpful_message() {
        assert!(decode("abc").unwrap_err().contains("three parts"));
        assert!(
            tamper(LECTURE_TOKEN, &["role"])
                .unwrap_err()
                .contains("CLAIM=VALUE")
        );
    }
}
