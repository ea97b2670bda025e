//! The aggregates of the configuration, compiled: what each one calls, with which deadlines.
//!
//! A leaf: the compiled gateway ([`crate::state::Gateway`]) holds the table, and the aggregate
//! pipeline ([`super`]) reads it.

use crate::{
    config::{AggregateConfig, AuthMode, CacheMode, Config},
    routing::{RoleSet, ScopeSet},
};
use std::{collections::HashMap, sync::Arc, time::Duration};

/// One compiled call.
#[derive(Debug)]
pub struct Call {
    /// Its section's key in the answer.
    pub key: Box<str>,
    /// Index of its upstream.
    pub upstream: usize,
    /// The upstream path; `{sub}` stands for the caller's id.
    pub path: Box<str>,
    /// A required call's failure fails the aggregate; an optional one's leaves a `null`.
    pub required: bool,
    /// Its own deadline, never beyond the aggregate's budget.
    pub timeout: Duration,
}

/// One compiled aggregate.
#[derive(Debug)]
pub struct Aggregate {
    /// Name (access log).
    pub name: Arc<str>,
    /// Whether a token is required.
    pub auth: AuthMode,
    /// The roles it accepts.
    pub roles: RoleSet,
    /// The OAuth scopes it accepts (empty: no scope check).
    pub scopes: ScopeSet,
    /// The whole aggregate's time budget.
    pub budget: Duration,
    /// Most bytes read from one call's answer.
    pub max_call_bytes: usize,
    /// Its calls, in the answer's order.
    pub calls: Vec<Call>,
    /// What happens to `Cache-Control` on its answer.
    pub cache: CacheMode,
}

/// Every aggregate, by exact path.
#[derive(Debug, Default)]
pub struct Aggregates {
    /// Looked up on every request: `foldhash`, as the route table (keys from the
    /// configuration only).
    by_path: HashMap<Box<str>, Aggregate, foldhash::fast::RandomState>,
}

impl Aggregates {
    /// Compiles the validated configuration's aggregates.
    pub fn compile(config: &Config) -> Aggregates {
        let by_path = config
            .aggregates
            .iter()
            .map(|a| (a.path.as_str().into(), compile_one(config, a)))
            .collect();
        Aggregates { by_path }
    }

    /// The aggregate answering this normalised path, if any.
    pub fn find(&self, path: &str) -> Option<&Aggregate> {
        if self.by_path.is_empty() {
            return None;
        }
        self.by_path.get(path)
    }
}

fn compile_one(config: &Config, a: &AggregateConfig) -> Aggregate {
    let budget = Duration::from_millis(a.timeout_ms);
    Aggregate {
        name: a.name.as_str().into(),
        auth: a.auth,
        roles: RoleSet::parse(&a.roles),
        scopes: ScopeSet::parse(&a.scopes),
        budget,
        max_call_bytes: a.max_call_bytes,
        cache: a.cache_mode(),
        calls: a
            .calls
            .iter()
            .map(|c| Call {
                key: c.key.as_str().into(),
                upstream: config
                    .upstreams
                    .iter()
                    .position(|u| u.name == c.upstream)
                    .expect("validation checked every call's upstream"),
                path: c.path.as_str().into(),
                required: c.required,
                timeout: c
                    .timeout_ms
                    .map_or(budget, Duration::from_millis)
                    .min(budget),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_dashboard_compiles_with_call_timeouts_within_the_budget() {
        let aggregates = Aggregates::compile(&Config::demo());
        let dashboard = aggregates.find("/api/dashboard").unwrap();
        let keys: Vec<&str> = dashboard.calls.iter().map(|c| &*c.key).collect();
        assert_eq!(keys, ["profile", "invoices", "summary"]);
        assert!(dashboard.calls[0].required && !dashboard.calls[1].required);
        assert!(
            dashboard
                .calls
                .iter()
                .all(|c| c.timeout <= dashboard.budget)
        );
        assert!(aggregates.find("/api/dashboard/x").is_none());
    }
}
