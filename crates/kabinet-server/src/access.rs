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
use crate::extract::{ApiCtx, ConsoleCtx};
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

/// The console's pages, declared the same way: (method or `*` for GET and
/// POST alike, path template, need).
pub const CONSOLE_ACCESS: &[(&str, &str, Need)] = &[
    ("*", "/", Public),
    ("*", "/lang", Public),
    ("*", "/login", Public),
    ("*", "/login/code", Public),
    ("*", "/login/pin", Public),
    ("*", "/password/forgot", Public),
    ("*", "/password/set", Public),
    ("*", "/register", Public),
    ("*", "/static/app.css", Public),
    ("*", "/static/app.js", Public),
    ("*", "/logout", Signed),
    ("*", "/me/password", Signed),
    ("*", "/me/security", Signed),
    ("*", "/enter/leave", Signed),
    ("*", "/tokens", Function(F::ApiTokensOwn)),
    ("*", "/tokens/{id}/revoke", Function(F::ApiTokensOwn)),
    ("*", "/audit", Function(F::AuditView)),
    ("*", "/outbox", Function(F::OutboxView)),
    ("*", "/outbox/{id}/retry", Function(F::OutboxRetry)),
    ("*", "/group", Function(F::CompaniesView)),
    ("*", "/companies", Function(F::CompaniesView)),
    ("*", "/companies/new", Function(F::CompaniesCreate)),
    ("*", "/companies/{id}", Function(F::CompaniesView)),
    ("*", "/companies/{id}/edit", Function(F::CompaniesEdit)),
    ("*", "/companies/{id}/delete", Function(F::CompaniesDelete)),
    (
        "*",
        "/companies/{id}/restore",
        Function(F::CompaniesRestore),
    ),
    ("*", "/companies/{id}/enter", Function(F::CompaniesEnter)),
    ("get", "/companies/{id}/links", Function(F::CompaniesView)),
    ("post", "/companies/{id}/links", Function(F::CompaniesLink)),
    (
        "*",
        "/companies/{id}/links/{client_id}/delete",
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
        "*",
        "/companies/{id}/registration-link/disable",
        Function(F::CompaniesEdit),
    ),
    ("*", "/departments", Function(F::DepartmentsView)),
    ("*", "/departments/new", Function(F::DepartmentsEdit)),
    ("*", "/departments/{id}", Function(F::DepartmentsView)),
    ("*", "/departments/{id}/edit", Function(F::DepartmentsEdit)),
    (
        "*",
        "/departments/{id}/delete",
        Function(F::DepartmentsEdit),
    ),
    (
        "*",
        "/departments/{id}/members",
        Function(F::DepartmentsEdit),
    ),
    (
        "*",
        "/departments/{id}/rights",
        Function(F::DepartmentsRights),
    ),
    ("*", "/users", Function(F::UsersView)),
    ("*", "/users/new", Function(F::UsersCreate)),
    ("*", "/users/{id}", SelfOr(F::UsersView)),
    ("*", "/users/{id}/edit", Function(F::UsersEdit)),
    ("*", "/users/{id}/delete", Function(F::UsersDelete)),
    ("*", "/users/{id}/restore", Function(F::UsersRestore)),
    ("*", "/users/{id}/ip-rules", SelfOr(F::UsersCredentials)),
    ("*", "/users/{id}/sessions/end", SelfOr(F::UsersCredentials)),
    ("get", "/users/{id}/rights", SelfOr(F::UsersView)),
    ("post", "/users/{id}/rights", Function(F::DepartmentsRights)),
];

/// The declared need of a console page, if any.
pub fn console_need(method: &str, path: &str) -> Option<Need> {
    CONSOLE_ACCESS
        .iter()
        .find(|(m, p, _)| (*m == "*" || m.eq_ignore_ascii_case(method)) && *p == path)
        .map(|(_, _, need)| *need)
}

/// The guard of the console's pages: the same deny-by-default check; a
/// person without a session goes to the sign-in page, one without the right
/// gets the 403 page.
pub async fn console_guard(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(matched) = request.extensions().get::<MatchedPath>().cloned() else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let Some(need) = console_need(method.as_str(), matched.as_str()) else {
        tracing::error!(%method, template = matched.as_str(), "console page without a declared access need");
        return (StatusCode::INTERNAL_SERVER_ERROR, "undeclared route").into_response();
    };
    if need == Public {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let ctx = match ConsoleCtx::from_request_parts(&mut parts, &state).await {
        Ok(ctx) => ctx,
        Err(to_login) => return to_login.into_response(),
    };
    match decide(need, &ctx.actor, parts.uri.path()) {
        // A generated password must be changed first: the pages say so themselves.
        Err(kabinet_service::ServiceError::PasswordChangeRequired) | Ok(()) => {
            parts.extensions.insert(ctx);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => crate::console::error_page(&ctx, error),
    }
}

/// The declared need of an operation, if any.
pub fn need(method: &str, path: &str) -> Option<Need> {
    ACCESS
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, need)| *need)
}

