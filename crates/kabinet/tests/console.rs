//! The console over plain HTTP: forms, CSRF, field errors, stale edits,
//! confirmations, language. (The browser suite in `browser/` clicks the same
//! pages in Chromium.)

use kabinet_testkit::{aria_sort, browser, company, csrf_in, TestApp, ADMIN_PASSWORD};
use reqwest::{Client, StatusCode};

async fn sign_in(app: &TestApp) -> (Client, String) {
    app.console_sign_in("/companies").await
}

#[tokio::test]
async fn sign_in_form_needs_its_csrf_cookie_and_the_right_password() {
    let app = TestApp::spawn().await;
    let stranger = browser();
    let response = stranger
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "a cross-site sign-in form is refused"
    );

    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page);
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", "wrong"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Неверный логин или пароль"),
        "Russian by default"
    );
    assert!(
        html.contains("value=\"admin\""),
        "the login is kept in the form"
    );

    let (client, csrf) = sign_in(&app).await;
    let page = client
        .get(app.url("/companies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("data-testid=\"header-company\">Provider LLC<"),
        "the company name in the header (T3)"
    );

    // Off-site `next` values are ignored.
    let other = browser();
    let page = other
        .get(app.url("/login?next=//evil.example"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"next\" value=\"/companies\""));

    let out = client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = client.get(app.url("/companies")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "signed out");
}

