//! Security requirements of OWASP ASVS 4.0.3 (level 2) and NIST SP 800-63B
//! that no other test file proves on its own. Each test is named after the
//! requirement it proves (`v2_1_2_…` is ASVS 2.1.2); `TESTING.md` maps every
//! requirement to its tests, here and in the other files. Runs on SQLite and
//! on PostgreSQL.

use kabinet_testkit::{browser, csrf_in, urlencode, HttpSettings, TestApp, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Creates a person in the provider (or with `extra` fields) and returns
/// the answer.
async fn create_person(
    app: &TestApp,
    login: &str,
    password: &str,
    extra: Value,
) -> kabinet_testkit::Reply {
    let mut body = json!({"login": login, "first_name": "Проверка", "last_name": "Безопасности",
                          "password": password});
    if let Some(object) = extra.as_object() {
        for (key, value) in object {
            body[key] = value.clone();
        }
    }
    app.post("/api/v1/users", &body).await
}

/// Creates a person who must exist for the test to go on; returns the id.
async fn person(app: &TestApp, login: &str, password: &str, extra: Value) -> i64 {
    let created = create_person(app, login, password, extra).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_i64().unwrap()
}

/// An API sign-in; the raw answer.
async fn sign_in(app: &TestApp, login: &str, password: &str) -> reqwest::Response {
    app.anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn sign_in_status(app: &TestApp, login: &str, password: &str) -> u16 {
    sign_in(app, login, password).await.status().as_u16()
}

/// The `name=value` of the first `Set-Cookie` for a cookie named `name`.
fn set_cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// The value of a `Set-Cookie` line (`name=value; …` → `value`).
fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_string())
        .unwrap()
}

/// The field codes of a problem document.
fn codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_string(),
                        e["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The texts of the e-mails to `to` in the outbox, newest first.
async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let page = app.get("/api/v1/outbox?topic=email&limit=500").await;
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["payload"]["to"] == to)
        .map(|m| m["payload"]["text"].as_str().unwrap().to_string())
        .collect()
}

async fn audit_total(app: &TestApp, query: &str) -> i64 {
    app.get(&format!("/api/v1/audit?{query}")).await.body["total"]
        .as_i64()
        .unwrap()
}

// ---------------------------------------------------------------- V2.1

#[tokio::test]
async fn v2_1_1_passwords_shorter_than_12_characters_are_refused() {
    let app = TestApp::spawn().await;
    for (password, why) in [
        ("elevenchars", "11 characters"),
        (
            "lamp      oak",
            "8 characters and a run of spaces, which counts once",
        ),
    ] {
        let reply = create_person(&app, "shorty", password, json!({})).await;
        assert_eq!(reply.status, 422, "{why}");
        assert_eq!(
            reply.error_codes(),
            vec![("password".to_string(), "password.too_short".to_string())],
            "{why}"
        );
    }
    assert!(
        create_person(&app, "shorty", "ab", json!({"kind": "emperor"}))
            .await
            .text
            .contains("Пароль короче 12 символов"),
        "the reason, in the reader's language"
    );
    person(&app, "twelve", "twelve chars", json!({})).await;
    assert_eq!(sign_in_status(&app, "twelve", "twelve chars").await, 200);

    // The same rule on every way of choosing a password: one's own change…
    let (client, csrf) = app.session("twelve", "twelve chars").await;
    let change = client
        .post(app.url("/api/v1/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": "twelve chars", "new_password": "elevenchars"}))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 422);
    let body: Value = change.json().await.unwrap();
    assert!(
        codes(&body)
            .iter()
            .any(|(_, code)| code == "password.too_short"),
        "{body}"
    );
    // …an admin's edit, and the command line.
    let id = app.get("/api/v1/users?q=twelve").await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    let etag = app.get(&format!("/api/v1/users/{id}")).await;
    let edit = app
        .patch(
            &format!("/api/v1/users/{id}"),
            etag.header("etag"),
            &json!({"password": "elevenchars"}),
        )
        .await;
    assert_eq!(edit.status, 422, "{}", edit.text);
    assert!(app
        .services
        .reset_password("twelve", Some("elevenchars".into()))
        .await
        .is_err());
}

#[tokio::test]
async fn v2_1_2_passwords_of_64_to_128_characters_are_accepted_and_longer_ones_refused() {
    let app = TestApp::spawn().await;
    let long = |n: usize| -> String {
        "seven long words make a fine passphrase "
            .chars()
            .cycle()
            .take(n)
            .collect()
    };
    for (login, length) in [("sixtyfour", 64), ("hundred", 100), ("maximum", 128)] {
        let password = long(length);
        assert_eq!(password.chars().count(), length);
        person(&app, login, &password, json!({})).await;
        assert_eq!(
            sign_in_status(&app, login, &password).await,
            200,
            "{length} characters sign in"
        );
    }
    let reply = create_person(&app, "toolong", &long(129), json!({})).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.error_codes(),
        vec![("password".to_string(), "password.too_long".to_string())]
    );
    // Characters, not bytes: 128 Cyrillic letters (256 bytes) are allowed.
    let cyrillic: String = "длинная фраза из слов ".chars().cycle().take(128).collect();
    person(&app, "cyrillic", &cyrillic, json!({})).await;
    assert_eq!(sign_in_status(&app, "cyrillic", &cyrillic).await, 200);
}

