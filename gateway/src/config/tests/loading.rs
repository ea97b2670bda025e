//! Reading: the example file, TOML-level mistakes (an unknown key) and environment overrides.

use super::{Config, base, errors};
use crate::config::load;

#[test]
fn the_base_file_is_valid() {
    Config::from_toml(&base(""), "gw.toml").unwrap();
}

#[test]
fn an_unknown_key_is_located_with_a_suggestion() {
    let text = base("").replace("prefix = \"/api/users\"", "prefx = \"/api/users\"");
    let e = errors(&text);
    let d = &e.diagnostics[0];
    assert!(d.message.contains("unknown field `prefx`"), "{e}");
    assert!(d.fix.contains("did you mean `prefix`?"), "{e}");
    assert_eq!(d.location.map(|l| l.0), Some(15));
}

#[test]
fn the_commented_example_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/gateway.toml");
    Config::from_toml(&std::fs::read_to_string(path).unwrap(), path).unwrap();
}

#[test]
fn environment_overrides_apply_and_are_validated() {
    let dir = std::env::temp_dir().join(format!("gw-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gw.toml");
    std::fs::write(&file, base("")).unwrap();
    let env = [
        (
            "GATEWAY__SERVER__LISTEN".to_owned(),
            "127.0.0.1:9999".to_owned(),
        ),
        ("GATEWAY__ROUTES__0__UPSTREAM".to_owned(), "nope".to_owned()),
        ("OTHER".to_owned(), "x".to_owned()),
    ];
    let e = load::load_with_env(Some(&file), load::ENV_PREFIX, env.clone()).unwrap_err();
    assert!(e.source.contains("GATEWAY__* overrides"), "{e}");
    assert!(e.mentions("unknown upstream `nope`"), "{e}");
    let ok = load::load_with_env(Some(&file), load::ENV_PREFIX, env[..1].to_vec()).unwrap();
    assert_eq!(ok.server.listen.port(), 9999);
}
