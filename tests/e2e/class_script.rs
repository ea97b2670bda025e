//! `scripts/class`, the instructor's walk through the exercises, and its `reset`, run as an
//! instructor would: against one running demo, through the gateway.
//!
//! The walk runs every page in a row on the same demo, resetting between pages. Each step's
//! output must keep the page's promise (the comparison of [`super::exercises`]), so this also
//! shows that the reset really puts back what a page changed: exercise 10 locks the student's
//! account and exercise 9 breaks both backends, and the pages after them still print what they
//! promise.

use crate::{
    exercises::{checked_steps, compare},
    helpers::{TestDemo, assert_problem},
};
use serde_json::{Value, json};
use std::{path::Path, process::Stdio, time::Duration};

/// Runs `scripts/class` with `args` against `demo` and returns (exit code, stdout + stderr).
async fn class(demo: &TestDemo, args: &[&str]) -> (i32, String) {
    let a = &demo.demo.addresses;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/class");
    let child = tokio::process::Command::new("bash")
        .arg(script)
        .args(args)
        .env("GW", a.gateway.to_string())
        .env("AUTH_ADDR", a.auth.to_string())
        .env("USERS_ADDR", a.users.to_string())
        .env("BILLING_ADDR", a.billing.to_string())
        .env("ADMIN_ADDR", a.admin.to_string())
        .env("JWT", env!("CARGO_BIN_EXE_jwt"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bash runs");
    let output = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("scripts/class finishes within two minutes")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    // The pages are written for the default public URL (see `exercises::run_page`).
    .replace(&demo.demo.public_url, shared::demo::PUBLIC_URL);
    (output.status.code().unwrap_or(-1), text)
}

/// The walk's output of one page, step by step: what follows each `── step` line, without the
/// echoed command (`$ …` and its continuation lines `> …`).
fn steps_of(walk: &str, page: &str) -> Vec<String> {
    let marker = format!("(docs/exercises/{page})");
    let Some(start) = walk.find(&marker) else {
        return Vec::new();
    };
    let rest = &walk[start..];
    let rest = rest.find("\n━━ ").map_or(rest, |end| &rest[..end]);
    rest.split("── step ")
        .skip(1)
        .map(|step| {
            step.lines()
                .skip(1)
                .skip_while(|line| line.starts_with("$ ") || line.starts_with("> "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

#[tokio::test]
async fn the_walk_runs_every_page_in_a_row_and_each_keeps_its_promise() {
    let t = TestDemo::start().await;
    let (code, walk) = class(&t, &["--no-pause"]).await;
    assert_eq!(code, 0, "the walk failed:\n{walk}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/exercises");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name.as_bytes()[0].is_ascii_digit())
        .collect();
    pages.sort();
    let mut failures = Vec::new();
    let mut compared = 0;
    for page in &pages {
        let markdown = std::fs::read_to_string(dir.join(page)).unwrap();
        let steps = checked_steps(&markdown);
        let outputs = steps_of(&walk, page);
        assert!(
            walk.contains(&format!("(docs/exercises/{page})")),
            "{page} was not walked"
        );
        assert_eq!(outputs.len(), steps.len(), "{page}: one output per command");
        for (step, output) in steps.iter().zip(&outputs) {
            let Some(promise) = step.expect.as_deref() else {
                continue;
            };
            compared += 1;
            if let Err(why) = compare(promise, output) {
                failures.push(format!("{page}:{} — {why}", step.line));
            }
        }
    }
    println!(
        "walk: {} pages in a row, {compared} promised outputs compared",
        pages.len()
    );
    assert!(compared >= 40, "only {compared} promised outputs compared");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn reset_lifts_the_lock_turns_the_switches_off_and_refills_the_gateway() {
    let t = TestDemo::start().await;
    let student = t.student_token().await;
    // What a class leaves behind: both backends failing, and the student's account locked.
    t.toggles(t.demo.addresses.users, 0, 1.0).await;
    t.toggles(t.demo.addresses.billing, 0, 1.0).await;
    let guess = json!({"email": "student@example.edu", "password": "guess"});
    for _ in 0..6 {
        t.client
            .post(t.gateway("/api/auth/login"))
            .json(&guess)
            .send()
            .await
            .unwrap();
    }
    let locked = t
        .client
        .post(t.gateway("/api/auth/login"))
        .json(&json!({"email": "student@example.edu", "password": "student123"}))
        .send()
        .await
        .unwrap();
    assert_problem(locked, 429, "too_many_attempts").await;
    let response = t.get("/api/dashboard", &student).await;
    assert_problem(response, 502, "upstream_error").await;

    let (code, out) = class(&t, &["reset"]).await;
    assert_eq!(code, 0, "{out}");
    for line in [
        "reset gateway: {\"rate_limit_keys\":",
        "reset users: {\"latency_ms\":0,\"error_rate\":0.0}",
        "reset billing: {\"latency_ms\":0,\"error_rate\":0.0}",
        "reset auth: {\"accounts\":1,",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }

    // The student logs in again, and the dashboard is whole.
    let token = t.student_token().await;
    let response = t.get("/api/dashboard", &token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-gateway-partial"], "false");
}

#[tokio::test]
async fn the_gateway_reset_refills_allowances_for_an_admin_only() {
    let t = TestDemo::start().await;
    let admin = t.admin_token().await;
    let student = t.student_token().await;
    // Spend the login allowance of this address (`login-ip`: a burst of 20).
    let mut refused = None;
    // A different unknown e-mail each time: the auth-service's per-account lock stays out of it.
    for i in 0..40 {
        let response = t
            .client
            .post(t.gateway("/api/auth/login"))
            .json(&json!({"email": format!("nobody{i}@example.edu"), "password": "x"}))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the gateway's login limit refuses within 40 logins");
    let body: Value = assert_problem(refused, 429, "rate_limited").await;
    assert!(
        body["detail"].as_str().unwrap().contains("login-ip"),
        "{body}"
    );

    let reset = |token: Option<String>| {
        let mut request = t.client.post(t.gateway("/gateway/reset"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_problem(reset(None).await.unwrap(), 401, "token_missing").await;
    assert_problem(
        reset(Some("not-a-token".into())).await.unwrap(),
        401,
        "token_malformed",
    )
    .await;
    assert_problem(reset(Some(student)).await.unwrap(), 403, "role_required").await;
    let response = reset(Some(admin)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["rate_limit_keys"].as_u64().unwrap() >= 1, "{body}");

    // The address may log in again.
    t.login("student@example.edu", "student123").await;
}
