#![recursion_limit = "256"]
//! The HTTP surface of Kabinet: the only crate that knows HTTP.
//!
//! REST handlers under `/api/v1`, the server-rendered console under `/`,
//! health and metrics endpoints. Handlers are thin: extract, call a use case
//! with the actor first, map the result; errors are mapped in `error.rs`.

pub mod access;
mod api;
mod api_factors;
mod api_groups;
mod api_registration;
mod api_rights;
mod console;
mod console_groups;
mod console_registration;
mod console_rights;
mod console_users;
mod error;
mod extract;
mod i18n;
mod metrics;
pub mod openapi;

use std::net::IpAddr;
use std::sync::Arc;

use axum::routing::{delete, get, post, put};
use axum::Router;
use kabinet_service::Services;

pub use metrics::Metrics;

/// The OpenAPI 3.1 document of the REST API.
pub fn openapi() -> serde_json::Value {
    openapi::document()
}

/// The documented REST operations as (method, path under `/api/v1`).
pub fn documented_operations() -> Vec<(&'static str, &'static str)> {
    openapi::OPERATIONS
        .iter()
        .map(|op| (op.method, op.path))
        .collect()
}

/// The access each REST operation declares: (method, path under
/// `/api/v1`, what it needs), for the access matrix test.
pub fn access_table() -> Vec<(&'static str, &'static str, access::Need)> {
    access::ACCESS.to_vec()
}

pub use access::Need;

/// HTTP settings.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Mark cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Peers whose `X-Forwarded-For` is believed; everyone else's address
    /// is taken from the socket.
    pub trusted_proxies: Vec<IpAddr>,
}

/// What every handler and middleware gets. axum clones it for each of them
/// on every request, so it is one `Arc`: a clone is one atomic increment,
/// where cloning and dropping the fields' own `Arc`s (seven) took 3 % of a
/// company card GET's time (perf, BENCHMARKS.md).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

/// The parts of [`AppState`], reached through it.
pub struct AppParts {
    pub services: Services,
    pub http: Arc<HttpSettings>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(services: Services, http: Arc<HttpSettings>, metrics: Arc<Metrics>) -> Self {
        Self(Arc::new(AppParts {
            services,
            http,
            metrics,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The page's CSP: scripts, styles and everything else from this origin
/// only, no inline code, never framed (ASVS 14.4).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// The API answers every problem as `application/problem+json`: axum's own
/// rejections (a path id that is not a number, a body too large, a missing
/// content type) come as plain text and are rewritten here.
async fn problem_for_plain_errors(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        axum::http::StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let mut answer = error::ApiError::new(status, code)
        .detail(detail)
        .into_response();
    for name in [axum::http::header::ALLOW, axum::http::header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

/// Security headers on every answer: no content sniffing, no referrer to
/// other sites, a strict CSP and no framing (unless the handler set its own
/// CSP, as the avatar does), and HSTS when served behind TLS.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    if state.http.secure_cookies {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static(
                "max-age=31536000; includeSubDomains",
            ));
    }
    response
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(api::login))
        .route("/auth/logout", post(api::logout))
        .route("/auth/recover", post(api::auth_recover))
        .route("/auth/second-factor", post(api::auth_second_factor))
        .route(
            "/auth/second-factor/resend",
            post(api::auth_second_factor_resend),
        )
        .route(
            "/me/totp",
            get(api::me_totp_status).post(api::me_totp_begin),
        )
        .route("/me/totp/confirm", post(api::me_totp_confirm))
        .route(
            "/me/passkeys",
            get(api_factors::passkey_list).post(api_factors::passkey_register),
        )
        .route(
            "/me/passkeys/options",
            post(api_factors::passkey_register_options),
        )
        .route("/me/passkeys/{id}", delete(api_factors::passkey_delete))
        .route(
            "/me/devices",
            get(api_factors::device_list).post(api_factors::device_trust),
        )
        .route("/me/devices/{id}", delete(api_factors::device_revoke))
        .route(
            "/auth/passkey/options",
            post(api_factors::passkey_sign_in_options),
        )
        .route("/auth/passkey", post(api_factors::passkey_sign_in))
        .route("/auth/pin", post(api_factors::pin_sign_in))
        .route("/permissions", get(api_rights::permissions))
        .route("/companies/{id}/enter", post(api_rights::company_enter))
        .route("/acting", delete(api_rights::acting_end))
        .route(
            "/departments",
            get(api_rights::departments_list).post(api_rights::departments_create),
        )
        .route(
            "/departments/{id}",
            get(api_rights::departments_get)
                .patch(api_rights::departments_update)
                .delete(api_rights::departments_delete),
        )
        .route(
            "/departments/{id}/rights",
            get(api_rights::department_rights_get).put(api_rights::department_rights_put),
        )
        .route(
            "/departments/{id}/members",
            get(api_rights::department_members_get).put(api_rights::department_members_put),
        )
        .route("/users/{id}/rights", get(api_rights::user_rights_get))
        .route(
            "/users/{id}/extra-rights",
            put(api_rights::user_extra_rights_put),
        )
        .route("/me/totp/disable", post(api::me_totp_disable))
        .route("/auth/password", post(api::auth_password))
        .route("/outbox", get(api::outbox_list))
        .route("/outbox/{id}/retry", post(api::outbox_retry))
        .route("/me", get(api::me))
        .route("/me/password", post(api::me_password))
        .route("/me/sessions", get(api::me_sessions))
        .route("/me/sessions/{id}", delete(api::me_session_end))
        .route(
            "/companies",
            get(api::companies_list).post(api::companies_create),
        )
        .route(
            "/companies/{id}",
            get(api::companies_get)
                .patch(api::companies_patch)
                .delete(api::companies_delete),
        )
        .route("/companies/{id}/restore", post(api::companies_restore))
        .route(
            "/companies/{id}/links",
            get(api_groups::links_list).post(api_groups::links_create),
        )
        .route(
            "/companies/{id}/links/{client_id}",
            delete(api_groups::links_delete),
        )
        .route(
            "/companies/{id}/registration-link",
            get(api_registration::link_get)
                .post(api_registration::link_create)
                .delete(api_registration::link_delete),
        )
        .route("/register", post(api_registration::register))
        .route("/users", get(api::users_list).post(api::users_create))
        .route(
            "/users/{id}",
            get(api::users_get)
                .patch(api::users_patch)
                .delete(api::users_delete),
        )
        .route("/users/{id}/restore", post(api::users_restore))
        .route(
            "/users/{id}/avatar",
            get(api::user_avatar_get)
                .put(api::user_avatar_put)
                .delete(api::user_avatar_delete),
        )
        .route(
            "/users/{id}/ip-rules",
            axum::routing::put(api::user_ip_rules),
        )
        .route(
            "/users/{id}/sessions",
            get(api::user_sessions).delete(api::user_sessions_end),
        )
        .route("/tokens", get(api::tokens_list).post(api::tokens_create))
        .route("/tokens/{id}", delete(api::tokens_delete))
        .route("/audit", get(api::audit_list))
        .route("/audit/export", get(api::audit_export))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .fallback(api::not_found)
        .layer(axum::middleware::map_response(problem_for_plain_errors));

    Router::new()
        .nest("/api/v1", api)
        .route(
            "/api/openapi.json",
            get(|| async { axum::Json(openapi::document()) }),
        )
        .route("/api/docs", get(console::api_docs))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(
            Router::new()
                .merge(console::routes())
                .merge(console_users::routes())
                .merge(console_groups::routes())
                .merge(console_registration::routes())
                .merge(console_rights::routes())
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    access::console_guard,
                )),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}
