//! Concurrency through HTTP (issue 7), on SQLite and PostgreSQL alike.
//!
//! Each scenario is repeated for many rounds inside one test, with every
//! request of a round released at the same moment, so that a race has many
//! chances to show:
//!
//! - many `PATCH`es of one company, one person and one department carrying
//!   the same `If-Match`: exactly one wins, every other gets 412, and the
//!   stored card is the winner's, whole; read-modify-write loops that retry
//!   on 412 lose no update;
//! - many grants and revocations of the same right at once (a department's
//!   rights, a person's extra rights, a person's membership of a department
//!   that grants it): every answer is well formed, the right is stored once
//!   or not at all, the audit log has one entry per acknowledged change and
//!   its entries chain (each one's "before" is the previous one's "after",
//!   the last one's "after" is what is stored), and the affected person's
//!   very next request is decided by what is stored, whatever their cached
//!   rights were during the race; a department deleted while its rights and
//!   members change is deleted once, and its audited snapshot holds what the
//!   last acknowledged changes stored;
//! - many links of the same client to a group company: one 201, the rest
//!   409 `link.exists`, one link row; links of different clients all pass;
//!   parallel unlinks of one pair: one 204, the rest 404;
//! - every pooled connection carries the engine settings the store relies
//!   on (SQLite: WAL, foreign keys, busy timeout; PostgreSQL: no parallel
//!   workers, no JIT), and on PostgreSQL connections the server dropped
//!   while they sat idle are replaced before use: 16 requests at once after
//!   every backend was terminated all answer 200.

use std::collections::BTreeSet;
use std::sync::Arc;

use kabinet_testkit::{Reply, TestApp};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Barrier;

/// Rounds of each scenario.
const ROUNDS: usize = 20;
/// Requests racing in one round.
const WRITERS: usize = 16;

/// Sends every request at the same moment (each from its own task, released
/// together by a barrier) and returns the answers in the order given.
async fn all_at_once(requests: Vec<RequestBuilder>) -> Vec<Reply> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                Reply::from(request.send().await.expect("request")).await
            })
        })
        .collect();
    let mut replies = Vec::with_capacity(tasks.len());
    for task in tasks {
        replies.push(task.await.expect("request task"));
    }
    replies
}

/// No 5xx, and every refusal is a problem document with its code and status.
fn assert_well_formed(reply: &Reply, context: &str) {
    assert!(
        !reply.status.is_server_error(),
        "{context}: {} {}",
        reply.status,
        reply.text
    );
    if !reply.status.is_success() {
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{context}: {}",
            reply.text
        );
        assert!(reply.body["code"].is_string(), "{context}: {}", reply.text);
        assert_eq!(
            reply.body["status"],
            reply.status.as_u16(),
            "{context}: {}",
            reply.text
        );
    }
}

