//! Console pages of people: list, card, create, edit, delete, restore, and
//! ending a person's sessions. The same use cases as `/api/v1/users`; the
//! patterns (frame, flash, stale edits, confirmations) are the company
//! pages' in `console.rs`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kabinet_api::{format_time, UserDto};
use kabinet_domain::access::Function;
use kabinet_domain::error::FieldError;
use kabinet_domain::user::{RawUser, UserKind};
use kabinet_service::users::InitialPassword;
use kabinet_service::ServiceError;
use kabinet_store::companies::CompanyQuery;
use kabinet_store::users::{UserQuery, UserRecord, UserSort};
use serde::Deserialize;

use crate::console::{csrf_failed, display_phone, error_page, render, Frame, SortHeader};
use crate::extract::{same_secret, url_encode, ConsoleCtx};
use crate::i18n::{message, Lang};
use crate::AppState;

const PAGE_SIZE: i64 = 50;
const STATUSES: [&str; 2] = ["active", "blocked"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(users_page))
        .route("/users/new", get(user_new_page).post(user_new_submit))
        .route("/users/{id}", get(user_page))
        .route(
            "/users/{id}/edit",
            get(user_edit_page).post(user_edit_submit),
        )
        .route(
            "/users/{id}/delete",
            get(user_delete_page).post(user_delete_submit),
        )
        .route(
            "/users/{id}/restore",
            get(user_restore_page).post(user_restore_submit),
        )
        .route("/users/{id}/sessions/end", post(user_sessions_end))
        .route("/users/{id}/ip-rules", post(user_ip_rules))
}

// ---------------------------------------------------------------------------
// Small helpers.

/// "Last First Patronymic".
fn display_name(record: &UserRecord) -> String {
    [
        Some(record.last_name.as_str()),
        Some(record.first_name.as_str()),
        record.card.patronymic.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" ")
}

