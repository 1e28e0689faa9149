//! Console pages of reseller registration (T8).
//!
//! `/register` is public: a new company registers itself through a
//! reseller's link. The link carries its secret in the fragment
//! (`/register#…`), which browsers never send; `app.js` moves it into the
//! form (`data-token-from-fragment`, as on the password pages) and the form
//! posts it. Without a session the form has its own CSRF cookie, like the
//! sign-in page.
//!
//! `/companies/{id}/registration-link` is a reseller's link for people with
//! the right: whether it is active, make or rotate it (the address is shown
//! once), disable it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kabinet_api::format_time;
use kabinet_domain::access::Function;
use kabinet_service::ServiceError;
use serde::Deserialize;

use crate::api_registration::RegisterRequest;
use crate::console::{csrf_failed, error_page, render, Frame};
use crate::extract::{cookie, lang_of, origin, same_secret, set_cookie, ConsoleCtx};
use crate::i18n::{message, Lang};
use crate::AppState;

/// The CSRF cookie of the registration form (no session yet). Its own name,
/// so a sign-in page open in another tab does not replace it.
const REGISTER_CSRF_COOKIE: &str = "kabinet_register_csrf";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_page).post(register_submit))
        .route(
            "/companies/{id}/registration-link",
            get(link_page).post(link_create),
        )
        .route(
            "/companies/{id}/registration-link/disable",
            post(link_disable),
        )
}

// ---------------------------------------------------------------------------
// The public registration form.

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    m: Frame,
    csrf: String,
    /// The link's secret, kept when the form comes back with errors.
    token: String,
    company_name: String,
    inn: String,
    first_name: String,
    last_name: String,
    email: String,
    /// Messages by field name.
    errors: HashMap<String, String>,
    error: Option<String>,
    /// After a registration: the address the invitation went to.
    done: Option<String>,
}

impl RegisterPage {
    fn new(lang: Lang, csrf: String) -> Self {
        RegisterPage {
            m: Frame::anonymous(lang, "register.title", "/register"),
            csrf,
            token: String::new(),
            company_name: String::new(),
            inn: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            email: String::new(),
            errors: HashMap::new(),
            error: None,
            done: None,
        }
    }

    /// The form's fields in order, with what was typed and its error.
    fn inputs(&self) -> Vec<RegisterInput> {
        [
            (
                "company_name",
                "register.company_name",
                "text",
                "organization",
                300,
                &self.company_name,
            ),
            ("inn", "register.inn", "text", "off", 12, &self.inn),
            (
                "first_name",
                "register.first_name",
                "text",
                "given-name",
                100,
                &self.first_name,
            ),
            (
                "last_name",
                "register.last_name",
                "text",
                "family-name",
                100,
                &self.last_name,
            ),
            (
                "email",
                "register.email",
                "email",
                "email",
                254,
                &self.email,
            ),
        ]
        .into_iter()
        .map(
            |(name, label, kind, autocomplete, max, value)| RegisterInput {
                name,
                label: message(self.m.lang, label).to_string(),
                kind,
                autocomplete,
                max,
                value: value.clone(),
                error: self.errors.get(name).cloned().unwrap_or_default(),
            },
        )
        .collect()
    }
}

/// One input of the registration form.
struct RegisterInput {
    name: &'static str,
    label: String,
    kind: &'static str,
    autocomplete: &'static str,
    max: usize,
    value: String,
    /// The message of its error, or empty.
    error: String,
}

