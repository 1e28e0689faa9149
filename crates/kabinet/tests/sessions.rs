//! A person sees their own sessions (device, address, last use) and ends
//! any of them, in the API and on the console's security page (L15).

use kabinet_testkit::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "sessions person passphrase";

#[tokio::test]
async fn a_person_lists_and_ends_their_own_sessions() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": "sessy", "first_name": "Сеанс", "last_name": "Сеансов", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, 201);
    let (laptop, laptop_csrf) = app.session("sessy", PASSWORD).await;
    let (phone, _) = app.session("sessy", PASSWORD).await;

    let list: Value = laptop
        .get(app.url("/api/v1/me/sessions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(items.iter().all(|s| s["id"].as_str().unwrap().len() == 16));
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The console's security page lists both, the current one marked.
    let page = laptop
        .get(app.url("/me/security"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-session=\"{other}\"")));
    assert_eq!(page.matches("data-session=").count(), 2);

    // Ending the other session: the phone is signed out at once.
    let end = |handle: String| {
        let (laptop, csrf, app) = (&laptop, &laptop_csrf, &app);
        async move {
            laptop
                .request(
                    Method::DELETE,
                    app.url(&format!("/api/v1/me/sessions/{handle}")),
                )
                .header("x-csrf-token", csrf.as_str())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        phone
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(end(other.clone()).await, 204);
    assert_eq!(
        phone
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(end(other).await, 404, "already ended");
    assert_eq!(end("not-a-handle".into()).await, 404);
    // Someone else's session cannot be ended from here.
    let (_admin_client, _) = app.session("admin", kabinet_testkit::ADMIN_PASSWORD).await;
    let admin_sessions = app.get(&format!("/api/v1/users/{}/sessions", 1)).await;
    let admin_handle = admin_sessions.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(end(admin_handle).await, 404);
    assert_eq!(
        app.get("/api/v1/audit?action=user.session_ended")
            .await
            .body["total"],
        1
    );
    assert_eq!(
        laptop
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

/// The e-mails to `to` in the outbox, newest first.
async fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let page = app.get("/api/v1/outbox?topic=email&limit=100").await;
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["payload"]["to"] == to)
        .map(|m| m["payload"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn changes_to_how_a_person_signs_in_are_emailed_to_them() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": "told", "first_name": "Тома", "last_name": "Извещённая",
                    "email": "told@example.ru", "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, 201);
    let (client, csrf) = app.session("told", PASSWORD).await;
    let post = |path: &'static str, body: Value| {
        let (client, csrf, app) = (&client, &csrf, &app);
        async move {
            client
                .post(app.url(path))
                .header("x-csrf-token", csrf.as_str())
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post(
            "/api/v1/me/devices",
            json!({"pin": "1357", "name": "Планшет"})
        )
        .await,
        201
    );
    assert!(mails_to(&app, "told@example.ru").await[0]
        .contains("The device \"Планшет\" is now trusted"));

    // Turning TOTP on is told too.
    let begun: Value = client
        .post(app.url("/api/v1/me/totp"))
        .header("x-csrf-token", csrf.as_str())
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = kabinet_domain::totp::base32_decode(begun["secret"].as_str().unwrap()).unwrap();
    let now = kabinet_service::now_ms() / 1000;
    let code = format!(
        "{:06}",
        kabinet_domain::totp::code_at(&secret, kabinet_domain::totp::step_of(now))
    );
    assert_eq!(
        post("/api/v1/me/totp/confirm", json!({"code": code})).await,
        200
    );
    assert!(mails_to(&app, "told@example.ru").await[0].contains("A second factor was turned on"));

    let changed = post(
        "/api/v1/me/password",
        json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
    )
    .await;
    assert!(changed == 200 || changed == 204, "{changed}");
    let mails = mails_to(&app, "told@example.ru").await;
    assert!(
        mails[0].contains("Your password was changed"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("Ваш пароль изменён"));
}
