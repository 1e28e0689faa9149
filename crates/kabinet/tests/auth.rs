//! Sign-in, sessions, CSRF, API tokens, and what is reachable without them.

use kabinet_testkit::{company, TestApp, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_api_operation_requires_credentials() {
    let app = TestApp::spawn().await;
    for (method, path) in kabinet_server::documented_operations() {
        if kabinet_server::openapi::PUBLIC_PATHS.contains(&path) {
            continue;
        }
        let path = path.replace("{id}", "1");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .anonymous(method.clone(), &format!("/api/v1{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            401,
            "{method} {path} without credentials"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let response = app
            .with_token(
                "kab_not-a-real-token",
                method.clone(),
                &format!("/api/v1{path}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path} with a wrong token");
    }
    // Public: health, readiness, the API description, sign-in page, static files.
    for path in [
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/api/docs",
        "/login",
        "/static/app.css",
        "/static/app.js",
    ] {
        let response = app.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path} is public");
    }
    assert_eq!(
        app.anonymous(Method::GET, "/metrics")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Console pages send strangers to the sign-in page and back.
    let response = app
        .anonymous(Method::GET, "/companies?q=abc")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fcompanies%3Fq%3Dabc"
    );
}

#[tokio::test]
async fn sessions_need_the_csrf_token_for_changes_and_end_on_logout() {
    let app = TestApp::spawn().await;
    let wrong = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "admin", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["code"], "invalid_credentials");
    let unknown = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "nobody", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        401,
        "an unknown login answers exactly like a wrong password"
    );
    let body2: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body, body2);

    let response = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("kabinet_session="));
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "not Secure unless served behind TLS"
    );

    let (client, csrf) = app.session("admin", ADMIN_PASSWORD).await;
    let me: serde_json::Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["login"], "admin");
    assert_eq!(me["company_name"], "Provider LLC");
    assert_eq!(me["full_access"], true);

    let without = client
        .post(app.url("/api/v1/companies"))
        .json(&company("Via session"))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    let body: serde_json::Value = without.json().await.unwrap();
    assert_eq!(body["code"], "csrf");
    let forged = client
        .post(app.url("/api/v1/companies"))
        .header("x-csrf-token", "forged")
        .json(&company("Via session"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let with = client
        .post(app.url("/api/v1/companies"))
        .header("x-csrf-token", &csrf)
        .json(&company("Via session"))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 201);

    let logout = client
        .post(app.url("/api/v1/auth/logout"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn a_stolen_session_cookie_is_useless_after_logout() {
    let app = TestApp::spawn().await;
    let response = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body: serde_json::Value = response.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let me = app
        .anonymous(Method::GET, "/api/v1/me")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let out = app
        .anonymous(Method::POST, "/api/v1/auth/logout")
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let me = app
        .anonymous(Method::GET, "/api/v1/me")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the server forgot the session");
}

#[tokio::test]
async fn tokens_are_shown_once_listed_without_secret_and_revocable() {
    let app = TestApp::spawn().await;
    let created = app
        .post("/api/v1/tokens", &json!({"name": "deploy bot"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.body["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("kab_") && secret.len() > 40);
    let id = created.body["id"].as_i64().unwrap();

    let list = app.get("/api/v1/tokens").await;
    assert!(
        !list.text.contains(&secret),
        "the list never shows a secret"
    );
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"deploy bot"));

    let me = app
        .with_token(&secret, Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let used = app.get("/api/v1/tokens").await;
    let entry = used.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_ne!(entry["last_used_at"], serde_json::Value::Null);

    assert_eq!(
        app.post("/api/v1/tokens", &json!({"name": ""}))
            .await
            .status,
        422
    );

    let revoked = app
        .request(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let me = app
        .with_token(&secret, Method::GET, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let again = app
        .request(Method::DELETE, &format!("/api/v1/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let app = TestApp::spawn().await;
    let ready = app.anonymous(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    assert_eq!(
        app.anonymous(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
    app.get("/api/v1/companies").await;
    let metrics = app.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("kabinet_http_requests_total"), "{text}");

    let doc: serde_json::Value = app
        .anonymous(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in kabinet_server::documented_operations() {
        assert!(
            doc["paths"][format!("/api/v1{path}")][method].is_object(),
            "{method} {path} documented"
        );
    }
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_and_audited() {
    let app = TestApp::spawn().await;
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            app.anonymous(Method::POST, "/api/v1/auth/login")
                .json(&json!({"login": "admin", "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong password").await.status(), 401);
    }
    // The sixth attempt waits, even with the right password.
    let throttled = attempt(ADMIN_PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "1");
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert_eq!(body["code"], "too_many_attempts");
    assert_eq!(
        app.get("/api/v1/outbox?topic=user.sign_in_locked")
            .await
            .body["total"],
        1,
        "the lock is an event (the e-mail to the person: tests/delivery.rs)"
    );

    let audit = app.get("/api/v1/audit?action=auth.login_throttled").await;
    assert_eq!(audit.body["total"], 1);

    // After the wait, the right password works and the count starts over.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(attempt(ADMIN_PASSWORD).await.status(), 200);
    assert_eq!(attempt("wrong password").await.status(), 401);
    assert_eq!(
        attempt(ADMIN_PASSWORD).await.status(),
        200,
        "one mistake after a success is free"
    );
}
