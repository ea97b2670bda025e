//! What the API shows: [`Invoice`], [`Line`], [`Status`] and [`Summary`].
//!
//! Money is always integer cents (`total_cents`, `unit_price_cents`), never floating point.

use serde::{Deserialize, Serialize};
use time::Date;

/// `paid`, `open` or `overdue`. Only "paid" is stored; "overdue" is derived from the due date
/// and today's date, so it can never disagree with the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Settled.
    Paid,
    /// Unpaid, not yet due (due today counts as not yet late).
    Open,
    /// Unpaid and past its due date.
    Overdue,
}

impl Status {
    /// The status of an invoice due on `due_on`, paid on `paid_on` (if at all), seen on `today`.
    pub fn of(due_on: Date, paid_on: Option<Date>, today: Date) -> Status {
        match paid_on {
            Some(_) => Status::Paid,
            None if today > due_on => Status::Overdue,
            None => Status::Open,
        }
    }
}

/// One invoice line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// What was sold.
    pub description: String,
    /// How many.
    pub quantity: i64,
    /// Price of one, in cents.
    pub unit_price_cents: i64,
}

/// An invoice as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    /// Public id (UUID).
    pub id: String,
    /// The customer's id (`sub`).
    pub user_id: String,
    /// Human invoice number, `INV-<year>-<sequence>`, never reused.
    pub number: String,
    /// Issue date, `YYYY-MM-DD`.
    pub issued_at: String,
    /// Due date, `YYYY-MM-DD`.
    pub due_at: String,
    /// Derived on read; see [`Status::of`].
    pub status: Status,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    /// The lines, in order.
    pub lines: Vec<Line>,
    /// Sum of `quantity × unit_price_cents` over the lines.
    pub total_cents: i64,
}

/// A caller's totals in one currency: `GET /billing/summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Whose totals.
    pub user_id: String,
    /// The currency the totals are in; invoices in other currencies are not counted.
    pub currency: String,
    /// Invoices counted.
    pub invoice_count: u64,
    /// Sum of their totals.
    pub total_cents: i64,
    /// Of that, paid.
    pub paid_cents: i64,
    /// Of that, not paid yet (open + overdue).
    pub outstanding_cents: i64,
    /// Unpaid invoices past their due date.
    pub overdue_count: u64,
}

impl Summary {
    /// Totals over `invoices` (already the caller's) in `currency`. Computed from the same
    /// [`Invoice`]s the list shows, so the summary and the list can never disagree.
    pub fn of(user_id: &str, currency: &str, invoices: &[Invoice]) -> Summary {
        let mut summary = Summary {
            user_id: user_id.to_owned(),
            currency: currency.to_owned(),
            invoice_count: 0,
            total_cents: 0,
            paid_cents: 0,
            outstanding_cents: 0,
            overdue_count: 0,
        };
        for invoice in invoices.iter().filter(|i| i.currency == currency) {
            summary.invoice_count += 1;
            summary.total_cents += invoice.total_cents;
            match invoice.status {
                Status::Paid => summary.paid_cents += invoice.total_cents,
                Status::Open => summary.outstanding_cents += invoice.total_cents,
                Status::Overdue => {
                    summary.outstanding_cents += invoice.total_cents;
                    summary.overdue_count += 1;
                }
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn overdue_starts_the_day_after_the_due_date() {
        let due = date!(2026 - 03 - 10);
        assert_eq!(Status::of(due, None, date!(2026 - 03 - 09)), Status::Open);
        assert_eq!(Status::of(due, None, date!(2026 - 03 - 10)), Status::Open);
        assert_eq!(
            Status::of(due, None, date!(2026 - 03 - 11)),
            Status::Overdue
        );
        assert_eq!(
            Status::of(due, Some(due), date!(2027 - 01 - 01)),
            Status::Paid
        );
    }

    fn invoice(currency: &str, status: Status, total_cents: i64) -> Invoice {
        Invoice {
            id: "x".into(),
            user_id: "u".into(),
            number: "INV-2026-00001".into(),
            issued_at: "2026-01-01".into(),
            due_at: "2026-01-31".into(),
            status,
            currency: currency.into(),
            lines: Vec::new(),
            total_cents,
        }
    }

    #[test]
    fn a_summary_adds_up_one_currency() {
        let invoices = [
            invoice("USD", Status::Paid, 1_000),
            invoice("USD", Status::Open, 250),
            invoice("USD", Status::Overdue, 99),
            invoice("EUR", Status::Overdue, 5_000),
        ];
        assert_eq!(
            Summary::of("u", "USD", &invoices),
            Summary {
                user_id: "u".into(),
                currency: "USD".into(),
                invoice_count: 3,
                total_cents: 1_349,
                paid_cents: 1_000,
                outstanding_cents: 349,
                overdue_count: 1,
            }
        );
    }
}
