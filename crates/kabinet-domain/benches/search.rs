//! Search normalisation: the `q` parameter turned into search terms
//! (`SearchTerms::parse`, called by the API's and the console's company
//! lists), and the folded text a company card puts into the index.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use kabinet_domain::company::{CompanyDraft, RawCompany, SearchTerms};
use kabinet_domain::text::search_fold;

fn bench_query(c: &mut Criterion) {
    let mut group = c.benchmark_group("search_terms");
    for (name, q) in [
        ("cyrillic_fragment", "ром"),
        ("two_words", "Сигма Телеком"),
        ("phone_digits", "+7 (495) 123-45"),
        ("id", "42"),
        ("account_number", "LS-00500000"),
        (
            "long_mixed",
            "ООО «Ёлки-Палки» Ромашка 100% Москва ул. Тверская д. 7 стр. 2 офис 15",
        ),
    ] {
        assert!(SearchTerms::parse(q).is_some(), "{q}");
        group.bench_with_input(BenchmarkId::new("parse", name), q, |b, q| {
            b.iter(|| SearchTerms::parse(black_box(q)))
        });
    }
    group.finish();
}

fn bench_index_text(c: &mut Criterion) {
    let mut group = c.benchmark_group("search_index");
    let name = "ООО «Ёлки-Палки и Ромашка» — Сервисный Центр";
    group.bench_function("fold_name", |b| b.iter(|| search_fold(black_box(name))));

    let raw = RawCompany {
        name: Some(name.into()),
        short_id: Some("ЁЛКИ-1".into()),
        account_number: Some("LS-00500000".into()),
        inns: vec!["7707083893".into()],
        kpp: Some("773601001".into()),
        ogrn: Some("1027700132195".into()),
        bik: Some("044525225".into()),
        correspondent_account: Some("30101810400000000225".into()),
        multichannel_number: Some("8 800 555-35-35".into()),
        phones: vec!["+7 (495) 123-45-67".into(), "8 812 7654321".into()],
        phone: Some("+7 (495) 765-43-21".into()),
        ..RawCompany::default()
    };
    let draft = CompanyDraft::parse(&raw).expect("a valid card");
    group.bench_function("company_search_text", |b| {
        b.iter(|| black_box(&draft).search_text())
    });
    // The whole card, parsed as a form or the API sends it.
    group.bench_function("company_card_parse", |b| {
        b.iter(|| CompanyDraft::parse(black_box(&raw)))
    });
    group.finish();
}

criterion_group!(benches, bench_query, bench_index_text);
criterion_main!(benches);