/// A time as the console shows it: `2024-05-01 12:30:00` (UTC).
fn short_time(ms: i64) -> String {
    format_time(ms)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

fn kind_label(lang: Lang, kind: &str) -> String {
    message(lang, &format!("user.kind.{kind}")).to_string()
}

fn status_label(lang: Lang, status: &str) -> String {
    message(lang, &format!("user.status.{status}")).to_string()
}

fn kind_options(lang: Lang) -> Vec<(&'static str, String)> {
    UserKind::ALL
        .iter()
        .map(|k| (k.key(), kind_label(lang, k.key())))
        .collect()
}

fn status_options(lang: Lang) -> Vec<(&'static str, String)> {
    STATUSES
        .iter()
        .map(|s| (*s, status_label(lang, s)))
        .collect()
}

fn field_label(lang: Lang, name: &str) -> String {
    message(lang, &format!("user.field.{name}")).to_string()
}

/// Adds `Cache-Control: no-store` (pages that show a secret).
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---------------------------------------------------------------------------
// List.

/// One row of the people table.
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub login: String,
    pub email: String,
    pub phone: String,
    pub kind: String,
    pub status: String,
    pub status_label: String,
    pub company_id: i64,
    pub company_name: String,
    pub created: String,
    pub deleted: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    m: Frame,
    results: String,
    q: String,
    company_id: String,
    company_label: String,
    company_clear_href: String,
    kind: String,
    status: String,
    deleted: String,
    kinds: Vec<(&'static str, String)>,
    statuses: Vec<(&'static str, String)>,
    sort: String,
    dir: String,
    sort_options: Vec<(&'static str, String)>,
    can_create: bool,
    new_href: String,
}

#[derive(Template)]
#[template(path = "users_results.html")]
struct UserResults {
    m: Frame,
    rows: Vec<UserRow>,
    headers: Vec<SortHeader>,
    total: i64,
    first: i64,
    last: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    error: Option<String>,
}

/// The people list URL with some parameters replaced (empty removes).
fn users_href(params: &HashMap<String, String>, changes: &[(&str, String)]) -> String {
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
        "/users".into()
    } else {
        format!("/users?{}", query.join("&"))
    }
}

async fn users_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = ctx.lang;
    let get = |k: &str| {
        params
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (query, error) = match crate::api::user_query_from(&params, PAGE_SIZE) {
        Ok(query) => (query, None),
        Err((field, detail)) => (
            UserQuery {
                limit: PAGE_SIZE,
                ..UserQuery::default()
            },
            Some(format!("{field}: {detail}")),
        ),
    };
    let (sort, descending, limit, offset) =
        (query.sort, query.descending, query.limit, query.offset);
    let company_filter = query.company_id;
    let (records, total) = match state.services.user_list(&ctx.actor, query).await {
        Ok(found) => found,
        Err(error) => return error_page(&ctx, error),
    };
    let columns = [
        ("name", "users.column.name"),
        ("login", "user.field.login"),
        ("email", "user.field.email"),
        ("", "users.column.phone"),
        ("kind", "user.field.kind"),
        ("status", "user.field.status"),
        ("company", "user.field.company"),
        ("created_at", "user.field.created_at"),
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
                    users_href(
                        &params,
                        &[
                            ("sort", key.to_string()),
                            ("dir", next_dir.to_string()),
                            ("page", String::new()),
                            ("offset", String::new()),
                        ],
                    )
                },
                marker: match (active, descending) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
                aria: match (active, descending) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect();
    let rows: Vec<UserRow> = records
        .iter()
        .map(|r| UserRow {
            id: r.id,
            name: display_name(r),
            login: r.login.clone(),
            email: r.email.clone().unwrap_or_default(),
            phone: r
                .card
                .mobile_phone
                .as_deref()
                .or(r.card.phone.as_deref())
                .map(display_phone)
                .unwrap_or_default(),
            kind: kind_label(lang, &r.kind),
            status: r.status.clone(),
            status_label: status_label(lang, &r.status),
            company_id: r.company_id,
            company_name: r.company_name.clone(),
            created: short_time(r.created_at),
            deleted: r.deleted_at.is_some(),
        })
        .collect();
    let page_number = offset / limit + 1;
    let page_href = |number: i64| {
        users_href(
            &params,
            &[("page", number.to_string()), ("offset", String::new())],
        )
    };
    let results = UserResults {
        m: Frame::new(&ctx, "users", "users.title"),
        first: if rows.is_empty() { 0 } else { offset + 1 },
        last: offset + rows.len() as i64,
        rows,
        headers,
        total,
        prev_href: (offset > 0).then(|| page_href(page_number - 1)),
        next_href: (offset + limit < total).then(|| page_href(page_number + 1)),
        error,
    };
    if params.get("partial").map(String::as_str) == Some("1") {
        return render(&results);
    }
    let results = match results.render() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let company_id = company_filter.map(|c| c.to_string()).unwrap_or_default();
    let company_label = match company_filter {
        Some(cid) => match state.services.company_get(&ctx.actor, cid).await {
            Ok(company) => company.fields.name.clone(),
            Err(_) => format!("#{cid}"),
        },
        None => String::new(),
    };
    let page = UsersPage {
        m: Frame::new(&ctx, "users", "users.title").with_flash(&params),
        results,
        q: get("q"),
        company_clear_href: users_href(
            &params,
            &[
                ("company_id", String::new()),
                ("page", String::new()),
                ("offset", String::new()),
            ],
        ),
        new_href: if company_id.is_empty() {
            "/users/new".into()
        } else {
            format!("/users/new?company_id={company_id}")
        },
        company_id,
        company_label,
        kind: get("kind"),
        status: get("status"),
        deleted: get("deleted"),
        kinds: kind_options(lang),
        statuses: status_options(lang),
        sort: sort.key().to_string(),
        dir: if descending { "desc" } else { "asc" }.to_string(),
        sort_options: UserSort::ALL
            .iter()
            .map(|(key, _)| {
                let label = match *key {
                    "name" => message(lang, "users.column.name").to_string(),
                    "id" => message(lang, "field.id").to_string(),
                    other => field_label(lang, other),
                };
                (*key, label)
            })
            .collect(),
        can_create: ctx.actor.can(Function::UsersCreate),
    };
    render(&page)
}

// ---------------------------------------------------------------------------
// Card.

/// A labelled value on the card; a link when `href` is set.
pub struct UserField {
    pub label: String,
    pub value: String,
    pub href: Option<String>,
}

/// A titled group of card fields.
pub struct UserSection {
    pub title: String,
    pub fields: Vec<UserField>,
}

/// A live session as listed on the card.
pub struct SessionRow {
    pub created: String,
    pub last_used: String,
    pub ip: String,
    pub user_agent: String,
}

fn user_sections(lang: Lang, record: &UserRecord) -> Vec<UserSection> {
    let dto = UserDto::from(record);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let phone = |v: &Option<String>| v.as_deref().map(display_phone).unwrap_or_default();
    let yes_no = |b: bool| message(lang, if b { "filter.yes" } else { "filter.no" }).to_string();
    let field = |name: &str, value: String| UserField {
        label: field_label(lang, name),
        value,
        href: None,
    };
    let mut service = vec![
        field("version", dto.version.to_string()),
        field("created_at", short_time(record.created_at)),
        field("updated_at", short_time(record.updated_at)),
    ];
    if let Some(at) = record.deleted_at {
        service.push(field("deleted_at", short_time(at)));
    }
    vec![
        UserSection {
            title: message(lang, "user.section.person").to_string(),
            fields: vec![
                field("id", dto.id.to_string()),
                field("login", dto.login.clone()),
                field("last_name", dto.last_name.clone()),
                field("first_name", dto.first_name.clone()),
                field("patronymic", text(&dto.patronymic)),
                field("full_name_ru", text(&dto.full_name_ru)),
                field("full_name_en", text(&dto.full_name_en)),
                field("position", text(&dto.position)),
            ],
        },
        UserSection {
            title: message(lang, "user.section.contacts").to_string(),
            fields: vec![
                field("email", text(&dto.email)),
                field("phone", phone(&dto.phone)),
                field("mobile_phone", phone(&dto.mobile_phone)),
            ],
        },
        UserSection {
            title: message(lang, "user.section.access").to_string(),
            fields: vec![
                UserField {
                    href: Some(format!("/companies/{}", dto.company_id)),
                    ..field("company", dto.company_name.clone())
                },
                field("kind", kind_label(lang, &dto.kind)),
                field("status", status_label(lang, &dto.status)),
                field("may_open_admin_cabinet", yes_no(dto.may_open_admin_cabinet)),
                field("chat_enabled", yes_no(dto.chat_enabled)),
                field("has_password", yes_no(dto.has_password)),
                field("must_change_password", yes_no(dto.must_change_password)),
            ],
        },
        UserSection {
            title: message(lang, "user.section.service").to_string(),
            fields: service,
        },
    ]
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserPage {
    m: Frame,
    id: i64,
    name: String,
    login: String,
    deleted: bool,
    blocked: bool,
    status_label: String,
    company_id: i64,
    sections: Vec<UserSection>,
    generated_password: Option<String>,
    sessions: Option<Vec<SessionRow>>,
    can_edit: bool,
    can_delete: bool,
    can_restore: bool,
    can_end_sessions: bool,
    can_audit: bool,
    /// Address rules (B5) and session binding (X11), one rule per line.
    ip_rules_text: String,
    session_binding: String,
    ip_error: Option<String>,
    current_ip: String,
    has_avatar: bool,
    can_change_avatar: bool,
}

/// Address rules as typed, with the reason they were refused.
struct IpEdit {
    rules: String,
    binding: String,
    error: String,
}

/// The card; `generated_password` is shown once, right after creation.
async fn card(
    state: &AppState,
    ctx: &ConsoleCtx,
    record: UserRecord,
    params: &HashMap<String, String>,
    generated_password: Option<String>,
) -> Response {
    card_with(state, ctx, record, params, generated_password, None).await
}

async fn card_with(
    state: &AppState,
    ctx: &ConsoleCtx,
    record: UserRecord,
    params: &HashMap<String, String>,
    generated_password: Option<String>,
    ip_edit: Option<IpEdit>,
) -> Response {
    let id = record.id;
    let is_self = id == ctx.actor.user_id;
    let deleted = record.deleted_at.is_some();
    let sessions = match state.services.user_sessions(&ctx.actor, id).await {
        Ok(list) => Some(
            list.iter()
                .map(|s| SessionRow {
                    created: short_time(s.created_at),
                    last_used: short_time(s.last_seen_at),
                    ip: s.ip.clone().unwrap_or_default(),
                    user_agent: s.user_agent.clone().unwrap_or_default(),
                })
                .collect(),
        ),
        Err(ServiceError::Forbidden(_)) | Err(ServiceError::NotFound) => None,
        Err(error) => {
            tracing::warn!(%error, "sessions of a user could not be read");
            None
        }
    };
    let mut frame = Frame::new(ctx, "users", "users.title").with_flash(params);
    let name = display_name(&record);
    frame.title = name.clone();
    frame.path = format!("/users/{id}");
    let page = UserPage {
        m: frame,
        id,
        login: record.login.clone(),
        deleted,
        blocked: record.status == "blocked",
        status_label: status_label(ctx.lang, &record.status),
        company_id: record.company_id,
        sections: user_sections(ctx.lang, &record),
        name,
        generated_password,
        sessions,
        can_edit: !deleted && ctx.actor.can(Function::UsersEdit),
        can_delete: !deleted && !is_self && ctx.actor.can(Function::UsersDelete),
        can_restore: deleted && ctx.actor.can(Function::UsersRestore),
        can_end_sessions: !deleted && (is_self || ctx.actor.can(Function::UsersCredentials)),
        can_audit: ctx.actor.can(Function::AuditView),
        ip_rules_text: ip_edit
            .as_ref()
            .map(|e| e.rules.clone())
            .unwrap_or_else(|| record.card.ip_rules.join("\n")),
        session_binding: ip_edit
            .as_ref()
            .map(|e| e.binding.clone())
            .unwrap_or_else(|| record.card.session_binding.clone()),
        ip_error: ip_edit.map(|e| e.error),
        current_ip: ctx.actor.ip.clone().unwrap_or_default(),
        has_avatar: record.card.has_avatar,
        can_change_avatar: !deleted && (is_self || ctx.actor.can(Function::UsersEdit)),
    };
    no_store(render(&page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IpRulesForm {
    csrf: String,
    ip_rules: String,
    session_binding: String,
}

/// Saves a person's address rules; on a mistake the card comes back with
/// the typed rules and the reason, so nothing typed is lost.
async fn user_ip_rules(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<IpRulesForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let rules: Vec<String> = form
        .ip_rules
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    match state
        .services
        .user_set_ip_rules(&ctx.actor, id, &rules, &form.session_binding)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/users/{id}?flash=flash.user_ip_rules_saved")).into_response()
        }
        Err(ServiceError::Validation(problems)) => {
            let text = problems
                .iter()
                .map(|p| match p.field.split_once('[') {
                    Some((_, rest)) => format!(
                        "#{}: {}",
                        rest.trim_end_matches(']')
                            .parse::<usize>()
                            .map(|i| i + 1)
                            .unwrap_or(0),
                        message(ctx.lang, p.code)
                    ),
                    None => message(ctx.lang, p.code).to_string(),
                })
                .collect::<Vec<_>>()
                .join("; ");
            let record = match state.services.user_get(&ctx.actor, id).await {
                Ok(record) => record,
                Err(error) => return error_page(&ctx, error),
            };
            let typed = IpEdit {
                rules: form.ip_rules.clone(),
                binding: form.session_binding.clone(),
                error: text,
            };
            let mut response =
                card_with(&state, &ctx, record, &HashMap::new(), None, Some(typed)).await;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            response
        }
        Err(error) => error_page(&ctx, error),
    }
}

async fn user_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match state.services.user_get(&ctx.actor, id).await {
        Ok(record) => card(&state, &ctx, record, &params, None).await,
        Err(error) => error_page(&ctx, error),
    }
}

async fn user_sessions_end(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.user_sessions_end(&ctx.actor, id).await {
        // Ending one's own sessions ends this one too.
        Ok(()) if id == ctx.actor.user_id => Redirect::to("/login").into_response(),
        Ok(()) => {
            Redirect::to(&format!("/users/{id}?flash=flash.user_sessions_ended")).into_response()
        }
        Err(error) => error_page(&ctx, error),
    }
}

// ---------------------------------------------------------------------------
// Form (new and edit).

/// The person form as posted: every field as text, so that what was typed is
/// shown back unchanged next to its error. Passwords are never shown back.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserForm {
    pub csrf: String,
    pub version: String,
    pub company_id: String,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub patronymic: String,
    pub full_name_ru: String,
    pub full_name_en: String,
    pub email: String,
    pub phone: String,
    pub mobile_phone: String,
    pub position: String,
    pub kind: String,
    pub status: String,
    pub may_open_admin_cabinet: Option<String>,
    pub chat_enabled: Option<String>,
    /// `generate` (the default) or `set`, on the new-person form.
    pub password_mode: String,
    pub password: String,
    /// Edit form: empty leaves the password unchanged.
    pub new_password: String,
}

impl UserForm {
    fn from_record(record: &UserRecord) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        UserForm {
            version: record.version.to_string(),
            company_id: record.company_id.to_string(),
            login: record.login.clone(),
            first_name: record.first_name.clone(),
            last_name: record.last_name.clone(),
            patronymic: text(&record.card.patronymic),
            full_name_ru: text(&record.card.full_name_ru),
            full_name_en: text(&record.card.full_name_en),
            email: text(&record.email),
            phone: text(&record.card.phone),
            mobile_phone: text(&record.card.mobile_phone),
            position: text(&record.card.position),
            kind: record.kind.clone(),
            status: record.status.clone(),
            may_open_admin_cabinet: record.card.may_open_admin_cabinet.then(|| "on".to_string()),
            chat_enabled: record.card.chat_enabled.then(|| "on".to_string()),
            ..UserForm::default()
        }
    }

    /// The raw card for the domain parser and the company id, or the
    /// error of a company id that is not a number.
    fn to_raw(&self, with_status: bool) -> Result<(RawUser, Option<i64>), FieldError> {
        let opt = |v: &str| Some(v.trim().to_string()).filter(|s| !s.is_empty());
        let company_id = match self.company_id.trim() {
            "" => None,
            v => Some(
                v.parse::<i64>()
                    .map_err(|_| FieldError::new("company_id", "number.invalid"))?,
            ),
        };
        let raw = RawUser {
            login: opt(&self.login),
            first_name: opt(&self.first_name),
            last_name: opt(&self.last_name),
            patronymic: opt(&self.patronymic),
            full_name_ru: opt(&self.full_name_ru),
            full_name_en: opt(&self.full_name_en),
            email: opt(&self.email),
            phone: opt(&self.phone),
            mobile_phone: opt(&self.mobile_phone),
            position: opt(&self.position),
            kind: opt(&self.kind),
            may_open_admin_cabinet: self.may_open_admin_cabinet.is_some(),
            chat_enabled: self.chat_enabled.is_some(),
            status: if with_status { opt(&self.status) } else { None },
        };
        Ok((raw, company_id))
    }
}

/// One input of the person form.
pub struct UserInput {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    /// `text`, `email`, `tel`, `number`, `select`, `checkbox`.
    pub kind: &'static str,
    pub required: bool,
    pub checked: bool,
    pub options: Vec<(&'static str, String)>,
    pub autocomplete: &'static str,
}

/// A titled group of inputs.
pub struct UserFormSection {
    pub title: String,
    pub inputs: Vec<UserInput>,
}

/// One field whose saved value differs from the form's (stale edit).
pub struct StaleField {
    pub label: String,
    pub value: String,
}

/// Which form: a new person, or the edit of an existing one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    New,
    Edit { id: i64, may_set_password: bool },
}

#[derive(Template)]
#[template(path = "user_form.html")]
struct UserFormPage {
    m: Frame,
    action: String,
    cancel_href: String,
    heading: String,
    version: String,
    sections: Vec<UserFormSection>,
    companies: Vec<(i64, String)>,
    company_hint: String,
    is_new: bool,
    password_mode: String,
    password_error: Option<String>,
    show_new_password: bool,
    new_password_error: Option<String>,
    has_errors: bool,
    general_error: Option<String>,
    stale: Vec<StaleField>,
    stale_seen: bool,
}

/// Field errors by input name; errors of fields the form has no input for
/// are returned separately.
fn errors_by_input(
    lang: Lang,
    mode: Mode,
    errors: &[FieldError],
) -> (HashMap<String, String>, Vec<String>) {
    const INPUTS: [&str; 16] = [
        "company_id",
        "login",
        "first_name",
        "last_name",
        "patronymic",
        "full_name_ru",
        "full_name_en",
        "email",
        "phone",
        "mobile_phone",
        "position",
        "kind",
        "status",
        "password",
        "new_password",
        "may_open_admin_cabinet",
    ];
    let mut map: HashMap<String, String> = HashMap::new();
    let mut other = Vec::new();
    for error in errors {
        let field = match (error.field.as_str(), mode) {
            ("password", Mode::Edit { .. }) => "new_password",
            (field, _) => field,
        };
        let text = message(lang, error.code).to_string();
        if INPUTS.contains(&field) {
            map.entry(field.to_string())
                .and_modify(|t| *t = format!("{t}; {text}"))
                .or_insert(text);
        } else {
            other.push(format!("{}: {text}", error.field));
        }
    }
    (map, other)
}

fn form_sections(
    lang: Lang,
    mode: Mode,
    form: &UserForm,
    errors: &HashMap<String, String>,
) -> Vec<UserFormSection> {
    let input = |name: &'static str, value: &str, kind: &'static str| UserInput {
        name,
        label: field_label(lang, name),
        value: value.to_string(),
        error: errors.get(name).cloned(),
        kind,
        required: matches!(name, "login" | "first_name" | "last_name"),
        checked: false,
        options: Vec::new(),
        autocomplete: "off",
    };
    let checkbox = |name: &'static str, checked: &Option<String>| UserInput {
        checked: checked.is_some(),
        ..input(name, "on", "checkbox")
    };
    let select =
        |name: &'static str, value: &str, options: Vec<(&'static str, String)>| UserInput {
            options,
            ..input(name, value, "select")
        };
    let mut access = vec![
        input("company_id", &form.company_id, "number"),
        select("kind", &form.kind, kind_options(lang)),
    ];
    if matches!(mode, Mode::Edit { .. }) {
        access.push(select("status", &form.status, status_options(lang)));
    }
    access.push(checkbox(
        "may_open_admin_cabinet",
        &form.may_open_admin_cabinet,
    ));
    access.push(checkbox("chat_enabled", &form.chat_enabled));
    vec![
        UserFormSection {
            title: message(lang, "user.section.person").to_string(),
            inputs: vec![
                UserInput {
                    autocomplete: "username",
                    ..input("login", &form.login, "text")
                },
                UserInput {
                    autocomplete: "family-name",
                    ..input("last_name", &form.last_name, "text")
                },
                UserInput {
                    autocomplete: "given-name",
                    ..input("first_name", &form.first_name, "text")
                },
                UserInput {
                    autocomplete: "additional-name",
                    ..input("patronymic", &form.patronymic, "text")
                },
                input("full_name_ru", &form.full_name_ru, "text"),
                input("full_name_en", &form.full_name_en, "text"),
                UserInput {
                    autocomplete: "organization-title",
                    ..input("position", &form.position, "text")
                },
            ],
        },
        UserFormSection {
            title: message(lang, "user.section.contacts").to_string(),
            inputs: vec![
                input("email", &form.email, "email"),
                input("phone", &form.phone, "tel"),
                input("mobile_phone", &form.mobile_phone, "tel"),
            ],
        },
        UserFormSection {
            title: message(lang, "user.section.access").to_string(),
            inputs: access,
        },
    ]
}

