//! The web console: server-rendered pages over the same use cases as the
//! REST API. Forms post back with the session's CSRF token; errors are shown
//! next to the fields they concern; every list pages, sorts and filters in
//! the database.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kabinet_api::{format_time, CompanyDto};
use kabinet_domain::access::Function;
use kabinet_domain::company::{RawCompany, SearchTerms};
use kabinet_service::companies::Cascade;
use kabinet_service::ServiceError;
use kabinet_store::companies::{CompanyQuery, CompanySort, DeletedFilter};
use serde::Deserialize;

use crate::extract::{
    cookie, lang_of, origin, safe_next, same_secret, set_cookie, url_encode, ConsoleCtx,
    RequestOrigin, LANG_COOKIE, SESSION_COOKIE,
};
use crate::i18n::{field_messages, message, Lang};
use crate::AppState;

const LOGIN_CSRF_COOKIE: &str = "kabinet_login_csrf";
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/companies") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/login/pin", post(login_pin_submit))
        .route("/login/code", post(login_code_submit))
        .route("/logout", post(logout))
        .route("/lang", get(switch_language))
        .route("/companies", get(companies_page))
        .route(
            "/companies/new",
            get(company_new_page).post(company_new_submit),
        )
        .route("/companies/{id}", get(company_page))
        .route(
            "/companies/{id}/edit",
            get(company_edit_page).post(company_edit_submit),
        )
        .route(
            "/companies/{id}/delete",
            get(company_delete_page).post(company_delete_submit),
        )
        .route(
            "/companies/{id}/restore",
            get(company_restore_page).post(company_restore_submit),
        )
        .route("/audit", get(audit_page))
        .route("/me/password", get(password_page).post(password_submit))
        .route("/me/security", get(security_page).post(security_submit))
        .route("/password/forgot", get(forgot_page).post(forgot_submit))
        .route("/password/set", get(link_page).post(link_submit))
        .route("/outbox", get(outbox_page))
        .route("/outbox/{id}/retry", post(outbox_retry))
        .route("/tokens", get(tokens_page).post(token_create))
        .route("/tokens/{id}/revoke", post(token_revoke))
        .route("/static/app.css", get(static_css))
        .route("/static/app.js", get(static_js))
}

// ---------------------------------------------------------------------------
// Query parsing shared with the REST API.

/// The API's reading of the list parameters: as the console's, but a
/// parameter sent must hold a value, and limit and offset must be in range
/// (the console's forms send blanks and clamp; a client program gets told).
pub fn api_company_query(
    params: &HashMap<String, String>,
    default_limit: i64,
) -> Result<CompanyQuery, (String, String)> {
    for name in [
        "reseller",
        "parent_id",
        "deleted",
        "sort",
        "dir",
        "limit",
        "offset",
        "page",
        "after",
    ] {
        if params.get(name).is_some_and(|v| v.trim().is_empty()) {
            return Err((name.to_string(), "must not be empty".to_string()));
        }
    }
    let whole = |name: &str| params.get(name).map(|v| v.trim().parse::<i64>());
    if let Some(limit) = whole("limit") {
        if !matches!(limit, Ok(1..=500)) {
            return Err((
                "limit".into(),
                "must be a whole number from 1 to 500".into(),
            ));
        }
    }
    if !matches!(whole("parent_id"), None | Some(Ok(1..))) {
        return Err(("parent_id".into(), "must be a company id".into()));
    }
    if !matches!(whole("offset"), None | Some(Ok(0..))) {
        return Err(("offset".into(), "must be a whole number, 0 or more".into()));
    }
    if !matches!(whole("page"), None | Some(Ok(1..))) {
        return Err(("page".into(), "must be a whole number, 1 or more".into()));
    }
    let mut query = company_query_from(params, default_limit)?;
    if let Some(after) = params.get("after") {
        query.after = Some(company_cursor(after.trim(), &query, params)?);
    }
    Ok(query)
}

/// Reads the `after` cursor of a company list (keyset paging): a `next`
/// of an earlier page of the same list, in the same order.
fn company_cursor(
    text: &str,
    query: &CompanyQuery,
    params: &HashMap<String, String>,
) -> Result<kabinet_store::companies::After, (String, String)> {
    let invalid = |detail: &str| Err(("after".to_string(), detail.to_string()));
    if params.contains_key("offset") || params.contains_key("page") {
        return invalid("cannot be combined with offset or page");
    }
    let decoded = (text.len() <= 2048)
        .then(|| kabinet_store::companies::After::decode(text))
        .flatten();
    let Some(after) = decoded else {
        return invalid("is not a cursor of a company list (use the next of a page)");
    };
    // A common search without a chosen sort is listed in the order the
    // companies were added: its cursor's order is then `id`.
    let sort_differs = query.sort_chosen && query.sort != after.order;
    let dir_differs = params.contains_key("dir")
        && (after.order != CompanySort::Id || query.sort_chosen)
        && query.descending != after.descending;
    if sort_differs || dir_differs {
        return invalid("was made for another sort order; start again without after");
    }
    Ok(after)
}

/// Reads the company list parameters (`q`, `region`, `macroregion`,
/// `reseller`, `parent_id`, `deleted`, `sort`, `dir`, `limit`, `offset` or
/// `page`). The scope is filled in by the use case.
pub fn company_query_from(
    params: &HashMap<String, String>,
    default_limit: i64,
) -> Result<CompanyQuery, (String, String)> {
    let text = |name: &str| {
        params
            .get(name)
            .map(|s| crate::extract::filter_text(s.trim()))
            .filter(|s| !s.is_empty())
    };
    let number = |name: &str| -> Result<Option<i64>, (String, String)> {
        match text(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| (name.to_string(), "must be a whole number".to_string())),
        }
    };
    let flag = |name: &str| -> Result<Option<bool>, (String, String)> {
        match text(name).as_deref() {
            None => Ok(None),
            Some("true") | Some("1") | Some("yes") => Ok(Some(true)),
            Some("false") | Some("0") | Some("no") => Ok(Some(false)),
            Some(_) => Err((name.to_string(), "must be true or false".to_string())),
        }
    };
    let mut query = CompanyQuery::default();
    if let Some(terms) = text("q").and_then(|q| SearchTerms::parse(&q)) {
        query.words = terms.words;
        query.id = terms.id;
    }
    query.region = text("region");
    query.macroregion = text("macroregion");
    query.is_reseller = flag("reseller")?;
    query.parent_id = number("parent_id")?;
    query.deleted = match text("deleted").as_deref() {
        None | Some("hide") => DeletedFilter::Hide,
        Some("show") => DeletedFilter::Show,
        Some("only") => DeletedFilter::Only,
        Some(_) => return Err(("deleted".into(), "must be hide, show or only".into())),
    };
    if let Some(sort) = text("sort") {
        query.sort_chosen = true;
        query.sort = CompanySort::parse(&sort).ok_or_else(|| {
            let keys: Vec<&str> = CompanySort::ALL.iter().map(|(k, _)| *k).collect();
            (
                "sort".to_string(),
                format!("must be one of {}", keys.join(", ")),
            )
        })?;
    }
    query.descending = match text("dir").as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(("dir".into(), "must be asc or desc".into())),
    };
    query.limit = number("limit")?.unwrap_or(default_limit).clamp(1, 500);
    query.offset = match (number("offset")?, number("page")?) {
        (Some(offset), _) => offset.max(0),
        (None, Some(page)) => (page.max(1) - 1) * query.limit,
        (None, None) => 0,
    };
    Ok(query)
}

// ---------------------------------------------------------------------------
// Page frame.

/// What every page's frame needs: language, the signed-in person, the
/// company name in the header (T3), the CSRF token for forms.
pub struct Frame {
    pub lang: Lang,
    pub title: String,
    pub user_name: String,
    pub company_name: String,
    pub csrf: String,
    pub path: String,
    pub nav: &'static str,
    pub can_audit: bool,
    pub can_outbox: bool,
    pub can_companies: bool,
    pub can_users: bool,
    pub can_departments: bool,
    /// Inside a client's cabinet: the banner's company, end time and mode.
    pub acting: Option<(String, String, bool)>,
    pub flash: Option<String>,
    pub signed_in: bool,
}

impl Frame {
    pub(crate) fn new(ctx: &ConsoleCtx, nav: &'static str, title_key: &str) -> Self {
        Frame {
            lang: ctx.lang,
            title: message(ctx.lang, title_key).to_string(),
            user_name: ctx.actor.display_name.clone(),
            company_name: ctx.actor.company_name.clone(),
            csrf: ctx.csrf.clone(),
            path: ctx.path.clone(),
            nav,
            can_audit: ctx.actor.can(Function::AuditView),
            can_outbox: ctx.actor.can(Function::OutboxView) && ctx.actor.at_root(),
            can_companies: ctx.actor.can(Function::CompaniesView),
            can_users: ctx.actor.can(Function::UsersView),
            can_departments: ctx.actor.can(Function::DepartmentsView),
            acting: ctx
                .actor
                .acting
                .as_ref()
                .map(|a| (a.company_name.clone(), short_time(a.until), a.read_only)),
            flash: None,
            signed_in: true,
        }
    }

    pub(crate) fn anonymous(lang: Lang, title_key: &str, path: &str) -> Self {
        Frame {
            lang,
            title: message(lang, title_key).to_string(),
            user_name: String::new(),
            company_name: String::new(),
            csrf: String::new(),
            path: path.to_string(),
            nav: "",
            can_audit: false,
            can_outbox: false,
            can_companies: false,
            can_users: false,
            can_departments: false,
            acting: None,
            flash: None,
            signed_in: false,
        }
    }

    pub(crate) fn with_flash(mut self, params: &HashMap<String, String>) -> Self {
        self.flash = params
            .get("flash")
            .filter(|key| key.starts_with("flash.") && message(self.lang, key) != key.as_str())
            .map(|key| message(self.lang, key).to_string());
        self
    }

    pub fn t(&self, key: &str) -> String {
        message(self.lang, key).to_string()
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::Ru => "en",
            Lang::En => "ru",
        }
    }

    pub fn lang_href(&self) -> String {
        format!(
            "/lang?set={}&back={}",
            self.other_lang(),
            url_encode(&self.path)
        )
    }
}

pub(crate) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    m: Frame,
    status: u16,
    heading: String,
    detail: String,
}

