//! REST endpoints of passkeys and trusted devices: registering and removing
//! passkeys, signing in with one, trusting a device for PIN sign-in.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kabinet_service::passkeys::Assertion;
use kabinet_store::passkeys::{DeviceRecord, PasskeyRecord};

use crate::api::{json_body, service_error, session_response, ApiResult};
use crate::extract::{set_cookie, ApiCtx, Language, RequestOrigin};
use crate::AppState;

/// The cookie of a trusted device: its secret, HttpOnly, 90 days.
pub const DEVICE_COOKIE: &str = "kabinet_device";
pub const DEVICE_DAYS: i64 = 90;

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(serde::Serialize)]
pub struct PasskeyDto {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
}

impl PasskeyDto {
    fn of(p: &PasskeyRecord) -> Self {
        PasskeyDto {
            id: p.id,
            name: p.name.clone(),
            created_at: kabinet_api::format_time(p.created_at),
            last_used_at: p.last_used_at.map(kabinet_api::format_time),
        }
    }
}

#[derive(serde::Serialize)]
pub struct DeviceDto {
    id: i64,
    name: String,
    created_at: String,
    last_used_at: Option<String>,
    failed_pins: i64,
}

impl DeviceDto {
    fn of(d: &DeviceRecord) -> Self {
        DeviceDto {
            id: d.id,
            name: d.name.clone(),
            created_at: kabinet_api::format_time(d.created_at),
            last_used_at: d.last_used_at.map(kabinet_api::format_time),
            failed_pins: d.failures,
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordOnly {
    password: String,
}

pub async fn passkey_register_options(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    let request: PasswordOnly = json_body(&body)?;
    let (ceremony_id, options) = state
        .services
        .passkey_register_options(&ctx.actor, &request.password)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(no_store(
        Json(serde_json::json!({"ceremony_id": ceremony_id, "public_key": options}))
            .into_response(),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    ceremony_id: String,
    name: String,
    client_data_json: String,
    attestation_object: String,
}

pub async fn passkey_register(
    State(state): State<AppState>,
    ctx: ApiCtx,
    body: Bytes,
) -> ApiResult<Response> {
    let request: RegisterRequest = json_body(&body)?;
    let record = state
        .services
        .passkey_register(
            &ctx.actor,
            &request.ceremony_id,
            &request.name,
            &request.client_data_json,
            &request.attestation_object,
        )
        .await
        .map_err(service_error(ctx.lang))?;
    Ok((StatusCode::CREATED, Json(PasskeyDto::of(&record))).into_response())
}

pub async fn passkey_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
) -> ApiResult<Json<Vec<PasskeyDto>>> {
    let list = state
        .services
        .passkey_list(&ctx.actor)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(list.iter().map(PasskeyDto::of).collect()))
}

pub async fn passkey_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .services
        .passkey_delete(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn passkey_sign_in_options(
    State(state): State<AppState>,
    Language(lang): Language,
) -> ApiResult<Response> {
    let (ceremony_id, options) = state
        .services
        .passkey_sign_in_options()
        .await
        .map_err(service_error(lang))?;
    Ok(no_store(
        Json(serde_json::json!({"ceremony_id": ceremony_id, "public_key": options}))
            .into_response(),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInRequest {
    ceremony_id: String,
    credential_id: String,
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    #[serde(default)]
    user_handle: Option<String>,
}

pub async fn passkey_sign_in(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<Response> {
    let request: PasskeySignInRequest = json_body(&body)?;
    let assertion = Assertion {
        credential_id: request.credential_id,
        client_data_json: request.client_data_json,
        authenticator_data: request.authenticator_data,
        signature: request.signature,
        user_handle: request.user_handle,
    };
    let session = state
        .services
        .passkey_sign_in(&request.ceremony_id, &assertion, &origin)
        .await
        .map_err(service_error(lang))?;
    Ok(session_response(&state, session))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    pin: String,
    #[serde(default)]
    name: String,
}

/// Trusts this device: the answer sets the device cookie.
pub async fn device_trust(
    State(state): State<AppState>,
    ctx: ApiCtx,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<Response> {
    let request: TrustRequest = json_body(&body)?;
    let secret = state
        .services
        .device_trust(&ctx.actor, &request.pin, &request.name, &origin)
        .await
        .map_err(service_error(ctx.lang))?;
    let mut response = (
        StatusCode::CREATED,
        Json(serde_json::json!({"trusted": true})),
    )
        .into_response();
    let cookie = device_cookie(&state, &secret);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(no_store(response))
}

pub(crate) fn device_cookie(state: &AppState, secret: &str) -> String {
    set_cookie(
        DEVICE_COOKIE,
        secret,
        Some(DEVICE_DAYS * 86_400),
        true,
        state.http.secure_cookies,
    )
}

pub async fn device_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
) -> ApiResult<Json<Vec<DeviceDto>>> {
    let list = state
        .services
        .device_list(&ctx.actor)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(list.iter().map(DeviceDto::of).collect()))
}

pub async fn device_revoke(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .services
        .device_revoke(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    pin: String,
}

/// Quick sign-in with the PIN of the device whose cookie came along.
pub async fn pin_sign_in(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    parts: axum::http::request::Parts,
    body: Bytes,
) -> ApiResult<Response> {
    let request: PinRequest = json_body(&body)?;
    let secret =
        crate::extract::credential_cookie(&parts, &state, DEVICE_COOKIE).unwrap_or_default();
    let session = state
        .services
        .device_sign_in(&secret, &request.pin, &origin)
        .await
        .map_err(service_error(lang))?;
    Ok(session_response(&state, session))
}
