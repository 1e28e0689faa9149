//! Group companies through HTTP (issue 5: M1, M2, M5, the group-admin part
//! of M6): the group flag, linking a client by its multichannel number only
//! when the INNs match (each refusal with its reason), unlinking, the list of
//! linked clients with search, filters, sort and paging, the group admin's
//! scope (their group and its linked clients, nothing else, changing with
//! the very next request), concurrent links, and the console landing page.

use kabinet_testkit::{aria_sort, browser, csrf_in, urlencode, TestApp};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const GROUP_INN: &str = "7707083893";
const OTHER_INN: &str = "7736207543";
const PASSWORD: &str = "group admin passphrase";
const ADMIN_PHONE: &str = "+79161234567";

/// The companies of one provider: a group company, two clients sharing its
/// INN (one linked by the tests, one never), a client with another INN, and
/// a plain company.
struct World {
    group: i64,
    north: i64,
    south: i64,
    sibling: i64,
    foreign: i64,
    plain: i64,
}

async fn create(app: &TestApp, body: Value) -> i64 {
    app.create_company(body).await["id"].as_i64().unwrap()
}

async fn world(app: &TestApp) -> World {
    World {
        group: create(
            app,
            json!({"name": "Холдинг Восток", "inns": [GROUP_INN, "7702070139"], "is_group_company": true,
                   "multichannel_number": "+7 (495) 100-00-01"}),
        )
        .await,
        north: create(
            app,
            json!({"name": "Север Регион", "inns": [GROUP_INN], "multichannel_number": "+7 (812) 111-11-11",
                   "account_number": "LS-NORTH", "pbx_number": "PBX-7", "tariff": "Бизнес",
                   "region": "Санкт-Петербург", "macroregion": "Северо-Запад"}),
        )
        .await,
        south: create(
            app,
            json!({"name": "Юг Регион", "inns": [GROUP_INN], "multichannel_number": "8 861 222 22 22",
                   "account_number": "LS-SOUTH", "pbx_number": "PBX-3", "tariff": "Старт",
                   "region": "Краснодарский край", "macroregion": "Юг"}),
        )
        .await,
        sibling: create(
            app,
            json!({"name": "Сибирь Невидимка", "inns": [GROUP_INN], "multichannel_number": "+7 383 444-44-44",
                   "region": "Новосибирская область", "macroregion": "Сибирь"}),
        )
        .await,
        foreign: create(
            app,
            json!({"name": "Чужая Компания", "inns": [OTHER_INN], "multichannel_number": "+7 343 333-33-33"}),
        )
        .await,
        plain: create(
            app,
            json!({"name": "Обычная Компания", "inns": [GROUP_INN], "multichannel_number": "+7 495 555-55-55"}),
        )
        .await,
    }
}

async fn link_as(
    app: &TestApp,
    token: Option<&str>,
    group: i64,
    number: &str,
    lang: &str,
) -> (StatusCode, Value) {
    let path = format!("/api/v1/companies/{group}/links");
    let request = match token {
        Some(token) => app.with_token(token, Method::POST, &path),
        None => app.request(Method::POST, &path),
    };
    let reply = request
        .header("accept-language", lang)
        .json(&json!({ "multichannel_number": number }))
        .send()
        .await
        .unwrap();
    let status = reply.status();
    (status, reply.json().await.unwrap_or(Value::Null))
}

async fn link(app: &TestApp, group: i64, number: &str) -> (StatusCode, Value) {
    link_as(app, None, group, number, "en").await
}

