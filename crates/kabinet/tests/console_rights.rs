//! Console pages of departments and rights: create a department with only
//! "companies: view", put a person in it, and see what the person may do;
//! an extra right applies at once; the person's rights page names sources.

use kabinet_testkit::{company, csrf_in, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::json;

const PASSWORD: &str = "console rights passphrase";

async fn page(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client.get(app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(
    client: &Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let response = client.post(app.url(path)).form(form).send().await.unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    (response.status(), response.text().await.unwrap(), location)
}

#[tokio::test]
async fn a_view_only_department_shapes_what_its_member_sees() {
    let app = TestApp::spawn().await;
    let target = app.create_company(company("Видимая компания")).await;
    let target_id = target["id"].as_i64().unwrap();
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": "looker", "first_name": "Лука", "last_name": "Смотрящий", "password": PASSWORD}),
        )
        .await;
    let looker = created.body["id"].as_i64().unwrap();
    let (admin, csrf) = app.console_sign_in("/departments").await;

    // The list shows the defaults; a new department through the form.
    let (_, list) = page(&admin, &app, "/departments").await;
    assert!(list.contains("Продажи") && list.contains("Техническая поддержка"));
    let (status, body, location) = post(
        &admin,
        &app,
        "/departments/new",
        &[
            ("csrf", &csrf),
            ("name_ru", ""),
            ("name_en", "Viewers"),
            ("mon_from", "18:00"),
            ("mon_to", "09:00"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{location:?}");
    assert!(
        body.contains("name_ru") && body.contains("schedule.days.mon"),
        "both problems named"
    );
    assert!(body.contains("value=\"Viewers\""), "the input is kept");
    let (status, _, location) = post(
        &admin,
        &app,
        "/departments/new",
        &[
            ("csrf", &csrf),
            ("name_ru", "Наблюдатели"),
            ("name_en", "Viewers"),
            ("task_language", "ru"),
            ("timezone", "Europe/Moscow"),
            ("mon_from", "09:00"),
            ("mon_to", "18:00"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // B3: support settings, named when wrong and stored when right.
    let (status, body, _) = post(
        &admin,
        &app,
        "/departments/new",
        &[
            ("csrf", &csrf),
            ("name_ru", "Поддержка"),
            ("name_en", "Support"),
            ("support_companies", "1, x"),
            ("support_head", "boss"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("support.shown_to_company_ids") && body.contains("support.head_user_id"),
        "both named"
    );
    let (status, _, support_location) = post(
        &admin,
        &app,
        "/departments/new",
        &[
            ("csrf", &csrf),
            ("name_ru", "Поддержка"),
            ("name_en", "Support"),
            ("support_companies", "1"),
            ("support_head", "1"),
            ("support_description", "Сбои связи"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let support_id: i64 = support_location
        .unwrap()
        .trim_start_matches("/departments/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stored = app
        .get(&format!("/api/v1/departments/{support_id}"))
        .await
        .body;
    assert_eq!(stored["support"]["shown_to_company_ids"], json!([1]));
    assert_eq!(stored["support"]["head_user_id"], 1);
    assert_eq!(stored["support"]["category_description"], "Сбои связи");
    let card_path = location.unwrap().split('?').next().unwrap().to_string();
    let (_, card) = page(&admin, &app, &card_path).await;
    assert!(card.contains("Наблюдатели") && card.contains("09:00–18:00"));
    assert!(
        card.contains("value=\"companies.view\""),
        "the rights grid lists the catalog"
    );
    assert!(
        !card.contains("value=\"companies.view\" checked"),
        "a new department grants nothing"
    );

    // Rights: the companies section and its view function only.
    let rights_path = format!("{card_path}/rights");
    let (status, _, _) = post(
        &admin,
        &app,
        &rights_path,
        &[
            ("csrf", &csrf),
            ("section", "companies"),
            ("function", "companies.view"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let members_path = format!("{card_path}/members");
    let (status, body, _) = post(
        &admin,
        &app,
        &members_path,
        &[("csrf", &csrf), ("action", "add"), ("login", "nobody-here")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Нет пользователя с таким логином"));
    let (status, _, _) = post(
        &admin,
        &app,
        &members_path,
        &[("csrf", &csrf), ("action", "add"), ("login", "looker")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, card) = page(&admin, &app, &card_path).await;
    assert!(card.contains("value=\"companies.view\" checked"));
    assert!(card.contains("Смотрящий Лука"));

    // The member sees companies but no edit buttons, and direct URLs are refused.
    let (looker_client, _) = app
        .console_sign_in_as("looker", PASSWORD, "/companies")
        .await;
    let (status, list) = page(&looker_client, &app, "/companies").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Видимая компания"));
    assert!(!list.contains("href=\"/companies/new\""));
    assert!(
        !list.contains("href=\"/departments\""),
        "no menu entry without the right"
    );
    let (status, company_card) =
        page(&looker_client, &app, &format!("/companies/{target_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!company_card.contains(&format!("/companies/{target_id}/edit")));
    let (status, _) = page(
        &looker_client,
        &app,
        &format!("/companies/{target_id}/edit"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = page(&looker_client, &app, "/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An extra right on the person's rights page applies to the next request.
    let (_, rights_page) = page(&admin, &app, &format!("/users/{looker}/rights")).await;
    assert!(rights_page.contains("data-right=\"companies.view\""));
    assert!(
        rights_page.contains("<span class=\"badge\">Наблюдатели</span>"),
        "the source is named"
    );
    let (status, _, _) = post(
        &admin,
        &app,
        &format!("/users/{looker}/rights"),
        &[("csrf", &csrf), ("extra", "audit.view")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = page(&looker_client, &app, "/audit").await;
    assert_eq!(status, StatusCode::OK);
    let (_, rights_page) = page(&admin, &app, &format!("/users/{looker}/rights")).await;
    assert!(rights_page.contains("value=\"audit.view\" aria-label=\"audit.view\" checked"));

    // Deleting the department takes its rights away.
    let (_, confirm) = page(&admin, &app, &format!("{card_path}/delete")).await;
    let version_marker = "name=\"version\" value=\"";
    let start = confirm.find(version_marker).unwrap() + version_marker.len();
    let version = confirm[start..].split('"').next().unwrap().to_string();
    let (status, _, location) = post(
        &admin,
        &app,
        &format!("{card_path}/delete"),
        &[("csrf", &csrf), ("version", &version)],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (
            StatusCode::SEE_OTHER,
            Some("/departments?flash=flash.deleted")
        )
    );
    let (status, _) = page(&looker_client, &app, "/companies").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let _ = csrf_in;
}

#[tokio::test]
async fn every_console_page_is_guarded_before_it_runs() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": "bare", "first_name": "Без", "last_name": "Прав", "password": PASSWORD}),
        )
        .await;
    let bare = created.body["id"].as_i64().unwrap();
    // Without a session: to the sign-in page, coming back afterwards.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = anonymous
        .get(app.url("/departments/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fdepartments%2F1"
    );
    // Signed in without rights: the 403 page for every page that needs one.
    let (client, csrf) = app
        .console_sign_in_as("bare", PASSWORD, "/me/security")
        .await;
    for path in [
        "/departments",
        "/departments/1",
        "/companies",
        "/users",
        "/audit",
        "/outbox",
        "/users/1/rights",
    ] {
        let (status, _) = page(&client, &app, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, body, _) = post(
        &client,
        &app,
        "/departments/1/rights",
        &[("csrf", &csrf), ("section", "companies")],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "refused before the handler: {body}"
    );
    // One's own card and rights are one's own.
    for path in [
        format!("/users/{bare}"),
        format!("/users/{bare}/rights"),
        "/me/security".to_string(),
    ] {
        let (status, _) = page(&client, &app, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}
