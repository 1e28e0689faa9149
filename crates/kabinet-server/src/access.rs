//! The route table's access declarations: every REST operation says what it
//! needs, and a guard checks it on the server before the handler runs (and
//! so before any data is read). A route without a declaration is refused:
//! deny by default. The use cases check again (and narrow to the actor's
//! scope), so neither layer alone decides.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kabinet_domain::access::Function;

use crate::error::ApiError;
use crate::extract::ApiCtx;
use crate::AppState;

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone: the steps of signing in.
    Public,
    /// Any signed-in person: their own things (`/me/…`, own tokens).
    Signed,
    /// A function of the catalog.
    Function(Function),
    /// The function, or the person acting on themself (`/users/{id}/…`
    /// with their own id).
    SelfOr(Function),
}

use Function as F;
use Need::*;

/// (method, path under `/api/v1`, need). The OpenAPI table lists the same
/// operations; a test checks that each has exactly one entry here.
pub const ACCESS: &[(&str, &str, Need)] = &[
    ("post", "/auth/login", Public),
    ("post", "/auth/logout", Signed),
    ("post", "/auth/passkey", Public),
    ("post", "/auth/passkey/options", Public),
    ("post", "/auth/password", Public),
    ("post", "/auth/pin", Public),
    ("post", "/auth/recover", Public),
    ("post", "/auth/second-factor", Public),
    ("post", "/auth/second-factor/resend", Public),
    ("post", "/register", Public),
    ("get", "/me", Signed),
    ("get", "/me/devices", Signed),
    ("post", "/me/devices", Signed),
    ("delete", "/me/devices/{id}", Signed),
    ("get", "/me/passkeys", Signed),
    ("post", "/me/passkeys", Signed),
    ("post", "/me/passkeys/options", Signed),
    ("delete", "/me/passkeys/{id}", Signed),
    ("post", "/me/password", Signed),
    ("get", "/me/sessions", Signed),
    ("delete", "/me/sessions/{id}", Signed),
    ("get", "/me/totp", Signed),
    ("post", "/me/totp", Signed),
    ("post", "/me/totp/confirm", Signed),
    ("post", "/me/totp/disable", Signed),
    ("get", "/permissions", Signed),
    ("get", "/tokens", Function(F::ApiTokensOwn)),
    ("post", "/tokens", Function(F::ApiTokensOwn)),
    ("delete", "/tokens/{id}", Function(F::ApiTokensOwn)),
    ("get", "/companies", Function(F::CompaniesView)),
    ("post", "/companies", Function(F::CompaniesCreate)),
    ("get", "/companies/{id}", Function(F::CompaniesView)),
    ("patch", "/companies/{id}", Function(F::CompaniesEdit)),
    ("delete", "/companies/{id}", Function(F::CompaniesDelete)),
    (
        "post",
        "/companies/{id}/restore",
        Function(F::CompaniesRestore),
    ),
    ("get", "/companies/{id}/links", Function(F::CompaniesView)),
    ("post", "/companies/{id}/links", Function(F::CompaniesLink)),
    (
        "delete",
        "/companies/{id}/links/{client_id}",
        Function(F::CompaniesLink),
    ),
    (
        "get",
        "/companies/{id}/registration-link",
        Function(F::CompaniesView),
    ),
    (
        "post",
        "/companies/{id}/registration-link",
        Function(F::CompaniesEdit),
    ),
    (
        "delete",
        "/companies/{id}/registration-link",
        Function(F::CompaniesEdit),
    ),
    ("get", "/users", Function(F::UsersView)),
    ("post", "/users", Function(F::UsersCreate)),
    ("get", "/users/{id}", SelfOr(F::UsersView)),
    ("patch", "/users/{id}", Function(F::UsersEdit)),
    ("delete", "/users/{id}", Function(F::UsersDelete)),
    ("post", "/users/{id}/restore", Function(F::UsersRestore)),
    ("post", "/companies/{id}/enter", Function(F::CompaniesEnter)),
    ("delete", "/acting", Signed),
    ("get", "/users/{id}/sessions", SelfOr(F::UsersCredentials)),
    (
        "delete",
        "/users/{id}/sessions",
        SelfOr(F::UsersCredentials),
    ),
    ("put", "/users/{id}/ip-rules", SelfOr(F::UsersCredentials)),
    ("get", "/users/{id}/avatar", SelfOr(F::UsersView)),
    ("put", "/users/{id}/avatar", SelfOr(F::UsersEdit)),
    ("delete", "/users/{id}/avatar", SelfOr(F::UsersEdit)),
    ("get", "/users/{id}/rights", SelfOr(F::UsersView)),
    (
        "put",
        "/users/{id}/extra-rights",
        Function(F::DepartmentsRights),
    ),
    ("get", "/departments", Function(F::DepartmentsView)),
    ("post", "/departments", Function(F::DepartmentsEdit)),
    ("get", "/departments/{id}", Function(F::DepartmentsView)),
    ("patch", "/departments/{id}", Function(F::DepartmentsEdit)),
    ("delete", "/departments/{id}", Function(F::DepartmentsEdit)),
    (
        "get",
        "/departments/{id}/rights",
        Function(F::DepartmentsView),
    ),
    (
        "put",
        "/departments/{id}/rights",
        Function(F::DepartmentsRights),
    ),
    (
        "get",
        "/departments/{id}/members",
        Function(F::DepartmentsView),
    ),
    (
        "put",
        "/departments/{id}/members",
        Function(F::DepartmentsEdit),
    ),
    ("get", "/audit", Function(F::AuditView)),
    ("get", "/audit/export", Function(F::AuditExport)),
    ("get", "/outbox", Function(F::OutboxView)),
    ("post", "/outbox/{id}/retry", Function(F::OutboxRetry)),
];

