//! REST endpoints of the permission catalog, departments and rights.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kabinet_api::Page;
use kabinet_domain::access::{DepartmentRights, Function, Section};
use kabinet_service::departments::{snapshot, EffectiveRights, RightSource};
use kabinet_store::departments::DepartmentRecord;
use serde_json::{json, Value};

use crate::api::{etag, if_match, json_body, service_error, ApiResult};
use crate::error::ApiError;
use crate::extract::ApiCtx;
use crate::AppState;

/// The catalog as data: sections with their functions, in both languages.
pub fn catalog() -> Value {
    json!({
        "sections": Section::ALL.iter().map(|section| {
            let (ru, en) = section.names();
            json!({
                "key": section.key(),
                "name_ru": ru,
                "name_en": en,
                "functions": section.functions().map(|f| {
                    let (ru, en) = f.names();
                    json!({"key": f.key(), "name_ru": ru, "name_en": en})
                }).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>()
    })
}

/// `GET /api/v1/permissions`: any signed-in person may read the catalog.
pub async fn permissions(_ctx: ApiCtx) -> Json<Value> {
    Json(catalog())
}

fn department_response(status: StatusCode, d: &DepartmentRecord) -> Response {
    let mut response = (status, Json(snapshot(d))).into_response();
    response.headers_mut().insert(header::ETAG, etag(d.version));
    response
}

fn number(params: &HashMap<String, String>, name: &str, default: i64) -> ApiResult<i64> {
    match params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("{name} must be a whole number"))),
    }
}

pub async fn departments_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Page<Value>>> {
    let company_id = match params.get("company_id").filter(|s| !s.is_empty()) {
        None => None,
        Some(_) => Some(number(&params, "company_id", 0)?),
    };
    let limit = number(&params, "limit", 50)?.clamp(1, 500);
    let offset = number(&params, "offset", 0)?.max(0);
    let (items, total) = state
        .services
        .department_list(&ctx.actor, company_id, limit, offset)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(Page::exact(
        items.iter().map(snapshot).collect(),
        total,
        limit,
        offset,
    )))
}

pub async fn departments_create(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    let input: Value = json_body(&body)?;
    let Some(fields) = input.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    // Like an edit, a creation names only fields a client may set (ASVS
    // 5.1.2): anything else is refused by name, not silently dropped.
    let problems: Vec<kabinet_api::FieldProblem> = fields
        .keys()
        .filter(|key| !WRITABLE.contains(&key.as_str()) && key.as_str() != "company_id")
        .map(|key| {
            let code = if ["id", "version", "members_count"].contains(&key.as_str()) {
                "read_only"
            } else {
                "unknown_field"
            };
            kabinet_api::FieldProblem {
                field: key.clone(),
                code: code.into(),
                message: code.replace('_', " "),
            }
        })
        .collect();
    if !problems.is_empty() {
        let mut error = ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        error.errors = problems;
        error.lang = ctx.lang;
        return Err(error);
    }
    let company_id = input.get("company_id").and_then(Value::as_i64);
    let created = state
        .services
        .department_create(&ctx.actor, company_id, &input)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(department_response(StatusCode::CREATED, &created))
}

pub async fn departments_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let department = state
        .services
        .department_get(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(department_response(StatusCode::OK, &department))
}

const WRITABLE: [&str; 6] = [
    "name_ru",
    "name_en",
    "schedule",
    "task_language",
    "support",
    "sort_order",
];