/// The actor's company, the chosen one, and the resellers: suggestions for
/// the company field (any id in scope may be typed).
async fn company_options(state: &AppState, ctx: &ConsoleCtx, chosen: &str) -> Vec<(i64, String)> {
    let mut options: Vec<(i64, String)> = Vec::new();
    let mut ids = vec![ctx.actor.company_id];
    if let Ok(id) = chosen.trim().parse::<i64>() {
        ids.push(id);
    }
    for id in ids {
        if options.iter().any(|(o, _)| *o == id) {
            continue;
        }
        if let Ok(company) = state.services.company_get(&ctx.actor, id).await {
            if company.deleted_at.is_none() {
                options.push((company.id, company.fields.name.clone()));
            }
        }
    }
    let query = CompanyQuery {
        is_reseller: Some(true),
        limit: 200,
        ..CompanyQuery::default()
    };
    if let Ok((resellers, _)) = state.services.company_list(&ctx.actor, query).await {
        for r in resellers {
            if !options.iter().any(|(o, _)| *o == r.id) {
                options.push((r.id, r.fields.name.clone()));
            }
        }
    }
    options
}

struct FormOutcome {
    errors: Vec<FieldError>,
    general_error: Option<String>,
    stale: Vec<StaleField>,
}

impl FormOutcome {
    fn clean() -> Self {
        FormOutcome {
            errors: Vec::new(),
            general_error: None,
            stale: Vec::new(),
        }
    }
}

