//! The access matrix (issue 5): every declared REST operation, walked with
//! people who must not reach the victim tenant's data:
//!
//! - an admin of an unrelated company (every right, in their own company),
//! - a client user without "may open the admin cabinet" (every right granted,
//!   none in effect),
//! - provider staff in a department without rights,
//! - staff of a reseller with every right, on a company outside their subtree,
//! - a group admin (every right) whose group is not linked to the victim,
//! - a person acting inside another client (M4) beyond their own rights.
//!
//! Each cell asserts the status and that the body holds none of the victim's
//! data. A route added without a declared need fails here (the guard answers
//! 500 `undeclared_route`), and a declared need without a row in this walk
//! fails the count check. Runs on SQLite and PostgreSQL.

use kabinet_server::Need;
use kabinet_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "matrix person passphrase";
const VICTIM_NAME: &str = "Victim Alpha Holding";
const VICTIM_LOGIN: &str = "victimperson";
const VICTIM_EMAIL: &str = "victim@alpha.example";
const VICTIM_DEPT: &str = "VictimDepartment";

struct Victim {
    company: i64,
    person: i64,
    department: i64,
    token: i64,
}

async fn person(app: &TestApp, login: &str, company_id: i64, extra: Value) -> i64 {
    let mut body = json!({"login": login, "first_name": "Матрица", "last_name": "Проверка",
                          "company_id": company_id, "password": PASSWORD});
    if let Some(object) = extra.as_object() {
        for (k, v) in object {
            body[k] = v.clone();
        }
    }
    let created = app.post("/api/v1/users", &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_i64().unwrap()
}

async fn grant_all(app: &TestApp, user_id: i64) {
    let all: Vec<&str> = kabinet_domain::access::Function::ALL
        .iter()
        .map(|f| f.key())
        .collect();
    let reply = app
        .request(
            Method::PUT,
            &format!("/api/v1/users/{user_id}/extra-rights"),
        )
        .json(&json!({"rights": all}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}

/// The path with its ids pointing at the victim's objects.
fn victim_path(path: &str, v: &Victim) -> String {
    let id = if path.starts_with("/companies") {
        v.company
    } else if path.starts_with("/users") {
        v.person
    } else if path.starts_with("/departments") {
        v.department
    } else if path.starts_with("/tokens") {
        v.token
    } else {
        // /me/…/{id}, /outbox/{id}: ids nobody here owns.
        999_999
    };
    format!(
        "/api/v1{}",
        path.replace("{id}", &id.to_string())
            .replace("{client_id}", &v.company.to_string())
    )
}

/// A body that, if it got through, would act on the victim.
fn body_for(method: &str, path: &str, v: &Victim) -> Value {
    match (method, path) {
        ("post", "/users") => {
            json!({"login": "intruder", "first_name": "I", "last_name": "N", "company_id": v.company})
        }
        ("post", "/departments") => {
            json!({"company_id": v.company, "name_ru": "Чужой", "name_en": "Foreign"})
        }
        ("post", "/companies") => {
            json!({"name": "Planted", "inns": ["7707083893"], "parent_id": v.company})
        }
        ("put", p) if p.ends_with("/rights") || p.ends_with("/extra-rights") => {
            json!({"rights": []})
        }
        ("put", p) if p.ends_with("/members") => json!({"user_ids": []}),
        ("put", p) if p.ends_with("/ip-rules") => json!({"mode": "any", "addresses": []}),
        ("post", "/companies/{id}/links") => json!({"multichannel_number": "+74950000000"}),
        _ => json!({}),
    }
}

fn leaks(body: &str) -> bool {
    [VICTIM_NAME, VICTIM_LOGIN, VICTIM_EMAIL, VICTIM_DEPT]
        .iter()
        .any(|secret| body.contains(secret))
}

#[tokio::test]
async fn nobody_reaches_another_tenants_data_through_any_route() {
    let app = TestApp::spawn().await;
    // The victim: company A with a person, a department and a token.
    let a = app
        .create_company(json!({"name": VICTIM_NAME, "inns": ["7707083893"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let victim_person = person(&app, VICTIM_LOGIN, a, json!({"email": VICTIM_EMAIL})).await;
    let department = app
        .post(
            "/api/v1/departments",
            &json!({"company_id": a, "name_ru": VICTIM_DEPT, "name_en": VICTIM_DEPT}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let victim_token = app
        .services
        .token_create_for_login(VICTIM_LOGIN, "victim")
        .await
        .unwrap();
    let tokens: Value = app
        .with_token(&victim_token, Method::GET, "/api/v1/tokens")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_id = tokens["items"][0]["id"]
        .as_i64()
        .or_else(|| tokens[0]["id"].as_i64())
        .expect("the victim's token id");
    let victim = Victim {
        company: a,
        person: victim_person,
        department,
        token: token_id,
    };

    // The people who must not get in.
    let b = app
        .create_company(json!({"name": "Unrelated Beta", "inns": ["7707083893"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let b_admin = person(
        &app,
        "betaadmin",
        b,
        json!({"may_open_admin_cabinet": true}),
    )
    .await;
    grant_all(&app, b_admin).await;
    let a_client = person(
        &app,
        "alphaclient",
        a,
        json!({"kind": "client_user", "may_open_admin_cabinet": false}),
    )
    .await;
    grant_all(&app, a_client).await;
    let provider = 1;
    let no_rights = person(&app, "norights", provider, json!({})).await;
    let empty_dept = app
        .post(
            "/api/v1/departments",
            &json!({"name_ru": "Пустой", "name_en": "Empty"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    app.request(
        Method::PUT,
        &format!("/api/v1/departments/{empty_dept}/members"),
    )
    .json(&json!({"user_ids": [no_rights]}))
    .send()
    .await
    .unwrap();
    let reseller = app
        .create_company(
            json!({"name": "Reseller Gamma", "inns": ["7707083893"], "is_reseller": true}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let r_staff = person(
        &app,
        "resellerstaff",
        reseller,
        json!({"may_open_admin_cabinet": true}),
    )
    .await;
    grant_all(&app, r_staff).await;

    // A group admin whose group has no link to the victim.
    let group = app
        .create_company(
            json!({"name": "Group Delta", "inns": ["7707083893"], "is_group_company": true}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let group_admin = person(
        &app,
        "groupadmin",
        group,
        json!({"kind": "group_admin", "may_open_admin_cabinet": true, "mobile_phone": "+79160000000"}),
    )
    .await;
    grant_all(&app, group_admin).await;
    // Staff who may view and enter, acting inside another client.
    let enterer = person(&app, "enterer", provider, json!({})).await;
    app.request(
        Method::PUT,
        &format!("/api/v1/users/{enterer}/extra-rights"),
    )
    .json(&json!({"rights": ["companies.view", "companies.enter", "users.view"]}))
    .send()
    .await
    .unwrap();
    let enterer_token = app
        .services
        .token_create_for_login("enterer", "matrix")
        .await
        .unwrap();
    let entered: Value = app
        .with_token(
            &enterer_token,
            Method::POST,
            &format!("/api/v1/companies/{b}/enter"),
        )
        .json(&json!({"reason": "access matrix"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let act_token = entered["token"]
        .as_str()
        .expect("an act-as token")
        .to_string();

    // (who, login — none: the act-as token —, every function refused, rights limited)
    let actors = [
        ("admin of an unrelated company", "betaadmin", false, false),
        (
            "client user without the admin-cabinet flag",
            "alphaclient",
            true,
            false,
        ),
        (
            "staff in a department without the right",
            "norights",
            true,
            false,
        ),
        (
            "staff with the right, object outside their subtree",
            "resellerstaff",
            false,
            false,
        ),
        (
            "group admin on an unlinked client",
            "groupadmin",
            false,
            false,
        ),
        (
            "person acting inside another client beyond their rights",
            "",
            false,
            true,
        ),
    ];
    let mut cells = 0;
    let mut failures = Vec::new();
    for (who, login, expect_forbidden, limited) in actors {
        let mut token = if login.is_empty() {
            act_token.clone()
        } else {
            app.services
                .token_create_for_login(login, "matrix")
                .await
                .unwrap()
        };
        for (method, path, need) in kabinet_server::access_table() {
            if need == Need::Public {
                continue;
            }
            cells += 1;
            let url = victim_path(path, &victim);
            let request = app
                .with_token(
                    &token,
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    &url,
                )
                .header("if-match", "\"1\"");
            let request = if method == "get" || method == "delete" {
                request
            } else {
                request.json(&body_for(method, path, &victim))
            };
            let reply = request.send().await.unwrap();
            let status = reply.status();
            let text = reply.text().await.unwrap_or_default();
            let targets_victim =
                path.contains("{id}") && !path.starts_with("/me") && !path.starts_with("/outbox");
            // Everyone holds "own tokens"; /me and own tokens act on oneself
            // (for the client user, their own company is the victim's).
            let own = matches!(
                need,
                Need::Signed | Need::Function(kabinet_domain::access::Function::ApiTokensOwn)
            );
            let ok = if status.is_server_error() || (leaks(&text) && !(own && expect_forbidden)) {
                false
            } else {
                match need {
                    _ if own => true,
                    Need::Function(_) | Need::SelfOr(_) if expect_forbidden => {
                        status == StatusCode::FORBIDDEN
                    }
                    _ if targets_victim => {
                        matches!(status.as_u16(), 404 | 400 | 409 | 422 | 428)
                            || (limited && status == StatusCode::FORBIDDEN)
                    }
                    _ if limited && status == StatusCode::FORBIDDEN => true,
                    _ if path == "/outbox" || path.starts_with("/outbox") => {
                        status == StatusCode::FORBIDDEN
                    }
                    // A collection or a creation: allowed in their own scope,
                    // refused when aimed at the victim (the body names it).
                    _ => !(method == "post" && status.is_success() && path != "/tokens"),
                }
            };
            if login.is_empty() && path == "/acting" {
                // That cell left the client: enter again for the next ones.
                let again: Value = app
                    .with_token(
                        &enterer_token,
                        Method::POST,
                        &format!("/api/v1/companies/{b}/enter"),
                    )
                    .json(&json!({"reason": "access matrix, again"}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                token = again["token"].as_str().unwrap().to_string();
            }
            if !ok {
                failures.push(format!(
                    "{who}: {method} {url} → {status} {}",
                    &text[..text.len().min(160)]
                ));
            }
        }
    }
    // Written past the test harness's capture, so every run shows the count.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "access matrix ({:?}): {cells} cells, {} failed",
        kabinet_testkit::TestBackend::from_env(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        cells,
        actors.len()
            * kabinet_server::access_table()
                .iter()
                .filter(|(_, _, n)| *n != Need::Public)
                .count()
    );
}
