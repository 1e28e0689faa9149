//! Delivery of e-mail and SMS from the outbox to real peers: an SMTP server
//! process (aiosmtpd) in plain, STARTTLS and TLS modes, and an HTTP server
//! standing in for an SMS gateway. On SQLite and PostgreSQL.

use std::time::Duration;

use kabinet_delivery::{DeliverySettings, SmtpSecurity};
use kabinet_service::ServiceSettings;
use kabinet_testkit::mail::{SinkOptions, SmsGatewayStub, SmtpSink};
use kabinet_testkit::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

fn fast(smtp: Option<kabinet_delivery::SmtpSettings>) -> DeliverySettings {
    DeliverySettings {
        smtp,
        sms: None,
        poll_interval: Duration::from_millis(100),
        first_retry: Duration::from_millis(200),
    }
}

fn invited(login: &str, email: &str) -> Value {
    json!({"login": login, "first_name": "Инна", "last_name": "Иванова", "email": email})
}

/// The outbox entry of the newest e-mail to `to`.
async fn outbox_entry(app: &TestApp, topic: &str, to: &str) -> Value {
    let page = app.get(&format!("/api/v1/outbox?topic={topic}")).await;
    page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["payload"]["to"] == to)
        .cloned()
        .unwrap_or_else(|| panic!("no {topic} to {to} in {}", page.body))
}

