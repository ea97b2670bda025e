//! The middleware that applies the [teaching toggles](super::toggles) to business routes.
//!
//! It wraps only the routes a user calls (`/users/*`, `/billing/*`), never `/healthz`, `/readyz`
//! or `/admin/*`: probes must tell the truth about the process, and a teacher who set
//! `error_rate = 1.0` must still be able to switch it off again.

use super::toggles::FaultInjector;
use crate::Problem;
use axum::{
    Router,
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http::{StatusCode, header};

/// A backend's business routes in the fault injection, plus `/admin/toggles` (outside it, so a
/// teacher can always switch the toggles off again).
pub fn toggled<S>(business: Router<S>, injector: FaultInjector) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    FaultInjector: axum::extract::FromRef<S>,
    crate::Verifier: axum::extract::FromRef<S>,
{
    apply(business, injector).merge(super::admin::router())
}

/// Wraps every route of `router` in the fault injection.
pub fn apply<S>(router: Router<S>, injector: FaultInjector) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(middleware::from_fn_with_state(injector, inject))
}

/// Waits the configured latency, then fails the configured fraction of requests with 503.
pub async fn inject(
    State(injector): State<FaultInjector>,
    request: Request,
    next: Next,
) -> Response {
    let decision = injector.decide();
    if !decision.delay.is_zero() {
        tracing::debug!(delay = ?decision.delay, "teaching toggle: adding latency");
        injector.sleep(decision.delay).await;
    }
    if decision.fail {
        tracing::info!("teaching toggle: injecting a failure");
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "injected_failure",
            "this failure was injected on purpose by the service's teaching toggles (error_rate)",
        )
        .with_header(header::RETRY_AFTER, "1")
        .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_kit::toggles::Toggles;
    use axum::{body::Body, routing::get};
    use tower::ServiceExt;

    fn app(toggles: Toggles) -> Router {
        apply(
            Router::new().route("/work", get(|| async { "done" })),
            FaultInjector::new(toggles),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn latency_is_added_before_the_handler() {
        let router = app(Toggles {
            latency_ms: 1_500,
            error_rate: 0.0,
        });
        let started = tokio::time::Instant::now();
        let response = router
            .oneshot(Request::get("/work").body(Body::empty()).unwrap())
            .await
            .unwrap();
        // With the clock paused, tokio jumps straight to the sleep's deadline: the elapsed
        // virtual time is exactly the injected latency, and the test takes no real time.
        assert_eq!(started.elapsed(), std::time::Duration::from_millis(1_500));
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test(start_paused = true)]
    async fn no_toggles_no_delay() {
        let started = tokio::time::Instant::now();
        let response = app(Toggles::default())
            .oneshot(Request::get("/work").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(started.elapsed(), std::time::Duration::ZERO);
        assert_eq!(response.status(), StatusCode::OK);
    }
}
