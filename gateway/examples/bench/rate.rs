//! A fixed-rate (open-loop) load generator for latency percentiles below saturation.
//!
//! `wrk` measures throughput but cannot hold a rate. Here `--connections` keep-alive connections
//! share the schedule: request `k` of connection `i` is due at `start + (k·C + i) / rate`. Its
//! latency is counted **from that due time**, not from when it was actually sent, so a server that
//! stalls is charged for the requests queued behind the stall (no coordinated omission, as in
//! wrk2). Each connection is a blocking thread: on the generator's own core a thread wakes within
//! tens of microseconds, and the last stretch before a due time is spun (with `yield_now`, so a
//! thread reading its response is not starved). `--rate 0` drops the schedule: every connection
//! sends back to back (a closed loop) — the harness's throughput fallback when `wrk` is absent.

use crate::Args;
use serde_json::json;
use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpStream, ToSocketAddrs},
    sync::Arc,
    time::{Duration, Instant},
};

/// How long before a due time the thread stops sleeping and starts spinning (the kernel's default
/// timer slack is 50 µs).
const SPIN: Duration = Duration::from_micros(80);

/// What one connection saw.
#[derive(Default)]
struct Tally {
    /// Latencies in microseconds of the answered requests.
    latencies: Vec<u32>,
    ok: u64,
    non_2xx: u64,
    errors: u64,
}

/// A parsed `http://host:port/path` URL (the generator speaks plain HTTP/1.1 only).
struct Target {
    addr: SocketAddr,
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("`{url}`: only http:// URLs"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = host
        .to_socket_addrs()
        .map_err(|e| format!("`{host}`: {e}"))?
        .next()
        .ok_or_else(|| format!("`{host}`: no address"))?;
    Ok(Target {
        addr,
        host: host.to_owned(),
        path: path.to_owned(),
    })
}

/// `bench rate --url URL --rate R --seconds S [--connections C] [--tokens FILE]`.
pub fn main(args: &Args) -> Result<(), String> {
    let target = Arc::new(parse_url(args.text("url")?)?);
    let rate: f64 = args.number("rate", 1000.0)?;
    let seconds: f64 = args.number("seconds", 5.0)?;
    let connections: usize = args.number("connections", 16)?;
    if connections == 0 || seconds.is_nan() || seconds <= 0.0 || rate.is_nan() || rate < 0.0 {
        return Err("--connections, --seconds must be positive and --rate ≥ 0".into());
    }
    // One request head per token, built once: the generator's own cost stays small and constant.
    let tokens: Vec<String> = match args.0.get("tokens") {
        None => Vec::new(),
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {file}: {e}"))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let heads: Arc<Vec<Vec<u8>>> = Arc::new(if tokens.is_empty() {
        vec![request_head(&target, None)]
    } else {
        tokens
            .iter()
            .map(|t| request_head(&target, Some(t)))
            .collect()
    });

    let start = Instant::now() + Duration::from_millis(20);
    let end = start + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..connections)
        .map(|i| {
            let target = Arc::clone(&target);
            let heads = Arc::clone(&heads);
            std::thread::spawn(move || {
                connection(&target, &heads, i, connections, rate, start, end)
            })
        })
        .collect();
    let mut all = Tally::default();
    for thread in threads {
        let tally = thread.join().map_err(|_| "a connection thread panicked")?;
        all.latencies.extend(tally.latencies);
        all.ok += tally.ok;
        all.non_2xx += tally.non_2xx;
        all.errors += tally.errors;
    }
    let elapsed = seconds;
    all.latencies.sort_unstable();
    let pct = |p: f64| -> u32 {
        if all.latencies.is_empty() {
            return 0;
        }
        let i = ((p / 100.0) * (all.latencies.len() - 1) as f64).round() as usize;
        all.latencies[i.min(all.latencies.len() - 1)]
    };
    let answered = all.latencies.len() as u64;
    let mean = if answered == 0 {
        0.0
    } else {
        all.latencies.iter().map(|&l| f64::from(l)).sum::<f64>() / answered as f64
    };
    let out = json!({
        "url": args.text("url")?,
        "rate": rate,
        "seconds": seconds,
        "connections": connections,
        "requests": answered,
        "ok": all.ok,
        "non_2xx": all.non_2xx,
        "errors": all.errors,
        "achieved_rps": answered as f64 / elapsed,
        "latency_us": {
            "mean": mean.round(),
            "p50": pct(50.0),
            "p90": pct(90.0),
            "p99": pct(99.0),
            "p999": pct(99.9),
            "max": all.latencies.last().copied().unwrap_or(0),
        },
    });
    println!("{out}");
    Ok(())
}

