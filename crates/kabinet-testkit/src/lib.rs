//! Test harness: a real Kabinet server on a free port with a fresh database,
//! and typed helpers to talk to it over HTTP.
//!
//! The backend is chosen by `KABINET_TEST_BACKEND` (`sqlite`, the default,
//! or `postgres`). For PostgreSQL every app gets its own new database on the
//! server named by `KABINET_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), named with the prefix
//! `KABINET_TEST_DB_PREFIX` (default `kabinet_test`) so a CI run can drop
//! what an earlier run left.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use kabinet_delivery::DeliverySettings;
pub use kabinet_server::HttpSettings;
use kabinet_server::{AppState, Metrics};
use kabinet_service::{ServiceSettings, Services};
use kabinet_store::Store;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub mod mail;

pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Which database the tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl TestBackend {
    pub fn from_env() -> Self {
        match std::env::var("KABINET_TEST_BACKEND").as_deref() {
            Ok("postgres") | Ok("postgresql") | Ok("pg") => TestBackend::Postgres,
            _ => TestBackend::Sqlite,
        }
    }
}

/// A running server and an admin API token for it.
pub struct TestApp {
    pub base: String,
    pub backend: TestBackend,
    pub services: Services,
    pub admin_token: String,
    client: reqwest::Client,
    data_dir: Option<PathBuf>,
    server: tokio::task::JoinHandle<()>,
    delivery: tokio::task::JoinHandle<()>,
    stop_delivery: tokio::sync::watch::Sender<bool>,
}

fn random_suffix() -> String {
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| char::from(b'a' + rng.gen_range(0..26u8)))
        .collect()
}

