//! `POST /billing/invoices` input: what a client may send, and every rule it must meet.
//!
//! Parsing (types, unknown fields) is [`shared::AppJson`]'s job and answers 400/422 by itself.
//! This module checks the *values* and reports **all** broken rules at once, so a client fixes
//! its request in one round trip rather than one error at a time.

use crate::{
    invoices::{NewInvoice, parse_date},
    model::{Line, Status},
};
use serde::Deserialize;
use time::{Date, Duration};

/// Most lines on one invoice.
pub const MAX_LINES: usize = 100;
/// Longest line description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// Largest quantity on one line.
pub const MAX_QUANTITY: i64 = 10_000;
/// Largest unit price, in cents (one million in the currency's main unit).
pub const MAX_UNIT_PRICE_CENTS: i64 = 100_000_000;
/// Days to pay when the request names no due date.
pub const DEFAULT_PAYMENT_TERM_DAYS: i64 = 30;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoice {
    /// The customer's id (their token's `sub`).
    pub user_id: String,
    /// ISO 4217 code: three capital letters, e.g. `USD`.
    pub currency: String,
    /// One or more lines.
    pub lines: Vec<Line>,
    /// `YYYY-MM-DD`; today when absent.
    #[serde(default)]
    pub issued_at: Option<String>,
    /// `YYYY-MM-DD`; 30 days after `issued_at` when absent.
    #[serde(default)]
    pub due_at: Option<String>,
    /// `open` (default) or `paid`. `overdue` is refused: it follows from the dates.
    #[serde(default)]
    pub status: Option<Status>,
}

/// Checks every rule and builds the invoice to store, with `id` as its public id; or returns
/// one sentence per broken rule.
pub fn validate(body: CreateInvoice, id: String, today: Date) -> Result<NewInvoice, Vec<String>> {
    let mut errors = Vec::new();

    let user_id = body.user_id.trim().to_owned();
    if user_id.is_empty() || user_id.len() > 64 {
        errors.push("`user_id` must be 1 to 64 characters".to_owned());
    } else if !user_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b':'))
    {
        errors.push("`user_id` may contain only letters, digits and - _ . @ :".to_owned());
    }

    if !is_currency_code(&body.currency) {
        errors.push(
            "`currency` must be an ISO 4217 code: three capital letters, e.g. USD".to_owned(),
        );
    }

    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        errors.push(format!("`lines` must hold 1 to {MAX_LINES} lines"));
    }
    let mut lines = Vec::with_capacity(body.lines.len());
    for (i, line) in body.lines.into_iter().enumerate() {
        let description = line.description.trim().to_owned();
        let chars = description.chars().count();
        if chars == 0 || chars > MAX_DESCRIPTION_CHARS {
            errors.push(format!(
                "`lines[{i}].description` must be 1 to {MAX_DESCRIPTION_CHARS} characters"
            ));
        } else if description.chars().any(char::is_control) {
            errors.push(format!(
                "`lines[{i}].description` must not contain control characters"
            ));
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            errors.push(format!(
                "`lines[{i}].quantity` must be from 1 to {MAX_QUANTITY}"
            ));
        }
        if !(0..=MAX_UNIT_PRICE_CENTS).contains(&line.unit_price_cents) {
            errors.push(format!(
                "`lines[{i}].unit_price_cents` must be from 0 to {MAX_UNIT_PRICE_CENTS} (integer cents)"
            ));
        }
        lines.push(Line {
            description,
            ..line
        });
    }

    let issued_on = match body.issued_at.as_deref() {
        None => Some(today),
        Some(text) => parse_date(text).or_else(|| {
            errors.push("`issued_at` must be a date written YYYY-MM-DD".to_owned());
            None
        }),
    };
    let due_on = match (body.due_at.as_deref(), issued_on) {
        (Some(text), _) => parse_date(text).or_else(|| {
            errors.push("`due_at` must be a date written YYYY-MM-DD".to_owned());
            None
        }),
        (None, Some(issued)) => issued.checked_add(Duration::days(DEFAULT_PAYMENT_TERM_DAYS)),
        (None, None) => None,
    };
    if let (Some(issued), Some(due)) = (issued_on, due_on)
        && due < issued
    {
        errors.push("`due_at` must not be before `issued_at`".to_owned());
    }

    let paid_on = match body.status {
        None | Some(Status::Open) => None,
        Some(Status::Paid) => Some(today),
        Some(Status::Overdue) => {
            errors.push(
                "`status` may be `open` or `paid`; `overdue` follows from `due_at` and is not set by hand"
                    .to_owned(),
            );
            None
        }
    };

    let total_cents = lines.iter().try_fold(0_i64, |sum, line| {
        line.quantity
            .checked_mul(line.unit_price_cents)
            .and_then(|amount| sum.checked_add(amount))
    });

    match (errors.is_empty(), issued_on, due_on, total_cents) {
        (true, Some(issued_on), Some(due_on), Some(total_cents)) => Ok(NewInvoice {
            id,
            user_id,
            issued_on,
            due_on,
            paid_on,
            currency: body.currency,
            lines,
            total_cents,
        }),
        _ if errors.is_empty() => Err(vec!["the invoice total is out of range".to_owned()]),
        _ => Err(errors),
    }
}

/// Three ASCII capital letters (the shape of an ISO 4217 code; the list itself is not checked).
pub fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn body(lines: Vec<Line>) -> CreateInvoice {
        CreateInvoice {
            user_id: "1905551042".into(),
            currency: "USD".into(),
            lines,
            issued_at: None,
            due_at: None,
            status: None,
        }
    }

    fn line(quantity: i64, unit_price_cents: i64) -> Line {
        Line {
            description: " Widget ".into(),
            quantity,
            unit_price_cents,
        }
    }

    #[test]
    fn defaults_are_today_and_thirty_days() {
        let today = date!(2026 - 02 - 01);
        let invoice = validate(body(vec![line(2, 150), line(1, 99)]), "id".into(), today).unwrap();
        assert_eq!(invoice.issued_on, today);
        assert_eq!(invoice.due_on, date!(2026 - 03 - 03));
        assert_eq!(invoice.total_cents, 399);
        assert_eq!(invoice.lines[0].description, "Widget");
        assert_eq!(invoice.paid_on, None);
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let mut bad = body(vec![line(0, -1)]);
        bad.currency = "usd".into();
        bad.issued_at = Some("2026-02-30".into());
        let errors = validate(bad, "id".into(), date!(2026 - 02 - 01)).unwrap_err();
        let text = errors.join("\n");
        for field in ["currency", "quantity", "unit_price_cents", "issued_at"] {
            assert!(text.contains(field), "{field} missing from {text}");
        }
    }

    #[test]
    fn due_before_issue_and_overdue_status_are_refused() {
        let mut bad = body(vec![line(1, 100)]);
        bad.issued_at = Some("2026-02-10".into());
        bad.due_at = Some("2026-02-09".into());
        bad.status = Some(Status::Overdue);
        let errors = validate(bad, "id".into(), date!(2026 - 02 - 01)).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
}
