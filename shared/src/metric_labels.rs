//! Label values every program's metrics share, kept few on purpose: each distinct value is a
//! time series Prometheus keeps, so a label must never take a value a client chooses.

use http::Method;

/// The method as a label: the nine standard methods by name, anything else `OTHER` (a client
/// can invent methods; the series must not grow with them).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// A status class (`status / 100`) as a label: `1xx` … `5xx`.
pub const fn class_label(class: u16) -> &'static str {
    match class {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}
