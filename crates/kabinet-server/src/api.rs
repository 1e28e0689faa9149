//! REST handlers under `/api/v1`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kabinet_api::{
    merge_patch, AuditEntryDto, CompanyDto, CompanyInput, LoginRequest, LoginResponse, Page,
    TokenCreateRequest, TokenCreated, TokenDto, COMPANY_READ_ONLY_FIELDS,
};
use kabinet_service::auth::SignIn;
use kabinet_service::companies::Cascade;
use kabinet_store::audit::AuditQuery;
use kabinet_store::companies::CompanyRecord;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::extract::{set_cookie, ApiCtx, Language, RequestOrigin, SESSION_COOKIE};
use crate::i18n::Lang;
use crate::AppState;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn service_error(lang: Lang) -> impl Fn(kabinet_service::ServiceError) -> ApiError {
    move |e| ApiError::from_service(e, lang)
}

/// Parses a JSON body into `T`, answering bad JSON with a problem document.
/// Every body is a JSON object: serde would also fill a struct from an
/// array of its fields in order, which the document does not allow.
pub(crate) fn json_body<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .detail("the body must be a JSON object");
        error.errors.push(kabinet_api::FieldProblem {
            field: "body".into(),
            code: "body.not_object".into(),
            message: "the body must be a JSON object".into(),
        });
        return Err(error);
    }
    let invalid = |e: serde_json::Error| {
        let mut error = ApiError::new(StatusCode::BAD_REQUEST, "bad_request")
            .detail(format!("invalid JSON body: {e}"));
        if e.is_data() {
            error.status = StatusCode::UNPROCESSABLE_ENTITY;
            error.code = "validation_failed";
        }
        error
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    // No text of Kabinet holds a NUL character, and PostgreSQL cannot store one.
    if let Some(field) = field_with_nul(&value) {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .detail("text must not contain the NUL character");
        error.errors.push(kabinet_api::FieldProblem {
            field,
            code: "text.nul".into(),
            message: "text must not contain the NUL character".into(),
        });
        return Err(error);
    }
    serde_json::from_value(value).map_err(invalid)
}

/// The top-level field whose value (or key) holds a NUL character, if any.
fn field_with_nul(value: &serde_json::Value) -> Option<String> {
    fn has_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(has_nul),
            serde_json::Value::Object(map) => {
                map.iter().any(|(key, v)| key.contains('\0') || has_nul(v))
            }
            _ => false,
        }
    }
    value.as_object()?.iter().find_map(|(key, v)| {
        (key.contains('\0') || has_nul(v)).then(|| key.replace('\0', "\\u0000"))
    })
}