#[tokio::test]
async fn company_form_shows_field_errors_and_keeps_input() {
    let app = TestApp::spawn().await;
    let (client, csrf) = sign_in(&app).await;
    let response = client
        .post(app.url("/companies/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Form Co"),
            ("inns", "7707083894"),
            ("email", "bad"),
            ("max_dialogs_per_operator", "many"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("data-field=\"max_dialogs_per_operator\""),
        "a non-number is caught first"
    );

    let response = client
        .post(app.url("/companies/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Form Co"),
            ("inns", "7707083894"),
            ("email", "bad"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-field=\"inns\""));
    assert!(html.contains("Неверные контрольные цифры ИНН"));
    assert!(html.contains("data-field=\"email\""));
    assert!(
        html.contains("value=\"7707083894\""),
        "what was typed stays in the form"
    );
    assert_eq!(
        app.get("/api/v1/companies").await.body["total"],
        1,
        "nothing saved"
    );

    let response = client
        .post(app.url("/companies/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "<script>alert(1)</script>"),
            ("inns", "7707083893"),
            ("phones", "+7 495 123 45 67\n8 812 765 43 21"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let card = client
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !card.contains("<script>alert(1)</script>"),
        "names are escaped"
    );
    assert!(card.contains("&#60;script&#62;"));
    assert!(card.contains("+7 (495) 123-45-67, +7 (812) 765-43-21"));

    let forged = client
        .post(app.url("/companies/new"))
        .form(&[("csrf", "forged"), ("name", "X"), ("inns", "7707083893")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_stale_console_edit_shows_the_saved_values_and_a_second_save_wins() {
    let app = TestApp::spawn().await;
    let created = app.create_company(company("Shared Card")).await;
    let id = created["id"].as_i64().unwrap();
    let (client, csrf) = sign_in(&app).await;
    let form = client
        .get(app.url(&format!("/companies/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("name=\"version\" value=\"1\""));

    // Someone else saves first.
    assert_eq!(
        app.patch(
            &format!("/api/v1/companies/{id}"),
            Some("\"1\""),
            &serde_json::json!({"name": "Renamed Elsewhere"})
        )
        .await
        .status,
        200
    );

    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "1"),
        ("name", "My Rename"),
        ("inns", "7707083893"),
        ("max_dialogs_per_operator", "3000"),
    ];
    let response = client
        .post(app.url(&format!("/companies/{id}/edit")))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("data-testid=\"stale\""));
    assert!(
        html.contains("Renamed Elsewhere"),
        "the saved value is shown"
    );
    assert!(
        html.contains("value=\"My Rename\""),
        "the person's input is kept"
    );
    assert!(
        html.contains("name=\"version\" value=\"2\""),
        "saving again knowingly overwrites"
    );

    let fields = [
        ("csrf", csrf.as_str()),
        ("version", "2"),
        ("name", "My Rename"),
        ("inns", "7707083893"),
        ("max_dialogs_per_operator", "3000"),
    ];
    let response = client
        .post(app.url(&format!("/companies/{id}/edit")))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{id}")).await.body["name"],
        "My Rename"
    );
}

#[tokio::test]
async fn delete_and_restore_go_through_confirmation_pages() {
    let app = TestApp::spawn().await;
    let reseller = app.create_company(serde_json::json!({"name": "Big Reseller", "inns": ["7707083893"], "is_reseller": true})).await;
    let rid = reseller["id"].as_i64().unwrap();
    let mut child = company("Small Affiliate");
    child["parent_id"] = serde_json::json!(rid);
    app.create_company(child).await;
    let (client, csrf) = sign_in(&app).await;

    let form = client
        .get(app.url("/companies/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(&format!("<option value=\"{rid}\">Big Reseller</option>")),
        "resellers are offered as parents"
    );
    assert!(form.contains("<option value=\"1\">Provider LLC</option>"));
    assert!(
        !form.contains(">Small Affiliate</option>"),
        "an affiliate cannot take children"
    );

    let confirm = client
        .get(app.url(&format!("/companies/{rid}/delete")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        confirm.contains("Small Affiliate"),
        "the children are listed"
    );
    assert!(confirm.contains("name=\"cascade\""));

    let refused = client
        .post(app.url(&format!("/companies/{rid}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::CONFLICT,
        "children need the explicit cascade"
    );
    let done = client
        .post(app.url(&format!("/companies/{rid}/delete")))
        .form(&[("csrf", csrf.as_str()), ("cascade", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/companies?deleted=only").await.body["total"],
        2
    );

    let list = client
        .get(app.url("/companies?deleted=only&partial=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Big Reseller") && list.contains("Small Affiliate"));
    assert!(
        !list.contains("<html"),
        "partial=1 renders only the results block"
    );

    let restore = client
        .get(app.url(&format!("/companies/{rid}/restore")))
        .send()
        .await
        .unwrap();
    assert_eq!(restore.status(), StatusCode::OK);
    let done = client
        .post(app.url(&format!("/companies/{rid}/restore")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/api/v1/companies?deleted=only").await.body["total"],
        0
    );
}

#[tokio::test]
async fn language_is_switchable_and_remembered() {
    let app = TestApp::spawn().await;
    let (client, _) = sign_in(&app).await;
    let ru = client
        .get(app.url("/companies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ru.contains("<html lang=\"ru\">") && ru.contains("Компании"));
    let switch = client
        .get(app.url("/lang?set=en&back=%2Fcompanies"))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), StatusCode::SEE_OTHER);
    assert!(switch.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("kabinet_lang=en"));
    let en = client
        .get(app.url("/companies"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Companies") && en.contains("Русский")
    );
    let evil = client
        .get(app.url("/lang?set=en&back=https://evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(evil.headers()["location"], "/companies", "no open redirect");

    let api = app
        .request(reqwest::Method::POST, "/api/v1/companies")
        .header("accept-language", "en-GB,en;q=0.9")
        .json(&serde_json::json!({"name": "X", "inns": ["1"]}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "An INN has 10 digits (organisation) or 12 (individual)"
    );
}

#[tokio::test]
async fn a_person_with_a_generated_password_is_sent_to_change_it() {
    let app = TestApp::spawn().await;
    let reply = app
        .post("/api/v1/users", &serde_json::json!({"login": "fresh", "first_name": "F", "last_name": "R", "generate_password": true}))
        .await;
    let generated = reply.body["generated_password"]
        .as_str()
        .unwrap()
        .to_string();
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page);
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("login", "fresh"),
            ("password", generated.as_str()),
            ("next", "/companies"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/me/password");
    let list = client.get(app.url("/companies")).send().await.unwrap();
    assert_eq!(
        list.headers()["location"],
        "/me/password",
        "every page leads to the change first"
    );
    let form = client
        .get(app.url("/me/password"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("data-testid=\"forced\""));
    let csrf = csrf_in(&form);
    let mismatch = client
        .post(app.url("/me/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", generated.as_str()),
            ("new_password", "my new passphrase"),
            ("repeat_password", "other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch
        .text()
        .await
        .unwrap()
        .contains("data-field=\"repeat_password\""));
    let done = client
        .post(app.url("/me/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", generated.as_str()),
            ("new_password", "my new passphrase"),
            ("repeat_password", "my new passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"password-changed\""));
    let list = client.get(app.url("/companies")).send().await.unwrap();
    assert_eq!(
        list.status(),
        StatusCode::FORBIDDEN,
        "no rights, but no longer sent to the password page"
    );
}

#[tokio::test]
async fn password_recovery_pages_work_without_a_session() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/v1/users",
        &serde_json::json!({"login": "lost", "first_name": "L", "last_name": "O", "email": "lost@example.ru", "password": "old lost passphrase"}),
    )
    .await;
    let client = browser();
    let login_page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login_page.contains("href=\"/password/forgot\""));
    let page = client
        .get(app.url("/password/forgot"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page);
    let sent = client
        .post(app.url("/password/forgot"))
        .form(&[("csrf", token.as_str()), ("login", "lost")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(sent
        .text()
        .await
        .unwrap()
        .contains("data-testid=\"recovery-sent\""));

    let outbox = app.get("/api/v1/outbox?topic=email").await;
    let text = outbox.body["items"][0]["payload"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    let start = text.find("/password/set#").unwrap() + "/password/set#".len();
    let secret = text[start..].split_whitespace().next().unwrap().to_string();

    let page = client
        .get(app.url("/password/set"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-token-from-fragment"));
    let token = csrf_in(&page);
    let done = client
        .post(app.url("/password/set"))
        .form(&[
            ("csrf", token.as_str()),
            ("token", secret.as_str()),
            ("new_password", "found it again"),
            ("repeat_password", "found it again"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    assert!(html.contains("data-testid=\"password-set\""));
    let page = client
        .get(app.url("/password/set"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page);
    let again = client
        .post(app.url("/password/set"))
        .form(&[
            ("csrf", token.as_str()),
            ("token", secret.as_str()),
            ("new_password", "found it again"),
            ("repeat_password", "found it again"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "used links are refused"
    );

    let (admin, _) = sign_in(&app).await;
    let outbox_page = admin
        .get(app.url("/outbox"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(outbox_page.contains("lost@example.ru"));
}

#[tokio::test]
async fn the_console_enrols_totp_and_asks_for_the_code_at_sign_in() {
    let app = TestApp::spawn().await;
    let (client, csrf) = sign_in(&app).await;
    let begun = client
        .post(app.url("/me/security"))
        .form(&[("csrf", csrf.as_str()), ("action", "begin")])
        .send()
        .await
        .unwrap();
    let html = begun.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"totp-qr\"") && html.contains("<svg"),
        "a QR code is shown"
    );
    let marker = "data-testid=\"totp-secret\">";
    let start = html.find(marker).unwrap() + marker.len();
    let secret = html[start..].split('<').next().unwrap().to_string();
    let code = {
        let bytes = kabinet_domain::totp::base32_decode(&secret).unwrap();
        let step = kabinet_domain::totp::step_of(kabinet_service::now_ms() / 1000);
        format!("{:06}", kabinet_domain::totp::code_at(&bytes, step))
    };
    let confirmed = client
        .post(app.url("/me/security"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("action", "confirm"),
            ("secret", secret.as_str()),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let html = confirmed.text().await.unwrap();
    assert!(html.contains("data-testid=\"recovery-codes\""));
    assert!(html.contains("data-testid=\"totp-on\""));

    // A new browser signs in: the password leads to the code page.
    let other = browser();
    let page = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page);
    let step = other
        .post(app.url("/login"))
        .form(&[
            ("login", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/companies"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(step.status(), StatusCode::OK);
    let html = step.text().await.unwrap();
    assert!(html.contains("action=\"/login/code\""));
    let marker = "name=\"challenge\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let challenge = html[start..].split('"').next().unwrap().to_string();
    let token = csrf_in(&html);
    let wrong = other
        .post(app.url("/login/code"))
        .form(&[
            ("csrf", token.as_str()),
            ("challenge", challenge.as_str()),
            ("code", "000000"),
            ("next", "/companies"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let html = wrong.text().await.unwrap();
    let token = csrf_in(&html);
    let next_code = {
        let bytes = kabinet_domain::totp::base32_decode(&secret).unwrap();
        let step = kabinet_domain::totp::step_of(kabinet_service::now_ms() / 1000) + 1;
        format!("{:06}", kabinet_domain::totp::code_at(&bytes, step))
    };
    let done = other
        .post(app.url("/login/code"))
        .form(&[
            ("csrf", token.as_str()),
            ("challenge", challenge.as_str()),
            ("code", next_code.as_str()),
            ("next", "/companies"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/companies");
    assert_eq!(
        other
            .get(app.url("/companies"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_sign_in_page_has_an_account_number_form() {
    let app = TestApp::spawn().await;
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("href=\"/login?by=account&amp;next=%2Fcompanies\""));
    let page_with_query = client
        .get(app.url("/login?next=%2Fcompanies%3Fq%3Da%26region%3Db"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page_with_query.contains("next=%2Fcompanies%3Fq%3Da%26region%3Db"),
        "next keeps its whole query"
    );
    let page = client
        .get(app.url("/login?by=account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"account_number\"") && !page.contains("name=\"login\""));
    let token = csrf_in(&page);
    let refused = client
        .post(app.url("/login"))
        .form(&[
            ("account_number", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/companies"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Это личный логин сотрудника"),
        "a personal login on the account form is told so"
    );
    assert!(
        html.contains("name=\"account_number\" value=\"admin\""),
        "the form stays the account-number form"
    );
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/login", "/api/v1/me", "/healthz"] {
        let response = app
            .anonymous(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("unsafe-inline"),
            "{path}: no inline code allowed"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
    // No page of the console carries inline script or style.
    let (client, _) = app.console_sign_in("/me/security").await;
    for path in [
        "/companies",
        "/users",
        "/departments",
        "/outbox",
        "/me/security",
        "/audit",
    ] {
        let html = client
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for inline in ["<script>", "onchange=", "onclick=", "style=\""] {
            assert!(!html.contains(inline), "{path} has inline code: {inline}");
        }
    }
}

/// A search matching more than 2,000 companies with no sort chosen is
/// listed in the order the companies were added: the list marks the id
/// column as the sorted one and says why; with a sort chosen it is sorted.
#[tokio::test]
async fn a_common_search_says_it_is_listed_in_the_order_added() {
    let app = TestApp::spawn().await;
    app.fill_demo(2600, 5).await;
    let (client, _) = sign_in(&app).await;
    fn ids(html: &str) -> Vec<i64> {
        html.split("<td data-label=\"ID\">")
            .skip(1)
            .map(|cell| cell.split('<').next().unwrap().trim().parse().unwrap())
            .collect()
    }

    // Every account number holds "ls-000": 2,600 matches.
    let common = app.html(&client, "/companies?q=ls-000&lang=en").await;
    assert!(common.contains("data-testid=\"order-note\""), "{common}");
    let columns = aria_sort(&common);
    assert!(
        columns.contains(&("id".into(), "ascending".into())),
        "{columns:?}"
    );
    assert!(
        columns.contains(&("name".into(), "none".into())),
        "{columns:?}"
    );
    let listed = ids(&common);
    assert!(listed.len() > 10, "{listed:?}");
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "{listed:?}");

    // With a sort chosen the rows are in it, and nothing needs saying.
    let by_name = app
        .html(&client, "/companies?q=ls-000&sort=name&dir=asc")
        .await;
    assert!(!by_name.contains("data-testid=\"order-note\""));
    let columns = aria_sort(&by_name);
    assert!(
        columns.contains(&("name".into(), "ascending".into())),
        "{columns:?}"
    );
    assert!(
        columns.contains(&("id".into(), "none".into())),
        "{columns:?}"
    );

    // A rare search is sorted by name as asked, without the note.
    let rare = app.html(&client, "/companies?q=ls-00000777").await;
    assert!(!rare.contains("data-testid=\"order-note\""));
    assert_eq!(ids(&rare), vec![777]);
}