/// Shows a use-case error as a page.
pub(crate) fn error_page(ctx: &ConsoleCtx, error: ServiceError) -> Response {
    let lang = ctx.lang;
    let (status, key, detail) = match &error {
        ServiceError::Forbidden(function) => (
            StatusCode::FORBIDDEN,
            "forbidden",
            function.key().to_string(),
        ),
        ServiceError::NotFound => (StatusCode::NOT_FOUND, "not_found", String::new()),
        ServiceError::Conflict { code, .. } => (StatusCode::CONFLICT, *code, String::new()),
        ServiceError::Stale => (
            StatusCode::PRECONDITION_FAILED,
            "stale_version",
            String::new(),
        ),
        ServiceError::PasswordChangeRequired => {
            return Redirect::to("/me/password").into_response();
        }
        ServiceError::ReauthenticationRequired => (
            StatusCode::FORBIDDEN,
            "reauthentication_required",
            message(lang, "reauthentication_required.detail").to_string(),
        ),
        ServiceError::Throttled { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            String::new(),
        ),
        ServiceError::Unauthenticated | ServiceError::InvalidCredentials => {
            return Redirect::to("/login").into_response();
        }
        ServiceError::Validation(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            String::new(),
        ),
        ServiceError::Store(e) => {
            tracing::error!(error = %e, "store error");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal", String::new())
        }
        ServiceError::Internal(e) => {
            tracing::error!(error = %e, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal", String::new())
        }
    };
    let page = ErrorPage {
        m: Frame::new(ctx, "", key),
        status: status.as_u16(),
        heading: message(lang, key).to_string(),
        detail,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    response
}

pub(crate) fn csrf_failed(ctx: &ConsoleCtx) -> Response {
    let page = ErrorPage {
        m: Frame::new(ctx, "", "csrf"),
        status: 403,
        heading: message(ctx.lang, "csrf").to_string(),
        detail: String::new(),
    };
    let mut response = render(&page);
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

// ---------------------------------------------------------------------------
// Sign-in, sign-out, language.

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    m: Frame,
    /// The account-number form of account administrators (L1).
    by_account: bool,
    login: String,
    next: String,
    login_csrf: String,
    error: Option<String>,
    /// On a trusted device: whose it is, for the quick PIN sign-in.
    device_login: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = lang_of(&parts);
    let token = kabinet_service::auth::random_secret();
    let device_login = match crate::extract::credential_cookie(
        &parts,
        &state,
        crate::api_factors::DEVICE_COOKIE,
    ) {
        Some(secret) => state
            .services
            .device_of(&secret)
            .await
            .ok()
            .flatten()
            .map(|(_, login)| login),
        None => None,
    };
    let page = LoginPage {
        m: Frame::anonymous(lang, "login.title", "/login"),
        by_account: params.get("by").map(String::as_str) == Some("account"),
        login: String::new(),
        next: safe_next(params.get("next").map(String::as_str)),
        login_csrf: token.clone(),
        error: params
            .get("error")
            .filter(|e| e.as_str() == "device.not_trusted" || e.as_str() == "invalid_pin")
            .map(|e| message(lang, e).to_string()),
        device_login,
    };
    let mut response = render(&page);
    set_pre_session_csrf(&mut response, &token);
    response
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    account_number: String,
}

async fn login_submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&parts);
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let next = safe_next(Some(&form.next));
    let again = |error_key: &str| {
        let token = kabinet_service::auth::random_secret();
        let page = LoginPage {
            m: Frame::anonymous(lang, "login.title", "/login"),
            by_account: !form.account_number.is_empty(),
            login: if form.account_number.is_empty() {
                form.login.clone()
            } else {
                form.account_number.clone()
            },
            next: next.clone(),
            login_csrf: token.clone(),
            error: Some(message(lang, error_key).to_string()),
            device_login: None,
        };
        let mut response = render(&page);
        *response.status_mut() = match error_key {
            "csrf" => StatusCode::FORBIDDEN,
            "too_many_attempts" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::UNAUTHORIZED,
        };
        set_pre_session_csrf(&mut response, &token);
        response
    };
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        return again("csrf");
    }
    let request_origin = origin(&parts, &state);
    let outcome = if form.account_number.trim().is_empty() {
        state
            .services
            .login(&form.login, &form.password, &request_origin)
            .await
    } else {
        state
            .services
            .login_by_account_number(&form.account_number, &form.password, &request_origin)
            .await
    };
    match outcome {
        Err(ServiceError::Conflict {
            code: "login.personal_on_account_form",
            ..
        }) => again("login.personal_on_account_form"),
        Ok(kabinet_service::auth::SignIn::Session(session)) => signed_in(&state, session, &next),
        Ok(kabinet_service::auth::SignIn::SecondFactor {
            challenge,
            methods,
            phone_hint,
        }) => {
            let token = kabinet_service::auth::random_secret();
            let page = CodePage {
                m: Frame::anonymous(lang, "code.title", "/login"),
                csrf: token.clone(),
                challenge,
                next: next.clone(),
                error: None,
                notice: None,
                sms: methods.contains(&"sms"),
                hint: phone_hint.unwrap_or_default(),
            };
            with_pre_session_csrf(render(&page), &token)
        }
        Err(ServiceError::Conflict {
            code: "sms.no_phone",
            ..
        }) => again("sms.no_phone"),
        Err(ServiceError::InvalidCredentials) | Err(ServiceError::Unauthenticated) => {
            again("invalid_credentials")
        }
        Err(ServiceError::Throttled { .. }) => again("too_many_attempts"),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            again("internal")
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PinForm {
    csrf: String,
    pin: String,
    next: String,
}

/// Quick sign-in on a trusted device: the PIN and the device cookie.
async fn login_pin_submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<PinForm>,
) -> Response {
    let next = safe_next(Some(&form.next));
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let back = |error: &str| {
        let mut response =
            Redirect::to(&format!("/login?error={error}&next={}", url_encode(&next)))
                .into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    };
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        return back("csrf");
    }
    let secret =
        crate::extract::credential_cookie(&parts, &state, crate::api_factors::DEVICE_COOKIE)
            .unwrap_or_default();
    let request_origin = origin(&parts, &state);
    match state
        .services
        .device_sign_in(&secret, form.pin.trim(), &request_origin)
        .await
    {
        Ok(session) => signed_in(&state, session, &next),
        Err(ServiceError::Conflict { .. }) => {
            // The trust ended: forget the device cookie too.
            let mut response = back("device.not_trusted");
            if let Ok(value) = HeaderValue::from_str(&set_cookie(
                crate::api_factors::DEVICE_COOKIE,
                "",
                Some(0),
                true,
                state.http.secure_cookies,
            )) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(_) => back("invalid_pin"),
    }
}

