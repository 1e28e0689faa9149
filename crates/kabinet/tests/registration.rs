//! Reseller registration links through HTTP (issue 5, T8): a reseller's
//! link is made, rotated and disabled by people with the right (only a
//! reseller has one); a new company registers itself through it, over the
//! API and with the console's public form, and becomes the reseller's
//! affiliate with its first admin invited by e-mail; bad input is named
//! field by field in both languages; a dead link is one clear conflict;
//! registrations are limited per address; everything is audited. An
//! operator attaching an existing company to a reseller is covered too.
//! Runs on SQLite and PostgreSQL.

use kabinet_testkit::{browser, csrf_in, Reply, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const STAFF_PASSWORD: &str = "reseller staff passphrase";

async fn create(app: &TestApp, body: Value) -> i64 {
    app.create_company(body).await["id"].as_i64().unwrap()
}

async fn reseller(app: &TestApp, name: &str) -> i64 {
    create(
        app,
        json!({"name": name, "inns": ["7707083893"], "is_reseller": true}),
    )
    .await
}

/// Makes (or replaces) the reseller's link as admin; returns the URL and
/// its secret.
async fn make_link(app: &TestApp, reseller: i64) -> (String, String) {
    let reply = app
        .post(
            &format!("/api/v1/companies/{reseller}/registration-link"),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let url = reply.body["url"].as_str().unwrap().to_string();
    let secret = url.split_once("/register#").expect("a /register# link").1;
    assert_eq!(secret.len(), 64, "256 random bits in hex: {url}");
    (url.clone(), secret.to_string())
}

fn registration(secret: &str, company: &str, email: &str) -> Value {
    json!({
        "secret": secret,
        "company_name": company,
        "inn": "7736207543",
        "first_name": "Анна",
        "last_name": "Смирнова",
        "email": email,
    })
}

async fn register(app: &TestApp, body: &Value) -> Reply {
    register_in(app, body, "ru").await
}

async fn register_in(app: &TestApp, body: &Value, lang: &str) -> Reply {
    Reply::from(
        app.anonymous(Method::POST, "/api/v1/register")
            .header("accept-language", lang)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A person of `company` with the given extra rights, signed in by token.
async fn staff(app: &TestApp, login: &str, company: i64, rights: &[&str]) -> String {
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": login, "first_name": "Пётр", "last_name": "Партнёров",
                    "company_id": company, "password": STAFF_PASSWORD,
                    "may_open_admin_cabinet": true}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let granted = app
        .request(Method::PUT, &format!("/api/v1/users/{id}/extra-rights"))
        .json(&json!({"rights": rights}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), 200);
    app.services
        .token_create_for_login(login, "registration tests")
        .await
        .unwrap()
}

async fn as_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let request = app.with_token(token, method, path);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    Reply::from(request.send().await.unwrap()).await
}

/// Audit entries of an action, newest first.
async fn audit(app: &TestApp, action: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/audit?action={action}")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().unwrap().clone()
}

/// The newest e-mail to `to` in the outbox.
async fn email_to(app: &TestApp, to: &str) -> Value {
    let page = app.get("/api/v1/outbox?topic=email&limit=500").await;
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["payload"]["to"] == to)
        .cloned()
        .unwrap_or_else(|| panic!("no e-mail to {to} in {}", page.body))
}

fn company_named<'a>(list: &'a Reply, name: &str) -> Option<&'a Value> {
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
}

