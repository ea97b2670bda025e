//! A route's optional sections: `[routes.cors]` (real origins, methods and header names),
//! `[routes.headers]` (valid headers, none the gateway owns), `[routes.split]` (known upstreams,
//! not every weight 0) and `[routes.response_cache]` (positive bounds, a `GET` route).

use super::{common::upstream_names, report::Report};
use crate::{
    config::{
        Config, CorsConfig, HeaderRewrites, ResponseCacheConfig, RouteConfig, SplitConfig,
        diagnostic::{did_you_mean, suggestion},
        location::KeyPath,
    },
    headers_rewrite::{Direction, owned},
    routing::MethodSet,
};
use http::{HeaderName, HeaderValue};

/// The longest preflight cache browsers honour (Firefox: 24 h; Chromium caps at 2 h).
const MAX_CORS_AGE_S: u32 = 86_400;

/// Checks the optional sections of every route.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    for (i, route) in config.routes.iter().enumerate() {
        let path = KeyPath::key("routes").index(i);
        if let Some(cors) = &route.cors {
            check_cors(cors, &path.field("cors"), report);
        }
        if let Some(headers) = &route.headers {
            let at = path.field("headers");
            check_rewrites(
                &headers.request,
                Direction::Request,
                &at.field("request"),
                report,
            );
            check_rewrites(
                &headers.response,
                Direction::Response,
                &at.field("response"),
                report,
            );
        }
        if let Some(split) = &route.split {
            check_split(config, route, split, &path.field("split"), report);
        }
        if let Some(cache) = &route.response_cache {
            check_cache(route, cache, &path.field("response_cache"), report);
        }
    }
}

/// Why `origin` is not an origin (`scheme://host[:port]`), if it is not.
fn origin_problem(origin: &str) -> Option<&'static str> {
    if origin == "null" {
        return Some("`null` is the origin of every sandboxed page and local file at once");
    }
    if origin.contains('*') {
        return Some("origins are matched exactly; a wildcard would match origins nobody reviewed");
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Some("it has no scheme");
    };
    if scheme != "http" && scheme != "https" {
        return Some("the scheme must be http or https");
    }
    if rest.is_empty() {
        return Some("it has no host");
    }
    if rest.contains(['/', '?', '#']) {
        return Some("an origin has no path, query or fragment (not even a trailing `/`)");
    }
    if rest.contains('@') {
        return Some("an origin has no user name or password");
    }
    if http::uri::Authority::try_from(rest).is_err() {
        return Some("the host or port is not valid");
    }
    None
}

fn check_cors(cors: &CorsConfig, at: &KeyPath, report: &mut Report<'_, '_>) {
    if cors.allow_origins.is_empty() {
        report.push(
            &at.field("allow_origins"),
            "no origin is allowed, so the section allows nothing",
            "list the pages' origins, e.g. allow_origins = [\"https://shop.example.edu\"]",
        );
    }
    for (o, origin) in cors.allow_origins.iter().enumerate() {
        if let Some(why) = origin_problem(origin) {
            report.push(
                &at.field("allow_origins").index(o),
                format!("`{origin}` is not an origin: {why}"),
                "write each origin exactly as a browser sends it: scheme://host[:port], e.g. \"https://shop.example.edu\" or \"http://localhost:3000\"",
            );
        }
    }
    for (m, method) in cors.allow_methods.iter().enumerate() {
        if MethodSet::parse_one(method).is_none() {
            report.push(
                &at.field("allow_methods").index(m),
                format!(
                    "`{method}` is not an HTTP method{}",
                    suggestion(did_you_mean(method, MethodSet::NAMES))
                ),
                "use upper-case names such as \"GET\" or \"PUT\"",
            );
        }
    }
    for (key, names) in [
        ("allow_headers", &cors.allow_headers),
        ("expose_headers", &cors.expose_headers),
    ] {
        for (h, name) in names.iter().enumerate() {
            if name == "*" || HeaderName::from_bytes(name.as_bytes()).is_err() {
                report.push(
                    &at.field(key).index(h),
                    format!("`{name}` is not a header name"),
                    "name each header, e.g. \"Authorization\" or \"Content-Type\" (no wildcard)",
                );
            }
        }
    }
    if cors.max_age_s > MAX_CORS_AGE_S {
        report.push(
            &at.field("max_age_s"),
            format!(
                "{} s is longer than any browser keeps a preflight",
                cors.max_age_s
            ),
            format!("use at most {MAX_CORS_AGE_S} (a day); 600 is a common choice"),
        );
    }
}

