//! The `/billing/*` handlers. Each one authenticates with [`shared::Authenticated`] (the token,
//! never the forwarded `X-User-*` headers) and then applies its own rule.

use crate::{
    error::{ApiError, BillingError},
    invoices,
    model::{Invoice, Summary},
    state::AppState,
    validation::{self, CreateInvoice},
};
use axum::{
    Router,
    extract::{Path, Query, State, rejection::QueryRejection},
    response::{IntoResponse, Response},
    routing::get,
};
use http::{StatusCode, header};
use serde::Deserialize;
use shared::service_kit::roles::require_admin;
use shared::{AppJson, Authenticated, Role};

/// The business routes (wrapped in the fault injection by [`crate::router`]).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/invoices", get(list_invoices).post(create_invoice))
        .route("/billing/invoices/{id}", get(invoice_by_id))
        .route("/billing/summary", get(summary))
}

/// `GET /billing/invoices`: the caller's invoices, newest first.
async fn list_invoices(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
) -> Result<AppJson<Vec<Invoice>>, ApiError> {
    let today = state.today();
    Ok(AppJson(
        invoices::list_for_user(&state.db, &claims.sub, today).await?,
    ))
}

/// `GET /billing/invoices/{id}`: one invoice, for its owner or an ADMIN.
///
/// Choice: someone else's invoice is **404 `invoice_not_found`**, the same answer as an id that
/// does not exist. Unlike a user id, an invoice's owner is only known after looking it up, so a
/// 403 here would confirm "this invoice exists, it is just not yours".
async fn invoice_by_id(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    Path(id): Path<String>,
) -> Result<AppJson<Invoice>, ApiError> {
    let invoice = invoices::find(&state.db, &id, state.today())
        .await?
        .filter(|invoice| invoice.user_id == claims.sub || claims.role == Role::Admin)
        .ok_or(BillingError::InvoiceNotFound)?;
    Ok(AppJson(invoice))
}

/// `POST /billing/invoices` (ADMIN): issues an invoice; 201 with `Location`.
async fn create_invoice(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    AppJson(body): AppJson<CreateInvoice>,
) -> Result<Response, ApiError> {
    require_admin(&claims)?;
    let today = state.today();
    let id = uuid::Uuid::now_v7().to_string();
    let new = validation::validate(body, id, today)
        .map_err(|errors| ApiError::Validation(errors.join("; ")))?;
    let invoice = invoices::insert(&state.db, &new, today).await?;
    tracing::info!(admin = %claims.sub, invoice = %invoice.id, customer = %invoice.user_id, "invoice issued");
    // A *relative* reference (RFC 9110 §10.2.2, resolved against the request URL): a client
    // that posted to `/api/billing/invoices` through the gateway resolves it to
    // `/api/billing/invoices/{id}`, one that called us directly to `/billing/invoices/{id}`.
    // An absolute path would be wrong behind the gateway, which strips `/api`.
    let location = format!("invoices/{}", invoice.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        AppJson(invoice),
    )
        .into_response())
}

/// `GET /billing/summary` query.
#[derive(Debug, Deserialize)]
struct SummaryQuery {
    /// Which currency to total; the configured default when absent.
    currency: Option<String>,
}

/// `GET /billing/summary[?currency=EUR]`: the caller's totals in one currency.
async fn summary(
    State(state): State<AppState>,
    Authenticated(claims): Authenticated,
    query: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<AppJson<Summary>, ApiError> {
    let Query(query) = query
        .map_err(|_| BillingError::InvalidQuery("the query string could not be read".to_owned()))?;
    let currency = query
        .currency
        .unwrap_or_else(|| state.default_currency.to_string());
    if !validation::is_currency_code(&currency) {
        return Err(BillingError::InvalidQuery(
            "`currency` must be an ISO 4217 code: three capital letters, e.g. USD".to_owned(),
        )
        .into());
    }
    let invoices = invoices::list_for_user(&state.db, &claims.sub, state.today()).await?;
    Ok(AppJson(Summary::of(&claims.sub, &currency, &invoices)))
}