/// The browser's new session, then on to where the person was going (or to
/// the password page when a generated password must be changed).
fn signed_in(state: &AppState, session: kabinet_service::auth::NewSession, next: &str) -> Response {
    let target = if session.must_change_password {
        "/me/password".to_string()
    } else {
        next.to_string()
    };
    let mut response = Redirect::to(&target).into_response();
    let cookies = [
        set_cookie(
            SESSION_COOKIE,
            &session.secret,
            None,
            true,
            state.http.secure_cookies,
        ),
        set_cookie(LOGIN_CSRF_COOKIE, "", Some(0), true, false),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    m: Frame,
    csrf: String,
    challenge: String,
    next: String,
    error: Option<String>,
    notice: Option<String>,
    /// The code comes by SMS (to `hint`), not from an app.
    sms: bool,
    hint: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    csrf: String,
    challenge: String,
    code: String,
    next: String,
    sms: String,
    hint: String,
    /// Set by the "send the code again" button.
    resend: String,
}

/// The second step of a sign-in: a code from the authenticator app or a recovery code.
async fn login_code_submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<CodeForm>,
) -> Response {
    let lang = lang_of(&parts);
    let next = safe_next(Some(&form.next));
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let token = kabinet_service::auth::random_secret();
    let sms = !form.sms.is_empty();
    let show = |status: StatusCode,
                error: Option<String>,
                notice: Option<String>,
                challenge: String,
                hint: String| {
        let page = CodePage {
            m: Frame::anonymous(lang, "code.title", "/login"),
            csrf: token.clone(),
            challenge,
            next: next.clone(),
            error,
            notice,
            sms,
            hint,
        };
        let mut response = with_pre_session_csrf(render(&page), &token);
        *response.status_mut() = status;
        response
    };
    let again = |status: StatusCode, key: &str, challenge: String| {
        let page = CodePage {
            m: Frame::anonymous(lang, "code.title", "/login"),
            csrf: token.clone(),
            challenge,
            next: next.clone(),
            error: Some(message(lang, key).to_string()),
            notice: None,
            sms,
            hint: form.hint.clone(),
        };
        let mut response = with_pre_session_csrf(render(&page), &token);
        *response.status_mut() = status;
        response
    };
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        return again(StatusCode::FORBIDDEN, "csrf", form.challenge.clone());
    }
    let request_origin = origin(&parts, &state);
    if !form.resend.is_empty() {
        return match state
            .services
            .resend_sms_code(&form.challenge, &request_origin)
            .await
        {
            Ok(hint) => show(
                StatusCode::OK,
                None,
                Some(format!("{} {hint}", message(lang, "code.resent"))),
                form.challenge.clone(),
                hint,
            ),
            Err(ServiceError::Throttled { retry_after_ms }) => show(
                StatusCode::TOO_MANY_REQUESTS,
                Some(format!(
                    "{} {} s",
                    message(lang, "code.resend_wait"),
                    (retry_after_ms + 999) / 1000
                )),
                None,
                form.challenge.clone(),
                form.hint.clone(),
            ),
            Err(ServiceError::Conflict {
                code: "sms.resend_limit",
                ..
            }) => again(
                StatusCode::CONFLICT,
                "sms.resend_limit",
                form.challenge.clone(),
            ),
            Err(_) => {
                let mut response =
                    Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        };
    }
    match state
        .services
        .complete_second_factor(&form.challenge, &form.code, &request_origin)
        .await
    {
        Ok(session) => signed_in(&state, session, &next),
        Err(ServiceError::InvalidCredentials) => again(
            StatusCode::UNAUTHORIZED,
            if sms {
                "code.wrong_sms"
            } else {
                "totp.wrong_code"
            },
            form.challenge.clone(),
        ),
        // The challenge expired or ran out of attempts: start again.
        Err(ServiceError::Conflict { .. }) => {
            let mut response =
                Redirect::to(&format!("/login?next={}", url_encode(&next))).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "second factor failed");
            again(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                form.challenge.clone(),
            )
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    if let Err(error) = state.services.logout(&ctx.actor, &ctx.session_secret).await {
        return error_page(&ctx, error);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        SESSION_COOKIE,
        "",
        Some(0),
        true,
        state.http.secure_cookies,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn switch_language(Query(params): Query<HashMap<String, String>>) -> Response {
    let lang = params
        .get("set")
        .and_then(|s| Lang::parse(s))
        .unwrap_or_default();
    let back = safe_next(params.get("back").map(String::as_str));
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        LANG_COOKIE,
        lang.code(),
        Some(365 * 24 * 3600),
        false,
        false,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

// ---------------------------------------------------------------------------
// Company list.

/// One row of the company table.
pub struct CompanyRow {
    pub id: i64,
    pub name: String,
    pub account_number: String,
    pub pbx_number: String,
    pub inns: String,
    pub multichannel_number: String,
    pub region: String,
    pub macroregion: String,
    pub tariff: String,
    pub children_count: i64,
    pub is_reseller: bool,
    pub deleted: bool,
}

/// A sortable column header.
pub struct SortHeader {
    pub label: String,
    pub href: String,
    pub marker: &'static str,
    pub aria: &'static str,
}

#[derive(Template)]
#[template(path = "companies.html")]
struct CompaniesPage {
    m: Frame,
    results: String,
    q: String,
    region: String,
    macroregion: String,
    reseller: String,
    deleted: String,
    parent_id: String,
    regions: Vec<String>,
    macroregions: Vec<String>,
    sort: String,
    dir: String,
    sort_options: Vec<(&'static str, String)>,
    can_create: bool,
}

#[derive(Template)]
#[template(path = "companies_results.html")]
struct CompanyResults {
    m: Frame,
    rows: Vec<CompanyRow>,
    headers: Vec<SortHeader>,
    /// "1000+" where the count stopped at the cap.
    total: String,
    first: i64,
    last: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    error: Option<String>,
    /// Rows link to each company's Employees tab (T7).
    can_people: bool,
    /// Why the rows are not in the order asked for (a common search).
    order_note: Option<String>,
}

/// Why a company list's rows are not in the order asked for, if they are
/// not: a search matching many companies with no sort chosen is listed in
/// the order the companies were added.
pub(crate) fn order_note(
    lang: crate::i18n::Lang,
    total: &kabinet_store::companies::Total,
    asked: CompanySort,
) -> Option<String> {
    (total.order != asked).then(|| message(lang, "companies.listed_as_added").to_string())
}

/// The list URL with some parameters replaced.
pub(crate) fn list_href(params: &HashMap<String, String>, changes: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && k.as_str() != "partial" && k.as_str() != "flash")
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, value) in changes {
        if !value.is_empty() {
            pairs.push((key.to_string(), value.clone()));
        }
    }
    pairs.sort();
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect();
    if query.is_empty() {
        "/companies".into()
    } else {
        format!("/companies?{}", query.join("&"))
    }
}

async fn companies_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = ctx.lang;
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let (query, error) = match company_query_from(&params, PAGE_SIZE) {
        Ok(query) => (query, None),
        Err((field, detail)) => (
            CompanyQuery {
                limit: PAGE_SIZE,
                ..CompanyQuery::default()
            },
            Some(format!("{field}: {detail}")),
        ),
    };
    let (sort, limit, offset) = (query.sort, query.limit, query.offset);
    let (records, total) = match state.services.company_list(&ctx.actor, query).await {
        Ok(found) => found,
        Err(error) => return error_page(&ctx, error),
    };
    // The headers mark the order the rows are really in.
    let order_note = order_note(lang, &total, sort);
    let (sort, descending) = (total.order, total.descending);
    let columns = [
        ("id", "field.id"),
        ("name", "field.name"),
        ("account_number", "field.account_number"),
        ("pbx_number", "field.pbx_number"),
        ("inn", "field.inn"),
        ("multichannel_number", "field.multichannel_number"),
        ("region", "field.region"),
        ("macroregion", "field.macroregion"),
        ("tariff", "field.tariff"),
        ("children_count", "field.children_count"),
    ];
    let headers = columns
        .iter()
        .map(|(key, label)| {
            let active = !key.is_empty() && sort.key() == *key;
            let next_dir = if active && !descending { "desc" } else { "asc" };
            SortHeader {
                label: message(lang, label).to_string(),
                href: if key.is_empty() {
                    String::new()
                } else {
                    list_href(
                        &params,
                        &[
                            ("sort", key.to_string()),
                            ("dir", next_dir.to_string()),
                            ("page", String::new()),
                            ("offset", String::new()),
                        ],
                    )
                },
                marker: if active {
                    if descending {
                        "▼"
                    } else {
                        "▲"
                    }
                } else {
                    ""
                },
                aria: if active {
                    if descending {
                        "descending"
                    } else {
                        "ascending"
                    }
                } else {
                    "none"
                },
            }
        })
        .collect();
    let rows = records
        .iter()
        .map(|r| CompanyRow {
            id: r.id,
            name: r.fields.name.clone(),
            account_number: r.fields.account_number.clone().unwrap_or_default(),
            pbx_number: r.fields.pbx_number.clone().unwrap_or_default(),
            inns: r.fields.inns.join(", "),
            multichannel_number: r
                .fields
                .multichannel_number
                .as_deref()
                .map(display_phone)
                .unwrap_or_default(),
            region: r.fields.region.clone().unwrap_or_default(),
            macroregion: r.fields.macroregion.clone().unwrap_or_default(),
            tariff: r.fields.tariff.clone().unwrap_or_default(),
            children_count: r.children_count,
            is_reseller: r.fields.is_reseller,
            deleted: r.deleted_at.is_some(),
        })
        .collect::<Vec<_>>();
    let page_number = offset / limit + 1;
    let prev_href = (offset > 0).then(|| {
        list_href(
            &params,
            &[
                ("page", (page_number - 1).to_string()),
                ("offset", String::new()),
            ],
        )
    });
    let more = offset + limit < total.count || (!total.exact && rows.len() as i64 == limit);
    let next_href = more.then(|| {
        list_href(
            &params,
            &[
                ("page", (page_number + 1).to_string()),
                ("offset", String::new()),
            ],
        )
    });
    let results = CompanyResults {
        m: Frame::new(&ctx, "companies", "companies.title"),
        first: if rows.is_empty() { 0 } else { offset + 1 },
        last: offset + rows.len() as i64,
        rows,
        headers,
        total: if total.exact {
            total.count.to_string()
        } else {
            format!("{}+", total.count)
        },
        prev_href,
        next_href,
        error,
        can_people: ctx.actor.can(Function::UsersView),
        order_note,
    };
    if params.get("partial").map(String::as_str) == Some("1") {
        return render(&results);
    }
    let (regions, macroregions) = state
        .services
        .company_regions(&ctx.actor)
        .await
        .unwrap_or_default();
    let results = match results.render() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let page = CompaniesPage {
        m: Frame::new(&ctx, "companies", "companies.title").with_flash(&params),
        results,
        q: get("q"),
        region: get("region"),
        macroregion: get("macroregion"),
        reseller: get("reseller"),
        deleted: get("deleted"),
        parent_id: get("parent_id"),
        regions,
        macroregions,
        sort: sort.key().to_string(),
        dir: if descending {
            "desc".into()
        } else {
            "asc".into()
        },
        sort_options: CompanySort::ALL
            .iter()
            .map(|(key, _)| (*key, message(ctx.lang, &format!("field.{key}")).to_string()))
            .collect(),
        can_create: ctx.actor.can(Function::CompaniesCreate),
    };
    render(&page)
}

/// A stored E.164 number as people read it.
pub(crate) fn display_phone(e164: &str) -> String {
    kabinet_domain::text::Phone::parse(e164)
        .map(|p| p.to_string())
        .unwrap_or_else(|_| e164.to_string())
}

// ---------------------------------------------------------------------------
// Company card.

/// A labelled value on the card.
pub struct CardField {
    pub label: String,
    pub value: String,
}

/// A titled group of fields on the card.
pub struct CardSection {
    pub title: String,
    pub fields: Vec<CardField>,
}

fn card_sections(lang: Lang, dto: &CompanyDto) -> Vec<CardSection> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let phone = |v: &Option<String>| v.as_deref().map(display_phone).unwrap_or_default();
    let yes_no = |b: bool| message(lang, if b { "filter.yes" } else { "filter.no" }).to_string();
    let field = |key: &str, value: String| CardField {
        label: message(lang, key).to_string(),
        value,
    };
    vec![
        CardSection {
            title: message(lang, "section.general").to_string(),
            fields: vec![
                field("field.id", dto.id.to_string()),
                field("field.short_id", text(&dto.short_id)),
                field("field.account_number", text(&dto.account_number)),
                field(
                    "field.parent_id",
                    dto.parent_id.map(|p| p.to_string()).unwrap_or_default(),
                ),
                field("field.is_reseller", yes_no(dto.is_reseller)),
                field("field.is_group_company", yes_no(dto.is_group_company)),
                field("field.region", text(&dto.region)),
                field("field.macroregion", text(&dto.macroregion)),
                field("field.timezone", text(&dto.timezone)),
                field("field.children_count", dto.children_count.to_string()),
            ],
        },
        CardSection {
            title: message(lang, "section.contacts").to_string(),
            fields: vec![
                field("field.pbx_number", text(&dto.pbx_number)),
                field("field.multichannel_number", phone(&dto.multichannel_number)),
                field(
                    "field.phones",
                    dto.phones
                        .iter()
                        .map(|p| display_phone(p))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                field("field.phone", phone(&dto.phone)),
                field("field.email", text(&dto.email)),
                field("field.legal_address", text(&dto.legal_address)),
                field("field.postal_address", text(&dto.postal_address)),
            ],
        },
        CardSection {
            title: message(lang, "section.requisites").to_string(),
            fields: vec![
                field("field.inn", dto.inns.join(", ")),
                field("field.kpp", text(&dto.kpp)),
                field("field.ogrn", text(&dto.ogrn)),
                field("field.bik", text(&dto.bik)),
                field("field.bank", text(&dto.bank)),
                field(
                    "field.correspondent_account",
                    text(&dto.correspondent_account),
                ),
                field("field.settlement_account", text(&dto.settlement_account)),
            ],
        },
        CardSection {
            title: message(lang, "section.service").to_string(),
            fields: vec![
                field("field.tariff", text(&dto.tariff)),
                field(
                    "field.max_dialogs_per_operator",
                    dto.max_dialogs_per_operator.to_string(),
                ),
                field("field.credit_limit", text(&dto.credit_limit)),
                field("field.balance_threshold", text(&dto.balance_threshold)),
                field("field.fz230_enabled", yes_no(dto.fz230_enabled)),
                field("field.version", dto.version.to_string()),
                field("field.created_at", dto.created_at.clone()),
                field("field.updated_at", dto.updated_at.clone()),
            ],
        },
        CardSection {
            title: message(lang, "section.sign_in").to_string(),
            fields: vec![
                field("field.sms_second_factor", yes_no(dto.sms_second_factor)),
                field("field.email_is_login", yes_no(dto.email_is_login)),
                field("field.password_in_email", yes_no(dto.password_in_email)),
            ],
        },
    ]
}

#[derive(Template)]
#[template(path = "company.html")]
struct CompanyPage {
    m: Frame,
    id: i64,
    name: String,
    deleted: bool,
    is_provider: bool,
    /// A reseller: its registration link (T8) is one click away.
    is_reseller: bool,
    children_count: i64,
    sections: Vec<CardSection>,
    can_edit: bool,
    can_delete: bool,
    can_restore: bool,
    can_audit: bool,
    /// "Enter the cabinet" (M4): allowed, another company, not inside one.
    can_enter: bool,
    /// The Employees tab (C7, T7) when chosen and the person may see people.
    tab: String,
    can_people: bool,
    can_add_people: bool,
    employees: Vec<EmployeeRow>,
    employees_total: i64,
}

/// A person on the company card's Employees tab.
pub struct EmployeeRow {
    pub id: i64,
    pub name: String,
    pub login: String,
    pub email: String,
    pub kind: String,
    pub status: String,
    pub admin_cabinet: bool,
}

/// How many people the Employees tab shows before "all of them".
const EMPLOYEES_ON_CARD: i64 = 50;

async fn company_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let record = match state.services.company_get(&ctx.actor, id).await {
        Ok(record) => record,
        Err(error) => return error_page(&ctx, error),
    };
    let dto = CompanyDto::from(&record);
    let mut frame = Frame::new(&ctx, "companies", "companies.title").with_flash(&params);
    frame.title = dto.name.clone();
    let can_people = ctx.actor.can(Function::UsersView);
    let tab = match params.get("tab").map(String::as_str) {
        Some("employees") if can_people => "employees".to_string(),
        _ => "card".to_string(),
    };
    let (employees, employees_total) = if can_people {
        let query = kabinet_store::users::UserQuery {
            company_id: Some(id),
            limit: if tab == "employees" {
                EMPLOYEES_ON_CARD
            } else {
                1
            },
            ..Default::default()
        };
        match state.services.user_list(&ctx.actor, query).await {
            Ok((people, total)) => (
                people
                    .iter()
                    .map(|u| EmployeeRow {
                        id: u.id,
                        name: format!("{} {}", u.last_name, u.first_name),
                        login: u.login.clone(),
                        email: u.email.clone().unwrap_or_default(),
                        kind: message(ctx.lang, &format!("user.kind.{}", u.kind)).to_string(),
                        status: message(ctx.lang, &format!("user.status.{}", u.status)).to_string(),
                        admin_cabinet: u.card.may_open_admin_cabinet,
                    })
                    .collect(),
                total,
            ),
            Err(error) => return error_page(&ctx, error),
        }
    } else {
        (Vec::new(), 0)
    };
    let page = CompanyPage {
        tab,
        can_people,
        can_add_people: ctx.actor.can(Function::UsersCreate) && dto.deleted_at.is_none(),
        employees: if params.get("tab").map(String::as_str) == Some("employees") {
            employees
        } else {
            Vec::new()
        },
        employees_total,
        m: frame,
        id,
        deleted: dto.deleted_at.is_some(),
        is_provider: dto.is_provider,
        is_reseller: dto.is_reseller,
        children_count: dto.children_count,
        sections: card_sections(ctx.lang, &dto),
        name: dto.name,
        can_edit: ctx.actor.can(Function::CompaniesEdit),
        can_delete: ctx.actor.can(Function::CompaniesDelete) && id != ctx.actor.company_id,
        can_restore: ctx.actor.can(Function::CompaniesRestore),
        can_enter: ctx.actor.can(Function::CompaniesEnter)
            && id != ctx.actor.company_id
            && ctx.actor.acting.is_none()
            && dto.deleted_at.is_none(),
        can_audit: ctx.actor.can(Function::AuditView),
    };
    render(&page)
}

// ---------------------------------------------------------------------------
// Company form (new and edit).

/// The company form as posted: every field as text, so that what the person
/// typed is shown back unchanged next to its error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CompanyForm {
    pub csrf: String,
    pub version: String,
    pub parent_id: String,
    pub name: String,
    pub short_id: String,
    pub account_number: String,
    pub pbx_number: String,
    pub multichannel_number: String,
    pub phones: String,
    pub region: String,
    pub macroregion: String,
    pub inns: String,
    pub kpp: String,
    pub ogrn: String,
    pub bik: String,
    pub bank: String,
    pub correspondent_account: String,
    pub settlement_account: String,
    pub legal_address: String,
    pub postal_address: String,
    pub email: String,
    pub phone: String,
    pub timezone: String,
    pub max_dialogs_per_operator: String,
    pub tariff: String,
    pub is_reseller: Option<String>,
    pub credit_limit: String,
    pub balance_threshold: String,
    pub fz230_enabled: Option<String>,
    pub sms_second_factor: Option<String>,
    pub is_group_company: Option<String>,
    pub email_is_login: Option<String>,
    pub password_in_email: Option<String>,
}

