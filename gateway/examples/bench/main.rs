//! The load benchmark's helper program: the cheap backend every proxy forwards to, the tokens the
//! gateway verifies, and a fixed-rate load generator. `scripts/bench/run` builds it and
//! `scripts/bench/bench.py` drives it; see `docs/performance.md`.
//!
//! ```text
//! bench backend --listen 127.0.0.1:0 [--keys DIR]     # prints `listening <addr>`, then serves
//! bench tokens --secret S --keys DIR --count N          # JSON: {"HS256": [...], "RS256": [...], "EdDSA": [...]}
//! bench rate --url URL --rate R --seconds S [--connections C] [--tokens FILE]
//!                                                       # JSON: latency percentiles at a fixed rate
//! ```
//!
//! # Layout
//!
//! - [`backend`]: a one-thread hyper server answering a small JSON body on every path, the JWKS
//!   of the test keys at `/jwks.json`, and `/delay/<ms>/…` after a fixed delay (for the
//!   aggregation benchmark);
//! - [`tokens`]: HS256, RS256 and EdDSA access tokens with the claims the gateway requires;
//! - [`rate`]: an open-loop generator: requests are *scheduled* at a fixed rate and latency is
//!   measured from the scheduled time, so a stalled server cannot hide its queue (no coordinated
//!   omission); `--rate 0` is a closed loop for throughput when `wrk` is not installed.

mod backend;
mod rate;
mod tokens;

use std::{collections::HashMap, process::ExitCode};

/// `--name value` pairs after the subcommand.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(rest: &[String]) -> Result<Args, String> {
        let mut map = HashMap::new();
        let mut it = rest.iter();
        while let Some(name) = it.next() {
            let Some(name) = name.strip_prefix("--") else {
                return Err(format!("unexpected argument `{name}`"));
            };
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Args(map))
    }

    fn text(&self, name: &str) -> Result<&str, String> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn text_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.0.get(name).map_or(default, String::as_str)
    }

    fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: `{v}` is not a number")),
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("usage: bench backend|tokens|rate [--name value]…  (see docs/performance.md)");
        return ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|args| match command.as_str() {
        "backend" => backend::main(&args),
        "tokens" => tokens::main(&args),
        "rate" => rate::main(&args),
        other => Err(format!("unknown command `{other}`")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench {command}: {message}");
            ExitCode::FAILURE
        }
    }
}
