//! Console pages of departments and rights (issue 5: B2, B3, B4, B6): the
//! list, the card with its rights grid and members, create/edit/delete, and
//! a person's rights (inherited and extra) on their card.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kabinet_domain::access::{DepartmentRights, Function, Section};
use kabinet_service::departments::{EffectiveRights, RightSource};
use kabinet_service::ServiceError;
use kabinet_store::departments::DepartmentRecord;
use kabinet_store::users::UserQuery;
use serde_json::{json, Value};

use crate::console::{csrf_failed, error_page, render, Frame};
use crate::extract::{same_secret, ConsoleCtx};
use crate::i18n::{message, Lang};
use crate::AppState;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/departments", get(list_page))
        .route("/departments/new", get(new_page).post(new_submit))
        .route("/departments/{id}", get(card_page))
        .route("/departments/{id}/edit", get(edit_page).post(edit_submit))
        .route("/departments/{id}/rights", post(rights_submit))
        .route("/departments/{id}/members", post(members_submit))
        .route(
            "/departments/{id}/delete",
            get(delete_page).post(delete_submit),
        )
        .route(
            "/users/{id}/rights",
            get(user_rights_page).post(user_rights_submit),
        )
        .route("/companies/{id}/enter", get(enter_page).post(enter_submit))
        .route("/enter/leave", post(leave_submit))
}

fn name(lang: Lang, ru: &str, en: &str) -> String {
    match lang {
        Lang::Ru => ru.to_string(),
        Lang::En => en.to_string(),
    }
}