/// Waits until the outbox entry of the message to `to` has `status`.
async fn wait_status(app: &TestApp, topic: &str, to: &str, status: &str) -> Value {
    let started = std::time::Instant::now();
    loop {
        let entry = outbox_entry(app, topic, to).await;
        if entry["status"] == status {
            return entry;
        }
        assert!(started.elapsed() < WAIT, "never {status}: {entry}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_invitation_arrives_by_smtp_and_its_link_sets_the_password() {
    let sink = SmtpSink::start(SinkOptions::default());
    let app = TestApp::spawn_full(ServiceSettings::default(), fast(Some(sink.settings()))).await;
    let created = app
        .post("/api/v1/users", &invited("inna", "inna@example.ru"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let mail = sink.wait_for(1, WAIT).await;
    let mail = &mail[0];
    assert_eq!(mail.rcpt_tos, vec!["inna@example.ru".to_string()]);
    assert_eq!(mail.mail_from, "noreply@kabinet.test");
    assert_eq!(
        mail.subject,
        "Кабинет: задайте пароль / Kabinet: set your password"
    );
    assert!(
        mail.text.contains("Здравствуйте, Инна!") && mail.text.contains("Hello Инна"),
        "both languages, Cyrillic intact: {}",
        mail.text
    );
    let secret = mail
        .text
        .split("/password/set#")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with its secret in the fragment")
        .to_string();

    let set = app
        .anonymous(Method::POST, "/api/v1/auth/password")
        .json(&json!({"token": secret, "new_password": "inna chooses this one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    let login = app
        .anonymous(Method::POST, "/api/v1/auth/login")
        .json(&json!({"login": "inna", "password": "inna chooses this one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);

    let entry = wait_status(&app, "email", "inna@example.ru", "delivered").await;
    assert_eq!(entry["attempts"], 1);
    assert!(entry["delivered_at"].is_string());
    assert!(entry["last_error"].is_null());
}

#[tokio::test]
async fn starttls_with_authentication_and_implicit_tls_both_deliver() {
    for security in [SmtpSecurity::StartTls, SmtpSecurity::Tls] {
        let sink = SmtpSink::start(SinkOptions {
            security,
            credentials: Some(("mailer".into(), "mail-secret".into())),
            fail_first: 0,
        });
        let app =
            TestApp::spawn_full(ServiceSettings::default(), fast(Some(sink.settings()))).await;
        let created = app
            .post("/api/v1/users", &invited("secure", "secure@example.ru"))
            .await;
        assert_eq!(created.status, 201);
        // Recovery: a second message, to the same person.
        let recover = app
            .anonymous(Method::POST, "/api/v1/auth/recover")
            .json(&json!({"login": "secure"}))
            .send()
            .await
            .unwrap();
        assert_eq!(recover.status(), 202);
        let mail = sink.wait_for(2, WAIT).await;
        for m in &mail {
            assert!(m.tls, "{security:?}: the session was encrypted");
            assert_eq!(m.auth_login.as_deref(), Some("mailer"), "{security:?}");
            assert_eq!(m.rcpt_tos, vec!["secure@example.ru".to_string()]);
        }
        assert!(mail
            .iter()
            .any(|m| m.subject.contains("Kabinet: password recovery")));
    }
}

#[tokio::test]
async fn temporary_failures_are_retried_with_backoff_until_delivered() {
    let sink = SmtpSink::start(SinkOptions {
        fail_first: 2,
        ..SinkOptions::default()
    });
    let app = TestApp::spawn_full(ServiceSettings::default(), fast(Some(sink.settings()))).await;
    app.post("/api/v1/users", &invited("retry", "retry@example.ru"))
        .await;
    let entry = wait_status(&app, "email", "retry@example.ru", "delivered").await;
    assert_eq!(entry["attempts"], 3, "two 451s, then accepted: {entry}");
    assert_eq!(sink.received().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_permanent_failure_is_shown_and_an_admin_can_retry_it() {
    // The server wants a password the worker does not have: 530, permanent.
    let sink = SmtpSink::start(SinkOptions {
        security: SmtpSecurity::StartTls,
        credentials: Some(("mailer".into(), "right".into())),
        fail_first: 0,
    });
    let mut settings = sink.settings();
    settings.password = Some("wrong".into());
    let app = TestApp::spawn_full(ServiceSettings::default(), fast(Some(settings))).await;
    app.post("/api/v1/users", &invited("failing", "failing@example.ru"))
        .await;
    let failed = wait_status(&app, "email", "failing@example.ru", "failed").await;
    assert_eq!(failed["attempts"], 1, "a permanent error is not retried");
    assert!(
        failed["last_error"].as_str().unwrap().contains("535"),
        "the reason is kept: {failed}"
    );
    assert!(sink.received().is_empty());

    // The console shows it with a retry button.
    let (console, csrf) = app.session("admin", kabinet_testkit::ADMIN_PASSWORD).await;
    let page = console
        .get(app.url("/outbox?topic=email"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = failed["id"].as_i64().unwrap();
    assert!(page.contains(&format!("data-outbox-id=\"{id}\" data-status=\"failed\"")));
    assert!(page.contains(&format!("action=\"/outbox/{id}/retry\"")));

    // Retry without CSRF is refused; with it the message is queued again.
    let no_csrf = console
        .post(app.url(&format!("/outbox/{id}/retry")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let retried = console
        .post(app.url(&format!("/outbox/{id}/retry")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 303);
    // Still the wrong password: it fails again, after one more attempt.
    let again = wait_status(&app, "email", "failing@example.ru", "failed").await;
    assert_eq!(again["attempts"], 1);
    assert_eq!(
        app.get("/api/v1/audit?action=outbox.retry").await.body["total"],
        1
    );
    // A message that has not failed cannot be retried.
    let other = app
        .post(&format!("/api/v1/outbox/{}/retry", id + 1000), &json!({}))
        .await;
    assert_eq!(other.status, 404);
}

#[tokio::test]
async fn messages_written_while_no_worker_ran_are_delivered_when_one_starts() {
    // The server runs without delivery: messages stay in the outbox.
    let app = TestApp::spawn().await;
    for n in 0..3 {
        let created = app
            .post(
                "/api/v1/users",
                &invited(&format!("later{n}"), &format!("later{n}@example.ru")),
            )
            .await;
        assert_eq!(created.status, 201);
    }
    let pending = outbox_entry(&app, "email", "later0@example.ru").await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["attempts"], 0);

    // A worker started later (a restarted server) sends all of them, once.
    let sink = SmtpSink::start(SinkOptions::default());
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let worker = kabinet_delivery::spawn(
        app.services.store.clone(),
        fast(Some(sink.settings())),
        stopped,
    )
    .unwrap();
    let mail = sink.wait_for(3, WAIT).await;
    let mut to: Vec<_> = mail.iter().map(|m| m.rcpt_tos[0].clone()).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "later0@example.ru",
            "later1@example.ru",
            "later2@example.ru"
        ]
    );
    for n in 0..3 {
        wait_status(&app, "email", &format!("later{n}@example.ru"), "delivered").await;
    }
    worker.abort();
}

#[tokio::test]
async fn sms_go_through_the_http_gateway_with_retries() {
    let gateway = SmsGatewayStub::start(1).await;
    let app = TestApp::spawn_full(
        ServiceSettings::default(),
        DeliverySettings {
            sms: Some(gateway.settings()),
            ..fast(None)
        },
    )
    .await;
    // An SMS as the sign-in code flow writes it.
    {
        let mut tx = app.services.store.begin().await.unwrap();
        kabinet_store::outbox::insert_event(
            &mut tx,
            kabinet_service::now_ms(),
            "sms",
            "user",
            "1",
            &json!({"to": "+79161234567", "text": "Код входа: 123456 \"Кабинет\""}).to_string(),
        )
        .await
        .unwrap();
        kabinet_store::commit(tx).await.unwrap();
    }
    let calls = gateway.wait_for(2, WAIT).await;
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[1].uri, "/send?sender=Kabinet");
    assert_eq!(calls[1].header("authorization"), Some("Bearer gateway-key"));
    assert_eq!(calls[1].header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&calls[1].body).expect("valid JSON body");
    assert_eq!(body["phone"], "+79161234567");
    assert_eq!(body["message"], "Код входа: 123456 \"Кабинет\"");
    let entry = wait_status(&app, "sms", "+79161234567", "delivered").await;
    assert_eq!(entry["attempts"], 2, "a 503, then accepted");
    assert_eq!(gateway.calls().len(), 2);
}

#[tokio::test]
async fn a_person_whose_password_is_being_guessed_is_told_by_email() {
    let sink = SmtpSink::start(SinkOptions::default());
    let app = TestApp::spawn_full(ServiceSettings::default(), fast(Some(sink.settings()))).await;
    let mut body = invited("guessed", "guessed@example.ru");
    body["password"] = json!("the real passphrase");
    assert_eq!(app.post("/api/v1/users", &body).await.status, 201);
    for _ in 0..5 {
        let attempt = app
            .anonymous(Method::POST, "/api/v1/auth/login")
            .json(&json!({"login": "guessed", "password": "not it at all"}))
            .send()
            .await
            .unwrap();
        assert_eq!(attempt.status(), 401);
    }
    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail.len(), 1, "one notice, not one per attempt");
    assert_eq!(
        mail[0].subject,
        "Кабинет: неудачные попытки входа / Kabinet: failed sign-in attempts"
    );
    assert!(mail[0].text.contains("127.0.0.1"), "{}", mail[0].text);
}