/// The (code, message) of the one field error of a refusal.
fn field_error(body: &Value) -> (String, String) {
    let errors = body["errors"].as_array().expect("field errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], "multichannel_number");
    (
        errors[0]["code"].as_str().unwrap().to_string(),
        errors[0]["message"].as_str().unwrap().to_string(),
    )
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app.get(&format!("/api/v1/audit?action={action}"))
        .await
        .body["total"]
        .as_i64()
        .unwrap()
}

async fn linked_names(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (StatusCode, Vec<String>, i64) {
    let reply = match token {
        Some(token) => {
            kabinet_testkit::Reply::from(
                app.with_token(token, Method::GET, path)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
        None => app.get(path).await,
    };
    let total = reply.body["total"].as_i64().unwrap_or(-1);
    (reply.status, reply.names(), total)
}

/// A group admin of `company` with the given extra rights, and a token.
async fn group_admin(app: &TestApp, login: &str, company: i64, rights: &[&str]) -> (i64, String) {
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": login, "first_name": "Глеб", "last_name": "Групповой", "kind": "group_admin",
                    "company_id": company, "password": PASSWORD, "mobile_phone": ADMIN_PHONE}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_i64().unwrap();
    let reply = app
        .request(Method::PUT, &format!("/api/v1/users/{id}/extra-rights"))
        .json(&json!({ "rights": rights }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let token = app
        .services
        .token_create_for_login(login, "tests")
        .await
        .expect("token");
    (id, token)
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> kabinet_testkit::Reply {
    kabinet_testkit::Reply::from(
        app.with_token(token, Method::GET, path)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_client_is_linked_only_by_its_number_with_a_matching_inn() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let card = app.get(&format!("/api/v1/companies/{}", w.group)).await;
    assert_eq!(card.body["is_group_company"], true);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{}", w.plain))
            .await
            .body["is_group_company"],
        false
    );

    // Not a group company: nothing can be linked to it.
    let (status, problem) = link(&app, w.plain, "+7 812 111-11-11").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("link.not_group_company"))
    );
    assert!(
        problem["title"]
            .as_str()
            .unwrap()
            .contains("not a group company"),
        "{problem}"
    );
    // Not a phone number at all.
    let (status, problem) = link(&app, w.group, "call me").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&problem).0, "phone.invalid");
    // No client has this number.
    let (status, problem) = link(&app, w.group, "+7 999 000-00-00").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&problem),
        (
            "link.client_not_found".into(),
            "No client has this multichannel number".into()
        )
    );
    // The client's INN is none of the group's: refused with the reason, in
    // the reader's language.
    let (status, problem) = link_as(&app, None, w.group, "+7 343 333-33-33", "ru").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_error(&problem),
        (
            "link.inn_mismatch".into(),
            "ИНН клиента не совпадает ни с одним ИНН группы компаний".into()
        )
    );
    let (_, problem) = link(&app, w.group, "+7 343 333-33-33").await;
    assert_eq!(
        field_error(&problem).1,
        "The client's INN does not equal any INN of the group company"
    );
    // The group's own number.
    let (status, problem) = link(&app, w.group, "84951000001").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&problem).0, "link.self");
    // A refusal writes nothing.
    assert_eq!(audit_count(&app, "company.link").await, 0);
    assert_eq!(
        linked_names(&app, None, &format!("/api/v1/companies/{}/links", w.group))
            .await
            .2,
        0
    );

    // The number as people write it: normalised like the card's.
    let (status, created) = link(&app, w.group, "8 (812) 111 11 11").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["group_company_id"], w.group);
    assert_eq!(created["client_company_id"], w.north);
    assert_eq!(created["client"]["name"], "Север Регион");
    assert!(created["created_by"].is_i64() && created["created_at"].is_string());
    // Linked already: 409, and no second row.
    let (status, problem) = link(&app, w.group, "+78121111111").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::CONFLICT, Some("link.exists"))
    );
    assert_eq!(
        linked_names(&app, None, &format!("/api/v1/companies/{}/links", w.group))
            .await
            .2,
        1
    );

    // Audited with who and what, in the API's shape.
    let audit = app.get("/api/v1/audit?action=company.link").await;
    assert_eq!(audit.body["total"], 1);
    let entry = &audit.body["items"][0];
    assert_eq!(entry["actor_login"], "admin");
    assert_eq!(entry["entity_type"], "company");
    assert_eq!(entry["entity_id"], w.group.to_string());
    assert!(entry["before"].is_null());
    assert_eq!(entry["after"]["client_company_id"], w.north);
    assert_eq!(entry["after"]["client"]["inns"][0], GROUP_INN);
    // The outbox has the event of the change.
    let events = app.get("/api/v1/outbox?topic=company.linked").await;
    assert_eq!(events.body["total"], 1, "{}", events.body);

    // A group company of another tenant's scope is not found.
    let (status, _) = link(&app, 999_999, "+7 812 111-11-11").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unlinking_removes_the_link_and_is_audited() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    assert_eq!(
        link(&app, w.group, "+7 812 111-11-11").await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        link(&app, w.group, "+7 861 222-22-22").await.0,
        StatusCode::CREATED
    );

    let path = format!("/api/v1/companies/{}/links/{}", w.group, w.north);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let again = app.delete(&path).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(&format!(
            "/api/v1/companies/{}/links/{}",
            w.group, w.sibling
        ))
        .await
        .status,
        StatusCode::NOT_FOUND,
        "never linked"
    );
    let (_, names, total) =
        linked_names(&app, None, &format!("/api/v1/companies/{}/links", w.group)).await;
    assert_eq!((names, total), (vec!["Юг Регион".to_string()], 1));

    let audit = app.get("/api/v1/audit?action=company.unlink").await;
    assert_eq!(audit.body["total"], 1);
    let entry = &audit.body["items"][0];
    assert_eq!(entry["entity_id"], w.group.to_string());
    assert_eq!(entry["before"]["client_company_id"], w.north);
    assert!(entry["after"].is_null());
    // Linked again after an unlink.
    assert_eq!(
        link(&app, w.group, "+7 812 111-11-11").await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_linked_clients_list_searches_filters_sorts_and_pages() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    for number in ["+7 812 111-11-11", "+7 861 222-22-22"] {
        assert_eq!(link(&app, w.group, number).await.0, StatusCode::CREATED);
    }
    let base = format!("/api/v1/companies/{}/links", w.group);
    let (status, names, total) = linked_names(&app, None, &base).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names,
        vec!["Север Регион", "Юг Регион"],
        "by name by default"
    );
    assert_eq!(total, 2, "the count of clients");
    let page = app.get(&base).await;
    let first = &page.body["items"][0];
    for (field, value) in [
        ("account_number", "LS-NORTH"),
        ("pbx_number", "PBX-7"),
        ("tariff", "Бизнес"),
        ("region", "Санкт-Петербург"),
        ("macroregion", "Северо-Запад"),
    ] {
        assert_eq!(first[field], value, "M2 column {field}");
    }

    let cases: [(String, Vec<&str>, i64); 8] = [
        (
            format!("{base}?q={}", urlencode("юг")),
            vec!["Юг Регион"],
            1,
        ),
        (format!("{base}?q=LS-NORTH"), vec!["Север Регион"], 1),
        (
            format!("{base}?q={}", urlencode("(861) 222")),
            vec!["Юг Регион"],
            1,
        ),
        (format!("{base}?q={}", urlencode("Невидимка")), vec![], 0),
        (
            format!("{base}?region={}", urlencode("Краснодарский край")),
            vec!["Юг Регион"],
            1,
        ),
        (
            format!("{base}?macroregion={}", urlencode("Северо-Запад")),
            vec!["Север Регион"],
            1,
        ),
        (
            format!("{base}?sort=pbx_number&dir=asc"),
            vec!["Юг Регион", "Север Регион"],
            2,
        ),
        (
            format!("{base}?sort=name&dir=desc&limit=1&offset=1"),
            vec!["Север Регион"],
            2,
        ),
    ];
    for (path, expected, expected_total) in cases {
        let (status, names, total) = linked_names(&app, None, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            (names, total),
            (
                expected.iter().map(|s| s.to_string()).collect(),
                expected_total
            ),
            "{path}"
        );
    }
    for sort in [
        "account_number",
        "name",
        "pbx_number",
        "tariff",
        "region",
        "macroregion",
    ] {
        let (status, names, _) =
            linked_names(&app, None, &format!("{base}?sort={sort}&dir=desc")).await;
        assert_eq!((status, names.len()), (StatusCode::OK, 2), "{sort}");
    }
    let bad = app.get(&format!("{base}?sort=password")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A company that is not a group links nobody; an unknown one is not found.
    assert_eq!(
        linked_names(&app, None, &format!("/api/v1/companies/{}/links", w.plain))
            .await
            .2,
        0
    );
    assert_eq!(
        app.get("/api/v1/companies/999999/links").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_group_admin_sees_their_group_and_linked_clients_and_nothing_else() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    assert_eq!(
        link(&app, w.group, "+7 812 111-11-11").await.0,
        StatusCode::CREATED
    );
    let (_, token) = group_admin(
        &app,
        "gleb",
        w.group,
        &["companies.view", "companies.link", "users.view"],
    )
    .await;

    // Their own group and the linked client; not the unlinked client of the
    // same provider (same INN), not the provider, not another tenant.
    assert_eq!(
        get_as(&app, &token, &format!("/api/v1/companies/{}", w.group))
            .await
            .status,
        200
    );
    assert_eq!(
        get_as(&app, &token, &format!("/api/v1/companies/{}", w.north))
            .await
            .status,
        200
    );
    for hidden in [w.sibling, w.south, w.foreign, w.plain, 1] {
        let reply = get_as(&app, &token, &format!("/api/v1/companies/{hidden}")).await;
        assert_eq!(reply.status, 404, "company {hidden}");
        assert!(!reply.text.contains("Невидимка"));
    }
    let list = get_as(&app, &token, "/api/v1/companies?limit=500").await;
    assert_eq!(list.status, 200);
    let mut names = list.names();
    names.sort();
    assert_eq!(names, vec!["Север Регион", "Холдинг Восток"]);
    assert_eq!(list.body["total"], 2);
    assert!(!list.text.contains("Невидимка") && !list.text.contains("Provider"));
    let search = get_as(
        &app,
        &token,
        &format!("/api/v1/companies?q={}", urlencode("регион")),
    )
    .await;
    assert_eq!(
        search.names(),
        vec!["Север Регион"],
        "search stays in scope"
    );
    let links = get_as(
        &app,
        &token,
        &format!("/api/v1/companies/{}/links", w.group),
    )
    .await;
    assert_eq!(links.names(), vec!["Север Регион"]);
    assert!(!links.text.contains("Невидимка"));
    // Another group company's clients are out of reach.
    let other_group = create(
        &app,
        json!({"name": "Другой Холдинг", "inns": [GROUP_INN], "is_group_company": true}),
    )
    .await;
    assert_eq!(
        get_as(
            &app,
            &token,
            &format!("/api/v1/companies/{other_group}/links")
        )
        .await
        .status,
        404
    );
    let (status, _) = link_as(&app, Some(&token), other_group, "+7 383 444-44-44", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // People of the linked client are in scope, those of the others are not.
    for (login, company) in [("northuser", w.north), ("siberian", w.sibling)] {
        let created = app
            .post("/api/v1/users", &json!({"login": login, "first_name": "Иван", "last_name": login, "company_id": company, "password": PASSWORD}))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let people = get_as(&app, &token, "/api/v1/users?limit=500").await;
    let logins: Vec<&str> = people.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert!(
        logins.contains(&"northuser") && logins.contains(&"gleb"),
        "{logins:?}"
    );
    assert!(
        !logins.contains(&"siberian") && !logins.contains(&"admin"),
        "{logins:?}"
    );

    // They link a client of their provider themselves: the INN proves it.
    // A mismatched INN and an unknown number read alike to a group admin:
    // nothing tells them a company with that number exists elsewhere.
    let (status, problem) = link_as(&app, Some(&token), w.group, "+7 343 333-33-33", "en").await;
    assert_eq!(
        (status, field_error(&problem).0.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "link.no_matching_client")
    );
    let (status, unknown) = link_as(&app, Some(&token), w.group, "+7 999 000-00-01", "en").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown, problem, "the same answer for an unknown number");
    let list = get_as(&app, &token, "/api/v1/companies?limit=500").await;
    assert_eq!(list.body["total"], 2, "{}", list.text);
    let (status, created) = link_as(&app, Some(&token), w.group, "+7 861 222-22-22", "en").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        get_as(&app, &token, &format!("/api/v1/companies/{}", w.south))
            .await
            .status,
        200
    );
    // Their list counts it at once (a link changes no company: the
    // company epoch stands still, and a group admin's list is counted
    // each time, not remembered).
    let list = get_as(&app, &token, "/api/v1/companies?limit=500").await;
    assert_eq!(list.body["total"], 3, "{}", list.text);

    // The INNs that entitle the group to its clients are not theirs to change,
    // even with the right to edit companies.
    let (_, editor) = group_admin(
        &app,
        "editor",
        w.group,
        &["companies.view", "companies.edit"],
    )
    .await;
    let card = get_as(&app, &editor, &format!("/api/v1/companies/{}", w.group)).await;
    let reply = app
        .with_token(
            &editor,
            Method::PATCH,
            &format!("/api/v1/companies/{}", w.group),
        )
        .header("content-type", "application/merge-patch+json")
        .header("if-match", card.header("etag").unwrap())
        .body(json!({"inns": [GROUP_INN, OTHER_INN]}).to_string())
        .send()
        .await
        .unwrap();
    let reply = kabinet_testkit::Reply::from(reply).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.error_codes(),
        vec![("inns".to_string(), "group.inns_locked".to_string())]
    );

    // An unlink applies to the very next request.
    assert_eq!(
        app.delete(&format!("/api/v1/companies/{}/links/{}", w.group, w.north))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get_as(&app, &token, &format!("/api/v1/companies/{}", w.north))
            .await
            .status,
        404
    );
    let list = get_as(&app, &token, "/api/v1/companies?limit=500").await;
    assert!(
        !list.names().contains(&"Север Регион".to_string()),
        "{:?}",
        list.names()
    );
    let people = get_as(&app, &token, "/api/v1/users?limit=500").await;
    assert!(!people.text.contains("northuser"));

    // The scope only narrows where: without the right, nothing.
    let (_, bare) = group_admin(&app, "bare", w.group, &[]).await;
    assert_eq!(
        get_as(&app, &bare, &format!("/api/v1/companies/{}/links", w.group))
            .await
            .status,
        403
    );
    let (status, _) = link_as(&app, Some(&bare), w.group, "+7 383 444-44-44", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, viewer) = group_admin(&app, "viewer", w.group, &["companies.view"]).await;
    let (status, _) = link_as(&app, Some(&viewer), w.group, "+7 383 444-44-44", "en").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let reply = app
        .with_token(
            &viewer,
            Method::DELETE,
            &format!("/api/v1/companies/{}/links/{}", w.group, w.south),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::FORBIDDEN);

    // A person of another kind in the group company gets no linked clients.
    let staff = app
        .post("/api/v1/users", &json!({"login": "clerk", "first_name": "Анна", "last_name": "Клерк", "company_id": w.group, "password": PASSWORD, "may_open_admin_cabinet": true}))
        .await;
    assert_eq!(staff.status, 201);
    let staff_id = staff.body["id"].as_i64().unwrap();
    app.request(
        Method::PUT,
        &format!("/api/v1/users/{staff_id}/extra-rights"),
    )
    .json(&json!({"rights": ["companies.view"]}))
    .send()
    .await
    .unwrap();
    let clerk = app
        .services
        .token_create_for_login("clerk", "tests")
        .await
        .unwrap();
    assert_eq!(
        get_as(&app, &clerk, &format!("/api/v1/companies/{}", w.group))
            .await
            .status,
        200
    );
    assert_eq!(
        get_as(&app, &clerk, &format!("/api/v1/companies/{}", w.south))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn two_parallel_links_of_one_pair_give_one_link_and_one_conflict() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let path = format!("/api/v1/companies/{}/links", w.group);
    for round in 0..5 {
        let send = || {
            app.request(Method::POST, &path)
                .json(&json!({"multichannel_number": "+7 812 111-11-11"}))
                .send()
        };
        let (a, b) = tokio::join!(send(), send());
        let mut statuses = vec![a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, vec![201, 409], "round {round}");
        assert_eq!(linked_names(&app, None, &path).await.2, 1);
        assert_eq!(
            app.delete(&format!("{path}/{}", w.north)).await.status,
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(audit_count(&app, "company.link").await, 5);
}

#[tokio::test]
async fn the_group_flag_is_edited_and_stays_while_clients_are_linked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let path = format!("/api/v1/companies/{}", w.plain);
    let card = app.get(&path).await;
    let etag = card.header("etag").unwrap().to_string();
    let changed = app
        .patch(&path, Some(&etag), &json!({"is_group_company": true}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["is_group_company"], true);
    let audit = app
        .get(&format!(
            "/api/v1/audit?action=company.update&entity_type=company&entity_id={}",
            w.plain
        ))
        .await;
    let entry = &audit.body["items"][0];
    assert_eq!(
        (
            entry["before"]["is_group_company"].clone(),
            entry["after"]["is_group_company"].clone()
        ),
        (json!(false), json!(true))
    );

    // Another edit without the flag keeps it.
    let etag = changed.header("etag").unwrap().to_string();
    let renamed = app
        .patch(&path, Some(&etag), &json!({"tariff": "Группа"}))
        .await;
    assert_eq!(renamed.body["is_group_company"], true);
    assert_eq!(
        link(&app, w.plain, "+7 383 444-44-44").await.0,
        StatusCode::CREATED
    );

    // While it links a client, it stays a group company.
    let etag = renamed.header("etag").unwrap().to_string();
    let refused = app
        .patch(&path, Some(&etag), &json!({"is_group_company": false}))
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.error_codes(),
        vec![(
            "is_group_company".to_string(),
            "group.has_links".to_string()
        )]
    );
    assert_eq!(
        app.delete(&format!("{path}/links/{}", w.sibling))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let dropped = app
        .patch(&path, Some(&etag), &json!({"is_group_company": false}))
        .await;
    assert_eq!(dropped.status, 200, "{}", dropped.body);
    assert_eq!(dropped.body["is_group_company"], false);
    // The provider is never a group company.
    let provider = app.get("/api/v1/companies/1").await;
    let etag = provider.header("etag").unwrap().to_string();
    let provider = app
        .patch(
            "/api/v1/companies/1",
            Some(&etag),
            &json!({"is_group_company": true}),
        )
        .await;
    assert_eq!(
        provider.body["is_group_company"], false,
        "{}",
        provider.body
    );
}

/// HTML with the entities askama writes turned back into characters.
fn unescape(html: &str) -> String {
    html.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
}

fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(|c| c.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Signs a group admin in through the console's forms, password then the
/// SMS code (read from the outbox, no gateway configured); returns the
/// browser and where the sign-in sent it.
async fn console_group_sign_in(app: &TestApp, login: &str) -> (Client, String) {
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("login", login),
            ("password", PASSWORD),
            ("next", "/companies"),
            ("csrf", csrf_in(&page).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the code step");
    let code_page = response.text().await.unwrap();
    let sms = app.get("/api/v1/outbox?topic=sms").await;
    let code = six_digits(sms.body["items"][0]["payload"]["text"].as_str().unwrap());
    let response = client
        .post(app.url("/login/code"))
        .form(&[
            ("csrf", csrf_in(&code_page)),
            ("challenge", hidden_value(&code_page, "challenge")),
            ("next", hidden_value(&code_page, "next")),
            ("sms", "1".to_string()),
            ("code", code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    (client, location)
}

#[tokio::test]
async fn a_group_admin_lands_on_the_linked_clients_page_in_the_console() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    assert_eq!(
        link(&app, w.group, "+7 812 111-11-11").await.0,
        StatusCode::CREATED
    );
    group_admin(&app, "gleb", w.group, &["companies.view", "companies.link"]).await;

    let (client, location) = console_group_sign_in(&app, "gleb").await;
    assert_eq!(location, "/companies");
    let response = client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/group");
    let response = client.get(app.url("/group")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Холдинг Восток") && html.contains("Север Регион"));
    for column in [
        "LS-NORTH",
        "PBX-7",
        "Бизнес",
        "Санкт-Петербург",
        "Северо-Запад",
    ] {
        assert!(html.contains(column), "M2 column {column}");
    }
    assert!(!html.contains("Невидимка") && !html.contains("Юг Регион"));
    assert!(html.contains("data-testid=\"link-form\"") && html.contains("data-testid=\"unlink\""));
    assert!(
        unescape(&html).contains("href=\"/group?dir=desc&sort=name\""),
        "sortable headers"
    );
    let csrf = csrf_in(&html);

    // Search and filters work on the page too.
    let found = client
        .get(app.url(&format!("/group?q={}&partial=1", urlencode("север"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(found.contains("Север Регион") && !found.contains("<html"));
    let none = client
        .get(app.url(&format!("/group?region={}", urlencode("Юг"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!none.contains("LS-NORTH"));

    // A mismatched INN is refused with the reason; the typed number stays.
    let response = client
        .post(app.url(&format!("/companies/{}/links", w.group)))
        .header("accept-language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("multichannel_number", "+7 343 333-33-33"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(unescape(&html).contains(
        "No client with this multichannel number and an INN equal to one of the group's INNs"
    ));
    assert!(html.contains("value=\"+7 343 333-33-33\""));
    // Without the CSRF token nothing happens.
    let response = client
        .post(app.url(&format!("/companies/{}/links", w.group)))
        .form(&[
            ("csrf", "forged"),
            ("multichannel_number", "+7 861 222-22-22"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A matching one is linked.
    let response = client
        .post(app.url(&format!("/companies/{}/links", w.group)))
        .form(&[
            ("csrf", csrf.as_str()),
            ("multichannel_number", "8 861 222 22 22"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/group?flash=flash.linked");
    let html = client
        .get(app.url("/group?flash=flash.linked"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Юг Регион"));

    // Unlink with the button's form.
    let response = client
        .post(app.url(&format!("/companies/{}/links/{}/delete", w.group, w.north)))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = client
        .get(app.url("/group"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Север Регион") && html.contains("Юг Регион"));
    // The unlinked client's card is gone for them at once.
    let response = client
        .get(app.url(&format!("/companies/{}", w.north)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Provider staff see the same page of any group company in their scope.
    let (admin, _) = app
        .console_sign_in(&format!("/companies/{}/links", w.group))
        .await;
    let html = admin
        .get(app.url(&format!("/companies/{}/links", w.group)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Юг Регион") && html.contains("data-testid=\"link-form\""));
    let response = admin.get(app.url("/companies")).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "staff keep the company list"
    );
}

#[tokio::test]
async fn the_console_form_sets_and_clears_the_group_company_flag() {
    let app = TestApp::spawn().await;
    let (client, csrf) = app.console_sign_in("/companies").await;
    let response = client
        .post(app.url("/companies/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "Холдинг из формы"),
            ("inns", "7707083893"),
            ("is_group_company", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location
        .trim_start_matches("/companies/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/companies/{id}")).await.body["is_group_company"],
        true
    );
    let form = client
        .get(app.url(&format!("/companies/{id}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("name=\"is_group_company\""),
        "the form has the checkbox"
    );
    let version = app.get(&format!("/api/v1/companies/{id}")).await.body["version"].to_string();
    let saved = client
        .post(app.url(&format!("/companies/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("version", version.as_str()),
            ("name", "Холдинг из формы"),
            ("inns", "7707083893"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{id}")).await.body["is_group_company"],
        false
    );
}

#[tokio::test]
async fn a_group_admin_sees_the_departments_of_linked_clients_and_no_others() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (status, _) = link(&app, w.group, "+7 (812) 111-11-11").await;
    assert_eq!(status, StatusCode::CREATED);
    for (company, name) in [(w.north, "Отдел Севера"), (w.sibling, "Отдел Сибири")]
    {
        let created = app
            .post(
                "/api/v1/departments",
                &json!({"company_id": company, "name_ru": name, "name_en": name}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let (_, token) = group_admin(&app, "deptgroup", w.group, &["departments.view"]).await;
    let list = get_as(&app, &token, "/api/v1/departments").await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name_ru"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Отдел Севера"],
        "the linked client's, not an unlinked one's"
    );
    assert_eq!(list.body["total"], 1);
}

/// A search whose words match more than 2,000 companies (anywhere) lists
/// the linked clients in the order they were added, and the page says so:
/// the API's `sort`/`dir`, the console's note, and no column marked sorted.
#[tokio::test]
async fn a_common_search_of_the_few_linked_clients_is_sorted_as_asked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    for number in ["+7 812 111-11-11", "+7 861 222-22-22"] {
        assert_eq!(link(&app, w.group, number).await.0, StatusCode::CREATED);
    }
    app.fill_demo(2600, 7).await;
    // "ls-" is in every account number: the demo's 2,600 and the two
    // clients'. Over the whole tree that is a common search, listed in the
    // order added; among the group's two linked clients it is two
    // companies, counted exactly and sorted by name as a list is by default.
    let everywhere = app.get("/api/v1/companies?q=ls-").await;
    assert_eq!(everywhere.body["sort"], "id");
    let base = format!("/api/v1/companies/{}/links", w.group);
    let common = app.get(&format!("{base}?q=ls-")).await;
    assert_eq!(common.status, StatusCode::OK);
    assert_eq!(common.body["total"], 2);
    assert_eq!(common.body["total_exact"], true);
    assert_eq!(common.body["sort"], "name");
    assert_eq!(common.body["dir"], "asc");
    let mut names = common.names();
    assert_eq!(names.len(), 2);
    let listed = names.clone();
    names.sort_by_key(|n| n.to_lowercase());
    assert_eq!(listed, names);
    let sorted = app.get(&format!("{base}?q=ls-&sort=name&dir=desc")).await;
    assert_eq!(sorted.body["sort"], "name");
    assert_eq!(sorted.body["dir"], "desc");
    names.reverse();
    assert_eq!(sorted.names(), names);

    let (client, _) = app
        .console_sign_in(&format!("/companies/{}/links", w.group))
        .await;
    let name_aria = |html: &str| -> String {
        aria_sort(html)
            .into_iter()
            .find(|(key, _)| key == "name")
            .map(|(_, aria)| aria)
            .unwrap_or_default()
    };
    let common = app
        .html(&client, &format!("/companies/{}/links?q=ls-", w.group))
        .await;
    assert!(!common.contains("data-testid=\"order-note\""), "{common}");
    assert_eq!(name_aria(&common), "ascending");
}