async fn database_url(backend: TestBackend) -> (String, Option<PathBuf>) {
    match backend {
        TestBackend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("kabinet-test-{}", random_suffix()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (
                format!("sqlite://{}?mode=rwc", dir.join("kabinet.db").display()),
                Some(dir),
            )
        }
        TestBackend::Postgres => {
            let admin_url = std::env::var("KABINET_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
            let prefix = std::env::var("KABINET_TEST_DB_PREFIX")
                .unwrap_or_else(|_| "kabinet_test".to_string());
            let name = format!("{prefix}_{}", random_suffix());
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .expect("connect to the PostgreSQL test server");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            conn.close().await.ok();
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("a PostgreSQL URL with a database");
            (format!("{base}/{name}"), None)
        }
    }
}

/// A fresh, empty database for a server run as a separate process
/// (`kabinet serve`), as [`TestApp`] would get one: its URL and, on SQLite,
/// the directory that holds it as `kabinet.db` (the file `--data-dir`
/// opens). Nothing is migrated. The caller removes the directory; PostgreSQL
/// databases carry `KABINET_TEST_DB_PREFIX`, so a CI run drops them.
pub async fn fresh_database(backend: TestBackend) -> (String, Option<PathBuf>) {
    database_url(backend).await
}

impl TestApp {
    /// Starts a server on a free port with a fresh database, bootstrapped
    /// with the provider and `admin`.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(ServiceSettings::default()).await
    }

    pub async fn spawn_with(settings: ServiceSettings) -> TestApp {
        Self::spawn_full(settings, DeliverySettings::default()).await
    }

    /// A server whose outbox worker delivers e-mail and SMS as `delivery` says.
    pub async fn spawn_full(settings: ServiceSettings, delivery: DeliverySettings) -> TestApp {
        Self::spawn_configured(settings, delivery, HttpSettings::default()).await
    }

    /// A server with these HTTP settings (for example `secure_cookies`, as
    /// behind TLS).
    pub async fn spawn_with_http(http: HttpSettings) -> TestApp {
        Self::spawn_configured(
            ServiceSettings::default(),
            DeliverySettings::default(),
            http,
        )
        .await
    }

    /// A server with every setting given.
    pub async fn spawn_configured(
        settings: ServiceSettings,
        delivery: DeliverySettings,
        http: HttpSettings,
    ) -> TestApp {
        let backend = TestBackend::from_env();
        let (url, data_dir) = database_url(backend).await;
        let store = Store::connect(&url)
            .await
            .expect("connect to the test database");
        kabinet_store::migrate::run(&store, kabinet_service::now_ms())
            .await
            .expect("migrations");
        let services = Services::new(store, settings);
        services
            .bootstrap("Provider LLC", Some(ADMIN_PASSWORD.to_string()))
            .await
            .expect("bootstrap");
        let admin_token = services
            .token_create_for_login("admin", "tests")
            .await
            .expect("admin token");
        let state = AppState::new(
            services.clone(),
            Arc::new(http),
            Arc::new(Metrics::default()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let app = kabinet_server::router(state);
        let server = tokio::spawn(async move {
            axum_serve(listener, app).await;
        });
        let (stop_delivery, stopped) = tokio::sync::watch::channel(false);
        let delivery = kabinet_delivery::spawn(services.store.clone(), delivery, stopped)
            .expect("delivery settings");
        TestApp {
            base: format!("http://{address}"),
            backend,
            services,
            admin_token,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            data_dir,
            server,
            delivery,
            stop_delivery,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request as the admin, by token.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token)
    }

    /// A request with no credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with the given token.
    pub fn with_token(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::from(
            self.request(Method::GET, path)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        Reply::from(
            self.request(Method::POST, path)
                .json(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn patch(&self, path: &str, if_match: Option<&str>, body: &Value) -> Reply {
        let mut request = self
            .request(Method::PATCH, path)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string());
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        Reply::from(request.send().await.expect("request")).await
    }

    /// Edits what is at `path` as it is now: reads it (GET) for its ETag,
    /// then PATCHes `body` with that ETag in `If-Match`.
    pub async fn patch_current(&self, path: &str, body: &Value) -> Reply {
        let current = self.get(path).await;
        self.patch(path, current.header("etag"), body).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        Reply::from(
            self.request(Method::DELETE, path)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// Creates a company and returns it; panics with the problem if refused.
    pub async fn create_company(&self, body: Value) -> Value {
        let reply = self.post("/api/v1/companies", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "create failed: {}",
            reply.body
        );
        reply.body
    }

    /// A browser-like client with its own cookie jar, signed in through the
    /// API; returns it with the session's CSRF token.
    pub async fn session(&self, login: &str, password: &str) -> (reqwest::Client, String) {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let response = client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"login": login, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(response.status(), StatusCode::OK, "sign-in failed");
        let body: Value = response.json().await.expect("login body");
        (
            client,
            body["csrf_token"].as_str().expect("csrf token").to_string(),
        )
    }
}

async fn axum_serve(listener: tokio::net::TcpListener, app: axum::Router) {
    let _ = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await;
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        let _ = self.stop_delivery.send(true);
        self.delivery.abort();
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A response read whole: status, headers and JSON body (or `Null`).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The field names of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `(field, code)` pairs of a problem's `errors`.
    pub fn error_codes(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or("").to_string(),
                            e["code"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of the items of a list response.
    pub fn names(&self) -> Vec<String> {
        self.body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A valid company body with a given name; more fields can be merged in.
pub fn company(name: &str) -> Value {
    serde_json::json!({"name": name, "inns": ["7707083893"]})
}

/// Percent-encodes a query parameter value.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of `name="csrf"` in a console page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The `aria-sort` of each sortable column of a console list, by the
/// `sort=` key its header links to: `("name", "ascending")`, `("id", "none")`.
pub fn aria_sort(html: &str) -> Vec<(String, String)> {
    html.split("<th aria-sort=\"")
        .skip(1)
        .map(|th| {
            let aria = th.split('"').next().unwrap_or_default().to_string();
            let key = th
                .split("sort=")
                .nth(1)
                .and_then(|rest| rest.split(['&', '"']).next())
                .unwrap_or_default()
                .to_string();
            (key, aria)
        })
        .collect()
}

/// A client that behaves like a browser: its own cookie jar, no automatic
/// redirects (tests look at them).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    /// Adds `companies` demo companies (`kabinet demo`), generated from `seed`.
    pub async fn fill_demo(&self, companies: u64, seed: u64) {
        self.services
            .demo_fill(
                kabinet_service::demo::DemoPlan { companies, seed },
                |_, _, _| {},
            )
            .await
            .expect("demo fill");
    }

    /// Runs one statement on the test database in its own transaction,
    /// past the services, binding `values` as `$1`, `$2`, …: what another
    /// node, a script or the command line would write, or stored times
    /// moved into the past instead of waiting.
    pub async fn execute(&self, statement: &str, values: &[i64]) {
        let mut tx = self.services.store.begin().await.expect("begin");
        let mut query = sqlx::query(statement);
        for value in values {
            query = query.bind(*value);
        }
        query
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        kabinet_store::commit(tx).await.expect("commit");
    }

    /// The HTML of a console page fetched with `client`, which must answer 200.
    pub async fn html(&self, client: &reqwest::Client, path: &str) -> String {
        let response = client.get(self.url(path)).send().await.expect("page");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("page text")
    }

    /// Signs in as admin through the console's own form, as a browser does,
    /// and returns the client with the session's CSRF token read from `page`.
    pub async fn console_sign_in(&self, page: &str) -> (reqwest::Client, String) {
        self.console_sign_in_as("admin", ADMIN_PASSWORD, page).await
    }

    /// Signs in as anyone through the console's form; see [`Self::console_sign_in`].
    pub async fn console_sign_in_as(
        &self,
        login: &str,
        password: &str,
        page: &str,
    ) -> (reqwest::Client, String) {
        let client = browser();
        let login_page = client
            .get(self.url(&format!("/login?next={page}")))
            .send()
            .await
            .expect("login page");
        let token = csrf_in(&login_page.text().await.expect("login page text"));
        let response = client
            .post(self.url("/login"))
            .form(&[
                ("login", login),
                ("password", password),
                ("next", page),
                ("csrf", token.as_str()),
            ])
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "console sign-in");
        assert_eq!(response.headers()["location"], page);
        let html = client
            .get(self.url(page))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("page text");
        (client, csrf_in(&html))
    }
}
