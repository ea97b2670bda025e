//! The route table: which configured route a (method, normalised path) belongs to.
//!
//! Compiled once from the configuration so a lookup is a handful of hash-map probes and a bit
//! test, with no allocation and no regular expression:
//!
//! 1. Routes are grouped by prefix. The candidates for `/api/users/7` are the path's segment
//!    prefixes, longest first: `/api/users/7`, `/api/users`, `/api`, `/`. Matching on whole
//!    segments is what keeps `/api/users` from matching `/api/users-admin`.
//! 2. The first (longest) group with a route whose *path* matches decides. An `exact` route
//!    matches only when the prefix is the whole path; exact routes are tried before prefix
//!    routes of the same group, then routes go in file order.
//! 3. Within that group the route whose methods include the request's wins. If routes match the
//!    path but none the method, the answer is 405 with `Allow` — the request does *not* fall back
//!    to a shorter prefix, where a weaker policy might apply.

use crate::{
    config::{AuthMode, CacheMode, Config},
    cors::Cors,
    headers_rewrite::{HeaderRewrite, Rewrites},
    response_cache::ResponseCache,
    split::Split,
};
use http::Method;
use shared::Role;
use std::{borrow::Cow, collections::HashMap, sync::Arc};

/// A set of HTTP methods as a bit mask, so a method check is one AND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodSet(u16);

impl MethodSet {
    /// No method.
    pub const EMPTY: MethodSet = MethodSet(0);
    /// Every method, including extension methods.
    pub const ANY: MethodSet = MethodSet(u16::MAX);
    /// The standard method names, in bit order.
    pub const NAMES: [&'static str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ];
    /// The bit extension methods (anything not in [`MethodSet::NAMES`]) map to.
    const EXTENSION: u16 = 1 << 15;

    /// The set for one configured method name. `GET` brings `HEAD` along: a `HEAD` runs the same
    /// handler, so it must meet the same policy.
    pub fn parse_one(name: &str) -> Option<MethodSet> {
        let index = Self::NAMES.iter().position(|n| *n == name)?;
        let bits = 1u16 << index;
        Some(MethodSet(if name == "GET" { bits | 0b10 } else { bits }))
    }

    /// The set of a list of names (empty list = any method); `None` if a name is unknown.
    pub fn parse_list(names: &[String]) -> Option<MethodSet> {
        if names.is_empty() {
            return Some(MethodSet::ANY);
        }
        names.iter().try_fold(MethodSet::EMPTY, |set, n| {
            Some(set.union(Self::parse_one(n)?))
        })
    }

    /// The bit of a request's method.
    pub fn of(method: &Method) -> MethodSet {
        let bit = match *method {
            Method::GET => 1,
            Method::HEAD => 1 << 1,
            Method::POST => 1 << 2,
            Method::PUT => 1 << 3,
            Method::DELETE => 1 << 4,
            Method::PATCH => 1 << 5,
            Method::OPTIONS => 1 << 6,
            Method::TRACE => 1 << 7,
            Method::CONNECT => 1 << 8,
            _ => Self::EXTENSION,
        };
        MethodSet(bit)
    }

    /// Methods in either set.
    pub const fn union(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 | other.0)
    }

    /// Methods in both sets.
    pub const fn intersect(self, other: MethodSet) -> MethodSet {
        MethodSet(self.0 & other.0)
    }

    /// True for the empty set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when `method` is in the set.
    pub fn contains(self, method: &Method) -> bool {
        !self.intersect(Self::of(method)).is_empty()
    }

    /// `GET, HEAD` — for an `Allow` header and messages.
    pub fn describe(self) -> String {
        if self == Self::ANY {
            return "every method".to_owned();
        }
        let names: Vec<&str> = Self::NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.0 & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        names.join(", ")
    }
}

