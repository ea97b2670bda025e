//! `trusted_proxies`: entries that are not addresses or CIDR blocks.

use super::{base, errors};

#[test]
fn a_bad_trusted_proxy_is_refused() {
    let text = format!(
        "trusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/99\"]\n{}",
        base("")
    );
    let e = errors(&text);
    assert_eq!(e.diagnostics[0].key, "trusted_proxies[1]");
}
