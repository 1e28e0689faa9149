//! The second factor: TOTP enrolment, sign-in with a code, no replays,
//! single-use recovery codes, limited attempts, turning it off.

use kabinet_domain::totp;
use kabinet_testkit::{TestApp, ADMIN_PASSWORD};
use reqwest::{Client, Method};
use serde_json::{json, Value};

fn code_for(secret_base32: &str, offset_steps: i64) -> String {
    let secret = totp::base32_decode(secret_base32).unwrap();
    let now = kabinet_service::now_ms() / 1000;
    format!(
        "{:06}",
        totp::code_at(&secret, totp::step_of(now) + offset_steps)
    )
}

async fn password_step(app: &TestApp) -> Value {
    let reply = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let has_cookie = reply.headers().get("set-cookie").is_some();
    let body: Value = reply.json().await.unwrap();
    assert_eq!(
        has_cookie,
        body.get("challenge").is_none(),
        "a session cookie only without a challenge: {body}"
    );
    body
}

async fn code_step(
    app: &TestApp,
    client: &Client,
    challenge: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/v1/auth/second-factor"))
        .json(&json!({"challenge": challenge, "code": code}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn totp_enrolment_and_sign_in() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/api/v1/me/totp").await.body["enabled"], false);
    let begun = app.post("/api/v1/me/totp", &json!({})).await;
    assert_eq!(begun.status, 200, "{}", begun.text);
    assert_eq!(begun.header("cache-control"), Some("no-store"));
    let secret = begun.body["secret"].as_str().unwrap().to_string();
    assert_eq!(
        totp::base32_decode(&secret).unwrap().len(),
        20,
        "160-bit secret"
    );
    let uri = begun.body["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Kabinet:admin?secret=") && uri.contains("&period=30"),
        "{uri}"
    );
    assert!(
        begun.body["qr_svg"].as_str().unwrap().starts_with("<?xml"),
        "a QR code picture"
    );

    // Until confirmed, sign-in needs no code.
    let plain = password_step(&app).await;
    assert!(plain.get("csrf_token").is_some());

    let wrong = app
        .post("/api/v1/me/totp/confirm", &json!({"code": "000000"}))
        .await;
    assert_eq!(wrong.status, 422);
    let confirmed = app
        .post(
            "/api/v1/me/totp/confirm",
            &json!({"code": code_for(&secret, 0)}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let recovery: Vec<String> = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    assert_eq!(
        app.get("/api/v1/me/totp").await.body["recovery_codes_left"],
        10
    );

    // Now the password alone gives a challenge, not a session.
    let step = password_step(&app).await;
    assert_eq!(step["second_factor"], "totp");
    let challenge = step["challenge"].as_str().unwrap().to_string();
    let client = Client::builder().cookie_store(true).build().unwrap();
    let bad = code_step(&app, &client, &challenge, "123456").await;
    assert_eq!(bad.status(), 401);
    // The code of the step that confirmed enrolment was used: the next step's code works.
    let used = code_for(&secret, 1);
    let good = code_step(&app, &client, &challenge, &used).await;
    assert_eq!(good.status(), 200);
    assert!(good.headers().get("set-cookie").is_some());
    assert_eq!(
        client
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let reused = code_step(&app, &client, &challenge, &used).await;
    assert_eq!(reused.status(), 409, "a challenge is used up");

    // The same code cannot be used again, even with a fresh challenge.
    let step = password_step(&app).await;
    let again = code_step(&app, &client, step["challenge"].as_str().unwrap(), &used).await;
    assert_eq!(again.status(), 401, "no replay within the window");

    // A recovery code works once, with dashes or without.
    let recovery_code = recovery[0].clone();
    let step = password_step(&app).await;
    assert_eq!(
        code_step(
            &app,
            &client,
            step["challenge"].as_str().unwrap(),
            &recovery_code.to_uppercase()
        )
        .await
        .status(),
        200
    );
    let step = password_step(&app).await;
    assert_eq!(
        code_step(
            &app,
            &client,
            step["challenge"].as_str().unwrap(),
            &recovery_code.replace('-', "")
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        app.get("/api/v1/me/totp").await.body["recovery_codes_left"],
        9
    );

    let audit = app.get("/api/v1/audit?action=auth.login").await;
    let details: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["details"].as_str())
        .collect();
    assert!(
        details.contains(&"second factor: totp")
            && details.contains(&"second factor: recovery code"),
        "{details:?}"
    );
}

#[tokio::test]
async fn a_challenge_allows_five_wrong_codes_then_the_password_again() {
    let app = TestApp::spawn().await;
    let secret = app.post("/api/v1/me/totp", &json!({})).await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.post(
            "/api/v1/me/totp/confirm",
            &json!({"code": code_for(&secret, 0)})
        )
        .await
        .status,
        200
    );
    let client = Client::new();
    let step = password_step(&app).await;
    let challenge = step["challenge"].as_str().unwrap().to_string();
    for _ in 0..5 {
        assert_eq!(
            code_step(&app, &client, &challenge, "999999")
                .await
                .status(),
            401
        );
    }
    let late = code_step(&app, &client, &challenge, &code_for(&secret, 1)).await;
    assert_eq!(late.status(), 409);
    let problem: Value = late.json().await.unwrap();
    assert_eq!(problem["code"], "challenge.expired");
    let failures = app.get("/api/v1/audit?action=auth.login_failed").await;
    assert_eq!(failures.body["total"], 5);
    assert_eq!(failures.body["items"][0]["details"], "wrong_second_factor");
}

#[tokio::test]
async fn turning_totp_off_needs_the_password() {
    let app = TestApp::spawn().await;
    let secret = app.post("/api/v1/me/totp", &json!({})).await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        "/api/v1/me/totp/confirm",
        &json!({"code": code_for(&secret, 0)}),
    )
    .await;
    assert_eq!(
        app.post("/api/v1/me/totp", &json!({})).await.status,
        409,
        "already on"
    );
    assert_eq!(
        app.post("/api/v1/me/totp/disable", &json!({"password": "wrong one"}))
            .await
            .status,
        422
    );
    let off = app
        .request(Method::POST, "/api/v1/me/totp/disable")
        .json(&json!({"password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 204);
    let plain = password_step(&app).await;
    assert!(
        plain.get("csrf_token").is_some(),
        "back to the password alone"
    );
    assert_eq!(
        app.get("/api/v1/audit?action=user.totp_disabled")
            .await
            .body["total"],
        1
    );
}