impl CompanyForm {
    fn from_dto(dto: &CompanyDto) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        CompanyForm {
            csrf: String::new(),
            version: dto.version.to_string(),
            parent_id: dto.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            name: dto.name.clone(),
            short_id: text(&dto.short_id),
            account_number: text(&dto.account_number),
            pbx_number: text(&dto.pbx_number),
            multichannel_number: text(&dto.multichannel_number),
            phones: dto.phones.join("\n"),
            region: text(&dto.region),
            macroregion: text(&dto.macroregion),
            inns: dto.inns.join(", "),
            kpp: text(&dto.kpp),
            ogrn: text(&dto.ogrn),
            bik: text(&dto.bik),
            bank: text(&dto.bank),
            correspondent_account: text(&dto.correspondent_account),
            settlement_account: text(&dto.settlement_account),
            legal_address: text(&dto.legal_address),
            postal_address: text(&dto.postal_address),
            email: text(&dto.email),
            phone: text(&dto.phone),
            timezone: text(&dto.timezone),
            max_dialogs_per_operator: dto.max_dialogs_per_operator.to_string(),
            tariff: text(&dto.tariff),
            is_reseller: dto.is_reseller.then(|| "on".to_string()),
            credit_limit: text(&dto.credit_limit),
            balance_threshold: text(&dto.balance_threshold),
            fz230_enabled: dto.fz230_enabled.then(|| "on".to_string()),
            sms_second_factor: dto.sms_second_factor.then(|| "on".to_string()),
            is_group_company: dto.is_group_company.then(|| "on".to_string()),
            email_is_login: dto.email_is_login.then(|| "on".to_string()),
            password_in_email: dto.password_in_email.then(|| "on".to_string()),
        }
    }

    /// The raw input for the domain parser, plus errors for fields that are
    /// not even numbers.
    fn to_raw(&self) -> (RawCompany, Vec<(String, &'static str)>) {
        let mut errors = Vec::new();
        let opt = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        let mut number = |field: &str, v: &str| -> Option<i64> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            match v.parse() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push((field.to_string(), "number.invalid"));
                    None
                }
            }
        };
        let parent_id = number("parent_id", &self.parent_id);
        let max_dialogs = number("max_dialogs_per_operator", &self.max_dialogs_per_operator);
        let raw = RawCompany {
            name: opt(&self.name),
            short_id: opt(&self.short_id),
            account_number: opt(&self.account_number),
            pbx_number: opt(&self.pbx_number),
            multichannel_number: opt(&self.multichannel_number),
            phones: self
                .phones
                .lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            region: opt(&self.region),
            macroregion: opt(&self.macroregion),
            inns: self
                .inns
                .split([',', ';', ' ', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            kpp: opt(&self.kpp),
            ogrn: opt(&self.ogrn),
            bik: opt(&self.bik),
            bank: opt(&self.bank),
            correspondent_account: opt(&self.correspondent_account),
            settlement_account: opt(&self.settlement_account),
            legal_address: opt(&self.legal_address),
            postal_address: opt(&self.postal_address),
            email: opt(&self.email),
            phone: opt(&self.phone),
            timezone: opt(&self.timezone),
            max_dialogs_per_operator: max_dialogs,
            tariff: opt(&self.tariff),
            is_reseller: self.is_reseller.is_some(),
            credit_limit: opt(&self.credit_limit),
            balance_threshold: opt(&self.balance_threshold),
            fz230_enabled: self.fz230_enabled.is_some(),
            sms_second_factor: self.sms_second_factor.is_some(),
            email_is_login: self.email_is_login.is_some(),
            password_in_email: self.password_in_email.is_some(),
            parent_id,
        };
        (raw, errors)
    }
}

/// One input of the company form.
pub struct FormField {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    /// `text`, `email`, `tel`, `number`, `textarea`, `checkbox`.
    pub kind: &'static str,
    pub required: bool,
    pub checked: bool,
    /// A one-line explanation under the input.
    pub hint: Option<String>,
}

/// A titled group of inputs.
pub struct FormSection {
    pub title: String,
    pub fields: Vec<FormField>,
}

/// One field whose saved value differs from the form's (stale edit).
pub struct ChangedField {
    pub label: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "company_form.html")]
struct CompanyFormPage {
    m: Frame,
    parents: Vec<(i64, String)>,
    action: String,
    cancel_href: String,
    heading: String,
    version: String,
    sections: Vec<FormSection>,
    has_errors: bool,
    general_error: Option<String>,
    stale: Vec<ChangedField>,
    stale_seen: bool,
}

fn form_sections(
    lang: Lang,
    form: &CompanyForm,
    errors: &HashMap<String, String>,
) -> Vec<FormSection> {
    let field = |name: &'static str, value: &str, kind: &'static str| FormField {
        name,
        label: message(lang, &format!("field.{name}")).to_string(),
        value: value.to_string(),
        error: errors.get(name).cloned(),
        kind,
        required: name == "name",
        checked: false,
        hint: None,
    };
    let checkbox = |name: &'static str, checked: bool| FormField {
        checked,
        ..field(name, "on", "checkbox")
    };
    let explained = |name: &'static str, checked: bool| FormField {
        hint: Some(message(lang, &format!("hint.{name}")).to_string()),
        ..checkbox(name, checked)
    };
    vec![
        FormSection {
            title: message(lang, "section.general").to_string(),
            fields: vec![
                field("name", &form.name, "text"),
                field("short_id", &form.short_id, "text"),
                field("account_number", &form.account_number, "text"),
                field("parent_id", &form.parent_id, "number"),
                checkbox("is_reseller", form.is_reseller.is_some()),
                checkbox("is_group_company", form.is_group_company.is_some()),
                field("region", &form.region, "text"),
                field("macroregion", &form.macroregion, "text"),
                field("timezone", &form.timezone, "text"),
            ],
        },
        FormSection {
            title: message(lang, "section.contacts").to_string(),
            fields: vec![
                field("pbx_number", &form.pbx_number, "text"),
                field("multichannel_number", &form.multichannel_number, "tel"),
                field("phones", &form.phones, "textarea"),
                field("phone", &form.phone, "tel"),
                field("email", &form.email, "email"),
                field("legal_address", &form.legal_address, "text"),
                field("postal_address", &form.postal_address, "text"),
            ],
        },
        FormSection {
            title: message(lang, "section.requisites").to_string(),
            fields: vec![
                field("inns", &form.inns, "text"),
                field("kpp", &form.kpp, "text"),
                field("ogrn", &form.ogrn, "text"),
                field("bik", &form.bik, "text"),
                field("bank", &form.bank, "text"),
                field("correspondent_account", &form.correspondent_account, "text"),
                field("settlement_account", &form.settlement_account, "text"),
            ],
        },
        FormSection {
            title: message(lang, "section.service").to_string(),
            fields: vec![
                field("tariff", &form.tariff, "text"),
                field(
                    "max_dialogs_per_operator",
                    &form.max_dialogs_per_operator,
                    "number",
                ),
                field("credit_limit", &form.credit_limit, "text"),
                field("balance_threshold", &form.balance_threshold, "text"),
                checkbox("fz230_enabled", form.fz230_enabled.is_some()),
            ],
        },
        FormSection {
            title: message(lang, "section.sign_in").to_string(),
            fields: vec![
                explained("sms_second_factor", form.sms_second_factor.is_some()),
                explained("email_is_login", form.email_is_login.is_some()),
                explained("password_in_email", form.password_in_email.is_some()),
            ],
        },
    ]
}