fn request_head(target: &Target, token: Option<&str>) -> Vec<u8> {
    let mut head = format!("GET {} HTTP/1.1\r\nHost: {}\r\n", target.path, target.host);
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// One keep-alive connection's share of the schedule, until `end`.
fn connection(
    target: &Target,
    heads: &[Vec<u8>],
    index: usize,
    connections: usize,
    rate: f64,
    start: Instant,
    end: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut k: u64 = 0;
    loop {
        let due = if rate > 0.0 {
            let slot = k as f64 * connections as f64 + index as f64;
            start + Duration::from_secs_f64(slot / rate)
        } else {
            Instant::now().max(start)
        };
        if due >= end {
            break;
        }
        wait_until(due);
        let head = &heads[(k as usize * connections + index) % heads.len()];
        k += 1;
        let result = match stream.as_mut() {
            Some(s) => exchange(s, head, &mut buf),
            None => match connect(target) {
                Ok(s) => exchange(stream.insert(s), head, &mut buf),
                Err(e) => Err(e),
            },
        };
        match result {
            Ok((status, keep_alive)) => {
                let micros = due.elapsed().as_micros();
                tally
                    .latencies
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
                if (200..300).contains(&status) {
                    tally.ok += 1;
                } else {
                    tally.non_2xx += 1;
                }
                if !keep_alive {
                    stream = None;
                }
            }
            Err(_) => {
                tally.errors += 1;
                stream = None;
                // A refused connection must not turn into a busy loop.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    tally
}

fn wait_until(due: Instant) {
    let now = Instant::now();
    if due > now + SPIN {
        std::thread::sleep(due - now - SPIN);
    }
    while Instant::now() < due {
        std::thread::yield_now();
    }
}

fn connect(target: &Target) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&target.addr, Duration::from_secs(2))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// Sends one request and reads the whole response. Returns the status and whether the
/// connection may be reused.
fn exchange(stream: &mut TcpStream, head: &[u8], buf: &mut Vec<u8>) -> io::Result<(u16, bool)> {
    stream.write_all(head)?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    // The head.
    let (status, head_len, body) = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = response.code.unwrap_or(0);
                let mut body = Body::Length(0);
                let mut keep_alive = true;
                for h in response.headers.iter() {
                    if h.name.eq_ignore_ascii_case("content-length") {
                        let n = std::str::from_utf8(h.value)
                            .ok()
                            .and_then(|v| v.trim().parse().ok())
                            .ok_or(io::ErrorKind::InvalidData)?;
                        body = Body::Length(n);
                    } else if h.name.eq_ignore_ascii_case("transfer-encoding")
                        && h.value.eq_ignore_ascii_case(b"chunked")
                    {
                        body = Body::Chunked;
                    } else if h.name.eq_ignore_ascii_case("connection")
                        && h.value.eq_ignore_ascii_case(b"close")
                    {
                        keep_alive = false;
                    }
                }
                break (status, len, (body, keep_alive));
            }
            Ok(httparse::Status::Partial) => continue,
            Err(_) => return Err(io::ErrorKind::InvalidData.into()),
        }
    };
    let (body, keep_alive) = body;
    buf.drain(..head_len);
    match body {
        Body::Length(n) => {
            while buf.len() < n {
                let got = stream.read(&mut chunk)?;
                if got == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..got]);
            }
        }
        Body::Chunked => loop {
            // Enough to know the body ended: the last chunk `0\r\n\r\n` (no trailers are sent).
            if buf.ends_with(b"0\r\n\r\n") {
                break;
            }
            let got = stream.read(&mut chunk)?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..got]);
        },
    }
    Ok((status, keep_alive))
}

enum Body {
    Length(usize),
    Chunked,
}
