//! People through the REST API, on SQLite and PostgreSQL.

use kabinet_testkit::{company, urlencode, Reply, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

fn person(login: &str, first: &str, last: &str) -> Value {
    json!({"login": login, "first_name": first, "last_name": last})
}

async fn login_status(app: &TestApp, login: &str, password: &str) -> u16 {
    app.anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_person_is_created_with_a_password_and_signs_in() {
    let app = TestApp::spawn().await;
    let client = app.create_company(company("Client Co")).await;
    let mut body = person("ipetrov", "Иван", "Петров");
    body["company_id"] = client["id"].clone();
    body["patronymic"] = json!("Сергеевич");
    body["email"] = json!("Ivan@Example.RU");
    body["mobile_phone"] = json!("8 (916) 123-45-67");
    body["position"] = json!("Директор");
    body["kind"] = json!("account_admin");
    body["may_open_admin_cabinet"] = json!(true);
    body["password"] = json!("a long and unusual passphrase");
    let reply = app.post("/api/v1/users", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let user = &reply.body;
    assert_eq!(user["login"], "ipetrov");
    assert_eq!(user["company_name"], "Client Co");
    assert_eq!(user["email"], "Ivan@example.ru");
    assert_eq!(user["mobile_phone"], "+79161234567");
    assert_eq!(user["kind"], "account_admin");
    assert_eq!(user["status"], "active");
    assert_eq!(user["has_password"], true);
    assert!(user.get("password").is_none(), "the password is write-only");
    assert!(!reply.text.contains("passphrase"));
    assert!(reply
        .header("location")
        .unwrap()
        .starts_with("/api/v1/users/"));

    assert_eq!(
        login_status(&app, "IPETROV", "a long and unusual passphrase").await,
        200,
        "logins ignore case"
    );
    assert_eq!(
        login_status(&app, "ipetrov", "wrong password here").await,
        401
    );
}

#[tokio::test]
async fn a_generated_password_is_returned_once() {
    let app = TestApp::spawn().await;
    let mut body = person("staffer", "Anna", "Smirnova");
    body["generate_password"] = json!(true);
    let reply = app.post("/api/v1/users", &body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let password = reply.body["generated_password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(password.len() >= 16);
    assert_eq!(reply.body["must_change_password"], true);
    let id = reply.body["id"].as_i64().unwrap();
    let again = app.get(&format!("/api/v1/users/{id}")).await;
    assert!(
        again.body.get("generated_password").is_none(),
        "shown only at creation"
    );
    assert_eq!(login_status(&app, "staffer", &password).await, 200);

    let without = app
        .post("/api/v1/users", &person("nopass", "No", "Password"))
        .await;
    assert_eq!(without.status, 201);
    assert_eq!(without.body["has_password"], false);
    let both = json!({"login": "both", "first_name": "A", "last_name": "B", "password": "x", "generate_password": true});
    let refused = app.post("/api/v1/users", &both).await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .error_codes()
        .contains(&("generate_password".into(), "password.conflict".into())));
}

#[tokio::test]
async fn bad_input_names_every_field_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let body = json!({
        "login": "ivan.petrov-with-a-very-long-login",
        "email": "not an email",
        "phone": "12",
        "kind": "emperor",
        "password": "qwerty123"
    });
    let reply = app.post("/api/v1/users", &body).await;
    assert_eq!(reply.status, 422);
    let codes = reply.error_codes();
    for expected in [
        ("login", "login.too_long"),
        ("first_name", "required"),
        ("last_name", "required"),
        ("email", "email.invalid"),
        ("phone", "phone.invalid"),
        ("kind", "kind.invalid"),
        ("password", "password.common"),
    ] {
        assert!(
            codes.contains(&(expected.0.to_string(), expected.1.to_string())),
            "{expected:?} missing in {codes:?}"
        );
    }
    let reply = app
        .post(
            "/api/v1/users",
            &json!({"login": "иван", "first_name": "И", "last_name": "П"}),
        )
        .await;
    assert_eq!(
        reply.error_codes(),
        vec![("login".to_string(), "login.characters".to_string())]
    );
    let reply = app
        .post(
            "/api/v1/users",
            &json!({"login": "x", "first_name": "И", "last_name": "П", "password": "short"}),
        )
        .await;
    assert_eq!(
        reply.error_codes(),
        vec![("password".to_string(), "password.too_short".to_string())]
    );

    app.post("/api/v1/users", &person("taken", "A", "B")).await;
    let reply = app.post("/api/v1/users", &person("TAKEN", "C", "D")).await;
    assert_eq!(
        reply.error_codes(),
        vec![("login".to_string(), "login.taken".to_string())],
        "unique without regard to case"
    );
    let list = app.get("/api/v1/users").await;
    assert_eq!(
        list.body["total"], 2,
        "admin and the one valid person: {}",
        list.text
    );

    let unknown = app
        .post(
            "/api/v1/users",
            &json!({"login": "z", "first_name": "A", "last_name": "B", "full_access": true}),
        )
        .await;
    assert_eq!(
        unknown.status, 422,
        "rights cannot be smuggled in: {}",
        unknown.text
    );
    let elsewhere = app
        .post(
            "/api/v1/users",
            &json!({"login": "z", "first_name": "A", "last_name": "B", "company_id": 99999}),
        )
        .await;
    assert_eq!(
        elsewhere.error_codes(),
        vec![("company_id".to_string(), "company.not_found".to_string())]
    );
}

#[tokio::test]
async fn people_are_searched_filtered_sorted_and_paged() {
    let app = TestApp::spawn().await;
    let client = app.create_company(company("Client Co")).await;
    let cid = client["id"].as_i64().unwrap();
    for (index, (login, first, last, kind)) in [
        ("petrov", "Иван", "Петров", "account_admin"),
        ("sidorova", "Мария", "Сидорова", "client_user"),
        ("ivanov", "Пётр", "Иванов", "client_user"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = person(login, first, last);
        body["company_id"] = json!(cid);
        body["kind"] = json!(kind);
        body["mobile_phone"] = json!(format!("+7 916 000-00-{:02}", index + 6));
        app.post("/api/v1/users", &body).await;
    }
    let names = |q: &str| {
        let path = format!("/api/v1/users?sort=name&{q}");
        let app = &app;
        async move {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["login"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names(&format!("q={}", urlencode("ПЕТРОВ"))).await,
        vec!["petrov"],
        "a surname, any case"
    );
    assert_eq!(
        names(&format!("q={}", urlencode("сидоР"))).await,
        vec!["sidorova"],
        "a fragment"
    );
    assert_eq!(
        names(&format!("q={}", urlencode("пётр"))).await,
        vec!["ivanov", "petrov"],
        "ё folds to е: Пётр Иванов and Петров"
    );
    assert_eq!(names("q=sidor").await, vec!["sidorova"]);
    assert_eq!(names("q=79160000006").await, vec!["petrov"], "phone digits");
    assert_eq!(
        names(&format!("company_id={cid}")).await,
        vec!["ivanov", "petrov", "sidorova"]
    );
    assert_eq!(names("kind=client_user").await, vec!["ivanov", "sidorova"]);
    assert_eq!(
        names("sort=login&dir=desc").await,
        vec!["sidorova", "petrov", "ivanov", "admin"]
    );
    let page = app.get("/api/v1/users?sort=login&limit=2&offset=2").await;
    assert_eq!(page.body["total"], 4);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.get("/api/v1/users?sort=password").await.status, 400);
    assert_eq!(app.get("/api/v1/users?kind=emperor").await.status, 400);
}

#[tokio::test]
async fn edits_use_versions_and_blocking_ends_access() {
    let app = TestApp::spawn().await;
    let mut body = person("worker", "Oleg", "Orlov");
    body["password"] = json!("worker password one");
    let created = app.post("/api/v1/users", &body).await.body;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/users/{id}");
    let (session, _) = app.session("worker", "worker password one").await;
    assert_eq!(
        session
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    assert_eq!(
        app.patch(&path, None, &json!({"position": "x"}))
            .await
            .status,
        428
    );
    let reply = app
        .patch(
            &path,
            Some("\"1\""),
            &json!({"position": "Инженер", "login": "worker2"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["position"], "Инженер");
    assert_eq!(reply.body["login"], "worker2");
    assert_eq!(reply.body["first_name"], "Oleg", "untouched fields stay");
    assert_eq!(
        login_status(&app, "worker2", "worker password one").await,
        200,
        "a changed login keeps the password"
    );

    let stale = app
        .patch(&path, Some("\"1\""), &json!({"position": "Stale"}))
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["current"]["position"], "Инженер");
    let read_only = app
        .patch(&path, Some("\"2\""), &json!({"has_password": false}))
        .await;
    assert_eq!(
        read_only.error_codes(),
        vec![("has_password".to_string(), "read_only".to_string())]
    );

    let blocked = app
        .patch(&path, Some("\"2\""), &json!({"status": "blocked"}))
        .await;
    assert_eq!(blocked.status, 200, "{}", blocked.text);
    assert_eq!(
        session
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "blocking ends the session"
    );
    assert_eq!(
        login_status(&app, "worker2", "worker password one").await,
        401
    );

    let active = app
        .patch(
            &path,
            Some("\"3\""),
            &json!({"status": "active", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(active.status, 200, "{}", active.text);
    assert_eq!(
        login_status(&app, "worker2", "worker password one").await,
        401
    );
    assert_eq!(
        login_status(&app, "worker2", "a brand new passphrase").await,
        200
    );

    let audit = app
        .get(&format!("/api/v1/audit?entity_type=user&entity_id={id}"))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let changes: Vec<&&str> = actions.iter().filter(|a| a.starts_with("user.")).collect();
    assert_eq!(
        changes,
        vec![
            &"user.update",
            &"user.update",
            &"user.update",
            &"user.create"
        ],
        "{actions:?}"
    );
    assert!(
        actions.contains(&"auth.login_failed"),
        "sign-in attempts are on the person's history too"
    );
    assert!(
        !audit.text.contains("passphrase") && !audit.text.contains("argon2"),
        "no password or hash in the log"
    );

    let me = app.get("/api/v1/me").await;
    let admin_id = me.body["user_id"].as_i64().unwrap();
    let etag = app
        .get(&format!("/api/v1/users/{admin_id}"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let reply = app
        .patch(
            &format!("/api/v1/users/{admin_id}"),
            Some(&etag),
            &json!({"status": "blocked"}),
        )
        .await;
    assert_eq!(
        reply.error_codes(),
        vec![("status".to_string(), "user.cannot_block_self".to_string())]
    );
}

#[tokio::test]
async fn deleting_a_person_ends_their_open_session_and_restore_brings_them_back() {
    let app = TestApp::spawn().await;
    let mut body = person("leaver", "Lev", "Levin");
    body["password"] = json!("leaver password one");
    let id = app.post("/api/v1/users", &body).await.body["id"]
        .as_i64()
        .unwrap();
    let (session, _) = app.session("leaver", "leaver password one").await;
    let token = app
        .services
        .token_create_for_login("leaver", "bot")
        .await
        .unwrap();

    let sessions = app.get(&format!("/api/v1/users/{id}/sessions")).await;
    assert_eq!(sessions.body["total"], 1);
    assert_eq!(sessions.body["items"][0]["ip"], "127.0.0.1");
    assert!(!sessions.text.contains("csrf"), "no secrets in the list");

    let reply = app.delete(&format!("/api/v1/users/{id}")).await;
    assert_eq!(reply.status, 204);
    assert_eq!(
        session
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "the next request fails"
    );
    assert_eq!(
        app.with_token(&token, Method::GET, "/api/v1/me")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        login_status(&app, "leaver", "leaver password one").await,
        401
    );
    assert_eq!(app.get("/api/v1/users").await.body["total"], 1);
    assert_eq!(app.get("/api/v1/users?deleted=only").await.body["total"], 1);
    assert_eq!(app.delete(&format!("/api/v1/users/{id}")).await.status, 409);

    let restored = app
        .post(&format!("/api/v1/users/{id}/restore"), &json!({}))
        .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["deleted_at"], Value::Null);
    assert_eq!(
        login_status(&app, "leaver", "leaver password one").await,
        200
    );

    let me = app.get("/api/v1/me").await;
    let admin_id = me.body["user_id"].as_i64().unwrap();
    let reply = app.delete(&format!("/api/v1/users/{admin_id}")).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["code"], "user.cannot_delete_self");

    let ended = app
        .request(Method::DELETE, &format!("/api/v1/users/{id}/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 204);
}

#[tokio::test]
async fn people_of_other_tenants_are_invisible() {
    let app = TestApp::spawn().await;
    let a = app.create_company(company("Tenant A")).await;
    let b = app.create_company(company("Tenant B")).await;
    // Tenant A's admin has full access inside Tenant A; rights arrive with
    // issue 5, so the store creates this person directly.
    let mut tx = app.services.store.begin().await.unwrap();
    let admin_a = kabinet_store::users::NewUser {
        company_id: a["id"].as_i64().unwrap(),
        login: "admina".into(),
        first_name: "Alla".into(),
        last_name: "Antonova".into(),
        email: None,
        kind: "account_admin".into(),
        full_access: true,
        password_hash: kabinet_service::auth::hash_password("tenant a password".into())
            .await
            .unwrap(),
    };
    kabinet_store::users::insert(&mut tx, &admin_a, kabinet_service::now_ms())
        .await
        .unwrap();
    kabinet_store::commit(tx).await.unwrap();
    let mut user_b = person("userb", "Boris", "Borisov");
    user_b["company_id"] = b["id"].clone();
    let user_b = app.post("/api/v1/users", &user_b).await.body;

    let token = app
        .services
        .token_create_for_login("admina", "bot")
        .await
        .unwrap();

    let list = app
        .with_token(&token, Method::GET, "/api/v1/users")
        .send()
        .await
        .unwrap();
    let body: Value = list.json().await.unwrap();
    let logins: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, vec!["admina"]);
    let other = app
        .with_token(
            &token,
            Method::GET,
            &format!("/api/v1/users/{}", user_b["id"]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let moved = app
        .with_token(&token, Method::POST, "/api/v1/users")
        .json(&json!({"login": "spy", "first_name": "S", "last_name": "P", "company_id": b["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.status(),
        422,
        "cannot create people in another tenant"
    );
}

#[tokio::test]
async fn a_generated_password_must_be_changed_before_anything_else() {
    let app = TestApp::spawn().await;
    let mut body = person("newbie", "Nina", "Novikova");
    body["generate_password"] = json!(true);
    let created = app.post("/api/v1/users", &body).await.body;
    let generated = created["generated_password"].as_str().unwrap().to_string();

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login: Value = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": "newbie", "password": generated}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["must_change_password"], true);
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let other_device = app.session("newbie", &generated).await.0;

    let blocked = client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 403);
    let problem: Value = blocked.json().await.unwrap();
    assert_eq!(problem["code"], "password_change_required");
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "/me still answers"
    );

    let change = |current: String, new: &'static str| {
        let client = &client;
        let csrf = csrf.clone();
        let url = app.url("/api/v1/me/password");
        async move {
            client
                .post(url)
                .header("x-csrf-token", csrf)
                .json(&json!({"current_password": current, "new_password": new}))
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = change("not it".into(), "my own good passphrase").await;
    assert_eq!(wrong.status(), 422);
    let problem: Value = wrong.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "current_password");
    let common = change(generated.clone(), "password123").await;
    assert_eq!(common.status(), 422);
    assert_eq!(
        change(generated.clone(), "my own good passphrase")
            .await
            .status(),
        204
    );

    let now = client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(now.status(), 403);
    let problem: Value = now.json().await.unwrap();
    assert_eq!(
        problem["code"], "forbidden",
        "the forced change is over; rights decide now"
    );
    assert_eq!(
        other_device
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "other sessions ended"
    );
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "this session goes on"
    );
    assert_eq!(login_status(&app, "newbie", &generated).await, 401);
    assert_eq!(
        login_status(&app, "newbie", "my own good passphrase").await,
        200
    );
    assert_eq!(
        app.get("/api/v1/audit?action=user.password_change")
            .await
            .body["total"],
        1
    );
}

/// The one-time link secret from the newest e-mail to `to` in the outbox.
async fn link_secret_for(app: &TestApp, to: &str) -> Option<String> {
    let outbox = app.get("/api/v1/outbox?topic=email").await;
    let message = outbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["payload"]["to"] == to)?
        .clone();
    let text = message["payload"]["text"].as_str().unwrap().to_string();
    let start = text.find("/password/set#")? + "/password/set#".len();
    Some(text[start..].split_whitespace().next().unwrap().to_string())
}

#[tokio::test]
async fn a_new_person_sets_their_password_with_a_one_time_link() {
    let app = TestApp::spawn().await;
    let mut body = person("invited", "Inna", "Ivanova");
    body["email"] = json!("inna@example.ru");
    let created = app.post("/api/v1/users", &body).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["has_password"], false);

    let outbox = app.get("/api/v1/outbox?topic=email").await;
    assert_eq!(outbox.header("cache-control"), Some("no-store"));
    let message = &outbox.body["items"][0]["payload"];
    assert_eq!(message["to"], "inna@example.ru");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("invited")
            && text.contains("Задайте пароль")
            && text.contains("Set your password"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/password/set#", "http://127.0.0.1:8080")),
        "the link's secret is in the fragment: {text}"
    );
    let secret = link_secret_for(&app, "inna@example.ru").await.unwrap();

    let set = |token: String, password: &'static str| {
        let app = &app;
        async move {
            app.anonymous(Method::POST, "/api/v1/auth/password")
                .json(&json!({"token": token, "new_password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        set(secret.clone(), "123456").await.status(),
        422,
        "the policy applies"
    );
    assert_eq!(
        set(secret.clone(), "inna chooses this one").await.status(),
        204
    );
    assert_eq!(
        login_status(&app, "invited", "inna chooses this one").await,
        200
    );
    let reused = set(secret.clone(), "another good passphrase").await;
    assert_eq!(reused.status(), 409, "a link works once");
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["code"], "link.invalid");
    assert_eq!(
        set("made-up".into(), "another good passphrase")
            .await
            .status(),
        409
    );
    assert_eq!(
        app.get("/api/v1/audit?action=user.password_set_by_link")
            .await
            .body["total"],
        1
    );
}

#[tokio::test]
async fn recovery_never_tells_whether_an_account_exists() {
    let app = TestApp::spawn().await;
    let mut body = person("forgetful", "Fedor", "Fomin");
    body["email"] = json!("fedor@example.ru");
    body["password"] = json!("the password he forgot");
    app.post("/api/v1/users", &body).await;
    let before = app.get("/api/v1/outbox?topic=email").await.body["total"]
        .as_i64()
        .unwrap();

    let recover = |login: &'static str| {
        let app = &app;
        async move {
            app.anonymous(Method::POST, "/api/v1/auth/recover")
                .json(&json!({"login": login}))
                .send()
                .await
                .unwrap()
        }
    };
    let unknown = recover("nobody-at-all").await;
    let known = recover("FEDOR@example.ru").await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    assert_eq!(
        unknown.text().await.unwrap(),
        known.text().await.unwrap(),
        "the same answer either way"
    );
    assert_eq!(
        app.get("/api/v1/outbox?topic=email").await.body["total"]
            .as_i64()
            .unwrap(),
        before + 1,
        "one e-mail, to the real account"
    );

    let secret = link_secret_for(&app, "fedor@example.ru").await.unwrap();
    let (old_session, _) = app.session("forgetful", "the password he forgot").await;
    let reply = app
        .anonymous(Method::POST, "/api/v1/auth/password")
        .json(&json!({"token": secret, "new_password": "fedor remembers now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 204);
    assert_eq!(
        old_session
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "old sessions end"
    );
    assert_eq!(
        login_status(&app, "forgetful", "the password he forgot").await,
        401
    );
    assert_eq!(
        login_status(&app, "forgetful", "fedor remembers now").await,
        200
    );
    let audit = app
        .get("/api/v1/audit?action=auth.recovery_requested")
        .await;
    let outcomes: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["link_sent", "unknown_account"]);
}

/// A client whose requests come from another loopback address.
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    address: &str,
    login: &str,
    password: &str,
) -> reqwest::Response {
    client_from(address)
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn address_rules_and_session_binding() {
    let app = TestApp::spawn().await;
    let mut body = person("roamer", "Roman", "Romanov");
    body["password"] = json!("roaming passphrase");
    let id = app.post("/api/v1/users", &body).await.body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/users/{id}/ip-rules");
    let put = |rules: Value| {
        let app = &app;
        let path = path.clone();
        async move {
            Reply::from(
                app.request(Method::PUT, &path)
                    .json(&rules)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };

    let bad = put(json!({"ip_rules": ["127.0.0.1", "not-an-address"]})).await;
    assert_eq!(
        bad.error_codes(),
        vec![("ip_rules[1]".to_string(), "ip_rules.invalid".to_string())]
    );
    let set =
        put(json!({"ip_rules": ["127.0.0.1", "10.0.0.0/8", "::1"], "session_binding": "strict"}))
            .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(
        set.body["ip_rules"],
        json!(["127.0.0.1", "10.0.0.0/8", "::1"])
    );
    assert_eq!(set.body["session_binding"], "strict");

    // A disallowed address is refused at sign-in, like a wrong password.
    assert_eq!(
        login_from(&app, "127.0.0.2", "roamer", "roaming passphrase")
            .await
            .status(),
        401
    );
    let audit = app.get("/api/v1/audit?action=auth.login_failed").await;
    assert_eq!(audit.body["items"][0]["details"], "address_not_allowed");
    assert_eq!(audit.body["items"][0]["ip"], "127.0.0.2");

    // From an allowed address the session works, but only from there.
    let signed_in = login_from(&app, "127.0.0.1", "roamer", "roaming passphrase").await;
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me = |address: &'static str| {
        let cookie = cookie.clone();
        let url = app.url("/api/v1/me");
        async move {
            client_from(address)
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me("127.0.0.1").await, 200);
    assert_eq!(
        me("127.0.0.2").await,
        401,
        "a strictly bound session does not work from another address"
    );
    assert_eq!(me("127.0.0.1").await, 200, "and keeps working from its own");

    // Rules are checked on every request, so narrowing them takes effect at once.
    let narrowed = put(json!({"ip_rules": ["10.0.0.0/8"], "session_binding": "off"})).await;
    assert_eq!(narrowed.status, 200);
    assert_eq!(me("127.0.0.1").await, 401);

    // Nobody can lock themself out.
    let me_admin = app.get("/api/v1/me").await;
    let admin = me_admin.body["user_id"].as_i64().unwrap();
    let reply = Reply::from(
        app.request(Method::PUT, &format!("/api/v1/users/{admin}/ip-rules"))
            .json(&json!({"ip_rules": ["10.0.0.0/8"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        reply.error_codes(),
        vec![("ip_rules".to_string(), "ip_rules.excludes_you".to_string())]
    );
    let audit = app
        .get(&format!(
            "/api/v1/audit?action=user.ip_rules&entity_id={id}"
        ))
        .await;
    assert_eq!(audit.body["total"], 2);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89]);
    bytes
}

#[tokio::test]
async fn avatars_are_checked_by_content_and_served_safely() {
    let app = TestApp::spawn().await;
    let id = app
        .post("/api/v1/users", &person("pictured", "P", "C"))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/users/{id}/avatar");
    let put = |bytes: Vec<u8>, content_type: &'static str| {
        let app = &app;
        let path = path.clone();
        async move {
            Reply::from(
                app.request(Method::PUT, &path)
                    .header("content-type", content_type)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(app.get(&path).await.status, 404, "no avatar yet");
    let svg = put(
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
        "image/png",
    )
    .await;
    assert_eq!(
        svg.error_codes(),
        vec![("avatar".to_string(), "avatar.format".to_string())],
        "the content decides, not the declared type"
    );
    let big = put(png(640, 480), "image/png").await;
    assert_eq!(
        big.error_codes(),
        vec![("avatar".to_string(), "avatar.size".to_string())]
    );
    assert_eq!(
        big.body["errors"][0]["message"],
        "Картинка должна быть ровно 80×80 пикселей"
    );
    let mut heavy = png(80, 80);
    heavy.resize(70 * 1024, 0);
    assert_eq!(
        put(heavy, "image/png").await.error_codes(),
        vec![("avatar".to_string(), "avatar.too_large".to_string())]
    );

    let ok = put(png(80, 80), "application/octet-stream").await;
    assert_eq!(ok.status, 204, "{}", ok.text);
    let served = app.request(Method::GET, &path).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert!(served.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(served.bytes().await.unwrap().to_vec(), png(80, 80));
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}")).await.body["has_avatar"],
        true
    );
    assert_eq!(
        app.anonymous(Method::GET, &path)
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "not public"
    );

    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(app.get(&path).await.status, 404);
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}")).await.body["has_avatar"],
        false
    );
}

#[tokio::test]
async fn account_admins_sign_in_with_the_account_number() {
    let app = TestApp::spawn().await;
    let mut client = company("Account Co");
    client["account_number"] = json!("LS-777");
    let cid = app.create_company(client).await["id"].as_i64().unwrap();
    let mut admin = person("acctadmin", "Alla", "Admin");
    admin["company_id"] = json!(cid);
    admin["kind"] = json!("account_admin");
    admin["password"] = json!("account admin secret");
    app.post("/api/v1/users", &admin).await;
    let mut employee = person("worker7", "Wanda", "Worker");
    employee["company_id"] = json!(cid);
    employee["password"] = json!("employee secret one");
    app.post("/api/v1/users", &employee).await;

    let by_account = |account: &'static str, password: &'static str| {
        let app = &app;
        async move {
            Reply::from(
                app.anonymous(Method::POST, "/api/v1/auth/login")
                    .json(&json!({"account_number": account, "password": password}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let ok = by_account("ls-777", "account admin secret").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["login"], "acctadmin");
    assert_eq!(by_account("LS-777", "wrong password!!").await.status, 401);
    assert_eq!(
        by_account("LS-000", "account admin secret").await.status,
        401
    );
    let personal = by_account("worker7", "employee secret one").await;
    assert_eq!(personal.status, 409);
    assert_eq!(personal.body["code"], "login.personal_on_account_form");
    assert_eq!(
        personal.body["title"],
        "Это личный логин сотрудника: войдите через обычную форму входа по логину"
    );

    // Two account admins make the number ambiguous: refused.
    let mut second = person("acctadmin2", "Boris", "Admin");
    second["company_id"] = json!(cid);
    second["kind"] = json!("account_admin");
    second["password"] = json!("account admin secret");
    app.post("/api/v1/users", &second).await;
    assert_eq!(
        by_account("LS-777", "account admin secret").await.status,
        401
    );
    let audit = app.get("/api/v1/audit?action=auth.login_failed").await;
    let reasons: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["details"].as_str())
        .collect();
    assert!(
        reasons.contains(&"several_account_admins")
            && reasons.contains(&"personal_login_on_account_form"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn guessing_account_numbers_is_throttled_per_address() {
    let app = TestApp::spawn().await;
    let attempt = |number: String| {
        let app = &app;
        async move {
            app.anonymous(Method::POST, "/api/v1/auth/login")
                .json(&json!({"account_number": number, "password": "whatever it is"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for n in 0..20 {
        assert_eq!(attempt(format!("LS-GUESS-{n}")).await, 401);
    }
    assert_eq!(
        attempt("LS-GUESS-21".into()).await,
        429,
        "the address waits after 20 failures"
    );
}