/// Companies that may take children (the provider and resellers), offered
/// as suggestions for the parent field.
async fn parent_options(state: &AppState, ctx: &ConsoleCtx) -> Vec<(i64, String)> {
    let mut options = Vec::new();
    if let Ok(own) = state
        .services
        .company_get(&ctx.actor, ctx.actor.company_id)
        .await
    {
        options.push((own.id, own.fields.name.clone()));
    }
    let query = CompanyQuery {
        is_reseller: Some(true),
        limit: 500,
        ..CompanyQuery::default()
    };
    if let Ok((resellers, _)) = state.services.company_list(&ctx.actor, query).await {
        options.extend(
            resellers
                .iter()
                .filter(|r| r.id != ctx.actor.company_id)
                .map(|r| (r.id, r.fields.name.clone())),
        );
    }
    options
}

/// Field errors keyed by form input: `inns[1]` is shown on `inns`.
fn errors_by_input(lang: Lang, errors: &[(String, String)]) -> HashMap<String, String> {
    let mut map: HashMap<String, String> = HashMap::new();
    for (field, code) in errors {
        let (input, position) = match field.split_once('[') {
            Some((base, rest)) => (
                base.to_string(),
                rest.trim_end_matches(']').parse::<usize>().ok(),
            ),
            None => (field.clone(), None),
        };
        let mut text = message(lang, code).to_string();
        if let Some(index) = position {
            text = format!("#{}: {text}", index + 1);
        }
        map.entry(input)
            .and_modify(|t| *t = format!("{t}; {text}"))
            .or_insert(text);
    }
    map
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    state: &AppState,
    ctx: &ConsoleCtx,
    action: String,
    cancel_href: String,
    heading: String,
    form: &CompanyForm,
    errors: &[(String, String)],
    general_error: Option<String>,
    stale: Vec<ChangedField>,
) -> Response {
    let lang = ctx.lang;
    let by_input = errors_by_input(lang, errors);
    let mut frame = Frame::new(ctx, "companies", "companies.title");
    frame.title = heading.clone();
    let parents = parent_options(state, ctx).await;
    let page = CompanyFormPage {
        m: frame,
        parents,
        action,
        cancel_href,
        heading,
        version: form.version.clone(),
        sections: form_sections(lang, form, &by_input),
        has_errors: !errors.is_empty(),
        general_error,
        stale_seen: !stale.is_empty(),
        stale,
    };
    let mut response = render(&page);
    if !errors.is_empty() || page.general_error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    } else if page.stale_seen {
        *response.status_mut() = StatusCode::CONFLICT;
    }
    response
}

async fn company_new_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::CompaniesCreate) {
        return error_page(&ctx, error);
    }
    let form = CompanyForm {
        parent_id: params.get("parent_id").cloned().unwrap_or_default(),
        max_dialogs_per_operator: kabinet_domain::company::DEFAULT_MAX_DIALOGS_PER_OPERATOR
            .to_string(),
        timezone: "Europe/Moscow".into(),
        ..CompanyForm::default()
    };
    let heading = message(ctx.lang, "companies.new").to_string();
    form_page(
        &state,
        &ctx,
        "/companies/new".into(),
        "/companies".into(),
        heading,
        &form,
        &[],
        None,
        Vec::new(),
    )
    .await
}

/// `(field, message code)` pairs for a form.
type FieldMessages = Vec<(String, String)>;

/// Splits a use-case failure into field errors and a message for the form.
fn form_failure(
    lang: Lang,
    error: ServiceError,
) -> Result<(FieldMessages, Option<String>), ServiceError> {
    match error {
        ServiceError::Validation(errors) => Ok((
            errors
                .into_iter()
                .map(|e| (e.field, e.code.to_string()))
                .collect(),
            None,
        )),
        ServiceError::Conflict { code, .. } => {
            Ok((Vec::new(), Some(message(lang, code).to_string())))
        }
        other => Err(other),
    }
}

async fn company_new_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Form(form): Form<CompanyForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let heading = message(ctx.lang, "companies.new").to_string();
    let (raw, number_errors) = form.to_raw();
    let failure = if number_errors.is_empty() {
        let group = Some(form.is_group_company.is_some());
        match state
            .services
            .company_create_with(&ctx.actor, raw, group)
            .await
        {
            Ok(record) => {
                return Redirect::to(&format!("/companies/{}?flash=flash.created", record.id))
                    .into_response()
            }
            Err(error) => error,
        }
    } else {
        ServiceError::Validation(
            number_errors
                .into_iter()
                .map(|(f, c)| kabinet_domain::error::FieldError::new(f, c))
                .collect(),
        )
    };
    match form_failure(ctx.lang, failure) {
        Ok((errors, general)) => {
            form_page(
                &state,
                &ctx,
                "/companies/new".into(),
                "/companies".into(),
                heading,
                &form,
                &errors,
                general,
                Vec::new(),
            )
            .await
        }
        Err(error) => error_page(&ctx, error),
    }
}

async fn company_edit_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::CompaniesEdit) {
        return error_page(&ctx, error);
    }
    let record = match state.services.company_get(&ctx.actor, id).await {
        Ok(record) => record,
        Err(error) => return error_page(&ctx, error),
    };
    let dto = CompanyDto::from(&record);
    let heading = format!("{}: {}", message(ctx.lang, "action.edit"), dto.name);
    let form = CompanyForm::from_dto(&dto);
    form_page(
        &state,
        &ctx,
        format!("/companies/{id}/edit"),
        format!("/companies/{id}"),
        heading,
        &form,
        &[],
        None,
        Vec::new(),
    )
    .await
}

/// Fields whose saved value differs from what the form holds.
fn changed_fields(lang: Lang, saved: &CompanyForm, form: &CompanyForm) -> Vec<ChangedField> {
    let pairs: [(&str, &String, &String); 24] = [
        ("name", &saved.name, &form.name),
        ("short_id", &saved.short_id, &form.short_id),
        (
            "account_number",
            &saved.account_number,
            &form.account_number,
        ),
        ("parent_id", &saved.parent_id, &form.parent_id),
        ("region", &saved.region, &form.region),
        ("macroregion", &saved.macroregion, &form.macroregion),
        ("timezone", &saved.timezone, &form.timezone),
        ("pbx_number", &saved.pbx_number, &form.pbx_number),
        (
            "multichannel_number",
            &saved.multichannel_number,
            &form.multichannel_number,
        ),
        ("phones", &saved.phones, &form.phones),
        ("phone", &saved.phone, &form.phone),
        ("email", &saved.email, &form.email),
        ("legal_address", &saved.legal_address, &form.legal_address),
        (
            "postal_address",
            &saved.postal_address,
            &form.postal_address,
        ),
        ("inns", &saved.inns, &form.inns),
        ("kpp", &saved.kpp, &form.kpp),
        ("ogrn", &saved.ogrn, &form.ogrn),
        ("bik", &saved.bik, &form.bik),
        ("bank", &saved.bank, &form.bank),
        (
            "correspondent_account",
            &saved.correspondent_account,
            &form.correspondent_account,
        ),
        (
            "settlement_account",
            &saved.settlement_account,
            &form.settlement_account,
        ),
        ("tariff", &saved.tariff, &form.tariff),
        (
            "max_dialogs_per_operator",
            &saved.max_dialogs_per_operator,
            &form.max_dialogs_per_operator,
        ),
        ("credit_limit", &saved.credit_limit, &form.credit_limit),
    ];
    let mut changed: Vec<ChangedField> = pairs
        .iter()
        .filter(|(_, saved, typed)| saved.trim() != typed.trim())
        .map(|(name, saved, _)| ChangedField {
            label: message(lang, &format!("field.{name}")).to_string(),
            value: (*saved).clone(),
        })
        .collect();
    for (name, saved, typed) in [
        (
            "is_reseller",
            saved.is_reseller.is_some(),
            form.is_reseller.is_some(),
        ),
        (
            "fz230_enabled",
            saved.fz230_enabled.is_some(),
            form.fz230_enabled.is_some(),
        ),
        (
            "sms_second_factor",
            saved.sms_second_factor.is_some(),
            form.sms_second_factor.is_some(),
        ),
        (
            "is_group_company",
            saved.is_group_company.is_some(),
            form.is_group_company.is_some(),
        ),
        (
            "email_is_login",
            saved.email_is_login.is_some(),
            form.email_is_login.is_some(),
        ),
        (
            "password_in_email",
            saved.password_in_email.is_some(),
            form.password_in_email.is_some(),
        ),
    ] {
        if saved != typed {
            changed.push(ChangedField {
                label: message(lang, &format!("field.{name}")).to_string(),
                value: message(lang, if saved { "filter.yes" } else { "filter.no" }).to_string(),
            });
        }
    }
    if saved.balance_threshold.trim() != form.balance_threshold.trim() {
        changed.push(ChangedField {
            label: message(lang, "field.balance_threshold").to_string(),
            value: saved.balance_threshold.clone(),
        });
    }
    changed
}

