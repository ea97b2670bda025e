//! `gateway check-config FILE`: the same validation as start-up, as a command.

use std::process::Command;

fn check_config(file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("check-config")
        .arg(file)
        .env_remove("GATEWAY__SERVER__LISTEN")
        .output()
        .unwrap()
}

#[test]
fn a_valid_file_passes() {
    let file = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.demo.toml"));
    let output = check_config(file);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("ok (4 upstreams, 18 routes)"));
}

#[test]
fn a_broken_file_fails_with_every_message() {
    let demo = include_str!("../../gateway.demo.toml");
    let broken = demo
        .replace("upstream = \"billing\"", "upstream = \"biling\"")
        .replace("name = \"oauth\"", "name = \"auth\"");
    let file = std::env::temp_dir().join(format!("gw-broken-{}.toml", std::process::id()));
    std::fs::write(&file, broken).unwrap();
    let output = check_config(&file);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown upstream `biling` (did you mean `billing`?)"),
        "{stderr}"
    );
    assert!(stderr.contains("duplicate route name `auth`"), "{stderr}");
    // Both billing routes, the first route's traffic split, the console's billing-toggles
    // route, the billing reset route and both billing calls of the dashboard aggregate name the
    // misspelt upstream.
    assert!(
        stderr.contains("`aggregates[0].calls[1].upstream`: unknown upstream `biling`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`routes[5].split.weights[0].upstream`: unknown upstream `biling`"),
        "{stderr}"
    );
    assert!(stderr.contains("8 problem(s) found"), "{stderr}");
    assert!(stderr.contains(&format!("{}:", file.display())), "{stderr}");
}
