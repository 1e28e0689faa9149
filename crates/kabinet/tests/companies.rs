//! Companies through the REST API, on the backend chosen by
//! `KABINET_TEST_BACKEND` (SQLite by default, PostgreSQL in CI's second pass).

use kabinet_domain::requisites::{Bik, CorrespondentAccount, SettlementAccount};
use kabinet_testkit::{company, urlencode, TestApp};
use serde_json::{json, Value};

fn id_of(value: &Value) -> i64 {
    value["id"].as_i64().expect("id")
}

fn full_company() -> Value {
    let bik = Bik::parse("044525225").unwrap();
    json!({
        "name": "New Ways Company",
        "short_id": "newways",
        "account_number": "LS-000123",
        "pbx_number": "1001",
        "multichannel_number": "8 800 555-35-35",
        "phones": ["+7 (495) 123-45-67", "8 (812) 765 43 21"],
        "region": "Москва",
        "macroregion": "Центральный",
        "inns": ["7707083893", "500100732259"],
        "kpp": "773601001",
        "ogrn": "1027700132195",
        "bik": "044525225",
        "bank": "ПАО Сбербанк",
        "correspondent_account": CorrespondentAccount::generate(&bik, "30101810400000000225").as_str(),
        "settlement_account": SettlementAccount::generate(&bik, "40702810000000012345").as_str(),
        "legal_address": "Москва, ул. Вавилова, 19",
        "postal_address": "Москва, а/я 1",
        "email": "Office@Example.RU",
        "phone": "+7 495 123 45 67",
        "timezone": "Asia/Yekaterinburg",
        "tariff": "Бизнес",
        "credit_limit": "1500.50",
        "balance_threshold": 100,
        "fz230_enabled": true
    })
}

#[tokio::test]
async fn a_full_card_is_stored_normalised_and_read_back() {
    let app = TestApp::spawn().await;
    let created = app.create_company(full_company()).await;
    let id = id_of(&created);
    let read = app.get(&format!("/api/v1/companies/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some("\"1\""));
    let c = &read.body;
    assert_eq!(c["name"], "New Ways Company");
    assert_eq!(c["phones"], json!(["+74951234567", "+78127654321"]));
    assert_eq!(c["multichannel_number"], "+78005553535");
    assert_eq!(c["inns"], json!(["7707083893", "500100732259"]));
    assert_eq!(c["email"], "Office@example.ru");
    assert_eq!(c["timezone"], "Asia/Yekaterinburg");
    assert_eq!(c["max_dialogs_per_operator"], 3000);
    assert_eq!(c["credit_limit"], "1500.50");
    assert_eq!(c["balance_threshold"], "100.00");
    assert_eq!(c["fz230_enabled"], true);
    assert_eq!(c["parent_id"], 1);
    assert_eq!(c["version"], 1);
}

#[tokio::test]
async fn bad_input_names_each_field_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let mut body = full_company();
    body["inns"] = json!(["7707083894", "12345"]);
    body["kpp"] = json!("77360100");
    body["ogrn"] = json!("1027700132194");
    body["bik"] = json!("144525225");
    body["email"] = json!("not-an-email");
    body["phones"] = json!(["+7 (495) 123-45-67", "12"]);
    body["timezone"] = json!("Moscow/Europe");
    body["credit_limit"] = json!("12.345");
    let reply = app.post("/api/v1/companies", &body).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.body["code"], "validation_failed");
    let codes = reply.error_codes();
    for expected in [
        ("inns[0]", "inn.checksum"),
        ("inns[1]", "inn.length"),
        ("kpp", "kpp.format"),
        ("ogrn", "ogrn.checksum"),
        ("bik", "bik.format"),
        ("email", "email.invalid"),
        ("phones[1]", "phone.invalid"),
        ("timezone", "timezone.invalid"),
        ("credit_limit", "money.format"),
    ] {
        assert!(
            codes.contains(&(expected.0.to_string(), expected.1.to_string())),
            "missing {expected:?} in {codes:?}"
        );
    }
    let list = app.get("/api/v1/companies").await;
    assert_eq!(
        list.body["total"], 1,
        "only the provider exists: {}",
        list.body
    );

    let mut accounts = full_company();
    accounts["correspondent_account"] = json!("30101810400000000226");
    let reply = app.post("/api/v1/companies", &accounts).await;
    assert_eq!(
        reply.error_codes(),
        vec![(
            "correspondent_account".to_string(),
            "correspondent_account.key".to_string()
        )]
    );

    let reply = app
        .post("/api/v1/companies", &json!({"name": "No INN"}))
        .await;
    assert_eq!(
        reply.error_codes(),
        vec![("inns".to_string(), "inns.required".to_string())]
    );
    let reply = app
        .post(
            "/api/v1/companies",
            &json!({"name": "X", "inns": ["7707083893"], "password": "x"}),
        )
        .await;
    assert_eq!(
        reply.status, 422,
        "unknown fields are refused: {}",
        reply.text
    );
    let reply = app
        .request(reqwest::Method::POST, "/api/v1/companies")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
}

#[tokio::test]
async fn account_numbers_are_unique() {
    let app = TestApp::spawn().await;
    let mut first = company("First");
    first["account_number"] = json!("LS-1");
    app.create_company(first).await;
    let mut second = company("Second");
    second["account_number"] = json!("LS-1");
    let reply = app.post("/api/v1/companies", &second).await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.error_codes(),
        vec![(
            "account_number".to_string(),
            "account_number.taken".to_string()
        )]
    );
}