/// A set of roles as a bit mask; empty means "no role check".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    fn bit(role: Role) -> u8 {
        match role {
            Role::Student => 1,
            Role::Admin => 2,
            Role::Service => 4,
        }
    }

    /// The set of the configured role names (unknown names were refused by validation).
    pub fn parse(names: &[String]) -> RoleSet {
        RoleSet(
            names
                .iter()
                .filter_map(|n| Role::parse(n))
                .fold(0, |acc, r| acc | Self::bit(r)),
        )
    }

    /// True when the route names no role.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when `role` is one of the set.
    pub fn allows(self, role: Role) -> bool {
        self.0 & Self::bit(role) != 0
    }

    /// `ADMIN or SERVICE`, for the 403 detail.
    pub fn describe(self) -> String {
        [Role::Student, Role::Admin, Role::Service]
            .into_iter()
            .filter(|r| self.allows(*r))
            .map(Role::as_str)
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// The OAuth scopes a route or aggregate accepts (RFC 6749 §3.3): a token must carry at least
/// one of them in its space-separated `scope` claim. Empty means no scope check.
///
/// Kept as a short list, not a hash set: routes name one to three scopes, and comparing a few
/// short strings beats hashing. The space-separated form is built once here, for the
/// `scope="…"` parameter of a refusal's `WWW-Authenticate` challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    names: Box<[Box<str>]>,
    joined: Box<str>,
}

impl ScopeSet {
    /// The set of the configured scope names (validation checked their characters).
    pub fn parse(names: &[String]) -> ScopeSet {
        ScopeSet {
            names: names.iter().map(|n| n.as_str().into()).collect(),
            joined: names.join(" ").into(),
        }
    }

    /// True when the route names no scope.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// True when the space-separated `granted` (a token's `scope` claim) holds one of the set.
    pub fn granted_by(&self, granted: &str) -> bool {
        granted
            .split(' ')
            .any(|token| self.names.iter().any(|name| **name == *token))
    }

    /// The scopes, space-separated (`billing billing:read`), as a challenge's `scope` lists
    /// them (RFC 6750 §3).
    pub fn describe(&self) -> &str {
        &self.joined
    }
}

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    /// The configured name (access log, metrics; shared with decision records).
    pub name: Arc<str>,
    /// The prefix it matches.
    pub prefix: Box<str>,
    /// Match only the whole path.
    pub exact: bool,
    /// Methods answered.
    pub methods: MethodSet,
    /// What replaces the prefix when forwarding; `None` forwards the path unchanged.
    pub rewrite: Option<Box<str>>,
    /// Index into the gateway's upstream list.
    pub upstream: usize,
    /// Token policy.
    pub auth: AuthMode,
    /// Roles accepted (empty: any authenticated caller).
    pub roles: RoleSet,
    /// What happens to `Cache-Control` on its answers.
    pub cache: CacheMode,
    /// OAuth scopes accepted (empty: no scope check); see [`crate::policy`].
    pub scopes: ScopeSet,
    /// Errors the gateway makes here also carry RFC 6749's `error` (the OAuth endpoints).
    pub oauth_errors: bool,
    /// The route's optional features, each `None` unless configured: a route without them
    /// pays one check of an `Option` per feature.
    pub features: Features,
}

/// A route's optional features ([`crate::config::route_features`]).
#[derive(Debug, Default)]
pub struct Features {
    /// Which browser origins may call it ([`crate::cors`]).
    pub cors: Option<Box<Cors>>,
    /// Headers rewritten on the way ([`crate::headers_rewrite`]).
    pub headers: Option<Box<HeaderRewrite>>,
    /// Its traffic spread over several upstreams ([`crate::split`]).
    pub split: Option<Box<Split>>,
    /// Its answers kept and served again ([`crate::response_cache`]).
    pub response_cache: Option<Box<ResponseCache>>,
}

impl Route {
    /// The path to send upstream: the normalised `path` with the prefix rewritten.
    /// `/api/users/7` with prefix `/api/users` and rewrite `/users` becomes `/users/7`.
    pub fn forward_path<'a>(&self, path: &'a str) -> Cow<'a, str> {
        let Some(replacement) = &self.rewrite else {
            return Cow::Borrowed(path);
        };
        let rest = if &*self.prefix == "/" {
            path
        } else {
            &path[self.prefix.len()..]
        };
        let rest = if rest == "/" { "" } else { rest };
        match (&**replacement, rest) {
            ("/", "") => Cow::Borrowed("/"),
            ("/", rest) => Cow::Borrowed(rest),
            (replacement, rest) => {
                let mut out = String::with_capacity(replacement.len() + rest.len());
                out.push_str(replacement);
                out.push_str(rest);
                Cow::Owned(out)
            }
        }
    }
}

