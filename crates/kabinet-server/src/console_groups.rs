//! Console pages of group companies (M1, M2, M5): the linked clients of a
//! group company with the M2 columns, search, filters, sort and paging, a
//! form to link a client by its multichannel number and a button to unlink
//! each. `/group` is a group admin's landing page: their own group company's
//! clients (the plain `/companies` sends them there, see `extract.rs`).
//! Provider staff open the same page of any group company in their scope at
//! `/companies/{id}/links`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kabinet_domain::access::Function;
use kabinet_service::ServiceError;
use kabinet_store::companies::{CompanyQuery, CompanySort};
use serde::Deserialize;

use crate::console::{
    company_query_from, csrf_failed, display_phone, error_page, render, Frame, SortHeader,
};
use crate::extract::{same_secret, url_encode, ConsoleCtx};
use crate::i18n::message;
use crate::AppState;

const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/group", get(own_group_page))
        .route("/companies/{id}/links", get(links_page).post(link_submit))
        .route(
            "/companies/{id}/links/{client_id}/delete",
            post(unlink_submit),
        )
}

/// The M2 columns of the list, in order; each sorts.
const COLUMNS: [(&str, &str); 7] = [
    ("account_number", "field.account_number"),
    ("name", "field.name"),
    ("pbx_number", "field.pbx_number"),
    ("tariff", "field.tariff"),
    ("region", "field.region"),
    ("macroregion", "field.macroregion"),
    ("multichannel_number", "field.multichannel_number"),
];

/// One linked client in the list.
pub struct LinkRow {
    pub id: i64,
    pub name: String,
    pub account_number: String,
    pub pbx_number: String,
    pub tariff: String,
    pub region: String,
    pub macroregion: String,
    pub multichannel_number: String,
}

#[derive(Template)]
#[template(path = "group_links.html")]
struct GroupLinksPage {
    m: Frame,
    base: String,
    group_id: i64,
    group_name: String,
    is_group: bool,
    deleted: bool,
    can_link: bool,
    results: String,
    q: String,
    region: String,
    macroregion: String,
    sort: String,
    dir: String,
    regions: Vec<String>,
    macroregions: Vec<String>,
    sort_options: Vec<(&'static str, String)>,
    /// The number typed into the link form, kept when it was refused.
    number: String,
    link_error: Option<String>,
}

#[derive(Template)]
#[template(path = "group_links_results.html")]
struct GroupLinkResults {
    m: Frame,
    group_id: i64,
    rows: Vec<LinkRow>,
    headers: Vec<SortHeader>,
    total: i64,
    first: i64,
    last: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    error: Option<String>,
    can_link: bool,
    /// Why the rows are not in the order asked for (a common search).
    order_note: Option<String>,
}

/// Where the page of a group company's clients lives for this person: a
/// group admin's own group is `/group`.
fn base_of(ctx: &ConsoleCtx, group_id: i64) -> String {
    if ctx.actor.group_company_id == Some(group_id) {
        "/group".to_string()
    } else {
        format!("/companies/{group_id}/links")
    }
}

/// The page URL with some parameters replaced.
fn page_href(base: &str, params: &HashMap<String, String>, changes: &[(&str, String)]) -> String {
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
        base.to_string()
    } else {
        format!("{base}?{}", query.join("&"))
    }
}

fn sort_header(
    lang: crate::i18n::Lang,
    base: &str,
    params: &HashMap<String, String>,
    query: &CompanyQuery,
    key: &str,
    label: &str,
) -> SortHeader {
    let active = query.sort.key() == key;
    let next_dir = if active && !query.descending {
        "desc"
    } else {
        "asc"
    };
    SortHeader {
        label: message(lang, label).to_string(),
        href: page_href(
            base,
            params,
            &[
                ("sort", key.to_string()),
                ("dir", next_dir.to_string()),
                ("page", String::new()),
                ("offset", String::new()),
            ],
        ),
        marker: match (active, query.descending) {
            (false, _) => "",
            (true, false) => "▲",
            (true, true) => "▼",
        },
        aria: match (active, query.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        },
    }
}

async fn own_group_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let id = ctx.actor.company_id;
    links_render(&state, &ctx, id, &params, None, String::new()).await
}

async fn links_page(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    links_render(&state, &ctx, id, &params, None, String::new()).await
}