#[tokio::test]
async fn a_reseller_makes_rotates_and_disables_its_registration_link() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Север").await;
    let path = format!("/api/v1/companies/{rid}/registration-link");

    let none = app.get(&path).await;
    assert_eq!(none.status, 200);
    assert_eq!(none.body["active"], false);
    assert_eq!(none.body["created_at"], Value::Null);

    let (url, first) = make_link(&app, rid).await;
    assert!(
        url.starts_with("http://127.0.0.1:8080/register#"),
        "the console's public address: {url}"
    );
    let status = app.get(&path).await;
    assert_eq!(status.body["active"], true);
    assert!(status.body["created_at"].is_string());
    assert!(!status.text.contains(&first), "GET never shows the secret");

    let reply = register(
        &app,
        &registration(&first, "Первый Аффилиат", "first@affiliate.example"),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // Rotation: a new secret, and the old one stops working at once.
    let (_, second) = make_link(&app, rid).await;
    assert_ne!(first, second);
    let old = register(
        &app,
        &registration(&first, "По старой ссылке", "old@affiliate.example"),
    )
    .await;
    assert_eq!(old.status, 409, "{}", old.text);
    assert_eq!(old.body["code"], "registration.link_invalid");
    let reply = register(
        &app,
        &registration(&second, "Второй Аффилиат", "second@affiliate.example"),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // Disabled: nothing registers.
    assert_eq!(app.delete(&path).await.status, 204);
    assert_eq!(app.get(&path).await.body["active"], false);
    let dead = register(
        &app,
        &registration(&second, "После отключения", "late@affiliate.example"),
    )
    .await;
    assert_eq!(dead.status, 409);
    assert_eq!(dead.body["code"], "registration.link_invalid");
    assert_eq!(
        app.delete(&path).await.status,
        204,
        "disabling again changes nothing"
    );

    // Audited, never with a secret.
    for action in [
        "company.registration_link_create",
        "company.registration_link_rotate",
        "company.registration_link_disable",
    ] {
        let entries = audit(&app, action).await;
        assert_eq!(entries.len(), 1, "{action}: {entries:?}");
        assert_eq!(entries[0]["entity_id"], rid.to_string());
        assert_eq!(entries[0]["actor_login"], "admin");
        let text = entries[0].to_string();
        assert!(!text.contains(&first) && !text.contains(&second), "{text}");
    }
    let disabled = &audit(&app, "company.registration_link_disable").await[0];
    assert_eq!(disabled["before"]["active"], true);
    assert_eq!(disabled["after"]["active"], false);
    assert_eq!(audit(&app, "company.registration_refused").await.len(), 2);
}

#[tokio::test]
async fn a_company_registers_through_the_api_as_the_resellers_affiliate() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Юг").await;
    let (_, secret) = make_link(&app, rid).await;

    let reply = register(
        &app,
        &registration(&secret, "  ООО Ромашка ", "Anna.Smirnova@Romashka.Example"),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let company_id = reply.body["company_id"].as_i64().unwrap();
    assert_eq!(reply.body["company_name"], "ООО Ромашка");
    assert_eq!(reply.body["login"], "anna.smirnova@romashka.example");

    // The reseller's child, signing its people in by e-mail.
    let company = app.get(&format!("/api/v1/companies/{company_id}")).await;
    assert_eq!(company.body["parent_id"], rid);
    assert_eq!(company.body["is_reseller"], false);
    assert_eq!(company.body["inns"], json!(["7736207543"]));
    assert_eq!(company.body["email_is_login"], true);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{rid}")).await.body["children_count"],
        1
    );

    // Its first admin: an account admin with the admin cabinet, no password yet.
    let people = app
        .get(&format!("/api/v1/users?company_id={company_id}"))
        .await;
    assert_eq!(people.body["total"], 1, "{}", people.text);
    let admin = &people.body["items"][0];
    assert_eq!(admin["login"], "anna.smirnova@romashka.example");
    assert_eq!(admin["kind"], "account_admin");
    assert_eq!(admin["may_open_admin_cabinet"], true);
    assert_eq!(admin["has_password"], false);
    assert_eq!(admin["first_name"], "Анна");

    // It appears in the list of the reseller's staff.
    let token = staff(&app, "southstaff", rid, &["companies.view"]).await;
    let list = as_token(
        &app,
        &token,
        Method::GET,
        "/api/v1/companies?limit=100",
        None,
    )
    .await;
    assert_eq!(list.status, 200);
    assert!(
        company_named(&list, "ООО Ромашка").is_some(),
        "{}",
        list.text
    );

    // The invitation's one-time link sets the password and signs in.
    let mail = email_to(&app, "Anna.Smirnova@romashka.example").await;
    let text = mail["payload"]["text"].as_str().unwrap();
    assert!(
        text.contains("anna.smirnova@romashka.example"),
        "the login is in it: {text}"
    );
    let link_secret = text
        .split("/password/set#")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a set-password link")
        .to_string();
    let set = app
        .anonymous(Method::POST, "/api/v1/auth/password")
        .json(&json!({"token": link_secret, "new_password": "romashka blooms in spring"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let signed_in = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "Anna.Smirnova@Romashka.Example", "password": "romashka blooms in spring"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let (client, _) = app
        .session(
            "anna.smirnova@romashka.example",
            "romashka blooms in spring",
        )
        .await;
    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["company_id"], company_id);
    // The first admin manages their own company, and nothing above it.
    assert_eq!(me["full_access"], true);
    let own: Value = client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<i64> = own["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [company_id], "only their own company");
    let outbox = client.get(app.url("/api/v1/outbox")).send().await.unwrap();
    assert_eq!(outbox.status(), 403, "the provider's outbox is not theirs");

    // The event and the audit records, with who (the link) and the address.
    let events = app.get("/api/v1/outbox?topic=company.registered").await;
    assert_eq!(events.body["total"], 1, "{}", events.text);
    let event = &events.body["items"][0];
    assert_eq!(event["entity_id"], company_id.to_string());
    assert_eq!(event["payload"]["reseller_id"], rid);
    assert_eq!(event["payload"]["admin_user_id"], admin["id"]);
    let by = format!("registration link of reseller {rid}");
    let registered = audit(&app, "company.register").await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0]["entity_id"], company_id.to_string());
    assert_eq!(registered[0]["actor_login"], by.as_str());
    assert_eq!(registered[0]["actor_user_id"], Value::Null);
    assert_eq!(registered[0]["ip"], "127.0.0.1");
    assert_eq!(registered[0]["after"]["parent_id"], rid);
    let admin_id = admin["id"].to_string();
    let created = audit(&app, "user.create").await;
    let created = created
        .iter()
        .find(|e| e["entity_id"].as_str() == Some(admin_id.as_str()))
        .expect("the admin's creation is audited");
    assert_eq!(created["actor_login"], by.as_str());
    assert!(!registered[0].to_string().contains(&secret));
}

#[tokio::test]
async fn a_company_registers_through_the_console_form() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Запад").await;
    let (_, secret) = make_link(&app, rid).await;
    let client = browser();

    let page = client.get(app.url("/register")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("HttpOnly"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-token-from-fragment"),
        "the secret comes from the fragment"
    );
    assert!(
        html.contains("/static/app.css") && html.contains("login-card"),
        "styled like sign-in"
    );
    assert!(!csrf_in(&html).is_empty());

    // Without the form's CSRF token nothing happens.
    let refused = client
        .post(app.url("/register"))
        .form(&[
            ("csrf", "forged"),
            ("token", secret.as_str()),
            ("company_name", "Подделка"),
            ("inn", "7736207543"),
            ("first_name", "Иван"),
            ("last_name", "Иванов"),
            ("email", "forged@example.ru"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // A bad INN and a missing name are shown next to their fields.
    let page = client.get(app.url("/register")).send().await.unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    let bad = client
        .post(app.url("/register"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", secret.as_str()),
            ("company_name", "Лютик"),
            ("inn", "7707083894"),
            ("first_name", ""),
            ("last_name", "Цветков"),
            ("email", "lutik@example.ru"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("data-field=\"inn\""), "{html}");
    assert!(
        html.contains("Неверные контрольные цифры ИНН"),
        "Russian by default"
    );
    assert!(html.contains("data-field=\"first_name\""));
    assert!(html.contains("value=\"Лютик\""), "what was typed is kept");
    assert!(html.contains(&secret), "the code is kept for the next try");

    // Fixed: registered, and told to check the e-mail.
    let csrf = csrf_in(&html);
    let done = client
        .post(app.url("/register"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", secret.as_str()),
            ("company_name", "Лютик"),
            ("inn", "7736207543"),
            ("first_name", "Лев"),
            ("last_name", "Цветков"),
            ("email", "lutik@example.ru"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    assert!(html.contains("data-testid=\"registered\""), "{html}");
    assert!(html.contains("lutik@example.ru"));
    assert!(html.contains("Проверьте почту"));
    assert!(!html.contains(&secret), "the code is not shown any more");

    let list = app.get(&format!("/api/v1/companies?parent_id={rid}")).await;
    assert_eq!(list.names(), vec!["Лютик".to_string()]);
    assert!(email_to(&app, "lutik@example.ru").await["payload"]["text"]
        .as_str()
        .unwrap()
        .contains("/password/set#"));

    // A dead link is a clear refusal on the page too, in English when asked.
    app.delete(&format!("/api/v1/companies/{rid}/registration-link"))
        .await;
    let page = client
        .get(app.url("/register"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    let dead = client
        .post(app.url("/register"))
        .header("accept-language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", secret.as_str()),
            ("company_name", "Too Late"),
            ("inn", "7736207543"),
            ("first_name", "Tom"),
            ("last_name", "Late"),
            ("email", "late@example.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(dead.status(), StatusCode::CONFLICT);
    let html = dead.text().await.unwrap();
    assert!(
        html.contains("The registration link is not valid"),
        "{html}"
    );
    assert!(
        !html.contains("Партнёр Запад"),
        "nothing about the reseller"
    );
}

#[tokio::test]
async fn bad_input_names_each_field_in_russian_and_english() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Восток").await;
    let (_, secret) = make_link(&app, rid).await;
    let before = app.get("/api/v1/companies").await.body["total"].clone();

    let mut body = registration(&secret, "Ошибка", "not an address");
    body["inn"] = json!("7707083894");
    body["first_name"] = json!("   ");
    let reply = register(&app, &body).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(
        reply.error_codes(),
        vec![
            ("inn".to_string(), "inn.checksum".to_string()),
            ("first_name".to_string(), "required".to_string()),
            ("email".to_string(), "email.invalid".to_string()),
        ]
    );
    assert_eq!(
        reply.body["errors"][0]["message"],
        "Неверные контрольные цифры ИНН"
    );
    let english = register_in(&app, &body, "en").await;
    assert_eq!(
        english.body["errors"][0]["message"],
        "The INN's control digits are wrong"
    );
    assert_eq!(
        english.body["errors"][1]["message"],
        "This field is required"
    );

    // Missing fields are named like empty ones.
    let reply = register(&app, &json!({"secret": secret})).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.error_fields(),
        vec!["company_name", "inn", "first_name", "last_name", "email"]
    );
    let reply = register(&app, &json!({"secret": secret, "surprise": 1})).await;
    assert_eq!(
        reply.status, 422,
        "unknown fields are refused: {}",
        reply.text
    );

    // An address that is already someone's login is named.
    let ok = register(&app, &registration(&secret, "Первая", "taken@example.ru")).await;
    assert_eq!(ok.status, 201);
    let again = register(&app, &registration(&secret, "Вторая", "TAKEN@example.ru")).await;
    assert_eq!(again.status, 422, "{}", again.text);
    assert_eq!(
        again.error_codes(),
        vec![("email".to_string(), "email.login_taken".to_string())]
    );

    // Refusals wrote nothing: one company more, the good one.
    let after = app.get("/api/v1/companies").await.body["total"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before.as_i64().unwrap() + 1);
    assert_eq!(audit(&app, "company.register").await.len(), 1);
}

#[tokio::test]
async fn an_unknown_or_disabled_link_is_a_clear_conflict_that_reveals_nothing() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Тайный").await;
    let (_, secret) = make_link(&app, rid).await;
    for wrong in ["", "0000", &"ab".repeat(32)] {
        let reply = register(&app, &registration(wrong, "Самозванец", "fake@example.ru")).await;
        assert_eq!(reply.status, 409, "{wrong}: {}", reply.text);
        assert_eq!(reply.body["code"], "registration.link_invalid");
        assert!(!reply.text.contains("Партнёр Тайный"));
        assert!(reply.body["errors"].as_array().is_none_or(|e| e.is_empty()));
    }
    let english = register_in(&app, &registration("nope", "X", "x@example.ru"), "en").await;
    assert!(english.body["title"]
        .as_str()
        .unwrap()
        .starts_with("The registration link is not valid"));

    // A disabled link answers exactly like an unknown one.
    app.delete(&format!("/api/v1/companies/{rid}/registration-link"))
        .await;
    let disabled = register(
        &app,
        &registration(&secret, "Самозванец", "fake@example.ru"),
    )
    .await;
    assert_eq!(disabled.status, 409);
    let unknown = register(&app, &registration("feed", "Самозванец", "fake@example.ru")).await;
    assert_eq!(disabled.text, unknown.text);

    // A reseller that stops being one has a dead link too.
    let (_, secret) = make_link(&app, rid).await;
    let reply = app
        .patch(
            &format!("/api/v1/companies/{rid}"),
            Some("\"1\""),
            &json!({"is_reseller": false}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = register(
        &app,
        &registration(&secret, "Самозванец", "fake@example.ru"),
    )
    .await;
    assert_eq!(reply.status, 409);

    let refused = audit(&app, "company.registration_refused").await;
    assert_eq!(refused.len(), 7);
    assert_eq!(refused[0]["ip"], "127.0.0.1");
    assert_eq!(refused[0]["actor_user_id"], Value::Null);
}

#[tokio::test]
async fn only_a_reseller_gets_a_registration_link_and_only_from_those_with_the_right() {
    let app = TestApp::spawn().await;
    let plain = create(
        &app,
        json!({"name": "Обычный клиент", "inns": ["7707083893"]}),
    )
    .await;
    let reply = app
        .post(
            &format!("/api/v1/companies/{plain}/registration-link"),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 409, "{}", reply.text);
    assert_eq!(reply.body["code"], "registration.not_reseller");
    assert_eq!(
        reply.body["title"],
        "Ссылка для регистрации есть только у реселлера: отметьте компанию как реселлера"
    );
    let provider = app
        .post("/api/v1/companies/1/registration-link", &json!({}))
        .await;
    assert_eq!(provider.body["code"], "registration.not_reseller");
    assert_eq!(
        app.get(&format!("/api/v1/companies/{plain}/registration-link"))
            .await
            .body["active"],
        false
    );

    // A reseller's own staff with the right manage its link; without it,
    // or for another reseller, they cannot.
    let north = reseller(&app, "Партнёр Один").await;
    let south = reseller(&app, "Партнёр Два").await;
    let editor = staff(
        &app,
        "northeditor",
        north,
        &["companies.view", "companies.edit"],
    )
    .await;
    let viewer = staff(&app, "northviewer", north, &["companies.view"]).await;
    let own = format!("/api/v1/companies/{north}/registration-link");
    let made = as_token(&app, &editor, Method::POST, &own, None).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let seen = as_token(&app, &viewer, Method::GET, &own, None).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["active"], true);
    let refused = as_token(&app, &viewer, Method::POST, &own, None).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        as_token(&app, &viewer, Method::DELETE, &own, None)
            .await
            .status,
        403
    );
    let foreign = format!("/api/v1/companies/{south}/registration-link");
    assert_eq!(
        as_token(&app, &editor, Method::POST, &foreign, None)
            .await
            .status,
        404
    );
    assert_eq!(
        as_token(&app, &editor, Method::GET, &foreign, None)
            .await
            .status,
        404
    );
    let anonymous = app
        .anonymous(Method::POST, &own)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(anonymous, 401);
}

#[tokio::test]
async fn registrations_are_limited_per_address() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Быстрый").await;
    let (_, secret) = make_link(&app, rid).await;
    for n in 0..10 {
        let reply = register(
            &app,
            &registration(
                &secret,
                &format!("Компания {n}"),
                &format!("admin{n}@example.ru"),
            ),
        )
        .await;
        assert_eq!(reply.status, 201, "{n}: {}", reply.text);
    }
    let eleventh = register(
        &app,
        &registration(&secret, "Одиннадцатая", "admin11@example.ru"),
    )
    .await;
    assert_eq!(eleventh.status, 429, "{}", eleventh.text);
    assert_eq!(eleventh.body["code"], "registration.too_many");
    let wait: u64 = eleventh.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    // The form says the same.
    let client = browser();
    let page = client.get(app.url("/register")).send().await.unwrap();
    let csrf = csrf_in(&page.text().await.unwrap());
    let form = client
        .post(app.url("/register"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", secret.as_str()),
            ("company_name", "Двенадцатая"),
            ("inn", "7736207543"),
            ("first_name", "Иван"),
            ("last_name", "Иванов"),
            ("email", "admin12@example.ru"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(form.headers().contains_key("retry-after"));
    assert!(form
        .text()
        .await
        .unwrap()
        .contains("Слишком много регистраций с этого адреса"));
    let children = app.get(&format!("/api/v1/companies?parent_id={rid}")).await;
    assert_eq!(children.body["total"], 10);
}

#[tokio::test]
async fn t8_an_operator_attaches_an_existing_company_to_a_reseller() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Приёмный").await;
    let existing = create(
        &app,
        json!({"name": "Давний клиент", "inns": ["7736207543"]}),
    )
    .await;
    let token = staff(&app, "adoptstaff", rid, &["companies.view"]).await;
    let list = as_token(&app, &token, Method::GET, "/api/v1/companies", None).await;
    assert!(company_named(&list, "Давний клиент").is_none());

    // Without the right, no.
    let viewer = staff(&app, "providerviewer", 1, &["companies.view"]).await;
    let refused = app
        .with_token(
            &viewer,
            Method::PATCH,
            &format!("/api/v1/companies/{existing}"),
        )
        .header("content-type", "application/merge-patch+json")
        .header("if-match", "\"1\"")
        .body(json!({"parent_id": rid}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);

    // The operator attaches it: the reseller id on the company.
    let reply = app
        .patch(
            &format!("/api/v1/companies/{existing}"),
            Some("\"1\""),
            &json!({"parent_id": rid}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["parent_id"], rid);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{rid}")).await.body["children_count"],
        1
    );
    let list = as_token(&app, &token, Method::GET, "/api/v1/companies", None).await;
    assert!(
        company_named(&list, "Давний клиент").is_some(),
        "{}",
        list.text
    );
    let existing_id = existing.to_string();
    let updates = audit(&app, "company.update").await;
    let update = updates
        .iter()
        .find(|e| e["entity_id"].as_str() == Some(existing_id.as_str()))
        .expect("the move is audited");
    assert_eq!(update["before"]["parent_id"], 1);
    assert_eq!(update["after"]["parent_id"], rid);

    // The tree rules hold: not under an affiliate, no reseller under a reseller.
    let other = create(&app, json!({"name": "Ещё клиент", "inns": ["7736207543"]})).await;
    let reply = app
        .patch(
            &format!("/api/v1/companies/{other}"),
            Some("\"1\""),
            &json!({"parent_id": existing}),
        )
        .await;
    assert_eq!(
        reply.error_codes(),
        vec![("parent_id".to_string(), "parent.not_reseller".to_string())]
    );
    let second = reseller(&app, "Партнёр Другой").await;
    let reply = app
        .patch(
            &format!("/api/v1/companies/{second}"),
            Some("\"1\""),
            &json!({"parent_id": rid}),
        )
        .await;
    assert_eq!(reply.status, 422);
    assert!(reply
        .error_codes()
        .iter()
        .any(|(_, code)| code == "reseller.must_be_under_provider"));
}

#[tokio::test]
async fn the_console_makes_shows_once_and_disables_the_link() {
    let app = TestApp::spawn().await;
    let rid = reseller(&app, "Партнёр Консольный").await;
    let page = format!("/companies/{rid}/registration-link");
    let (client, csrf) = app.console_sign_in(&page).await;

    let card = client
        .get(app.url(&format!("/companies/{rid}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        card.contains(&format!("href=\"{page}\"")),
        "the card links to it"
    );

    let made = client
        .post(app.url(&page))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::OK);
    let html = made.text().await.unwrap();
    assert!(html.contains("data-testid=\"registration-url\""), "{html}");
    let start = html.find("/register#").unwrap() + "/register#".len();
    let secret: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(secret.len(), 64);

    let again = client
        .get(app.url(&page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains(&secret), "shown once");
    assert!(again.contains("Действует"));
    let reply = register(
        &app,
        &registration(&secret, "Из консоли", "console@example.ru"),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    let disabled = client
        .post(app.url(&format!("{page}/disable")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    let back = disabled.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&page), "{back}");
    let after = client
        .get(app.url(&back))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(after.contains("Нет действующей ссылки"));
    assert!(after.contains("Ссылка для регистрации отключена"));
    let forged = client
        .post(app.url(&page))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{rid}/registration-link"))
            .await
            .body["active"],
        false
    );

    // A company that is not a reseller says so, with no button.
    let plain = create(&app, json!({"name": "Не реселлер", "inns": ["7707083893"]})).await;
    let html = client
        .get(app.url(&format!("/companies/{plain}/registration-link")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-testid=\"not-reseller\""));
    assert!(!html.contains("data-testid=\"registration-create\""));
    let refused = client
        .post(app.url(&format!("/companies/{plain}/registration-link")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}
