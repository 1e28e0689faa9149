//! Passkeys (WebAuthn) and PIN sign-in on a trusted device, through the REST
//! API on SQLite and PostgreSQL. A software authenticator here makes real
//! P-256 credentials and signatures, exactly as a browser would send them.

use kabinet_domain::webauthn::{b64url_decode, b64url_encode};
use kabinet_testkit::{TestApp, ADMIN_PASSWORD};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PASSWORD: &str = "passkey person passphrase";

/// A platform authenticator in software.
struct SoftKey {
    key: SigningKey,
    credential_id: Vec<u8>,
    counter: u32,
    origin: String,
    rp_id: String,
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        n if n < 24 => out.push(0x40 | n as u8),
        n if n < 256 => out.extend([0x58, n as u8]),
        n => out.extend([0x59, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    assert!(text.len() < 24);
    out.push(0x60 | text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

impl SoftKey {
    fn new(seed: u8, origin: &str, rp_id: &str) -> SoftKey {
        let mut secret = [7u8; 32];
        secret[0] = seed;
        SoftKey {
            key: SigningKey::from_slice(&secret).unwrap(),
            credential_id: vec![seed; 16],
            counter: 0,
            origin: origin.to_string(),
            rp_id: rp_id.to_string(),
        }
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut out = vec![0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut out, point.x().unwrap());
        out.push(0x22);
        cbor_bytes(&mut out, point.y().unwrap());
        out
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        data
    }

    /// `navigator.credentials.create()`: clientDataJSON and attestationObject.
    fn create(&mut self, options: &Value) -> (String, String) {
        let challenge = options["challenge"].as_str().unwrap();
        let client_data = self.client_data("webauthn.create", challenge);
        let mut auth_data = self.auth_data(0x45); // UP, UV, AT
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xA3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xA0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        (b64url_encode(&client_data), b64url_encode(&attestation))
    }

    /// `navigator.credentials.get()`: the assertion as the API takes it.
    fn get(&mut self, ceremony: &Value, user_handle: &[u8]) -> Value {
        self.counter += 1;
        let challenge = ceremony["public_key"]["challenge"].as_str().unwrap();
        let client_data = self.client_data("webauthn.get", challenge);
        let auth_data = self.auth_data(0x05); // UP, UV
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        json!({
            "ceremony_id": ceremony["ceremony_id"],
            "credential_id": b64url_encode(&self.credential_id),
            "client_data_json": b64url_encode(&client_data),
            "authenticator_data": b64url_encode(&auth_data),
            "signature": b64url_encode(signature.to_der().as_bytes()),
            "user_handle": b64url_encode(user_handle),
        })
    }
}

async fn person(app: &TestApp, login: &str) -> i64 {
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": login, "first_name": "Пётр", "last_name": "Ключёв",
                    "email": format!("{login}@example.ru"), "password": PASSWORD}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_i64().unwrap()
}

async fn call(
    client: &Client,
    csrf: &str,
    method: Method,
    url: String,
    body: Value,
) -> (u16, Value) {
    let reply = client
        .request(method, url)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn anonymous(app: &TestApp, path: &str, body: Value) -> (u16, Value, Option<String>) {
    let reply = app
        .anonymous(Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let cookie = reply
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    (status, reply.json().await.unwrap_or(Value::Null), cookie)
}

#[tokio::test]
async fn a_passkey_is_registered_and_signs_in_without_a_password() {
    let app = TestApp::spawn().await;
    let id = person(&app, "pkeys").await;
    let (client, csrf) = app.session("pkeys", PASSWORD).await;
    // The relying party of the default address http://127.0.0.1:8080.
    let mut key = SoftKey::new(1, "http://localhost:8080", "localhost");

    // Adding a passkey asks for the password again.
    let (status, problem) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/passkeys/options"),
        json!({"password": "not mine"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let (status, begun) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/passkeys/options"),
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{begun}");
    let options = &begun["public_key"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(
        options["pubKeyCredParams"],
        json!([{"type": "public-key", "alg": -7}])
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let user_handle = b64url_decode(options["user"]["id"].as_str().unwrap()).unwrap();
    assert_eq!(user_handle, id.to_be_bytes().to_vec());
    assert!(
        b64url_decode(options["challenge"].as_str().unwrap())
            .unwrap()
            .len()
            >= 32
    );

    let (client_data, attestation) = key.create(options);
    let (status, added) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/passkeys"),
        json!({
            "ceremony_id": begun["ceremony_id"], "name": "Ноутбук",
            "client_data_json": client_data, "attestation_object": attestation,
        }),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["name"], "Ноутбук");
    // The ceremony works once.
    let (status, again) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/passkeys"),
        json!({
            "ceremony_id": begun["ceremony_id"], "name": "Again",
            "client_data_json": client_data, "attestation_object": attestation,
        }),
    )
    .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("passkey.expired"))
    );
    let mail = app.get("/api/v1/outbox?topic=email").await;
    assert!(mail.body["items"][0]["payload"]["text"]
        .as_str()
        .unwrap()
        .contains("passkey \"Ноутбук\" was added"));

    // Sign in with it: no login, no password.
    let (_, ceremony, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!(ceremony["public_key"]["rpId"], "localhost");
    let assertion = key.get(&ceremony, &user_handle);
    let (status, session, cookie) =
        anonymous(&app, "/api/v1/auth/passkey", assertion.clone()).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["login"], "pkeys");
    assert!(cookie.unwrap().starts_with("kabinet_session="));
    let audit = app.get("/api/v1/audit?action=auth.login").await;
    assert_eq!(audit.body["items"][0]["details"], "passkey: Ноутбук");

    // The same answer again: its ceremony is gone.
    let (status, problem, _) = anonymous(&app, "/api/v1/auth/passkey", assertion.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("passkey.expired"))
    );
    // An old signature under a new ceremony does not match its challenge.
    let (_, fresh, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    let mut replay = assertion.clone();
    replay["ceremony_id"] = fresh["ceremony_id"].clone();
    assert_eq!(anonymous(&app, "/api/v1/auth/passkey", replay).await.0, 401);
    // A cloned authenticator (its counter went back) is refused.
    let (_, fresh, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    key.counter = 0;
    assert_eq!(
        anonymous(&app, "/api/v1/auth/passkey", key.get(&fresh, &user_handle))
            .await
            .0,
        401
    );
    key.counter = 10;
    // A phishing site's origin is refused.
    let mut phished = SoftKey::new(1, "https://kabinet.evil.example", "localhost");
    phished.counter = 20;
    let (_, fresh, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!(
        anonymous(
            &app,
            "/api/v1/auth/passkey",
            phished.get(&fresh, &user_handle)
        )
        .await
        .0,
        401
    );
    // An unknown credential is refused.
    let mut stranger = SoftKey::new(9, "http://localhost:8080", "localhost");
    let (_, fresh, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!(
        anonymous(
            &app,
            "/api/v1/auth/passkey",
            stranger.get(&fresh, &user_handle)
        )
        .await
        .0,
        401
    );
    let failures = app.get("/api/v1/audit?action=auth.login_failed").await;
    let reasons: Vec<String> = failures.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["details"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("webauthn.challenge")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("webauthn.counter")
            || r.contains("sign_count")
            || r.contains("counter")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("webauthn.origin")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("unknown_passkey")),
        "{reasons:?}"
    );

    // Removing it ends its use.
    let (status, list) = call(
        &client,
        &csrf,
        Method::GET,
        app.url("/api/v1/me/passkeys"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let passkey_id = list[0]["id"].as_i64().unwrap();
    let (status, _) = call(
        &client,
        &csrf,
        Method::DELETE,
        app.url(&format!("/api/v1/me/passkeys/{passkey_id}")),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    let (_, fresh, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!(
        anonymous(&app, "/api/v1/auth/passkey", key.get(&fresh, &user_handle))
            .await
            .0,
        401
    );
    assert_eq!(
        app.get("/api/v1/audit?action=user.passkey_removed")
            .await
            .body["total"],
        1
    );
}

#[tokio::test]
async fn a_blocked_person_cannot_use_their_passkey() {
    let app = TestApp::spawn().await;
    let id = person(&app, "blockedpk").await;
    let (client, csrf) = app.session("blockedpk", PASSWORD).await;
    let mut key = SoftKey::new(2, "http://localhost:8080", "localhost");
    let (_, begun) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/passkeys/options"),
        json!({"password": PASSWORD}),
    )
    .await;
    let (client_data, attestation) = key.create(&begun["public_key"]);
    let (status, _) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/passkeys"),
        json!({
            "ceremony_id": begun["ceremony_id"], "name": "Phone",
            "client_data_json": client_data, "attestation_object": attestation,
        }),
    )
    .await;
    assert_eq!(status, 201);
    let card = app.get(&format!("/api/v1/users/{id}")).await;
    let etag = card.header("etag").unwrap().to_string();
    let blocked = app
        .patch(
            &format!("/api/v1/users/{id}"),
            Some(&etag),
            &json!({"status": "blocked"}),
        )
        .await;
    assert_eq!(blocked.status, 200, "{}", blocked.body);
    let (_, ceremony, _) = anonymous(&app, "/api/v1/auth/passkey/options", json!({})).await;
    let (status, _, cookie) = anonymous(
        &app,
        "/api/v1/auth/passkey",
        key.get(&ceremony, &id.to_be_bytes()),
    )
    .await;
    assert_eq!((status, cookie.is_some()), (401, false));

    // Deleted and purged after the retention: the passkey goes with them.
    let card = app.get(&format!("/api/v1/users/{id}")).await;
    let deleted = app
        .request(Method::DELETE, &format!("/api/v1/users/{id}"))
        .header("if-match", card.header("etag").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    app.services
        .purge_expired(kabinet_service::now_ms() + 400 * 86_400_000)
        .await
        .expect("purging a person with a passkey");
    assert_eq!(app.get(&format!("/api/v1/users/{id}")).await.status, 404);
}

fn device_cookie(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    assert!(pair.starts_with("kabinet_device="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    pair.to_string()
}

async fn pin(app: &TestApp, cookie: &str, pin: &str) -> (u16, Value) {
    let reply = app
        .anonymous(Method::POST, "/api/v1/auth/pin")
        .header("cookie", cookie)
        .json(&json!({"pin": pin}))
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_trusted_device_signs_in_with_its_pin_until_five_wrong_ones() {
    let app = TestApp::spawn().await;
    person(&app, "pinned").await;
    let (client, csrf) = app.session("pinned", PASSWORD).await;
    let (status, problem) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/devices"),
        json!({"pin": "12a4"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let trust = |pin: &'static str| {
        let (client, csrf, app) = (&client, &csrf, &app);
        async move {
            let reply = client
                .post(app.url("/api/v1/me/devices"))
                .header("x-csrf-token", csrf.as_str())
                .json(&json!({"pin": pin, "name": "Рабочий ноутбук"}))
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 201);
            device_cookie(reply.headers()["set-cookie"].to_str().unwrap())
        }
    };
    let cookie = trust("1234").await;

    let (status, session) = pin(&app, &cookie, "1234").await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["login"], "pinned");
    // Without the device cookie a PIN means nothing.
    let (status, problem) = pin(&app, "kabinet_device=made-up", "1234").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("device.not_trusted"))
    );

    for _ in 0..4 {
        assert_eq!(pin(&app, &cookie, "0000").await.0, 401);
    }
    let (status, problem) = pin(&app, &cookie, "0000").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("device.not_trusted")),
        "the fifth wrong PIN ends the trust"
    );
    let (status, _) = pin(&app, &cookie, "1234").await;
    assert_eq!(status, 409, "then only a full sign-in works");

    // A new trust, then a password change ends it as it ends sessions.
    let (client, csrf) = app.session("pinned", PASSWORD).await;
    let reply = client
        .post(app.url("/api/v1/me/devices"))
        .header("x-csrf-token", csrf.as_str())
        .json(&json!({"pin": "4321"}))
        .send()
        .await
        .unwrap();
    let cookie = device_cookie(reply.headers()["set-cookie"].to_str().unwrap());
    let (status, list) = call(
        &client,
        &csrf,
        Method::GET,
        app.url("/api/v1/me/devices"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the revoked device is not listed: {list}"
    );
    let (status, _) = call(
        &client,
        &csrf,
        Method::POST,
        app.url("/api/v1/me/password"),
        json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
    )
    .await;
    assert!(status == 204 || status == 200, "{status}");
    assert_eq!(pin(&app, &cookie, "4321").await.0, 409);
    let audit = app.get("/api/v1/audit?action=auth.login_failed").await;
    assert!(audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["details"]
            .as_str()
            .unwrap_or("")
            .contains("device no longer trusted")));
    let _ = ADMIN_PASSWORD;
}