async fn links_render(
    state: &AppState,
    ctx: &ConsoleCtx,
    id: i64,
    params: &HashMap<String, String>,
    link_error: Option<String>,
    number: String,
) -> Response {
    let lang = ctx.lang;
    let group = match state.services.company_get(&ctx.actor, id).await {
        Ok(group) => group,
        Err(error) => return error_page(ctx, error),
    };
    let base = base_of(ctx, id);
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let (query, error) = match company_query_from(params, PAGE_SIZE) {
        Ok(query) => (query, None),
        Err((field, detail)) => (
            CompanyQuery {
                limit: PAGE_SIZE,
                ..CompanyQuery::default()
            },
            Some(format!("{field}: {detail}")),
        ),
    };
    let (records, counted) = match state
        .services
        .group_links(&ctx.actor, id, query.clone())
        .await
    {
        Ok(found) => found,
        Err(error) => return error_page(ctx, error),
    };
    let total = counted.count;
    // The headers mark the order the rows are really in (a search whose
    // words match many companies is listed in the order added).
    let order_note = crate::console::order_note(lang, &counted, query.sort);
    let shown = CompanyQuery {
        sort: counted.order,
        descending: counted.descending,
        ..query.clone()
    };
    let headers = COLUMNS
        .iter()
        .map(|(key, label)| sort_header(lang, &base, params, &shown, key, label))
        .collect();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows: Vec<LinkRow> = records
        .iter()
        .map(|r| LinkRow {
            id: r.id,
            name: r.fields.name.clone(),
            account_number: text(&r.fields.account_number),
            pbx_number: text(&r.fields.pbx_number),
            tariff: text(&r.fields.tariff),
            region: text(&r.fields.region),
            macroregion: text(&r.fields.macroregion),
            multichannel_number: r
                .fields
                .multichannel_number
                .as_deref()
                .map(display_phone)
                .unwrap_or_default(),
        })
        .collect();
    let (limit, offset) = (query.limit, query.offset);
    let page_number = offset / limit + 1;
    let prev_href = (offset > 0).then(|| {
        page_href(
            &base,
            params,
            &[
                ("page", (page_number - 1).to_string()),
                ("offset", String::new()),
            ],
        )
    });
    let more = offset + limit < total || (!counted.exact && records.len() as i64 == limit);
    let next_href = more.then(|| {
        page_href(
            &base,
            params,
            &[
                ("page", (page_number + 1).to_string()),
                ("offset", String::new()),
            ],
        )
    });
    let can_link = ctx.actor.can(Function::CompaniesLink)
        && group.fields.is_group_company
        && group.deleted_at.is_none();
    let results = GroupLinkResults {
        m: Frame::new(ctx, "companies", "group.title"),
        group_id: id,
        first: if rows.is_empty() { 0 } else { offset + 1 },
        last: offset + rows.len() as i64,
        rows,
        headers,
        total,
        prev_href,
        next_href,
        error,
        can_link,
        order_note,
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
    let (regions, macroregions) = state
        .services
        .group_link_regions(&ctx.actor, id)
        .await
        .unwrap_or_default();
    let sort_options = COLUMNS
        .iter()
        .filter_map(|(key, label)| {
            CompanySort::ALL
                .iter()
                .find(|(k, _)| k == key)
                .map(|(k, _)| (*k, message(lang, label).to_string()))
        })
        .collect();
    let page = GroupLinksPage {
        m: Frame::new(ctx, "companies", "group.title").with_flash(params),
        base,
        group_id: id,
        group_name: group.fields.name.clone(),
        is_group: group.fields.is_group_company,
        deleted: group.deleted_at.is_some(),
        can_link,
        results,
        q: get("q"),
        region: get("region"),
        macroregion: get("macroregion"),
        sort: query.sort.key().to_string(),
        dir: if query.descending {
            "desc".into()
        } else {
            "asc".into()
        },
        regions,
        macroregions,
        sort_options,
        number,
        link_error,
    };
    render(&page)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    csrf: String,
    multichannel_number: String,
}

async fn link_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path(id): Path<i64>,
    Form(form): Form<LinkForm>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    let refusal = match state
        .services
        .group_link(&ctx.actor, id, &form.multichannel_number)
        .await
    {
        Ok(_) => {
            return Redirect::to(&format!("{}?flash=flash.linked", base_of(&ctx, id)))
                .into_response()
        }
        Err(ServiceError::Validation(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::i18n::field_messages(ctx.lang, &errors),
        ),
        Err(ServiceError::Conflict { code, .. }) => {
            (StatusCode::CONFLICT, message(ctx.lang, code).to_string())
        }
        Err(error) => return error_page(&ctx, error),
    };
    let (status, text) = refusal;
    let mut response = links_render(
        &state,
        &ctx,
        id,
        &HashMap::new(),
        Some(text),
        form.multichannel_number,
    )
    .await;
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfOnly {
    csrf: String,
}

async fn unlink_submit(
    State(state): State<AppState>,
    ctx: ConsoleCtx,
    Path((id, client_id)): Path<(i64, i64)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !same_secret(&form.csrf, &ctx.csrf) {
        return csrf_failed(&ctx);
    }
    match state.services.group_unlink(&ctx.actor, id, client_id).await {
        Ok(()) => {
            Redirect::to(&format!("{}?flash=flash.unlinked", base_of(&ctx, id))).into_response()
        }
        Err(error) => error_page(&ctx, error),
    }
}
