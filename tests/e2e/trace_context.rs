//! One trace across the gateway and the services: the backends continue the gateway's trace, so
//! a problem body a backend writes quotes the trace id the client started; and a backend reached
//! directly continues its caller's trace too.

use crate::helpers::{Service, TestDemo, assert_problem};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// A 404 the user-service writes (nothing at that path), passed through by the gateway: its
// `trace_id` is the client's, because the gateway sent the same trace id on.
#[tokio::test]
async fn a_backends_problem_through_the_gateway_quotes_the_clients_trace_id() {
    let demo = TestDemo::start().await;
    let token = demo.student_token().await;
    let response = demo
        .client
        .get(demo.gateway("/api/users/nothing/here"))
        .bearer_auth(&token)
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 404, "not_found").await;
    assert_eq!(problem["trace_id"], TRACE_ID, "{problem}");
}

// Reached directly, without a token, the billing-service refuses with 401 — in the caller's
// trace; without a `traceparent` it starts one, and quotes that.
#[tokio::test]
async fn a_backend_reached_directly_continues_the_callers_trace() {
    let demo = TestDemo::start().await;
    let response = demo
        .client
        .get(demo.direct(Service::Billing, "/billing/invoices"))
        .header("traceparent", TRACEPARENT)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 401, "token_missing").await;
    assert_eq!(problem["trace_id"], TRACE_ID, "{problem}");

    let response = demo
        .client
        .get(demo.direct(Service::Billing, "/billing/invoices"))
        .header("traceparent", "00-not-a-trace-context")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 401, "token_missing").await;
    let started = problem["trace_id"].as_str().unwrap();
    assert_eq!(started.len(), 32, "{problem}");
    assert_ne!(started, TRACE_ID);
}