async fn form_page(
    state: &AppState,
    ctx: &ConsoleCtx,
    mode: Mode,
    heading: String,
    form: &UserForm,
    outcome: FormOutcome,
) -> Response {
    let lang = ctx.lang;
    let (mut by_input, other) = errors_by_input(lang, mode, &outcome.errors);
    let general_error = match (outcome.general_error, other.is_empty()) {
        (Some(text), _) => Some(text),
        (None, false) => Some(other.join("; ")),
        (None, true) => None,
    };
    let (action, cancel_href, may_set_password) = match mode {
        Mode::New => ("/users/new".to_string(), "/users".to_string(), false),
        Mode::Edit {
            id,
            may_set_password,
        } => (
            format!("/users/{id}/edit"),
            format!("/users/{id}"),
            may_set_password,
        ),
    };
    let mut frame = Frame::new(ctx, "users", "users.title");
    frame.title = heading.clone();
    let companies = company_options(state, ctx, &form.company_id).await;
    let company_hint = companies
        .iter()
        .find(|(id, _)| id.to_string() == form.company_id.trim())
        .map(|(_, name)| name.clone())
        .unwrap_or_default();
    let page = UserFormPage {
        m: frame,
        action,
        cancel_href,
        heading,
        version: form.version.clone(),
        companies,
        company_hint,
        is_new: mode == Mode::New,
        password_mode: match form.password_mode.as_str() {
            "set" | "invite" => form.password_mode.clone(),
            _ => "generate".into(),
        },
        password_error: by_input.remove("password"),
        show_new_password: may_set_password,
        new_password_error: by_input.remove("new_password"),
        sections: form_sections(lang, mode, form, &by_input),
        has_errors: !outcome.errors.is_empty(),
        general_error,
        stale_seen: !outcome.stale.is_empty(),
        stale: outcome.stale,
    };
    let mut response = no_store(render(&page));
    if page.has_errors || page.general_error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    } else if page.stale_seen {
        *response.status_mut() = StatusCode::CONFLICT;
    }
    response
}