async fn company_edit_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(mut form): Form<CompanyForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let lang = ctx.lang;
    let action = format!("/companies/{id}/edit");
    let cancel = format!("/companies/{id}");
    let heading = format!("{}: {}", message(lang, "action.edit"), form.name);
    let Ok(expected) = form.version.trim().parse::<i64>() else {
        return form_page(
            &state,
            &ctx,
            action,
            cancel,
            heading,
            &form,
            &[],
            Some(message(lang, "bad_request").to_string()),
            Vec::new(),
        )
        .await;
    };
    let (raw, number_errors) = form.to_raw();
    if !number_errors.is_empty() {
        let errors: Vec<(String, String)> = number_errors
            .into_iter()
            .map(|(f, c)| (f, c.to_string()))
            .collect();
        return form_page(
            &state,
            &ctx,
            action,
            cancel,
            heading,
            &form,
            &errors,
            None,
            Vec::new(),
        )
        .await;
    }
    match state
        .services
        .company_update_with(
            &ctx.actor,
            id,
            Some(expected),
            raw,
            Some(form.is_group_company.is_some()),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/companies/{id}?flash=flash.saved")).into_response(),
        Err(ServiceError::Stale) => {
            // Someone saved in between: keep the person's input, show what is
            // saved now, and let a second save knowingly write over it.
            let saved = match state.services.company_get(&ctx.actor, id).await {
                Ok(record) => CompanyForm::from_dto(&CompanyDto::from(&record)),
                Err(error) => return error_page(&ctx, error),
            };
            let changed = changed_fields(lang, &saved, &form);
            form.version = saved.version.clone();
            form_page(
                &state,
                &ctx,
                action,
                cancel,
                heading,
                &form,
                &[],
                None,
                changed,
            )
            .await
        }
        Err(error) => match form_failure(lang, error) {
            Ok((errors, general)) => {
                form_page(
                    &state,
                    &ctx,
                    action,
                    cancel,
                    heading,
                    &form,
                    &errors,
                    general,
                    Vec::new(),
                )
                .await
            }
            Err(error) => error_page(&ctx, error),
        },
    }
}

// ---------------------------------------------------------------------------
// Delete and restore, each behind a confirmation page.

#[derive(Template)]
#[template(path = "company_confirm.html")]
struct ConfirmPage {
    m: Frame,
    id: i64,
    name: String,
    heading: String,
    explain: String,
    action: String,
    confirm_label: String,
    danger: bool,
    version: i64,
    children: Vec<CompanyRow>,
    children_total: i64,
    cascade_offered: bool,
    error: Option<String>,
}

async fn confirm_page(
    state: &AppState,
    ctx: &ConsoleCtx,
    id: i64,
    delete: bool,
    error: Option<String>,
) -> Response {
    let lang = ctx.lang;
    let record = match state.services.company_get(&ctx.actor, id).await {
        Ok(record) => record,
        Err(error) => return error_page(ctx, error),
    };
    let (children, children_total) = if delete {
        let query = CompanyQuery {
            parent_id: Some(id),
            limit: 20,
            ..CompanyQuery::default()
        };
        match state.services.company_list(&ctx.actor, query).await {
            Ok((records, total)) => (
                records
                    .iter()
                    .map(|r| CompanyRow {
                        id: r.id,
                        name: r.fields.name.clone(),
                        account_number: r.fields.account_number.clone().unwrap_or_default(),
                        pbx_number: String::new(),
                        inns: r.fields.inns.join(", "),
                        multichannel_number: String::new(),
                        region: String::new(),
                        macroregion: String::new(),
                        tariff: String::new(),
                        children_count: r.children_count,
                        is_reseller: r.fields.is_reseller,
                        deleted: false,
                    })
                    .collect(),
                // The card counts live children; the list counts to 1,000.
                if total.exact {
                    total.count
                } else {
                    record.children_count
                },
            ),
            Err(error) => return error_page(ctx, error),
        }
    } else {
        (Vec::new(), 0)
    };
    let (heading, explain, action, confirm) = if delete {
        (
            "delete.title",
            "delete.explain",
            format!("/companies/{id}/delete"),
            "delete.confirm",
        )
    } else {
        (
            "restore.title",
            "restore.explain",
            format!("/companies/{id}/restore"),
            "restore.confirm",
        )
    };
    let mut frame = Frame::new(ctx, "companies", heading);
    frame.title = format!("{} — {}", message(lang, heading), record.fields.name);
    let page = ConfirmPage {
        m: frame,
        id,
        name: record.fields.name.clone(),
        heading: message(lang, heading).to_string(),
        explain: message(lang, explain).to_string(),
        action,
        confirm_label: message(lang, confirm).to_string(),
        danger: delete,
        version: record.version,
        cascade_offered: children_total > 0,
        children,
        children_total,
        error: error.clone(),
    };
    let mut response = render(&page);
    if error.is_some() {
        *response.status_mut() = StatusCode::CONFLICT;
    }
    response
}

async fn company_delete_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::CompaniesDelete) {
        return error_page(&ctx, error);
    }
    confirm_page(&state, &ctx, id, true, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteForm {
    csrf: String,
    version: String,
    cascade: Option<String>,
}

async fn company_delete_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let cascade = if form.cascade.is_some() {
        Cascade::DeleteChildren
    } else {
        Cascade::Refuse
    };
    let expected = form.version.trim().parse::<i64>().ok();
    match state
        .services
        .company_delete(&ctx.actor, id, expected, cascade)
        .await
    {
        Ok(_) => Redirect::to(&format!("/companies/{id}?flash=flash.deleted")).into_response(),
        Err(ServiceError::Conflict { code, .. }) => {
            confirm_page(
                &state,
                &ctx,
                id,
                true,
                Some(message(ctx.lang, code).to_string()),
            )
            .await
        }
        Err(ServiceError::Stale) => {
            confirm_page(
                &state,
                &ctx,
                id,
                true,
                Some(message(ctx.lang, "stale_version").to_string()),
            )
            .await
        }
        Err(error) => error_page(&ctx, error),
    }
}

async fn company_restore_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::CompaniesRestore) {
        return error_page(&ctx, error);
    }
    confirm_page(&state, &ctx, id, false, None).await
}

async fn company_restore_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.company_restore(&ctx.actor, id).await {
        Ok(_) => Redirect::to(&format!("/companies/{id}?flash=flash.restored")).into_response(),
        Err(ServiceError::Conflict { code, .. }) => {
            confirm_page(
                &state,
                &ctx,
                id,
                false,
                Some(message(ctx.lang, code).to_string()),
            )
            .await
        }
        Err(error) => error_page(&ctx, error),
    }
}

// ---------------------------------------------------------------------------
// Audit log.

/// One audit entry as the console shows it.
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub on_behalf_of: String,
    pub action: String,
    pub entity: String,
    pub entity_href: Option<String>,
    pub ip: String,
    pub changes: Vec<AuditChange>,
    pub details: String,
}

/// A field that an audited change touched.
pub struct AuditChange {
    pub field: String,
    pub before: String,
    pub after: String,
}

