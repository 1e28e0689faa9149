//! REST handlers of group links (M1, M5): list, link and unlink the client
//! companies of a group company.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kabinet_api::{CompanyDto, GroupLinkDto, GroupLinkInput, Page};

use crate::api::{company_page, json_body, service_error, ApiResult};
use crate::error::ApiError;
use crate::extract::ApiCtx;
use crate::AppState;

/// `GET /companies/{id}/links`: the linked clients, with the company list's
/// search (`q`), filters, sort and paging.
pub async fn links_list(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
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
        .group_links(&ctx.actor, id, query)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(Json(company_page(&items, &total, limit, offset)))
}

/// `POST /companies/{id}/links` with `{"multichannel_number": "…"}`.
pub async fn links_create(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path(id): Path<i64>,
    body: Bytes,
) -> ApiResult<Response> {
    let input: GroupLinkInput = json_body(&body)?;
    let (link, client) = state
        .services
        .group_link(&ctx.actor, id, &input.multichannel_number)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok((StatusCode::CREATED, Json(GroupLinkDto::new(&link, &client))).into_response())
}

/// `DELETE /companies/{id}/links/{client_id}`.
pub async fn links_delete(
    State(state): State<AppState>,
    ctx: ApiCtx,
    Path((id, client_id)): Path<(i64, i64)>,
) -> ApiResult<StatusCode> {
    state
        .services
        .group_unlink(&ctx.actor, id, client_id)
        .await
        .map_err(service_error(ctx.lang))?;
    Ok(StatusCode::NO_CONTENT)
}
