//! Tested docs: the exercises in `docs/exercises/` are run against a real demo, and what they
//! promise a student must be what the demo prints.
//!
//! In an exercise, a fenced block whose info string is `sh check` is a command a student types;
//! the `text expect` block right after it is the output the page promises. For each page the
//! test starts a fresh demo on free ports, runs the page's checked blocks in order in one `bash`
//! (so `TOKEN=…` set in one block is there in the next), with `$GW` (the gateway, which every
//! command uses), `localhost:8080`–`8083` and the admin listener's `localhost:9080` pointed at
//! the test's ports and `jwt` meaning this package's `jwt` binary. Then each promised output is
//! compared with the real one:
//!
//! - every non-empty line of the promise (but `...`, which marks an elision) must appear, in
//!   order, inside the real output's lines;
//! - tokens, UUIDs, trace ids, refresh tokens, signatures, the `exp`/`iat`/`nbf` timestamps,
//!   measured latencies and the gateway's counters are masked on both sides first, since they
//!   differ on every run.
//!
//! Change the behaviour without updating the page, and this test fails, naming the page, the
//! block and the missing line.

use crate::helpers::TestDemo;
use regex::Regex;
use std::{path::Path, process::Stdio, sync::LazyLock, time::Duration};

/// One `sh check` block and, if the page promises one, its output.
#[derive(Debug)]
pub(crate) struct Step {
    pub(crate) line: usize,
    pub(crate) command: String,
    pub(crate) expect: Option<String>,
}