#[tokio::test]
async fn v2_1_3_passwords_are_checked_whole_never_truncated_or_altered() {
    let app = TestApp::spawn().await;
    let password: String = "0123456789abcdefghij-long passphrase, every character counts "
        .chars()
        .cycle()
        .take(128)
        .collect();
    // Five wrong passwords in a row would slow the account down (V2.2.1):
    // two people with the same password share the wrong attempts.
    person(&app, "whole", &password, json!({})).await;
    person(&app, "whole2", &password, json!({})).await;
    let mut last_changed = password.clone();
    last_changed.pop();
    last_changed.push('#');
    for (login, attempt, why) in [
        ("whole", password[..127].to_string(), "one character short"),
        (
            "whole",
            password[..72].to_string(),
            "the first 72 bytes (bcrypt's limit)",
        ),
        (
            "whole",
            password[..64].to_string(),
            "the first 64 characters",
        ),
        ("whole2", last_changed, "the last character different"),
        ("whole2", password.to_uppercase(), "another case"),
    ] {
        assert_eq!(sign_in_status(&app, login, &attempt).await, 401, "{why}");
    }
    assert_eq!(sign_in_status(&app, "whole", &password).await, 200);
    assert_eq!(sign_in_status(&app, "whole2", &password).await, 200);

    // Spaces are kept as typed: two spaces are not one.
    person(&app, "spaces", "two  spaces  inside", json!({})).await;
    assert_eq!(
        sign_in_status(&app, "spaces", "two spaces inside").await,
        401
    );
    assert_eq!(
        sign_in_status(&app, "spaces", "two  spaces  inside").await,
        200
    );

    // No password field of the console cuts what is typed or pasted.
    let (client, _) = app.console_sign_in("/me/password").await;
    let anonymous = browser();
    let mut fields = 0;
    for (client, path) in [
        (&anonymous, "/login"),
        (&anonymous, "/password/set"),
        (&client, "/me/password"),
        (&client, "/me/security"),
        (&client, "/users/new"),
        (&client, "/users/1/edit"),
    ] {
        let html = client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for input in html.split("<input").skip(1) {
            let tag = input.split('>').next().unwrap();
            if tag.contains("type=\"password\"") && !tag.contains("name=\"pin\"") {
                fields += 1;
                assert!(!tag.contains("maxlength"), "{path}: {tag}");
            }
        }
    }
    assert!(fields >= 7, "password fields seen: {fields}");
}

#[tokio::test]
async fn v2_1_4_any_printable_unicode_character_is_allowed() {
    let app = TestApp::spawn().await;
    for (login, password) in [
        ("emoji", "🔑🔑🌲🌲🐟🐟🌙🌙🚲🚲⛵⛵"),
        ("kanji", "東京特許許可局長今日急遽休暇許可拒否"),
        ("mixed", "Ёлка ёж éclair Straße 123 ☃"),
    ] {
        person(&app, login, password, json!({})).await;
        assert_eq!(sign_in_status(&app, login, password).await, 200, "{login}");
    }
}