/// Why no route was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No route's path matches → 404 `no_route`.
    NoRoute,
    /// Routes match the path but not the method → 405 with these methods in `Allow`.
    MethodNotAllowed(MethodSet),
}

/// All routes, grouped by prefix.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    /// prefix → indices into `routes`, exact routes first, then file order. Looked up once
    /// per path segment of every request, so hashed with `foldhash` rather than the standard
    /// SipHash (the difference is measured in docs/performance.md). The keys come from the
    /// configuration, never from clients, so there is no hash flooding to defend against.
    groups: HashMap<Box<str>, Vec<usize>, foldhash::fast::RandomState>,
}

impl RouteTable {
    /// Compiles the validated configuration's routes.
    pub fn compile(config: &Config) -> RouteTable {
        let mut table = RouteTable::default();
        for route in &config.routes {
            let index = |name: &str| {
                config
                    .upstreams
                    .iter()
                    .position(|u| u.name == name)
                    .expect("validation checked that every route names a known upstream")
            };
            let upstream = index(&route.upstream);
            let features = Features {
                cors: route.cors.as_ref().map(|c| Box::new(Cors::compile(c))),
                headers: route.headers.as_ref().map(|h| {
                    Box::new(HeaderRewrite {
                        request: Rewrites::compile(&h.request),
                        response: Rewrites::compile(&h.response),
                    })
                }),
                split: route
                    .split
                    .as_ref()
                    .map(|s| Box::new(Split::compile(s, index))),
                response_cache: route
                    .response_cache
                    .as_ref()
                    .map(|c| Box::new(ResponseCache::new(c))),
            };
            let rewrite = match (&route.rewrite_prefix, route.strip_prefix) {
                (Some(r), _) => Some(r.as_str().into()),
                (None, true) => Some("/".into()),
                (None, false) => None,
            };
            table.routes.push(Route {
                name: route.name.as_str().into(),
                prefix: route.prefix.as_str().into(),
                exact: route.exact,
                methods: MethodSet::parse_list(&route.methods).unwrap_or(MethodSet::ANY),
                rewrite,
                upstream,
                auth: route.auth,
                roles: RoleSet::parse(&route.roles),
                cache: route.cache_mode(),
                scopes: ScopeSet::parse(&route.scopes),
                oauth_errors: route.oauth_errors,
                features,
            });
        }
        for (i, route) in table.routes.iter().enumerate() {
            table
                .groups
                .entry(route.prefix.clone())
                .or_default()
                .push(i);
        }
        for members in table.groups.values_mut() {
            // Stable sort: exact routes first, file order kept within each kind.
            members.sort_by_key(|&i| !table.routes[i].exact);
        }
        table
    }

    /// The route for `method` and the *normalised* `path`.
    pub fn find(&self, method: &Method, path: &str) -> Result<&Route, Miss> {
        let mut candidate = path;
        loop {
            if let Some(members) = self.groups.get(candidate) {
                let mut allowed = MethodSet::EMPTY;
                for &i in members {
                    let route = &self.routes[i];
                    if route.exact && candidate.len() != path.len() {
                        continue;
                    }
                    if route.methods.contains(method) {
                        return Ok(route);
                    }
                    allowed = allowed.union(route.methods);
                }
                if !allowed.is_empty() {
                    return Err(Miss::MethodNotAllowed(allowed));
                }
            }
            if candidate == "/" {
                return Err(Miss::NoRoute);
            }
            // Next shorter segment prefix: `/api/users/7` → `/api/users` → `/api` → `/`.
            candidate = match candidate.rfind('/') {
                Some(0) | None => "/",
                Some(i) => &candidate[..i],
            };
        }
    }