/// Pulls the checked steps out of a Markdown page.
pub(crate) fn checked_steps(markdown: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut lines = markdown.lines().enumerate().peekable();
    // Whether the last closed block was a checked command still waiting for its output block.
    let mut awaiting_expect = false;
    while let Some((number, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            if !line.trim().is_empty() {
                awaiting_expect = false;
            }
            continue;
        };
        let info: Vec<&str> = info.split_whitespace().collect();
        let mut body = String::new();
        for (_, inner) in lines.by_ref() {
            if inner.trim_start().starts_with("```") {
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
        match info.as_slice() {
            ["sh", "check", ..] => {
                steps.push(Step {
                    line: number + 1,
                    command: body,
                    expect: None,
                });
                awaiting_expect = true;
            }
            ["text", "expect", ..] if awaiting_expect => {
                steps.last_mut().expect("awaiting implies a step").expect = Some(body);
                awaiting_expect = false;
            }
            ["text", "expect", ..] => {
                panic!(
                    "line {}: a `text expect` block must follow a `sh check` block",
                    number + 1
                )
            }
            _ => awaiting_expect = false,
        }
    }
    steps
}

static MASKS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            Regex::new(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*").unwrap(),
            "<jwt>",
        ),
        (
            Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap(),
            "<uuid>",
        ),
        (
            Regex::new(r#""refresh_token":"[A-Za-z0-9_-]+""#).unwrap(),
            r#""refresh_token":"<opaque>""#,
        ),
        (
            Regex::new(r#"("(?:exp|iat|nbf)":\s*)[0-9]+"#).unwrap(),
            "${1}<time>",
        ),
        (
            Regex::new(r#"("(?:latency|started)_ms":)[0-9.]+"#).unwrap(),
            "${1}<ms>",
        ),
        // A counter's value: every request since the gateway started, so on a demo that served
        // other pages (or a whole class) it is larger than the page's own.
        (
            Regex::new(r"(?m)^(gateway_[a-z_]+_total\{[^}]*\}) [0-9]+$").unwrap(),
            "${1} <count>",
        ),
        // `jwt decode`'s signature line: the base64url of the signature differs per token.
        (
            Regex::new(r"(signature: )[A-Za-z0-9_-]+").unwrap(),
            "${1}<signature>",
        ),
        (
            Regex::new(r#"("trace_id":\s*)"[0-9a-f]{32}""#).unwrap(),
            r#"${1}"<trace-id>""#,
        ),
    ]
});

fn mask(text: &str) -> String {
    MASKS.iter().fold(text.to_owned(), |acc, (re, with)| {
        re.replace_all(&acc, *with).into_owned()
    })
}

/// Checks that every promised line appears, in order, within the real output's lines.
pub(crate) fn compare(promised: &str, actual: &str) -> Result<(), String> {
    let actual = mask(actual);
    let actual_lines: Vec<&str> = actual.lines().collect();
    let mut at = 0;
    for want in mask(promised).lines().map(str::trim) {
        if want.is_empty() || want == "..." {
            continue;
        }
        match actual_lines[at..]
            .iter()
            .position(|line| line.contains(want))
        {
            Some(offset) => at += offset + 1,
            None => {
                return Err(format!(
                    "missing line: {want}\n--- real output (masked):\n{actual}"
                ));
            }
        }
    }
    Ok(())
}

/// Runs a page's steps in one bash and splits the output per step.
async fn run_page(demo: &TestDemo, steps: &[Step]) -> Vec<String> {
    let a = &demo.demo.addresses;
    let mut script = String::from("exec 2>&1\njwt() { \"$JWT_BIN\" \"$@\"; }\n");
    for (i, step) in steps.iter().enumerate() {
        let command = step
            .command
            .replace("localhost:8080", &a.gateway.to_string())
            .replace("localhost:8081", &a.auth.to_string())
            .replace("localhost:8082", &a.users.to_string())
            .replace("localhost:8083", &a.billing.to_string())
            .replace("localhost:9080", &a.admin.to_string());
        script.push_str(&format!("echo '@@step {i}@@'\n{command}\necho\n"));
    }
    let child = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("JWT_BIN", env!("CARGO_BIN_EXE_jwt"))
        // The pages reach the gateway through `$GW`, set once per terminal (README).
        .env("GW", a.gateway.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash runs");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the page's commands finish within a minute")
        .unwrap();
    // The page is written for the default public URL, `http://localhost:8080`; this demo's is
    // its own port's (see `Demo::public_url`).
    let text = String::from_utf8_lossy(&output.stdout)
        .replace(&demo.demo.public_url, shared::demo::PUBLIC_URL);
    let mut parts = text.split("@@step ").skip(1);
    (0..steps.len())
        .map(|_| {
            parts
                .next()
                .map(|p| p.split_once("@@").map_or("", |(_, rest)| rest))
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

async fn check_page(path: &Path) -> Vec<String> {
    let markdown = std::fs::read_to_string(path).unwrap();
    let steps = checked_steps(&markdown);
    if steps.is_empty() {
        return Vec::new();
    }
    let demo = TestDemo::start().await;
    let outputs = run_page(&demo, &steps).await;
    let name = path.file_name().unwrap().to_string_lossy();
    steps
        .iter()
        .zip(&outputs)
        .filter_map(|(step, actual)| {
            let promised = step.expect.as_deref()?;
            compare(promised, actual)
                .err()
                .map(|why| format!("{name}:{} — {why}", step.line))
        })
        .collect()
}

#[tokio::test]
async fn every_exercise_prints_what_its_page_promises() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/exercises");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut failures = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let markdown = std::fs::read_to_string(page).unwrap();
        checked += checked_steps(&markdown)
            .iter()
            .filter(|s| s.expect.is_some())
            .count();
        failures.extend(check_page(page).await);
    }
    assert!(
        checked >= 10,
        "expected the exercises to promise outputs; found {checked}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_comparison_masks_volatile_values_and_keeps_order() {
    let real = "HTTP/1.1 401 Unauthorized\nx-request-id: 01a222f2-52b6-71a7-a169-a792c9ca8100\n\n{\"sub\":\"1905551042\",\"exp\":1795883521}";
    assert!(
        compare(
            "HTTP/1.1 401 Unauthorized\n...\n{\"sub\":\"1905551042\",\"exp\":1700000000}",
            real
        )
        .is_ok()
    );
    assert!(compare("{\"sub\":\"1905551042\"", real).is_ok());
    assert!(compare("{\"sub\":\"1905551043\"", real).is_err());
    assert!(compare("{\"exp\":1700000000}\nHTTP/1.1 401 Unauthorized", real).is_err());
    assert!(compare("HTTP/1.1 200 OK", real).is_err());
    // A counter's value is masked; its labels are not.
    let metrics = "gateway_requests_total{route=\"users-list\",reason=\"role_required\"} 7\n";
    assert!(
        compare(
            "gateway_requests_total{route=\"users-list\",reason=\"role_required\"} 2",
            metrics
        )
        .is_ok()
    );
    assert!(
        compare(
            "gateway_requests_total{route=\"users-me\",reason=\"role_required\"} 2",
            metrics
        )
        .is_err()
    );
}

#[test]
fn checked_blocks_pair_with_the_output_right_after_them() {
    let page = "```sh check\ncurl a\n```\n\n```text expect\nA\n```\n\n```sh\nnot checked\n```\n\n```sh check\ncurl b\n```\nprose\n```text\nnot an expectation\n```\n";
    let steps = checked_steps(page);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].expect.as_deref(), Some("A\n"));
    assert_eq!(steps[1].expect, None);
}
