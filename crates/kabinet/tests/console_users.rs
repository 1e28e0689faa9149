//! The people pages of the console over plain HTTP: the form with its field
//! errors, the generated password shown once, search, stale edits, blocking,
//! the delete and restore confirmations, the link from the company card.

use kabinet_testkit::{company, urlencode, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

/// The text between `marker` and the next `<`.
fn text_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    html[start..].split('<').next().map(str::to_string)
}

async fn sign_in(app: &TestApp) -> (Client, String) {
    app.console_sign_in("/users").await
}

async fn page(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Creates a person through the API and returns the DTO.
async fn create_person(app: &TestApp, body: Value) -> Value {
    let reply = app.post("/api/v1/users", &body).await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "create failed: {}",
        reply.body
    );
    reply.body
}

async fn api_login_status(app: &TestApp, login: &str, password: &str) -> StatusCode {
    app.anonymous(reqwest::Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_bad_login_and_a_common_password_are_both_shown_and_the_input_is_kept() {
    let app = TestApp::spawn().await;
    let (client, csrf) = sign_in(&app).await;

    let (status, form) = page(&client, &app, "/users/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("name=\"password_mode\" value=\"generate\" checked"));
    assert!(form.contains("autocomplete=\"new-password\""));
    assert!(
        form.contains("id=\"f-company_id\" name=\"company_id\" type=\"text\" inputmode=\"numeric\" value=\"1\""),
        "the actor's company by default"
    );

    let response = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "иван петров"),
            ("last_name", "Петров"),
            ("first_name", "Иван"),
            ("email", "ivan@example.ru"),
            ("kind", "client_user"),
            ("password_mode", "set"),
            ("password", "password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-field=\"login\""), "{html}");
    assert!(html.contains("Логин: только латинские буквы и цифры"));
    assert!(html.contains("data-field=\"password\""));
    assert!(html.contains("Этот пароль слишком распространён"));
    assert!(
        html.contains("value=\"иван петров\"") && html.contains("value=\"Петров\""),
        "what was typed stays in the form"
    );
    assert!(html.contains("value=\"ivan@example.ru\""));
    assert!(
        html.contains("name=\"password_mode\" value=\"set\" checked"),
        "the password choice is kept"
    );
    assert!(
        !html.contains("value=\"password\""),
        "a password is never sent back"
    );
    assert_eq!(
        app.get("/api/v1/users").await.body["total"],
        1,
        "nothing saved"
    );

    let forged = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", "forged"),
            ("login", "forged"),
            ("last_name", "X"),
            ("first_name", "Y"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A chosen password that passes the policy: straight to the card.
    let response = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "ipetrov"),
            ("last_name", "Петров"),
            ("first_name", "Иван"),
            ("mobile_phone", "8 916 123 45 67"),
            ("kind", "client_user"),
            ("chat_enabled", "on"),
            ("password_mode", "set"),
            ("password", "tiger lily meadow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.ends_with("?flash=flash.user_created"),
        "{location}"
    );
    let (_, card) = page(&client, &app, &location).await;
    assert!(card.contains("Пользователь создан"));
    assert!(card.contains("+7 (916) 123-45-67"));
    assert!(!card.contains("data-testid=\"new-password\""));
    assert_eq!(
        api_login_status(&app, "ipetrov", "tiger lily meadow").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_generated_password_is_shown_once_and_signs_in() {
    let app = TestApp::spawn().await;
    let (client, csrf) = sign_in(&app).await;
    let response = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "newbie"),
            ("last_name", "Новикова"),
            ("first_name", "Анна"),
            ("kind", "client_user"),
            ("password_mode", "generate"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "rendered, not redirected"
    );
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let password =
        text_after(&html, "data-testid=\"new-password\">").expect("the password is shown");
    assert!(password.len() >= 12, "{password}");
    assert!(html.contains("Новикова Анна"));

    assert_eq!(
        api_login_status(&app, "newbie", &password).await,
        StatusCode::OK,
        "the person signs in with it"
    );

    let list = app.get("/api/v1/users?q=newbie").await;
    let id = list.body["items"][0]["id"].as_i64().unwrap();
    assert_eq!(list.body["items"][0]["must_change_password"], true);
    let (_, card) = page(&client, &app, &format!("/users/{id}")).await;
    assert!(
        !card.contains(&password) && !card.contains("data-testid=\"new-password\""),
        "shown only once"
    );
}

