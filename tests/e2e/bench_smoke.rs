//! The load benchmark (`scripts/bench/run`, docs/performance.md) is too slow and too noisy for
//! the test command, so only its smoke mode runs here: a few seconds, the targets that need
//! nothing installed (the backend directly, the gateway with HS256 and with EdDSA from a JWKS),
//! and a check that its results parse and say what they should.
//!
//! It uses the debug builds `cargo test --workspace` already made (`target/debug/gateway` and
//! `target/debug/examples/bench`). Without them, or without `python3`, the test says so in one
//! line and passes locally; under CI (`CI=true`) it fails.

use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// `target/debug`, from this test binary's path (`target/debug/deps/e2e-…`).
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn missing(what: &str) {
    let message = format!(
        "bench_smoke: {what}; build with `cargo build -p gateway --bin gateway --example bench`"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    println!("skipped: {message}");
}

#[test]
fn the_benchmark_runs_in_smoke_mode_and_reports_every_field() {
    let dir = build_dir();
    for binary in [dir.join("gateway"), dir.join("examples").join("bench")] {
        if !binary.exists() {
            return missing(&format!("{} is not built", binary.display()));
        }
    }
    if Command::new("python3").arg("--version").output().is_err() {
        return missing("python3 is not installed");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("bench-smoke-{}", std::process::id()));
    let json_file = out.join("smoke.json");
    std::fs::create_dir_all(&out).unwrap();

    let mut child = Command::new("python3")
        .arg(root.join("scripts/bench/bench.py"))
        .arg("--smoke")
        .arg("--bin-dir")
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .arg("--json")
        .arg(&json_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the smoke mode takes a few seconds; a hang must not hold the test suite.
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            child.kill().unwrap();
            panic!("the smoke benchmark did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench.py --smoke failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    // The printed table names every target and the goals.
    for needle in [
        "| target | req/s",
        "| direct |",
        "| gateway-hs256 |",
        "| gateway-eddsa |",
        "| target | user µs/req",
        "| goal |",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }

    let results: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap())
        .expect("the JSON results parse");
    assert!(results["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(["wrk", "builtin"].contains(&results["settings"]["loadgen"].as_str().unwrap()));
    for name in ["direct", "gateway-hs256", "gateway-eddsa"] {
        let t = &results["targets"][name];
        assert!(t["rps"].as_f64().unwrap() > 0.0, "{name}: {t}");
        assert!(t["p50_us"].as_f64().unwrap() > 0.0, "{name}: {t}");
        assert!(
            t["p99_us"].as_f64().unwrap() >= t["p50_us"].as_f64().unwrap(),
            "{name}: {t}"
        );
        // Every request answered 200: a 401 would make a fast but meaningless gateway row.
        assert_eq!(t["errors"], 0, "{name}: {t}");
    }
    for name in ["gateway-hs256", "gateway-eddsa"] {
        let t = &results["targets"][name];
        assert!(t["proxy_cpu_us_per_req"].as_f64().unwrap() > 0.0, "{t}");
        // Where that CPU went: user + system is the total, and the split is reported.
        let (user, system) = (
            t["proxy_user_us_per_req"].as_f64().unwrap(),
            t["proxy_system_us_per_req"].as_f64().unwrap(),
        );
        assert!(user >= 0.0 && system >= 0.0, "{t}");
        let total = t["proxy_cpu_us_per_req"].as_f64().unwrap();
        assert!((user + system - total).abs() < 0.01 * total + 0.01, "{t}");
        assert!(
            t["proxy_context_switches_per_req"].as_f64().unwrap() >= 0.0,
            "{t}"
        );
        assert!(t["idle_rss_mib"].as_f64().unwrap() > 0.0, "{t}");
        assert!(
            t["peak_rss_mib"].as_f64().unwrap() >= t["idle_rss_mib"].as_f64().unwrap(),
            "{t}"
        );
        assert!(t["rps_vs_direct"].as_f64().unwrap() > 0.0, "{t}");
    }
    // The dashboard waits for its slowest call (20 ms): it can be slower, never faster.
    let aggregation = &results["aggregation"];
    assert!(
        aggregation["dashboard"]["p50_us"].as_u64().unwrap() >= 20_000,
        "{aggregation}"
    );
    assert_eq!(aggregation["dashboard"]["errors"], 0, "{aggregation}");
    let goals = results["goals"].as_array().unwrap();
    assert!(
        goals
            .iter()
            .any(|g| g["goal"].as_str().unwrap().contains("idle RSS"))
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_route_features_benchmark_runs_in_smoke_mode() {
    let dir = build_dir();
    for binary in [dir.join("gateway"), dir.join("examples").join("bench")] {
        if !binary.exists() {
            return missing(&format!("{} is not built", binary.display()));
        }
    }
    if Command::new("python3").arg("--version").output().is_err() {
        return missing("python3 is not installed");
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("bench-features-smoke-{}", std::process::id()));
    let mut child = Command::new("python3")
        .arg(root.join("scripts/bench/features.py"))
        .arg("--smoke")
        .arg("--bin-dir")
        .arg(&dir)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded, like the main benchmark's smoke run.
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(90) {
            child.kill().unwrap();
            panic!("the features benchmark did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "features.py --smoke failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // Every route answered 200 to every request (the script stops on any error), and each has
    // its row.
    for route in ["plain", "cors", "headers", "split", "cache"] {
        assert!(
            stdout.contains(&format!("| {route} | ")),
            "`{route}` missing from:\n{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
