//! `jwt` — a pocket tool for the lecture's exercises, so nobody needs a website to look inside a
//! token (pasting a real token into a website is a habit worth not learning).
//!
//! ```text
//! jwt decode TOKEN              print the header, payload and signature (no verification!)
//! jwt tamper TOKEN role=ADMIN   change payload claims, keep the old signature
//! jwt token                     read a login response on stdin, print its access_token
//! jwt refresh-token             read a login response on stdin, print its refresh_token
//! ```
//!
//! `decode` does not check the signature: anyone can *read* a JWT, which is why a token must
//! never carry secrets. It prints the header and the payload exactly as the token holds them —
//! the decoded bytes, in their own key order (the payload laid out one claim per line, nothing
//! re-ordered) — because the signature is computed over those exact bytes, not over "the same
//! JSON" in another order. Then the signature: its base64url text, its length in bytes, and what
//! it is for the header's `alg` (an HMAC-SHA256 of `header.payload` for HS256, an RSA or
//! Ed25519 signature of the same text for RS256 or EdDSA). `tamper` shows why reading is harmless but *editing* is not: the
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
  jwt decode TOKEN               print the header, payload and signature (no verification)
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
        ["decode", token] => describe(token),
        ["tamper", token, edits @ ..] if !edits.is_empty() => tamper(token, edits),
        ["token"] => field_from_stdin("access_token"),
        ["refresh-token"] => field_from_stdin("refresh_token"),
        ["--help" | "-h" | "help"] => Ok(USAGE.to_owned()),
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

/// The `decode` command's output: the header's bytes as they are, the payload laid out one claim
/// per line in its own order, and a `signature:` line.
fn describe(token: &str) -> Result<String, String> {
    let (header, _) = decode(token)?;
    let parts: Vec<&str> = token.trim().split('.').collect();
    let header_text = part_text(parts[0], "header")?;
    let payload_text = part_text(parts[1], "payload")?;
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| "the signature is not base64url".to_owned())?;
    let what = match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => "HMAC-SHA256 of `header.payload` with the issuer's secret key",
        Some("HS384") => "HMAC-SHA384 of `header.payload` with the issuer's secret key",
        Some("HS512") => "HMAC-SHA512 of `header.payload` with the issuer's secret key",
        Some("RS256") => "RSA (PKCS#1 v1.5, SHA-256) signature of `header.payload`",
        Some("PS256") => "RSA-PSS (SHA-256) signature of `header.payload`",
        Some("ES256") => "ECDSA P-256 (SHA-256) signature of `header.payload`",
        Some("EdDSA") => "Ed25519 signature of `header.payload`",
        Some("none") => "no signature at all: `alg` none, refused by every verifier here",
        _ => "a signature of `header.payload` by an algorithm this tool does not name",
    };
    Ok(format!(
        "header:  {}\npayload: {}\nsignature: {} ({} bytes: {what})",
        header_text.trim(),
        pretty_in_order(&payload_text),
        parts[2],
        signature.len()
    ))
}

/// The decoded text of a part, checked to be JSON (but not re-serialised: its bytes, its order).
fn part_text(part: &str, name: &str) -> Result<String, String> {
    part_json(part, name)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| format!("the {name} is not base64url"))?;
    String::from_utf8(bytes).map_err(|_| format!("the {name} is not UTF-8"))
}

/// Lays out valid JSON two spaces per level, keeping every key where it is. (serde_json's own
/// pretty printer would go through a map, which sorts the keys unless a crate-wide feature is
/// switched on for the whole workspace.) Whitespace between tokens is dropped; strings are
/// copied untouched, escapes included.
fn pretty_in_order(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // An empty object or array stays `{}` / `[]`.
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}' | ']')) {
                    out.push(chars.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
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
    fn decode_keeps_the_tokens_own_key_order_and_names_the_signature() {
        // The auth-service's header puts `typ` first; a sorted print would show `alg` first.
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD
            .encode(br#"{"sub":"1","role":"STUDENT","a":{"z":1,"b":[]},"s":"x,\"{"}"#);
        let signature = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let text = describe(&format!("{header}.{payload}.{signature}")).unwrap();
        let expected = format!(
            "header:  {{\"typ\":\"JWT\",\"alg\":\"HS256\"}}\n\
             payload: {{\n  \"sub\": \"1\",\n  \"role\": \"STUDENT\",\n  \"a\": {{\n    \
             \"z\": 1,\n    \"b\": []\n  }},\n  \"s\": \"x,\\\"{{\"\n}}\n\
             signature: {signature} (32 bytes: HMAC-SHA256 of `header.payload` with the \
             issuer's secret key)"
        );
        assert_eq!(text, expected);
        let rs = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#);
        let text = describe(&format!(
            "{rs}.{payload}.{}",
            URL_SAFE_NO_PAD.encode([1u8; 256])
        ))
        .unwrap();
        assert!(
            text.ends_with("(256 bytes: RSA (PKCS#1 v1.5, SHA-256) signature of `header.payload`)"),
            "{text}"
        );
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
