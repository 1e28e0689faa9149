//! REST handlers of reseller registration (T8): a reseller's registration
//! link (status, make or rotate, disable) and the public registration.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kabinet_api::format_time;
use kabinet_domain::registration::RawRegistration;
use kabinet_store::registration_links::RegistrationLinkRecord;
use serde::Deserialize;

use crate::api::{json_body, service_error, ApiResult};
use crate::error::ApiError;
use crate::extract::{ApiCtx, Language, RequestOrigin};
use crate::i18n::Lang;
use crate::AppState;

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The state of a link as the API shows it: never its secret.
fn link_json(link: Option<&RegistrationLinkRecord>) -> serde_json::Value {
    serde_json::json!({
        "active": link.is_some(),
        "created_at": link.map(|l| format_time(l.created_at)),
        "created_by": link.and_then(|l| l.created_by),
    })
}

/// `GET /companies/{id}/registration-link`: whether one is active, since when.
pub async fn link_get(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let link = state
        .services
        .registration_link_get(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(link_json(link.as_ref())))
}

/// `POST /companies/{id}/registration-link`: a new link (the old one stops
/// working); its address is in the answer this once.
pub async fn link_create(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let created = state
        .services
        .registration_link_create(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    let mut body = link_json(Some(&created.link));
    body["url"] = serde_json::Value::String(created.url);
    Ok(no_store((StatusCode::CREATED, Json(body)).into_response()))
}

/// `DELETE /companies/{id}/registration-link`: the link stops working.
pub async fn link_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state
        .services
        .registration_link_disable(&ctx.actor, id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `POST /register`. Every field may be missing: a missing one
/// is reported by name like a wrong one.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterRequest {
    pub secret: String,
    pub company_name: Option<String>,
    pub inn: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

impl RegisterRequest {
    pub fn raw(&self) -> RawRegistration {
        RawRegistration {
            company_name: self.company_name.clone(),
            inn: self.inn.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
        }
    }
}

/// A refusal of a registration as a problem document; a throttled one says
/// what is limited.
pub(crate) fn register_error(error: kabinet_service::ServiceError, lang: Lang) -> ApiError {
    let mut api = ApiError::from_service(error, lang);
    if let Some(seconds) = api.retry_after {
        api.code = "registration.too_many";
        api.detail = Some(format!(
            "too many registrations from this address: try again in {seconds} s"
        ));
    }
    api
}

/// `POST /register` (public): a new company registers itself through a
/// reseller's link; its first admin gets an e-mail to choose a password.
pub async fn register(
    State(state): State<AppState>,
    Language(lang): Language,
    RequestOrigin(origin): RequestOrigin,
    body: Bytes,
) -> ApiResult<Response> {
    let request: RegisterRequest = json_body(&body)?;
    let registered = state
        .services
        .register_company(&request.secret, &request.raw(), &origin)
        .await
        .map_err(|e| register_error(e, lang))?;
    Ok(no_store(
        (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "company_id": registered.company.id,
                "company_name": registered.company.fields.name,
                "login": registered.admin.login,
                "email": registered.admin.email,
            })),
        )
            .into_response(),
    ))
}