#[tokio::test]
async fn v2_1_6_and_v3_3_3_a_change_needs_the_current_password_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    person(&app, "changer", "the current passphrase", json!({})).await;
    let (laptop, csrf) = app.session("changer", "the current passphrase").await;
    let (phone, _) = app.session("changer", "the current passphrase").await;
    let change = |current: &'static str| {
        let (laptop, csrf, app) = (&laptop, &csrf, &app);
        async move {
            let response = laptop
                .post(app.url("/api/v1/me/password"))
                .header("x-csrf-token", csrf.as_str())
                .json(&json!({"current_password": current, "new_password": "the next passphrase"}))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, problem) = change("not the current one").await;
    assert_eq!(status, 422);
    assert_eq!(
        codes(&problem),
        vec![("current_password".to_string(), "password.wrong".to_string())]
    );
    let (status, _) = change("the current passphrase").await;
    assert!((200..300).contains(&status), "{status}");
    let me = |client: &reqwest::Client| {
        let (client, app) = (client.clone(), &app);
        async move {
            client
                .get(app.url("/api/v1/me"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(&phone).await, 401, "the other session ended");
    assert_eq!(me(&laptop).await, 200, "the one that changed it goes on");
    assert_eq!(
        sign_in_status(&app, "changer", "the current passphrase").await,
        401
    );
    assert_eq!(
        sign_in_status(&app, "changer", "the next passphrase").await,
        200
    );
}

#[tokio::test]
async fn v2_1_7_common_passwords_are_refused_and_an_old_one_must_be_replaced_at_sign_in() {
    let app = TestApp::spawn().await;
    for common in [
        "password1234",
        "Password2025!",
        "qwertyuiopasdfghjkl",
        "1q2w3e4r5t6y",
        "123456789012",
        "abcabcabcabc",
        "administrator",
    ] {
        let reply = create_person(&app, "victim", common, json!({})).await;
        assert_eq!(
            reply.error_codes(),
            vec![("password".to_string(), "password.common".to_string())],
            "{common}"
        );
    }
    // A person with an acceptable password may not change it to a common one…
    let id = person(
        &app,
        "victim",
        "an acceptable passphrase",
        json!({"email": "victim@example.ru"}),
    )
    .await;
    let (client, csrf) = app.session("victim", "an acceptable passphrase").await;
    let change = client
        .post(app.url("/api/v1/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": "an acceptable passphrase", "new_password": "qwerty123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 422);
    // …nor set one with a recovery link.
    app.anonymous(Method::POST, "/api/v1/auth/recover")
        .json(&json!({"login": "victim"}))
        .send()
        .await
        .unwrap();
    let mail = mails_to(&app, "victim@example.ru").await.remove(0);
    let start = mail.find("/password/set#").unwrap() + "/password/set#".len();
    let secret = mail[start..].split_whitespace().next().unwrap().to_string();
    let by_link = app
        .anonymous(Method::POST, "/api/v1/auth/password")
        .json(&json!({"token": secret, "new_password": "iloveyou1234"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_link.status(), 422);

    // A password stored before the rule (a common one) still signs in, but
    // must be replaced before anything else.
    let hash = kabinet_service::auth::hash_password("qwerty123".into())
        .await
        .unwrap();
    let mut tx = app.services.store.begin().await.unwrap();
    kabinet_store::users::set_password_hash(&mut tx, id, &hash, kabinet_service::now_ms())
        .await
        .unwrap();
    kabinet_store::commit(tx).await.unwrap();
    let first: Value = sign_in(&app, "victim", "qwerty123")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["must_change_password"], true, "{first}");
    let (client, csrf) = app.session("victim", "qwerty123").await;
    let refused = client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "password_change_required");
    assert_eq!(
        audit_total(&app, "action=user.password_change_required").await,
        1
    );
    let changed = client
        .post(app.url("/api/v1/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"current_password": "qwerty123", "new_password": "a much better passphrase"}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());
    let after: Value = sign_in(&app, "victim", "a much better passphrase")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["must_change_password"], false, "{after}");
}

#[tokio::test]
async fn v2_1_9_no_composition_rules_apply() {
    let app = TestApp::spawn().await;
    for (login, password) in [
        ("lower", "only lower case words here"),
        ("upper", "ONLY UPPER CASE WORDS HERE"),
        ("digits", "739164825073"),
        ("letters", "nodigitsnorsymbolsatall"),
        ("symbols", "!?;:.,()[]{}<>"),
    ] {
        person(&app, login, password, json!({})).await;
        assert_eq!(sign_in_status(&app, login, password).await, 200, "{login}");
    }
}

// ---------------------------------------------------------------- V2.2

#[tokio::test]
async fn v2_2_1_guessing_many_accounts_from_one_address_is_throttled() {
    let app = TestApp::spawn().await;
    // Credential stuffing: one wrong password for each of many logins. Each
    // login stays under its own limit; the address reaches its own (20).
    for n in 0..20 {
        assert_eq!(
            sign_in_status(&app, &format!("stuffed{n}"), "some leaked password").await,
            401
        );
    }
    let next = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        next.status(),
        429,
        "the address waits, even with a right password"
    );
    assert!(next.headers().get("retry-after").is_some());
    assert_eq!(audit_total(&app, "action=auth.login_failed").await, 20);
    assert_eq!(audit_total(&app, "action=auth.login_throttled").await, 1);
}

#[tokio::test]
async fn v2_2_3_and_v2_5_5_every_change_of_how_a_person_signs_in_is_emailed_to_them() {
    let app = TestApp::spawn().await;
    let address = "told@example.ru";
    let id = person(
        &app,
        "told",
        "the first good passphrase",
        json!({"email": address}),
    )
    .await;

    // Turning the second factor off (on: tests/sessions.rs).
    let (client, csrf) = app.session("told", "the first good passphrase").await;
    let begun: Value = client
        .post(app.url("/api/v1/me/totp"))
        .header("x-csrf-token", &csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = kabinet_domain::totp::base32_decode(begun["secret"].as_str().unwrap()).unwrap();
    let step = kabinet_domain::totp::step_of(kabinet_service::now_ms() / 1000);
    let code = format!("{:06}", kabinet_domain::totp::code_at(&secret, step));
    let confirmed = client
        .post(app.url("/api/v1/me/totp/confirm"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200);
    let off = client
        .post(app.url("/api/v1/me/totp/disable"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"password": "the first good passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 204);
    let mail = mails_to(&app, address).await.remove(0);
    assert!(
        mail.contains("second factor (authenticator app) of your sign-in was turned off")
            && mail.contains("Второй фактор"),
        "{mail}"
    );

    // Un-trusting a device.
    let trusted = client
        .post(app.url("/api/v1/me/devices"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"pin": "2468", "name": "Планшет"}))
        .send()
        .await
        .unwrap();
    assert_eq!(trusted.status(), 201);
    let devices: Value = client
        .get(app.url("/api/v1/me/devices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let device = devices[0]["id"].as_i64().unwrap();
    let revoked = client
        .delete(app.url(&format!("/api/v1/me/devices/{device}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert!(mails_to(&app, address).await[0].contains("is no longer trusted"));

    // An administrator sets a new password.
    let etag = app.get(&format!("/api/v1/users/{id}")).await;
    let set = app
        .patch(
            &format!("/api/v1/users/{id}"),
            etag.header("etag"),
            &json!({"password": "the admin's new passphrase"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let mail = mails_to(&app, address).await.remove(0);
    assert!(
        mail.contains("set a new password for your account") && mail.contains("Новый пароль"),
        "{mail}"
    );

    // A recovery link sets one.
    app.anonymous(Method::POST, "/api/v1/auth/recover")
        .json(&json!({"login": "told"}))
        .send()
        .await
        .unwrap();
    let mail = mails_to(&app, address).await.remove(0);
    let start = mail.find("/password/set#").unwrap() + "/password/set#".len();
    let link = mail[start..].split_whitespace().next().unwrap().to_string();
    let by_link = app
        .anonymous(Method::POST, "/api/v1/auth/password")
        .json(&json!({"token": link, "new_password": "the recovered passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_link.status(), 204);
    assert!(mails_to(&app, address).await[0].contains("was set with a one-time link"));

    // The command line resets it.
    app.services
        .reset_password("told", Some("the command line passphrase".into()))
        .await
        .unwrap();
    assert!(mails_to(&app, address).await[0].contains("reset by the server's administrator"));

    // The e-mail address changes: the old address is told.
    let etag = app.get(&format!("/api/v1/users/{id}")).await;
    let moved = app
        .patch(
            &format!("/api/v1/users/{id}"),
            etag.header("etag"),
            &json!({"email": "elsewhere@example.ru"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let mail = mails_to(&app, address).await.remove(0);
    assert!(
        mail.contains("e-mail address of your account was changed")
            && mail.contains("Адрес электронной почты"),
        "{mail}"
    );
}

// ---------------------------------------------------------------- V2.7 / V2.8

const PHONE: &str = "+79161234567";

/// A group admin, who always confirms sign-in with an SMS code (M6).
async fn sms_person(app: &TestApp, login: &str) {
    let company = app
        .create_company(json!({"name": format!("Group of {login}"), "inns": ["7707083893"]}))
        .await;
    person(
        app,
        login,
        "group admin passphrase",
        json!({"kind": "group_admin", "company_id": company["id"], "mobile_phone": PHONE}),
    )
    .await;
}

/// The password step of an SMS sign-in: its challenge and the code that
/// went out (read from the outbox: no gateway is configured).
async fn sms_challenge(app: &TestApp, login: &str) -> (String, String) {
    let step: Value = sign_in(app, login, "group admin passphrase")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(step["second_factor"], "sms", "{step}");
    let outbox = app.get("/api/v1/outbox?topic=sms").await;
    let text = outbox.body["items"][0]["payload"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let chars: Vec<char> = text.chars().collect();
    let code: String = chars
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .unwrap()
        .iter()
        .collect();
    (step["challenge"].as_str().unwrap().to_string(), code)
}

/// The code step: status, problem code and whether a session cookie came.
async fn code_step(app: &TestApp, challenge: &str, code: &str) -> (u16, Value, bool) {
    let reply = app
        .anonymous(Method::POST, "/api/v1/auth/second-factor")
        .json(&json!({"challenge": challenge, "code": code}))
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let cookie = reply.headers().get("set-cookie").is_some();
    (status, reply.json().await.unwrap_or(Value::Null), cookie)
}

#[tokio::test]
async fn v2_7_2_sms_codes_work_for_less_than_ten_minutes() {
    let app = TestApp::spawn().await;
    sms_person(&app, "smsfresh").await;
    let (challenge, code) = sms_challenge(&app, "smsfresh").await;
    app.execute(
        "UPDATE sign_in_challenges SET sms_sent_at = sms_sent_at - $1",
        &[9 * 60_000 + 55_000],
    )
    .await;
    let (status, _, cookie) = code_step(&app, &challenge, &code).await;
    assert_eq!((status, cookie), (200, true), "9 min 55 s old: still good");

    let (challenge, code) = sms_challenge(&app, "smsfresh").await;
    app.execute(
        "UPDATE sign_in_challenges SET sms_sent_at = sms_sent_at - $1",
        &[10 * 60_000],
    )
    .await;
    let (status, _, cookie) = code_step(&app, &challenge, &code).await;
    assert_eq!(
        (status, cookie),
        (401, false),
        "10 min old: refused, though right"
    );
    let failed = app.get("/api/v1/audit?action=auth.login_failed").await;
    assert_eq!(failed.body["items"][0]["details"], "sms_code_expired");
}

#[tokio::test]
async fn v2_7_3_sms_codes_work_once_and_only_for_the_sign_in_they_were_sent_for() {
    let app = TestApp::spawn().await;
    sms_person(&app, "smsonce").await;
    let (first, first_code) = sms_challenge(&app, "smsonce").await;
    let (second, second_code) = sms_challenge(&app, "smsonce").await;
    if first_code != second_code {
        let (status, _, cookie) = code_step(&app, &second, &first_code).await;
        assert_eq!(
            (status, cookie),
            (401, false),
            "another sign-in's code is refused"
        );
    }
    let (status, _, cookie) = code_step(&app, &first, &first_code).await;
    assert_eq!((status, cookie), (200, true));
    let (status, problem, cookie) = code_step(&app, &first, &first_code).await;
    assert_eq!(
        (status, problem["code"].as_str(), cookie),
        (409, Some("challenge.expired"), false),
        "a used code opens nothing"
    );
    let (status, _, cookie) = code_step(&app, &second, &second_code).await;
    assert_eq!((status, cookie), (200, true));
}

// ---------------------------------------------------------------- V3.2 / V3.3

#[tokio::test]
async fn v3_2_1_signing_in_always_makes_a_new_session_id() {
    let app = TestApp::spawn().await;
    let planted = "ab".repeat(32);
    // The API: a session id planted before sign-in is not adopted.
    let response = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .header("cookie", format!("kabinet_session={planted}"))
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let issued = cookie_value(&set_cookie_of(&response, "kabinet_session").unwrap());
    assert_ne!(issued, planted);
    let me = |cookie: String| {
        let app = &app;
        async move {
            app.anonymous(Method::GET, "/api/v1/me")
                .header("cookie", format!("kabinet_session={cookie}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(me(planted.clone()).await, 401);
    assert_eq!(me(issued.clone()).await, 200);

    // The console's form, the same.
    let page = app
        .anonymous(Method::GET, "/login")
        .header("cookie", format!("kabinet_session={planted}"))
        .send()
        .await
        .unwrap();
    let login_csrf = cookie_value(&set_cookie_of(&page, "kabinet_login_csrf").unwrap());
    let token = csrf_in(&page.text().await.unwrap());
    let response = app
        .anonymous(Method::POST, "/login")
        .header(
            "cookie",
            format!("kabinet_session={planted}; kabinet_login_csrf={login_csrf}"),
        )
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let console = cookie_value(&set_cookie_of(&response, "kabinet_session").unwrap());
    assert_ne!(console, planted);
    assert_ne!(console, issued, "every sign-in its own id");
    assert_eq!(me(console).await, 200);
    assert_eq!(me(planted).await, 401);
}

#[tokio::test]
async fn v3_2_2_session_ids_and_other_secrets_carry_256_random_bits() {
    let app = TestApp::spawn().await;
    let mut seen = std::collections::HashSet::new();
    let mut digits = std::collections::HashSet::new();
    for _ in 0..8 {
        let response = sign_in(&app, "admin", ADMIN_PASSWORD).await;
        let session = cookie_value(&set_cookie_of(&response, "kabinet_session").unwrap());
        let body: Value = response.json().await.unwrap();
        let csrf = body["csrf_token"].as_str().unwrap().to_string();
        for secret in [session, csrf] {
            assert_eq!(secret.len(), 64, "{secret}");
            assert!(
                secret.chars().all(|c| c.is_ascii_hexdigit()),
                "hex: {secret}"
            );
            digits.extend(secret.chars());
            assert!(seen.insert(secret), "never repeated");
        }
    }
    assert!(digits.len() >= 15, "every hex digit turns up: {digits:?}");
    let token = app
        .post("/api/v1/tokens", &json!({"name": "entropy"}))
        .await;
    let token = token.body["token"].as_str().unwrap();
    assert_eq!(token.len(), "kab_".len() + 64, "{token}");
    assert!(token["kab_".len()..].chars().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn v3_3_1_signing_out_of_the_console_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let client = browser();
    let page = client.get(app.url("/login")).send().await.unwrap();
    let token = csrf_in(&page.text().await.unwrap());
    let signed_in = client
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let stolen = cookie_value(&set_cookie_of(&signed_in, "kabinet_session").unwrap());
    let html = client
        .get(app.url("/companies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let out = client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf_in(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // A copy of the cookie taken before is worth nothing now.
    let me = app
        .anonymous(Method::GET, "/api/v1/me")
        .header("cookie", format!("kabinet_session={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    let console = app
        .anonymous(Method::GET, "/companies")
        .header("cookie", format!("kabinet_session={stolen}"))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), StatusCode::SEE_OTHER);
    assert_eq!(audit_total(&app, "action=auth.logout").await, 1);
}

#[tokio::test]
async fn v3_3_2_a_session_ends_twelve_hours_after_sign_in_whatever_its_use() {
    let app = TestApp::spawn().await;
    let (client, _) = app.session("admin", ADMIN_PASSWORD).await;
    let me = || async {
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(me().await, 200);
    // Moving the end 11 h 59 min closer keeps it open; 12 h ends it.
    app.execute(
        "UPDATE sessions SET expires_at = expires_at - $1",
        &[11 * 3_600_000 + 59 * 60_000],
    )
    .await;
    assert_eq!(me().await, 200);
    app.execute(
        "UPDATE sessions SET expires_at = expires_at - $1",
        &[60_000],
    )
    .await;
    assert_eq!(me().await, 401);
}

// ---------------------------------------------------------------- V3.4, V14.4

#[tokio::test]
async fn v3_4_behind_tls_credential_cookies_are_host_only_secure_http_only_and_same_site() {
    let app = TestApp::spawn_with_http(HttpSettings {
        secure_cookies: true,
        ..HttpSettings::default()
    })
    .await;
    let response = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    let cookie = set_cookie_of(&response, "__Host-kabinet_session")
        .expect("the session cookie carries the __Host- prefix");
    for flag in ["; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
    let secret = cookie_value(&cookie);
    let csrf = response.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = |cookie: String| {
        let app = &app;
        async move {
            app.anonymous(Method::GET, "/api/v1/me")
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let ok = me(format!("__Host-kabinet_session={secret}")).await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    assert_eq!(
        me(format!("kabinet_session={secret}")).await.status(),
        401,
        "the name without the prefix (settable by another host) is not read"
    );

    // A trusted device's cookie is a credential too.
    let trusted = app
        .anonymous(Method::POST, "/api/v1/me/devices")
        .header("cookie", format!("__Host-kabinet_session={secret}"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"pin": "1357", "name": "Ноутбук"}))
        .send()
        .await
        .unwrap();
    assert_eq!(trusted.status(), 201);
    let device = set_cookie_of(&trusted, "__Host-kabinet_device").expect("prefixed device cookie");
    for flag in ["; Secure", "; HttpOnly", "; Path=/"] {
        assert!(device.contains(flag), "{flag} in {device}");
    }

    // The console's sign-in form sets the same cookie, and its pages carry HSTS.
    let page = app.anonymous(Method::GET, "/login").send().await.unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let login_csrf = cookie_value(&set_cookie_of(&page, "kabinet_login_csrf").unwrap());
    let token = csrf_in(&page.text().await.unwrap());
    let signed_in = app
        .anonymous(Method::POST, "/login")
        .header("cookie", format!("kabinet_login_csrf={login_csrf}"))
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let console = set_cookie_of(&signed_in, "__Host-kabinet_session").unwrap();
    assert!(console.contains("; Secure") && console.contains("; HttpOnly"));
    let companies = app
        .anonymous(Method::GET, "/companies")
        .header("cookie", console.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(companies.status(), 200);
    let csp = companies.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(companies.headers()["x-content-type-options"], "nosniff");
}

// ---------------------------------------------------------------- V3.7

#[tokio::test]
async fn v3_7_1_granting_rights_and_adding_ways_in_need_a_recent_sign_in() {
    let app = TestApp::spawn().await;
    let target = person(&app, "grantee", "grantee passphrase", json!({})).await;
    let department = app
        .post(
            "/api/v1/departments",
            &json!({"name_ru": "Проверка", "name_en": "Check"}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let client_company = app
        .create_company(json!({"name": "Entered Client", "inns": ["7707083893"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let etag = app
        .get(&format!("/api/v1/users/{target}"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let (client, csrf) = app.session("admin", ADMIN_PASSWORD).await;
    let sensitive: Vec<(Method, String, Value)> = vec![
        (
            Method::PUT,
            format!("/api/v1/users/{target}/extra-rights"),
            json!({"rights": ["companies.view"]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/departments/{department}/rights"),
            json!({"rights": ["companies.view"]}),
        ),
        (
            Method::PUT,
            format!("/api/v1/departments/{department}/members"),
            json!({"user_ids": [target]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{target}"),
            json!({"password": "a password set by admin"}),
        ),
        (Method::POST, "/api/v1/me/totp".into(), json!({})),
        (
            Method::POST,
            "/api/v1/me/devices".into(),
            json!({"pin": "1357", "name": "Чужой"}),
        ),
        (
            Method::POST,
            "/api/v1/tokens".into(),
            json!({"name": "late"}),
        ),
        (
            Method::POST,
            format!("/api/v1/companies/{client_company}/enter"),
            json!({"reason": "a late look around"}),
        ),
    ];
    let send = |method: Method, path: String, body: Value| {
        let (client, csrf, app, etag) = (&client, &csrf, &app, &etag);
        async move {
            let mut request = client
                .request(method.clone(), app.url(&path))
                .header("x-csrf-token", csrf.as_str());
            request = if method == Method::PATCH {
                request
                    .header("if-match", etag.as_str())
                    .header("content-type", "application/merge-patch+json")
                    .body(body.to_string())
            } else {
                request.json(&body)
            };
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let audit_before = audit_total(&app, "").await;
    // Sixteen minutes after sign-in, each is refused and nothing changes.
    app.execute(
        "UPDATE sessions SET created_at = created_at - $1",
        &[16 * 60_000],
    )
    .await;
    for (method, path, body) in sensitive.clone() {
        let (status, problem) = send(method.clone(), path.clone(), body).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("reauthentication_required")),
            "{method} {path}: {problem}"
        );
    }
    assert_eq!(audit_total(&app, "").await, audit_before, "nothing changed");
    let rights = app.get(&format!("/api/v1/users/{target}/rights")).await;
    assert!(!rights.text.contains("companies.view"), "{}", rights.text);
    assert_eq!(
        sign_in_status(&app, "grantee", "grantee passphrase").await,
        200
    );
    // Everyday work goes on in the same session.
    let list = client
        .get(app.url("/api/v1/companies"))
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);

    // The console says what to do.
    let (console, console_csrf) = app
        .console_sign_in(&format!("/users/{target}/rights"))
        .await;
    app.execute(
        "UPDATE sessions SET created_at = created_at - $1",
        &[16 * 60_000],
    )
    .await;
    let page = console
        .post(app.url(&format!("/users/{target}/rights")))
        .form(&[("csrf", console_csrf.as_str()), ("extra", "companies.view")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("Войдите заново"), "{html}");

    // Signed in again: every one of them works.
    let (client, csrf) = app.session("admin", ADMIN_PASSWORD).await;
    for (method, path, body) in sensitive {
        let mut request = client
            .request(method.clone(), app.url(&path))
            .header("x-csrf-token", csrf.as_str());
        request = if method == Method::PATCH {
            request
                .header("if-match", etag.as_str())
                .header("content-type", "application/merge-patch+json")
                .body(body.to_string())
        } else {
            request.json(&body)
        };
        let status = request.send().await.unwrap().status();
        assert!(status.is_success(), "{method} {path}: {status}");
    }
}

// ---------------------------------------------------------------- V4.2, V4.3

#[tokio::test]
async fn v4_2_2_every_state_change_with_a_session_needs_its_csrf_token() {
    let app = TestApp::spawn().await;
    let (client, _) = app.session("admin", ADMIN_PASSWORD).await;
    let (console, _) = app.console_sign_in("/companies").await;
    let before = audit_total(&app, "").await;
    let mut refused = 0;
    for (method, path, need) in kabinet_server::access_table() {
        if method == "get" || need == kabinet_server::Need::Public {
            continue;
        }
        let url = app.url(&format!(
            "/api/v1{}",
            path.replace("{id}", "1").replace("{client_id}", "1")
        ));
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        for forged in [None, Some("forged")] {
            let mut request = client
                .request(method.clone(), &url)
                .header("if-match", "\"1\"")
                .json(&json!({}));
            if let Some(token) = forged {
                request = request.header("x-csrf-token", token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 403, "{method} {url}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], "csrf", "{method} {url}");
            refused += 1;
        }
    }
    assert!(refused > 40, "{refused}");

    // Every console form: a signed-in person's browser, a forged token.
    let mut forbidden = 0;
    for (method, path, _) in kabinet_server::access::CONSOLE_ACCESS {
        if *method == "get" || path.starts_with("/static") {
            continue;
        }
        let url = app.url(&path.replace("{id}", "1").replace("{client_id}", "1"));
        let response = console
            .post(&url)
            .form(&[
                ("csrf", "forged"),
                ("version", "1"),
                ("reason", "forged form"),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
            .to_string();
        // The device-PIN form answers a refusal by going back to the
        // sign-in page with the reason.
        let sent_back = status == StatusCode::SEE_OTHER && location.contains("error=csrf");
        assert!(
            matches!(status.as_u16(), 403 | 405 | 422) || sent_back,
            "POST {path}: {status} {location}"
        );
        if status == StatusCode::FORBIDDEN || sent_back {
            forbidden += 1;
        }
    }
    assert!(
        forbidden >= 25,
        "{forbidden} forms refused the forged token"
    );
    // Nothing happened: no audited change, and the session is still there
    // (the forged sign-out did not sign out).
    assert_eq!(audit_total(&app, "").await, before);
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn v4_3_1_a_second_factor_can_be_required_of_the_providers_administrators() {
    let app = TestApp::spawn().await;
    let admin = app.get("/api/v1/users/1").await;
    let phone = app
        .patch(
            "/api/v1/users/1",
            admin.header("etag"),
            &json!({"mobile_phone": PHONE}),
        )
        .await;
    assert_eq!(phone.status, 200, "{}", phone.text);
    let provider = app.get("/api/v1/companies/1").await;
    let required = app
        .patch(
            "/api/v1/companies/1",
            provider.header("etag"),
            &json!({"sms_second_factor": true}),
        )
        .await;
    assert_eq!(required.status, 200, "{}", required.text);

    let response = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("set-cookie").is_none(),
        "no session for the password alone"
    );
    let step: Value = response.json().await.unwrap();
    assert_eq!(step["second_factor"], "sms");
    let outbox = app.get("/api/v1/outbox?topic=sms").await;
    let text = outbox.body["items"][0]["payload"]["text"].as_str().unwrap();
    let chars: Vec<char> = text.chars().collect();
    let code: String = chars
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .unwrap()
        .iter()
        .collect();
    let (status, _, cookie) = code_step(&app, step["challenge"].as_str().unwrap(), &code).await;
    assert_eq!((status, cookie), (200, true));
    // The console's form asks for the code too.
    let client = browser();
    let page = client.get(app.url("/login")).send().await.unwrap();
    let token = csrf_in(&page.text().await.unwrap());
    let form = client
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(set_cookie_of(&form, "kabinet_session").is_none());
    assert!(form.text().await.unwrap().contains("name=\"code\""));
}

// ---------------------------------------------------------------- V5.1, V5.3

#[tokio::test]
async fn v5_1_2_unknown_and_read_only_fields_are_refused_not_assigned() {
    let app = TestApp::spawn().await;
    let base = json!({"login": "massive", "first_name": "М", "last_name": "П",
                      "password": "massive passphrase"});
    let company = json!({"name": "Massive Co", "inns": ["7707083893"]});
    let with = |body: &Value, field: &str, value: Value| {
        let mut body = body.clone();
        body[field] = value;
        body
    };
    // Creation: a field that is not the client's to set is refused by name.
    for (path, body, field) in [
        (
            "/api/v1/users",
            with(&base, "full_access", json!(true)),
            "full_access",
        ),
        ("/api/v1/users", with(&base, "id", json!(777)), "id"),
        (
            "/api/v1/users",
            with(&base, "must_change_password", json!(false)),
            "must_change_password",
        ),
        ("/api/v1/users", with(&base, "version", json!(9)), "version"),
        (
            "/api/v1/companies",
            with(&company, "is_provider", json!(true)),
            "is_provider",
        ),
        (
            "/api/v1/companies",
            with(&company, "path", json!("/")),
            "path",
        ),
        (
            "/api/v1/companies",
            with(&company, "deleted_at", json!(null)),
            "deleted_at",
        ),
        (
            "/api/v1/departments",
            json!({"name_ru": "Отдел", "name_en": "Dept", "rights": ["companies.view"]}),
            "rights",
        ),
        (
            "/api/v1/tokens",
            json!({"name": "mine", "user_id": 1}),
            "user_id",
        ),
    ] {
        let reply = app.post(path, &body).await;
        assert!(
            reply.status.is_client_error() && reply.text.contains(field),
            "{path} with {field}: {} {}",
            reply.status,
            reply.text
        );
    }
    assert_eq!(app.get("/api/v1/users?q=massive").await.body["total"], 0);
    assert_eq!(
        app.get("/api/v1/companies?q=massive").await.body["total"],
        0
    );

    // Edits: read-only and unknown fields are named, nothing is saved.
    let id = person(&app, "massive", "massive passphrase", json!({})).await;
    let card = app.get(&format!("/api/v1/users/{id}")).await;
    for (field, value, code) in [
        ("full_access", json!(true), "unknown_field"),
        ("must_change_password", json!(true), "read_only"),
        ("id", json!(1), "read_only"),
        ("session_binding", json!("off"), "read_only"),
    ] {
        let reply = app
            .patch(
                &format!("/api/v1/users/{id}"),
                card.header("etag"),
                &json!({ field: value }),
            )
            .await;
        assert_eq!(reply.status, 422, "{field}");
        assert_eq!(
            reply.error_codes(),
            vec![(field.to_string(), code.to_string())],
            "{field}"
        );
    }
    let provider = app.get("/api/v1/companies/1").await;
    for field in ["is_provider", "path", "children_count"] {
        let reply = app
            .patch(
                "/api/v1/companies/1",
                provider.header("etag"),
                &json!({ field: false }),
            )
            .await;
        assert_eq!(
            reply.error_codes(),
            vec![(field.to_string(), "read_only".to_string())],
            "{field}"
        );
    }
    assert_eq!(
        app.get(&format!("/api/v1/users/{id}")).await.text,
        card.text
    );
    // One's own things: the change of password and the address rules.
    let (client, csrf) = app.session("massive", "massive passphrase").await;
    for (path, body) in [
        (
            "/api/v1/me/password",
            json!({"current_password": "massive passphrase", "new_password": "another passphrase", "user_id": 1}),
        ),
        (
            "/api/v1/me/devices",
            json!({"pin": "1357", "name": "x", "user_id": 1}),
        ),
    ] {
        let response = client
            .post(app.url(path))
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(
            status.is_client_error() && text.contains("user_id"),
            "{path}: {status} {text}"
        );
    }
    assert_eq!(
        sign_in_status(&app, "massive", "massive passphrase").await,
        200
    );
}

#[tokio::test]
async fn v5_3_4_search_treats_sql_like_and_fts_syntax_as_plain_text() {
    let app = TestApp::spawn().await;
    for name in [
        "O'Reilly and Sons",
        "Back\\slash Ltd",
        "Backslash Ltd",
        "100% Natural",
        "Under_score Co",
        "Quote \"Marks\" Ltd",
        "Plain Company",
        "Robert'); DROP TABLE companies;--",
    ] {
        let created = app
            .create_company(json!({"name": name, "inns": ["7707083893"]}))
            .await;
        assert_eq!(created["name"], name, "stored as typed");
    }
    let everything = app.get("/api/v1/companies?limit=100").await;
    assert_eq!(everything.status, 200);
    let all = everything.body["total"].as_i64().unwrap();
    assert_eq!(all, 9, "the provider and eight");
    let search = |q: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .get(&format!("/api/v1/companies?limit=100&q={}", urlencode(q)))
                .await;
            assert_eq!(reply.status, 200, "{q}: {}", reply.text);
            let mut names = reply.names();
            names.sort();
            names
        }
    };
    let none: Vec<String> = Vec::new();
    for (q, expected) in [
        ("' OR 1=1 --", none.clone()),
        ("' OR '1'='1", none.clone()),
        ("1; DROP TABLE companies", none.clone()),
        ("o'reilly", vec!["O'Reilly and Sons".to_string()]),
        ("k\\s", vec!["Back\\slash Ltd".to_string()]),
        ("\\", vec!["Back\\slash Ltd".to_string()]),
        ("100%", vec!["100% Natural".to_string()]),
        // `%`, `_` and `|` separate words, like spaces.
        ("der_sc", vec!["Under_score Co".to_string()]),
        ("\"marks\"", vec!["Quote \"Marks\" Ltd".to_string()]),
        ("\"", vec!["Quote \"Marks\" Ltd".to_string()]),
        ("marks OR plain", none.clone()),
        ("NEAR(marks plain)", none.clone()),
        ("plai*", none.clone()),
        ("^plain", none.clone()),
        ("-plain", none.clone()),
        ("plain NOT marks", none.clone()),
        ("plain", vec!["Plain Company".to_string()]),
        (
            "drop table",
            vec!["Robert'); DROP TABLE companies;--".to_string()],
        ),
        ("');", vec!["Robert'); DROP TABLE companies;--".to_string()]),
    ] {
        assert_eq!(search(q).await, expected, "q = {q}");
    }
    // Pattern characters alone are not a search: the whole list, as without q.
    for q in ["%", "_", "%%", "%_%"] {
        assert_eq!(search(q).await.len() as i64, all, "q = {q}");
    }
    // Control characters and a NUL byte are refused or ignored, never a 500.
    for q in ["\u{0}", "plain\u{0}", "\u{7}\u{1b}[0m"] {
        let reply = app
            .get(&format!("/api/v1/companies?q={}", urlencode(q)))
            .await;
        assert!(reply.status.as_u16() < 500, "{q:?}: {}", reply.status);
    }
    // A NUL byte in any JSON text is refused by field (422 text.nul) before
    // any account is looked up, so it tells nothing about accounts.
    for login in ["adm\u{0}in", "\u{0}"] {
        assert_eq!(
            sign_in_status(&app, login, "whatever it is").await,
            422,
            "{login:?}"
        );
    }
    assert_eq!(
        sign_in_status(&app, "admin", "correct horse\u{0}").await,
        422
    );
    let by_number = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"account_number": "12\u{0}34", "password": "whatever it is"}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_number.status(), 422);
    let recovery = app
        .anonymous(Method::POST, "/api/v1/auth/recover")
        .json(&json!({"login": "adm\u{0}in"}))
        .send()
        .await
        .unwrap();
    assert_eq!(recovery.status(), 422);
    // The people list, the audit filters and the sort key, the same.
    for path in [
        "/api/v1/users?q=%27%20OR%201%3D1%20--",
        "/api/v1/users?q=%25",
        "/api/v1/audit?action=%27%20OR%20%271%27%3D%271",
        "/api/v1/audit?actor=admin%27--",
        "/api/v1/audit?action=%00",
        "/api/v1/outbox?topic=%00",
        "/api/v1/companies?region=%00&macroregion=a%00",
        "/api/v1/users?q=%00",
        "/api/v1/companies?q=%00&sort=%00",
        "/api/v1/companies?sort=name%3B%20DROP%20TABLE%20companies",
        "/api/v1/companies?sort=(SELECT%201)",
    ] {
        let reply = app.get(path).await;
        assert!(reply.status.as_u16() < 500, "{path}: {}", reply.status);
        if path.contains("audit") || path.contains("outbox") || path.contains("region") {
            assert_eq!(reply.body["total"], 0, "{path}");
        }
    }
    assert_eq!(
        app.get("/api/v1/users?q=%27%20OR%201%3D1%20--").await.body["total"],
        0
    );
    assert_eq!(
        app.get("/api/v1/companies?limit=100").await.body["total"],
        all,
        "every table still there"
    );
}