fn json_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The fields that differ between two JSON snapshots.
fn audit_changes(
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Vec<AuditChange> {
    let empty = serde_json::Map::new();
    let before_map = before.and_then(|v| v.as_object()).unwrap_or(&empty);
    let after_map = after.and_then(|v| v.as_object()).unwrap_or(&empty);
    let mut keys: Vec<&String> = before_map.keys().chain(after_map.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !matches!(k.as_str(), "version" | "updated_at" | "created_at"))
        .filter(|k| before_map.get(*k) != after_map.get(*k))
        .map(|k| AuditChange {
            field: k.clone(),
            before: if before.is_some() {
                json_text(before_map.get(k))
            } else {
                String::new()
            },
            after: if after.is_some() {
                json_text(after_map.get(k))
            } else {
                String::new()
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    m: Frame,
    rows: Vec<AuditRow>,
    total: i64,
    first: i64,
    last: i64,
    action: String,
    entity_type: String,
    entity_id: String,
    actor: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    export_href: Option<String>,
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let query = match crate::api::audit_query_from(&params, PAGE_SIZE) {
        Ok(query) => query,
        Err(_) => kabinet_store::audit::AuditQuery {
            limit: PAGE_SIZE,
            ..Default::default()
        },
    };
    let (limit, offset) = (query.limit, query.offset);
    let (entries, total) = match state.services.audit_list(&ctx.actor, &query).await {
        Ok(found) => found,
        Err(error) => return error_page(&ctx, error),
    };
    let rows: Vec<AuditRow> = entries
        .iter()
        .map(|e| {
            let dto = kabinet_api::AuditEntryDto::from(e);
            AuditRow {
                at: dto.at.replace('T', " ").trim_end_matches('Z').to_string(),
                actor: dto.actor_login.clone().unwrap_or_else(|| "—".into()),
                on_behalf_of: dto.on_behalf_of.clone().unwrap_or_default(),
                action: dto.action.clone(),
                entity: format!(
                    "{} {}",
                    dto.entity_type,
                    dto.entity_id.clone().unwrap_or_default()
                )
                .trim()
                .to_string(),
                entity_href: match dto.entity_type.as_str() {
                    "company" => dto.entity_id.clone().map(|id| format!("/companies/{id}")),
                    "user" => dto.entity_id.clone().map(|id| format!("/users/{id}")),
                    _ => None,
                },
                ip: dto.ip.clone().unwrap_or_default(),
                changes: audit_changes(dto.before.as_ref(), dto.after.as_ref()),
                details: dto.details.clone().unwrap_or_default(),
            }
        })
        .collect();
    let href = |new_offset: i64| {
        let mut pairs: Vec<String> = ["action", "entity_type", "entity_id", "actor"]
            .iter()
            .filter_map(|k| {
                params
                    .get(*k)
                    .filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", url_encode(v)))
            })
            .collect();
        pairs.push(format!("offset={new_offset}"));
        format!("/audit?{}", pairs.join("&"))
    };
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let page = AuditPage {
        export_href: ctx.actor.can(Function::AuditExport).then(|| {
            let pairs: Vec<String> = ["action", "entity_type", "entity_id", "actor"]
                .iter()
                .filter_map(|key| {
                    params
                        .get(*key)
                        .filter(|v| !v.is_empty())
                        .map(|v| format!("{key}={}", url_encode(v)))
                })
                .collect();
            format!("/api/v1/audit/export?{}", pairs.join("&"))
        }),
        m: Frame::new(&ctx, "audit", "audit.title"),
        first: if rows.is_empty() { 0 } else { offset + 1 },
        last: offset + rows.len() as i64,
        rows,
        total,
        action: get("action"),
        entity_type: get("entity_type"),
        entity_id: get("entity_id"),
        actor: get("actor"),
        prev_href: (offset > 0).then(|| href((offset - limit).max(0))),
        next_href: (offset + limit < total).then(|| href(offset + limit)),
    };
    render(&page)
}

// ---------------------------------------------------------------------------
// API tokens.

/// A token as listed.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created: String,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    m: Frame,
    tokens: Vec<TokenRow>,
    created_token: Option<String>,
    error: Option<String>,
    name: String,
}

async fn tokens_render(
    state: &AppState,
    ctx: &ConsoleCtx,
    created_token: Option<String>,
    error: Option<String>,
    name: String,
) -> Response {
    let tokens = match state.services.token_list(&ctx.actor).await {
        Ok(tokens) => tokens,
        Err(error) => return error_page(ctx, error),
    };
    let page = TokensPage {
        m: Frame::new(ctx, "tokens", "tokens.title"),
        tokens: tokens
            .iter()
            .map(|t| TokenRow {
                id: t.id,
                name: t.name.clone(),
                prefix: format!("{}…", t.prefix),
                created: format_time(t.created_at)
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
                last_used: t
                    .last_used_at
                    .map(|at| {
                        format_time(at)
                            .replace('T', " ")
                            .trim_end_matches('Z')
                            .to_string()
                    })
                    .unwrap_or_else(|| "—".into()),
            })
            .collect(),
        created_token,
        error,
        name,
    };
    let mut response = render(&page);
    // A page showing a fresh secret must not be cached anywhere.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn tokens_page(State(state): State<AppState>, ctx: ConsoleCtx) -> Response {
    tokens_render(&state, &ctx, None, None, String::new()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    csrf: String,
    name: String,
}

async fn token_create(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Form(form): Form<TokenForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.token_create(&ctx.actor, &form.name).await {
        Ok((_, secret)) => tokens_render(&state, &ctx, Some(secret), None, String::new()).await,
        Err(ServiceError::Validation(errors)) => {
            let text = field_messages(ctx.lang, &errors);
            let mut response = tokens_render(&state, &ctx, None, Some(text), form.name).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(error) => error_page(&ctx, error),
    }
}

async fn token_revoke(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.token_revoke(&ctx.actor, id).await {
        Ok(()) => Redirect::to("/tokens").into_response(),
        Err(error) => error_page(&ctx, error),
    }
}

// ---------------------------------------------------------------------------
// One's own password.

#[derive(Template)]
#[template(path = "me_password.html")]
struct PasswordPage {
    m: Frame,
    forced: bool,
    errors: HashMap<String, String>,
    done: bool,
}

impl LoginPage {
    /// `next` as a query parameter value.
    fn next_encoded(&self) -> String {
        url_encode(&self.next)
    }
}

impl PasswordPage {
    fn error(&self, field: &str) -> String {
        self.errors.get(field).cloned().unwrap_or_default()
    }
}

async fn password_page(ctx: ConsoleCtx) -> Response {
    let page = PasswordPage {
        forced: ctx.actor.must_change_password,
        m: Frame::new(&ctx, "password", "password.title"),
        errors: HashMap::new(),
        done: false,
    };
    render(&page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    repeat_password: String,
}

async fn password_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let lang = ctx.lang;
    let mut errors = HashMap::new();
    if form.new_password != form.repeat_password {
        errors.insert(
            "repeat_password".to_string(),
            message(lang, "password.mismatch").to_string(),
        );
    } else {
        match state
            .services
            .change_own_password(
                &ctx.actor,
                &form.current_password,
                &form.new_password,
                Some(&ctx.session_secret),
            )
            .await
        {
            Ok(()) => {
                let page = PasswordPage {
                    forced: false,
                    m: Frame::new(&ctx, "password", "password.title"),
                    errors,
                    done: true,
                };
                return render(&page);
            }
            Err(ServiceError::Validation(problems)) => {
                for problem in problems {
                    let field = if problem.field == "password" {
                        "new_password".to_string()
                    } else {
                        problem.field
                    };
                    errors.insert(field, message(lang, problem.code).to_string());
                }
            }
            Err(error) => return error_page(&ctx, error),
        }
    }
    let page = PasswordPage {
        forced: ctx.actor.must_change_password,
        m: Frame::new(&ctx, "password", "password.title"),
        errors,
        done: false,
    };
    let mut response = render(&page);
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

// ---------------------------------------------------------------------------
// Sign-in security: the second factor (TOTP).

#[derive(Template)]
#[template(path = "me_security.html")]
struct SecurityPage {
    m: Frame,
    enabled: bool,
    recovery_left: i64,
    /// While enrolling: the QR code (SVG) and the secret as text.
    qr_svg: String,
    secret: String,
    recovery_codes: Vec<String>,
    error: Option<String>,
    notice: Option<String>,
    passkeys: Vec<FactorRow>,
    devices: Vec<FactorRow>,
    sessions: Vec<SessionRow>,
}

/// One of one's own sessions on the security page.
pub struct SessionRow {
    pub handle: String,
    /// "Chrome · Linux", with the whole user agent in `user_agent`.
    pub device: String,
    pub user_agent: String,
    pub ip: String,
    pub created: String,
    pub last_used: String,
    pub current: bool,
}

/// A passkey or a trusted device as the security page lists it.
pub struct FactorRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub last_used: String,
}

async fn security_render(state: &AppState, ctx: &ConsoleCtx, mut page: SecurityPage) -> Response {
    match state.services.totp_status(&ctx.actor).await {
        Ok((enabled, left)) => {
            page.enabled = enabled;
            page.recovery_left = left;
        }
        Err(error) => return error_page(ctx, error),
    }
    let when = |at: Option<i64>| at.map(short_time).unwrap_or_else(|| "—".to_string());
    match state.services.passkey_list(&ctx.actor).await {
        Ok(list) => {
            page.passkeys = list
                .iter()
                .map(|p| FactorRow {
                    id: p.id,
                    name: p.name.clone(),
                    created: short_time(p.created_at),
                    last_used: when(p.last_used_at),
                })
                .collect()
        }
        Err(error) => return error_page(ctx, error),
    }
    match state
        .services
        .user_sessions(&ctx.actor, ctx.actor.user_id)
        .await
    {
        Ok(list) => {
            let current = kabinet_store::sessions::session_handle(
                &kabinet_service::auth::secret_hash(&ctx.session_secret),
            );
            page.sessions = list
                .iter()
                .map(|s| SessionRow {
                    handle: s.handle.clone(),
                    device: s
                        .user_agent
                        .as_deref()
                        .map(device_summary)
                        .unwrap_or_else(|| "—".to_string()),
                    user_agent: s.user_agent.clone().unwrap_or_default(),
                    ip: s.ip.clone().unwrap_or_else(|| "—".to_string()),
                    created: short_time(s.created_at),
                    last_used: short_time(s.last_seen_at),
                    current: s.handle == current,
                })
                .collect()
        }
        Err(error) => return error_page(ctx, error),
    }
    match state.services.device_list(&ctx.actor).await {
        Ok(list) => {
            page.devices = list
                .iter()
                .map(|d| FactorRow {
                    id: d.id,
                    name: d.name.clone(),
                    created: short_time(d.created_at),
                    last_used: when(d.last_used_at),
                })
                .collect()
        }
        Err(error) => return error_page(ctx, error),
    }
    let failed = page.error.is_some();
    let mut response = render(&page);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

fn security_page_for(ctx: &ConsoleCtx) -> SecurityPage {
    SecurityPage {
        m: Frame::new(ctx, "security", "security.title"),
        enabled: false,
        recovery_left: 0,
        qr_svg: String::new(),
        secret: String::new(),
        recovery_codes: Vec::new(),
        error: None,
        notice: None,
        passkeys: Vec::new(),
        devices: Vec::new(),
        sessions: Vec::new(),
    }
}

async fn security_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut page = security_page_for(&ctx);
    if params.get("flash").map(String::as_str) == Some("passkey.added") {
        page.notice = Some(message(ctx.lang, "passkey.added").to_string());
    }
    security_render(&state, &ctx, page).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SecurityForm {
    csrf: String,
    action: String,
    code: String,
    secret: String,
    password: String,
    id: i64,
    pin: String,
    name: String,
    session: String,
}

async fn security_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    RequestOrigin(request_origin): RequestOrigin,
    Form(form): Form<SecurityForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let lang = ctx.lang;
    let mut page = security_page_for(&ctx);
    let problem = |error: ServiceError| match error {
        ServiceError::Validation(problems) => Ok(field_messages(lang, &problems)),
        ServiceError::Conflict { code, .. } => Ok(message(lang, code).to_string()),
        other => Err(other),
    };
    match form.action.as_str() {
        "begin" => match state.services.totp_begin(&ctx.actor).await {
            Ok((secret, uri)) => {
                page.qr_svg = crate::api::qr_svg(&uri);
                page.secret = secret;
            }
            Err(error) => match problem(error) {
                Ok(text) => page.error = Some(text),
                Err(error) => return error_page(&ctx, error),
            },
        },
        "confirm" => match state.services.totp_confirm(&ctx.actor, &form.code).await {
            Ok(codes) => page.recovery_codes = codes,
            Err(error) => match problem(error) {
                Ok(text) => {
                    page.error = Some(text);
                    // Keep the enrolment on screen so the person can try a new code.
                    if !form.secret.is_empty() {
                        let uri = kabinet_domain::totp::otpauth_uri(
                            &form.secret,
                            "Kabinet",
                            &ctx.actor.login,
                        );
                        page.qr_svg = crate::api::qr_svg(&uri);
                        page.secret = form.secret.clone();
                    }
                }
                Err(error) => return error_page(&ctx, error),
            },
        },
        "disable" => {
            if let Err(error) = state
                .services
                .totp_disable(&ctx.actor, &form.password)
                .await
            {
                match problem(error) {
                    Ok(text) => page.error = Some(text),
                    Err(error) => return error_page(&ctx, error),
                }
            }
        }
        "passkey_delete" => match state.services.passkey_delete(&ctx.actor, form.id).await {
            Ok(()) => page.notice = Some(message(lang, "passkey.removed").to_string()),
            Err(error) => match problem(error) {
                Ok(text) => page.error = Some(text),
                Err(error) => return error_page(&ctx, error),
            },
        },
        "session_end" => match state
            .services
            .my_session_end(&ctx.actor, &form.session)
            .await
        {
            Ok(()) => page.notice = Some(message(lang, "session.ended").to_string()),
            Err(error) => match problem(error) {
                Ok(text) => page.error = Some(text),
                Err(error) => return error_page(&ctx, error),
            },
        },
        "device_revoke" => match state.services.device_revoke(&ctx.actor, form.id).await {
            Ok(()) => page.notice = Some(message(lang, "device.revoked").to_string()),
            Err(error) => match problem(error) {
                Ok(text) => page.error = Some(text),
                Err(error) => return error_page(&ctx, error),
            },
        },
        "device_trust" => {
            match state
                .services
                .device_trust(&ctx.actor, form.pin.trim(), &form.name, &request_origin)
                .await
            {
                Ok(secret) => {
                    page.notice = Some(message(lang, "device.trusted").to_string());
                    let mut response = security_render(&state, &ctx, page).await;
                    if let Ok(value) =
                        HeaderValue::from_str(&crate::api_factors::device_cookie(&state, &secret))
                    {
                        response.headers_mut().append(header::SET_COOKIE, value);
                    }
                    return response;
                }
                Err(error) => match problem(error) {
                    Ok(text) => page.error = Some(text),
                    Err(error) => return error_page(&ctx, error),
                },
            }
        }
        _ => page.error = Some(message(lang, "bad_request").to_string()),
    }
    security_render(&state, &ctx, page).await
}

// ---------------------------------------------------------------------------
// Password recovery and one-time links (no session needed).

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    m: Frame,
    csrf: String,
    sent: bool,
    error: Option<String>,
}

/// Sets the CSRF cookie of a form shown before there is a session (the
/// sign-in page and its relatives): the form's hidden field must match it.
fn set_pre_session_csrf(response: &mut Response, token: &str) {
    if let Ok(value) = HeaderValue::from_str(&set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        Some(3600),
        true,
        false,
    )) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A page for people without a session, with its own CSRF cookie like the
/// sign-in page, never cached.
fn with_pre_session_csrf(mut response: Response, token: &str) -> Response {
    set_pre_session_csrf(&mut response, token);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn forgot_page(parts: axum::http::request::Parts) -> Response {
    let lang = lang_of(&parts);
    let token = kabinet_service::auth::random_secret();
    let page = ForgotPage {
        m: Frame::anonymous(lang, "forgot.title", "/password/forgot"),
        csrf: token.clone(),
        sent: false,
        error: None,
    };
    with_pre_session_csrf(render(&page), &token)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ForgotForm {
    csrf: String,
    login: String,
}

async fn forgot_submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<ForgotForm>,
) -> Response {
    let lang = lang_of(&parts);
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let token = kabinet_service::auth::random_secret();
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        let page = ForgotPage {
            m: Frame::anonymous(lang, "forgot.title", "/password/forgot"),
            csrf: token.clone(),
            sent: false,
            error: Some(message(lang, "csrf").to_string()),
        };
        let mut response = with_pre_session_csrf(render(&page), &token);
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    let origin = origin(&parts, &state);
    if !form.login.trim().is_empty() {
        if let Err(error) = state.services.recover_password(&form.login, &origin).await {
            tracing::error!(%error, "password recovery failed");
        }
    }
    let page = ForgotPage {
        m: Frame::anonymous(lang, "forgot.title", "/password/forgot"),
        csrf: token.clone(),
        sent: true,
        error: None,
    };
    with_pre_session_csrf(render(&page), &token)
}

#[derive(Template)]
#[template(path = "password_link.html")]
struct LinkPage {
    m: Frame,
    csrf: String,
    done: bool,
    error: Option<String>,
    password_error: Option<String>,
}

async fn link_page(parts: axum::http::request::Parts) -> Response {
    let lang = lang_of(&parts);
    let token = kabinet_service::auth::random_secret();
    let page = LinkPage {
        m: Frame::anonymous(lang, "link.title", "/password/set"),
        csrf: token.clone(),
        done: false,
        error: None,
        password_error: None,
    };
    with_pre_session_csrf(render(&page), &token)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    csrf: String,
    token: String,
    new_password: String,
    repeat_password: String,
}

async fn link_submit(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
    Form(form): Form<LinkForm>,
) -> Response {
    let lang = lang_of(&parts);
    let expected = cookie(&parts, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let token = kabinet_service::auth::random_secret();
    let page = |done: bool, error: Option<String>, password_error: Option<String>| LinkPage {
        m: Frame::anonymous(lang, "link.title", "/password/set"),
        csrf: token.clone(),
        done,
        error,
        password_error,
    };
    let (status, page) = if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        (
            StatusCode::FORBIDDEN,
            page(false, Some(message(lang, "csrf").to_string()), None),
        )
    } else if form.new_password != form.repeat_password {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            page(
                false,
                None,
                Some(message(lang, "password.mismatch").to_string()),
            ),
        )
    } else {
        let origin = origin(&parts, &state);
        match state
            .services
            .set_password_by_link(&form.token, &form.new_password, &origin)
            .await
        {
            Ok(()) => (StatusCode::OK, page(true, None, None)),
            Err(ServiceError::Validation(problems)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                page(false, None, Some(field_messages(lang, &problems))),
            ),
            Err(ServiceError::Conflict { code, .. }) => (
                StatusCode::CONFLICT,
                page(false, Some(message(lang, code).to_string()), None),
            ),
            Err(error) => {
                tracing::error!(%error, "setting a password by link failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    page(false, Some(message(lang, "internal").to_string()), None),
                )
            }
        }
    };
    let mut response = with_pre_session_csrf(render(&page), &token);
    *response.status_mut() = status;
    response
}

// ---------------------------------------------------------------------------
// Outbox.

/// An outbox entry as the console shows it.
pub struct OutboxRow {
    pub id: i64,
    pub at: String,
    pub topic: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    /// delivered / pending / failed / recorded.
    pub status: &'static str,
    /// When delivered, or the state of delivery in words.
    pub delivered: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    m: Frame,
    rows: Vec<OutboxRow>,
    total: i64,
    topic: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    can_retry: bool,
    flash: Option<String>,
}

async fn outbox_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let topic = params
        .get("topic")
        .cloned()
        .unwrap_or_else(|| "email".to_string());
    let offset = params
        .get("offset")
        .and_then(|o| o.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let (entries, total) = match state
        .services
        .outbox_list(&ctx.actor, Some(&topic), PAGE_SIZE, offset)
        .await
    {
        Ok(found) => found,
        Err(error) => return error_page(&ctx, error),
    };
    let rows = entries
        .iter()
        .map(|e| {
            let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
            let field = |name: &str| {
                payload
                    .get(name)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            OutboxRow {
                at: format_time(e.at)
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
                topic: e.topic.clone(),
                to: field("to"),
                subject: field("subject"),
                text: if payload.get("text").is_some() {
                    field("text")
                } else {
                    e.payload.clone()
                },
                id: e.id,
                status: if e.delivered_at.is_some() {
                    "delivered"
                } else if e.failed_at.is_some() {
                    "failed"
                } else if e.topic == "email" || e.topic == "sms" {
                    "pending"
                } else {
                    "recorded"
                },
                delivered: match (e.delivered_at, e.failed_at) {
                    (Some(at), _) => short_time(at),
                    (None, Some(_)) => message(ctx.lang, "outbox.not_delivered").to_string(),
                    (None, None) if e.attempts > 0 => format!(
                        "{} {} {}",
                        message(ctx.lang, "outbox.attempts"),
                        e.attempts,
                        e.next_attempt_at
                            .map(|at| format!(
                                "{} {}",
                                message(ctx.lang, "outbox.next"),
                                short_time(at)
                            ))
                            .unwrap_or_default()
                    ),
                    (None, None) => String::new(),
                },
                error: e.last_error.clone().unwrap_or_default(),
            }
        })
        .collect();
    let href = |o: i64| format!("/outbox?topic={}&offset={o}", url_encode(&topic));
    let page = OutboxPage {
        m: Frame::new(&ctx, "outbox", "outbox.title"),
        rows,
        total,
        can_retry: ctx.actor.can(Function::OutboxRetry),
        flash: params
            .get("flash")
            .filter(|f| f.as_str() == "flash.retry")
            .map(|f| message(ctx.lang, f).to_string()),
        prev_href: (offset > 0).then(|| href((offset - PAGE_SIZE).max(0))),
        next_href: (offset + PAGE_SIZE < total).then(|| href(offset + PAGE_SIZE)),
        topic,
    };
    let mut response = render(&page);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A short name of the browser and system behind a user agent.
fn device_summary(user_agent: &str) -> String {
    let browser = [
        ("YaBrowser/", "Yandex Browser"),
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} · {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => user_agent.chars().take(40).collect(),
    }
}

fn short_time(at: i64) -> String {
    format_time(at)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

async fn outbox_retry(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.outbox_retry(&ctx.actor, id, &origin).await {
        Ok(entry) => Redirect::to(&format!(
            "/outbox?topic={}&flash=flash.retry",
            url_encode(&entry.topic)
        ))
        .into_response(),
        Err(error) => error_page(&ctx, error),
    }
}

// ---------------------------------------------------------------------------
// API documentation page.

/// One operation on the docs page.
pub struct DocOperation {
    pub method: String,
    pub path: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    m: Frame,
    operations: Vec<DocOperation>,
}

pub async fn api_docs(parts: axum::http::request::Parts) -> Response {
    let lang = lang_of(&parts);
    let page = ApiDocsPage {
        m: Frame::anonymous(lang, "nav.api_docs", "/api/docs"),
        operations: crate::openapi::OPERATIONS
            .iter()
            .map(|op| DocOperation {
                method: op.method.to_uppercase(),
                path: format!("/api/v1{}", op.path),
                summary: op.summary.to_string(),
            })
            .collect(),
    };
    render(&page)
}

// ---------------------------------------------------------------------------
// Static files, compiled into the binary.

async fn static_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
        .into_response()
}

async fn static_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn devices_are_named_by_browser_and_system() {
        assert_eq!(
            super::device_summary("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"),
            "Chrome (headless) · Linux"
        );
        assert_eq!(
            super::device_summary(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
            ),
            "Firefox · Windows"
        );
        assert_eq!(
            super::device_summary("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1"),
            "Safari · iOS"
        );
        assert_eq!(super::device_summary("curl/8.5.0"), "curl/8.5.0");
    }

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn list_query_reads_every_parameter() {
        let query = company_query_from(
            &params(&[
                ("q", "+7 (495) 123"),
                ("region", "Москва"),
                ("reseller", "true"),
                ("deleted", "only"),
                ("sort", "inn"),
                ("dir", "desc"),
                ("page", "3"),
                ("limit", "20"),
            ]),
            50,
        )
        .unwrap();
        assert_eq!(query.words, vec!["7495123".to_string()]);
        assert_eq!(query.region.as_deref(), Some("Москва"));
        assert_eq!(query.is_reseller, Some(true));
        assert_eq!(query.deleted, DeletedFilter::Only);
        assert_eq!(query.sort, CompanySort::Inn);
        assert!(query.descending);
        assert_eq!((query.limit, query.offset), (20, 40));
    }

    #[test]
    fn list_query_names_the_bad_parameter() {
        assert_eq!(
            company_query_from(&params(&[("sort", "password")]), 50)
                .unwrap_err()
                .0,
            "sort"
        );
        assert_eq!(
            company_query_from(&params(&[("deleted", "maybe")]), 50)
                .unwrap_err()
                .0,
            "deleted"
        );
        assert_eq!(
            company_query_from(&params(&[("page", "x")]), 50)
                .unwrap_err()
                .0,
            "page"
        );
    }

    #[test]
    fn stale_changes_list_only_differing_fields() {
        let saved = CompanyForm {
            name: "New".into(),
            region: "Москва".into(),
            ..CompanyForm::default()
        };
        let typed = CompanyForm {
            name: "Old".into(),
            region: "Москва".into(),
            ..CompanyForm::default()
        };
        let changed = changed_fields(Lang::En, &saved, &typed);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].value, "New");
    }

    #[test]
    fn audit_changes_skip_equal_fields() {
        let before = serde_json::json!({"name": "A", "region": "X", "version": 1});
        let after = serde_json::json!({"name": "B", "region": "X", "version": 2});
        let changes = audit_changes(Some(&before), Some(&after));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (
                changes[0].field.as_str(),
                changes[0].before.as_str(),
                changes[0].after.as_str()
            ),
            ("name", "A", "B")
        );
    }
}
