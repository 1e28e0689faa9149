//! WebAuthn: registration and sign-in checks over what a browser sends, the
//! CBOR decoder and base64url.
//!
//! Input: one mode byte, then fields `[u16 LE length][bytes]` (the last one
//! takes what is left). Mode & 3:
//! - 0 registration: clientDataJSON, attestationObject, expected challenge,
//!   origin, rp id;
//! - 1 sign-in: public COSE key, stored counter (4 bytes LE), clientDataJSON,
//!   authenticatorData, signature, expected challenge, origin, rp id;
//! - 2 CBOR: the rest of the input;
//! - 3 base64url: the rest of the input as text.
//!
//! Mode & 4 asks for user verification.
//!
//! Properties: a registered credential has an id of 1..=1023 bytes and a
//! public key that is one CBOR item and is accepted back at sign-in (up to the
//! signature); a sign-in's counter grew (or both are zero); a decoded CBOR item
//! re-encoded canonically decodes to the same item; base64url round-trips and
//! accepts one text per byte string.
#![no_main]

use kabinet_domain::webauthn::{
    b64url_decode, b64url_encode, cbor, verify_assertion, verify_registration, WebauthnError,
    MAX_CREDENTIAL_ID_LEN,
};
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Canonical CBOR: shortest heads, floats as doubles.
fn encode(value: &cbor::Value, out: &mut Vec<u8>) {
    fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let major = major << 5;
        if n < 24 {
            out.push(major | n as u8);
        } else if n <= 0xff {
            out.extend([major | 24, n as u8]);
        } else if n <= 0xffff {
            out.push(major | 25);
            out.extend((n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(major | 26);
            out.extend((n as u32).to_be_bytes());
        } else {
            out.push(major | 27);
            out.extend(n.to_be_bytes());
        }
    }
    match value {
        cbor::Value::Integer(n) if *n >= 0 => head(out, 0, u64::try_from(*n).unwrap()),
        cbor::Value::Integer(n) => head(out, 1, u64::try_from(-1 - *n).unwrap()),
        cbor::Value::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend(b);
        }
        cbor::Value::Text(t) => {
            head(out, 3, t.len() as u64);
            out.extend(t.as_bytes());
        }
        cbor::Value::Array(items) => {
            head(out, 4, items.len() as u64);
            items.iter().for_each(|item| encode(item, out));
        }
        cbor::Value::Map(entries) => {
            head(out, 5, entries.len() as u64);
            for (key, value) in entries {
                encode(key, out);
                encode(value, out);
            }
        }
        cbor::Value::Tag(tag, inner) => {
            head(out, 6, *tag);
            encode(inner, out);
        }
        cbor::Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        cbor::Value::Null => out.push(0xf6),
        cbor::Value::Undefined => out.push(0xf7),
        cbor::Value::Simple(v) if *v < 24 => out.push(0xe0 | v),
        cbor::Value::Simple(v) => out.extend([0xf8, *v]),
        cbor::Value::Float(f) => {
            out.push(0xfb);
            out.extend(f.to_bits().to_be_bytes());
        }
    }
}

fn canonical(value: &cbor::Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(value, &mut out);
    out
}

fn check_cbor(bytes: &[u8]) {
    let whole = cbor::decode(bytes);
    match cbor::decode_prefix(bytes) {
        Ok((value, used)) => {
            assert!(used > 0 && used <= bytes.len());
            assert_eq!(whole.is_ok(), used == bytes.len());
            let first = canonical(&value);
            let again = cbor::decode(&first).expect("a canonical re-encoding decodes");
            assert_eq!(canonical(&again), first, "re-encoding is stable");
            let prefix = cbor::decode(&bytes[..used]).expect("the prefix alone decodes");
            assert_eq!(canonical(&prefix), first);
        }
        Err(_) => assert!(whole.is_err()),
    }
}

fn check_b64url(raw: &[u8]) {
    assert_eq!(b64url_decode(&b64url_encode(raw)).as_deref(), Some(raw));
    if let Ok(text) = std::str::from_utf8(raw) {
        if let Some(bytes) = b64url_decode(text) {
            assert_eq!(b64url_encode(&bytes), text, "one text per byte string");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut data)) = data.split_first() else {
        return;
    };
    let require_uv = mode & 4 != 0;
    match mode & 3 {
        0 => {
            let client_data = field(&mut data);
            let attestation = field(&mut data);
            let challenge = field(&mut data);
            let origin = text(field(&mut data));
            let rp_id = text(field(&mut data));
            let result = verify_registration(
                client_data,
                attestation,
                challenge,
                &origin,
                &rp_id,
                require_uv,
            );
            if let Ok(credential) = result {
                let id = credential.credential_id.len();
                assert!((1..=MAX_CREDENTIAL_ID_LEN).contains(&id), "{id}");
                assert!(cbor::decode(&credential.public_key_cose).is_ok());
                // The stored key is taken back at sign-in: anything refused
                // there is refused for the sign-in's own bytes, not the key.
                let sign_in = verify_assertion(
                    &credential.public_key_cose,
                    0,
                    client_data,
                    &[],
                    &[],
                    challenge,
                    &origin,
                    &rp_id,
                    require_uv,
                );
                assert!(
                    !matches!(
                        sign_in,
                        Err(WebauthnError::MalformedPublicKey
                            | WebauthnError::UnsupportedAlgorithm(_)
                            | WebauthnError::MalformedCbor)
                    ),
                    "{sign_in:?}"
                );
            }
        }
        1 => {
            let public_key = field(&mut data);
            let mut counter = [0u8; 4];
            let raw_counter = field(&mut data);
            let n = raw_counter.len().min(4);
            counter[..n].copy_from_slice(&raw_counter[..n]);
            let stored = u32::from_le_bytes(counter);
            let client_data = field(&mut data);
            let authenticator_data = field(&mut data);
            let signature = field(&mut data);
            let challenge = field(&mut data);
            let origin = text(field(&mut data));
            let rp_id = text(field(&mut data));
            let result = verify_assertion(
                public_key,
                stored,
                client_data,
                authenticator_data,
                signature,
                challenge,
                &origin,
                &rp_id,
                require_uv,
            );
            if let Ok(outcome) = result {
                assert!(
                    outcome.sign_count > stored || (outcome.sign_count == 0 && stored == 0),
                    "{outcome:?} after {stored}"
                );
                assert!(outcome.user_verified || !require_uv);
            }
        }
        2 => check_cbor(data),
        _ => check_b64url(data),
    }
});
