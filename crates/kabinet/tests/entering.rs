//! Entering a client's cabinet (M4, X10) through the API and the console:
//! a reason and a time limit, optionally read-only; inside, the intersection
//! of one's rights and a client admin's, within the client's subtree; every
//! action audited on the client's behalf, visible to the client's admins.

use kabinet_testkit::{company, csrf_in, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "entering person passphrase";

async fn enter(app: &TestApp, token: &str, company: i64, body: Value) -> (StatusCode, Value) {
    let reply = app
        .with_token(
            token,
            Method::POST,
            &format!("/api/v1/companies/{company}/enter"),
        )
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.with_token(token, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_operator_enters_a_client_acts_and_the_client_sees_it() {
    let app = TestApp::spawn().await;
    let alpha = app.create_company(company("Альфа Клиент")).await["id"]
        .as_i64()
        .unwrap();
    let beta = app.create_company(company("Бета Клиент")).await["id"]
        .as_i64()
        .unwrap();
    let admin = app.admin_token.clone();

    // Refusals: no reason, own company, bad duration.
    let (status, problem) = enter(&app, &admin, alpha, json!({"reason": "x"})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "reason");
    let (status, problem) = enter(&app, &admin, 1, json!({"reason": "looking at myself"})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("enter.own_company"))
    );
    let (status, _) = enter(
        &app,
        &admin,
        alpha,
        json!({"reason": "support ticket 42", "minutes": 9999}),
    )
    .await;
    assert_eq!(status, 422);

    let (status, entered) = enter(
        &app,
        &admin,
        alpha,
        json!({"reason": "support ticket 42", "minutes": 30}),
    )
    .await;
    assert_eq!(status, 201, "{entered}");
    let act = entered["token"].as_str().unwrap().to_string();
    assert!(act.starts_with("kab_act_"));

    // Inside: only the client's subtree.
    let (status, me) = call(&app, &act, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["company_id"], alpha);
    let (_, list) = call(&app, &act, Method::GET, "/api/v1/companies", None).await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [alpha]);
    let (status, _) = call(
        &app,
        &act,
        Method::GET,
        &format!("/api/v1/companies/{beta}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "another client is out of reach inside");
    let (status, _) = call(&app, &act, Method::GET, "/api/v1/outbox", None).await;
    assert_eq!(status, 403, "a client admin has no outbox");
    let (status, problem) = enter(&app, &act, beta, json!({"reason": "nested entering"})).await;
    assert_eq!(status, 403, "no entering further: {problem}");

    // An action inside is recorded as the operator on the client's behalf.
    let card = app
        .with_token(&act, Method::GET, &format!("/api/v1/companies/{alpha}"))
        .send()
        .await
        .unwrap();
    let etag = card.headers()["etag"].to_str().unwrap().to_string();
    let changed = app
        .with_token(&act, Method::PATCH, &format!("/api/v1/companies/{alpha}"))
        .header("if-match", etag)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"tariff": "Бизнес"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let audit = app.get("/api/v1/audit?action=company.update").await;
    let entry = &audit.body["items"][0];
    assert_eq!(entry["actor_login"], "admin");
    assert!(
        entry["on_behalf_of"]
            .as_str()
            .unwrap()
            .contains("Альфа Клиент"),
        "{entry}"
    );

    // The client's own admin reads who entered, when and why.
    let client_admin = app
        .post("/api/v1/users", &json!({"login": "alphaadmin", "first_name": "А", "last_name": "Админ",
                                      "company_id": alpha, "password": PASSWORD, "may_open_admin_cabinet": true}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    app.request(
        Method::PUT,
        &format!("/api/v1/users/{client_admin}/extra-rights"),
    )
    .json(&json!({"rights": ["audit.view"]}))
    .send()
    .await
    .unwrap();
    let client_token = app
        .services
        .token_create_for_login("alphaadmin", "t")
        .await
        .unwrap();
    let (status, seen) = call(
        &app,
        &client_token,
        Method::GET,
        "/api/v1/audit?action=company.enter",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(seen["total"], 1);
    assert!(seen["items"][0]["details"]
        .as_str()
        .unwrap()
        .contains("support ticket 42"));
    let (_, beta_side) = call(
        &app,
        &client_token,
        Method::GET,
        "/api/v1/audit?action=company.update",
        None,
    )
    .await;
    assert_eq!(
        beta_side["total"], 1,
        "the client sees the change made inside it"
    );

    // Leaving: the credential stops working.
    let (status, _) = call(&app, &act, Method::DELETE, "/api/v1/acting", None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &act, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        app.get("/api/v1/audit?action=company.leave").await.body["total"],
        1
    );
}

#[tokio::test]
async fn inside_one_never_has_more_than_one_had_and_read_only_reads() {
    let app = TestApp::spawn().await;
    let alpha = app.create_company(company("Гамма Клиент")).await["id"]
        .as_i64()
        .unwrap();
    // A staff member who may view and enter, nothing else.
    let staff = app
        .post("/api/v1/users", &json!({"login": "viewenter", "first_name": "В", "last_name": "Вход", "password": PASSWORD}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    app.request(Method::PUT, &format!("/api/v1/users/{staff}/extra-rights"))
        .json(&json!({"rights": ["companies.view", "companies.enter"]}))
        .send()
        .await
        .unwrap();
    let token = app
        .services
        .token_create_for_login("viewenter", "t")
        .await
        .unwrap();
    let (status, entered) =
        enter(&app, &token, alpha, json!({"reason": "checking the card"})).await;
    assert_eq!(status, 201);
    let act = entered["token"].as_str().unwrap().to_string();
    let (status, _) = call(
        &app,
        &act,
        Method::GET,
        &format!("/api/v1/companies/{alpha}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        &act,
        Method::DELETE,
        &format!("/api/v1/companies/{alpha}"),
        None,
    )
    .await;
    assert_eq!(status, 403, "not a right the person had");

    // Read-only, even for full access.
    let (_, entered) = enter(
        &app,
        &app.admin_token,
        alpha,
        json!({"reason": "read-only look", "read_only": true}),
    )
    .await;
    let act = entered["token"].as_str().unwrap().to_string();
    let (status, _) = call(&app, &act, Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        &act,
        Method::POST,
        "/api/v1/users",
        Some(json!({"login": "planted", "first_name": "P", "last_name": "L"})),
    )
    .await;
    assert_eq!(status, 403);

    // Expired: the credential stops working on its own.
    app.execute("UPDATE act_as_grants SET expires_at = 0", &[])
        .await;
    let (status, _) = call(&app, &act, Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_console_enters_shows_the_banner_and_returns() {
    let app = TestApp::spawn().await;
    let alpha = app.create_company(company("Дельта Клиент")).await["id"]
        .as_i64()
        .unwrap();
    let (client, csrf) = app.console_sign_in("/companies").await;
    let card = client
        .get(app.url(&format!("/companies/{alpha}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains(&format!("href=\"/companies/{alpha}/enter\"")));
    let form = client
        .get(app.url(&format!("/companies/{alpha}/enter")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"reason\""));
    let refused = client
        .post(app.url(&format!("/companies/{alpha}/enter")))
        .form(&[("csrf", csrf.as_str()), ("reason", ""), ("minutes", "30")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let entered = client
        .post(app.url(&format!("/companies/{alpha}/enter")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "настройка по заявке"),
            ("minutes", "30"),
            ("read_only", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(entered.status(), StatusCode::SEE_OTHER);
    let inside = client
        .get(app.url("/companies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        inside.contains("data-testid=\"acting-banner\""),
        "the banner"
    );
    assert!(inside.contains("Дельта Клиент") && inside.contains("только просмотр"));
    assert!(
        !inside.contains("href=\"/companies/new\""),
        "read-only: no creating"
    );
    let csrf_inside = csrf_in(&inside);
    let left = client
        .post(app.url("/enter/leave"))
        .form(&[("csrf", csrf_inside.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(left.status(), StatusCode::SEE_OTHER);
    let back = client
        .get(app.url("/companies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!back.contains("data-testid=\"acting-banner\""));
    assert!(back.contains("href=\"/companies/new\""));
    assert_eq!(
        app.get("/api/v1/audit?action=company.enter").await.body["total"],
        1
    );
    assert_eq!(
        app.get("/api/v1/audit?action=company.leave").await.body["total"],
        1
    );
}
