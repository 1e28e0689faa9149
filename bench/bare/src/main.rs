//! The ceiling of `bench/run`: a bare axum endpoint answering a JSON object
//! about the size and shape of a company card, with no database, no
//! authentication and no middleware. Every ratio in the load benchmark is
//! taken against what this serves on the same machine with the same tool.
//!
//! `kabinet-bench-bare [--listen 127.0.0.1:8090] [--postgres URL]`;
//! `GET /card/{id}` (any path answers the same card, with the id taken from
//! the last path segment when it is a number).
//!
//! With `--postgres`, `GET /pg/card/{id}` answers the same card after one
//! round trip to PostgreSQL (`SELECT $1::int8`, prepared once per connection,
//! through sqlx's PostgreSQL driver and a pool of 16 connections, one per
//! load connection). It is the ceiling of any endpoint that asks
//! PostgreSQL once per request, as a company card GET by token must (the
//! token and its epochs): what the database's round trip alone leaves of the
//! bare endpoint on the same cores.

use std::net::SocketAddr;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use sqlx::postgres::{PgPool, PgPoolOptions};

/// The fields of `CompanyDto` (crates/kabinet-api) with demo-like values, so
/// the serialised body is the same size (about 1.3 KB) as a real card.
#[derive(Serialize)]
struct Card {
    id: i64,
    parent_id: Option<i64>,
    is_provider: bool,
    name: String,
    short_id: Option<String>,
    account_number: Option<String>,
    pbx_number: Option<String>,
    multichannel_number: Option<String>,
    phones: Vec<String>,
    region: Option<String>,
    macroregion: Option<String>,
    inns: Vec<String>,
    kpp: Option<String>,
    ogrn: Option<String>,
    bik: Option<String>,
    bank: Option<String>,
    correspondent_account: Option<String>,
    settlement_account: Option<String>,
    legal_address: Option<String>,
    postal_address: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    timezone: Option<String>,
    max_dialogs_per_operator: i64,
    tariff: Option<String>,
    is_reseller: bool,
    credit_limit: Option<String>,
    balance_threshold: Option<String>,
    fz230_enabled: bool,
    sms_second_factor: bool,
    email_is_login: bool,
    password_in_email: bool,
    is_group_company: bool,
    children_count: i64,
    version: i64,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

fn card(id: i64) -> Card {
    Card {
        id,
        parent_id: Some(1),
        is_provider: false,
        name: format!("ООО «Сигма Телеком {id}»"),
        short_id: None,
        account_number: Some(format!("LS-{id:08}")),
        pbx_number: Some(format!("{}", 1000 + id % 9000)),
        multichannel_number: Some("88001234567".into()),
        phones: vec!["+74951234567".into()],
        region: Some("Москва".into()),
        macroregion: Some("Центральный".into()),
        inns: vec!["7701234567".into()],
        kpp: Some("770101001".into()),
        ogrn: Some("1127746123456".into()),
        bik: Some("044525225".into()),
        bank: Some("ПАО Сбербанк".into()),
        correspondent_account: Some("30101810400000000225".into()),
        settlement_account: Some("40702810938000012345".into()),
        legal_address: Some(format!("Москва, ул. Ленина, д. {}", 1 + id % 200)),
        postal_address: None,
        email: Some(format!("info{id}@example.ru")),
        phone: Some("+74951234567".into()),
        timezone: Some("Europe/Moscow".into()),
        max_dialogs_per_operator: 3000,
        tariff: Some("Бизнес".into()),
        is_reseller: false,
        credit_limit: None,
        balance_threshold: None,
        fz230_enabled: false,
        sms_second_factor: false,
        email_is_login: false,
        password_in_email: false,
        is_group_company: false,
        children_count: 0,
        version: 1,
        created_at: "2026-11-23T12:00:00Z".into(),
        updated_at: "2026-11-23T12:00:00Z".into(),
        deleted_at: None,
    }
}

async fn card_by_id(Path(id): Path<i64>) -> Json<Card> {
    Json(card(id))
}

async fn any_card() -> Json<Card> {
    Json(card(1))
}

/// The card after one round trip to PostgreSQL: the id goes there and back.
async fn card_after_postgres(
    State(pool): State<PgPool>,
    Path(id): Path<i64>,
) -> Result<Json<Card>, (StatusCode, String)> {
    let echoed: i64 = sqlx::query_scalar("SELECT $1::int8")
        .bind(id)
        .fetch_one(&pool)
        .await
        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Json(card(echoed)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen: SocketAddr = "127.0.0.1:8090".parse()?;
    let mut postgres: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?.parse()?,
            "--postgres" => postgres = Some(args.next().ok_or("--postgres needs a URL")?),
            "--help" | "-h" => {
                println!("kabinet-bench-bare [--listen 127.0.0.1:8090] [--postgres URL]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    // The same runtime as `kabinet serve`: multi-threaded, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut app = Router::new().route("/card/{id}", get(card_by_id));
        if let Some(url) = postgres {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .connect(&url)
                .await?;
            app = app.merge(
                Router::new()
                    .route("/pg/card/{id}", get(card_after_postgres))
                    .with_state(pool),
            );
        }
        let app = app.fallback(any_card);
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!(
            "kabinet-bench-bare listening on http://{}/",
            listener.local_addr()?
        );
        axum::serve(listener, app).await?;
        Ok(())
    })
}
