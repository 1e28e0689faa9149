//! Departments and rights through the REST API (issue 5: B2, B3, B4, B6):
//! the catalog, default departments, rights per section and function, the
//! union with extra rights, sources, no escalation, and changes applying to
//! the very next request.

use kabinet_testkit::{company, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "department member passphrase";

async fn person(app: &TestApp, login: &str, company_id: Option<i64>) -> i64 {
    let mut body = json!({"login": login, "first_name": "Отдел", "last_name": "Сотрудник", "password": PASSWORD});
    if let Some(id) = company_id {
        body["company_id"] = json!(id);
    }
    let created = app.post("/api/v1/users", &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_i64().unwrap()
}

async fn put(app: &TestApp, token: Option<&str>, path: &str, body: Value) -> (StatusCode, Value) {
    let request = match token {
        Some(t) => app.with_token(t, Method::PUT, path),
        None => app.request(Method::PUT, path),
    };
    let reply = request.json(&body).send().await.unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn token_for(app: &TestApp, login: &str) -> String {
    app.services
        .token_create_for_login(login, "tests")
        .await
        .expect("token")
}

#[tokio::test]
async fn the_catalog_lists_sections_and_functions_in_both_languages() {
    let app = TestApp::spawn().await;
    let catalog = app.get("/api/v1/permissions").await;
    assert_eq!(catalog.status, 200);
    let sections = catalog.body["sections"].as_array().unwrap();
    let keys: Vec<&str> = sections
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    for key in [
        "companies",
        "users",
        "departments",
        "audit",
        "settings",
        "billing",
        "support",
        "telephony",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
    let companies = &sections[0];
    assert_eq!(companies["name_ru"], "Компании");
    let functions: Vec<&str> = companies["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert!(functions.contains(&"companies.edit") && functions.contains(&"companies.link"));
    assert!(companies["functions"][0]["name_en"].is_string());
}

#[tokio::test]
async fn rights_come_from_departments_and_extra_rights_and_apply_at_once() {
    let app = TestApp::spawn().await;
    // B2: the defaults, with no rights.
    let list = app.get("/api/v1/departments").await;
    assert_eq!(list.status, 200);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name_en"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sales", "Technical support"]);
    let sales = list.body["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/departments/{sales}/rights"))
            .await
            .body["effective"],
        json!([])
    );

    let viewer = person(&app, "viewer", None).await;
    let token = token_for(&app, "viewer").await;
    let get = |path: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            app.with_token(token, Method::GET, path)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        get("/api/v1/companies").await,
        403,
        "a person without rights"
    );

    // A department with "companies: view" only, and the person in it.
    let (status, rights) = put(
        &app,
        None,
        &format!("/api/v1/departments/{sales}/rights"),
        json!({"rights": ["companies", "companies.view", "users.edit"]}),
    )
    .await;
    assert_eq!(status, 200, "{rights}");
    assert_eq!(
        rights["effective"],
        json!(["companies.view"]),
        "users.edit needs the users section"
    );
    let (status, _) = put(
        &app,
        None,
        &format!("/api/v1/departments/{sales}/members"),
        json!({"user_ids": [viewer]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get("/api/v1/companies").await,
        200,
        "the very next request sees the right"
    );
    let created = app
        .with_token(&token, Method::POST, "/api/v1/companies")
        .json(&company("Not allowed"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 403);
    assert_eq!(get("/api/v1/audit").await, 403);

    // An extra right on the person, shown with its source.
    let (status, effective) = put(
        &app,
        None,
        &format!("/api/v1/users/{viewer}/extra-rights"),
        json!({"rights": ["audit.view"]}),
    )
    .await;
    assert_eq!(status, 200, "{effective}");
    assert_eq!(get("/api/v1/audit").await, 200);
    let rights = app
        .get(&format!("/api/v1/users/{viewer}/rights"))
        .await
        .body;
    let sources = |key: &str| -> Vec<String> {
        rights["rights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .map(|r| {
                r["sources"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s["type"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(sources("companies.view"), ["department"]);
    assert_eq!(sources("audit.view"), ["extra"]);
    assert!(sources("companies.edit").is_empty());
    assert_eq!(
        rights["rights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == "companies.view")
            .unwrap()["sources"][0]["name_en"],
        "Sales"
    );
    // The person sees their own rights.
    let own = app
        .with_token(
            &token,
            Method::GET,
            &format!("/api/v1/users/{viewer}/rights"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);

    // Taking the person out of the department takes the right away at once.
    let (status, _) = put(
        &app,
        None,
        &format!("/api/v1/departments/{sales}/members"),
        json!({"user_ids": []}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(get("/api/v1/companies").await, 403);

    // Every change is audited.
    for action in [
        "department.rights",
        "department.members",
        "user.extra_rights",
    ] {
        assert!(
            app.get(&format!("/api/v1/audit?action={action}"))
                .await
                .body["total"]
                .as_i64()
                .unwrap()
                >= 1,
            "{action}"
        );
    }
}

#[tokio::test]
async fn nobody_grants_more_than_they_hold() {
    let app = TestApp::spawn().await;
    let granter = person(&app, "granter", None).await;
    let (_, created) = (
        0,
        app.post(
            "/api/v1/departments",
            &json!({"name_ru": "Права", "name_en": "Rights"}),
        )
        .await,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let dept = created.body["id"].as_i64().unwrap();
    put(&app, None, &format!("/api/v1/departments/{dept}/rights"), json!({"rights": ["departments", "departments.view", "departments.rights", "companies", "companies.view"]})).await;
    put(
        &app,
        None,
        &format!("/api/v1/departments/{dept}/members"),
        json!({"user_ids": [granter]}),
    )
    .await;
    let token = token_for(&app, "granter").await;
    let other = app
        .post(
            "/api/v1/departments",
            &json!({"name_ru": "Другой", "name_en": "Other"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    // What they hold, they may grant.
    let (status, _) = put(
        &app,
        Some(&token),
        &format!("/api/v1/departments/{other}/rights"),
        json!({"rights": ["companies", "companies.view"]}),
    )
    .await;
    assert_eq!(status, 200);
    // More than they hold: refused, nothing changes.
    let (status, problem) = put(
        &app,
        Some(&token),
        &format!("/api/v1/departments/{other}/rights"),
        json!({"rights": ["companies", "companies.delete"]}),
    )
    .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(
        app.get(&format!("/api/v1/departments/{other}/rights"))
            .await
            .body["functions"],
        json!(["companies.view"])
    );
    let (status, _) = put(
        &app,
        Some(&token),
        &format!("/api/v1/users/{granter}/extra-rights"),
        json!({"rights": ["users.credentials"]}),
    )
    .await;
    assert_eq!(status, 403, "not even to oneself");
    // Unknown keys are named.
    let (status, problem) = put(
        &app,
        None,
        &format!("/api/v1/departments/{other}/rights"),
        json!({"rights": ["companies.fly"]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["code"], "right.unknown");
}

#[tokio::test]
async fn a_department_card_is_validated_versioned_and_scoped() {
    let app = TestApp::spawn().await;
    let bad = app
        .post("/api/v1/departments", &json!({"name_ru": "", "name_en": "Ops", "schedule": {"timezone": "Mars/Base", "days": {"mon": ["18:00", "09:00"]}}, "task_language": "de"}))
        .await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields.len(), 4, "{fields:?}");

    let created = app
        .post("/api/v1/departments", &json!({
            "name_ru": "Эксплуатация", "name_en": "Operations",
            "schedule": {"timezone": "Europe/Moscow", "days": {"mon": ["09:00", "18:00"], "fri": ["09:00", "17:00"]}},
            "task_language": "en", "support": {"shown_to_company_ids": [], "charged": false, "category_description": "Сбои"}, "sort_order": 5
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let etag = created.header("etag").unwrap().to_string();
    assert_eq!(
        created.body["schedule"]["days"]["fri"],
        json!(["09:00", "17:00"])
    );

    let no_match = app
        .patch(
            &format!("/api/v1/departments/{id}"),
            None,
            &json!({"name_en": "Ops"}),
        )
        .await;
    assert_eq!(no_match.status, 428);
    let changed = app
        .patch(
            &format!("/api/v1/departments/{id}"),
            Some(&etag),
            &json!({"name_en": "Ops"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.body["name_ru"], "Эксплуатация",
        "a merge patch keeps the rest"
    );
    let stale = app
        .patch(
            &format!("/api/v1/departments/{id}"),
            Some(&etag),
            &json!({"name_en": "Late"}),
        )
        .await;
    assert_eq!(stale.status, 412);
    let read_only = app
        .patch(
            &format!("/api/v1/departments/{id}"),
            Some(changed.header("etag").unwrap()),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(read_only.status, 422);
    assert_eq!(
        read_only.error_codes(),
        vec![("version".to_string(), "read_only".to_string())]
    );

    // Another tenant sees nothing of it.
    let client = app.create_company(company("Other Tenant")).await;
    let client_id = client["id"].as_i64().unwrap();
    // An admin of the client company (C7: the flag lets them manage it).
    let outsider = app
        .post(
            "/api/v1/users",
            &json!({"login": "outsider", "first_name": "Чужой", "last_name": "Админ", "company_id": client_id,
                    "password": PASSWORD, "may_open_admin_cabinet": true}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let outsider_dept = app
        .post(
            "/api/v1/departments",
            &json!({"company_id": client_id, "name_ru": "Их отдел", "name_en": "Theirs"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    put(
        &app,
        None,
        &format!("/api/v1/departments/{outsider_dept}/rights"),
        json!({"rights": ["departments", "departments.view", "departments.edit"]}),
    )
    .await;
    put(
        &app,
        None,
        &format!("/api/v1/departments/{outsider_dept}/members"),
        json!({"user_ids": [outsider]}),
    )
    .await;
    let token = token_for(&app, "outsider").await;
    let theirs = app
        .with_token(&token, Method::GET, "/api/v1/departments")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let ids: Vec<i64> = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [outsider_dept], "only their own company's departments");
    let peek = app
        .with_token(&token, Method::GET, &format!("/api/v1/departments/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(peek.status(), 404);
    let body = peek.text().await.unwrap();
    assert!(!body.contains("Эксплуатация"));
    // A member from another company is refused.
    let (status, problem) = put(
        &app,
        None,
        &format!("/api/v1/departments/{id}/members"),
        json!({"user_ids": [outsider]}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    let deleted = app.delete(&format!("/api/v1/departments/{id}")).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        app.get(&format!("/api/v1/departments/{id}")).await.status,
        404
    );
    assert_eq!(
        app.get("/api/v1/audit?action=department.delete").await.body["total"],
        1
    );
}

/// Rights are cached between requests while the authorisation epoch stands
/// still (issue 6). A change written straight into the database, as another
/// node or the command line would, moves the epoch by trigger, so the next
/// request still sees it: a revoked right, a right granted, a blocked person.
#[tokio::test]
async fn cached_rights_follow_changes_written_by_anyone() {
    let app = TestApp::spawn().await;
    let id = person(&app, "cachedrights", None).await;
    let (status, _) = put(
        &app,
        None,
        &format!("/api/v1/users/{id}/extra-rights"),
        json!({"rights": ["companies.view"]}),
    )
    .await;
    assert_eq!(status, 200);
    let token = token_for(&app, "cachedrights").await;
    let get = |path: &'static str| {
        let request = app.with_token(&token, Method::GET, path);
        async move { request.send().await.unwrap().status() }
    };
    // Twice: the second answer comes from the cache.
    assert_eq!(get("/api/v1/companies/1").await, 200);
    assert_eq!(get("/api/v1/companies/1").await, 200);
    assert!(!app.services.auth_cache.is_empty());

    app.execute(
        &format!("DELETE FROM user_extra_rights WHERE user_id = {id}"),
        &[],
    )
    .await;
    assert_eq!(get("/api/v1/companies/1").await, 403, "revoked elsewhere");
    app.execute(
        &format!(
            "INSERT INTO user_extra_rights (user_id, right_key) VALUES ({id}, 'companies.view')"
        ),
        &[],
    )
    .await;
    assert_eq!(get("/api/v1/companies/1").await, 200, "granted elsewhere");
    app.execute(
        &format!("UPDATE users SET status = 'blocked' WHERE id = {id}"),
        &[],
    )
    .await;
    assert_eq!(get("/api/v1/companies/1").await, 401, "blocked elsewhere");
}
