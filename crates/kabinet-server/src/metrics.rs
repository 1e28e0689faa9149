//! `/healthz`, `/readyz`, `/metrics` (Prometheus text format) and the
//! request counter middleware.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Request counters by status class, and total time spent answering.
#[derive(Debug, Default)]
pub struct Metrics {
    by_class: [AtomicU64; 5],
    duration_micros: AtomicU64,
}

impl Metrics {
    fn observe(&self, status: StatusCode, micros: u64) {
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.duration_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics.observe(response.status(), micros);
    response
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.services.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Metrics need a signed-in caller (a token, for Prometheus): only sign-in,
/// health and static files are public.
pub async fn metrics(State(state): State<AppState>, _ctx: crate::extract::ApiCtx) -> Response {
    let m = &state.metrics;
    let mut text = String::from(
        "# HELP kabinet_http_requests_total HTTP requests answered, by status class.\n# TYPE kabinet_http_requests_total counter\n",
    );
    for (index, counter) in m.by_class.iter().enumerate() {
        text.push_str(&format!(
            "kabinet_http_requests_total{{class=\"{}xx\"}} {}\n",
            index + 1,
            counter.load(Ordering::Relaxed)
        ));
    }
    text.push_str(
        "# HELP kabinet_http_request_duration_seconds_sum Time spent answering HTTP requests.\n",
    );
    text.push_str("# TYPE kabinet_http_request_duration_seconds_sum counter\n");
    text.push_str(&format!(
        "kabinet_http_request_duration_seconds_sum {:.6}\n",
        m.duration_micros.load(Ordering::Relaxed) as f64 / 1e6
    ));
    let ready = state.services.store.ping().await.is_ok();
    text.push_str("# HELP kabinet_database_up Whether the database answers.\n# TYPE kabinet_database_up gauge\n");
    text.push_str(&format!("kabinet_database_up {}\n", u8::from(ready)));
    let store = &state.services.store;
    for (name, help, (hits, misses)) in [
        (
            "kabinet_search_probes_total",
            "Company searches whose match count was remembered (hit) or counted (miss).",
            store.word_match_memo().counts(),
        ),
        (
            "kabinet_list_totals_total",
            "Company lists by token whose totals were remembered (hit) or counted (miss).",
            store.list_totals().counts(),
        ),
        (
            "kabinet_list_anchors_total",
            "Company list pages by token at an offset of 500 or more whose list had remembered where pages landed (hit) or not (miss).",
            store.list_anchors().counts(),
        ),
        (
            "kabinet_list_pages_total",
            "Company list pages by token read before at the company epoch (hit: marked by a first read, or remembered by a second) or not (miss).",
            store.list_pages().counts(),
        ),
        (
            "kabinet_company_cards_total",
            "Company cards read by token, alone or on a list page, answered from memory (hit) or read from the database (miss).",
            store.company_cards().counts(),
        ),
    ] {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n\
             {name}{{memo=\"hit\"}} {hits}\n{name}{{memo=\"miss\"}} {misses}\n"
        ));
    }
    if let Ok(pending) = state.services.outbox_pending().await {
        text.push_str("# HELP kabinet_outbox_pending Outbox events not yet delivered.\n# TYPE kabinet_outbox_pending gauge\n");
        text.push_str(&format!("kabinet_outbox_pending {pending}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
