//! SMS codes as the second factor (M6): group admins must confirm every
//! sign-in with a code sent to their mobile phone; codes are single use,
//! expire within 10 minutes, allow 5 wrong tries, and resending is throttled.
//! The code travels through a real HTTP gateway (a local server), or stays in
//! the outbox when no gateway is configured.

use std::time::Duration;

use kabinet_delivery::DeliverySettings;
use kabinet_service::ServiceSettings;
use kabinet_testkit::mail::SmsGatewayStub;
use kabinet_testkit::{company, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const PHONE: &str = "+79161234567";
const PASSWORD: &str = "group admin passphrase";

async fn group_admin(app: &TestApp, login: &str, mobile: Option<&str>) {
    let client = app
        .create_company(company(&format!("Group of {login}")))
        .await;
    let mut body = json!({
        "login": login, "first_name": "Глеб", "last_name": "Групповой",
        "kind": "group_admin", "company_id": client["id"], "password": PASSWORD,
    });
    if let Some(mobile) = mobile {
        body["mobile_phone"] = json!(mobile);
    }
    let created = app.post("/api/v1/users", &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value, bool) {
    let reply = app
        .anonymous(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let cookie = reply.headers().get("set-cookie").is_some();
    let body = reply.json().await.unwrap_or(Value::Null);
    (status, body, cookie)
}

fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(|c| c.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

/// The code in the newest SMS of the outbox (no gateway configured).
async fn code_from_outbox(app: &TestApp) -> String {
    let page = app.get("/api/v1/outbox?topic=sms").await;
    let sms = &page.body["items"][0]["payload"];
    assert_eq!(sms["to"], PHONE);
    six_digits(sms["text"].as_str().unwrap())
}

/// Moves the last SMS of every pending sign-in `ms` into the past.
async fn age_codes(app: &TestApp, ms: i64) {
    app.execute(
        "UPDATE sign_in_challenges SET sms_sent_at = sms_sent_at - $1",
        &[ms],
    )
    .await;
}

#[tokio::test]
async fn a_group_admin_signs_in_with_the_code_the_gateway_received() {
    let gateway = SmsGatewayStub::start(0).await;
    let app = TestApp::spawn_full(
        ServiceSettings::default(),
        DeliverySettings {
            sms: Some(gateway.settings()),
            poll_interval: Duration::from_millis(100),
            ..DeliverySettings::default()
        },
    )
    .await;
    group_admin(&app, "glebg", Some(PHONE)).await;

    let (status, step, cookie) = post(
        &app,
        "/api/v1/auth/login",
        json!({"login": "glebg", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!cookie, "no session before the code");
    assert_eq!(step["second_factor"], "sms");
    assert_eq!(step["methods"], json!(["sms"]));
    assert_eq!(step["phone_hint"], "+7 *** ***-45-67");
    let challenge = step["challenge"].as_str().unwrap().to_string();

    let calls = gateway.wait_for(1, Duration::from_secs(20)).await;
    let sms: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(sms["phone"], PHONE);
    let code = six_digits(sms["message"].as_str().unwrap());

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _, cookie) = post(
        &app,
        "/api/v1/auth/second-factor",
        json!({"challenge": challenge, "code": wrong}),
    )
    .await;
    assert_eq!((status, cookie), (401, false));
    // A TOTP-style answer does not replace the SMS code.
    let (status, session, cookie) = post(
        &app,
        "/api/v1/auth/second-factor",
        json!({"challenge": challenge, "code": code}),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    assert!(cookie && session["csrf_token"].is_string());
    // Single use: the same code and challenge do not open a second session.
    let (status, problem, _) = post(
        &app,
        "/api/v1/auth/second-factor",
        json!({"challenge": challenge, "code": code}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("challenge.expired"))
    );

    // Once the gateway took it, the code is gone from the outbox.
    let started = std::time::Instant::now();
    loop {
        let entry = app.get("/api/v1/outbox?topic=sms").await.body["items"][0].clone();
        if entry["status"] == "delivered" {
            let text = entry["payload"]["text"].as_str().unwrap();
            assert!(!text.contains(&code), "{text}");
            assert_eq!(entry["payload"]["to"], PHONE);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{entry}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let audit = app.get("/api/v1/audit?action=auth.login").await;
    assert_eq!(audit.body["items"][0]["details"], "second factor: sms");
}

#[tokio::test]
async fn codes_expire_are_limited_and_resending_is_throttled() {
    // No gateway: the SMS stays in the outbox, where an admin can read it.
    let app = TestApp::spawn().await;
    group_admin(&app, "glebr", Some(PHONE)).await;
    let login = || {
        post(
            &app,
            "/api/v1/auth/login",
            json!({"login": "glebr", "password": PASSWORD}),
        )
    };
    let (_, step, _) = login().await;
    let challenge = step["challenge"].as_str().unwrap().to_string();
    let first = code_from_outbox(&app).await;

    // A new code at once is refused, with the wait.
    let resend = app
        .anonymous(Method::POST, "/api/v1/auth/second-factor/resend")
        .json(&json!({"challenge": challenge}))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), 429);
    let wait: i64 = resend.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((55..=60).contains(&wait), "{wait}");

    // A minute later a new code comes, and the old one stops working.
    age_codes(&app, 61_000).await;
    let (status, resent, _) = post(
        &app,
        "/api/v1/auth/second-factor/resend",
        json!({"challenge": challenge}),
    )
    .await;
    assert_eq!(status, 202, "{resent}");
    assert_eq!(resent["phone_hint"], "+7 *** ***-45-67");
    let second = code_from_outbox(&app).await;
    if second != first {
        let (status, _, _) = post(
            &app,
            "/api/v1/auth/second-factor",
            json!({"challenge": challenge, "code": first}),
        )
        .await;
        assert_eq!(status, 401, "the replaced code is refused");
    }
    // Three codes per sign-in at most.
    age_codes(&app, 61_000).await;
    let (status, _, _) = post(
        &app,
        "/api/v1/auth/second-factor/resend",
        json!({"challenge": challenge}),
    )
    .await;
    assert_eq!(status, 202);
    age_codes(&app, 61_000).await;
    let (status, problem, _) = post(
        &app,
        "/api/v1/auth/second-factor/resend",
        json!({"challenge": challenge}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("sms.resend_limit"))
    );

    // A code older than 10 minutes is refused even when right.
    let latest = code_from_outbox(&app).await;
    age_codes(&app, 10 * 60_000).await;
    let (status, _, _) = post(
        &app,
        "/api/v1/auth/second-factor",
        json!({"challenge": challenge, "code": latest}),
    )
    .await;
    assert_eq!(status, 401);

    // Five wrong codes end the sign-in, even before the right one.
    let (_, step, _) = login().await;
    let challenge = step["challenge"].as_str().unwrap().to_string();
    let right = code_from_outbox(&app).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let (status, _, _) = post(
            &app,
            "/api/v1/auth/second-factor",
            json!({"challenge": challenge, "code": wrong}),
        )
        .await;
        assert_eq!(status, 401);
    }
    let (status, problem, cookie) = post(
        &app,
        "/api/v1/auth/second-factor",
        json!({"challenge": challenge, "code": right}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str(), cookie),
        (409, Some("challenge.expired"), false)
    );
    let failures = app.get("/api/v1/audit?action=auth.login_failed").await;
    assert!(failures.body["total"].as_i64().unwrap() >= 6);
}

#[tokio::test]
async fn a_group_admin_without_a_mobile_phone_is_told_why() {
    let app = TestApp::spawn().await;
    group_admin(&app, "nophone", None).await;
    let (status, problem, cookie) = post(
        &app,
        "/api/v1/auth/login",
        json!({"login": "nophone", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str(), cookie),
        (409, Some("sms.no_phone"), false)
    );
    assert!(
        problem["title"]
            .as_str()
            .unwrap()
            .contains("мобильный телефон"),
        "a clear reason, in the reader's language: {problem}"
    );
    // A wrong password says nothing about the phone.
    let (status, _, _) = post(
        &app,
        "/api/v1/auth/login",
        json!({"login": "nophone", "password": "not the password"}),
    )
    .await;
    assert_eq!(status, 401);
}