pub(crate) fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` header names (`"3"`, `W/"3"`).
pub(crate) fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse().map(Some).map_err(|_| {
        ApiError::bad_request("If-Match must name a version returned in ETag, such as \"3\"")
    })
}

/// Reads a JSON merge patch (RFC 7396) request: the version named by the
/// required `If-Match`, and the current writable fields with the patch
/// applied. Read-only and unknown fields are refused by name.
fn merged_input<I: serde::Serialize + DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    current: &I,
    read_only: &[&str],
    writable: &[&str],
    lang: Lang,
) -> ApiResult<(i64, I)> {
    let Some(expected) = if_match(headers)? else {
        let mut error = ApiError::new(StatusCode::PRECONDITION_REQUIRED, "precondition_required")
            .detail("send If-Match with the ETag of the version you edited");
        error.lang = lang;
        return Err(error);
    };
    let patch: serde_json::Value = json_body(body)?;
    let Some(patch_map) = patch.as_object() else {
        return Err(ApiError::bad_request("a merge patch must be a JSON object"));
    };
    let field_errors: Vec<kabinet_api::FieldProblem> = patch_map
        .keys()
        .filter_map(|key| {
            let code = if read_only.contains(&key.as_str()) {
                "read_only"
            } else if !writable.contains(&key.as_str()) {
                "unknown_field"
            } else {
                return None;
            };
            Some(kabinet_api::FieldProblem {
                field: key.clone(),
                code: code.to_string(),
                message: code.replace('_', " "),
            })
        })
        .collect();
    if !field_errors.is_empty() {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        error.errors = field_errors;
        error.lang = lang;
        return Err(error);
    }
    let mut merged = serde_json::to_value(current).unwrap_or_default();
    merge_patch(&mut merged, &patch);
    let input: I = serde_json::from_value(merged).map_err(|e| {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .detail(e.to_string());
        error.lang = lang;
        error
    })?;
    Ok((expected, input))
}

fn company_response(status: StatusCode, record: &CompanyRecord) -> Response {
    let mut response = (status, Json(CompanyDto::from(record))).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(record.version));
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/companies/{}", record.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

pub async fn not_found(Language(lang): Language) -> ApiError {
    let mut error = ApiError::new(StatusCode::NOT_FOUND, "not_found");
    error.lang = lang;
    error
}

pub async fn login(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<Response> {
    let request: LoginRequest = json_body(&body)?;
    let outcome = match request
        .account_number
        .as_deref()
        .filter(|a| !a.trim().is_empty())
    {
        Some(account_number) => {
            state
                .services
                .login_by_account_number(account_number, &request.password, &origin)
                .await
        }
        None => {
            state
                .services
                .login(&request.login, &request.password, &origin)
                .await
        }
    };
    match outcome.map_err(service_error(lang))? {
        SignIn::Session(session) => Ok(session_response(&state, session)),
        // The password was right; no session until the code. The challenge
        // goes to `POST /api/v1/auth/second-factor` with the code.
        SignIn::SecondFactor {
            challenge,
            methods,
            phone_hint,
        } => {
            let mut response = Json(serde_json::json!({
                "second_factor": methods[0],
                "methods": methods,
                "phone_hint": phone_hint,
                "challenge": challenge,
            }))
            .into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
    }
}

/// A new session: the cookie, and the CSRF token in the body.
pub(crate) fn session_response(
    state: &AppState,
    session: kabinet_service::auth::NewSession,
) -> Response {
    let cookie = set_cookie(
        SESSION_COOKIE,
        &session.secret,
        None,
        true,
        state.http.secure_cookies,
    );
    let body = LoginResponse {
        user_id: session.user_id,
        login: session.login,
        csrf_token: session.csrf_token,
        must_change_password: session.must_change_password,
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The body of `POST /api/v1/auth/second-factor`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    challenge: String,
    code: String,
}

pub async fn auth_second_factor(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<Response> {
    let request: SecondFactorRequest = json_body(&body)?;
    let session = state
        .services
        .complete_second_factor(&request.challenge, &request.code, &origin)
        .await
        .map_err(service_error(lang))?;
    Ok(session_response(&state, session))
}

/// The body of `POST /api/v1/auth/second-factor/resend`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    challenge: String,
}

/// Sends a new SMS code for a pending sign-in.
pub async fn auth_second_factor_resend(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<Response> {
    let request: ResendRequest = json_body(&body)?;
    let hint = state
        .services
        .resend_sms_code(&request.challenge, &origin)
        .await
        .map_err(service_error(lang))?;
    let mut response = (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"phone_hint": hint})),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// An SVG picture of a QR code.
pub(crate) fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(220, 220)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

pub async fn me_totp_status(
    State(state): State<AppState>,
    ctx: ApiCtx,
) -> ApiResult<Json<serde_json::Value>> {
    let (enabled, left) = state
        .services
        .totp_status(&ctx.actor)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(
        serde_json::json!({"enabled": enabled, "recovery_codes_left": left}),
    ))
}

pub async fn me_totp_begin(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<Response> {
    let (secret, uri) = state
        .services
        .totp_begin(&ctx.actor)
        .await
        .map_err(service_error(ctx.lang))?;
    let mut response =
        Json(serde_json::json!({"secret": secret, "otpauth_uri": uri, "qr_svg": qr_svg(&uri)}))
            .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    code: String,
}

pub async fn me_totp_confirm(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    let request: CodeRequest = json_body(&body)?;
    let codes = state
        .services
        .totp_confirm(&ctx.actor, &request.code)
        .await
        .map_err(service_error(ctx.lang))?;
    let mut response = Json(serde_json::json!({"recovery_codes": codes})).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirm {
    password: String,
}

pub async fn me_totp_disable(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let request: PasswordConfirm = json_body(&body)?;
    state
        .services
        .totp_disable(&ctx.actor, &request.password)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logout(State(state): State<AppState>, ctx: ApiCtx) -> ApiResult<Response> {
    if let Some(secret) = &ctx.session_secret {
        state
            .services
            .logout(&ctx.actor, secret)
            .await
            .map_err(service_error(ctx.lang))?;
    }
    let cookie = set_cookie(SESSION_COOKIE, "", Some(0), true, state.http.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

pub async fn me(ctx: ApiCtx) -> Json<serde_json::Value> {
    let functions: Vec<&str> = kabinet_domain::access::Function::ALL
        .into_iter()
        .filter(|f| ctx.actor.can(*f))
        .map(|f| f.key())
        .collect();
    Json(serde_json::json!({
        "user_id": ctx.actor.user_id,
        "login": ctx.actor.login,
        "name": ctx.actor.display_name,
        "company_id": ctx.actor.company_id,
        "company_name": ctx.actor.company_name,
        "full_access": ctx.actor.grants.full_access,
        "functions": functions,
    }))
}

pub async fn companies_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Page<CompanyDto>>> {
    let query = crate::console::api_company_query(&params, 50).map_err(|(field, detail)| {
        let mut error = ApiError::list_parameter(&field, &detail);
        error.lang = ctx.lang;
        error
    })?;
    let (limit, offset) = (query.limit, query.offset);
    let (items, total) = state
        .services
        .company_list(&ctx.actor, query)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(company_page(
        &items,
        &total,
        limit.clamp(1, 500),
        offset,
    )))
}

/// A page of a company list (the companies, a group's linked clients): the
/// count, the cursor of the next page and the order the page is listed in.
pub(crate) fn company_page(
    items: &[std::sync::Arc<kabinet_store::companies::CompanyRecord>],
    total: &kabinet_store::companies::Total,
    limit: i64,
    offset: i64,
) -> Page<CompanyDto> {
    Page {
        items: items.iter().map(|item| CompanyDto::from(&**item)).collect(),
        total: total.count,
        total_exact: total.exact,
        limit,
        offset,
        next: total
            .next
            .as_ref()
            .map(kabinet_store::companies::After::encode),
        sort: Some(total.order.key().to_string()),
        dir: Some(if total.descending { "desc" } else { "asc" }.to_string()),
    }
}

pub async fn companies_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    // A read-only request: the card may come from memory at the company
    // epoch read with the token.
    let record = state
        .services
        .company_card(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(company_response(StatusCode::OK, &record))
}

pub async fn companies_create(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    let input: CompanyInput = json_body(&body)?;
    let is_group_company = input.is_group_company;
    let record = state
        .services
        .company_create_with(&ctx.actor, input.into_raw(), is_group_company)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(company_response(StatusCode::CREATED, &record))
}

/// `PATCH` takes a JSON merge patch (RFC 7396) and requires `If-Match`, so
/// that no one overwrites a change they have not seen.
pub async fn companies_patch(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let lang = ctx.lang;
    let current = state
        .services
        .company_get(&ctx.actor, id)
        .await
        .map_err(service_error(lang))?;
    let writable_value = serde_json::to_value(CompanyInput::default()).unwrap_or_default();
    let writable: Vec<&str> = writable_value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let (expected, input) = merged_input(
        &headers,
        &body,
        &CompanyInput::from_record(&current),
        &COMPANY_READ_ONLY_FIELDS,
        &writable,
        lang,
    )?;
    let is_group_company = input.is_group_company;
    match state
        .services
        .company_update_with(
            &ctx.actor,
            id,
            Some(expected),
            input.into_raw(),
            is_group_company,
        )
        .await
    {
        Ok(record) => Ok(company_response(StatusCode::OK, &record)),
        Err(kabinet_service::ServiceError::Stale) => {
            let mut error = ApiError::from_service(kabinet_service::ServiceError::Stale, lang)
                .detail(
                    "the company changed since you read it; the current version is in `current`",
                );
            if let Ok(fresh) = state.services.company_get(&ctx.actor, id).await {
                error.current = serde_json::to_value(CompanyDto::from(&fresh)).ok();
            }
            Err(error)
        }
        Err(e) => Err(ApiError::from_service(e, lang)),
    }
}

pub async fn companies_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let cascade = match params.get("cascade").map(String::as_str) {
        None | Some("false") | Some("0") => Cascade::Refuse,
        Some("true") | Some("1") => Cascade::DeleteChildren,
        Some(_) => return Err(ApiError::bad_request("cascade must be true or false")),
    };
    let expected = if_match(&headers)?;
    let ids = state
        .services
        .company_delete(&ctx.actor, id, expected, cascade)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(serde_json::json!({ "deleted_ids": ids })))
}

pub async fn companies_restore(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let ids = state
        .services
        .company_restore(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(serde_json::json!({ "restored_ids": ids })))
}

pub async fn tokens_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
) -> ApiResult<Json<Page<TokenDto>>> {
    let tokens = state
        .services
        .token_list(&ctx.actor)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(Page::whole(
        tokens.iter().map(TokenDto::from).collect(),
    )))
}

pub async fn tokens_create(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    let request: TokenCreateRequest = json_body(&body)?;
    let (record, secret) = state
        .services
        .token_create(&ctx.actor, &request.name)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id: record.id,
            name: record.name,
            token: secret,
        }),
    )
        .into_response())
}

pub async fn tokens_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .services
        .token_revoke(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Parses a time filter: RFC 3339 or milliseconds since the epoch.
fn time_param(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    match params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .or_else(|| {
                chrono::DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|t| t.timestamp_millis())
            })
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be RFC 3339 time or milliseconds"))
            }),
    }
}

pub(crate) fn audit_query_from(
    params: &HashMap<String, String>,
    default_limit: i64,
) -> ApiResult<AuditQuery> {
    // Control characters (a NUL byte, which PostgreSQL refuses in text)
    // become U+FFFD: no stored value holds one, so the filter matches
    // nothing instead of failing.
    let text = |name: &str| {
        params
            .get(name)
            .map(|s| crate::extract::filter_text(s.trim()))
            .filter(|s| !s.is_empty())
    };
    let number = |name: &str, default: i64| -> ApiResult<i64> {
        match text(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("{name} must be a whole number"))),
        }
    };
    Ok(AuditQuery {
        action: text("action"),
        entity_type: text("entity_type"),
        entity_id: text("entity_id"),
        actor_login: text("actor"),
        since: time_param(params, "since")?,
        until: time_param(params, "until")?,
        scope_path: None,
        limit: number("limit", default_limit)?.clamp(1, 500),
        offset: number("offset", 0)?.max(0),
    })
}

pub async fn audit_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Page<AuditEntryDto>>> {
    let query = audit_query_from(&params, 50)?;
    let (limit, offset) = (query.limit, query.offset);
    let (entries, total) = state
        .services
        .audit_list(&ctx.actor, &query)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(Page::exact(
        entries.iter().map(AuditEntryDto::from).collect(),
        total,
        limit,
        offset,
    )))
}

// ---------------------------------------------------------------------------
// People.

/// Reads the user list parameters (`q`, `company_id`, `kind`, `status`,
/// `deleted`, `sort`, `dir`, `limit`, `offset` or `page`). The scope is
/// filled in by the use case.
pub(crate) fn user_query_from(
    params: &HashMap<String, String>,
    default_limit: i64,
) -> Result<kabinet_store::users::UserQuery, (String, String)> {
    use kabinet_store::companies::DeletedFilter;
    use kabinet_store::users::{UserQuery, UserSort};
    let text = |name: &str| {
        params
            .get(name)
            .map(|s| s.trim().to_string())
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
    let mut query = UserQuery::default();
    if let Some(terms) = text("q").and_then(|q| kabinet_domain::company::SearchTerms::parse(&q)) {
        query.words = terms.words;
        query.id = terms.id;
    }
    query.company_id = number("company_id")?;
    query.kind = match text("kind") {
        None => None,
        Some(kind) => Some(
            kabinet_domain::user::UserKind::parse(&kind)
                .map_err(|_| {
                    (
                        "kind".to_string(),
                        "must be staff, client_user, account_admin or group_admin".to_string(),
                    )
                })?
                .key()
                .to_string(),
        ),
    };
    query.status = match text("status").as_deref() {
        None => None,
        Some(s @ ("active" | "blocked")) => Some(s.to_string()),
        Some(_) => return Err(("status".into(), "must be active or blocked".into())),
    };
    query.deleted = match text("deleted").as_deref() {
        None | Some("hide") => DeletedFilter::Hide,
        Some("show") => DeletedFilter::Show,
        Some("only") => DeletedFilter::Only,
        Some(_) => return Err(("deleted".into(), "must be hide, show or only".into())),
    };
    if let Some(sort) = text("sort") {
        query.sort = UserSort::parse(&sort).ok_or_else(|| {
            let keys: Vec<&str> = UserSort::ALL.iter().map(|(k, _)| *k).collect();
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

fn user_response(
    status: StatusCode,
    record: &kabinet_store::users::UserRecord,
    generated_password: Option<String>,
) -> Response {
    let body = kabinet_api::UserCreated {
        user: kabinet_api::UserDto::from(record),
        generated_password,
    };
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, etag(record.version));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::CREATED {
        if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/users/{}", record.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

pub async fn users_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Json<Page<kabinet_api::UserDto>>> {
    let query = user_query_from(&params, 50).map_err(|(field, detail)| {
        let mut error = ApiError::bad_request(format!("{field}: {detail}"));
        error.lang = ctx.lang;
        error
    })?;
    let (limit, offset) = (query.limit, query.offset);
    let (items, total) = state
        .services
        .user_list(&ctx.actor, query)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(Page::exact(
        items.iter().map(kabinet_api::UserDto::from).collect(),
        total,
        limit,
        offset,
    )))
}

pub async fn users_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let record = state
        .services
        .user_get(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(user_response(StatusCode::OK, &record, None))
}

pub async fn users_create(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    use kabinet_service::users::InitialPassword;
    let input: kabinet_api::UserInput = json_body(&body)?;
    let password = match (
        input.password.clone(),
        input.generate_password.unwrap_or(false),
    ) {
        (Some(_), true) => {
            let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
                .detail("send either password or generate_password, not both");
            error.errors.push(kabinet_api::FieldProblem {
                field: "generate_password".into(),
                code: "password.conflict".into(),
                message: crate::i18n::message(ctx.lang, "password.conflict").to_string(),
            });
            error.lang = ctx.lang;
            return Err(error);
        }
        (Some(p), false) => InitialPassword::Given(p),
        (None, true) => InitialPassword::Generate,
        (None, false) => InitialPassword::None,
    };
    let company_id = input.company_id;
    let created = state
        .services
        .user_create(&ctx.actor, company_id, input.into_raw(), password)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(user_response(
        StatusCode::CREATED,
        &created.user,
        created.generated_password,
    ))
}

pub async fn users_patch(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let lang = ctx.lang;
    let current = state
        .services
        .user_get(&ctx.actor, id)
        .await
        .map_err(service_error(lang))?;
    let writable = [
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
        "may_open_admin_cabinet",
        "chat_enabled",
        "status",
        "password",
    ];
    let (expected, input) = merged_input(
        &headers,
        &body,
        &kabinet_api::UserInput::from_record(&current),
        &kabinet_api::USER_READ_ONLY_FIELDS,
        &writable,
        lang,
    )?;
    let password = input.password.clone();
    let company_id = input.company_id;
    match state
        .services
        .user_update(
            &ctx.actor,
            id,
            Some(expected),
            company_id,
            input.into_raw(),
            password,
        )
        .await
    {
        Ok(record) => Ok(user_response(StatusCode::OK, &record, None)),
        Err(kabinet_service::ServiceError::Stale) => {
            let mut error = ApiError::from_service(kabinet_service::ServiceError::Stale, lang)
                .detail("the user changed since you read it; the current version is in `current`");
            if let Ok(fresh) = state.services.user_get(&ctx.actor, id).await {
                error.current = serde_json::to_value(kabinet_api::UserDto::from(&fresh)).ok();
            }
            Err(error)
        }
        Err(e) => Err(ApiError::from_service(e, lang)),
    }
}

pub async fn users_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let expected = if_match(&headers)?;
    state
        .services
        .user_delete(&ctx.actor, id, expected)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn users_restore(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let record = state
        .services
        .user_restore(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(user_response(StatusCode::OK, &record, None))
}

/// A session as listed: never its secret.
#[derive(serde::Serialize)]
pub struct SessionDto {
    /// A handle to end this session with (not its secret).
    id: String,
    /// Whether this is the session the request came with.
    current: bool,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    ip: Option<String>,
    user_agent: Option<String>,
}

pub async fn user_sessions(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<Page<SessionDto>>> {
    let sessions = state
        .services
        .user_sessions(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    let current = ctx
        .session_secret
        .as_deref()
        .map(|secret| {
            kabinet_store::sessions::session_handle(&kabinet_service::auth::secret_hash(secret))
        })
        .unwrap_or_default();
    let items: Vec<SessionDto> = sessions
        .iter()
        .map(|s| SessionDto {
            id: s.handle.clone(),
            current: s.handle == current,
            created_at: kabinet_api::format_time(s.created_at),
            last_seen_at: kabinet_api::format_time(s.last_seen_at),
            expires_at: kabinet_api::format_time(s.expires_at),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
        })
        .collect();
    Ok(Json(Page::whole(items)))
}

pub async fn user_sessions_end(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .services
        .user_sessions_end(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me_password(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let request: kabinet_api::PasswordChange = json_body(&body)?;
    state
        .services
        .change_own_password(
            &ctx.actor,
            &request.current_password,
            &request.new_password,
            ctx.session_secret.as_deref(),
        )
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends one of one's own sessions.
pub async fn me_session_end(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(handle): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .services
        .my_session_end(&ctx.actor, &handle)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me_sessions(
    State(state): State<AppState>,
    ctx: ApiCtx,
) -> ApiResult<Json<Page<SessionDto>>> {
    let id = ctx.actor.user_id;
    user_sessions(State(state), ctx, Path(id)).await
}

/// The body of `POST /api/v1/auth/recover`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    login: String,
}

/// Starts password recovery; the answer never tells whether the account exists.
pub async fn auth_recover(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let request: RecoverRequest = json_body(&body)?;
    state
        .services
        .recover_password(&request.login, &origin)
        .await
        .map_err(service_error(lang))?;
    Ok(StatusCode::ACCEPTED)
}

/// The body of `POST /api/v1/auth/password`: the secret of a one-time link and the new password.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkPasswordRequest {
    token: String,
    new_password: String,
}

pub async fn auth_password(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let request: LinkPasswordRequest = json_body(&body)?;
    state
        .services
        .set_password_by_link(&request.token, &request.new_password, &origin)
        .await
        .map_err(service_error(lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// An outbox entry as the API shows it.
#[derive(serde::Serialize)]
pub struct OutboxDto {
    id: i64,
    at: String,
    topic: String,
    entity_type: String,
    entity_id: String,
    payload: serde_json::Value,
    delivered_at: Option<String>,
    /// `delivered`, `pending` (waiting or between attempts), `failed` (given
    /// up; an admin may retry), or `recorded` (an event, not a message).
    status: &'static str,
    attempts: i64,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    failed_at: Option<String>,
}

impl OutboxDto {
    pub fn of(e: &kabinet_store::outbox::OutboxEntry) -> Self {
        let message = e.topic == "email" || e.topic == "sms";
        OutboxDto {
            id: e.id,
            at: kabinet_api::format_time(e.at),
            topic: e.topic.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            payload: serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null),
            delivered_at: e.delivered_at.map(kabinet_api::format_time),
            status: if e.delivered_at.is_some() {
                "delivered"
            } else if e.failed_at.is_some() {
                "failed"
            } else if message {
                "pending"
            } else {
                "recorded"
            },
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at.map(kabinet_api::format_time),
            last_error: e.last_error.clone(),
            failed_at: e.failed_at.map(kabinet_api::format_time),
        }
    }
}

/// Sends a message again after its delivery gave up.
pub async fn outbox_retry(
    State(state): State<AppState>,
    ctx: ApiCtx,
    RequestOrigin(origin): RequestOrigin,
    Path(id): Path<i64>,
) -> ApiResult<Json<OutboxDto>> {
    let entry = state
        .services
        .outbox_retry(&ctx.actor, id, &origin)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(OutboxDto::of(&entry)))
}

pub async fn outbox_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let number = |name: &str, default: i64| -> ApiResult<i64> {
        match params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| ApiError::bad_request(format!("{name} must be a whole number"))),
        }
    };
    let (limit, offset) = (
        number("limit", 50)?.clamp(1, 500),
        number("offset", 0)?.max(0),
    );
    let topic = params
        .get("topic")
        .map(|t| crate::extract::filter_text(t))
        .filter(|t| !t.is_empty());
    let topic = topic.as_deref();
    let (entries, total) = state
        .services
        .outbox_list(&ctx.actor, topic, limit, offset)
        .await
        .map_err(service_error(ctx.lang))?;
    let items: Vec<OutboxDto> = entries.iter().map(OutboxDto::of).collect();
    let mut response = Json(Page::exact(items, total, limit, offset)).into_response();
    // Messages may carry one-time links: never cache them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub async fn user_ip_rules(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Response> {
    let input: kabinet_api::IpRulesInput = json_body(&body)?;
    let binding = input.session_binding.unwrap_or_else(|| "off".to_string());
    let record = state
        .services
        .user_set_ip_rules(&ctx.actor, id, &input.ip_rules, &binding)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(user_response(StatusCode::OK, &record, None))
}

/// Sets a person's avatar: the request body is the picture (JPEG, PNG or
/// GIF, recognised by content; at most 64 KB; 80×80).
pub async fn user_avatar_put(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    state
        .services
        .user_set_avatar(&ctx.actor, id, body.to_vec())
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn user_avatar_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .services
        .user_remove_avatar(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Serves an avatar with the content type found when it was checked, and
/// headers that stop a browser from reading it as anything else.
pub async fn user_avatar_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let (kind, bytes) = state
        .services
        .user_avatar(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok((
        [
            (header::CONTENT_TYPE, kind.content_type()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox",
            ),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        bytes,
    )
        .into_response())
}

/// One CSV cell: quoted when needed, and a leading `=`, `+`, `-` or `@`
/// defused so that spreadsheets do not run it as a formula.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The audit log as CSV, with the same filters as the list (X1: exportable).
pub async fn audit_export(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let query = audit_query_from(&params, 50)?;
    let (entries, truncated) = state
        .services
        .audit_export(&ctx.actor, &query)
        .await
        .map_err(service_error(ctx.lang))?;
    let mut csv = String::from(
        "id,at,actor,on_behalf_of,action,entity_type,entity_id,ip,details,before,after\r\n",
    );
    for entry in &entries {
        let dto = AuditEntryDto::from(entry);
        let cells = [
            dto.id.to_string(),
            dto.at.clone(),
            dto.actor_login.clone().unwrap_or_default(),
            dto.on_behalf_of.clone().unwrap_or_default(),
            dto.action.clone(),
            dto.entity_type.clone(),
            dto.entity_id.clone().unwrap_or_default(),
            dto.ip.clone().unwrap_or_default(),
            dto.details.clone().unwrap_or_default(),
            dto.before
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            dto.after
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ];
        csv.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push_str("\r\n");
    }
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kabinet-audit.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response();
    if truncated {
        response
            .headers_mut()
            .insert("x-kabinet-truncated", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod csv_tests {
    use super::csv_cell;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("-1"), "'-1");
    }
}
