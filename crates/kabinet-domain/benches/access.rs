//! The access decision, as a request pays for it.
//!
//! A person in 5 departments with 20 extra rights, working in a reseller,
//! asks to do a function on a company deep in the reseller's subtree. Per
//! request the server reads the person's department rights and extra rights
//! as stored keys (`departments::of_user`, `departments::extra_rights`),
//! composes them (`kabinet-service` `grants_of`), and the guard decides
//! (`Actor::require`, then `Actor::sees` for the company). The database reads
//! are left out: this measures the pure part only. `Actor::sees` lives in
//! `kabinet-service`; its body (a prefix test on tree paths) is repeated here.
//!
//! Issue 6's goal: median ≤ 1 µs for `access/decide_from_stored_keys`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use kabinet_domain::access::{DepartmentRights, Function, FunctionSet, Grants};
use kabinet_domain::company::is_root_path;

/// What the per-request reads return for one person.
struct Person {
    /// The home company's tree path: the person's scope.
    scope_path: String,
    /// Tree paths of clients linked to a group company (none here but
    /// plausible for a group admin; `sees` scans them after the scope).
    linked_paths: Vec<String>,
    kind: &'static str,
    may_open_admin_cabinet: bool,
    /// Each department's stored right keys (sections and functions).
    departments: Vec<Vec<String>>,
    /// The stored keys of the extra rights.
    extra: Vec<String>,
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| k.to_string()).collect()
}

fn person() -> Person {
    let departments = vec![
        keys(&[
            "companies",
            "companies.view",
            "companies.create",
            "companies.edit",
            "companies.link",
        ]),
        keys(&[
            "users",
            "users.view",
            "users.create",
            "users.edit",
            "users.credentials",
        ]),
        keys(&[
            "departments",
            "departments.view",
            "departments.edit",
            "audit",
            "audit.view",
        ]),
        keys(&[
            "billing",
            "billing.view",
            "billing.edit",
            "support",
            "support.view",
            "support.edit",
        ]),
        keys(&[
            "telephony",
            "telephony.view",
            "telephony.edit",
            "settings",
            "settings.view",
            // A function whose section is off: stored, but without effect.
            "outbox.view",
        ]),
    ];
    // 20 extra rights, spread over the whole catalog (so the key look-up
    // walks it, not only its head).
    let extra = keys(&[
        "companies.view",
        "companies.delete",
        "companies.restore",
        "companies.enter",
        "users.view",
        "users.delete",
        "users.restore",
        "departments.rights",
        "audit.export",
        "settings.edit",
        "api_tokens.own",
        "outbox.view",
        "outbox.retry",
        "billing.view",
        "billing.edit",
        "support.view",
        "support.edit",
        "telephony.view",
        "telephony.edit",
        "users.credentials",
    ]);
    assert_eq!(departments.len(), 5);
    assert_eq!(extra.len(), 20);
    Person {
        // A reseller directly under the provider.
        scope_path: "/1/12/".into(),
        linked_paths: Vec::new(),
        kind: "admin",
        may_open_admin_cabinet: true,
        departments,
        extra,
    }
}

/// A company five levels down: provider / reseller / … / the company.
const TARGET_PATH: &str = "/1/12/345/6789/101112/";

/// `kabinet-service` `grants_of` after its two reads.
fn grants_of(person: &Person) -> Grants {
    let in_client_company = !is_root_path(&person.scope_path);
    if in_client_company && person.kind == "client_user" && !person.may_open_admin_cabinet {
        return Grants::default().with(Function::ApiTokensOwn);
    }
    let rights: Vec<DepartmentRights> = person
        .departments
        .iter()
        .map(|keys| DepartmentRights::from_keys(keys.iter().map(String::as_str)))
        .collect();
    let extra = FunctionSet::of(person.extra.iter().filter_map(|k| Function::from_key(k)));
    Grants::compose(&rights, extra).with(Function::ApiTokensOwn)
}

/// `kabinet-service` `Actor::sees`.
fn sees(scope_path: &str, linked_paths: &[String], path: &str) -> bool {
    path.starts_with(scope_path)
        || linked_paths
            .iter()
            .any(|linked| path.starts_with(linked.as_str()))
}

/// The guard's decision (`Actor::require`) and the use case's scope check.
fn decide(grants: &Grants, person: &Person, function: Function, path: &str) -> bool {
    grants.allows(function) && sees(&person.scope_path, &person.linked_paths, path)
}

fn bench_access(c: &mut Criterion) {
    let person = person();
    let grants = grants_of(&person);
    // The fixture decides what the benchmark claims it decides.
    assert!(decide(
        &grants,
        &person,
        Function::CompaniesEdit,
        TARGET_PATH
    ));
    assert!(!grants
        .narrowed_for_client(true)
        .allows(Function::CompaniesEdit));
    assert!(!sees(&person.scope_path, &[], "/1/13/345/6789/101112/"));

    let mut group = c.benchmark_group("access");

    // Everything a request does after reading the person's keys.
    group.bench_function("decide_from_stored_keys", |b| {
        b.iter(|| {
            let person = black_box(&person);
            let grants = grants_of(person);
            decide(
                &grants,
                person,
                black_box(Function::CompaniesEdit),
                black_box(TARGET_PATH),
            )
        })
    });

    // The same with department rights already parsed (were they cached).
    let parsed: Vec<DepartmentRights> = person
        .departments
        .iter()
        .map(|keys| DepartmentRights::from_keys(keys.iter().map(String::as_str)))
        .collect();
    let extra = FunctionSet::of(person.extra.iter().filter_map(|k| Function::from_key(k)));
    group.bench_function("compose_parsed_and_decide", |b| {
        b.iter(|| {
            let grants =
                Grants::compose(black_box(&parsed), black_box(extra)).with(Function::ApiTokensOwn);
            decide(
                &grants,
                &person,
                black_box(Function::CompaniesEdit),
                black_box(TARGET_PATH),
            )
        })
    });

    // Acting inside a client's cabinet (M4), read-only: the grants narrowed.
    group.bench_function("decide_acting_read_only", |b| {
        b.iter(|| {
            let person = black_box(&person);
            let grants = grants_of(person).narrowed_for_client(black_box(true));
            decide(
                &grants,
                person,
                black_box(Function::CompaniesView),
                black_box(TARGET_PATH),
            )
        })
    });

    // What each further check in the same request costs: the bit test and
    // the path prefix test.
    group.bench_function("check_only", |b| {
        b.iter(|| {
            decide(
                black_box(&grants),
                &person,
                black_box(Function::CompaniesEdit),
                black_box(TARGET_PATH),
            )
        })
    });

    group.finish();
}

criterion_group!(benches, bench_access);
criterion_main!(benches);