#[tokio::test]
async fn search_finds_by_fragments_ids_requisites_and_phone_digits() {
    let app = TestApp::spawn().await;
    app.create_company(full_company()).await;
    let mut romashka = company("ООО «Ромашка»");
    romashka["phones"] = json!(["+7 (383) 200-10-20"]);
    romashka["inns"] = json!(["500100732259"]);
    let romashka = app.create_company(romashka).await;
    app.create_company(company("Another Firm")).await;

    let names = |q: String| {
        let path = format!("/api/v1/companies?sort=name&q={}", urlencode(&q));
        let app = &app;
        async move { app.get(&path).await.names() }
    };
    for fragment in ["new", "ways", "comp", "NEW WAYS", "ays Comp"] {
        assert_eq!(
            names(fragment.into()).await,
            vec!["New Ways Company"],
            "fragment {fragment:?}"
        );
    }
    for fragment in ["ромаш", "РОМАШКА", "ашк"] {
        assert_eq!(
            names(fragment.into()).await,
            vec!["ООО «Ромашка»"],
            "fragment {fragment:?}"
        );
    }
    assert_eq!(names("4951234567".into()).await, vec!["New Ways Company"]);
    // Four digits or more go through the digit index (the phrase of their
    // four-digit grams): fragments anywhere in a number, never across two.
    assert_eq!(names("2001".into()).await, vec!["ООО «Ромашка»"]);
    assert_eq!(names("5553".into()).await, vec!["New Ways Company"]);
    assert_eq!(names("765432".into()).await, vec!["New Ways Company"]);
    assert!(names("45677812".into()).await.is_empty());
    assert_eq!(
        names("+7 (495) 123-45-67".into()).await,
        vec!["New Ways Company"]
    );
    assert_eq!(
        names("8127654321".into()).await,
        vec!["New Ways Company"],
        "an extra phone number"
    );
    assert_eq!(names("3832001020".into()).await, vec!["ООО «Ромашка»"]);
    assert_eq!(
        names("78005553535".into()).await,
        vec!["New Ways Company"],
        "the multichannel number"
    );
    assert_eq!(names("LS-000123".into()).await, vec!["New Ways Company"]);
    assert_eq!(names("ls-000123".into()).await, vec!["New Ways Company"]);
    assert_eq!(
        names("7707083893".into()).await,
        vec!["Another Firm", "New Ways Company"]
    );
    assert_eq!(
        names("500100732259".into()).await,
        vec!["New Ways Company", "ООО «Ромашка»"]
    );
    assert_eq!(
        names(id_of(&romashka).to_string()).await,
        vec!["ООО «Ромашка»"]
    );
    assert_eq!(
        names("nothing like this".into()).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn lists_filter_sort_and_page_in_the_database() {
    let app = TestApp::spawn().await;
    let reseller = app
        .create_company(json!({"name": "Reseller One", "inns": ["7707083893"], "is_reseller": true, "region": "Москва", "macroregion": "Центральный"}))
        .await;
    let reseller_id = id_of(&reseller);
    for (index, name) in ["Charlie", "alpha", "Bravo", "Echo", "delta"]
        .iter()
        .enumerate()
    {
        let mut body = company(name);
        body["region"] = json!(if index % 2 == 0 {
            "Москва"
        } else {
            "Новосибирская область"
        });
        body["macroregion"] = json!(if index % 2 == 0 {
            "Центральный"
        } else {
            "Сибирский"
        });
        body["account_number"] = json!(format!("A-{}", 5 - index));
        if index == 4 {
            body["parent_id"] = json!(reseller_id);
        }
        app.create_company(body).await;
    }
    let reply = app.get("/api/v1/companies?sort=name&parent_id=1").await;
    assert_eq!(
        reply.names(),
        vec!["alpha", "Bravo", "Charlie", "Echo", "Reseller One"]
    );
    let reply = app
        .get("/api/v1/companies?sort=name&dir=desc&parent_id=1")
        .await;
    assert_eq!(
        reply.names(),
        vec!["Reseller One", "Echo", "Charlie", "Bravo", "alpha"]
    );
    let reply = app
        .get(&format!(
            "/api/v1/companies?sort=name&region={}",
            urlencode("Москва")
        ))
        .await;
    assert_eq!(
        reply.names(),
        vec!["Bravo", "Charlie", "delta", "Reseller One"]
    );
    let reply = app
        .get(&format!(
            "/api/v1/companies?sort=name&macroregion={}",
            urlencode("Сибирский")
        ))
        .await;
    assert_eq!(reply.names(), vec!["alpha", "Echo"]);
    let reply = app.get("/api/v1/companies?reseller=true").await;
    assert_eq!(reply.names(), vec!["Reseller One"]);
    let reply = app
        .get(&format!("/api/v1/companies?parent_id={reseller_id}"))
        .await;
    assert_eq!(reply.names(), vec!["delta"]);
    let reply = app
        .get("/api/v1/companies?sort=account_number&parent_id=1")
        .await;
    assert_eq!(reply.names()[..4], ["Echo", "Bravo", "alpha", "Charlie"]);
    let reply = app
        .get("/api/v1/companies?sort=children_count&dir=desc")
        .await;
    assert_eq!(reply.names()[0], "Provider LLC");
    assert_eq!(reply.names()[1], "Reseller One");

    // Every sort key works both ways.
    for key in [
        "id",
        "name",
        "account_number",
        "pbx_number",
        "multichannel_number",
        "tariff",
        "region",
        "macroregion",
        "inn",
        "children_count",
        "created_at",
        "updated_at",
    ] {
        for dir in ["asc", "desc"] {
            let reply = app
                .get(&format!("/api/v1/companies?sort={key}&dir={dir}"))
                .await;
            assert_eq!(reply.status, 200, "sort {key} {dir}");
            assert_eq!(reply.body["total"], 7);
        }
    }
    let ids = |reply: &kabinet_testkit::Reply| {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let ascending = ids(&app.get("/api/v1/companies?sort=id").await);
    let mut descending = ids(&app.get("/api/v1/companies?sort=id&dir=desc").await);
    descending.reverse();
    assert_eq!(ascending, descending);
    assert!(ascending.windows(2).all(|w| w[0] < w[1]));

    // Paging keeps the total and walks the whole list without overlap.
    let mut seen = Vec::new();
    for offset in [0, 3, 6] {
        let page = app
            .get(&format!(
                "/api/v1/companies?sort=name&limit=3&offset={offset}"
            ))
            .await;
        assert_eq!(page.body["total"], 7);
        assert_eq!(page.body["limit"], 3);
        seen.extend(page.names());
    }
    assert_eq!(seen.len(), 7);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);

    assert_eq!(app.get("/api/v1/companies?sort=password").await.status, 400);
    assert_eq!(
        app.get("/api/v1/companies?deleted=sometimes").await.status,
        400
    );
}

#[tokio::test]
async fn the_tree_allows_children_only_under_resellers_and_one_level_deep() {
    let app = TestApp::spawn().await;
    let client = app.create_company(company("Plain Client")).await;
    let reseller = app
        .create_company(json!({"name": "Reseller", "inns": ["7707083893"], "is_reseller": true}))
        .await;

    let mut child = company("Child of a client");
    child["parent_id"] = client["id"].clone();
    let reply = app.post("/api/v1/companies", &child).await;
    assert_eq!(
        reply.error_codes(),
        vec![("parent_id".to_string(), "parent.not_reseller".to_string())]
    );

    let mut affiliate = company("Affiliate");
    affiliate["parent_id"] = reseller["id"].clone();
    let affiliate = app.create_company(affiliate).await;

    let mut sub_reseller = company("Affiliate reseller");
    sub_reseller["parent_id"] = reseller["id"].clone();
    sub_reseller["is_reseller"] = json!(true);
    let reply = app.post("/api/v1/companies", &sub_reseller).await;
    assert_eq!(reply.status, 422);
    assert!(
        reply
            .error_codes()
            .iter()
            .any(|(_, code)| code == "reseller.must_be_under_provider"),
        "{}",
        reply.text
    );

    let mut grandchild = company("Grandchild");
    grandchild["parent_id"] = affiliate["id"].clone();
    assert_eq!(app.post("/api/v1/companies", &grandchild).await.status, 422);

    let rid = id_of(&reseller);
    let reply = app
        .patch(
            &format!("/api/v1/companies/{rid}"),
            Some("\"1\""),
            &json!({"is_reseller": false}),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{rid}")).await.body["children_count"],
        1
    );

    // Moving the affiliate under the provider takes it out of the reseller.
    let aid = id_of(&affiliate);
    let reply = app
        .patch(
            &format!("/api/v1/companies/{aid}"),
            Some("\"1\""),
            &json!({"parent_id": 1}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{rid}")).await.body["children_count"],
        0
    );

    // A company cannot be placed under itself.
    let reply = app
        .patch(
            &format!("/api/v1/companies/{rid}"),
            Some("\"1\""),
            &json!({"parent_id": rid}),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
}

#[tokio::test]
async fn versions_stop_lost_updates() {
    let app = TestApp::spawn().await;
    let created = app.create_company(company("Versioned")).await;
    let path = format!("/api/v1/companies/{}", id_of(&created));

    let reply = app
        .patch(&path, None, &json!({"name": "No precondition"}))
        .await;
    assert_eq!(reply.status, 428);

    let reply = app
        .patch(
            &path,
            Some("\"1\""),
            &json!({"name": "First edit", "tariff": "Старт"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(reply.body["name"], "First edit");
    assert_eq!(
        reply.body["inns"],
        json!(["7707083893"]),
        "fields absent from the patch are kept"
    );

    let reply = app
        .patch(&path, Some("\"1\""), &json!({"name": "Stale edit"}))
        .await;
    assert_eq!(reply.status, 412);
    assert_eq!(reply.body["code"], "stale_version");
    assert_eq!(reply.body["current"]["name"], "First edit");
    assert_eq!(reply.body["current"]["version"], 2);

    let reply = app
        .patch(&path, Some("\"2\""), &json!({"tariff": null}))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body["tariff"],
        Value::Null,
        "null removes a value (RFC 7396)"
    );

    let reply = app
        .patch(&path, Some("\"3\""), &json!({"version": 10}))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.error_codes(),
        vec![("version".to_string(), "read_only".to_string())]
    );

    // Two writers with the same version: exactly one wins.
    let (body_a, body_b) = (json!({"name": "Writer A"}), json!({"name": "Writer B"}));
    let (a, b) = tokio::join!(
        app.patch(&path, Some("\"3\""), &body_a),
        app.patch(&path, Some("\"3\""), &body_b)
    );
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412]);
    let winner = if a.status == 200 {
        "Writer A"
    } else {
        "Writer B"
    };
    assert_eq!(app.get(&path).await.body["name"], winner);
}

#[tokio::test]
async fn soft_delete_cascades_only_when_asked_and_restore_is_exact() {
    let app = TestApp::spawn().await;
    let reseller = app
        .create_company(
            json!({"name": "Parent Reseller", "inns": ["7707083893"], "is_reseller": true}),
        )
        .await;
    let rid = id_of(&reseller);
    let mut ids = Vec::new();
    for name in ["Kid One", "Kid Two", "Kid Three"] {
        let mut body = company(name);
        body["parent_id"] = json!(rid);
        ids.push(id_of(&app.create_company(body).await));
    }
    // One child is deleted on its own first: restoring the parent must not bring it back.
    let reply = app.delete(&format!("/api/v1/companies/{}", ids[2])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let reply = app.delete(&format!("/api/v1/companies/{rid}")).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["code"], "company.has_children");
    assert_eq!(
        app.get(&format!("/api/v1/companies/{rid}")).await.body["deleted_at"],
        Value::Null
    );

    let reply = app
        .delete(&format!("/api/v1/companies/{rid}?cascade=true"))
        .await;
    assert_eq!(reply.status, 200);
    let mut deleted: Vec<i64> = reply.body["deleted_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    deleted.sort();
    assert_eq!(deleted, vec![rid, ids[0], ids[1]]);

    assert_eq!(
        app.get("/api/v1/companies").await.names(),
        vec!["Provider LLC"]
    );
    assert_eq!(
        app.get("/api/v1/companies/1").await.body["children_count"],
        0,
        "deleted children are not counted"
    );
    let only = app.get("/api/v1/companies?deleted=only&sort=name").await;
    assert_eq!(
        only.names(),
        vec!["Kid One", "Kid Three", "Kid Two", "Parent Reseller"]
    );
    assert_eq!(
        app.get("/api/v1/companies?deleted=show").await.body["total"],
        5
    );
    let card = app.get(&format!("/api/v1/companies/{rid}")).await;
    assert_ne!(card.body["deleted_at"], Value::Null);
    let edit = app
        .patch(
            &format!("/api/v1/companies/{rid}"),
            Some(card.header("etag").unwrap()),
            &json!({"name": "x"}),
        )
        .await;
    assert_eq!(edit.status, 409);

    // A child deleted on its own cannot come back while its parent is deleted.
    let reply = app
        .post(&format!("/api/v1/companies/{}/restore", ids[2]), &json!({}))
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["code"], "company.parent_deleted");

    // Restoring any member of a deletion brings back that whole deletion, and nothing else.
    let reply = app
        .post(&format!("/api/v1/companies/{}/restore", ids[0]), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let mut restored: Vec<i64> = reply.body["restored_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    restored.sort();
    assert_eq!(restored, vec![rid, ids[0], ids[1]]);
    let live = app.get("/api/v1/companies?sort=name").await;
    assert_eq!(
        live.names(),
        vec!["Kid One", "Kid Two", "Parent Reseller", "Provider LLC"]
    );
    let counts: Vec<i64> = live.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["children_count"].as_i64().unwrap())
        .collect();
    assert_eq!(
        counts,
        vec![0, 0, 2, 1],
        "live children are counted after delete and restore"
    );

    let reply = app
        .post(&format!("/api/v1/companies/{rid}/restore"), &json!({}))
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["code"], "company.not_deleted");

    let reply = app.delete("/api/v1/companies/1").await;
    assert_eq!(
        reply.status, 409,
        "the caller's own company cannot be deleted: {}",
        reply.text
    );
}

#[tokio::test]
async fn deleted_companies_are_purged_after_retention() {
    let app = TestApp::spawn().await;
    let gone = app.create_company(company("Old Client")).await;
    let kept = app.create_company(company("Live Client")).await;
    assert_eq!(
        app.delete(&format!("/api/v1/companies/{}", id_of(&gone)))
            .await
            .status,
        200
    );

    let now = kabinet_service::now_ms();
    let purged = app.services.purge_expired(now).await.unwrap();
    assert!(
        purged.is_empty(),
        "a fresh deletion is kept for the retention period"
    );
    let purged = app
        .services
        .purge_expired(now + 366 * 86_400_000)
        .await
        .unwrap();
    assert_eq!(purged, vec![id_of(&gone)]);
    assert_eq!(
        app.get(&format!("/api/v1/companies/{}", id_of(&gone)))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/companies/{}", id_of(&kept)))
            .await
            .status,
        200
    );
    let audit = app.get("/api/v1/audit?action=company.purge").await;
    assert_eq!(audit.body["total"], 1);
}

#[tokio::test]
async fn unknown_companies_are_not_found() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/api/v1/companies/999999").await.status, 404);
    assert_eq!(app.delete("/api/v1/companies/999999").await.status, 404);
    assert_eq!(app.get("/api/v1/nothing-here").await.status, 404);
}

/// A large base (issue 6): totals count up to 1,000 and then say so; a
/// common fragment without a chosen sort lists matches in the order they
/// were added, with a chosen sort in that order; a rare one is exact and
/// sorted by name; pages go on past the cap.
#[tokio::test]
async fn large_lists_cap_their_totals_and_common_searches_stay_cheap() {
    let app = TestApp::spawn().await;
    app.fill_demo(2600, 3).await;

    let all = app.get("/api/v1/companies?limit=50").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["total"], 1000);
    assert_eq!(all.body["total_exact"], false);
    // 2,601 companies with the provider: paging goes on past the cap.
    let deep = app.get("/api/v1/companies?limit=50&offset=2550").await;
    assert_eq!(deep.body["items"].as_array().unwrap().len(), 50);
    let last = app.get("/api/v1/companies?limit=50&offset=2600").await;
    assert_eq!(last.body["items"].as_array().unwrap().len(), 1);

    // Every account number holds "ls-000": a common fragment.
    let common = app.get("/api/v1/companies?q=ls-000&limit=20").await;
    assert_eq!(common.status, 200);
    assert_eq!(common.body["total"], 1000);
    assert_eq!(common.body["total_exact"], false);
    let ids: Vec<i64> = common.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 20);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "added order: {ids:?}");
    // The page says which order it is in.
    assert_eq!(common.body["sort"], "id");
    assert_eq!(common.body["dir"], "asc");
    for item in common.body["items"].as_array().unwrap() {
        let account = item["account_number"].as_str().unwrap().to_lowercase();
        assert!(account.contains("ls-000"), "{account}");
    }

    // The same search with a chosen sort is sorted by it.
    let sorted = app
        .get("/api/v1/companies?q=ls-000&sort=name&limit=20")
        .await;
    assert_eq!(sorted.body["sort"], "name");
    assert_eq!(sorted.body["dir"], "asc");
    let names = sorted.names();
    let mut expected = names.clone();
    expected.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, expected);
    assert_eq!(names.len(), 20);

    // The bulk load rebuilt the child counts its triggers would have kept.
    let resellers = app.get("/api/v1/companies?reseller=true&limit=5").await;
    for reseller in resellers.body["items"].as_array().unwrap() {
        let id = reseller["id"].as_i64().unwrap();
        let children = app
            .get(&format!("/api/v1/companies?parent_id={id}&limit=1"))
            .await;
        assert_eq!(reseller["children_count"], children.body["total"], "{id}");
    }
    let provider = app.get("/api/v1/companies/1").await;
    assert!(provider.body["children_count"].as_i64().unwrap() > 2000);

    // A number is an id and digits: the company with that id comes first,
    // once, then the companies whose text holds the digits.
    let first = app.get("/api/v1/companies?q=777&limit=5").await;
    let ids = |reply: &kabinet_testkit::Reply| -> Vec<i64> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let head = ids(&first);
    assert_eq!(head[0], 777, "{head:?}");
    assert_eq!(head.iter().filter(|id| **id == 777).count(), 1);
    let next = app.get("/api/v1/companies?q=777&limit=5&offset=5").await;
    let tail = ids(&next);
    assert!(!tail.contains(&777) && !tail.is_empty(), "{tail:?}");
    assert!(
        tail.iter().all(|id| !head.contains(id)),
        "{head:?} then {tail:?}"
    );
    let everything = app.get("/api/v1/companies?q=777&limit=500").await;
    let all = ids(&everything);
    assert_eq!(all.len() as i64, everything.body["total"].as_i64().unwrap());
    assert_eq!(&all[..5], &head[..]);
    assert_eq!(&all[5..5 + tail.len()], &tail[..]);

    // A rare fragment (one account number's digits) is exact and by name.
    let rare = app.get("/api/v1/companies?q=ls-00000777").await;
    assert_eq!(
        rare.body["sort"], "name",
        "a rare search is listed as asked"
    );
    assert_eq!(rare.body["total"], 1);
    assert_eq!(rare.body["total_exact"], true);
    assert_eq!(rare.body["items"][0]["id"], 777);

    async fn by_offset_ids(app: &TestApp, path: &str) -> Vec<i64> {
        let page = app.get(&format!("{path}&limit=50")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    }
    // A search of digits only with more than 300 matches (a phone's
    // prefix) is listed in the order the companies were added (its first
    // page is the one sorted by id), unless a sort is chosen.
    // "0002": the account numbers LS-00002xxx (ids 2000–2599) and a few
    // phones: several hundred matches, fewer than the 2,000 of any search.
    let mut prefixes: Vec<String> = vec!["0002".to_string()];
    for id in [2, 500, 1000, 1500, 2000] {
        let card = app.get(&format!("/api/v1/companies/{id}")).await;
        if let Some(phone) = card.body["phones"][0].as_str() {
            let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
            prefixes.push(digits[..4].to_string());
        }
    }
    prefixes.sort();
    prefixes.dedup();
    let mut common_digits = 0;
    for prefix in &prefixes {
        let found = app
            .get(&format!("/api/v1/companies?q={prefix}&limit=50"))
            .await;
        assert_eq!(found.status, 200);
        let total = found.body["total"].as_i64().unwrap();
        if total <= 300 || found.body["total_exact"] != true {
            continue;
        }
        common_digits += 1;
        let listed = ids(&found);
        assert_eq!(listed.len(), 50);
        assert!(
            listed.windows(2).all(|w| w[0] < w[1]),
            "{prefix}: {listed:?}"
        );
        let by_name = app
            .get(&format!("/api/v1/companies?q={prefix}&sort=name&limit=50"))
            .await;
        // With the sort chosen, the page is by name, not in the order added.
        let named = ids(&by_name);
        assert_eq!(named.len(), 50);
        assert_ne!(named, listed, "{prefix}");
        let first_added =
            by_offset_ids(&app, &format!("/api/v1/companies?q={prefix}&sort=id")).await;
        assert_eq!(&first_added[..50], &listed[..], "{prefix}");
    }
    assert!(
        common_digits > 0,
        "no phone prefix with over 300 matches: {prefixes:?}"
    );

    // Keyset paging: following `next` gives the same companies, in the
    // same order, as offsets do; none twice, none lost.
    let by_offset = |path: String| {
        let app = &app;
        async move {
            let mut out: Vec<i64> = Vec::new();
            loop {
                let page = app
                    .get(&format!("{path}&limit=500&offset={}", out.len()))
                    .await;
                assert_eq!(page.status, 200, "{}", page.text);
                let got = ids(&page);
                out.extend(&got);
                if got.len() < 500 {
                    return out;
                }
            }
        }
    };
    let by_cursor = |path: String, limit: usize| {
        let app = &app;
        async move {
            let mut out: Vec<i64> = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let cursor = after
                    .as_deref()
                    .map(|c| format!("&after={}", urlencode(c)))
                    .unwrap_or_default();
                let page = app.get(&format!("{path}&limit={limit}{cursor}")).await;
                assert_eq!(page.status, 200, "{}", page.text);
                let got = ids(&page);
                assert!(got.len() <= limit);
                out.extend(&got);
                match page.body["next"].as_str() {
                    Some(next) => {
                        assert_eq!(got.len(), limit, "a next only after a full page");
                        after = Some(next.to_string());
                    }
                    None => return out,
                }
            }
        }
    };
    let region = urlencode("Москва");
    for (path, limit) in [
        (format!("/api/v1/companies?region={region}&sort=name"), 50),
        (
            format!("/api/v1/companies?region={region}&sort=name&dir=desc"),
            37,
        ),
        ("/api/v1/companies?sort=tariff&dir=desc".to_string(), 400),
        ("/api/v1/companies?sort=inn".to_string(), 450),
        ("/api/v1/companies?sort=created_at".to_string(), 500),
        ("/api/v1/companies?q=ls-000".to_string(), 300),
        ("/api/v1/companies?q=777".to_string(), 5),
    ] {
        let offsets = by_offset(path.clone()).await;
        let cursors = by_cursor(path.clone(), limit).await;
        assert!(offsets.len() > limit, "{path}: {} companies", offsets.len());
        assert_eq!(cursors, offsets, "{path}");
        let mut unique = cursors.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), cursors.len(), "{path}");
    }
    // A common search follows the order the companies were added.
    let common = by_cursor("/api/v1/companies?q=ls-000".to_string(), 500).await;
    assert!(common.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(common.len(), 2600);

    // A cursor is checked: not made up, not with offsets, not for
    // another order (422: the schema cannot tell a cursor the list made).
    let first = app
        .get(&format!(
            "/api/v1/companies?region={region}&sort=name&limit=10"
        ))
        .await;
    let next = urlencode(first.body["next"].as_str().expect("a next cursor"));
    for bad in [
        format!("/api/v1/companies?region={region}&sort=name&after=name.a.1.vzz"),
        format!("/api/v1/companies?region={region}&sort=name&after=x"),
        format!("/api/v1/companies?region={region}&sort=name&after={next}&offset=10"),
        format!("/api/v1/companies?region={region}&sort=tariff&after={next}"),
        format!("/api/v1/companies?region={region}&sort=name&dir=desc&after={next}"),
        "/api/v1/companies?after=id.a.0.v31".to_string(),
        "/api/v1/companies?after=created_at.a.5.n".to_string(),
    ] {
        let reply = app.get(&bad).await;
        assert_eq!(reply.status, 422, "{bad}: {}", reply.text);
        assert_eq!(reply.body["code"], "invalid_cursor", "{bad}");
        assert!(reply.text.contains("after"), "{bad}: {}", reply.text);
    }
}

