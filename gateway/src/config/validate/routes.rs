//! `[[routes]]`: unique names, canonical prefixes and rewrites, a defined upstream, real HTTP
//! methods and roles — and no route that an earlier one shadows.

use super::{
    common::{
        NameForm, NameRule, Names, check_canonical_path, check_roles, check_scopes,
        check_upstream_ref, upstream_names,
    },
    report::Report,
};
use crate::{
    config::{
        Config,
        diagnostic::{did_you_mean, suggestion},
        location::KeyPath,
    },
    routing::MethodSet,
};

/// Checks every route.
pub fn check(config: &Config, report: &mut Report<'_, '_>) {
    let upstreams = upstream_names(&config.upstreams);
    let mut names = Names::new(NameRule {
        what: "route",
        form: NameForm::NotBlank {
            fix: "name the route",
        },
        first_was: "already used",
        duplicate_fix: "give each route its own name (the access log shows it)",
    });
    let mut methods = Vec::with_capacity(config.routes.len());
    for (i, route) in config.routes.iter().enumerate() {
        let path = KeyPath::key("routes").index(i);
        names.check(&route.name, &path, report);
        check_canonical_path(&route.prefix, &path.field("prefix"), report);
        if let Some(rewrite) = &route.rewrite_prefix {
            check_canonical_path(rewrite, &path.field("rewrite_prefix"), report);
            if route.strip_prefix {
                report.push(
                    &path.field("rewrite_prefix"),
                    "both `strip_prefix` and `rewrite_prefix` are set",
                    "keep one: `strip_prefix = true` is the same as rewrite_prefix = \"/\"",
                );
            }
        }
        let known = || {
            if upstreams.is_empty() {
                "name one of the [[upstreams]] (no [[upstreams]] are defined yet)".to_owned()
            } else {
                format!(
                    "name one of the [[upstreams]] (defined upstreams: {})",
                    upstreams.join(", ")
                )
            }
        };
        check_upstream_ref(
            &route.upstream,
            &upstreams,
            &path.field("upstream"),
            known,
            report,
        );
        let mut set = MethodSet::EMPTY;
        for (m, method) in route.methods.iter().enumerate() {
            match MethodSet::parse_one(method) {
                Some(bits) => set = set.union(bits),
                None => report.push(
                    &path.field("methods").index(m),
                    format!(
                        "`{method}` is not an HTTP method{}",
                        suggestion(did_you_mean(method, MethodSet::NAMES))
                    ),
                    "use upper-case names such as \"GET\" or \"POST\"",
                ),
            }
        }
        if route.methods.is_empty() {
            set = MethodSet::ANY;
        }
        methods.push(set);
        check_roles(&route.roles, route.auth, "route", &path, report);
        check_scopes(&route.scopes, route.auth, "route", &path, report);
        // Shadowing: an earlier route with the same prefix and the same kind of match takes every
        // request for the methods both answer, so this one would never see them.
        for (j, earlier) in config.routes[..i].iter().enumerate() {
            let overlap = methods[j].intersect(set);
            if earlier.prefix == route.prefix && earlier.exact == route.exact && !overlap.is_empty()
            {
                report.push(
                    &path,
                    format!(
                        "route `{}` is shadowed for {} by route `{}`{}, which has the same prefix `{}` and comes first",
                        route.name,
                        overlap.describe(),
                        earlier.name,
                        report.line_of(&KeyPath::key("routes").index(j)),
                        route.prefix
                    ),
                    "give the routes disjoint `methods`, make one `exact = true`, or remove one",
                );
                break;
            }
        }
    }
}