/// Splits a use-case failure into what the form shows, or the error that
/// needs a page of its own.
fn form_failure(lang: Lang, error: ServiceError) -> Result<FormOutcome, ServiceError> {
    match error {
        ServiceError::Validation(errors) => Ok(FormOutcome {
            errors,
            ..FormOutcome::clean()
        }),
        ServiceError::Conflict { code, .. } => Ok(FormOutcome {
            general_error: Some(message(lang, code).to_string()),
            ..FormOutcome::clean()
        }),
        other => Err(other),
    }
}

async fn user_new_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::UsersCreate) {
        return error_page(&ctx, error);
    }
    let form = UserForm {
        company_id: params
            .get("company_id")
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| ctx.actor.company_id.to_string()),
        kind: UserKind::ClientUser.key().to_string(),
        password_mode: "generate".into(),
        ..UserForm::default()
    };
    let heading = message(ctx.lang, "users.new").to_string();
    form_page(
        &state,
        &ctx,
        Mode::New,
        heading,
        &form,
        FormOutcome::clean(),
    )
    .await
}

async fn user_new_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Form(form): Form<UserForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let heading = message(ctx.lang, "users.new").to_string();
    let failure = match form.to_raw(false) {
        Ok((raw, company_id)) => {
            // "invite": no password; the person gets an e-mail with a
            // one-time link to choose one (it needs an e-mail address).
            let password = match form.password_mode.as_str() {
                "set" => InitialPassword::Given(form.password.clone()),
                "invite" => InitialPassword::Invite,
                _ => InitialPassword::Generate,
            };
            match state
                .services
                .user_create(&ctx.actor, company_id, raw, password)
                .await
            {
                Ok(created) => {
                    return match created.generated_password {
                        // Shown once, in this response only: never in a URL.
                        Some(password) => {
                            card(&state, &ctx, created.user, &HashMap::new(), Some(password)).await
                        }
                        None => Redirect::to(&format!(
                            "/users/{}?flash=flash.user_created",
                            created.user.id
                        ))
                        .into_response(),
                    };
                }
                Err(error) => error,
            }
        }
        Err(error) => ServiceError::Validation(vec![error]),
    };
    match form_failure(ctx.lang, failure) {
        Ok(outcome) => form_page(&state, &ctx, Mode::New, heading, &form, outcome).await,
        Err(error) => error_page(&ctx, error),
    }
}

