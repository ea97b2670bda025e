//! The fuzz targets' corpora, run as ordinary tests.
//!
//! `fuzz/` holds cargo-fuzz targets (run with a nightly toolchain: `docs/fuzzing.md`). Each
//! target's properties live in `fuzz/checks/<target>.rs`, included here and by the fuzz target
//! alike, so every input a fuzzing run found interesting — and every input that once broke a
//! property, kept in the corpus after its fix — is checked again on every `cargo test`, on the
//! stable toolchain, without the fuzzer.

#[path = "../../fuzz/checks/aggregate_merge.rs"]
mod aggregate_merge;
#[path = "../../fuzz/checks/config_parsing.rs"]
mod config_parsing;
#[path = "../../fuzz/checks/forwarded_headers.rs"]
mod forwarded_headers;
#[path = "../../fuzz/checks/path_normalisation.rs"]
mod path_normalisation;
#[path = "../../fuzz/checks/token_verification.rs"]
mod token_verification;

use std::path::PathBuf;

/// Runs `check` on every file of `fuzz/corpus/<target>`, naming the file that fails.
fn run_corpus(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable corpus entry").path())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{}: the corpus is empty (docs/fuzzing.md says how it is made)",
        dir.display()
    );
    for file in &files {
        let data = std::fs::read(file).expect("a readable corpus file");
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            panic!("{target}: {} breaks a property: {message}", file.display());
        }
    }
}

#[test]
fn path_normalisation_corpus_holds() {
    run_corpus("path_normalisation", path_normalisation::check);
}

#[test]
fn token_verification_corpus_holds() {
    run_corpus("token_verification", token_verification::check);
}

#[test]
fn config_parsing_corpus_holds() {
    run_corpus("config_parsing", config_parsing::check);
}

#[test]
fn aggregate_merge_corpus_holds() {
    run_corpus("aggregate_merge", aggregate_merge::check);
}

#[test]
fn forwarded_headers_corpus_holds() {
    run_corpus("forwarded_headers", forwarded_headers::check);
}