/// The methods `ACCESS` declares for a path template, upper-case, for `Allow`.
pub fn allowed_methods(path: &str) -> Vec<String> {
    let mut methods: Vec<String> = ACCESS
        .iter()
        .filter(|(_, p, _)| *p == path)
        .map(|(m, _, _)| m.to_ascii_uppercase())
        .collect();
    if methods.iter().any(|m| m == "GET") {
        methods.push("HEAD".into());
    }
    methods
}

/// The `{id}` of a `/users/{id}/…` request.
fn user_id_of(uri_path: &str) -> Option<i64> {
    let rest = uri_path.split("/users/").nth(1)?;
    rest.split('/').next()?.parse().ok()
}

/// The decision for a signed-in person: what the need asks of them.
fn decide(
    need: Need,
    actor: &kabinet_service::Actor,
    uri_path: &str,
) -> Result<(), kabinet_service::ServiceError> {
    match need {
        Public | Signed => Ok(()),
        Function(function) => actor.require(function),
        SelfOr(_) if user_id_of(uri_path) == Some(actor.user_id) => Ok(()),
        SelfOr(function) => actor.require(function),
    }
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
    // HEAD is answered by the GET handler, so it needs what GET needs.
    let asked = if method == axum::http::Method::HEAD {
        "get"
    } else {
        method.as_str()
    };
    let Some(need) = need(asked, template) else {
        let allowed = allowed_methods(template);
        if allowed.is_empty() {
            tracing::error!(%method, template, "route without a declared access need");
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "undeclared_route")
                .into_response();
        }
        // A method the path does not have: 405 with the ones it has.
        let mut response =
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").into_response();
        if let Ok(value) = axum::http::HeaderValue::from_str(&allowed.join(", ")) {
            response
                .headers_mut()
                .insert(axum::http::header::ALLOW, value);
        }
        return response;
    };
    if need == Public {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let ctx = match ApiCtx::from_request_parts(&mut parts, &state).await {
        Ok(ctx) => ctx,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = decide(need, &ctx.actor, parts.uri.path()) {
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

    /// The string literals that follow `.route(` in a piece of source.
    fn route_paths(source: &str) -> Vec<String> {
        source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| {
                let rest = rest.trim_start();
                let rest = rest.strip_prefix('"')?;
                Some(rest[..rest.find('"')?].to_string())
            })
            .collect()
    }

    /// A route added without a declared need fails here, before any request:
    /// every path the routers register appears in the access tables.
    #[test]
    fn every_registered_route_is_declared() {
        let lib = include_str!("lib.rs");
        let start = lib.find("let api = Router::new()").expect("the API router");
        let end = lib[start..].find(".fallback(").expect("its end") + start;
        let api_paths = route_paths(&lib[start..end]);
        assert!(
            api_paths.len() > 40,
            "the API routes were found: {api_paths:?}"
        );
        for path in api_paths {
            assert!(
                ACCESS.iter().any(|(_, p, _)| *p == path),
                "API route {path} has no declared need in ACCESS"
            );
        }
        let console_sources = [
            include_str!("console.rs"),
            include_str!("console_users.rs"),
            include_str!("console_rights.rs"),
            include_str!("console_groups.rs"),
            include_str!("console_registration.rs"),
        ];
        let mut console_count = 0;
        for source in console_sources {
            for path in route_paths(source) {
                console_count += 1;
                assert!(
                    CONSOLE_ACCESS.iter().any(|(_, p, _)| *p == path),
                    "console page {path} has no declared need in CONSOLE_ACCESS"
                );
            }
        }
        assert!(console_count > 40, "the console routes were found");
    }

    #[test]
    fn console_pages_are_declared_once() {
        for (i, (method, path, _)) in CONSOLE_ACCESS.iter().enumerate() {
            let clashes = CONSOLE_ACCESS[i + 1..]
                .iter()
                .filter(|(m, p, _)| p == path && (m == method || *m == "*" || *method == "*"))
                .count();
            assert_eq!(clashes, 0, "{method} {path} is declared twice");
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