fn edit_mode(ctx: &ConsoleCtx, id: i64) -> Mode {
    Mode::Edit {
        id,
        may_set_password: id == ctx.actor.user_id || ctx.actor.can(Function::UsersCredentials),
    }
}

async fn user_edit_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::UsersEdit) {
        return error_page(&ctx, error);
    }
    let record = match state.services.user_get(&ctx.actor, id).await {
        Ok(record) => record,
        Err(error) => return error_page(&ctx, error),
    };
    let heading = format!(
        "{}: {}",
        message(ctx.lang, "action.edit"),
        display_name(&record)
    );
    let form = UserForm::from_record(&record);
    form_page(
        &state,
        &ctx,
        edit_mode(&ctx, id),
        heading,
        &form,
        FormOutcome::clean(),
    )
    .await
}

/// Fields whose saved value differs from what the form holds.
fn changed_fields(lang: Lang, saved: &UserForm, form: &UserForm) -> Vec<StaleField> {
    let texts: [(&str, &String, &String); 12] = [
        ("login", &saved.login, &form.login),
        ("last_name", &saved.last_name, &form.last_name),
        ("first_name", &saved.first_name, &form.first_name),
        ("patronymic", &saved.patronymic, &form.patronymic),
        ("full_name_ru", &saved.full_name_ru, &form.full_name_ru),
        ("full_name_en", &saved.full_name_en, &form.full_name_en),
        ("position", &saved.position, &form.position),
        ("email", &saved.email, &form.email),
        ("phone", &saved.phone, &form.phone),
        ("mobile_phone", &saved.mobile_phone, &form.mobile_phone),
        ("company_id", &saved.company_id, &form.company_id),
        ("kind", &saved.kind, &form.kind),
    ];
    let mut changed: Vec<StaleField> = texts
        .iter()
        .filter(|(_, saved, typed)| saved.trim() != typed.trim())
        .map(|(name, saved, _)| StaleField {
            label: field_label(lang, name),
            value: if *name == "kind" {
                kind_label(lang, saved)
            } else {
                (*saved).clone()
            },
        })
        .collect();
    if saved.status.trim() != form.status.trim() {
        changed.push(StaleField {
            label: field_label(lang, "status"),
            value: status_label(lang, &saved.status),
        });
    }
    for (name, saved, typed) in [
        (
            "may_open_admin_cabinet",
            saved.may_open_admin_cabinet.is_some(),
            form.may_open_admin_cabinet.is_some(),
        ),
        (
            "chat_enabled",
            saved.chat_enabled.is_some(),
            form.chat_enabled.is_some(),
        ),
    ] {
        if saved != typed {
            changed.push(StaleField {
                label: field_label(lang, name),
                value: message(lang, if saved { "filter.yes" } else { "filter.no" }).to_string(),
            });
        }
    }
    changed
}

