//! The one place where errors become HTTP answers: RFC 9457 problem
//! documents for the API. 5xx bodies are opaque; the cause is logged.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kabinet_api::{FieldProblem, Problem};
use kabinet_service::ServiceError;

use crate::i18n::{message, Lang};

/// An API error, rendered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: Option<String>,
    pub errors: Vec<FieldProblem>,
    pub current: Option<serde_json::Value>,
    pub lang: Lang,
    /// Seconds for a `Retry-After` header (throttled sign-ins).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            detail: None,
            errors: Vec::new(),
            current: None,
            lang: Lang::En,
            retry_after: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request").detail(detail)
    }

    /// A list parameter the list refuses: 400, except a keyset cursor
    /// (`after`) that is well formed for the schema but not one the list
    /// made, or made for another order: 422 `invalid_cursor`.
    pub fn list_parameter(field: &str, detail: &str) -> Self {
        if field == "after" {
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor")
                .detail(format!("after: {detail}"))
        } else {
            Self::bad_request(format!("{field}: {detail}"))
        }
    }

    pub fn from_service(error: ServiceError, lang: Lang) -> Self {
        let mut api = match error {
            ServiceError::Unauthenticated => Self::new(StatusCode::UNAUTHORIZED, "unauthenticated"),
            ServiceError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials")
            }
            ServiceError::Forbidden(function) => Self::new(StatusCode::FORBIDDEN, "forbidden")
                .detail(format!("requires {}", function.key())),
            ServiceError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found"),
            ServiceError::Validation(errors) => {
                let mut api = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
                api.errors = errors
                    .into_iter()
                    .map(|e| FieldProblem {
                        message: message(lang, e.code).to_string(),
                        field: e.field,
                        code: e.code.to_string(),
                    })
                    .collect();
                api
            }
            ServiceError::Conflict { code, detail } => {
                let mut api = Self::new(StatusCode::CONFLICT, code);
                api.detail = detail;
                api
            }
            ServiceError::Stale => Self::new(StatusCode::PRECONDITION_FAILED, "stale_version"),
            ServiceError::PasswordChangeRequired => {
                Self::new(StatusCode::FORBIDDEN, "password_change_required")
                    .detail("change the generated password first: POST /api/v1/me/password")
            }
            ServiceError::ReauthenticationRequired => {
                Self::new(StatusCode::FORBIDDEN, "reauthentication_required").detail(
                    "this change needs a recent sign-in: sign in again (POST /api/v1/auth/login) and repeat it",
                )
            }
            ServiceError::Throttled { retry_after_ms } => {
                let seconds = (retry_after_ms as u64).div_ceil(1000).max(1);
                let mut api = Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").detail(
                    format!("too many failed sign-ins: try again in {seconds} s"),
                );
                api.retry_after = Some(seconds);
                api
            }
            ServiceError::Store(error) => {
                tracing::error!(error = %error, "store error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
            ServiceError::Internal(error) => {
                tracing::error!(error = %error, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        api.lang = lang;
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = message(self.lang, self.code).to_string();
        let problem = Problem {
            type_uri: format!(
                "https://kabinet.dev/problems/{}",
                self.code.replace('.', "-")
            ),
            title,
            status: self.status.as_u16(),
            code: self.code.to_string(),
            detail: if self.status.is_server_error() {
                None
            } else {
                self.detail
            },
            errors: self.errors,
            current: self.current,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