    /// All routes, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::compile(&Config::demo())
    }

    fn name(table: &RouteTable, method: Method, path: &str) -> Result<String, Miss> {
        table.find(&method, path).map(|r| r.name.to_string())
    }

    #[test]
    fn prefixes_match_on_whole_segments() {
        let t = table();
        assert_eq!(name(&t, Method::GET, "/api/users/me").unwrap(), "users");
        assert_eq!(name(&t, Method::GET, "/api/users/7/x").unwrap(), "users");
        assert_eq!(
            name(&t, Method::GET, "/api/users-admin"),
            Err(Miss::NoRoute)
        );
        assert_eq!(name(&t, Method::GET, "/api"), Err(Miss::NoRoute));
        assert_eq!(name(&t, Method::GET, "/"), Err(Miss::NoRoute));
        assert_eq!(
            name(&t, Method::GET, "/.well-known/jwks.json").unwrap(),
            "well-known"
        );
    }

    #[test]
    fn exact_routes_win_on_the_whole_path_only() {
        let t = table();
        assert_eq!(name(&t, Method::GET, "/api/users").unwrap(), "users-list");
        // HEAD meets the same policy as GET.
        assert_eq!(name(&t, Method::HEAD, "/api/users").unwrap(), "users-list");
        assert_eq!(name(&t, Method::POST, "/api/users").unwrap(), "users");
        assert_eq!(name(&t, Method::GET, "/api/users/me").unwrap(), "users");
    }

    #[test]
    fn longest_prefix_wins_and_methods_do_not_fall_back() {
        let mut config = Config::demo();
        config.routes.push(crate::config::RouteConfig {
            name: "admin-only-delete".into(),
            prefix: "/api/users/admin".into(),
            methods: vec!["DELETE".into()],
            roles: vec!["ADMIN".into()],
            ..config.routes[4].clone()
        });
        let t = RouteTable::compile(&config);
        assert_eq!(
            name(&t, Method::DELETE, "/api/users/admin/1").unwrap(),
            "admin-only-delete"
        );
        let Err(Miss::MethodNotAllowed(allow)) = t.find(&Method::GET, "/api/users/admin") else {
            panic!("expected 405");
        };
        assert_eq!(allow.describe(), "DELETE");
    }

    #[test]
    fn rewrites_and_strips_the_prefix() {
        let t = table();
        let users = t.find(&Method::GET, "/api/users/me").unwrap();
        assert_eq!(users.forward_path("/api/users/me"), "/users/me");
        assert_eq!(users.forward_path("/api/users"), "/users");
        let wk = t.find(&Method::GET, "/.well-known/jwks.json").unwrap();
        assert_eq!(
            wk.forward_path("/.well-known/jwks.json"),
            "/.well-known/jwks.json"
        );
        let strip = Route {
            rewrite: Some("/".into()),
            ..Route {
                name: "s".into(),
                prefix: "/api/x".into(),
                exact: false,
                methods: MethodSet::ANY,
                rewrite: None,
                upstream: 0,
                auth: AuthMode::Public,
                roles: RoleSet::default(),
                cache: CacheMode::Backend,
                scopes: ScopeSet::default(),
                oauth_errors: false,
                features: Features::default(),
            }
        };
        assert_eq!(strip.forward_path("/api/x"), "/");
        assert_eq!(strip.forward_path("/api/x/7"), "/7");
    }

    #[test]
    fn a_root_route_catches_everything_else() {
        let mut config = Config::demo();
        config.routes.push(crate::config::RouteConfig {
            name: "root".into(),
            prefix: "/".into(),
            rewrite_prefix: Some("/static".into()),
            ..config.routes[0].clone()
        });
        let t = RouteTable::compile(&config);
        let root = t.find(&Method::GET, "/index.html").unwrap();
        assert_eq!(&*root.name, "root");
        assert_eq!(root.forward_path("/index.html"), "/static/index.html");
        assert_eq!(root.forward_path("/"), "/static");
        assert_eq!(name(&t, Method::GET, "/api/users/me").unwrap(), "users");
    }

    #[test]
    fn method_sets() {
        let get = MethodSet::parse_one("GET").unwrap();
        assert!(get.contains(&Method::HEAD));
        assert!(!get.contains(&Method::POST));
        assert!(MethodSet::ANY.contains(&Method::from_bytes(b"PURGE").unwrap()));
        assert_eq!(MethodSet::parse_one("get"), None);
    }
}