async fn user_edit_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(mut form): Form<UserForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let lang = ctx.lang;
    let mode = edit_mode(&ctx, id);
    let heading = format!(
        "{}: {} {}",
        message(lang, "action.edit"),
        form.last_name.trim(),
        form.first_name.trim()
    );
    let Ok(expected) = form.version.trim().parse::<i64>() else {
        let outcome = FormOutcome {
            general_error: Some(message(lang, "bad_request").to_string()),
            ..FormOutcome::clean()
        };
        return form_page(&state, &ctx, mode, heading, &form, outcome).await;
    };
    let (raw, company_id) = match form.to_raw(true) {
        Ok(parsed) => parsed,
        Err(error) => {
            let outcome = FormOutcome {
                errors: vec![error],
                ..FormOutcome::clean()
            };
            return form_page(&state, &ctx, mode, heading, &form, outcome).await;
        }
    };
    let new_password = Some(form.new_password.clone()).filter(|p| !p.is_empty());
    match state
        .services
        .user_update(
            &ctx.actor,
            id,
            Some(expected),
            company_id,
            raw,
            new_password,
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/users/{id}?flash=flash.user_saved")).into_response(),
        Err(ServiceError::Stale) => {
            // Someone saved in between: keep the person's input, show what is
            // saved now, and let a second save knowingly write over it.
            let saved = match state.services.user_get(&ctx.actor, id).await {
                Ok(record) => UserForm::from_record(&record),
                Err(error) => return error_page(&ctx, error),
            };
            let stale = changed_fields(lang, &saved, &form);
            form.version = saved.version.clone();
            let outcome = FormOutcome {
                stale: if stale.is_empty() {
                    // The saved card equals the input; still say so.
                    vec![StaleField {
                        label: field_label(lang, "version"),
                        value: saved.version.clone(),
                    }]
                } else {
                    stale
                },
                ..FormOutcome::clean()
            };
            form_page(&state, &ctx, mode, heading, &form, outcome).await
        }
        Err(error) => match form_failure(lang, error) {
            Ok(outcome) => form_page(&state, &ctx, mode, heading, &form, outcome).await,
            Err(error) => error_page(&ctx, error),
        },
    }
}