/// `/metrics` shows a memo's hits and misses as `counts` has them.
async fn assert_memo_metrics(app: &TestApp, name: &str, (hits, misses): (u64, u64)) {
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains(&format!(
            "{name}{{memo=\"hit\"}} {hits}\n{name}{{memo=\"miss\"}} {misses}\n"
        )),
        "{name}: {}",
        metrics.text
    );
}

/// A search remembers how many companies its words match (the probe) with
/// the search epoch, and counts again once a company is added, renamed out
/// of the words, or deleted, by the server or by a statement of anyone
/// else on the database (another node): the total is always today's.
#[tokio::test]
async fn a_search_remembers_its_word_matches_until_the_companies_change() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for name in ["Кварцит Один", "Кварцит Два", "Кварцит Три"] {
        ids.push(id_of(&app.create_company(company(name)).await));
    }
    app.create_company(company("Гранит")).await;
    let memo = app.services.store.word_match_memo();
    let totals = app.services.store.list_totals();
    let app = &app;
    let list = |filter: &'static str| async move {
        let reply = app
            .get(&format!(
                "/api/v1/companies?q=%D0%BA%D0%B2%D0%B0%D1%80%D1%86{filter}"
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["total_exact"], true);
        (
            reply.body["total"].as_i64().unwrap(),
            reply.names().len() as i64,
        )
    };
    let search = || list("");
    let step = |before: (u64, u64)| {
        let now = memo.counts();
        (now.0 - before.0, now.1 - before.1)
    };

    let before = (memo.counts(), totals.counts());
    assert_eq!(search().await, (3, 3));
    let after = (memo.counts(), totals.counts());
    assert_eq!(step(before.0), (0, 1), "the first search probes");
    assert_eq!(after.1 .1 - before.1 .1, 1, "... and counts");
    // The same list again (any order, any page): its totals are remembered
    // at the company epoch read with the token, so it neither probes nor
    // counts.
    let before = (memo.counts(), totals.counts());
    assert_eq!(search().await, (3, 3));
    assert_eq!(list("&sort=name&dir=desc").await, (3, 3));
    assert_eq!(step(before.0), (0, 0));
    assert_eq!(totals.counts().0 - before.1 .0, 2, "the same list again");
    // The same words in another list: counted, with the probe remembered.
    let before = (memo.counts(), totals.counts());
    assert_eq!(list("&reseller=false").await, (3, 3));
    assert_eq!(
        step(before.0),
        (1, 0),
        "the same words again are remembered"
    );
    assert_eq!(totals.counts().1 - before.1 .1, 1);
    // Operators see the same counts on /metrics.
    assert_memo_metrics(app, "kabinet_search_probes_total", memo.counts()).await;
    assert_memo_metrics(app, "kabinet_list_totals_total", totals.counts()).await;

    // An edit that leaves the search text alone keeps what was remembered:
    // through the server, the list's totals too (it reads no region), so
    // neither probe nor count; by anyone else, the probe.
    let path = format!("/api/v1/companies/{}", ids[0]);
    let edit = app
        .patch_current(&path, &json!({"region": "Новосибирская область"}))
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    let before = (memo.counts(), totals.counts());
    assert_eq!(search().await, (3, 3));
    assert_eq!(step(before.0), (0, 0));
    assert_eq!(totals.counts().1, before.1 .1, "nothing counted");
    app.execute(
        "UPDATE companies SET region = 'Томская область' WHERE id = $1",
        &[ids[0]],
    )
    .await;
    let before = (memo.counts(), totals.counts());
    assert_eq!(search().await, (3, 3));
    assert_eq!(step(before.0), (1, 0), "the probe remembered");
    assert_eq!(totals.counts().1 - before.1 .1, 1, "counted again");

    // A rename out of the word: counted again.
    let edit = app.patch_current(&path, &json!({"name": "Базальт"})).await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    let before = memo.counts();
    assert_eq!(search().await, (2, 2));
    assert_eq!(step(before), (0, 1), "a rename moves the epoch");

    // A new company with the word.
    app.create_company(company("Кварцит Четыре")).await;
    assert_eq!(search().await, (3, 3));

    // Soft deletion leaves the probe's count (it counts deleted companies
    // too) and the list leaves the deleted one out.
    let deleted = app.delete(&format!("/api/v1/companies/{}", ids[1])).await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    assert_eq!(search().await, (2, 2));

    // Writes that do not go through the server: another node, a script.
    let marble = id_of(&app.create_company(company("Мрамор")).await);
    app.execute(
        "UPDATE companies SET search_text = 'кварцитовый карьер' WHERE id = $1",
        &[marble],
    )
    .await;
    assert_eq!(search().await, (3, 3), "a changed search text");
    app.execute("DELETE FROM companies WHERE id = $1", &[ids[2]])
        .await;
    assert_eq!(search().await, (2, 2), "a deleted row");
}