fn check_rewrites(
    rewrites: &HeaderRewrites,
    direction: Direction,
    at: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    let which = match direction {
        Direction::Request => "request",
        Direction::Response => "response",
    };
    let names = rewrites
        .remove
        .iter()
        .map(|n| ("remove", n))
        .chain(rewrites.set.keys().map(|n| ("set", n)))
        .chain(rewrites.add.keys().map(|n| ("add", n)));
    for (key, name) in names {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            report.push(
                &at.field(key),
                format!("`{name}` is not a header name"),
                "use letters, digits and `-`, e.g. \"X-Api-Version\"",
            );
        } else if owned(name, direction) {
            report.push(
                &at.field(key),
                format!(
                    "`{name}` is set by the gateway itself on the {which}; a rewrite may not touch it"
                ),
                "remove it from the rewrite: identity, request-id, forwarding, trace, framing and the gateway's own answer headers are the gateway's (docs/route-features.md lists them)",
            );
        }
    }
    for (key, map) in [("set", &rewrites.set), ("add", &rewrites.add)] {
        for (name, value) in map {
            if HeaderValue::from_str(value).is_err() {
                report.push(
                    &at.field(key),
                    format!("the value of `{name}` is not a valid header value"),
                    "use visible ASCII characters and spaces, without line breaks",
                );
            }
        }
    }
}

fn check_split(
    config: &Config,
    route: &RouteConfig,
    split: &SplitConfig,
    at: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    let known = upstream_names(&config.upstreams);
    if split.weights.is_empty() {
        report.push(
            &at.field("weights"),
            "the split names no upstream",
            "list the versions, e.g. weights = [{ upstream = \"billing\", weight = 90 }, { upstream = \"billing-v2\", weight = 10 }]",
        );
        return;
    }
    for (w, weight) in split.weights.iter().enumerate() {
        let entry = at.field("weights").index(w);
        if !known.contains(&weight.upstream.as_str()) {
            report.push(
                &entry.field("upstream"),
                format!(
                    "unknown upstream `{}`{}",
                    weight.upstream,
                    suggestion(did_you_mean(&weight.upstream, known.iter().copied()))
                ),
                format!("name one of the [[upstreams]] ({})", known.join(", ")),
            );
        }
        if split.weights[..w]
            .iter()
            .any(|earlier| earlier.upstream == weight.upstream)
        {
            report.push(
                &entry.field("upstream"),
                format!("`{}` is listed twice", weight.upstream),
                "list each upstream once, with its whole weight",
            );
        }
    }
    if split.weights.iter().all(|w| w.weight == 0) {
        report.push(
            &at.field("weights"),
            "every weight is 0, so no upstream would get any request",
            "give at least one upstream a positive weight (0 drains one version, not all)",
        );
    }
    if !split.weights.iter().any(|w| w.upstream == route.upstream) {
        report.push(
            &at.field("weights"),
            format!(
                "the route's own upstream `{}` is not in its split",
                route.upstream
            ),
            format!(
                "list `{}` in the weights (0 drains it): it is where the traffic goes when the split is removed",
                route.upstream
            ),
        );
    }
}

fn check_cache(
    route: &RouteConfig,
    cache: &ResponseCacheConfig,
    at: &KeyPath,
    report: &mut Report<'_, '_>,
) {
    for (key, value) in [
        ("ttl_ms", cache.ttl_ms),
        ("max_entries", cache.max_entries),
        ("max_bytes", cache.max_bytes),
        ("max_entry_bytes", cache.max_entry_bytes),
    ] {
        if value == 0 {
            report.push(
                &at.field(key),
                "a zero here keeps nothing",
                "set a positive number, or remove [routes.response_cache]",
            );
        }
    }
    if cache.max_entry_bytes > cache.max_bytes {
        report.push(
            &at.field("max_entry_bytes"),
            "one entry may be larger than the whole cache",
            "make max_entry_bytes at most max_bytes",
        );
    }
    let methods = MethodSet::parse_list(&route.methods).unwrap_or(MethodSet::ANY);
    if !methods.contains(&http::Method::GET) {
        report.push(
            at,
            "only GET answers are cached, and this route does not answer GET",
            "remove [routes.response_cache], or add \"GET\" to the route's methods",
        );
    }
}
