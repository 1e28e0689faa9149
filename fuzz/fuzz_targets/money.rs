//! Money amounts typed as decimal text (`1 500,50`, `-20.75`).
//!
//! Properties: an amount that parses prints in a form that parses back to the
//! same amount, and stays within what the parser promises (15 whole digits).
#![no_main]

use kabinet_domain::money::Money;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(money) = Money::parse(raw) else {
        return;
    };
    assert!(
        money.minor().unsigned_abs() < 100 * 10u64.pow(15),
        "{money:?}"
    );
    let shown = money.to_string();
    assert_eq!(Money::parse(&shown), Ok(money), "printed as {shown:?}");
    assert_eq!(Money::from_minor(money.minor()), money);
});
