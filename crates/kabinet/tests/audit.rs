//! The audit log: every change and every sign-in attempt, with before and after.

use kabinet_testkit::{company, TestApp, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test]
async fn company_changes_are_audited_with_before_and_after() {
    let app = TestApp::spawn().await;
    let created = app.create_company(company("Audited Ltd")).await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/companies/{id}");
    assert_eq!(
        app.patch(
            &path,
            Some("\"1\""),
            &json!({"name": "Audited Ltd 2", "region": "Москва"})
        )
        .await
        .status,
        200
    );
    assert_eq!(app.delete(&path).await.status, 200);
    assert_eq!(
        app.post(&format!("{path}/restore"), &json!({}))
            .await
            .status,
        200
    );

    let log = app
        .get(&format!("/api/v1/audit?entity_type=company&entity_id={id}"))
        .await;
    assert_eq!(log.status, 200);
    assert_eq!(log.body["total"], 4);
    let items = log.body["items"].as_array().unwrap();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "company.restore",
            "company.delete",
            "company.update",
            "company.create"
        ],
        "newest first"
    );
    let update = &items[2];
    assert_eq!(update["actor_login"], "admin");
    assert_eq!(update["before"]["name"], "Audited Ltd");
    assert_eq!(update["after"]["name"], "Audited Ltd 2");
    assert_eq!(update["before"]["region"], Value::Null);
    assert_eq!(update["after"]["region"], "Москва");
    assert_eq!(update["ip"], "127.0.0.1");
    assert_eq!(items[3]["before"], Value::Null);
    assert_eq!(items[3]["after"]["name"], "Audited Ltd");
    assert_eq!(
        items[1]["before"]["deleted_at"],
        Value::Null,
        "a soft deletion records the card before and after"
    );
    assert_ne!(items[1]["after"]["deleted_at"], Value::Null);
    assert_eq!(items[1]["before"]["name"], "Audited Ltd 2");

    let page = app.get("/api/v1/audit?action=company.update&limit=1").await;
    assert_eq!(page.body["total"], 1);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);

    // A refused change leaves no trace but the refusal itself.
    let before = app.get("/api/v1/audit").await.body["total"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.post("/api/v1/companies", &json!({"name": "Bad", "inns": ["1"]}))
            .await
            .status,
        422
    );
    assert_eq!(
        app.get("/api/v1/audit").await.body["total"]
            .as_i64()
            .unwrap(),
        before
    );
}

#[tokio::test]
async fn sign_ins_are_audited_whether_they_succeed_or_not() {
    let app = TestApp::spawn().await;
    let bad = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "admin", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let ghost = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "ghost", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ghost.status(), 401);
    app.session("admin", ADMIN_PASSWORD).await;

    let failed = app.get("/api/v1/audit?action=auth.login_failed").await;
    assert_eq!(failed.body["total"], 2, "{}", failed.text);
    let text = failed.text.clone();
    assert!(!text.contains("nope"), "a tried password is never recorded");
    let ok = app.get("/api/v1/audit?action=auth.login").await;
    assert_eq!(ok.body["total"], 1);
    assert_eq!(ok.body["items"][0]["actor_login"], "admin");
    assert_eq!(ok.body["items"][0]["ip"], "127.0.0.1");

    let tokens = app
        .get("/api/v1/audit?actor=admin&entity_type=api_token")
        .await;
    assert!(
        tokens.body["total"].as_i64().unwrap() >= 1,
        "creating the test token was audited: {}",
        tokens.text
    );
    assert!(
        !tokens.text.contains(&app.admin_token),
        "token secrets never reach the log"
    );
}

#[tokio::test]
async fn the_audit_log_exports_as_csv_with_the_same_filters() {
    let app = TestApp::spawn().await;
    let created = app
        .create_company(company("=HYPERLINK(\"http://evil\")"))
        .await;
    let id = created["id"].as_i64().unwrap();
    app.create_company(company("Other, Ltd")).await;
    let reply = app
        .request(
            Method::GET,
            &format!("/api/v1/audit/export?entity_type=company&entity_id={id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(reply.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert!(reply.headers().get("x-kabinet-truncated").is_none());
    let csv = reply.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,actor,on_behalf_of,action,entity_type,entity_id,ip,details,before,after"
    );
    assert_eq!(lines.len(), 2, "only the filtered entry: {csv}");
    assert!(lines[1].contains(",admin,,company.create,company,"));
    assert!(
        !lines[1].contains(",=HYPERLINK"),
        "no cell starts a formula"
    );

    let all = app
        .request(Method::GET, "/api/v1/audit/export")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        all.contains("\"") && all.contains("Other, Ltd"),
        "cells with commas are quoted"
    );
    assert_eq!(
        app.anonymous(Method::GET, "/api/v1/audit/export")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let (client, _) = app.console_sign_in("/companies").await;
    let page = client
        .get(app.url("/audit?action=company.create"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("href=\"/api/v1/audit/export?action=company.create\""));
}
