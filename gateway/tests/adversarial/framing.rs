//! Framing attacks over raw sockets: bytes that two HTTP parsers could read differently
//! (request smuggling, RFC 9112 §6.3, §11.2) or that a lax parser would accept. Each row is the
//! bytes sent, the status expected (`None`: the connection is closed without an answer) and the
//! requests the backend may have received. Never a 500, never a hang, never a second request
//! hidden in a first.

use crate::helpers::TestGateway;
use crate::paths::send_raw;

/// One row.
struct Case {
    name: &'static str,
    stands_for: &'static str,
    bytes: Vec<u8>,
    /// Statuses of the answers, in order (pipelining answers several).
    statuses: &'static [u16],
    /// `METHOD target` lines the backend received.
    reached: &'static [&'static str],
    /// The reason of the gateway's problem+json answer, where the row checks one.
    reason: Option<&'static str>,
}

impl Case {
    /// The answer must also be problem+json with this reason.
    fn explained(self, reason: &'static str) -> Case {
        Case {
            reason: Some(reason),
            ..self
        }
    }
}

/// The statuses of every response in a raw stream.
fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.")
        .filter_map(|(at, _)| raw.get(at + 9..at + 12)?.parse().ok())
        .collect()
}

fn case(
    name: &'static str,
    stands_for: &'static str,
    bytes: impl Into<Vec<u8>>,
    statuses: &'static [u16],
    reached: &'static [&'static str],
) -> Case {
    Case {
        name,
        stands_for,
        bytes: bytes.into(),
        statuses,
        reached,
        reason: None,
    }
}

#[tokio::test]
async fn ambiguous_framing_is_refused_or_read_one_way_only() {
    let smuggled = "GET /api/public/smuggled HTTP/1.1\r\nHost: gw\r\n\r\n";
    let cl_te_body = format!("0\r\n\r\n{smuggled}");
    let cases = vec![
        case(
            "Content-Length and Transfer-Encoding: chunked together",
            "RFC 9112 §6.3 ¶3 (CL.TE smuggling)",
            // Transfer-Encoding wins (an empty body), the connection closes after the answer:
            // the bytes after `0\r\n\r\n` are never read as a second request.
            format!(
                "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{cl_te_body}",
                cl_te_body.len()
            ),
            &[200],
            &["POST /x"],
        ),
        case(
            "Transfer-Encoding that does not end in chunked",
            "RFC 9112 §6.3 ¶4 (TE.CL smuggling)",
            "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
            &[400],
            &[],
        ),
        case(
            "an obfuscated Transfer-Encoding",
            "RFC 9112 §6.3 ¶4; PortSwigger's TE.TE variants",
            "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: xchunked\r\nConnection: close\r\n\r\n0\r\n\r\n",
            &[400],
            &[],
        ),
        case(
            "two Content-Lengths that disagree",
            "RFC 9112 §6.3 ¶5",
            "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello!",
            &[400],
            &[],
        ),
        case(
            "a signed Content-Length",
            "RFC 9110 §8.6 (1*DIGIT only)",
            "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: +5\r\nConnection: close\r\n\r\nhello",
            &[400],
            &[],
        ),
        case(
            "a chunk size that is not hex",
            "RFC 9112 §7.1",
            "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            &[400],
            &[],
        ),
        case(
            "an obs-fold continuation line",
            "RFC 9112 §5.2 (a server must reject or replace obs-fold)",
            "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-A: 1\r\n  Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            &[400],
            &[],
        ),
        case(
            "whitespace between a field name and the colon",
            "RFC 9112 §5.1 (must be rejected with 400)",
            "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\nConnection: close\r\n\r\n",
            &[400],
            &[],
        ),
        case(
            "a NUL inside a field value",
            "RFC 9110 §5.5",
            "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-A: a\0b\r\nConnection: close\r\n\r\n",
            &[400],
            &[],
        ),
        case(
            "bare LF line endings, read as the one request they are",
            "RFC 9112 §2.2 (a recipient may accept a bare LF)",
            "GET /api/public/x HTTP/1.1\nHost: gw\nConnection: close\n\n",
            &[200],
            &["GET /x"],
        ),
        case(
            "two pipelined requests, answered in order",
            "RFC 9112 §9.3.2",
            "GET /api/public/one HTTP/1.1\r\nHost: gw\r\n\r\nGET /api/public/two HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
            &[200, 200],
            &["GET /one", "GET /two"],
        ),
        case(
            "a 64 KiB head",
            "RFC 6585 §5; the gateway explains it as headers_too_large",
            format!(
                "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
                "a".repeat(64 * 1024)
            ),
            &[431],
            &[],
        ),
        case(
            "a 20 KiB head, over the gateway's 16 KiB limit",
            "RFC 6585 §5 (431, explained rather than hyper's empty answer)",
            format!(
                "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
                "a".repeat(20 * 1024)
            ),
            &[431],
            &[],
        )
        .explained("headers_too_large"),
        case(
            "HTTP/1.1 without Host",
            "RFC 9112 §3.2 (a server must answer 400)",
            "GET /api/public/x HTTP/1.1\r\nConnection: close\r\n\r\n",
            &[400],
            &[],
        )
        .explained("bad_host"),
        case(
            "two Host headers",
            "RFC 9112 §3.2 (gateway and backend could each read another)",
            "GET /api/public/x HTTP/1.1\r\nHost: gw\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            &[400],
            &[],
        )
        .explained("bad_host"),
        case(
            "HTTP/1.0 without Host (control row)",
            "RFC 9112 §3.2 (Host is an HTTP/1.1 requirement)",
            "GET /api/public/x HTTP/1.0\r\n\r\n",
            &[200],
            &["GET /x"],
        ),
        case(
            "a 4 KiB target that is also a bad path with a bad token",
            "RFC 9112 §3 (414), checked before anything else",
            format!(
                "GET /api/users/{}%2F HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer x\r\nConnection: close\r\n\r\n",
                "a".repeat(4096)
            ),
            &[414],
            &[],
        )
        .explained("uri_too_long"),
        case(
            "a body over the limit, by Content-Length",
            "RFC 9110 §15.5.14 (413 before reading it)",
            format!(
                "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nContent-Length: {}\r\n\r\n{}",
                crate::helpers::MAX_BODY + 10,
                "z".repeat(crate::helpers::MAX_BODY as usize + 10)
            ),
            &[413],
            &[],
        )
        .explained("body_too_large"),
        case(
            "a chunked body that grows over the limit",
            "RFC 9112 §7.1 (no length up front: counted on the stream)",
            {
                let chunk = "z".repeat(600);
                format!(
                    "POST /api/public/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
                )
            },
            &[413],
            // The head was already streamed on; the body is cut at the limit, so the backend
            // never receives a complete over-limit request.
            &["POST /x"],
        )
        .explained("body_too_large"),
    ];
    let mut failures = Vec::new();
    for case in cases {
        // A fresh gateway per row: one row's connection state cannot excuse another's.
        let gw = TestGateway::serve().await;
        let response = send_raw(&gw, &case.bytes).await;
        // Give a smuggled request the time it would need to reach the backend.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let label = format!("{} ({})", case.name, case.stands_for);
        let got = (statuses(&response), gw.echo.seen());
        let explained = case.reason.is_none_or(|reason| {
            response.contains("application/problem+json")
                && response.contains(&format!("\"reason\":\"{reason}\""))
        });
        if got.0 != case.statuses || got.1 != case.reached || !explained {
            failures.push(format!(
                "{label}: got {got:?}\n{}",
                &response[..response.len().min(300)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
