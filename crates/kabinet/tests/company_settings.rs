//! Sign-in settings of a company (T4, M6) and what they do to its people:
//! e-mail as the login, the login and a generated password by e-mail, and
//! the e-mail about a changed login. Through HTTP, on SQLite and PostgreSQL.

use kabinet_testkit::{company, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn login_status(app: &TestApp, login: &str, password: &str) -> u16 {
    app.anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The payloads of the e-mails to `to` in the outbox, newest first.
async fn emails_to(app: &TestApp, to: &str) -> Vec<Value> {
    let outbox = app.get("/api/v1/outbox?topic=email&limit=500").await;
    assert_eq!(outbox.status, 200, "{}", outbox.text);
    outbox.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["payload"].clone())
        .filter(|p| p["to"] == to)
        .collect()
}

/// The value after `label` on its line of an e-mail text.
fn line_value(text: &str, label: &str) -> String {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {text}"))
        + label.len();
    text[start..].lines().next().unwrap().trim().to_string()
}

/// A POST as the admin with the given `Accept-Language`.
async fn post_in(app: &TestApp, lang: &str, path: &str, body: &Value) -> Value {
    app.request(Method::POST, path)
        .header("accept-language", lang)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_settings_round_trip_and_are_audited_and_shown_on_the_card() {
    let app = TestApp::spawn().await;
    let plain = app.create_company(company("Plain Co")).await;
    for flag in ["sms_second_factor", "email_is_login", "password_in_email"] {
        assert_eq!(plain[flag], false, "{flag} is off unless asked");
    }

    let mut body = company("Settings Co");
    body["sms_second_factor"] = json!(true);
    body["email_is_login"] = json!(true);
    let created = app.create_company(body).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["sms_second_factor"], true);
    assert_eq!(created["email_is_login"], true);
    assert_eq!(created["password_in_email"], false);

    let path = format!("/api/v1/companies/{id}");
    let read = app.get(&path).await;
    assert_eq!(read.body["sms_second_factor"], true);
    assert_eq!(read.body["email_is_login"], true);
    assert_eq!(read.body["password_in_email"], false);

    let patched = app
        .patch(
            &path,
            read.header("etag"),
            &json!({"sms_second_factor": false, "password_in_email": true}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let read = app.get(&path).await;
    assert_eq!(read.body["sms_second_factor"], false);
    assert_eq!(read.body["email_is_login"], true, "untouched by the patch");
    assert_eq!(read.body["password_in_email"], true);

    let audit = app
        .get(&format!(
            "/api/v1/audit?action=company.update&entity_type=company&entity_id={id}"
        ))
        .await;
    let entry = &audit.body["items"][0];
    assert_eq!(entry["before"]["sms_second_factor"], true);
    assert_eq!(entry["after"]["sms_second_factor"], false);
    assert_eq!(entry["before"]["password_in_email"], false);
    assert_eq!(entry["after"]["password_in_email"], true);

    let wrong = app
        .patch(&path, Some("\"2\""), &json!({"email_is_login": "yes"}))
        .await;
    assert_eq!(
        wrong.status.as_u16(),
        422,
        "a flag is a boolean: {}",
        wrong.text
    );

    // The console card shows them under "Вход" / "Sign-in".
    let (client, csrf) = app.console_sign_in(&format!("/companies/{id}")).await;
    let card = client
        .get(app.url(&format!("/companies/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains("<h2>Вход</h2>"), "{card}");
    assert!(card.contains("<dt>Подтверждение входа по SMS</dt><dd>Нет</dd>"));
    assert!(card.contains("<dt>Эл. почта — логин</dt><dd>Да</dd>"));
    assert!(card.contains("<dt>Логин и пароль — письмом</dt><dd>Да</dd>"));

    // The form has a checkbox with a hint for each, and saves them.
    let form = client
        .get(app.url(&format!("/companies/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"email_is_login\" value=\"on\" checked"));
    assert!(form.contains("name=\"sms_second_factor\" value=\"on\" >"));
    assert!(form.contains("Сотрудники компании входят по адресу эл. почты"));
    let saved = client
        .post(app.url(&format!("/companies/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", "2"),
            ("name", "Settings Co"),
            ("inns", "7707083893"),
            ("max_dialogs_per_operator", "3000"),
            ("sms_second_factor", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let read = app.get(&path).await;
    assert_eq!(read.body["sms_second_factor"], true);
    assert_eq!(read.body["email_is_login"], false);
    assert_eq!(read.body["password_in_email"], false);

    let english = client
        .get(app.url("/lang?set=en&back=%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), StatusCode::SEE_OTHER);
    let card = client
        .get(app.url(&format!("/companies/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains("<h2>Sign-in</h2>"));
    assert!(card.contains("<dt>Confirm sign-in by SMS</dt><dd>Yes</dd>"));
    assert!(card.contains("<dt>E-mail is the login</dt><dd>No</dd>"));
}

#[tokio::test]
async fn where_the_email_is_the_login_people_sign_in_with_it() {
    let app = TestApp::spawn().await;
    let mut body = company("Mail Login Co");
    body["email_is_login"] = json!(true);
    let cid = app.create_company(body).await["id"].clone();
    let person = |extra: Value| {
        let mut body = json!({"company_id": cid, "first_name": "Ольга", "last_name": "Иванова",
                              "password": "olga has a long passphrase"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };

    let without = post_in(&app, "en", "/api/v1/users", &person(json!({}))).await;
    assert_eq!(without["status"], 422, "{without}");
    assert_eq!(without["errors"][0]["field"], "email");
    assert_eq!(without["errors"][0]["code"], "required");
    assert_eq!(without["errors"][0]["message"], "This field is required");

    let mismatch = post_in(
        &app,
        "ru",
        "/api/v1/users",
        &person(json!({"login": "olga", "email": "olga@example.ru"})),
    )
    .await;
    assert_eq!(mismatch["status"], 422);
    assert_eq!(mismatch["errors"][0]["field"], "login");
    assert_eq!(mismatch["errors"][0]["code"], "login.must_be_email");
    assert!(mismatch["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("логин — адрес эл. почты"));
    let mismatch = post_in(
        &app,
        "en",
        "/api/v1/users",
        &person(json!({"login": "olga", "email": "olga@example.ru"})),
    )
    .await;
    assert!(mismatch["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("the login is the e-mail address"));
    assert_eq!(
        app.get("/api/v1/users").await.body["total"],
        1,
        "only admin"
    );

    let created = app
        .post(
            "/api/v1/users",
            &person(json!({"email": "Olga.Ivanova@Example.RU"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["login"], "olga.ivanova@example.ru");
    assert_eq!(created.body["email"], "Olga.Ivanova@example.ru");
    let id = created.body["id"].as_i64().unwrap();
    let same = app
        .post(
            "/api/v1/users",
            &person(
                json!({"login": "OLGA.IVANOVA@example.ru", "email": "olga.ivanova@example.ru",
                           "first_name": "Другая"}),
            ),
        )
        .await;
    assert_eq!(
        same.error_codes(),
        vec![("email".to_string(), "email.login_taken".to_string())],
        "a repeated address (in any case) is accepted as the login, and it is taken"
    );
    let long = format!("{}@example.ru", "o".repeat(40));
    let long_login = app
        .post(
            "/api/v1/users",
            &person(json!({"email": long, "first_name": "Длинный"})),
        )
        .await;
    assert_eq!(
        long_login.status, 201,
        "longer than 20: {}",
        long_login.text
    );
    assert_eq!(long_login.body["login"], long);

    assert_eq!(
        login_status(
            &app,
            "Olga.Ivanova@example.ru",
            "olga has a long passphrase"
        )
        .await,
        200,
        "the e-mail signs in, in any case"
    );

    // Editing the e-mail changes the login, and the person is told.
    let path = format!("/api/v1/users/{id}");
    let moved = app
        .patch(
            &path,
            Some("\"1\""),
            &json!({"email": "olga@new.example.ru"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["login"], "olga@new.example.ru");
    assert_eq!(
        login_status(&app, "olga@new.example.ru", "olga has a long passphrase").await,
        200
    );
    assert_eq!(
        login_status(
            &app,
            "olga.ivanova@example.ru",
            "olga has a long passphrase"
        )
        .await,
        401,
        "the old address no longer signs in"
    );
    let mail = emails_to(&app, "olga@new.example.ru").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let text = mail[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Теперь ваш логин: olga@new.example.ru")
            && text.contains("Пароль не изменился")
            && text.contains("Your login is now: olga@new.example.ru")
            && text.contains("Your password did not change"),
        "{text}"
    );
    assert!(
        text.find("Здравствуйте") < text.find("Hello"),
        "Russian first"
    );
    assert_eq!(
        app.get("/api/v1/audit?action=user.update").await.body["items"][0]["after"]["login"],
        "olga@new.example.ru"
    );

    let renamed = app
        .patch(&path, Some("\"2\""), &json!({"login": "olga"}))
        .await;
    assert_eq!(
        renamed.error_codes(),
        vec![("login".to_string(), "login.must_be_email".to_string())]
    );
    let no_email = app
        .patch(&path, Some("\"2\""), &json!({"email": null}))
        .await;
    assert_eq!(
        no_email.error_codes(),
        vec![("email".to_string(), "required".to_string())]
    );
    let other = app
        .patch(&path, Some("\"2\""), &json!({"position": "Бухгалтер"}))
        .await;
    assert_eq!(other.status, 200, "{}", other.text);
    assert_eq!(
        emails_to(&app, "olga@new.example.ru").await.len(),
        1,
        "no login change, no e-mail"
    );

    // The console form: the login is left empty.
    let (client, csrf) = app.console_sign_in("/users/new").await;
    let cid_text = cid.to_string();
    let response = client
        .post(app.url("/users/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("company_id", cid_text.as_str()),
            ("login", ""),
            ("last_name", "Петров"),
            ("first_name", "Пётр"),
            ("email", "Petr@Example.ru"),
            ("kind", "client_user"),
            ("password_mode", "set"),
            ("password", "petr has a long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        login_status(&app, "petr@example.ru", "petr has a long passphrase").await,
        200
    );
}

#[tokio::test]
async fn where_the_password_comes_by_email_it_signs_in_once_and_must_be_changed() {
    let app = TestApp::spawn().await;
    let mut body = company("Password Mail Co");
    body["password_in_email"] = json!(true);
    let cid = app.create_company(body).await["id"].clone();

    let without = app
        .post(
            "/api/v1/users",
            &json!({"company_id": cid, "login": "nomail", "first_name": "N", "last_name": "M"}),
        )
        .await;
    assert_eq!(
        without.error_codes(),
        vec![(
            "email".to_string(),
            "email.required_for_password_email".to_string()
        )]
    );

    let created = app
        .post(
            "/api/v1/users",
            &json!({"company_id": cid, "login": "mnovak", "first_name": "Мария", "last_name": "Новак",
                    "email": "maria@example.ru"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["has_password"], true);
    assert_eq!(created.body["must_change_password"], true);
    assert!(
        created.body.get("generated_password").is_none(),
        "the password goes to the person, not to the creator"
    );

    let mail = emails_to(&app, "maria@example.ru").await;
    assert_eq!(mail.len(), 1, "one e-mail: {mail:?}");
    let text = mail[0]["text"].as_str().unwrap();
    assert!(!text.contains("/password/set#"), "no link: {text}");
    assert!(
        text.contains("http://127.0.0.1:8080"),
        "the sign-in address: {text}"
    );
    assert!(
        text.find("Здравствуйте") < text.find("Hello"),
        "Russian first"
    );
    assert_eq!(line_value(text, "Логин:"), "mnovak");
    assert_eq!(line_value(text, "Login:"), "mnovak");
    let password = line_value(text, "Password:");
    assert_eq!(line_value(text, "Пароль:"), password);
    assert!(password.len() >= 16, "{password}");
    assert_eq!(
        mail[0]["sensitive"], true,
        "the delivered text is removed from the outbox"
    );
    assert!(!created.text.contains(&password));

    // It signs in, and nothing else works until it is changed.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login: Value = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"login": "mnovak", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(login["must_change_password"], true, "{login}");
    let csrf = login["csrf_token"].as_str().unwrap().to_string();
    let blocked = client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 403);
    let problem: Value = blocked.json().await.unwrap();
    assert_eq!(problem["code"], "password_change_required");
    let changed = client
        .post(app.url("/api/v1/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": password, "new_password": "maria picks her own"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    assert_eq!(login_status(&app, "mnovak", &password).await, 401);
    assert_eq!(
        login_status(&app, "mnovak", "maria picks her own").await,
        200
    );

    // A password the creator chose is not e-mailed; one the creator asked
    // to generate is returned and e-mailed.
    let given = app
        .post(
            "/api/v1/users",
            &json!({"company_id": cid, "login": "given", "first_name": "G", "last_name": "P",
                    "email": "given@example.ru", "password": "a chosen passphrase"}),
        )
        .await;
    assert_eq!(given.status, 201);
    assert!(emails_to(&app, "given@example.ru").await.is_empty());
    let generated = app
        .post(
            "/api/v1/users",
            &json!({"company_id": cid, "login": "gen", "first_name": "G", "last_name": "N",
                    "email": "gen@example.ru", "generate_password": true}),
        )
        .await;
    assert_eq!(generated.status, 201);
    let shown = generated.body["generated_password"].as_str().unwrap();
    let mail = emails_to(&app, "gen@example.ru").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(
        line_value(mail[0]["text"].as_str().unwrap(), "Password:"),
        shown
    );
}

#[tokio::test]
async fn t4_a_new_admin_registered_by_name_and_email_gets_everything_by_email() {
    let app = TestApp::spawn().await;
    let mut body = company("T4 Co");
    body["email_is_login"] = json!(true);
    body["password_in_email"] = json!(true);
    let cid = app.create_company(body).await["id"].clone();
    let created = app
        .post(
            "/api/v1/users",
            &json!({"company_id": cid, "first_name": "Анна", "last_name": "Белова",
                    "email": "Anna@T4.example.ru", "kind": "account_admin"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["login"], "anna@t4.example.ru");
    let mail = emails_to(&app, "Anna@t4.example.ru").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let text = mail[0]["text"].as_str().unwrap();
    assert_eq!(line_value(text, "Login:"), "anna@t4.example.ru");
    let password = line_value(text, "Password:");
    assert_eq!(
        login_status(&app, "anna@t4.example.ru", &password).await,
        200
    );
}

#[tokio::test]
async fn a_changed_login_is_emailed_to_the_person() {
    let app = TestApp::spawn().await;
    let cid = app.create_company(company("Ordinary Co")).await["id"].clone();
    let created = app
        .post(
            "/api/v1/users",
            &json!({"company_id": cid, "login": "ksidorov", "first_name": "Кирилл", "last_name": "Сидоров",
                    "email": "kirill@example.ru", "password": "kirill long passphrase"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    assert!(
        emails_to(&app, "kirill@example.ru").await.is_empty(),
        "a person with a password gets no invitation"
    );

    let renamed = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some("\"1\""),
            &json!({"login": "ksidorov2"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let mail = emails_to(&app, "kirill@example.ru").await;
    assert_eq!(mail.len(), 1);
    let text = mail[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Теперь ваш логин: ksidorov2")
            && text.contains("Пароль не изменился")
            && text.contains("Your login is now: ksidorov2")
            && text.contains("Your password did not change"),
        "{text}"
    );
    assert!(mail[0].get("sensitive").is_none(), "nothing secret in it");
    assert_eq!(
        login_status(&app, "ksidorov2", "kirill long passphrase").await,
        200,
        "the password stayed"
    );
    assert_eq!(
        login_status(&app, "ksidorov", "kirill long passphrase").await,
        401
    );

    let kept = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some("\"2\""),
            &json!({"email": "kirill@new.example.ru"}),
        )
        .await;
    assert_eq!(kept.status, 200);
    assert!(
        emails_to(&app, "kirill@new.example.ru").await.is_empty(),
        "an e-mail change alone does not change an ordinary login"
    );
}