/// A company card read by token is answered from memory while no company
/// changes (the company epoch, migration 20) and read again after any
/// change to any company: a child placed under it (its child count), a
/// company moved under it, a soft delete, and statements of anyone else on
/// the database (another node, a script). An edit of one company's fields
/// through this server forgets that card alone and remembers it as written
/// (`EpochMemo::step`), unless someone else changed a company since the
/// cards were read. Each answer is the card as it is now.
#[tokio::test]
async fn a_card_read_by_token_is_remembered_until_a_company_changes() {
    let app = TestApp::spawn().await;
    let mut reseller = company("Кварц Реселлер");
    reseller["is_reseller"] = json!(true);
    let id = id_of(&app.create_company(reseller).await);
    let other = id_of(&app.create_company(company("Гранит")).await);
    let path = format!("/api/v1/companies/{id}");
    let cards = app.services.store.company_cards();
    let step = |before: (u64, u64)| {
        let now = cards.counts();
        (now.0 - before.0, now.1 - before.1)
    };
    let card = || async {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply
    };

    let before = cards.counts();
    let first = card().await;
    let again = card().await;
    assert_eq!(step(before), (1, 1), "read once, then remembered");
    assert_eq!(first.body, again.body);
    assert_eq!(first.header("etag"), again.header("etag"));
    // Operators see the counts on /metrics.
    assert_memo_metrics(&app, "kabinet_company_cards_total", cards.counts()).await;

    // An edit through the API: the next read has it, and its new ETag.
    let edit = app
        .patch(
            &path,
            first.header("etag"),
            &json!({"region": "Новосибирская область"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    let before = cards.counts();
    let edited = card().await;
    assert_eq!(
        step(before),
        (1, 0),
        "the edit remembered the card as written"
    );
    assert_eq!(edited.body["region"], "Новосибирская область");
    assert_eq!(edited.body, edit.body);
    assert_eq!(edited.header("etag"), edit.header("etag"));
    assert_ne!(edited.header("etag"), first.header("etag"));

    // An edit of another company's fields leaves this card remembered, and
    // the other one as written.
    let other_path = format!("/api/v1/companies/{other}");
    let edit = app
        .patch_current(&other_path, &json!({"region": "Томская область"}))
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    let before = cards.counts();
    assert_eq!(card().await.body, edited.body);
    let other_edited = app.get(&other_path).await;
    assert_eq!(step(before), (2, 0), "both from memory");
    assert_eq!(other_edited.body, edit.body);
    assert_eq!(other_edited.body["region"], "Томская область");

    // A script's change, then an edit here: the edit cannot tell what the
    // script changed, so every card is read again. The edit takes the ETag
    // read before the script (still the other company's), so that no read
    // at the script's epoch comes between them.
    app.execute(
        "UPDATE companies SET email = 'script@example.ru' WHERE id = $1",
        &[id],
    )
    .await;
    let edit = app
        .patch(
            &other_path,
            other_edited.header("etag"),
            &json!({"region": "Омская область"}),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
    let before = cards.counts();
    let scripted = card().await;
    assert_eq!(step(before), (0, 1), "the script's change is read");
    assert_eq!(scripted.body["email"], "script@example.ru");
    assert_eq!(app.get(&other_path).await.body, edit.body);

    // Moving a company under this one changes its child count: a move is
    // not an edit of one company, and forgets every card.
    assert_eq!(card().await.body["children_count"], 0);
    let moved = app
        .patch_current(&other_path, &json!({"parent_id": id}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let before = cards.counts();
    assert_eq!(card().await.body["children_count"], 1);
    assert_eq!(step(before), (0, 1), "the move forgot this card");

    // A child placed under it changes its child count.
    let mut child = company("Кварц Дочерний");
    child["parent_id"] = json!(id);
    app.create_company(child).await;
    assert_eq!(card().await.body["children_count"], 2);

    // A soft delete of the company (with its child) shows on its card.
    let deleted = app.delete(&format!("{path}?cascade=true")).await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    let gone = card().await;
    assert!(!gone.body["deleted_at"].is_null(), "{}", gone.text);

    // Writes that do not go through the server.
    app.execute("UPDATE companies SET name = 'Переименован скриптом', deleted_at = NULL, deletion_id = NULL WHERE id = $1", &[id])
        .await;
    let renamed = card().await;
    assert_eq!(renamed.body["name"], "Переименован скриптом");
    assert!(renamed.body["deleted_at"].is_null());
    assert_eq!(card().await.body["name"], "Переименован скриптом");
    app.execute("DELETE FROM companies WHERE parent_id = $1", &[id])
        .await;
    app.execute("DELETE FROM companies WHERE id = $1", &[id])
        .await;
    assert_eq!(app.get(&path).await.status, 404, "a deleted row");
}

/// Emptying the companies table at once moves the search and company
/// epochs too: PostgreSQL's `TRUNCATE` fires no row or delete triggers
/// (migration 21 adds truncate triggers), SQLite's `DELETE` without a
/// `WHERE` runs the delete triggers. Checked inside a transaction that is
/// rolled back.
#[tokio::test]
async fn emptying_the_companies_table_moves_the_epochs() {
    let app = TestApp::spawn().await;
    app.create_company(company("Кварцит")).await;
    let mut tx = app.services.store.begin().await.unwrap();
    let epochs = "SELECT search_value * 1000000 + company_value FROM auth_epoch WHERE id = 1";
    let before: i64 = sqlx::query_scalar(epochs)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let empty = match app.services.store.backend() {
        kabinet_store::Backend::Postgres => "TRUNCATE companies CASCADE",
        kabinet_store::Backend::Sqlite => {
            sqlx::query("PRAGMA defer_foreign_keys = ON")
                .execute(&mut *tx)
                .await
                .unwrap();
            "DELETE FROM companies"
        }
    };
    sqlx::query(empty).execute(&mut *tx).await.unwrap();
    let after: i64 = sqlx::query_scalar(epochs)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert!(
        after / 1_000_000 > before / 1_000_000,
        "the search epoch moves: {before} -> {after}"
    );
    assert!(
        after % 1_000_000 > before % 1_000_000,
        "the company epoch moves: {before} -> {after}"
    );
    drop(tx);
}

/// The walk of a common search on PostgreSQL tests digits with `strpos` on
/// the search text where the index tests the phrase of their four-digit
/// grams (`db::WordScan::Rows`): both must find the same companies. Checked
/// for fragments of the demo's phone numbers, on both backends (SQLite's
/// digit index is an FTS5 table of the same grams).
#[tokio::test]
async fn digits_match_the_same_companies_by_their_grams_and_by_their_text() {
    let app = TestApp::spawn().await;
    app.fill_demo(600, 5).await;
    let page = app.get("/api/v1/companies?limit=40&sort=id").await;
    let mut fragments = Vec::new();
    for item in page.body["items"].as_array().unwrap() {
        let Some(phone) = item["phone"].as_str() else {
            continue;
        };
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        for (start, len) in [(0, 4), (1, 5), (4, 6), (6, 4)] {
            if digits.len() >= start + len {
                fragments.push(digits[start..start + len].to_string());
            }
        }
    }
    assert!(fragments.len() >= 60, "{fragments:?}");
    let mut conn = app.services.store.reader().await.unwrap();
    let postgres = app.services.store.backend() == kabinet_store::Backend::Postgres;
    let (by_text, by_grams) = if postgres {
        (
            "SELECT COUNT(*) FROM companies WHERE strpos(search_text, $1) > 0",
            "SELECT COUNT(*) FROM companies WHERE search_digits_tsv @@ phraseto_tsquery('simple', $1)",
        )
    } else {
        (
            "SELECT COUNT(*) FROM companies WHERE instr(search_text, $1) > 0",
            "SELECT COUNT(*) FROM companies_digits WHERE companies_digits MATCH '\"' || $1 || '\"'",
        )
    };
    let mut matched = 0;
    for fragment in &fragments {
        let phrase = kabinet_domain::text::digit_phrase(fragment).unwrap();
        let text: i64 = sqlx::query_scalar(by_text)
            .bind(fragment)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let grams: i64 = sqlx::query_scalar(by_grams)
            .bind(phrase)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(text, grams, "{fragment}");
        matched += text;
    }
    assert!(
        matched >= fragments.len() as i64,
        "every fragment is a phone's"
    );
}

/// A page by offset starts from where a page of the same list landed
/// before (the list anchors, at the company epoch), and is the same page an
/// offset walk gives: read again, next to one read, in either direction;
/// after a company is renamed or added, the pages are today's.
#[tokio::test]
async fn offset_pages_start_where_pages_landed_until_a_company_changes() {
    let app = TestApp::spawn().await;
    app.fill_demo(1400, 11).await;
    let app = &app;
    let ids = |reply: &kabinet_testkit::Reply| -> Vec<i64> {
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    // The whole list in its order, by cursor (cursor pages never use
    // the anchors).
    let whole = |order: &'static str| async move {
        let mut all = Vec::new();
        let mut path = format!("/api/v1/companies?{order}&limit=500");
        loop {
            let page = app.get(&path).await;
            all.extend(ids(&page));
            match page.body["next"].as_str() {
                Some(next) => path = format!("/api/v1/companies?{order}&limit=500&after={next}"),
                None => break,
            }
        }
        all
    };
    let anchors = app.services.store.list_anchors();
    let offset_page = |order: &'static str, offset: usize| async move {
        ids(&app
            .get(&format!(
                "/api/v1/companies?{order}&limit=50&offset={offset}"
            ))
            .await)
    };
    for order in ["sort=name", "sort=name&dir=desc", "sort=inn"] {
        let expected = whole(order).await;
        assert_eq!(expected.len(), 1401, "{order}");
        let before = anchors.counts();
        // Page 15 first (a walk), again (from its own place), offsets just
        // past a place, the pages around it (from its places, walking on or
        // back to nearer ones), and a page past the end.
        let offsets = [
            700, 700, 710, 750, 650, 600, 1350, 1000, 1013, 700, 1400, 1450, 1349,
        ];
        for offset in offsets {
            let page = offset_page(order, offset).await;
            let want: Vec<i64> = expected.iter().skip(offset).take(50).copied().collect();
            assert_eq!(page, want, "{order}, offset {offset}");
        }
        let after = anchors.counts();
        // A hit is a list whose places were found (600 and 650 find none
        // at or before them and walk from the start, as they must).
        assert_eq!(after.1 - before.1, 1, "{order}: only the first page is new");
        assert_eq!(
            after.0 - before.0,
            offsets.len() as u64 - 1,
            "{order}: the others find the list's places"
        );
        // Pages below 500 walk, as they always did.
        assert_eq!(offset_page(order, 450).await, expected[450..500].to_vec());
        assert_eq!(anchors.counts(), after, "{order}: 450 is not remembered");
    }
    assert_memo_metrics(app, "kabinet_list_anchors_total", anchors.counts()).await;

    // A rename moves a company from the first page to the end: every place
    // after it moves by one. The next request reads the new epoch.
    let by_name = whole("sort=name").await;
    let first = format!("/api/v1/companies/{}", by_name[0]);
    let renamed = app
        .patch_current(&first, &json!({"name": "Яяя последняя"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let expected = whole("sort=name").await;
    assert_eq!(expected.last(), Some(&by_name[0]));
    for offset in [700, 750, 1350] {
        assert_eq!(
            offset_page("sort=name", offset).await,
            expected[offset..(offset + 50).min(expected.len())].to_vec(),
            "after the rename, offset {offset}"
        );
    }
    // A new company at the start moves them back.
    app.create_company(company("Аааа первая")).await;
    let expected = whole("sort=name").await;
    assert_eq!(expected.len(), 1402);
    for offset in [700, 750, 1350] {
        assert_eq!(
            offset_page("sort=name", offset).await,
            expected[offset..(offset + 50).min(expected.len())].to_vec(),
            "after the insert, offset {offset}"
        );
    }
}

/// Console pages and API reads by session cookie read the epochs with the
/// session, as a token does: a list read again takes its totals from
/// memory; a company added by a session's POST (which never uses the epochs
/// it read) shows at the next page, counted again.
#[tokio::test]
async fn a_session_list_remembers_its_totals_until_a_company_changes() {
    let app = TestApp::spawn().await;
    for name in ["Кварцит Один", "Кварцит Два"] {
        app.create_company(company(name)).await;
    }
    let totals = app.services.store.list_totals();
    let (console, _) = app.console_sign_in("/companies").await;
    let page = "/companies?q=%D0%BA%D0%B2%D0%B0%D1%80%D1%86";
    let html = app.html(&console, page).await;
    assert!(html.contains("Кварцит Один") && html.contains("Кварцит Два"));
    let before = totals.counts();
    let again = app.html(&console, page).await;
    assert!(again.contains("Кварцит Два"));
    let after = totals.counts();
    assert_eq!(after.1, before.1, "read again: nothing counted");
    assert!(after.0 > before.0, "read again: totals remembered");

    // A POST by session cookie adds a company; the next page counts it.
    let (api, csrf) = app.session("admin", kabinet_testkit::ADMIN_PASSWORD).await;
    let created = api
        .post(app.url("/api/v1/companies"))
        .header("x-csrf-token", &csrf)
        .json(&company("Кварцит Три"))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let before = totals.counts();
    let html = app.html(&console, page).await;
    assert!(html.contains("Кварцит Три"), "the new company is listed");
    assert!(
        totals.counts().1 > before.1,
        "counted again after the change"
    );
    // The API by session: the same list, exact, then from memory.
    let app = &app;
    let read = |client: reqwest::Client| async move {
        let reply = client
            .get(app.url("/api/v1/companies?q=%D0%BA%D0%B2%D0%B0%D1%80%D1%86"))
            .send()
            .await
            .expect("list");
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.expect("body");
        body["total"].as_i64()
    };
    assert_eq!(read(api.clone()).await, Some(3));
    let before = totals.counts();
    assert_eq!(read(api.clone()).await, Some(3));
    assert_eq!(
        totals.counts().1,
        before.1,
        "the API by session remembers too"
    );
}

/// A list page read by token twice is remembered with the company epoch:
/// read again, its ids and cards come from memory (a card no longer
/// remembered is read by id, in one statement with the others); each item is
/// the card field for field, and a change by anyone (the API, another node's
/// plain SQL, a soft delete) shows in the next page.
#[tokio::test]
async fn a_list_page_takes_remembered_cards_and_shows_every_change_at_once() {
    let app = TestApp::spawn().await;
    let region = "Ярославская область";
    let mut ids = Vec::new();
    for name in ["Бета", "Альфа", "Гамма", "Дельта"] {
        let mut card = company(name);
        card["region"] = json!(region);
        ids.push(id_of(&app.create_company(card).await));
    }
    let cards = app.services.store.company_cards();
    let step = |before: (u64, u64)| {
        let now = cards.counts();
        (now.0 - before.0, now.1 - before.1)
    };
    let pages = app.services.store.list_pages();
    let pages_step = |before: (u64, u64)| {
        let now = pages.counts();
        (now.0 - before.0, now.1 - before.1)
    };
    let list = format!(
        "/api/v1/companies?region={}&sort=name&limit=3",
        urlencode(region)
    );
    let page = |path: String| {
        let app = &app;
        async move {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            reply.body
        }
    };
    let names = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["name"].as_str().expect("name").to_string())
            .collect()
    };

    // First read: every card read by id (three misses), then remembered.
    let (before, before_pages) = (cards.counts(), pages.counts());
    let first = page(list.clone()).await;
    assert_eq!(names(&first), ["Альфа", "Бета", "Гамма"]);
    assert_eq!(step(before), (0, 0), "read whole");
    assert_eq!(pages_step(before_pages), (0, 1), "the page read once");
    // Read a second time: read whole again, and remembered.
    let (before, before_pages) = (cards.counts(), pages.counts());
    assert_eq!(page(list.clone()).await, first);
    assert_eq!(step(before), (0, 0), "read whole");
    assert_eq!(pages_step(before_pages), (1, 0), "the page seen before");
    let (before, before_pages) = (cards.counts(), pages.counts());
    let again = page(list.clone()).await;
    assert_eq!(step(before), (3, 0), "read again: every card from memory");
    assert_eq!(pages_step(before_pages), (1, 0), "read again: the ids too");
    assert_eq!(again, first);
    assert_memo_metrics(&app, "kabinet_list_pages_total", pages.counts()).await;
    // A card forgotten is read by id; all forgotten (the card memo past
    // its size starts again), the page is read whole.
    cards.forget(&id_of(&first["items"][1]));
    let before = cards.counts();
    assert_eq!(page(list.clone()).await, first);
    assert_eq!(step(before), (2, 1), "one card read by id");
    cards.clear();
    let before = cards.counts();
    assert_eq!(page(list.clone()).await, first);
    assert_eq!(step(before), (0, 3), "none remembered: read whole");
    let before = cards.counts();
    assert_eq!(page(list.clone()).await, first);
    assert_eq!(step(before), (3, 0), "and remembered again");
    // A card the page remembered answers the card GET too, and each item
    // is the card field for field.
    for item in first["items"].as_array().unwrap() {
        let before = cards.counts();
        let card = page(format!("/api/v1/companies/{}", item["id"])).await;
        assert_eq!(step(before), (1, 0));
        for (field, value) in item.as_object().unwrap() {
            assert_eq!(&card[field], value, "field {field}");
        }
    }
    // The next page by its cursor: not read before.
    let next = first["next"].as_str().expect("next").to_string();
    let before = cards.counts();
    let second = page(format!("{list}&after={}", urlencode(&next))).await;
    assert_eq!(names(&second), ["Дельта"]);
    assert_eq!(step(before), (0, 0));

    // A rename through the API moves the epoch: the page is read again,
    // in its new order.
    let renamed = app
        .patch_current(
            &format!("/api/v1/companies/{}", ids[1]),
            &json!({"name": "Ёж"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let (before, before_pages) = (cards.counts(), pages.counts());
    assert_eq!(
        names(&page(list.clone()).await),
        ["Бета", "Гамма", "Дельта"]
    );
    assert_eq!(step(before), (0, 0));
    assert_eq!(pages_step(before_pages), (0, 1));

    // Plain SQL (another node, a script) moves a company out of the region
    // and renames another: the next page has both changes.
    app.execute(
        "UPDATE companies SET region = 'Тверская область' WHERE id = $1",
        &[ids[0]],
    )
    .await;
    app.execute(
        "UPDATE companies SET name = 'Вега', name_sort = 'вега' WHERE id = $1",
        &[ids[2]],
    )
    .await;
    let body = page(list.clone()).await;
    assert_eq!(names(&body), ["Вега", "Дельта", "Ёж"]);

    // A soft delete leaves it out; the total follows.
    let deleted = app.delete(&format!("/api/v1/companies/{}", ids[3])).await;
    assert!(deleted.status.is_success(), "{}", deleted.text);
    let body = page(list.clone()).await;
    assert_eq!(names(&body), ["Вега", "Ёж"]);
    assert_eq!(body["total"], 2);
}

/// An edit of one company's fields through the server keeps in memory the
/// lists that read none of the columns it changed (`remember_edit`): every
/// filter and every order of the company list is read twice (remembered),
/// one company is edited field by field, and after each edit every list
/// answers exactly what it answers with the memory emptied. A list filtered
/// or ordered by a changed column that stayed remembered would answer the
/// old page. An edit of a column no list reads (the e-mail) leaves a region
/// list's page and cards in memory.
#[tokio::test]
async fn lists_remembered_across_an_edit_read_only_the_columns_it_keeps() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for (name, region, macroregion, tariff, account, pbx, multichannel, inn) in [
        (
            "Альфа Кварц",
            "Москва",
            "Центральный",
            "Бизнес",
            "LS-A1",
            "101",
            "8 800 555-35-31",
            "7707083893",
        ),
        (
            "Бета Кварц",
            "Омская область",
            "Сибирский",
            "Старт",
            "LS-B1",
            "202",
            "8 800 555-35-32",
            "7736207543",
        ),
        (
            "Гамма Кварц",
            "Москва",
            "Центральный",
            "Корпоративный",
            "LS-C1",
            "303",
            "8 800 555-35-33",
            "7702070139",
        ),
    ] {
        let created = app
            .create_company(json!({
                "name": name, "region": region, "macroregion": macroregion,
                "tariff": tariff, "account_number": account, "pbx_number": pbx,
                "multichannel_number": multichannel, "inns": [inn],
            }))
            .await;
        ids.push(id_of(&created));
    }
    let mut lists: Vec<String> = kabinet_store::companies::CompanySort::ALL
        .iter()
        .flat_map(|(key, _)| {
            [
                format!("/api/v1/companies?sort={key}"),
                format!("/api/v1/companies?sort={key}&dir=desc&limit=2&offset=1"),
            ]
        })
        .collect();
    for filter in [
        "region=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0",
        "macroregion=%D0%A6%D0%B5%D0%BD%D1%82%D1%80%D0%B0%D0%BB%D1%8C%D0%BD%D1%8B%D0%B9",
        "reseller=false",
        "reseller=true",
        "q=%D0%BA%D0%B2%D0%B0%D1%80%D1%86",
        "q=%D0%B0%D0%BB%D1%8C%D1%84%D0%B0",
        "q=%D0%B4%D0%B5%D0%BB%D1%8C%D1%82%D0%B0",
        "q=555",
        "q=7702070139",
        "q=ls-z9",
        "q=909",
    ] {
        lists.push(format!("/api/v1/companies?{filter}"));
        lists.push(format!("/api/v1/companies?{filter}&sort=tariff&dir=desc"));
    }
    // A cursor page taken without a sort parameter is listed in its
    // cursor's order (tariff here), not the default one.
    let first_by_tariff = app.get("/api/v1/companies?sort=tariff&limit=1").await;
    let cursor = first_by_tariff.body["next"]
        .as_str()
        .expect("next")
        .to_string();
    lists.push(format!(
        "/api/v1/companies?limit=2&after={}",
        urlencode(&cursor)
    ));
    // A Greek word, whose final sigma SQLite's trigram index folds to σ.
    lists.push(format!("/api/v1/companies?q={}", urlencode("ΟΔΟΣ")));
    let store = &app.services.store;
    let forget_all = || {
        store.company_cards().clear();
        store.list_pages().clear();
        store.list_totals().clear();
        store.list_anchors().clear();
        store.word_match_memo().clear();
    };
    let read_all = || async {
        let mut bodies = Vec::new();
        for path in &lists {
            let reply = app.get(path).await;
            assert_eq!(reply.status, 200, "{path}: {}", reply.text);
            bodies.push(reply.body);
        }
        bodies
    };
    // The first company's edits change what most lists hold; the others'
    // leave lists that held them neither before nor after (kept in memory).
    for (index, edit) in [
        (0, json!({"email": "alpha@example.ru"})),
        (0, json!({"name": "Дельта Кварц"})),
        (0, json!({"region": "Омская область"})),
        (0, json!({"macroregion": "Сибирский"})),
        (0, json!({"tariff": "Старт"})),
        (0, json!({"account_number": "LS-Z9"})),
        (0, json!({"pbx_number": "909"})),
        (0, json!({"multichannel_number": "8 800 555-35-39"})),
        (0, json!({"inns": ["7702070139"]})),
        (0, json!({"is_reseller": true})),
        (1, json!({"name": "Бета Прим"})),
        (2, json!({"region": "Омская область"})),
        (1, json!({"account_number": "LS-Q7", "pbx_number": "9090"})),
        (2, json!({"name": "ΟΔΟΣΑ"})),
        (2, json!({"name": "Гамма Кварц Альфа"})),
        (1, json!({"name": "Бета Кварц", "region": "Москва"})),
    ] {
        let path = format!("/api/v1/companies/{}", ids[index]);
        // Each list read twice: remembered.
        read_all().await;
        read_all().await;
        let edited = app.patch_current(&path, &edit).await;
        assert_eq!(edited.status, 200, "{edit}: {}", edited.text);
        let remembered = read_all().await;
        forget_all();
        let read_again = read_all().await;
        for ((path, remembered), read_again) in lists.iter().zip(&remembered).zip(&read_again) {
            assert_eq!(remembered, read_again, "{path} after {edit}");
        }
    }
    // The edits changed what these lists hold (the test bites).
    let moscow = app
        .get(&format!(
            "/api/v1/companies?{}",
            "region=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0"
        ))
        .await;
    assert_eq!(moscow.body["total"], 1, "{}", moscow.text);
    assert_eq!(moscow.body["items"][0]["id"], ids[1], "{}", moscow.text);

    // A rename keeps what is remembered of the lists that held the company
    // neither before nor after it, the probe of their words included, and
    // forgets the lists that held it.
    let elsewhere = [
        // Moscow, by name: the renamed company is in Omsk.
        "/api/v1/companies?region=%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0&sort=name",
        // A search for «бета», which its names never held.
        "/api/v1/companies?q=%D0%B1%D0%B5%D1%82%D0%B0",
    ];
    let held = "/api/v1/companies?q=%D0%BA%D0%B2%D0%B0%D1%80%D1%86";
    for path in elsewhere.iter().chain([&held]) {
        app.get(path).await;
        app.get(path).await;
    }
    let before_rename: Vec<Value> = {
        let mut bodies = Vec::new();
        for path in elsewhere {
            bodies.push(app.get(path).await.body);
        }
        bodies
    };
    let edited = app
        .patch_current(
            &format!("/api/v1/companies/{}", ids[2]),
            &json!({"name": "«Гамма» Кварц Омега"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let misses = |memo: (u64, u64)| memo.1;
    let (pages, totals, probes) = (
        misses(store.list_pages().counts()),
        misses(store.list_totals().counts()),
        misses(store.word_match_memo().counts()),
    );
    for (path, before) in elsewhere.iter().zip(&before_rename) {
        let reply = app.get(path).await;
        assert_eq!(&reply.body, before, "{path}");
    }
    assert_eq!(misses(store.list_pages().counts()), pages, "pages kept");
    assert_eq!(misses(store.list_totals().counts()), totals, "totals kept");
    assert_eq!(
        misses(store.word_match_memo().counts()),
        probes,
        "probe kept"
    );
    let reply = app.get(held).await;
    assert!(
        reply.text.contains("«Гамма» Кварц Омега"),
        "the list that held it is read again: {}",
        reply.text
    );
    assert!(
        misses(store.list_pages().counts()) > pages,
        "held: read again"
    );

    // An edit of a column no list reads keeps a list's page and its cards.
    let region_list = "/api/v1/companies?region=%D0%9E%D0%BC%D1%81%D0%BA%D0%B0%D1%8F%20%D0%BE%D0%B1%D0%BB%D0%B0%D1%81%D1%82%D1%8C";
    app.get(region_list).await;
    let before_edit = app.get(region_list).await;
    let cards = store.company_cards();
    let edited = app
        .patch_current(
            &format!("/api/v1/companies/{}", ids[2]),
            &json!({"email": "gamma@example.ru"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let misses = cards.counts().1;
    let after_edit = app.get(region_list).await;
    assert_eq!(
        cards.counts().1,
        misses,
        "every card of the page from memory"
    );
    let items = after_edit.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "{}", after_edit.text);
    assert_eq!(after_edit.body["total"], before_edit.body["total"]);
    let gamma = items
        .iter()
        .find(|item| item["id"] == ids[2])
        .expect("gamma listed");
    assert_eq!(
        gamma["email"], "gamma@example.ru",
        "the edited card as written"
    );
    assert_eq!(gamma, &edited.body);
}

/// `companies::may_hold`, which an edit's memory step tests remembered
/// lists with (a list that held the edited company neither before nor after
/// the edit stays remembered), answers exactly what each list's statement
/// answers: for every company and each of several hundred lists (scopes,
/// words of letters, of two letters and of digits, the id alternative,
/// regions, macroregions, resellers, parents, multichannel numbers, deleted
/// companies, an excluded id), it holds the company where the database lists
/// it, and only there, on both backends.
#[tokio::test]
async fn a_list_may_hold_a_card_exactly_where_its_statement_lists_it() {
    use kabinet_store::companies::{self, CompanyQuery, DeletedFilter};
    let app = TestApp::spawn().await;
    let reseller = id_of(
        &app.create_company(json!({
            "name": "Кварц Реселлер", "inns": ["7707083893"], "is_reseller": true,
            "region": "Москва", "macroregion": "Центральный",
            "phones": ["+7 495 123-45-67"],
        }))
        .await,
    );
    let mut ids = vec![reseller];
    for body in [
        json!({"name": "Альфа Кварц", "inns": ["7736207543"], "parent_id": reseller,
               "region": "Омская область", "macroregion": "Сибирский",
               "multichannel_number": "8 800 555-35-31"}),
        json!({"name": "Бета", "inns": ["7702070139"], "parent_id": reseller,
               "region": "Москва", "account_number": "LS-B1"}),
        json!({"name": "Гамма Кварц", "inns": ["7707083893"], "region": "Москва",
               "macroregion": "Центральный", "multichannel_number": "8 800 555-35-31",
               "pbx_number": "4951"}),
        json!({"name": "ДЕЛЬТА Ёлка", "inns": ["7736207543"]}),
        json!({"name": "ΟΔΟΣΑ Straſse", "inns": ["7702070139"]}),
        json!({"name": "ООО «Кварц» № 7 — Север", "inns": ["7707083893"]}),
    ] {
        ids.push(id_of(&app.create_company(body).await));
    }
    let deleted = app.delete(&format!("/api/v1/companies/{}", ids[2])).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);

    let store = &app.services.store;
    let backend = store.backend();
    let mut conn = store.reader().await.unwrap();
    let mut cards = Vec::new();
    let reseller_card = companies::get(&mut conn, reseller).await.unwrap().unwrap();
    let root_path: String = reseller_card
        .path
        .split('/')
        .take(2)
        .collect::<Vec<_>>()
        .join("/")
        + "/";
    let root_id: i64 = root_path.trim_matches('/').parse().unwrap();
    for id in std::iter::once(root_id).chain(ids.iter().copied()) {
        cards.push(companies::get(&mut conn, id).await.unwrap().unwrap());
    }
    let gamma = ids[3];
    let scopes = [
        String::new(),
        root_path.clone(),
        reseller_card.path.clone(),
        cards[2].path.clone(),
        cards[4].path.clone(),
        format!("{root_path}999999/"),
    ];
    // Words as a search folds them (`ΟΔΟΣ` ends in a final sigma).
    let greek = kabinet_domain::text::search_fold("ΟΔΟΣ");
    let words: [&[&str]; 13] = [
        &[],
        &[&greek],
        &["stras"],
        &["«кварц»"],
        &["кварц"],
        &["кв"],
        &["альфа", "кварц"],
        &["5553531"],
        &["4951"],
        &["елка"],
        &["ls-b1"],
        &["зет"],
        &["7707"],
    ];
    let regions = [None, Some("Москва"), Some("Омская область")];
    let deleted = [
        DeletedFilter::Hide,
        DeletedFilter::Show,
        DeletedFilter::Only,
    ];
    // Each dimension in turn over a base list, then combinations drawn by a
    // fixed sequence (a linear congruential one: the same lists every run).
    let base = CompanyQuery {
        scope_path: root_path.clone(),
        limit: 1000,
        ..CompanyQuery::default()
    };
    let mut queries = Vec::new();
    let mut seed: u64 = 6;
    let mut pick = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for round in 0..400 {
        let mut query = base.clone();
        let dimension = if round < 40 { round % 10 } else { usize::MAX };
        // A combination sets each dimension with a chance of one in two.
        let set: [bool; 10] =
            std::array::from_fn(|d| d == dimension || (dimension == usize::MAX && pick(2) == 0));
        if set[0] {
            query.scope_path = scopes[pick(scopes.len())].clone();
        }
        if set[1] {
            query.words = words[pick(words.len())]
                .iter()
                .map(|w| w.to_string())
                .collect();
        }
        if set[2] && pick(3) == 0 {
            query.id = Some(if pick(2) == 0 { gamma } else { ids[1] });
        }
        if set[3] {
            query.region = regions[pick(regions.len())].map(str::to_string);
        }
        if set[4] && pick(3) == 0 {
            query.macroregion = Some("Центральный".into());
        }
        if set[5] {
            query.is_reseller = [None, Some(true), Some(false)][pick(3)];
        }
        if set[6] && pick(3) == 0 {
            query.parent_id = Some(reseller);
        }
        if set[7] && pick(3) == 0 {
            query.multichannel_number = Some("+78005553531".into());
        }
        if set[8] {
            query.deleted = deleted[pick(deleted.len())];
        }
        if set[9] && pick(4) == 0 {
            query.exclude_id = Some(gamma);
        }
        queries.push(query);
    }
    let (mut held, mut left_out) = (0, 0);
    for query in &queries {
        let (items, _) = companies::list(&mut conn, backend, query).await.unwrap();
        let listed: Vec<i64> = items.iter().map(|card| card.id).collect();
        for card in &cards {
            let holds = listed.contains(&card.id);
            let may = companies::may_hold(query, card);
            // Where the text or a word has a letter outside ASCII and the
            // Cyrillic block, SQLite's trigram index folds case by its own
            // table (ς is σ there): `may_hold` then says "may", which the
            // statement answers either way. Elsewhere it is exact.
            let exact = companies::folds_like_lowercase(&card.fields.search_text)
                && query
                    .words
                    .iter()
                    .all(|w| companies::folds_like_lowercase(w));
            assert!(
                may || !holds,
                "listed but not held: company {} ({}) in {query:?}",
                card.id,
                card.fields.name
            );
            if exact {
                assert_eq!(
                    may, holds,
                    "company {} ({}) in {query:?}",
                    card.id, card.fields.name
                );
            }
            if holds {
                held += 1;
            } else {
                left_out += 1;
            }
        }
    }
    // Both answers are common (the lists are not all empty or all full).
    assert!(
        held > 300 && left_out > 300,
        "{held} held, {left_out} left out"
    );
}