/// A JSON merge patch of a department; `If-Match` is required.
pub async fn departments_update(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Some(expected) = if_match(&headers)? else {
        let mut error = ApiError::new(StatusCode::PRECONDITION_REQUIRED, "precondition_required")
            .detail("send If-Match with the ETag of the version you edited");
        error.lang = ctx.lang;
        return Err(error);
    };
    let patch: Value = json_body(&body)?;
    let Some(patch) = patch.as_object() else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let current = state
        .services
        .department_get(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    let mut input = snapshot(&current);
    let mut problems = Vec::new();
    for (key, value) in patch {
        if key == "company_id" && value.as_i64() == Some(current.company_id) {
            continue;
        }
        if !WRITABLE.contains(&key.as_str()) {
            let code = if ["id", "company_id", "version", "members_count"].contains(&key.as_str()) {
                "read_only"
            } else {
                "unknown_field"
            };
            problems.push(kabinet_api::FieldProblem {
                field: key.clone(),
                code: code.into(),
                message: code.replace('_', " "),
            });
            continue;
        }
        input[key] = value.clone();
    }
    if !problems.is_empty() {
        let mut error = ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .detail("a department cannot move to another company");
        error.errors = problems;
        error.lang = ctx.lang;
        return Err(error);
    }
    let updated = state
        .services
        .department_update(&ctx.actor, id, expected, &input)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(department_response(StatusCode::OK, &updated))
}

pub async fn departments_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let expected = if_match(&headers)?;
    state
        .services
        .department_delete(&ctx.actor, id, expected)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

fn rights_json(rights: &DepartmentRights) -> Value {
    json!({
        "sections": rights.sections.iter().map(|s| s.key()).collect::<Vec<_>>(),
        "functions": rights.functions.iter().map(Function::key).collect::<Vec<_>>(),
        "effective": rights.effective().iter().map(Function::key).collect::<Vec<_>>(),
    })
}

pub async fn department_rights_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let (_, rights) = state
        .services
        .department_rights(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(rights_json(&rights)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsInput {
    rights: Vec<String>,
}

/// Replaces a department's rights: `{"rights": ["companies", "companies.view"]}`.
pub async fn department_rights_put(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let input: RightsInput = json_body(&body)?;
    let rights = state
        .services
        .department_rights_set(&ctx.actor, id, &input.rights)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(rights_json(&rights)))
}

fn members_json(people: &[kabinet_store::users::UserRecord]) -> Value {
    json!({
        "items": people.iter().map(|u| json!({
            "id": u.id,
            "login": u.login,
            "first_name": u.first_name,
            "last_name": u.last_name,
        })).collect::<Vec<_>>()
    })
}

pub async fn department_members_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let people = state
        .services
        .department_members(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(members_json(&people)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembersInput {
    user_ids: Vec<i64>,
}

/// Replaces a department's members: `{"user_ids": [3, 7]}`.
pub async fn department_members_put(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let input: MembersInput = json_body(&body)?;
    state
        .services
        .department_members_set(&ctx.actor, id, &input.user_ids)
        .await
        .map_err(service_error(ctx.lang))?;
    let people = state
        .services
        .department_members(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(members_json(&people)))
}

pub fn effective_json(rights: &EffectiveRights) -> Value {
    json!({
        "full_access": rights.full_access,
        "rights": rights.rights.iter().map(|(function, sources)| json!({
            "key": function.key(),
            "sources": sources.iter().map(|s| match s {
                RightSource::FullAccess => json!({"type": "full_access"}),
                RightSource::Extra => json!({"type": "extra"}),
                RightSource::Department { id, name_ru, name_en } => json!({
                    "type": "department", "id": id, "name_ru": name_ru, "name_en": name_en
                }),
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "extra_rights": rights.extra.iter().map(|f| f.key()).collect::<Vec<_>>(),
    })
}

pub async fn user_rights_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let rights = state
        .services
        .user_rights(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(effective_json(&rights)))
}

/// Replaces a person's extra rights: `{"rights": ["audit.view"]}`.
pub async fn user_extra_rights_put(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let input: RightsInput = json_body(&body)?;
    state
        .services
        .user_extra_rights_set(&ctx.actor, id, &input.rights)
        .await
        .map_err(service_error(ctx.lang))?;
    let rights = state
        .services
        .user_rights(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(effective_json(&rights)))
}

// ---------------------------------------------------------------------------
// Entering a client (M4).

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnterInput {
    reason: String,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    read_only: bool,
}

/// `POST /api/v1/companies/{id}/enter`: the act-as credential, once.
pub async fn company_enter(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Response> {
    let input: EnterInput = json_body(&body)?;
    let (token, until) = state
        .services
        .enter_company(
            &ctx.actor,
            id,
            &input.reason,
            input.minutes.unwrap_or(30),
            input.read_only,
        )
        .await
        .map_err(service_error(ctx.lang))?;
    let mut response = (
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "company_id": id,
            "expires_at": kabinet_api::format_time(until),
            "read_only": input.read_only,
        })),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// `DELETE /api/v1/acting`: the act-as credential in use stops working.
pub async fn acting_end(
    State(state): State<AppState>,
    ctx: ApiCtx,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim()
        .to_string();
    state
        .services
        .leave_company(&ctx.actor, &secret)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}