/// The declared need of an operation, if any.
pub fn need(method: &str, path: &str) -> Option<Need> {
    ACCESS
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, need)| *need)
}

/// The `{id}` of a `/users/{id}/…` request.
fn user_id_of(uri_path: &str) -> Option<i64> {
    let rest = uri_path.split("/users/").nth(1)?;
    rest.split('/').next()?.parse().ok()
}

/// The guard of `/api/v1`: authenticates once (the handler's `ApiCtx`
/// reuses it) and checks the declared need before the handler runs.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(matched) = request.extensions().get::<MatchedPath>().cloned() else {
        return next.run(request).await;
    };
    let template = matched.as_str();
    let template = template.strip_prefix("/api/v1").unwrap_or(template);
    let method = request.method().clone();
    let Some(need) = need(method.as_str(), template) else {
        tracing::error!(%method, template, "route without a declared access need");
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "undeclared_route")
            .into_response();
    };
    if need == Public {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let ctx = match ApiCtx::from_request_parts(&mut parts, &state).await {
        Ok(ctx) => ctx,
        Err(error) => return error.into_response(),
    };
    let allowed = match need {
        Public | Signed => Ok(()),
        Function(function) => ctx.actor.require(function),
        SelfOr(function) => {
            if user_id_of(parts.uri.path()) == Some(ctx.actor.user_id) {
                Ok(())
            } else {
                ctx.actor.require(function)
            }
        }
    };
    if let Err(error) = allowed {
        return ApiError::from_service(error, ctx.lang).into_response();
    }
    parts.extensions.insert(ctx);
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_operation_declares_what_it_needs_once() {
        for op in crate::openapi::OPERATIONS {
            let count = ACCESS
                .iter()
                .filter(|(m, p, _)| *m == op.method && *p == op.path)
                .count();
            assert_eq!(
                count, 1,
                "{} {} must be declared exactly once",
                op.method, op.path
            );
        }
        for (method, path, need) in ACCESS {
            let documented = crate::openapi::OPERATIONS
                .iter()
                .any(|op| op.method == *method && op.path == *path);
            assert!(documented, "{method} {path} is declared but not documented");
            let public = crate::openapi::PUBLIC_PATHS.contains(path);
            assert_eq!(
                *need == Public,
                public,
                "{method} {path}: public in one table only"
            );
        }
    }

    #[test]
    fn the_user_id_is_read_from_the_path() {
        assert_eq!(user_id_of("/api/v1/users/42/sessions"), Some(42));
        assert_eq!(user_id_of("/api/v1/users/42"), Some(42));
        assert_eq!(user_id_of("/api/v1/users/me"), None);
        assert_eq!(user_id_of("/api/v1/companies/42"), None);
    }
}