/// A page for people without a session: a fresh CSRF cookie, never cached.
fn pre_session(state: &AppState, mut response: Response, token: &str) -> Response {
    let value = set_cookie(
        REGISTER_CSRF_COOKIE,
        token,
        Some(3600),
        true,
        state.http.secure_cookies,
    );
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn register_page(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Response {
    let token = kabinet_service::auth::random_secret();
    let page = RegisterPage::new(lang_of(&parts), token.clone());
    pre_session(&state, render(&page), &token)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RegisterForm {
    csrf: String,
    token: String,
    company_name: String,
    inn: String,
    first_name: String,
    last_name: String,
    email: String,
}

async fn register_submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<RegisterForm>,
) -> Response {
    let lang = lang_of(&parts);
    let expected = cookie(&parts, REGISTER_CSRF_COOKIE).unwrap_or_default();
    let token = kabinet_service::auth::random_secret();
    let mut page = RegisterPage {
        token: form.token.trim().to_string(),
        company_name: form.company_name.clone(),
        inn: form.inn.clone(),
        first_name: form.first_name.clone(),
        last_name: form.last_name.clone(),
        email: form.email.clone(),
        ..RegisterPage::new(lang, token.clone())
    };
    let mut retry_after = None;
    let status = if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        page.error = Some(message(lang, "csrf").to_string());
        StatusCode::FORBIDDEN
    } else {
        let text = |value: &str| Some(value.to_string()).filter(|v| !v.trim().is_empty());
        let request = RegisterRequest {
            secret: form.token.clone(),
            company_name: text(&form.company_name),
            inn: text(&form.inn),
            first_name: text(&form.first_name),
            last_name: text(&form.last_name),
            email: text(&form.email),
        };
        match state
            .services
            .register_company(&request.secret, &request.raw(), &origin(&parts, &state))
            .await
        {
            Ok(registered) => {
                page.done = Some(registered.admin.email.unwrap_or_default());
                page.token = String::new();
                StatusCode::OK
            }
            Err(ServiceError::Validation(problems)) => {
                for problem in problems {
                    page.errors
                        .entry(problem.field)
                        .or_insert_with(|| message(lang, problem.code).to_string());
                }
                page.error = Some(message(lang, "form.errors").to_string());
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Err(ServiceError::Conflict { code, .. }) => {
                page.error = Some(message(lang, code).to_string());
                StatusCode::CONFLICT
            }
            Err(ServiceError::Throttled { retry_after_ms }) => {
                retry_after = Some((retry_after_ms as u64).div_ceil(1000).max(1));
                page.error = Some(message(lang, "registration.too_many").to_string());
                StatusCode::TOO_MANY_REQUESTS
            }
            Err(error) => {
                tracing::error!(%error, "registration failed");
                page.error = Some(message(lang, "internal").to_string());
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    };
    let mut response = pre_session(&state, render(&page), &token);
    *response.status_mut() = status;
    if let Some(seconds) = retry_after {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

// ---------------------------------------------------------------------------
// A reseller's registration link.

#[derive(Template)]
#[template(path = "registration_link.html")]
struct LinkPage {
    m: Frame,
    company_id: i64,
    company_name: String,
    is_reseller: bool,
    deleted: bool,
    active: bool,
    created_at: String,
    can_edit: bool,
    /// Just made: the address, shown this once.
    url: Option<String>,
    error: Option<String>,
}

async fn link_render(
    state: &AppState,
    ctx: &ConsoleCtx,
    id: i64,
    url: Option<String>,
    error: Option<String>,
    params: &HashMap<String, String>,
) -> Response {
    let company = match state.services.company_get(&ctx.actor, id).await {
        Ok(company) => company,
        Err(error) => return error_page(ctx, error),
    };
    let link = match state.services.registration_link_get(&ctx.actor, id).await {
        Ok(link) => link,
        Err(error) => return error_page(ctx, error),
    };
    let page = LinkPage {
        m: Frame::new(ctx, "companies", "registration.title").with_flash(params),
        company_id: company.id,
        company_name: company.fields.name.clone(),
        is_reseller: company.fields.is_reseller && !company.fields.is_provider,
        deleted: company.deleted_at.is_some(),
        active: link.is_some(),
        created_at: link
            .as_ref()
            .map(|l| {
                format_time(l.created_at)
                    .replace('T', " ")
                    .replace('Z', " UTC")
            })
            .unwrap_or_default(),
        can_edit: ctx.actor.can(Function::CompaniesEdit),
        url,
        error,
    };
    let mut response = render(&page);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn link_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    link_render(&state, &ctx, id, None, None, &params).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfOnly {
    csrf: String,
}

async fn link_create(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state
        .services
        .registration_link_create(&ctx.actor, id)
        .await
    {
        Ok(created) => {
            let flash = HashMap::from([(
                "flash".to_string(),
                "flash.registration_link_created".to_string(),
            )]);
            link_render(&state, &ctx, id, Some(created.url), None, &flash).await
        }
        Err(ServiceError::Conflict { code, .. }) => {
            let mut response = link_render(
                &state,
                &ctx,
                id,
                None,
                Some(message(ctx.lang, code).to_string()),
                &HashMap::new(),
            )
            .await;
            if response.status().is_success() {
                *response.status_mut() = StatusCode::CONFLICT;
            }
            response
        }
        Err(error) => error_page(&ctx, error),
    }
}

async fn link_disable(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state
        .services
        .registration_link_disable(&ctx.actor, id)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/companies/{id}/registration-link?flash=flash.registration_link_disabled"
        ))
        .into_response(),
        Err(error) => error_page(&ctx, error),
    }
}