// ---------------------------------------------------------------------------
// Delete and restore, each behind a confirmation page.

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteForm {
    csrf: String,
    version: String,
}

#[derive(Template)]
#[template(path = "user_confirm.html")]
struct ConfirmPage {
    m: Frame,
    id: i64,
    name: String,
    login: String,
    company_name: String,
    heading: String,
    explain: String,
    action: String,
    confirm_label: String,
    danger: bool,
    version: i64,
    can_confirm: bool,
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
    let record = match state.services.user_get(&ctx.actor, id).await {
        Ok(record) => record,
        Err(error) => return error_page(ctx, error),
    };
    let (heading, explain, action, confirm) = if delete {
        (
            "users.delete.title",
            "users.delete.explain",
            format!("/users/{id}/delete"),
            "users.delete.confirm",
        )
    } else {
        (
            "users.restore.title",
            "users.restore.explain",
            format!("/users/{id}/restore"),
            "users.restore.confirm",
        )
    };
    // Refusals known in advance are said before the person tries.
    let refusal = if delete && id == ctx.actor.user_id {
        Some("user.cannot_delete_self")
    } else if delete && record.deleted_at.is_some() {
        Some("user.already_deleted")
    } else if !delete && record.deleted_at.is_none() {
        Some("user.not_deleted")
    } else {
        None
    };
    let name = display_name(&record);
    let mut frame = Frame::new(ctx, "users", heading);
    frame.title = format!("{} — {name}", message(lang, heading));
    let shown_error = error
        .clone()
        .or_else(|| refusal.map(|key| message(lang, key).to_string()));
    let page = ConfirmPage {
        m: frame,
        id,
        name,
        login: record.login.clone(),
        company_name: record.company_name.clone(),
        heading: message(lang, heading).to_string(),
        explain: message(lang, explain).to_string(),
        action,
        confirm_label: message(lang, confirm).to_string(),
        danger: delete,
        version: record.version,
        can_confirm: refusal.is_none(),
        error: shown_error,
    };
    let mut response = render(&page);
    if error.is_some() {
        *response.status_mut() = StatusCode::CONFLICT;
    }
    response
}

async fn user_delete_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::UsersDelete) {
        return error_page(&ctx, error);
    }
    confirm_page(&state, &ctx, id, true, None).await
}

async fn user_delete_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let expected = form.version.trim().parse::<i64>().ok();
    match state.services.user_delete(&ctx.actor, id, expected).await {
        Ok(()) => Redirect::to(&format!("/users/{id}?flash=flash.user_deleted")).into_response(),
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

async fn user_restore_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::UsersRestore) {
        return error_page(&ctx, error);
    }
    confirm_page(&state, &ctx, id, false, None).await
}

async fn user_restore_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.user_restore(&ctx.actor, id).await {
        Ok(_) => Redirect::to(&format!("/users/{id}?flash=flash.user_restored")).into_response(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_href_replaces_and_drops_parameters() {
        let params: HashMap<String, String> = [
            ("q", "Иванов"),
            ("company_id", "5"),
            ("partial", "1"),
            ("page", "3"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            users_href(&params, &[("page", String::new())]),
            "/users?company_id=5&q=%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2"
        );
        assert_eq!(
            users_href(&params, &[("sort", "login".into())]),
            "/users?company_id=5&page=3&q=%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2&sort=login"
        );
    }

    #[test]
    fn stale_changes_list_only_differing_fields() {
        let saved = UserForm {
            login: "ivanov".into(),
            last_name: "Иванов".into(),
            status: "blocked".into(),
            ..UserForm::default()
        };
        let typed = UserForm {
            login: "ivanov".into(),
            last_name: "Петров".into(),
            status: "active".into(),
            ..UserForm::default()
        };
        let changed = changed_fields(Lang::En, &saved, &typed);
        let values: Vec<&str> = changed.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(values, vec!["Иванов", "Blocked"]);
    }

    #[test]
    fn a_password_error_lands_on_the_input_of_the_form() {
        let errors = vec![
            FieldError::new("password", "password.common"),
            FieldError::new("login", "login.characters"),
            FieldError::new("mystery", "required"),
        ];
        let (map, other) = errors_by_input(Lang::En, Mode::New, &errors);
        assert!(map.contains_key("password") && map.contains_key("login"));
        assert_eq!(other.len(), 1);
        let edit = Mode::Edit {
            id: 1,
            may_set_password: true,
        };
        let (map, _) = errors_by_input(Lang::En, edit, &errors);
        assert!(map.contains_key("new_password") && !map.contains_key("password"));
    }
}
