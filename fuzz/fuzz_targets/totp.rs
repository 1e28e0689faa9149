//! TOTP: the typed code check, base32 secrets and the `otpauth://` address
//! built from a company name and a login.
//!
//! Input: `[u16 LE length][secret]`, 8 bytes of time (i64 LE), 1 byte (odd:
//! a last used step follows), 8 bytes of last used step, then the typed code
//! as text (also read as a base32 secret, an issuer and an account).
//!
//! Properties: an accepted code is the code of the step returned, that step is
//! within one of now and after the last used one; base32 round-trips; the
//! `otpauth://` address is printable ASCII without spaces.
#![no_main]

use kabinet_domain::totp::{base32_decode, base32_encode, code_at, otpauth_uri, step_of, verify};
use libfuzzer_sys::fuzz_target;

fn field<'a>(data: &mut &'a [u8]) -> &'a [u8] {
    let Some((len, rest)) = data.split_first_chunk::<2>() else {
        return std::mem::take(data);
    };
    let len = usize::from(u16::from_le_bytes(*len)).min(rest.len());
    let (field, rest) = rest.split_at(len);
    *data = rest;
    field
}

fn int(data: &mut &[u8]) -> i64 {
    let mut bytes = [0u8; 8];
    let n = data.len().min(8);
    bytes[..n].copy_from_slice(&data[..n]);
    *data = &data[n..];
    i64::from_le_bytes(bytes)
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let secret = field(&mut data);
    let now = int(&mut data);
    let has_last = data.first().is_some_and(|b| b & 1 == 1);
    data = data.get(1..).unwrap_or(&[]);
    let last = int(&mut data);
    let last = has_last.then_some(last);
    let typed = String::from_utf8_lossy(data);

    if let Some(step) = verify(secret, &typed, now, last) {
        let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(digits.len(), 6);
        assert_eq!(code_at(secret, step), digits.parse::<u32>().unwrap());
        assert!((step - step_of(now)).abs() <= 1);
        assert!(last.is_none_or(|last| step > last));
    }

    let encoded = base32_encode(secret);
    assert_eq!(base32_decode(&encoded).as_deref(), Some(secret));
    if let Some(bytes) = base32_decode(&typed) {
        assert_eq!(base32_decode(&base32_encode(&bytes)), Some(bytes));
    }

    let (issuer, account) = typed.split_once('\n').unwrap_or((&typed, ""));
    let uri = otpauth_uri(&encoded, issuer, account);
    assert!(uri.starts_with("otpauth://totp/"));
    assert!(uri.bytes().all(|b| b.is_ascii_graphic()), "{uri:?}");
});
