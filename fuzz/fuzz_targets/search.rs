//! Search-query normalisation: `search_fold` and `SearchTerms::parse`.
//!
//! Properties: folding is idempotent and leaves no `ё`; the terms of a query
//! are at most 8 non-empty folded words without whitespace or the LIKE
//! wildcards `%` and `_` (nor the field separator `|`); a query of phone
//! punctuation gives at most one word, of digits; surrounding spaces change
//! nothing.
#![no_main]

use kabinet_domain::company::SearchTerms;
use kabinet_domain::text::search_fold;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };

    let folded = search_fold(query);
    assert_eq!(search_fold(&folded), folded, "folding is idempotent");
    assert!(!folded.contains('ё'));

    let terms = SearchTerms::parse(query);
    assert_eq!(
        SearchTerms::parse(&format!("  {query} \t")),
        terms,
        "surrounding spaces"
    );
    let Some(terms) = terms else {
        return;
    };
    assert!(!terms.words.is_empty() || terms.id.is_some());
    assert!(terms.words.len() <= 8, "{:?}", terms.words);
    for word in &terms.words {
        assert!(!word.is_empty());
        assert!(!word.chars().any(char::is_whitespace), "{word:?}");
        assert!(!word.contains(['%', '_', '|']), "{word:?}");
        assert_eq!(&search_fold(word), word, "words are folded");
    }
    if let Some(id) = terms.id {
        assert!(id >= 0);
    }
    let trimmed = query.trim();
    let phone_like = trimmed
        .chars()
        .all(|c| c.is_ascii_digit() || " +()-.".contains(c));
    if phone_like {
        assert!(terms.words.len() <= 1, "{:?}", terms.words);
        if let Some(word) = terms.words.first() {
            assert!(word.len() >= 3 && word.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