fn patch_request(app: &TestApp, path: &str, etag: &str, body: &Value) -> RequestBuilder {
    app.request(Method::PATCH, path)
        .header("content-type", "application/merge-patch+json")
        .header("if-match", etag)
        .body(body.to_string())
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> Reply {
    Reply::from(
        app.with_token(token, Method::GET, path)
            .send()
            .await
            .expect("request"),
    )
    .await
}

/// The audit entries of one action on one entity, oldest first, and their
/// total.
async fn audit_entries(
    app: &TestApp,
    action: &str,
    entity_type: &str,
    entity_id: i64,
) -> (i64, Vec<Value>) {
    let mut entries = Vec::new();
    let total = loop {
        let page = app
            .get(&format!(
                "/api/v1/audit?action={action}&entity_type={entity_type}&entity_id={entity_id}\
                 &limit=500&offset={}",
                entries.len()
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let total = page.body["total"].as_i64().expect("total");
        let items = page.body["items"].as_array().expect("items").clone();
        let done = items.is_empty();
        entries.extend(items);
        if done || entries.len() as i64 >= total {
            break total;
        }
    };
    assert_eq!(entries.len() as i64, total);
    entries.reverse();
    (total, entries)
}

/// A person of the provider, without a password (no slow hashing), and an
/// API token for them.
async fn person(app: &TestApp, login: &str) -> (i64, String) {
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": login, "first_name": "Параллель", "last_name": "Тестов",
                    "email": format!("{login}@example.com")}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = app
        .services
        .token_create_for_login(login, "tests")
        .await
        .expect("token");
    (created.body["id"].as_i64().expect("id"), token)
}

async fn department(app: &TestApp, name: &str) -> i64 {
    let created = app
        .post(
            "/api/v1/departments",
            &json!({"name_ru": name, "name_en": name}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_i64().expect("id")
}

// ---------------------------------------------------------------------------
// 1. Parallel edits with one ETag, and read-modify-write loops.

/// The three kinds of card that are edited with `If-Match`.
#[derive(Debug, Clone, Copy)]
enum Card {
    Company,
    Person,
    Department,
}

impl Card {
    const ALL: [Card; 3] = [Card::Company, Card::Person, Card::Department];

    fn path(self, id: i64) -> String {
        match self {
            Card::Company => format!("/api/v1/companies/{id}"),
            Card::Person => format!("/api/v1/users/{id}"),
            Card::Department => format!("/api/v1/departments/{id}"),
        }
    }

    fn audit(self) -> (&'static str, &'static str) {
        match self {
            Card::Company => ("company.update", "company"),
            Card::Person => ("user.update", "user"),
            Card::Department => ("department.update", "department"),
        }
    }

    /// What one writer of one round sends: several fields, each marked with
    /// the writer, so a card mixed from two writers is seen at once.
    fn patch(self, round: usize, writer: usize) -> Value {
        let mark = format!("r{round} w{writer}");
        match self {
            Card::Company => json!({
                "name": format!("Компания {mark}"),
                "tariff": format!("Тариф {mark}"),
                "region": format!("Регион {mark}"),
                "legal_address": format!("Адрес {mark}"),
            }),
            Card::Person => json!({
                "first_name": format!("Имя {mark}"),
                "last_name": format!("Фамилия {mark}"),
                "position": format!("Должность {mark}"),
            }),
            Card::Department => json!({
                "name_ru": format!("Отдел {mark}"),
                "name_en": format!("Department {mark}"),
                "sort_order": (round * 100 + writer) as i64,
            }),
        }
    }

    /// The field a read-modify-write loop changes: appended to, or counted.
    fn counter_field(self) -> &'static str {
        match self {
            Card::Company => "postal_address",
            Card::Person => "position",
            Card::Department => "sort_order",
        }
    }

    /// The next value of the counter field after `current`: the company and
    /// the person get `w{worker}.{step};` appended, the department's sort
    /// order goes up by one.
    fn next(self, current: &Value, worker: usize, step: usize) -> Value {
        let field = self.counter_field();
        match self {
            Card::Company | Card::Person => {
                let text = current[field].as_str().unwrap_or("");
                json!({ field: format!("{text}w{worker}.{step};") })
            }
            Card::Department => {
                json!({ field: current[field].as_i64().expect("sort_order") + 1 })
            }
        }
    }
}

/// A company, a person and a department to edit.
async fn cards(app: &TestApp) -> Vec<(Card, i64)> {
    let company = app
        .create_company(json!({"name": "Параллельная", "inns": ["7707083893"]}))
        .await["id"]
        .as_i64()
        .expect("id");
    let (person, _) = person(app, "edited").await;
    let department = department(app, "Параллельный отдел").await;
    vec![
        (Card::Company, company),
        (Card::Person, person),
        (Card::Department, department),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_edits_with_one_etag_let_exactly_one_writer_win_whole() {
    let app = TestApp::spawn().await;
    let cards = cards(&app).await;
    assert_eq!(cards.len(), Card::ALL.len());
    for round in 0..ROUNDS {
        // The same ETag for every writer of a card; the three cards race at
        // once, 3 × WRITERS requests in flight.
        let mut requests = Vec::new();
        let mut before = Vec::new();
        for (card, id) in &cards {
            let path = card.path(*id);
            let read = app.get(&path).await;
            assert_eq!(read.status, 200, "{}", read.text);
            let etag = read.header("etag").expect("etag").to_string();
            let version = read.body["version"].as_i64().expect("version");
            assert_eq!(etag, format!("\"{version}\""));
            for writer in 0..WRITERS {
                requests.push(patch_request(
                    &app,
                    &path,
                    &etag,
                    &card.patch(round, writer),
                ));
            }
            before.push(version);
        }
        let replies = all_at_once(requests).await;
        for (index, (card, id)) in cards.iter().enumerate() {
            let path = card.path(*id);
            let replies = &replies[index * WRITERS..(index + 1) * WRITERS];
            let context = format!("{card:?}, round {round}");
            for reply in replies {
                assert_well_formed(reply, &context);
            }
            let winners: Vec<usize> = (0..WRITERS)
                .filter(|w| replies[*w].status == StatusCode::OK)
                .collect();
            assert_eq!(winners.len(), 1, "{context}: one winner, {winners:?}");
            let winner = winners[0];
            let won = &replies[winner];
            let sent = card.patch(round, winner);
            for (field, value) in sent.as_object().expect("patch") {
                assert_eq!(&won.body[field], value, "{context}: {field}");
            }
            assert_eq!(won.body["version"], before[index] + 1, "{context}");
            assert_eq!(
                won.header("etag"),
                Some(format!("\"{}\"", before[index] + 1).as_str())
            );
            for (writer, reply) in replies.iter().enumerate() {
                if writer == winner {
                    continue;
                }
                assert_eq!(
                    reply.status,
                    StatusCode::PRECONDITION_FAILED,
                    "{context}, writer {writer}: {}",
                    reply.text
                );
                assert_eq!(reply.body["code"], "stale_version", "{context}");
                // Where the refusal carries the current card, it is the
                // winner's: a writer is refused only once the winner is in.
                if !reply.body["current"].is_null() {
                    assert_eq!(reply.body["current"], won.body, "{context}");
                }
            }
            // What is stored is the winner's card, whole.
            let stored = app.get(&path).await;
            assert_eq!(stored.body, won.body, "{context}");
            assert_eq!(stored.header("etag"), won.header("etag"), "{context}");
        }
    }
    // One audit entry per round and card: one change each.
    for (card, id) in &cards {
        let (action, entity_type) = card.audit();
        let (total, entries) = audit_entries(&app, action, entity_type, *id).await;
        assert_eq!(total, ROUNDS as i64, "{card:?}");
        for pair in entries.windows(2) {
            assert_eq!(pair[1]["before"], pair[0]["after"], "{card:?}");
        }
    }
}

/// Workers of one card, steps per worker, in the read-modify-write loops.
const WORKERS: usize = 4;
const STEPS: usize = 5;
/// A worker that needs more attempts than this for one step is starved: a
/// bug, not bad luck, with this few workers.
const MAX_ATTEMPTS: usize = 300;

/// One worker: `STEPS` times read the card, change the counter field and
/// write it with `If-Match`, reading again after each 412. Returns the
/// successes and the refusals.
async fn read_modify_write(
    app: Arc<TestApp>,
    card: Card,
    id: i64,
    worker: usize,
) -> (usize, usize) {
    let path = card.path(id);
    let (mut successes, mut refusals) = (0, 0);
    for step in 0..STEPS {
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= MAX_ATTEMPTS, "{card:?} worker {worker} starved");
            let read = app.get(&path).await;
            assert_eq!(read.status, 200, "{}", read.text);
            let etag = read.header("etag").expect("etag").to_string();
            let written = app
                .patch(&path, Some(&etag), &card.next(&read.body, worker, step))
                .await;
            assert_well_formed(&written, &format!("{card:?} worker {worker}"));
            match written.status {
                StatusCode::OK => {
                    successes += 1;
                    break;
                }
                StatusCode::PRECONDITION_FAILED => refusals += 1,
                other => panic!("{card:?} worker {worker}: {other} {}", written.text),
            }
        }
    }
    (successes, refusals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_modify_write_loops_that_retry_on_412_lose_no_update() {
    let app = Arc::new(TestApp::spawn().await);
    let cards = cards(&app).await;
    let mut start = Vec::new();
    for (card, id) in &cards {
        let read = app.get(&card.path(*id)).await;
        let (action, entity_type) = card.audit();
        let (audited, _) = audit_entries(&app, action, entity_type, *id).await;
        start.push((read.body, audited));
    }
    // Every worker of every card at once.
    let mut tasks = Vec::new();
    for (card, id) in &cards {
        for worker in 0..WORKERS {
            tasks.push((
                *card,
                tokio::spawn(read_modify_write(app.clone(), *card, *id, worker)),
            ));
        }
    }
    let mut results: Vec<(Card, usize, usize)> = Vec::new();
    for (card, task) in tasks {
        let (successes, refusals) = task.await.expect("worker");
        results.push((card, successes, refusals));
    }
    for (index, (card, id)) in cards.iter().enumerate() {
        let successes: usize = results
            .iter()
            .filter(|(c, _, _)| c.path(0) == card.path(0))
            .map(|(_, s, _)| s)
            .sum();
        assert_eq!(successes, WORKERS * STEPS, "{card:?}");
        let stored = app.get(&card.path(*id)).await.body;
        let (initial, audited_before) = &start[index];
        // Every acknowledged write moved the version on once, and is in the
        // stored counter.
        assert_eq!(
            stored["version"].as_i64().expect("version"),
            initial["version"].as_i64().expect("version") + successes as i64,
            "{card:?}"
        );
        let field = card.counter_field();
        match card {
            Card::Company | Card::Person => {
                let prefix = initial[field].as_str().unwrap_or("");
                let text = stored[field].as_str().expect("counter text");
                let appended = text.strip_prefix(prefix).expect("the start kept");
                let marks: Vec<&str> = appended.split(';').filter(|m| !m.is_empty()).collect();
                assert_eq!(marks.len(), successes, "{card:?}: {text}");
                for worker in 0..WORKERS {
                    let own: Vec<String> = marks
                        .iter()
                        .filter(|m| m.starts_with(&format!("w{worker}.")))
                        .map(|m| m.to_string())
                        .collect();
                    let expected: Vec<String> =
                        (0..STEPS).map(|step| format!("w{worker}.{step}")).collect();
                    assert_eq!(own, expected, "{card:?}: {text}");
                }
            }
            Card::Department => {
                assert_eq!(
                    stored[field].as_i64().expect("sort_order"),
                    initial[field].as_i64().expect("sort_order") + successes as i64,
                    "{card:?}"
                );
            }
        }
        // One audit entry per acknowledged write, chained.
        let (action, entity_type) = card.audit();
        let (total, entries) = audit_entries(&app, action, entity_type, *id).await;
        assert_eq!(total - audited_before, successes as i64, "{card:?}");
        for pair in entries.windows(2) {
            assert_eq!(pair[1]["before"], pair[0]["after"], "{card:?}");
        }
        assert_eq!(
            entries.last().expect("entries")["after"][field],
            stored[field],
            "{card:?}"
        );
    }
    let refusals: usize = results.iter().map(|(_, _, r)| r).sum();
    eprintln!(
        "read-modify-write: {} writes, {refusals} refused with 412 and retried",
        cards.len() * WORKERS * STEPS
    );
}

// ---------------------------------------------------------------------------
// 2. Parallel grants and revocations of one right.

/// Who holds the right being granted and revoked.
#[derive(Debug, Clone, Copy)]
enum Holder {
    /// A department the person is a member of (`audit` section and
    /// `audit.view`, beside `companies` / `companies.view` kept throughout).
    Department(i64),
    /// The person's own extra rights (`audit.view`, beside `companies.view`).
    Person(i64),
    /// The membership of the person in a department that grants
    /// `audit.view`: granting is making them a member.
    Membership { department: i64, person: i64 },
}

impl Holder {
    fn path(self) -> String {
        match self {
            Holder::Department(id) => format!("/api/v1/departments/{id}/rights"),
            Holder::Person(id) => format!("/api/v1/users/{id}/extra-rights"),
            Holder::Membership { department, .. } => {
                format!("/api/v1/departments/{department}/members")
            }
        }
    }

    /// What the holder stores when the right is granted or not.
    fn keys(self, granted: bool) -> Vec<String> {
        let keys: Vec<&str> = match (self, granted) {
            (Holder::Department(_), false) => vec!["companies", "companies.view"],
            (Holder::Department(_), true) => {
                vec!["companies", "companies.view", "audit", "audit.view"]
            }
            (Holder::Person(_), false) => vec!["companies.view"],
            (Holder::Person(_), true) => vec!["companies.view", "audit.view"],
            (Holder::Membership { person, .. }, true) => return vec![person.to_string()],
            (Holder::Membership { .. }, false) => vec![],
        };
        keys.into_iter().map(String::from).collect()
    }

    fn set(self, granted: bool) -> BTreeSet<String> {
        self.keys(granted).into_iter().collect()
    }

    /// The body of a request that grants or revokes.
    fn body(self, granted: bool) -> Value {
        match self {
            Holder::Department(_) | Holder::Person(_) => json!({ "rights": self.keys(granted) }),
            Holder::Membership { person, .. } => {
                json!({ "user_ids": if granted { vec![person] } else { vec![] } })
            }
        }
    }

    /// The part of an acknowledgement that lists what is held.
    fn answered(self) -> &'static str {
        match self {
            Holder::Department(_) => "effective",
            Holder::Person(_) => "extra_rights",
            Holder::Membership { .. } => "items",
        }
    }

    fn audit(self) -> (&'static str, &'static str, i64, &'static str) {
        match self {
            Holder::Department(id) => ("department.rights", "department", id, "rights"),
            Holder::Person(id) => ("user.extra_rights", "user", id, "extra_rights"),
            Holder::Membership { department, .. } => {
                ("department.members", "department", department, "members")
            }
        }
    }

    /// What is stored now, as the holder's own GET shows it; anything
    /// stored twice fails here.
    async fn stored(self, app: &TestApp) -> BTreeSet<String> {
        let keys: Vec<String> = match self {
            Holder::Department(id) => {
                let read = app.get(&format!("/api/v1/departments/{id}/rights")).await;
                assert_eq!(read.status, 200, "{}", read.text);
                ["sections", "functions"]
                    .iter()
                    .flat_map(|part| read.body[part].as_array().expect("keys").clone())
                    .map(|k| key_text(&k))
                    .collect()
            }
            Holder::Person(id) => {
                let read = app.get(&format!("/api/v1/users/{id}/rights")).await;
                assert_eq!(read.status, 200, "{}", read.text);
                read.body["extra_rights"]
                    .as_array()
                    .expect("extra rights")
                    .iter()
                    .map(key_text)
                    .collect()
            }
            Holder::Membership { department, .. } => {
                let read = app
                    .get(&format!("/api/v1/departments/{department}/members"))
                    .await;
                assert_eq!(read.status, 200, "{}", read.text);
                read.body["items"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .map(|m| key_text(&m["id"]))
                    .collect()
            }
        };
        let set = keys.iter().cloned().collect::<BTreeSet<_>>();
        assert_eq!(set.len(), keys.len(), "stored twice: {keys:?}");
        set
    }
}

/// A right key, or a member's id, as text.
fn key_text(key: &Value) -> String {
    match key.as_str() {
        Some(text) => text.to_string(),
        None => key.to_string(),
    }
}

fn key_set(keys: &Value) -> BTreeSet<String> {
    keys.as_array()
        .expect("keys")
        .iter()
        .map(key_text)
        .collect()
}

/// Whether writer `writer` of round `round` grants (or revokes): rounds of
/// grants only and of revocations only, whose outcome is known, and mixed
/// rounds, whose outcome is the last change the audit log records.
fn grants(round: usize, writer: usize) -> bool {
    match round % 4 {
        0 => true,
        1 => false,
        2 => writer.is_multiple_of(2),
        _ => !(writer * 7 + round).is_multiple_of(3),
    }
}

/// Races grants and revocations of one right on `holder` for `ROUNDS`
/// rounds while `person` (whom the right reaches) keeps asking what they
/// may do, then checks the stored rights, the audit log and the person's
/// effective access after every round.
async fn race_grants_and_revocations(app: &TestApp, holder: Holder, person: i64, token: &str) {
    let (action, entity_type, entity_id, snapshot_key) = holder.audit();
    let (mut audited, _) = audit_entries(app, action, entity_type, entity_id).await;
    let mut stored = holder.stored(app).await;
    let granted_set = |granted: bool| holder.set(granted);
    for round in 0..ROUNDS {
        let context = format!("{holder:?}, round {round}");
        let plan: Vec<bool> = (0..WRITERS).map(|w| grants(round, w)).collect();
        let mut requests: Vec<RequestBuilder> = plan
            .iter()
            .map(|granted| {
                app.request(Method::PUT, &holder.path())
                    .json(&holder.body(*granted))
            })
            .collect();
        // The person asks what they may do while the race runs, so their
        // rights are cached at the epochs in between.
        for _ in 0..WRITERS / 2 {
            requests.push(app.with_token(token, Method::GET, "/api/v1/me"));
        }
        let replies = all_at_once(requests).await;
        for (index, reply) in replies.iter().enumerate() {
            assert_well_formed(reply, &format!("{context}, request {index}"));
            assert_eq!(reply.status, StatusCode::OK, "{context}: {}", reply.text);
        }
        for reply in &replies[..WRITERS] {
            assert!(
                reply.body[holder.answered()].is_array(),
                "{context}: {}",
                reply.text
            );
        }

        // Stored once or not at all, and as one of the writers left it.
        let now = holder.stored(app).await;
        assert!(
            now == granted_set(true) || now == granted_set(false),
            "{context}: {now:?}"
        );
        let all_same = plan.iter().all(|g| *g == plan[0]);
        if all_same {
            assert_eq!(now, granted_set(plan[0]), "{context}");
        }

        // One audit entry per acknowledged change, in a chain from what was
        // stored before the round to what is stored now.
        let (total, entries) = audit_entries(app, action, entity_type, entity_id).await;
        assert_eq!(total - audited, WRITERS as i64, "{context}");
        let round_entries = &entries[entries.len() - WRITERS..];
        let mut previous = stored.clone();
        let mut grants_audited = 0;
        for entry in round_entries {
            let before = key_set(&entry["before"][snapshot_key]);
            let after = key_set(&entry["after"][snapshot_key]);
            assert_eq!(before, previous, "{context}: the audit chain breaks");
            assert!(
                after == granted_set(true) || after == granted_set(false),
                "{context}: {after:?}"
            );
            grants_audited += usize::from(after == granted_set(true));
            previous = after;
        }
        assert_eq!(
            previous, now,
            "{context}: the last change is what is stored"
        );
        assert_eq!(
            grants_audited,
            plan.iter().filter(|g| **g).count(),
            "{context}: each request audited as sent"
        );
        audited = total;
        stored = now;

        // The person's very next requests follow what is stored.
        let granted = stored == granted_set(true);
        let me = get_as(app, token, "/api/v1/me").await;
        assert_eq!(me.status, 200, "{}", me.text);
        let functions = key_set(&me.body["functions"]);
        assert_eq!(
            functions.contains("audit.view"),
            granted,
            "{context}: {functions:?}"
        );
        assert!(functions.contains("companies.view"), "{context}");
        let audit = get_as(app, token, "/api/v1/audit?limit=1").await;
        let expected = if granted {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(audit.status, expected, "{context}: {}", audit.text);
        let rights = app.get(&format!("/api/v1/users/{person}/rights")).await;
        let keys: BTreeSet<String> = rights.body["rights"]
            .as_array()
            .expect("rights")
            .iter()
            .map(|r| r["key"].as_str().expect("key").to_string())
            .collect();
        assert_eq!(keys.contains("audit.view"), granted, "{context}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_grants_and_revocations_of_a_department_right_stay_consistent() {
    let app = TestApp::spawn().await;
    let (member, token) = person(&app, "member").await;
    let department = department(&app, "Аудиторы").await;
    let members = app
        .request(
            Method::PUT,
            &format!("/api/v1/departments/{department}/members"),
        )
        .json(&json!({ "user_ids": [member] }))
        .send()
        .await
        .expect("members");
    assert_eq!(members.status(), 200);
    race_grants_and_revocations(&app, Holder::Department(department), member, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_grants_and_revocations_of_a_persons_own_right_stay_consistent() {
    let app = TestApp::spawn().await;
    let (holder, token) = person(&app, "holder").await;
    race_grants_and_revocations(&app, Holder::Person(holder), holder, &token).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_additions_and_removals_of_a_member_stay_consistent() {
    let app = TestApp::spawn().await;
    let (member, token) = person(&app, "joiner").await;
    // `companies.view` of their own throughout; `audit.view` only from the
    // department, while a member.
    let own = app
        .request(Method::PUT, &format!("/api/v1/users/{member}/extra-rights"))
        .json(&json!({"rights": ["companies.view"]}))
        .send()
        .await
        .expect("extra rights");
    assert_eq!(own.status(), 200);
    let department = department(&app, "Аудит").await;
    let rights = app
        .request(
            Method::PUT,
            &format!("/api/v1/departments/{department}/rights"),
        )
        .json(&json!({"rights": ["audit", "audit.view"]}))
        .send()
        .await
        .expect("rights");
    assert_eq!(rights.status(), 200);
    let holder = Holder::Membership {
        department,
        person: member,
    };
    race_grants_and_revocations(&app, holder, member, &token).await;
}

/// The keys of the department's rights or its members recorded by the
/// latest audit entry of `action` on it.
async fn last_audited(app: &TestApp, action: &str, id: i64, key: &str) -> BTreeSet<String> {
    let (_, entries) = audit_entries(app, action, "department", id).await;
    key_set(&entries.last().expect("an audit entry")["after"][key])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_deleted_while_its_rights_and_members_change_goes_once_and_whole() {
    let app = TestApp::spawn().await;
    let (member, token) = person(&app, "leaver").await;
    for round in 0..ROUNDS / 2 {
        let context = format!("round {round}");
        let id = department(&app, &format!("Временный {round}")).await;
        let rights_path = format!("/api/v1/departments/{id}/rights");
        let members_path = format!("/api/v1/departments/{id}/members");
        for (path, body) in [
            (&rights_path, json!({"rights": ["audit", "audit.view"]})),
            (&members_path, json!({"user_ids": [member]})),
        ] {
            let set = app.request(Method::PUT, path).json(&body).send().await;
            assert_eq!(set.expect("set").status(), 200, "{context}");
        }
        // Deletions, changes of rights and changes of members at once.
        let mut requests = Vec::new();
        for writer in 0..WRITERS {
            requests.push(match writer % 4 {
                0 | 1 => app.request(Method::DELETE, &format!("/api/v1/departments/{id}")),
                2 => app.request(Method::PUT, &rights_path).json(&json!({
                    "rights": if writer % 8 == 2 { vec!["audit", "audit.view"] } else { vec!["audit"] }
                })),
                _ => app.request(Method::PUT, &members_path).json(&json!({
                    "user_ids": if writer % 8 == 3 { vec![member] } else { vec![] }
                })),
            });
        }
        let replies = all_at_once(requests).await;
        let mut deleted = 0;
        for (writer, reply) in replies.iter().enumerate() {
            assert_well_formed(reply, &format!("{context}, writer {writer}"));
            match (writer % 4, reply.status) {
                (0 | 1, StatusCode::NO_CONTENT) => deleted += 1,
                (_, StatusCode::NOT_FOUND) => {}
                (2 | 3, StatusCode::OK) => {}
                (_, status) => panic!("{context}, writer {writer}: {status} {}", reply.text),
            }
        }
        assert_eq!(deleted, 1, "{context}: deleted once");
        let gone = app.get(&format!("/api/v1/departments/{id}")).await;
        assert_eq!(gone.status, 404, "{context}");

        // One deletion audited, and what it removed is what the last
        // acknowledged changes had stored.
        let (total, entries) = audit_entries(&app, "department.delete", "department", id).await;
        assert_eq!(total, 1, "{context}");
        let removed = &entries[0]["before"];
        assert_eq!(
            key_set(&removed["rights"]),
            last_audited(&app, "department.rights", id, "rights").await,
            "{context}"
        );
        assert_eq!(
            key_set(&removed["members"]),
            last_audited(&app, "department.members", id, "members").await,
            "{context}"
        );
        let (rights_audited, _) = audit_entries(&app, "department.rights", "department", id).await;
        let rights_acknowledged = replies
            .iter()
            .enumerate()
            .filter(|(w, r)| w % 4 == 2 && r.status == StatusCode::OK)
            .count();
        assert_eq!(rights_audited, 1 + rights_acknowledged as i64, "{context}");

        // The person's very next request has nothing from the department.
        let me = get_as(&app, &token, "/api/v1/me").await;
        assert_eq!(me.status, 200, "{}", me.text);
        assert!(
            !key_set(&me.body["functions"]).contains("audit.view"),
            "{context}"
        );
        let audit = get_as(&app, &token, "/api/v1/audit?limit=1").await;
        assert_eq!(audit.status, 403, "{context}");
    }
}

// ---------------------------------------------------------------------------
// 3. Parallel links of clients to a group company.

const GROUP_INN: &str = "7707083893";
/// Multichannel numbers of the clients sharing the group's INN.
const CLIENT_NUMBERS: [&str; 4] = [
    "+7 812 111-11-11",
    "+7 861 222-22-22",
    "+7 383 444-44-44",
    "+7 343 333-33-33",
];

/// The ids of the clients linked to a group company (`links` is its
/// links path); the page's total agrees.
async fn linked(app: &TestApp, links: &str) -> Vec<i64> {
    let page = app.get(&format!("{links}?limit=100")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let mut ids: Vec<i64> = page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    ids.sort();
    assert_eq!(page.body["total"], ids.len() as i64);
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_links_of_one_client_give_one_link_and_different_clients_all_link() {
    let app = TestApp::spawn().await;
    let group = app
        .create_company(
            json!({"name": "Группа", "inns": [GROUP_INN], "is_group_company": true,
                              "multichannel_number": "+7 495 100-00-01"}),
        )
        .await["id"]
        .as_i64()
        .expect("id");
    let mut clients = Vec::new();
    for (index, number) in CLIENT_NUMBERS.iter().enumerate() {
        let created = app
            .create_company(
                json!({"name": format!("Клиент {index}"), "inns": [GROUP_INN],
                                  "multichannel_number": number}),
            )
            .await;
        clients.push(created["id"].as_i64().expect("id"));
    }
    // A group admin of the group, whose scope the links widen.
    let created = app
        .post(
            "/api/v1/users",
            &json!({"login": "gleb", "first_name": "Глеб", "last_name": "Групповой",
                    "kind": "group_admin", "company_id": group, "email": "gleb@example.com",
                    "mobile_phone": "+79161234567"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let gleb = created.body["id"].as_i64().expect("id");
    let rights = app
        .request(Method::PUT, &format!("/api/v1/users/{gleb}/extra-rights"))
        .json(&json!({"rights": ["companies.view"]}))
        .send()
        .await
        .expect("rights");
    assert_eq!(rights.status(), 200);
    let gleb = app
        .services
        .token_create_for_login("gleb", "tests")
        .await
        .expect("token");

    let links = format!("/api/v1/companies/{group}/links");
    let link_request = |number: &str| {
        app.request(Method::POST, &links)
            .json(&json!({ "multichannel_number": number }))
    };
    let (mut links_audited, _) = audit_entries(&app, "company.link", "company", group).await;
    for round in 0..ROUNDS {
        let context = format!("round {round}");
        // The same client, WRITERS times at once.
        let replies = all_at_once(
            (0..WRITERS)
                .map(|_| link_request(CLIENT_NUMBERS[0]))
                .collect(),
        )
        .await;
        for reply in &replies {
            assert_well_formed(reply, &context);
        }
        let created: Vec<&Reply> = replies
            .iter()
            .filter(|r| r.status == StatusCode::CREATED)
            .collect();
        assert_eq!(created.len(), 1, "{context}: one link wins");
        for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
            assert_eq!(
                (reply.status, reply.body["code"].as_str()),
                (StatusCode::CONFLICT, Some("link.exists")),
                "{context}: {}",
                reply.text
            );
        }
        assert_eq!(linked(&app, &links).await, vec![clients[0]], "{context}");
        let (total, _) = audit_entries(&app, "company.link", "company", group).await;
        assert_eq!(total - links_audited, 1, "{context}");
        links_audited = total;
        // The group admin's very next request sees the linked client.
        let card = get_as(&app, &gleb, &format!("/api/v1/companies/{}", clients[0])).await;
        assert_eq!(card.status, 200, "{context}: {}", card.text);

        // The three other clients at once, each about WRITERS / 3 times:
        // each is linked exactly once, so one 201 per client.
        let numbers: Vec<&str> = (0..WRITERS)
            .map(|i| CLIENT_NUMBERS[1 + i % (CLIENT_NUMBERS.len() - 1)])
            .collect();
        let replies = all_at_once(numbers.iter().map(|n| link_request(n)).collect()).await;
        for number in &CLIENT_NUMBERS[1..] {
            let answers: Vec<&Reply> = numbers
                .iter()
                .zip(&replies)
                .filter(|(n, _)| *n == number)
                .map(|(_, r)| r)
                .collect();
            for reply in &answers {
                assert_well_formed(reply, &context);
            }
            let won = answers
                .iter()
                .filter(|r| r.status == StatusCode::CREATED)
                .count();
            assert_eq!(won, 1, "{context}: {number} linked once");
            assert!(answers
                .iter()
                .all(|r| r.status == StatusCode::CREATED || r.body["code"] == "link.exists"));
        }
        let mut everyone = clients.clone();
        everyone.sort();
        assert_eq!(linked(&app, &links).await, everyone, "{context}");
        let (total, _) = audit_entries(&app, "company.link", "company", group).await;
        assert_eq!(total - links_audited, 3, "{context}");
        links_audited = total;

        // Unlinking one pair many times at once: one 204, the rest 404.
        let path = format!("{links}/{}", clients[0]);
        let replies = all_at_once(
            (0..WRITERS)
                .map(|_| app.request(Method::DELETE, &path))
                .collect(),
        )
        .await;
        let mut statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        statuses.sort();
        let mut expected = vec![204];
        expected.extend(std::iter::repeat_n(404, WRITERS - 1));
        assert_eq!(statuses, expected, "{context}");
        let card = get_as(&app, &gleb, &format!("/api/v1/companies/{}", clients[0])).await;
        assert_eq!(
            card.status, 404,
            "{context}: unlinked is out of scope at once"
        );
        for client in &clients[1..] {
            let gone = app.delete(&format!("{links}/{client}")).await;
            assert_eq!(gone.status, StatusCode::NO_CONTENT, "{context}");
        }
        assert!(linked(&app, &links).await.is_empty(), "{context}");
    }
    let (unlinks, _) = audit_entries(&app, "company.unlink", "company", group).await;
    assert_eq!(unlinks, (ROUNDS * CLIENT_NUMBERS.len()) as i64);
}

/// The engine settings of every pooled connection, and (PostgreSQL) idle
/// connections the server dropped: the pool pings a connection that sat
/// idle for a second before handing it out, where it no longer pings on
/// every acquire.
#[tokio::test]
async fn pooled_connections_carry_their_settings_and_dropped_ones_are_replaced() {
    let app = TestApp::spawn().await;
    // Fill the pool: as many requests at once as it has connections.
    let warm = all_at_once(
        (0..WRITERS)
            .map(|_| app.request(Method::GET, "/api/v1/companies?limit=5"))
            .collect(),
    )
    .await;
    assert!(warm.iter().all(|r| r.status == StatusCode::OK));
    let mut conn = app.services.store.reader().await.unwrap();
    let setting = |sql: &'static str| sqlx::query_scalar::<_, String>(sql);
    match app.backend {
        kabinet_testkit::TestBackend::Sqlite => {
            let journal: String = setting("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(journal, "wal");
            let keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(keys, 1);
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(busy, 10_000);
        }
        kabinet_testkit::TestBackend::Postgres => {
            let jit: String = setting("SHOW jit").fetch_one(&mut *conn).await.unwrap();
            assert_eq!(jit, "off");
            let workers: String = setting("SHOW max_parallel_workers_per_gather")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(workers, "0");
            // Every other connection of this test's database is dropped by
            // the server, as a restart or an idle timeout would.
            let dropped: Vec<bool> = sqlx::query_scalar(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            assert!(
                !dropped.is_empty() && dropped.iter().all(|d| *d),
                "{dropped:?}"
            );
            drop(conn);
            tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
            let after = all_at_once(
                (0..WRITERS)
                    .map(|_| app.request(Method::GET, "/api/v1/companies?limit=5"))
                    .collect(),
            )
            .await;
            let statuses: Vec<u16> = after.iter().map(|r| r.status.as_u16()).collect();
            assert_eq!(statuses, vec![200; WRITERS]);
        }
    }
}

/// Clients moved between two resellers (each move rewrites the client's
/// path and both resellers' child counts) while the resellers and the
/// clients are edited, all at once: every request is taken, none answered
/// with a 5xx. On PostgreSQL a write that held a company's row and then
/// wanted the epochs' row (migration 20's trigger) could meet one that held
/// the epochs' row and wanted that company's, and PostgreSQL aborted one
/// of the two, until every company write took the epochs' row first.
#[tokio::test]
async fn moves_and_edits_of_the_same_companies_at_once_do_not_deadlock() {
    let app = TestApp::spawn().await;
    let reseller = |name: &str| json!({"name": name, "inns": ["7707083893"], "is_reseller": true});
    let left = app.create_company(reseller("Левый")).await["id"]
        .as_i64()
        .unwrap();
    let right = app.create_company(reseller("Правый")).await["id"]
        .as_i64()
        .unwrap();
    let mut clients = Vec::new();
    for n in 0..4 {
        let mut client = kabinet_testkit::company(&format!("Клиент {n}"));
        client["parent_id"] = json!(if n % 2 == 0 { left } else { right });
        clients.push(app.create_company(client).await["id"].as_i64().unwrap());
    }
    for round in 0..15 {
        let mut requests = Vec::new();
        for (n, &id) in clients.iter().enumerate() {
            let path = format!("/api/v1/companies/{id}");
            let card = app.get(&path).await;
            let etag = card.header("etag").unwrap().to_string();
            let parent = if (n + round) % 2 == 0 { right } else { left };
            requests.push(patch_request(
                &app,
                &path,
                &etag,
                &json!({"parent_id": parent}),
            ));
        }
        for id in [left, right] {
            let path = format!("/api/v1/companies/{id}");
            let card = app.get(&path).await;
            let etag = card.header("etag").unwrap().to_string();
            let body = json!({"region": format!("Регион {round}")});
            requests.push(patch_request(&app, &path, &etag, &body));
        }
        for (n, reply) in all_at_once(requests).await.iter().enumerate() {
            assert_well_formed(reply, &format!("round {round}, request {n}"));
        }
    }
    let card = app.get(&format!("/api/v1/companies/{right}")).await;
    assert_eq!(card.body["children_count"], 2, "{}", card.text);
}
