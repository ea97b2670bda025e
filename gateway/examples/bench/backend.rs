//! The fixed, cheap backend every target forwards to: one thread, HTTP/1.1 keep-alive, a small
//! JSON body on every path. It must cost little and the same for everyone, so it does no routing
//! beyond two special paths:
//!
//! - `/jwks.json`: the test keys' JWKS (with `--keys DIR`), for the gateway's RS256/EdDSA runs;
//! - `/delay/<ms>/…`: the same body after `<ms>` milliseconds, for the aggregation benchmark.

use crate::{Args, tokens};
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use std::{convert::Infallible, path::Path, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// What every ordinary request gets (44 bytes, like a small API answer).
const BODY: &str = r#"{"id":7,"name":"bench","items":[1,2,3],"ok":1}"#;

/// `bench backend --listen ADDR [--keys DIR]`: prints `listening <addr>` and serves until killed.
pub fn main(args: &Args) -> Result<(), String> {
    let listen = args.text_or("listen", "127.0.0.1:0").to_owned();
    let jwks = match args.0.get("keys") {
        Some(dir) => Some(Bytes::from(tokens::jwks(Path::new(dir))?)),
        None => None,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(serve(listen, Arc::new(jwks)))
}

async fn serve(listen: String, jwks: Arc<Option<Bytes>>) -> Result<(), String> {
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The harness waits for this line.
    println!("listening {addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let jwks = Arc::clone(&jwks);
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, Arc::clone(&jwks)));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    jwks: Arc<Option<Bytes>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    if path == "/jwks.json" {
        return Ok(match jwks.as_ref() {
            Some(body) => json(StatusCode::OK, body.clone()),
            None => json(StatusCode::NOT_FOUND, Bytes::from_static(b"{}")),
        });
    }
    if let Some(rest) = path.strip_prefix("/delay/") {
        let ms: u64 = rest
            .split('/')
            .next()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(json(StatusCode::OK, Bytes::from_static(BODY.as_bytes())))
}

fn json(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}
