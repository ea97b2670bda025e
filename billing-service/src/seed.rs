//! Demo invoices (demo mode only) for the two demo accounts: an online shop's order history with
//! every status present. Dates are set relative to the day the database is seeded, so "overdue"
//! and "open" stay true whenever the demo is started. Ids are fixed so exercises can name them.

use crate::{
    invoices::{self, NewInvoice},
    model::Line,
};
use shared::demo;
use sqlx::SqlitePool;
use time::{Date, Duration};

/// One seeded invoice: id, owner, issued `days_ago`, due `term_days` later, paid or not, lines.
struct Seed {
    id: &'static str,
    user_id: &'static str,
    days_ago: i64,
    term_days: i64,
    paid: bool,
    lines: &'static [(&'static str, i64, i64)],
}

/// The demo order history. Student: 5 invoices, USD 657.42 in all (65 742 cents), 279.97 paid,
/// 377.45 outstanding, one invoice (49.47) overdue. Admin: 2 invoices, USD 378.00, 129.00 open.
const SEEDS: &[Seed] = &[
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b2001",
        user_id: demo::student::ID,
        days_ago: 120,
        term_days: 14,
        paid: true,
        lines: &[
            ("Mechanical keyboard, TKL, brown switches", 1, 8_999),
            ("USB-C cable, braided, 2 m", 2, 1_299),
        ],
    },
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b2002",
        user_id: demo::student::ID,
        days_ago: 75,
        term_days: 14,
        paid: true,
        lines: &[
            ("Noise-cancelling headphones", 1, 14_900),
            ("Express shipping", 1, 1_500),
        ],
    },
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b2003",
        user_id: demo::student::ID,
        days_ago: 45,
        term_days: 30,
        paid: false, // due 15 days ago: overdue
        lines: &[
            ("Paperback: Designing Data-Intensive Applications", 1, 3_450),
            ("Dotted notebook, A5", 3, 499),
        ],
    },
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b2004",
        user_id: demo::student::ID,
        days_ago: 10,
        term_days: 30,
        paid: false, // due in 20 days: open
        lines: &[
            ("27-inch monitor, 1440p", 1, 27_900),
            ("Monitor arm, single", 1, 4_599),
            ("Standard shipping (free over USD 50)", 1, 0),
        ],
    },
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b2005",
        user_id: demo::student::ID,
        days_ago: 2,
        term_days: 14,
        paid: false, // open
        lines: &[("Cloud storage 200 GB, monthly plan", 1, 299)],
    },
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b1001",
        user_id: demo::admin::ID,
        days_ago: 60,
        term_days: 30,
        paid: true,
        lines: &[("Ergonomic office chair", 1, 24_900)],
    },
    Seed {
        id: "0b8f6c1e-4d2a-4f7b-9c11-5e0a7d3b1002",
        user_id: demo::admin::ID,
        days_ago: 5,
        term_days: 30,
        paid: false,
        lines: &[("Printer toner, black", 2, 6_450)],
    },
];

/// Inserts the demo invoices that are not there yet, dated relative to `today`.
pub async fn seed(pool: &SqlitePool, today: Date) -> Result<(), sqlx::Error> {
    let mut added = 0;
    for seed in SEEDS {
        let issued_on = today - Duration::days(seed.days_ago);
        let due_on = issued_on + Duration::days(seed.term_days);
        let lines: Vec<Line> = seed
            .lines
            .iter()
            .map(|&(description, quantity, unit_price_cents)| Line {
                description: description.to_owned(),
                quantity,
                unit_price_cents,
            })
            .collect();
        let total_cents = lines.iter().map(|l| l.quantity * l.unit_price_cents).sum();
        let invoice = NewInvoice {
            id: seed.id.to_owned(),
            user_id: seed.user_id.to_owned(),
            issued_on,
            due_on,
            // Paid a week after issue, like most customers do.
            paid_on: seed.paid.then(|| issued_on + Duration::days(7)),
            currency: "USD".to_owned(),
            lines,
            total_cents,
        };
        if invoices::insert_if_absent(pool, &invoice).await? {
            added += 1;
        }
    }
    tracing::info!(invoices = added, "demo invoices seeded");
    Ok(())
}