/// Field problems of a refused change as one line per field.
fn problems(lang: Lang, error: &ServiceError) -> Option<Vec<(String, String)>> {
    match error {
        ServiceError::Validation(list) => Some(
            list.iter()
                .map(|p| (p.field.clone(), message(lang, p.code).to_string()))
                .collect(),
        ),
        ServiceError::Conflict { code, .. } => {
            Some(vec![(String::new(), message(lang, code).to_string())])
        }
        ServiceError::Stale => Some(vec![(
            String::new(),
            message(lang, "stale_version").to_string(),
        )]),
        ServiceError::Forbidden(function) => Some(vec![(
            String::new(),
            format!("{} {}", message(lang, "rights.not_yours"), function.key()),
        )]),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// List.

pub struct DepartmentRow {
    pub id: i64,
    pub name: String,
    pub company_id: i64,
    pub members: i64,
    pub sort_order: i64,
}

#[derive(Template)]
#[template(path = "departments.html")]
struct ListPage {
    m: Frame,
    rows: Vec<DepartmentRow>,
    total: i64,
    can_edit: bool,
}

async fn list_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let company_id = params.get("company_id").and_then(|v| v.parse().ok());
    match state
        .services
        .department_list(&ctx.actor, company_id, 500, 0)
        .await
    {
        Ok((records, total)) => render(&ListPage {
            m: Frame::new(&ctx, "departments", "departments.title").with_flash(&params),
            rows: records
                .iter()
                .map(|d| DepartmentRow {
                    id: d.id,
                    name: name(ctx.lang, &d.name_ru, &d.name_en),
                    company_id: d.company_id,
                    members: d.members_count,
                    sort_order: d.sort_order,
                })
                .collect(),
            total,
            can_edit: ctx.actor.can(Function::DepartmentsEdit),
        }),
        Err(error) => error_page(&ctx, error),
    }
}

// ---------------------------------------------------------------------------
// Card: fields, rights grid, members.

/// One function checkbox of the rights grid.
pub struct FunctionCell {
    pub key: &'static str,
    pub name: String,
    pub on: bool,
    /// The actor may switch it (holds it themself).
    pub grantable: bool,
}

/// One section row of the rights grid.
pub struct SectionRow {
    pub key: &'static str,
    pub name: String,
    pub on: bool,
    pub functions: Vec<FunctionCell>,
}

fn grid(
    lang: Lang,
    rights: &DepartmentRights,
    actor_grants: &kabinet_domain::access::Grants,
) -> Vec<SectionRow> {
    Section::ALL
        .iter()
        .map(|section| {
            let (ru, en) = section.names();
            SectionRow {
                key: section.key(),
                name: name(lang, ru, en),
                on: rights.sections.contains(section),
                functions: section
                    .functions()
                    .map(|f| {
                        let (ru, en) = f.names();
                        FunctionCell {
                            key: f.key(),
                            name: name(lang, ru, en),
                            on: rights.functions.contains(f),
                            grantable: actor_grants.allows(f),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub login: String,
}

#[derive(Template)]
#[template(path = "department.html")]
struct CardPage {
    m: Frame,
    id: i64,
    name: String,
    fields: Vec<(String, String)>,
    hours: Vec<(String, String)>,
    sections: Vec<SectionRow>,
    members: Vec<MemberRow>,
    can_edit: bool,
    can_rights: bool,
    errors: Vec<(String, String)>,
    member_login: String,
}

async fn card(
    state: &AppState,
    ctx: &ConsoleCtx,
    id: i64,
    params: &HashMap<String, String>,
    errors: Vec<(String, String)>,
    member_login: String,
) -> Response {
    let (department, rights) = match state.services.department_rights(&ctx.actor, id).await {
        Ok(found) => found,
        Err(error) => return error_page(ctx, error),
    };
    let members = match state.services.department_members(&ctx.actor, id).await {
        Ok(people) => people,
        Err(error) => return error_page(ctx, error),
    };
    let schedule: Value = serde_json::from_str(&department.schedule).unwrap_or(json!({}));
    let support: Value = serde_json::from_str(&department.support).unwrap_or(json!({}));
    let lang = ctx.lang;
    let mut frame = Frame::new(ctx, "departments", "departments.title").with_flash(params);
    frame.title = name(lang, &department.name_ru, &department.name_en);
    let page = CardPage {
        id,
        name: frame.title.clone(),
        fields: vec![
            (
                message(lang, "department.name_ru").to_string(),
                department.name_ru.clone(),
            ),
            (
                message(lang, "department.name_en").to_string(),
                department.name_en.clone(),
            ),
            (
                message(lang, "department.company").to_string(),
                department.company_id.to_string(),
            ),
            (
                message(lang, "department.task_language").to_string(),
                message(lang, &format!("lang.{}", department.task_language)).to_string(),
            ),
            (
                message(lang, "department.timezone").to_string(),
                schedule["timezone"].as_str().unwrap_or("—").to_string(),
            ),
            (
                message(lang, "department.support_description").to_string(),
                support["category_description"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ),
            (
                message(lang, "department.shown_to").to_string(),
                support["shown_to_company_ids"]
                    .as_array()
                    .map(|ids| {
                        ids.iter()
                            .filter_map(Value::as_i64)
                            .map(|id| id.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
            ),
            (
                message(lang, "department.head").to_string(),
                support["head_user_id"]
                    .as_i64()
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
            ),
            (
                message(lang, "department.charged").to_string(),
                message(
                    lang,
                    if support["charged"].as_bool() == Some(true) {
                        "yes"
                    } else {
                        "no"
                    },
                )
                .to_string(),
            ),
            (
                message(lang, "department.sort_order").to_string(),
                department.sort_order.to_string(),
            ),
        ],
        hours: DAYS
            .iter()
            .filter_map(|day| {
                let pair = schedule["days"][*day].as_array()?;
                Some((
                    message(lang, &format!("day.{day}")).to_string(),
                    format!("{}–{}", pair.first()?.as_str()?, pair.get(1)?.as_str()?),
                ))
            })
            .collect(),
        sections: grid(lang, &rights, &ctx.actor.grants),
        members: members
            .iter()
            .map(|u| MemberRow {
                id: u.id,
                name: format!("{} {}", u.last_name, u.first_name),
                login: u.login.clone(),
            })
            .collect(),
        can_edit: ctx.actor.can(Function::DepartmentsEdit),
        can_rights: ctx.actor.can(Function::DepartmentsRights),
        errors,
        member_login,
        m: frame,
    };
    let failed = !page.errors.is_empty();
    let mut response = render(&page);
    if failed {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn card_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    card(&state, &ctx, id, &params, Vec::new(), String::new()).await
}

/// A checkbox form's values under `names`, if its CSRF token is right.
fn checked_keys(
    ctx: &ConsoleCtx,
    pairs: &[(String, String)],
    names: &[&str],
) -> Option<Vec<String>> {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    same_secret(csrf, &ctx.csrf).then(|| {
        pairs
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
            .collect()
    })
}

/// The rights grid posts `section` and `function` values for what is on.
async fn rights_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(keys) = checked_keys(&ctx, &pairs, &["section", "function"]) else {
        return csrf_failed(&ctx);
    };
    match state
        .services
        .department_rights_set(&ctx.actor, id, &keys)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/departments/{id}?flash=flash.rights_saved")).into_response()
        }
        Err(error) => match problems(ctx.lang, &error) {
            Some(list) => card(&state, &ctx, id, &HashMap::new(), list, String::new()).await,
            None => error_page(&ctx, error),
        },
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct MembersForm {
    csrf: String,
    /// `add` (with `login`) or `remove` (with `user_id`).
    action: String,
    login: String,
    user_id: i64,
}

async fn members_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<MembersForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let current: Vec<i64> = match state.services.department_members(&ctx.actor, id).await {
        Ok(people) => people.iter().map(|u| u.id).collect(),
        Err(error) => return error_page(&ctx, error),
    };
    let wanted: Vec<i64> = match form.action.as_str() {
        "remove" => current
            .iter()
            .copied()
            .filter(|u| *u != form.user_id)
            .collect(),
        _ => {
            let login = form.login.trim().to_lowercase();
            let query = UserQuery {
                words: vec![login.clone()],
                limit: 20,
                ..Default::default()
            };
            let found = match state.services.user_list(&ctx.actor, query).await {
                Ok((people, _)) => people.into_iter().find(|u| u.login.to_lowercase() == login),
                Err(error) => return error_page(&ctx, error),
            };
            let Some(person) = found else {
                let errors = vec![(
                    String::new(),
                    message(ctx.lang, "member.unknown").to_string(),
                )];
                return card(
                    &state,
                    &ctx,
                    id,
                    &HashMap::new(),
                    errors,
                    form.login.clone(),
                )
                .await;
            };
            let mut ids = current.clone();
            if !ids.contains(&person.id) {
                ids.push(person.id);
            }
            ids
        }
    };
    match state
        .services
        .department_members_set(&ctx.actor, id, &wanted)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/departments/{id}?flash=flash.members_saved")).into_response()
        }
        Err(error) => match problems(ctx.lang, &error) {
            Some(list) => card(&state, &ctx, id, &HashMap::new(), list, form.login.clone()).await,
            None => error_page(&ctx, error),
        },
    }
}

// ---------------------------------------------------------------------------
// Create and edit.

#[derive(Template)]
#[template(path = "department_form.html")]
struct FormPage {
    m: Frame,
    /// None: a new department.
    id: Option<i64>,
    form: DepartmentForm,
    days: Vec<(&'static str, String, String, String)>,
    errors: Vec<(String, String)>,
}

#[derive(serde::Deserialize, Default, Clone)]
#[serde(default)]
struct DepartmentForm {
    csrf: String,
    version: i64,
    company_id: String,
    name_ru: String,
    name_en: String,
    task_language: String,
    sort_order: String,
    timezone: String,
    support_description: String,
    charged: Option<String>,
    /// Comma-separated ids of the companies whose clients see the department.
    support_companies: String,
    support_head: String,
    mon_from: String,
    mon_to: String,
    tue_from: String,
    tue_to: String,
    wed_from: String,
    wed_to: String,
    thu_from: String,
    thu_to: String,
    fri_from: String,
    fri_to: String,
    sat_from: String,
    sat_to: String,
    sun_from: String,
    sun_to: String,
}

impl DepartmentForm {
    fn hours(&self, day: &str) -> (&str, &str) {
        match day {
            "mon" => (&self.mon_from, &self.mon_to),
            "tue" => (&self.tue_from, &self.tue_to),
            "wed" => (&self.wed_from, &self.wed_to),
            "thu" => (&self.thu_from, &self.thu_to),
            "fri" => (&self.fri_from, &self.fri_to),
            "sat" => (&self.sat_from, &self.sat_to),
            _ => (&self.sun_from, &self.sun_to),
        }
    }

    fn from_record(d: &DepartmentRecord) -> Self {
        let schedule: Value = serde_json::from_str(&d.schedule).unwrap_or(json!({}));
        let support: Value = serde_json::from_str(&d.support).unwrap_or(json!({}));
        let at = |day: &str, i: usize| schedule["days"][day][i].as_str().unwrap_or("").to_string();
        DepartmentForm {
            version: d.version,
            company_id: d.company_id.to_string(),
            name_ru: d.name_ru.clone(),
            name_en: d.name_en.clone(),
            task_language: d.task_language.clone(),
            sort_order: d.sort_order.to_string(),
            timezone: schedule["timezone"].as_str().unwrap_or("").to_string(),
            support_description: support["category_description"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            charged: (support["charged"].as_bool() == Some(true)).then(|| "on".to_string()),
            support_companies: support["shown_to_company_ids"]
                .as_array()
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_i64)
                        .map(|id| id.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            support_head: support["head_user_id"]
                .as_i64()
                .map(|id| id.to_string())
                .unwrap_or_default(),
            mon_from: at("mon", 0),
            mon_to: at("mon", 1),
            tue_from: at("tue", 0),
            tue_to: at("tue", 1),
            wed_from: at("wed", 0),
            wed_to: at("wed", 1),
            thu_from: at("thu", 0),
            thu_to: at("thu", 1),
            fri_from: at("fri", 0),
            fri_to: at("fri", 1),
            sat_from: at("sat", 0),
            sat_to: at("sat", 1),
            sun_from: at("sun", 0),
            sun_to: at("sun", 1),
            ..Default::default()
        }
    }

    /// The input the use case takes.
    fn input(&self, support_before: &Value) -> Value {
        let mut days = serde_json::Map::new();
        for day in DAYS {
            let (from, to) = self.hours(day);
            if !from.trim().is_empty() || !to.trim().is_empty() {
                days.insert(day.to_string(), json!([from.trim(), to.trim()]));
            }
        }
        let mut schedule = json!({"days": days});
        if !self.timezone.trim().is_empty() {
            schedule["timezone"] = json!(self.timezone.trim());
        }
        let mut support = if support_before.is_object() {
            support_before.clone()
        } else {
            json!({})
        };
        support["category_description"] = json!(self.support_description.trim());
        support["charged"] = json!(self.charged.is_some());
        // Numbers stay numbers; anything else goes through as text and is
        // named by the use case's check.
        let ids: Vec<Value> = self
            .support_companies
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(t)))
            .collect();
        support["shown_to_company_ids"] = Value::Array(ids);
        support["head_user_id"] = match self.support_head.trim() {
            "" => Value::Null,
            text => text.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(text)),
        };
        let sort_order: Value = match self.sort_order.trim() {
            "" => json!(0),
            text => text.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(text)),
        };
        json!({
            "name_ru": self.name_ru,
            "name_en": self.name_en,
            "task_language": if self.task_language.is_empty() { "ru" } else { self.task_language.as_str() },
            "sort_order": sort_order,
            "schedule": schedule,
            "support": support,
        })
    }
}

fn form_page(
    ctx: &ConsoleCtx,
    id: Option<i64>,
    form: DepartmentForm,
    errors: Vec<(String, String)>,
) -> Response {
    let lang = ctx.lang;
    let days = DAYS
        .iter()
        .map(|day| {
            let (from, to) = form.hours(day);
            (
                *day,
                message(lang, &format!("day.{day}")).to_string(),
                from.to_string(),
                to.to_string(),
            )
        })
        .collect();
    let title = if id.is_some() {
        "departments.edit"
    } else {
        "departments.new"
    };
    let page = FormPage {
        m: Frame::new(ctx, "departments", title),
        id,
        form,
        days,
        errors,
    };
    let failed = !page.errors.is_empty();
    let mut response = render(&page);
    if failed {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn new_page(ctx: ConsoleCtx) -> Response {
    if let Err(error) = ctx.actor.require(Function::DepartmentsEdit) {
        return error_page(&ctx, error);
    }
    let form = DepartmentForm {
        company_id: ctx.actor.company_id.to_string(),
        task_language: "ru".to_string(),
        ..Default::default()
    };
    form_page(&ctx, None, form, Vec::new())
}

async fn new_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Form(form): Form<DepartmentForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let company_id = form.company_id.trim().parse().ok();
    match state
        .services
        .department_create(&ctx.actor, company_id, &form.input(&json!({})))
        .await
    {
        Ok(created) => Redirect::to(&format!("/departments/{}?flash=flash.created", created.id))
            .into_response(),
        Err(error) => match problems(ctx.lang, &error) {
            Some(list) => form_page(&ctx, None, form, list),
            None => error_page(&ctx, error),
        },
    }
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::DepartmentsEdit) {
        return error_page(&ctx, error);
    }
    match state.services.department_get(&ctx.actor, id).await {
        Ok(d) => form_page(&ctx, Some(id), DepartmentForm::from_record(&d), Vec::new()),
        Err(error) => error_page(&ctx, error),
    }
}

async fn edit_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<DepartmentForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let before = match state.services.department_get(&ctx.actor, id).await {
        Ok(d) => d,
        Err(error) => return error_page(&ctx, error),
    };
    let support: Value = serde_json::from_str(&before.support).unwrap_or(json!({}));
    match state
        .services
        .department_update(&ctx.actor, id, form.version, &form.input(&support))
        .await
    {
        Ok(_) => Redirect::to(&format!("/departments/{id}?flash=flash.saved")).into_response(),
        Err(error) => match problems(ctx.lang, &error) {
            Some(list) => {
                let mut form = form;
                if matches!(error, ServiceError::Stale) {
                    form.version = before.version;
                }
                form_page(&ctx, Some(id), form, list)
            }
            None => error_page(&ctx, error),
        },
    }
}

// ---------------------------------------------------------------------------
// Delete.

#[derive(Template)]
#[template(path = "department_confirm.html")]
struct ConfirmPage {
    m: Frame,
    id: i64,
    name: String,
    members: i64,
    version: i64,
}

async fn delete_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::DepartmentsEdit) {
        return error_page(&ctx, error);
    }
    match state.services.department_get(&ctx.actor, id).await {
        Ok(d) => render(&ConfirmPage {
            m: Frame::new(&ctx, "departments", "departments.delete"),
            id,
            name: name(ctx.lang, &d.name_ru, &d.name_en),
            members: d.members_count,
            version: d.version,
        }),
        Err(error) => error_page(&ctx, error),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DeleteForm {
    csrf: String,
    version: i64,
}

async fn delete_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<DeleteForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state
        .services
        .department_delete(&ctx.actor, id, Some(form.version))
        .await
    {
        Ok(()) => Redirect::to("/departments?flash=flash.deleted").into_response(),
        Err(error) => error_page(&ctx, error),
    }
}

// ---------------------------------------------------------------------------
// A person's rights.

/// One function on the person's rights page.
pub struct UserRightRow {
    pub key: &'static str,
    pub section: String,
    pub name: String,
    pub sources: Vec<String>,
    pub extra: bool,
    pub grantable: bool,
}

#[derive(Template)]
#[template(path = "user_rights.html")]
struct UserRightsPage {
    m: Frame,
    id: i64,
    full_access: bool,
    rows: Vec<UserRightRow>,
    can_grant: bool,
    error: Option<String>,
}

fn user_rows(
    lang: Lang,
    rights: &EffectiveRights,
    actor_grants: &kabinet_domain::access::Grants,
) -> Vec<UserRightRow> {
    Function::ALL
        .iter()
        .map(|f| {
            let sources = rights
                .rights
                .iter()
                .find(|(g, _)| g == f)
                .map(|(_, sources)| {
                    sources
                        .iter()
                        .map(|s| match s {
                            RightSource::FullAccess => {
                                message(lang, "rights.full_access").to_string()
                            }
                            RightSource::Extra => message(lang, "rights.extra").to_string(),
                            RightSource::Department {
                                name_ru, name_en, ..
                            } => name(lang, name_ru, name_en),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (sru, sen) = f.section().names();
            let (ru, en) = f.names();
            UserRightRow {
                key: f.key(),
                section: name(lang, sru, sen),
                name: name(lang, ru, en),
                sources,
                extra: rights.extra.contains(f),
                grantable: actor_grants.allows(*f),
            }
        })
        .collect()
}

async fn user_rights_render(
    state: &AppState,
    ctx: &ConsoleCtx,
    id: i64,
    error: Option<String>,
) -> Response {
    let rights = match state.services.user_rights(&ctx.actor, id).await {
        Ok(r) => r,
        Err(error) => return error_page(ctx, error),
    };
    let person = match state.services.user_get(&ctx.actor, id).await {
        Ok(u) => format!("{} {}", u.last_name, u.first_name),
        Err(_) if id == ctx.actor.user_id => ctx.actor.display_name.clone(),
        Err(error) => return error_page(ctx, error),
    };
    let mut frame = Frame::new(ctx, "users", "rights.title");
    frame.title = format!("{} — {}", message(ctx.lang, "rights.title"), person);
    let page = UserRightsPage {
        id,
        full_access: rights.full_access,
        rows: user_rows(ctx.lang, &rights, &ctx.actor.grants),
        can_grant: ctx.actor.can(Function::DepartmentsRights),
        error,
        m: frame,
    };
    let failed = page.error.is_some();
    let mut response = render(&page);
    if failed {
        *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn user_rights_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    user_rights_render(&state, &ctx, id, None).await
}

async fn user_rights_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let Some(keys) = checked_keys(&ctx, &pairs, &["extra"]) else {
        return csrf_failed(&ctx);
    };
    match state
        .services
        .user_extra_rights_set(&ctx.actor, id, &keys)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/users/{id}/rights?flash=flash.rights_saved")).into_response()
        }
        Err(error) => match problems(ctx.lang, &error) {
            Some(list) => {
                let text = list
                    .into_iter()
                    .map(|(_, t)| t)
                    .collect::<Vec<_>>()
                    .join("; ");
                user_rights_render(&state, &ctx, id, Some(text)).await
            }
            None => error_page(&ctx, error),
        },
    }
}

// ---------------------------------------------------------------------------
// Entering a client's cabinet (M4).

#[derive(Template)]
#[template(path = "company_enter.html")]
struct EnterPage {
    m: Frame,
    id: i64,
    company: String,
    reason: String,
    minutes: i64,
    read_only: bool,
    errors: Vec<(String, String)>,
}

async fn enter_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
) -> Response {
    if let Err(error) = ctx.actor.require(Function::CompaniesEnter) {
        return error_page(&ctx, error);
    }
    match state.services.company_get(&ctx.actor, id).await {
        Ok(company) => render(&EnterPage {
            m: Frame::new(&ctx, "companies", "acting.enter"),
            id,
            company: company.fields.name,
            reason: String::new(),
            minutes: 30,
            read_only: false,
            errors: Vec::new(),
        }),
        Err(error) => error_page(&ctx, error),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EnterForm {
    csrf: String,
    reason: String,
    minutes: i64,
    read_only: Option<String>,
}

async fn enter_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<EnterForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let read_only = form.read_only.is_some();
    match state
        .services
        .enter_company(&ctx.actor, id, &form.reason, form.minutes, read_only)
        .await
    {
        Ok((secret, until)) => {
            let seconds = ((until - kabinet_service::now_ms()) / 1000).max(1);
            let mut response = Redirect::to(&format!("/companies/{id}")).into_response();
            if let Ok(value) = axum::http::HeaderValue::from_str(&crate::extract::set_cookie(
                crate::extract::ACT_COOKIE,
                &secret,
                Some(seconds),
                true,
                state.http.secure_cookies,
            )) {
                response
                    .headers_mut()
                    .append(axum::http::header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => match problems(ctx.lang, &error) {
            Some(list) => {
                let company = state
                    .services
                    .company_get(&ctx.actor, id)
                    .await
                    .map(|c| c.fields.name)
                    .unwrap_or_default();
                let mut response = render(&EnterPage {
                    m: Frame::new(&ctx, "companies", "acting.enter"),
                    id,
                    company,
                    reason: form.reason.clone(),
                    minutes: form.minutes,
                    read_only,
                    errors: list,
                });
                *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                response
            }
            None => error_page(&ctx, error),
        },
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LeaveForm {
    csrf: String,
}

/// "Back to the list": leaves the client, forgets the cookie, and returns
/// to the person's own list of companies.
async fn leave_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    parts: axum::http::request::Parts,
    Form(form): Form<LeaveForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let secret = crate::extract::credential_cookie(&parts, &state, crate::extract::ACT_COOKIE)
        .unwrap_or_default();
    let target = match &ctx.actor.acting {
        Some(acting) => {
            let company = acting.company_id;
            match state.services.leave_company(&ctx.actor, &secret).await {
                Ok(_) => format!("/companies/{company}?flash=flash.left"),
                Err(error) => return error_page(&ctx, error),
            }
        }
        None => "/companies".to_string(),
    };
    let mut response = Redirect::to(&target).into_response();
    if let Ok(value) = axum::http::HeaderValue::from_str(&crate::extract::set_cookie(
        crate::extract::ACT_COOKIE,
        "",
        Some(0),
        true,
        state.http.secure_cookies,
    )) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}
