//! The invoice store: every SQL statement of the service, behind small typed functions.
//!
//! An invoice is two tables (the invoice and its lines). Reads fetch both and assemble
//! [`Invoice`]s; the status is derived here, from the stored `paid_on` and `due_on` and the
//! caller-supplied `today`.

use crate::model::{Invoice, Line, Status};
use sqlx::SqlitePool;
use std::collections::HashMap;
use time::{Date, macros::format_description};

/// `YYYY-MM-DD`, the one date format stored and shown.
const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, DATE_FORMAT).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(DATE_FORMAT)
        .unwrap_or_else(|_| date.to_string())
}

/// A validated invoice, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoice {
    /// Public id (a fresh UUID, or a fixed one for demo data).
    pub id: String,
    /// The customer.
    pub user_id: String,
    /// Issue date.
    pub issued_on: Date,
    /// Due date (not before the issue date).
    pub due_on: Date,
    /// Payment date, if paid.
    pub paid_on: Option<Date>,
    /// ISO 4217 code.
    pub currency: String,
    /// At least one line.
    pub lines: Vec<Line>,
    /// Sum of the lines, checked for overflow by the caller.
    pub total_cents: i64,
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    seq: i64,
    id: String,
    user_id: String,
    issued_on: String,
    due_on: String,
    paid_on: Option<String>,
    currency: String,
    total_cents: i64,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    invoice_seq: i64,
    description: String,
    quantity: i64,
    unit_price_cents: i64,
}

/// The invoice number shown to people: the issue year and the never-reused sequence number.
fn number(issued_on: Date, seq: i64) -> String {
    format!("INV-{}-{seq:05}", issued_on.year())
}

fn stored_date(text: &str) -> Result<Date, sqlx::Error> {
    parse_date(text).ok_or_else(|| {
        sqlx::Error::Decode(format!("stored date {text:?} is not YYYY-MM-DD").into())
    })
}

fn assemble(row: InvoiceRow, lines: Vec<Line>, today: Date) -> Result<Invoice, sqlx::Error> {
    let issued_on = stored_date(&row.issued_on)?;
    let due_on = stored_date(&row.due_on)?;
    let paid_on = row.paid_on.as_deref().map(stored_date).transpose()?;
    Ok(Invoice {
        number: number(issued_on, row.seq),
        id: row.id,
        user_id: row.user_id,
        issued_at: format_date(issued_on),
        due_at: format_date(due_on),
        status: Status::of(due_on, paid_on, today),
        currency: row.currency,
        lines,
        total_cents: row.total_cents,
    })
}

fn line(row: LineRow) -> Line {
    Line {
        description: row.description,
        quantity: row.quantity,
        unit_price_cents: row.unit_price_cents,
    }
}

/// The invoices of `user_id`, newest first, with their lines.
pub async fn list_for_user(
    pool: &SqlitePool,
    user_id: &str,
    today: Date,
) -> Result<Vec<Invoice>, sqlx::Error> {
    let rows: Vec<InvoiceRow> = sqlx::query_as(
        "SELECT seq, id, user_id, issued_on, due_on, paid_on, currency, total_cents
         FROM invoices WHERE user_id = ?1 ORDER BY issued_on DESC, seq DESC",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    // All lines of those invoices in one query, rather than one query per invoice.
    let line_rows: Vec<LineRow> = sqlx::query_as(
        "SELECT l.invoice_seq, l.description, l.quantity, l.unit_price_cents
         FROM invoice_lines l JOIN invoices i ON i.seq = l.invoice_seq
         WHERE i.user_id = ?1 ORDER BY l.invoice_seq, l.position",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let mut lines: HashMap<i64, Vec<Line>> = HashMap::new();
    for row in line_rows {
        lines.entry(row.invoice_seq).or_default().push(line(row));
    }
    rows.into_iter()
        .map(|row| {
            let mine = lines.remove(&row.seq).unwrap_or_default();
            assemble(row, mine, today)
        })
        .collect()
}

/// One invoice by its public id, whoever it belongs to (the caller checks ownership).
pub async fn find(
    pool: &SqlitePool,
    id: &str,
    today: Date,
) -> Result<Option<Invoice>, sqlx::Error> {
    let row: Option<InvoiceRow> = sqlx::query_as(
        "SELECT seq, id, user_id, issued_on, due_on, paid_on, currency, total_cents
         FROM invoices WHERE id = ?1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT invoice_seq, description, quantity, unit_price_cents
         FROM invoice_lines WHERE invoice_seq = ?1 ORDER BY position",
    )
    .bind(row.seq)
    .fetch_all(pool)
    .await?;
    assemble(row, lines.into_iter().map(line).collect(), today).map(Some)
}

/// Stores a new invoice and its lines in one transaction, and returns it as the API shows it.
pub async fn insert(
    pool: &SqlitePool,
    new: &NewInvoice,
    today: Date,
) -> Result<Invoice, sqlx::Error> {
    let seq = insert_with(
        pool,
        "INSERT INTO invoices (id, user_id, issued_on, due_on, paid_on, currency, total_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
        new,
    )
    .await?
    .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Invoice {
        id: new.id.clone(),
        user_id: new.user_id.clone(),
        number: number(new.issued_on, seq),
        issued_at: format_date(new.issued_on),
        due_at: format_date(new.due_on),
        status: Status::of(new.due_on, new.paid_on, today),
        currency: new.currency.clone(),
        lines: new.lines.clone(),
        total_cents: new.total_cents,
    })
}

/// Stores an invoice unless one with its id exists (demo seeding, safe to repeat on a file).
pub async fn insert_if_absent(pool: &SqlitePool, new: &NewInvoice) -> Result<bool, sqlx::Error> {
    let seq = insert_with(
        pool,
        "INSERT OR IGNORE INTO invoices
             (id, user_id, issued_on, due_on, paid_on, currency, total_cents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING seq",
        new,
    )
    .await?;
    Ok(seq.is_some())
}

/// Runs `sql` (an insert into `invoices` returning `seq`, or nothing when ignored) and the line
/// inserts in one transaction: an invoice is never visible without its lines.
async fn insert_with(
    pool: &SqlitePool,
    sql: &'static str,
    new: &NewInvoice,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let seq: Option<i64> = sqlx::query_scalar(sql)
        .bind(&new.id)
        .bind(&new.user_id)
        .bind(format_date(new.issued_on))
        .bind(format_date(new.due_on))
        .bind(new.paid_on.map(format_date))
        .bind(&new.currency)
        .bind(new.total_cents)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(seq) = seq else {
        return Ok(None);
    };
    for (position, line) in new.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_seq, position, description, quantity, unit_price_cents)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(seq)
        .bind(position as i64)
        .bind(&line.description)
        .bind(line.quantity)
        .bind(line.unit_price_cents)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(seq))
}