#[tokio::test]
async fn the_list_finds_people_by_fragments_sorts_and_filters() {
    let app = TestApp::spawn().await;
    let client_co = app.create_company(company("Клиент Один")).await;
    let cid = client_co["id"].as_i64().unwrap();
    create_person(
        &app,
        json!({"login": "aleks", "last_name": "Александрова", "first_name": "Мария",
               "email": "maria@example.ru", "mobile_phone": "+7 916 555-12-34",
               "company_id": cid, "password": "tiger lily meadow"}),
    )
    .await;
    create_person(
        &app,
        json!({"login": "semen", "last_name": "Семёнов", "first_name": "Пётр", "kind": "staff"}),
    )
    .await;
    let (client, _) = sign_in(&app).await;

    let (status, html) = page(
        &client,
        &app,
        &format!("/users?partial=1&q={}", urlencode("АЛЕКСАНД")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !html.contains("<html"),
        "partial=1 renders only the results"
    );
    assert!(html.contains("Александрова Мария"), "{html}");
    assert!(!html.contains("Семёнов"));
    assert!(html.contains(&format!("<a href=\"/companies/{cid}\">Клиент Один</a>")));
    assert!(
        html.contains("data-label=\"Логин\""),
        "cells carry labels for phones"
    );

    for (query, expected) in [
        ("5551234", "Александрова"),
        ("maria@", "Александрова"),
        ("semen", "Семёнов"),
        ("СЕМЕН", "Семёнов"),
    ] {
        let (_, html) = page(
            &client,
            &app,
            &format!("/users?partial=1&q={}", urlencode(query)),
        )
        .await;
        assert!(html.contains(expected), "{query} finds {expected}");
    }

    let (_, html) = page(
        &client,
        &app,
        "/users?partial=1&kind=staff&sort=login&dir=desc",
    )
    .await;
    assert!(html.contains("Семёнов") && !html.contains("Александрова"));
    assert!(
        html.contains("aria-sort=\"descending\""),
        "the sorted column says so"
    );

    let (_, full) = page(&client, &app, &format!("/users?company_id={cid}")).await;
    assert!(full.contains("data-testid=\"company-filter\""));
    assert!(full.contains(&format!("name=\"company_id\" value=\"{cid}\"")));
    assert!(full.contains(&format!("href=\"/users/new?company_id={cid}\"")));
    assert!(full.contains("Александрова") && !full.contains("Семёнов"));
    assert!(full.contains("aria-current=\"page\">Пользователи<"));

    let english = client
        .get(app.url("/users"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("New person") && english.contains("Provider staff"));
}

#[tokio::test]
async fn a_stale_edit_shows_the_saved_values_and_a_second_save_wins() {
    let app = TestApp::spawn().await;
    let created = create_person(
        &app,
        json!({"login": "shared", "last_name": "Общий", "first_name": "Карл"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (client, csrf) = sign_in(&app).await;
    let (_, form) = page(&client, &app, &format!("/users/{id}/edit")).await;
    assert!(form.contains("name=\"version\" value=\"1\""));
    assert!(form.contains("name=\"new_password\""));
    assert!(form.contains("<option value=\"active\" selected>"));

    // Someone else saves first.
    let reply = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some("\"1\""),
            &json!({"last_name": "Изменённый"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let fields = |version: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("version", version.to_string()),
            ("login", "shared".to_string()),
            ("last_name", "Моя правка".to_string()),
            ("first_name", "Карл".to_string()),
            ("company_id", "1".to_string()),
            ("kind", "client_user".to_string()),
            ("status", "active".to_string()),
        ]
    };
    let response = client
        .post(app.url(&format!("/users/{id}/edit")))
        .form(&fields("1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-testid=\"stale\""));
    assert!(html.contains("Изменённый"), "the saved value is shown");
    assert!(
        html.contains("value=\"Моя правка\""),
        "the person's input is kept"
    );
    assert!(
        html.contains("name=\"version\" value=\"2\""),
        "saving again knowingly overwrites"
    );

    let response = client
        .post(app.url(&format!("/users/{id}/edit")))
        .form(&fields("2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}")).await.body["last_name"],
        "Моя правка"
    );
}

#[tokio::test]
async fn blocking_in_the_form_ends_the_persons_session() {
    let app = TestApp::spawn().await;
    let created = create_person(
        &app,
        json!({"login": "worker", "last_name": "Рабочий", "first_name": "Олег",
               "password": "tiger lily meadow"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (person, _) = app.session("worker", "tiger lily meadow").await;
    let me = person.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    let (client, csrf) = sign_in(&app).await;
    let (_, card) = page(&client, &app, &format!("/users/{id}")).await;
    assert!(
        card.contains("data-testid=\"sessions\""),
        "the admin sees sessions"
    );
    assert!(card.contains(
        "/users/{id}/sessions/end"
            .replace("{id}", &id.to_string())
            .as_str()
    ));
    assert!(card.contains("data-confirm="));

    let (_, form) = page(&client, &app, &format!("/users/{id}/edit")).await;
    let version = text_after(&form, "name=\"version\" value=\"")
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let response = client
        .post(app.url(&format!("/users/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", version.as_str()),
            ("login", "worker"),
            ("last_name", "Рабочий"),
            ("first_name", "Олег"),
            ("company_id", "1"),
            ("kind", "client_user"),
            ("status", "blocked"),
            ("new_password", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (_, card) = page(&client, &app, &location).await;
    assert!(card.contains("Заблокирован"));
    assert!(card.contains("Изменения сохранены"));

    let me = person.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED, "blocked: signed out");
    assert_eq!(
        api_login_status(&app, "worker", "tiger lily meadow").await,
        StatusCode::UNAUTHORIZED
    );

    // One cannot block oneself.
    let (_, own) = page(&client, &app, "/users/1/edit").await;
    let version = text_after(&own, "name=\"version\" value=\"")
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let admin = app.get("/api/v1/users/1").await.body;
    let response = client
        .post(app.url("/users/1/edit"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", version.as_str()),
            ("login", "admin"),
            ("last_name", admin["last_name"].as_str().unwrap()),
            ("first_name", admin["first_name"].as_str().unwrap()),
            ("company_id", "1"),
            ("kind", admin["kind"].as_str().unwrap()),
            ("status", "blocked"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-field=\"status\""));
}

#[tokio::test]
async fn ending_sessions_from_the_card_signs_the_person_out() {
    let app = TestApp::spawn().await;
    let created = create_person(
        &app,
        json!({"login": "roamer", "last_name": "Странник", "first_name": "Ян",
               "password": "tiger lily meadow"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (person, _) = app.session("roamer", "tiger lily meadow").await;
    let (client, csrf) = sign_in(&app).await;
    let forged = client
        .post(app.url(&format!("/users/{id}/sessions/end")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let response = client
        .post(app.url(&format!("/users/{id}/sessions/end")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let me = person.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let (_, card) = page(
        &client,
        &app,
        &format!("/users/{id}?flash=flash.user_sessions_ended"),
    )
    .await;
    assert!(card.contains("Все сеансы пользователя завершены"));
    assert!(card.contains("Активных сеансов нет"));
}

#[tokio::test]
async fn delete_and_restore_go_through_confirmation_pages() {
    let app = TestApp::spawn().await;
    let created = create_person(
        &app,
        json!({"login": "leaver", "last_name": "Уходящий", "first_name": "Лев",
               "password": "tiger lily meadow"}),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let (client, csrf) = sign_in(&app).await;

    let (_, card) = page(&client, &app, &format!("/users/{id}")).await;
    assert!(card.contains(&format!("href=\"/users/{id}/delete\"")));
    let (status, confirm) = page(&client, &app, &format!("/users/{id}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Уходящий Лев") && confirm.contains("Да, удалить"));

    let response = client
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&[("csrf", csrf.as_str()), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let (_, card) = page(&client, &app, &location).await;
    assert!(card.contains("Пользователь удалён"), "the flash");
    assert!(card.contains("data-testid=\"deleted\""));
    assert!(card.contains(&format!("href=\"/users/{id}/restore\"")));
    assert!(!card.contains(&format!("href=\"/users/{id}/edit\"")));

    let (_, only) = page(&client, &app, "/users?deleted=only&partial=1").await;
    assert!(only.contains("Уходящий Лев"));
    let (_, live) = page(&client, &app, "/users?partial=1").await;
    assert!(!live.contains("Уходящий Лев"));
    assert_eq!(
        api_login_status(&app, "leaver", "tiger lily meadow").await,
        StatusCode::UNAUTHORIZED
    );

    let again = client
        .post(app.url(&format!("/users/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);

    let (status, confirm) = page(&client, &app, &format!("/users/{id}/restore")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Да, восстановить"));
    let response = client
        .post(app.url(&format!("/users/{id}/restore")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, live) = page(&client, &app, "/users?partial=1").await;
    assert!(live.contains("Уходящий Лев"), "restored");
    assert_eq!(
        api_login_status(&app, "leaver", "tiger lily meadow").await,
        StatusCode::OK
    );

    // Oneself: no delete button, and the refusal is said up front.
    let (_, own) = page(&client, &app, "/users/1").await;
    assert!(!own.contains("href=\"/users/1/delete\""));
    let (_, confirm) = page(&client, &app, "/users/1/delete").await;
    assert!(confirm.contains("Нельзя удалить самого себя"));
    assert!(!confirm.contains("Да, удалить"));
    let refused = client
        .post(app.url("/users/1/delete"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_company_card_links_to_its_employees() {
    let app = TestApp::spawn().await;
    let client_co = app.create_company(company("Рога и копыта")).await;
    let cid = client_co["id"].as_i64().unwrap();
    create_person(
        &app,
        json!({"login": "bender", "last_name": "Бендер", "first_name": "Остап", "company_id": cid}),
    )
    .await;
    let (client, csrf) = sign_in(&app).await;
    let (_, card) = page(&client, &app, &format!("/companies/{cid}?tab=employees")).await;
    let link = format!("href=\"/users?company_id={cid}\"");
    assert!(
        card.contains(&link),
        "the Employees tab links to the full, searchable list"
    );
    assert!(card.contains("Сотрудники"));

    let (status, list) = page(&client, &app, &format!("/users?company_id={cid}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Бендер Остап"));
    assert!(list.contains("Рога и копыта"));
    assert!(!list.contains(">admin<"), "only this company's people");

    let (_, form) = page(&client, &app, &format!("/users/new?company_id={cid}")).await;
    assert!(
        form.contains(&format!(
            "name=\"company_id\" type=\"text\" inputmode=\"numeric\" value=\"{cid}\""
        )),
        "a new person goes to the filtered company"
    );
    let response = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "kozlevich"),
            ("last_name", "Козлевич"),
            ("first_name", "Адам"),
            ("company_id", &cid.to_string()),
            ("kind", "client_user"),
            ("password_mode", "generate"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!("<a href=\"/companies/{cid}\">Рога и копыта</a>")));
    let people = app.get(&format!("/api/v1/users?company_id={cid}")).await;
    assert_eq!(people.body["total"], 2);

    let response = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "nowhere"),
            ("last_name", "Никто"),
            ("first_name", "Никак"),
            ("company_id", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("data-field=\"company_id\""));
}

#[tokio::test]
async fn address_rules_are_edited_on_the_card_and_cannot_lock_you_out() {
    let app = TestApp::spawn().await;
    let person = create_person(
        &app,
        json!({"login": "guarded", "first_name": "G", "last_name": "U"}),
    )
    .await;
    let id = person["id"].as_i64().unwrap();
    let (client, csrf) = sign_in(&app).await;
    let card = client
        .get(app.url(&format!("/users/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains("data-testid=\"ip-rules\""));
    assert!(
        card.contains("data-testid=\"current-ip\">127.0.0.1<"),
        "the current address is shown before anyone saves"
    );

    let bad = client
        .post(app.url(&format!("/users/{id}/ip-rules")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ip_rules", "10.0.0.0/8\nnot-an-ip"),
            ("session_binding", "strict"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("#2:"), "the bad line is named");
    assert!(
        html.contains("10.0.0.0/8\nnot-an-ip"),
        "what was typed stays"
    );

    let saved = client
        .post(app.url(&format!("/users/{id}/ip-rules")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ip_rules", "10.0.0.0/8\n192.0.2.1"),
            ("session_binding", "strict"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let api = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(api.body["ip_rules"], json!(["10.0.0.0/8", "192.0.2.1"]));
    assert_eq!(api.body["session_binding"], "strict");

    let me = app.get("/api/v1/me").await.body["user_id"]
        .as_i64()
        .unwrap();
    let locked = client
        .post(app.url(&format!("/users/{me}/ip-rules")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("ip_rules", "10.0.0.0/8"),
            ("session_binding", "off"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(locked.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(locked
        .text()
        .await
        .unwrap()
        .contains("Эти правила не пускают ваш текущий адрес"));
    assert_eq!(
        client
            .get(app.url("/companies"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn the_card_offers_an_avatar_upload_and_shows_the_picture() {
    let app = TestApp::spawn().await;
    let person = create_person(
        &app,
        json!({"login": "facey", "first_name": "F", "last_name": "A"}),
    )
    .await;
    let id = person["id"].as_i64().unwrap();
    let (client, _) = sign_in(&app).await;
    let card = client
        .get(app.url(&format!("/users/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains(&format!("data-avatar-upload=\"/api/v1/users/{id}/avatar\"")));
    assert!(!card.contains("<img class=\"avatar\""));
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    png.extend(80u32.to_be_bytes());
    png.extend(80u32.to_be_bytes());
    png.extend([8, 6, 0, 0, 0]);
    let put = app
        .request(reqwest::Method::PUT, &format!("/api/v1/users/{id}/avatar"))
        .body(png)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let card = client
        .get(app.url(&format!("/users/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains(&format!(
        "<img class=\"avatar\" src=\"/api/v1/users/{id}/avatar\""
    )));
    let picture = client
        .get(app.url(&format!("/api/v1/users/{id}/avatar")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        picture.status(),
        StatusCode::OK,
        "the console session can read it"
    );
}

#[tokio::test]
async fn an_invited_person_gets_a_link_and_needs_an_email_for_it() {
    let app = TestApp::spawn().await;
    let (client, csrf) = sign_in(&app).await;
    let fields = |email: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("login", "invitee".to_string()),
            ("last_name", "Гостева".to_string()),
            ("first_name", "Ирина".to_string()),
            ("kind", "client_user".to_string()),
            ("email", email.to_string()),
            ("password_mode", "invite".to_string()),
        ]
    };
    let refused = client
        .post(app.url("/users/new"))
        .form(&fields(""))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("data-field=\"email\""),
        "the e-mail is required for an invitation"
    );
    assert!(
        html.contains("value=\"invite\" checked"),
        "the choice is kept"
    );

    let created = client
        .post(app.url("/users/new"))
        .form(&fields("irina@example.ru"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let outbox = app.get("/api/v1/outbox?topic=email").await;
    assert_eq!(outbox.body["items"][0]["payload"]["to"], "irina@example.ru");
    assert!(outbox.body["items"][0]["payload"]["text"]
        .as_str()
        .unwrap()
        .contains("/password/set#"));
    let person = app.get("/api/v1/users?q=invitee").await;
    assert_eq!(person.body["items"][0]["has_password"], false);
}

#[tokio::test]
async fn the_company_card_has_an_employees_tab() {
    let app = TestApp::spawn().await;
    let client_co = app.create_company(company("Tabbed Co")).await;
    let id = client_co["id"].as_i64().unwrap();
    for (login, last) in [("tabone", "Альфа"), ("tabtwo", "Бета")] {
        create_person(
            &app,
            json!({"login": login, "first_name": "Имя", "last_name": last, "company_id": id,
                   "email": format!("{login}@example.ru"), "may_open_admin_cabinet": login == "tabone"}),
        )
        .await;
    }
    // Someone elsewhere does not appear.
    create_person(
        &app,
        json!({"login": "elsewhere", "first_name": "A", "last_name": "Гамма"}),
    )
    .await;
    let (browser, _) = sign_in(&app).await;

    let (status, card) = page(&browser, &app, &format!("/companies/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        card.contains(&format!("href=\"/companies/{id}?tab=employees\"")),
        "{card}"
    );
    assert!(card.contains("Сотрудники (2)"), "the tab shows the count");
    assert!(!card.contains("data-testid=\"employees-tab\""));

    let (status, tab) = page(&browser, &app, &format!("/companies/{id}?tab=employees")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(tab.contains("data-testid=\"employees-tab\""));
    assert!(tab.contains("Альфа Имя") && tab.contains("Бета Имя"));
    assert!(tab.contains("tabone@example.ru"));
    assert!(!tab.contains("Гамма"), "only this company's people");
    assert!(tab.contains(&format!("href=\"/users/new?company_id={id}\"")));
    assert!(tab.contains("aria-current=\"page\">Сотрудники"));

    // From the company's row in the list, straight to its people (T7).
    let (_, list) = page(&browser, &app, "/companies?q=Tabbed").await;
    assert!(list.contains(&format!(
        "href=\"/companies/{id}?tab=employees\" data-testid=\"row-employees\""
    )));
}
