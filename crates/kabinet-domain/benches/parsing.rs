//! Parsing requisites and phone numbers, as every company card does
//! (a form, the API, and `kabinet demo` for each generated company).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kabinet_domain::requisites::{Bik, CorrespondentAccount, Inn, Kpp, Ogrn, SettlementAccount};
use kabinet_domain::text::Phone;

// Real, public requisites (the same as the unit tests use).
const INN_10: &str = "7707083893";
const INN_12: &str = "500100732259";
const KPP: &str = "773601001";
const OGRN: &str = "1027700132195";
const OGRNIP: &str = "304500116000157";
const BIK: &str = "044525225";
const CORRESPONDENT: &str = "30101810400000000225";

fn bench_requisites(c: &mut Criterion) {
    let bik = Bik::parse(BIK).unwrap();
    let settlement = SettlementAccount::generate(&bik, "40702810000000012345");
    let settlement = settlement.as_str().to_string();

    let mut group = c.benchmark_group("requisites");
    for (name, inn) in [("inn_10", INN_10), ("inn_12", INN_12)] {
        assert!(Inn::parse(inn).is_ok(), "{inn}");
        group.bench_with_input(BenchmarkId::new("inn", name), inn, |b, inn| {
            b.iter(|| Inn::parse(black_box(inn)))
        });
    }
    // A wrong control digit: the path a mistyped card takes.
    assert_eq!(Inn::parse("7707083894"), Err("inn.checksum"));
    group.bench_function("inn/bad_checksum", |b| {
        b.iter(|| Inn::parse(black_box("7707083894")))
    });
    assert!(Kpp::parse(KPP).is_ok());
    group.bench_function("kpp", |b| b.iter(|| Kpp::parse(black_box(KPP))));
    for (name, ogrn) in [("ogrn_13", OGRN), ("ogrnip_15", OGRNIP)] {
        assert!(Ogrn::parse(ogrn).is_ok(), "{ogrn}");
        group.bench_with_input(BenchmarkId::new("ogrn", name), ogrn, |b, ogrn| {
            b.iter(|| Ogrn::parse(black_box(ogrn)))
        });
    }
    group.bench_function("bik", |b| b.iter(|| Bik::parse(black_box(BIK))));
    assert!(CorrespondentAccount::parse(CORRESPONDENT, &bik).is_ok());
    group.bench_function("correspondent_account", |b| {
        b.iter(|| CorrespondentAccount::parse(black_box(CORRESPONDENT), &bik))
    });
    assert!(SettlementAccount::parse(&settlement, &bik).is_ok());
    group.bench_function("settlement_account", |b| {
        b.iter(|| SettlementAccount::parse(black_box(&settlement), &bik))
    });
    group.finish();
}

fn bench_phones(c: &mut Criterion) {
    let mut group = c.benchmark_group("phone");
    for (name, raw) in [
        ("plus7_brackets_dashes", "+7 (495) 123-45-67"),
        ("8_spaces", "8 495 1234567"),
        ("ten_digits", "4951234567"),
        ("foreign_plus44", "+44 20 7946 0958"),
    ] {
        assert!(Phone::parse(raw).is_ok(), "{raw}");
        group.bench_with_input(BenchmarkId::new("parse", name), raw, |b, raw| {
            b.iter(|| Phone::parse(black_box(raw)))
        });
    }
    let phone = Phone::parse("+74951234567").unwrap();
    group.bench_function("display", |b| b.iter(|| black_box(&phone).to_string()));
    group.finish();
}

criterion_group!(benches, bench_requisites, bench_phones);
criterion_main!(benches);
