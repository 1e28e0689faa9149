//! What schemathesis found in the API (issue 7), each kept as a regression
//! test: undeclared methods, plain-text rejections, list parameters out of
//! range, and the OpenAPI document's promises about request bodies.

use kabinet_testkit::{company, TestApp};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_undeclared_method_gets_405_with_allow_not_a_server_error() {
    let app = TestApp::spawn().await;
    for (method, path, allow) in [
        (Method::TRACE, "/api/v1/me", "GET, HEAD"),
        (Method::PUT, "/api/v1/companies", "GET, POST, HEAD"),
        (Method::POST, "/api/v1/tokens/1", "DELETE"),
    ] {
        let response = app.request(method.clone(), path).send().await.unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
        let allowed = response.headers()["allow"].to_str().unwrap().to_string();
        let mut got: Vec<&str> = allowed.split(", ").collect();
        let mut want: Vec<&str> = allow.split(", ").collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed");
    }
    // HEAD is what GET is, and needs what GET needs.
    let head = app
        .request(Method::HEAD, "/api/v1/me")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let anonymous = app
        .anonymous(Method::HEAD, "/api/v1/companies")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_path_id_that_is_not_a_number_is_a_problem_document() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/companies/abc",
        "/api/v1/users/99999999999999999999999",
        "/api/v1/users/null%2Cnull/rights",
    ] {
        let reply = app.get(path).await;
        assert_eq!(reply.status, 400, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{path}"
        );
        assert_eq!(reply.body["code"], "bad_request", "{path}");
        assert!(reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("Cannot parse"));
    }
}

#[tokio::test]
async fn list_parameters_out_of_range_are_refused_by_the_api() {
    let app = TestApp::spawn().await;
    let group = app
        .create_company(json!({"name": "Group", "inns": ["7707083893"], "is_group_company": true}))
        .await;
    let links = format!("/api/v1/companies/{}/links", group["id"]);
    for base in ["/api/v1/companies", links.as_str()] {
        for (query, field) in [
            ("offset=-1", "offset"),
            ("limit=0", "limit"),
            ("limit=501", "limit"),
            ("deleted=", "deleted"),
            ("sort=", "sort"),
            ("parent_id=0", "parent_id"),
            ("offset=99999999999999999999999999", "offset"),
        ] {
            let reply = app.get(&format!("{base}?{query}")).await;
            assert_eq!(reply.status, 400, "{base}?{query}: {}", reply.body);
            let detail = reply.body["detail"].as_str().unwrap_or_default();
            assert!(detail.starts_with(field), "{base}?{query}: {detail}");
        }
        assert_eq!(
            app.get(&format!("{base}?offset=0&limit=500")).await.status,
            200
        );
    }
}

#[tokio::test]
async fn a_department_cannot_move_company_and_says_which_field() {
    let app = TestApp::spawn().await;
    let client = app.create_company(company("Client LLC")).await;
    let created = app
        .post(
            "/api/v1/departments",
            &json!({"name_ru": "Отдел", "name_en": "Desk"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = format!("/api/v1/departments/{}", created.body["id"]);
    let etag = created.header("etag").unwrap().to_string();
    let moved = app
        .patch(&path, Some(&etag), &json!({"company_id": client["id"]}))
        .await;
    assert_eq!(moved.status, 422, "{}", moved.body);
    assert_eq!(
        moved.error_codes(),
        vec![("company_id".to_string(), "read_only".to_string())]
    );
    let unknown = app
        .patch(&path, Some(&etag), &json!({"colour": "red"}))
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(
        unknown.error_codes(),
        vec![("colour".to_string(), "unknown_field".to_string())]
    );
    // Naming the company it is in already changes nothing and is fine.
    let same = app
        .patch(
            &path,
            Some(&etag),
            &json!({"company_id": created.body["company_id"], "name_en": "Help desk"}),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.body["name_en"], "Help desk");
}

#[tokio::test]
async fn the_document_closes_request_bodies_and_links_creates_to_their_objects() {
    let app = TestApp::spawn().await;
    let doc = app
        .anonymous(Method::GET, "/api/openapi.json")
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = doc.json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    for name in [
        "CompanyInput",
        "UserInput",
        "DepartmentInput",
        "LoginRequest",
        "Pin",
    ] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} must refuse unknown fields as the server does"
        );
    }
    assert_eq!(
        schemas["UserInput"]["properties"]["password"]["minLength"],
        12
    );
    assert_eq!(
        schemas["Company"]["properties"]["parent_id"]["type"],
        json!(["integer", "null"])
    );
    let links = &doc["paths"]["/api/v1/users"]["post"]["responses"]["201"]["links"];
    assert_eq!(
        links["get_users__id_"]["parameters"]["id"],
        "$response.body#/id"
    );
    let unknown = app
        .post(
            "/api/v1/companies",
            &json!({"name": "X", "inns": ["7707083893"], "owner": "me"}),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused_even_where_the_answer_is_always_the_same() {
    let app = TestApp::spawn().await;
    // serde fills a struct from an array of its fields; the API must not.
    let recover = app
        .anonymous(Method::POST, "/api/v1/auth/recover")
        .header("content-type", "application/json")
        .body(r#"["admin"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(recover.status(), 422);
    let body: serde_json::Value = recover.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "body.not_object");
    let create = app
        .request(Method::POST, "/api/v1/companies")
        .header("content-type", "application/json")
        .body(r#"  ["Array LLC"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 422);
    // The object form still works.
    let fine = app
        .anonymous(Method::POST, "/api/v1/auth/recover")
        .json(&json!({"login": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 202);
}

#[tokio::test]
async fn a_nul_character_in_any_text_is_refused_with_its_field_never_a_server_error() {
    // schemathesis found these answering 500 on PostgreSQL, which cannot store NUL.
    let app = TestApp::spawn().await;
    let device = app
        .post(
            "/api/v1/me/devices",
            &json!({"name": "Phone\u{0}", "pin": "6464"}),
        )
        .await;
    assert_eq!(device.status, 422, "{}", device.body);
    assert_eq!(
        device.error_codes(),
        vec![("name".to_string(), "text.nul".to_string())]
    );
    let department = app
        .post(
            "/api/v1/departments",
            &json!({"name_ru": "Отдел", "name_en": "Desk", "support": {"a": ["x\u{0}"]}}),
        )
        .await;
    assert_eq!(department.status, 422, "{}", department.body);
    assert_eq!(
        department.error_codes(),
        vec![("support".to_string(), "text.nul".to_string())]
    );
    let created = app.create_company(company("Plain LLC")).await;
    let path = format!("/api/v1/companies/{}", created["id"]);
    let version = format!("\"{}\"", created["version"]);
    let patched = app
        .patch(&path, Some(&version), &json!({"name": "Nul\u{0} LLC"}))
        .await;
    assert_eq!(patched.status, 422, "{}", patched.body);
    assert_eq!(app.get(&path).await.body["name"], "Plain LLC");
}

#[tokio::test]
async fn a_nul_character_in_a_console_form_is_refused_never_a_server_error() {
    let app = TestApp::spawn().await;
    let (client, csrf) = app.console_sign_in("/companies").await;
    let response = client
        .post(app.url("/companies/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Nul\u{0} LLC"),
            ("inns", "7707083893"),
        ])
        .send()
        .await
        .unwrap();
    // The name's own rules refuse control characters: the field is shown.
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-field=\"name\""), "{html}");
    let list = app.get("/api/v1/companies?q=Nul").await;
    assert_eq!(list.body["total"], 0);
}
