//! WebAuthn (passkeys): checking what a browser sends back from
//! `navigator.credentials.create()` (registration, W3C Web Authentication
//! Level 2 §7.1) and `navigator.credentials.get()` (sign-in, §7.2).
//!
//! The server hands in the bytes the browser sent together with the challenge
//! it issued, and gets back either the credential to store or a reason in plain
//! English. Nothing here does IO, keeps state or knows about HTTP.
//!
//! What is accepted:
//! - only ES256 (ECDSA on P-256 with SHA-256, COSE algorithm -7, EC2 key on
//!   curve 1). The server lists only that algorithm in `pubKeyCredParams`;
//!   every authenticator in use today supports it. Any other algorithm (RS256,
//!   EdDSA, ...) is refused with [`WebauthnError::UnsupportedAlgorithm`];
//! - attestation formats "none" and "packed". A packed self attestation (no
//!   certificate chain) has its signature checked against the new credential
//!   key. A packed statement with a chain (`x5c`) is accepted without
//!   verifying the chain: attestation not verified, we do not require
//!   attestation. Other formats are refused;
//! - clientDataJSON with `crossOrigin` absent or false (no embedding in
//!   another site's frame). `tokenBinding`, which browsers no longer send, is
//!   skipped like every other unknown member.
//!
//! The domain crate has no serde, so this module carries its own small
//! readers: a CBOR decoder ([`cbor`]), a reader for the flat JSON object that
//! clientDataJSON is, and base64url without padding ([`b64url_encode`],
//! [`b64url_decode`]). None of them panics on any input.

use std::fmt;

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// COSE algorithm identifier of ES256, the only algorithm accepted.
pub const COSE_ALG_ES256: i64 = -7;

/// A challenge shorter than this never matches: the specification asks for
/// at least 16 random bytes, and a short or empty expected challenge would be
/// a bug in the caller.
pub const MIN_CHALLENGE_LEN: usize = 16;

/// Longest credential id the specification allows.
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// Fixed part of authenticator data: rpIdHash (32), flags (1), signCount (4).
const AUTH_DATA_MIN_LEN: usize = 37;

/// A credential that passed registration, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredCredential {
    pub credential_id: Vec<u8>,
    /// The credential public key exactly as the authenticator encoded it
    /// (a COSE_Key in CBOR); hand it back to [`verify_assertion`].
    pub public_key_cose: Vec<u8>,
    pub sign_count: u32,
    pub user_verified: bool,
    /// The credential may be synced to other devices (a "synced passkey").
    pub backup_eligible: bool,
}

/// The result of a valid sign-in: store `sign_count` as the credential's new
/// counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssertionOutcome {
    pub sign_count: u32,
    pub user_verified: bool,
}

/// Why a registration or sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebauthnError {
    /// clientDataJSON is not a JSON object with string `type`, `challenge`
    /// and `origin` members.
    MalformedClientData,
    /// clientDataJSON `type` is not the one of this ceremony.
    WrongType {
        expected: &'static str,
    },
    ChallengeMismatch,
    OriginMismatch,
    /// clientDataJSON says `"crossOrigin": true`.
    CrossOrigin,
    /// Bytes that should be CBOR are not well-formed (or are truncated, nest
    /// too deep, have indefinite lengths or trailing bytes).
    MalformedCbor,
    /// The attestation object lacks `fmt`, `attStmt` or `authData`, or its
    /// attestation statement does not have the shape its format requires.
    MalformedAttestationObject,
    /// An attestation format other than "none" and "packed" (the name, cut to
    /// 32 characters).
    UnsupportedAttestationFormat(String),
    BadAttestationSignature,
    MalformedAuthenticatorData,
    RpIdHashMismatch,
    UserNotPresent,
    UserVerificationRequired,
    /// Registration authenticator data without attested credential data.
    MissingCredentialData,
    /// The COSE key is not an EC2 P-256 key with 32-byte coordinates of a
    /// point on the curve.
    MalformedPublicKey,
    /// A COSE algorithm other than ES256 (-7).
    UnsupportedAlgorithm(i64),
    BadSignature,
    SignCountWentBackwards {
        stored: u32,
        received: u32,
    },
}

impl WebauthnError {
    /// A stable machine-readable code, for logs and for translating the reason
    /// into the reader's language.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedClientData => "webauthn.client_data.malformed",
            Self::WrongType { .. } => "webauthn.client_data.type",
            Self::ChallengeMismatch => "webauthn.challenge",
            Self::OriginMismatch => "webauthn.origin",
            Self::CrossOrigin => "webauthn.cross_origin",
            Self::MalformedCbor => "webauthn.cbor",
            Self::MalformedAttestationObject => "webauthn.attestation.malformed",
            Self::UnsupportedAttestationFormat(_) => "webauthn.attestation.format",
            Self::BadAttestationSignature => "webauthn.attestation.signature",
            Self::MalformedAuthenticatorData => "webauthn.authenticator_data.malformed",
            Self::RpIdHashMismatch => "webauthn.rp_id",
            Self::UserNotPresent => "webauthn.user_presence",
            Self::UserVerificationRequired => "webauthn.user_verification",
            Self::MissingCredentialData => "webauthn.credential_data.missing",
            Self::MalformedPublicKey => "webauthn.public_key.malformed",
            Self::UnsupportedAlgorithm(_) => "webauthn.algorithm",
            Self::BadSignature => "webauthn.signature",
            Self::SignCountWentBackwards { .. } => "webauthn.sign_count",
        }
    }
}

impl fmt::Display for WebauthnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedClientData => f.write_str(
                "client data is not a JSON object with type, challenge and origin strings",
            ),
            Self::WrongType { expected } => write!(f, "client data type is not {expected}"),
            Self::ChallengeMismatch => f.write_str("challenge does not match"),
            Self::OriginMismatch => f.write_str("origin does not match"),
            Self::CrossOrigin => f.write_str("cross-origin requests are not accepted"),
            Self::MalformedCbor => f.write_str("malformed CBOR"),
            Self::MalformedAttestationObject => f.write_str("attestation object is malformed"),
            Self::UnsupportedAttestationFormat(fmt) => write!(
                f,
                "unsupported attestation format {fmt:?} (only none and packed are accepted)"
            ),
            Self::BadAttestationSignature => f.write_str("attestation signature is invalid"),
            Self::MalformedAuthenticatorData => f.write_str("authenticator data is malformed"),
            Self::RpIdHashMismatch => f.write_str("relying party id hash does not match"),
            Self::UserNotPresent => f.write_str("user was not present"),
            Self::UserVerificationRequired => f.write_str("user verification required"),
            Self::MissingCredentialData => {
                f.write_str("authenticator data carries no attested credential")
            }
            Self::MalformedPublicKey => f.write_str("credential public key is malformed"),
            Self::UnsupportedAlgorithm(alg) => write!(
                f,
                "unsupported algorithm (COSE {alg}); only ES256 (COSE -7) is accepted"
            ),
            Self::BadSignature => f.write_str("bad signature"),
            Self::SignCountWentBackwards { stored, received } => write!(
                f,
                "signature counter went backwards (possible cloned authenticator): \
                 stored {stored}, received {received}"
            ),
        }
    }
}

impl std::error::Error for WebauthnError {}

impl From<cbor::CborError> for WebauthnError {
    fn from(_: cbor::CborError) -> Self {
        Self::MalformedCbor
    }
}

/// Checks a registration (§7.1) and returns the credential to store.
///
/// `client_data_json` and `attestation_object` are the raw bytes of
/// `response.clientDataJSON` and `response.attestationObject`;
/// `expected_challenge` the bytes the server issued for this ceremony;
/// `expected_origin` e.g. `https://kabinet.example.com`; `rp_id` the
/// relying party id given to the browser (e.g. `kabinet.example.com`).
pub fn verify_registration(
    client_data_json: &[u8],
    attestation_object: &[u8],
    expected_challenge: &[u8],
    expected_origin: &str,
    rp_id: &str,
    require_user_verification: bool,
) -> Result<RegisteredCredential, WebauthnError> {
    check_client_data(
        client_data_json,
        "webauthn.create",
        expected_challenge,
        expected_origin,
    )?;
    let client_data_hash = Sha256::digest(client_data_json);

    let object = cbor::decode(attestation_object)?;
    let fmt = object
        .get_text_key("fmt")
        .and_then(cbor::Value::as_text)
        .ok_or(WebauthnError::MalformedAttestationObject)?;
    let statement = object
        .get_text_key("attStmt")
        .and_then(cbor::Value::as_map)
        .ok_or(WebauthnError::MalformedAttestationObject)?;
    let auth_data_bytes = object
        .get_text_key("authData")
        .and_then(cbor::Value::as_bytes)
        .ok_or(WebauthnError::MalformedAttestationObject)?;

    let auth_data = AuthenticatorData::parse(auth_data_bytes)?;
    auth_data.check(rp_id, require_user_verification)?;
    let attested = auth_data
        .attested
        .ok_or(WebauthnError::MissingCredentialData)?;
    let key = es256_key_from_cose(attested.public_key_cose)?;

    match fmt {
        "none" => {
            if !statement.is_empty() {
                return Err(WebauthnError::MalformedAttestationObject);
            }
        }
        "packed" => check_packed_statement(statement, &key, auth_data_bytes, &client_data_hash)?,
        other => {
            return Err(WebauthnError::UnsupportedAttestationFormat(
                other.chars().take(32).collect(),
            ))
        }
    }

    Ok(RegisteredCredential {
        credential_id: attested.credential_id.to_vec(),
        public_key_cose: attested.public_key_cose.to_vec(),
        sign_count: auth_data.sign_count,
        user_verified: auth_data.flags & FLAG_UV != 0,
        backup_eligible: auth_data.flags & FLAG_BE != 0,
    })
}

/// Checks a sign-in (§7.2) with a credential stored at registration.
///
/// `client_data_json`, `authenticator_data` and `signature` are the raw bytes
/// of the corresponding `response` members; `stored_sign_count` is the
/// counter kept for the credential. The caller has already looked the
/// credential up by its id (and checked `userHandle` where it matters).
#[allow(clippy::too_many_arguments)]
pub fn verify_assertion(
    public_key_cose: &[u8],
    stored_sign_count: u32,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    expected_challenge: &[u8],
    expected_origin: &str,
    rp_id: &str,
    require_user_verification: bool,
) -> Result<AssertionOutcome, WebauthnError> {
    let key = es256_key_from_cose(public_key_cose)?;
    check_client_data(
        client_data_json,
        "webauthn.get",
        expected_challenge,
        expected_origin,
    )?;
    let auth_data = AuthenticatorData::parse(authenticator_data)?;
    auth_data.check(rp_id, require_user_verification)?;

    let client_data_hash = Sha256::digest(client_data_json);
    if !es256_verify(&key, authenticator_data, &client_data_hash, signature) {
        return Err(WebauthnError::BadSignature);
    }

    // §7.2 step 21: when either counter is in use, it must grow.
    let received = auth_data.sign_count;
    if (received != 0 || stored_sign_count != 0) && received <= stored_sign_count {
        return Err(WebauthnError::SignCountWentBackwards {
            stored: stored_sign_count,
            received,
        });
    }

    Ok(AssertionOutcome {
        sign_count: received,
        user_verified: auth_data.flags & FLAG_UV != 0,
    })
}

// ---------------------------------------------------------------------------
// Client data

fn check_client_data(
    client_data_json: &[u8],
    expected_type: &'static str,
    expected_challenge: &[u8],
    expected_origin: &str,
) -> Result<(), WebauthnError> {
    let members =
        json::parse_flat_object(client_data_json).ok_or(WebauthnError::MalformedClientData)?;
    let member = |name: &str| {
        members
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    };
    let text = |name: &str| match member(name) {
        Some(json::Value::Str(s)) => Ok(s.as_str()),
        _ => Err(WebauthnError::MalformedClientData),
    };

    if text("type")? != expected_type {
        return Err(WebauthnError::WrongType {
            expected: expected_type,
        });
    }
    let challenge = b64url_decode(text("challenge")?);
    if expected_challenge.len() < MIN_CHALLENGE_LEN
        || challenge.as_deref() != Some(expected_challenge)
    {
        return Err(WebauthnError::ChallengeMismatch);
    }
    if text("origin")? != expected_origin {
        return Err(WebauthnError::OriginMismatch);
    }
    match member("crossOrigin") {
        None | Some(json::Value::Bool(false)) => Ok(()),
        Some(json::Value::Bool(true)) => Err(WebauthnError::CrossOrigin),
        Some(_) => Err(WebauthnError::MalformedClientData),
    }
}

// ---------------------------------------------------------------------------
// Authenticator data

struct AttestedCredential<'a> {
    credential_id: &'a [u8],
    public_key_cose: &'a [u8],
}

struct AuthenticatorData<'a> {
    rp_id_hash: &'a [u8],
    flags: u8,
    sign_count: u32,
    attested: Option<AttestedCredential<'a>>,
}

impl<'a> AuthenticatorData<'a> {
    /// Splits authenticator data (§6.1): rpIdHash, flags, signCount, then
    /// attested credential data when AT is set and an extensions map when ED
    /// is set; nothing may follow.
    fn parse(data: &'a [u8]) -> Result<Self, WebauthnError> {
        use WebauthnError::MalformedAuthenticatorData as Malformed;
        if data.len() < AUTH_DATA_MIN_LEN {
            return Err(Malformed);
        }
        let (rp_id_hash, rest) = data.split_at(32);
        let flags = rest[0];
        let sign_count = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
        let mut rest = &rest[5..];
        if flags & FLAG_BS != 0 && flags & FLAG_BE == 0 {
            // Backed up but not eligible for backup cannot happen.
            return Err(Malformed);
        }

        let attested = if flags & FLAG_AT != 0 {
            // aaguid (16 bytes), credentialIdLength (u16 BE), credentialId,
            // credentialPublicKey (CBOR).
            if rest.len() < 18 {
                return Err(Malformed);
            }
            let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN || rest.len() < id_len {
                return Err(Malformed);
            }
            let (credential_id, after_id) = rest.split_at(id_len);
            let (_, key_len) = cbor::decode_prefix(after_id)?;
            let (public_key_cose, after_key) = after_id.split_at(key_len);
            rest = after_key;
            Some(AttestedCredential {
                credential_id,
                public_key_cose,
            })
        } else {
            None
        };

        if flags & FLAG_ED != 0 {
            if cbor::decode(rest)?.as_map().is_none() {
                return Err(Malformed);
            }
            rest = &[];
        }
        if !rest.is_empty() {
            return Err(Malformed);
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    fn check(&self, rp_id: &str, require_user_verification: bool) -> Result<(), WebauthnError> {
        if self.rp_id_hash != Sha256::digest(rp_id.as_bytes()).as_slice() {
            return Err(WebauthnError::RpIdHashMismatch);
        }
        if self.flags & FLAG_UP == 0 {
            return Err(WebauthnError::UserNotPresent);
        }
        if require_user_verification && self.flags & FLAG_UV == 0 {
            return Err(WebauthnError::UserVerificationRequired);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Keys, signatures, attestation

/// Reads a COSE_Key (RFC 9053 §7.1): kty 2 (EC2), alg -7, crv 1 (P-256), x and
/// y of 32 bytes each, a point on the curve. Other members are ignored.
fn es256_key_from_cose(cose: &[u8]) -> Result<VerifyingKey, WebauthnError> {
    use WebauthnError::MalformedPublicKey as Malformed;
    let key = cbor::decode(cose)?;
    key.as_map().ok_or(Malformed)?;
    let label = |n: i128| key.get(&cbor::Value::Integer(n));
    let alg = label(3)
        .and_then(cbor::Value::as_integer)
        .ok_or(Malformed)?;
    if alg != i128::from(COSE_ALG_ES256) {
        let alg = i64::try_from(alg).unwrap_or(if alg < 0 { i64::MIN } else { i64::MAX });
        return Err(WebauthnError::UnsupportedAlgorithm(alg));
    }
    if label(1).and_then(cbor::Value::as_integer) != Some(2)
        || label(-1).and_then(cbor::Value::as_integer) != Some(1)
    {
        return Err(Malformed);
    }
    let coordinate = |n: i128| {
        label(n)
            .and_then(cbor::Value::as_bytes)
            .filter(|c| c.len() == 32)
            .ok_or(Malformed)
    };
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04; // uncompressed point
    sec1[1..33].copy_from_slice(coordinate(-2)?);
    sec1[33..].copy_from_slice(coordinate(-3)?);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| Malformed)
}

/// An ES256 signature (ASN.1 DER) over `auth_data || client_data_hash`.
fn es256_verify(key: &VerifyingKey, auth_data: &[u8], client_data_hash: &[u8], der: &[u8]) -> bool {
    let Ok(signature) = Signature::from_der(der) else {
        return false;
    };
    let mut message = Vec::with_capacity(auth_data.len() + client_data_hash.len());
    message.extend_from_slice(auth_data);
    message.extend_from_slice(client_data_hash);
    key.verify(&message, &signature).is_ok()
}

/// Packed attestation (§8.2): `{alg, sig}` for self attestation, `{alg, sig,
/// x5c}` with a certificate chain.
fn check_packed_statement(
    statement: &[(cbor::Value, cbor::Value)],
    credential_key: &VerifyingKey,
    auth_data: &[u8],
    client_data_hash: &[u8],
) -> Result<(), WebauthnError> {
    use WebauthnError::MalformedAttestationObject as Malformed;
    let member = |name: &str| {
        statement
            .iter()
            .find(|(key, _)| key.as_text() == Some(name))
            .map(|(_, value)| value)
    };
    let alg = member("alg")
        .and_then(cbor::Value::as_integer)
        .ok_or(Malformed)?;
    let sig = member("sig")
        .and_then(cbor::Value::as_bytes)
        .ok_or(Malformed)?;
    match member("x5c") {
        Some(chain) => {
            let certificates = chain.as_array().ok_or(Malformed)?;
            if certificates.is_empty() || certificates.iter().any(|c| c.as_bytes().is_none()) {
                return Err(Malformed);
            }
            // Attestation not verified: we do not require attestation, so the
            // chain and the signature made with its leaf are not checked.
            Ok(())
        }
        None => {
            // Self attestation: signed with the credential key itself, whose
            // algorithm `alg` must name.
            if alg != i128::from(COSE_ALG_ES256) {
                return Err(Malformed);
            }
            if es256_verify(credential_key, auth_data, client_data_hash, sig) {
                Ok(())
            } else {
                Err(WebauthnError::BadAttestationSignature)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// base64url

const B64URL_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url (RFC 4648 §5) without padding, as WebAuthn uses it.
pub fn b64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut group = [0u8; 3];
        group[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
        for i in 0..=chunk.len() {
            let index = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(B64URL_ALPHABET[index as usize]));
        }
    }
    out
}

/// Decodes base64url without padding. Strict: `=`, whitespace, the `+` and `/`
/// of plain base64, an impossible length and non-zero unused bits are all
/// refused, so every byte string has exactly one accepted text.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    let input = text.as_bytes();
    if input.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    for chunk in input.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= b64url_value(c)? << (18 - 6 * i);
        }
        let len = chunk.len() - 1; // 2, 3 or 4 characters carry 1, 2 or 3 bytes
        let unused_bits = (1u32 << (24 - 8 * len)) - 1;
        if n & unused_bits != 0 {
            return None;
        }
        out.extend_from_slice(&n.to_be_bytes()[1..=len]);
    }
    Some(out)
}

fn b64url_value(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

// ---------------------------------------------------------------------------
// CBOR

/// A small CBOR decoder (RFC 8949), enough for attestation objects and COSE
/// keys.
///
/// All major types are read; definite lengths only. Refused as malformed:
/// indefinite lengths, reserved additional information, truncated input,
/// invalid UTF-8 in text, nesting deeper than [`MAX_DEPTH`], more than
/// [`MAX_ITEMS`] entries in one array or map, a map with a key twice, and
/// (for [`decode`]) bytes after the item. Never panics; allocation is bounded
/// by the input length.
pub mod cbor {
    use std::fmt;

    /// Deepest nesting of arrays, maps and tags accepted (the top item is
    /// depth 0).
    pub const MAX_DEPTH: usize = 16;
    /// Most entries accepted in one array or map.
    pub const MAX_ITEMS: u64 = 256;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        /// Major types 0 and 1: unsigned and negative integers, -2^64..2^64.
        Integer(i128),
        Bytes(Vec<u8>),
        Text(String),
        Array(Vec<Value>),
        /// Entries in the order they appear; keys are distinct.
        Map(Vec<(Value, Value)>),
        Tag(u64, Box<Value>),
        Bool(bool),
        Null,
        Undefined,
        /// Unassigned simple values (0..=19 and 32..=255).
        Simple(u8),
        /// Half, single and double precision floats.
        Float(f64),
    }

    impl Value {
        pub fn as_integer(&self) -> Option<i128> {
            match self {
                Self::Integer(n) => Some(*n),
                _ => None,
            }
        }

        pub fn as_bytes(&self) -> Option<&[u8]> {
            match self {
                Self::Bytes(b) => Some(b),
                _ => None,
            }
        }

        pub fn as_text(&self) -> Option<&str> {
            match self {
                Self::Text(s) => Some(s),
                _ => None,
            }
        }

        pub fn as_array(&self) -> Option<&[Value]> {
            match self {
                Self::Array(items) => Some(items),
                _ => None,
            }
        }

        pub fn as_map(&self) -> Option<&[(Value, Value)]> {
            match self {
                Self::Map(entries) => Some(entries),
                _ => None,
            }
        }

        /// The value under `key` when this is a map.
        pub fn get(&self, key: &Value) -> Option<&Value> {
            self.as_map()?
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }

        /// The value under a text key when this is a map.
        pub fn get_text_key(&self, key: &str) -> Option<&Value> {
            self.as_map()?
                .iter()
                .find(|(k, _)| k.as_text() == Some(key))
                .map(|(_, v)| v)
        }
    }

    /// The input is not one well-formed CBOR item within the limits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct CborError;

    impl fmt::Display for CborError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("malformed CBOR")
        }
    }

    impl std::error::Error for CborError {}

    /// Decodes exactly one item that fills the whole input.
    pub fn decode(input: &[u8]) -> Result<Value, CborError> {
        let (value, used) = decode_prefix(input)?;
        if used == input.len() {
            Ok(value)
        } else {
            Err(CborError)
        }
    }

    /// Decodes one item from the start of the input and tells how many bytes
    /// it took; what follows is left alone.
    pub fn decode_prefix(input: &[u8]) -> Result<(Value, usize), CborError> {
        let mut reader = Reader { input, pos: 0 };
        let value = reader.item(0)?;
        Ok((value, reader.pos))
    }

    struct Reader<'a> {
        input: &'a [u8],
        pos: usize,
    }

    impl<'a> Reader<'a> {
        fn take(&mut self, len: u64) -> Result<&'a [u8], CborError> {
            let len = usize::try_from(len).map_err(|_| CborError)?;
            let end = self.pos.checked_add(len).ok_or(CborError)?;
            let bytes = self.input.get(self.pos..end).ok_or(CborError)?;
            self.pos = end;
            Ok(bytes)
        }

        fn take_array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
            let mut out = [0u8; N];
            out.copy_from_slice(self.take(N as u64)?);
            Ok(out)
        }

        /// The argument of an item head (RFC 8949 §3).
        fn argument(&mut self, info: u8) -> Result<u64, CborError> {
            match info {
                0..=23 => Ok(u64::from(info)),
                24 => Ok(u64::from(self.take_array::<1>()?[0])),
                25 => Ok(u64::from(u16::from_be_bytes(self.take_array()?))),
                26 => Ok(u64::from(u32::from_be_bytes(self.take_array()?))),
                27 => Ok(u64::from_be_bytes(self.take_array()?)),
                // 28..=30 reserved, 31 indefinite length.
                _ => Err(CborError),
            }
        }

        /// Refuses a count over the limit or one the remaining input cannot
        /// hold (each entry takes at least `bytes_each` bytes).
        fn check_count(&self, count: u64, bytes_each: u64) -> Result<usize, CborError> {
            let remaining = (self.input.len() - self.pos) as u64;
            if count > MAX_ITEMS || count.saturating_mul(bytes_each) > remaining {
                return Err(CborError);
            }
            usize::try_from(count).map_err(|_| CborError)
        }

        fn item(&mut self, depth: usize) -> Result<Value, CborError> {
            if depth > MAX_DEPTH {
                return Err(CborError);
            }
            let head = self.take_array::<1>()?[0];
            let (major, info) = (head >> 5, head & 0x1f);
            if major == 7 {
                return self.simple_or_float(info);
            }
            let argument = self.argument(info)?;
            Ok(match major {
                0 => Value::Integer(i128::from(argument)),
                1 => Value::Integer(-1 - i128::from(argument)),
                2 => Value::Bytes(self.take(argument)?.to_vec()),
                3 => {
                    let text = std::str::from_utf8(self.take(argument)?).map_err(|_| CborError)?;
                    Value::Text(text.to_owned())
                }
                4 => {
                    let count = self.check_count(argument, 1)?;
                    let mut items = Vec::with_capacity(count);
                    for _ in 0..count {
                        items.push(self.item(depth + 1)?);
                    }
                    Value::Array(items)
                }
                5 => {
                    let count = self.check_count(argument, 2)?;
                    let mut entries: Vec<(Value, Value)> = Vec::with_capacity(count);
                    for _ in 0..count {
                        let key = self.item(depth + 1)?;
                        if entries.iter().any(|(k, _)| *k == key) {
                            return Err(CborError);
                        }
                        let value = self.item(depth + 1)?;
                        entries.push((key, value));
                    }
                    Value::Map(entries)
                }
                _ => Value::Tag(argument, Box::new(self.item(depth + 1)?)),
            })
        }

        fn simple_or_float(&mut self, info: u8) -> Result<Value, CborError> {
            Ok(match info {
                0..=19 => Value::Simple(info),
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                23 => Value::Undefined,
                24 => {
                    let value = self.take_array::<1>()?[0];
                    // Values below 32 must use the one-byte form.
                    if value < 32 {
                        return Err(CborError);
                    }
                    Value::Simple(value)
                }
                25 => Value::Float(half_to_f64(u16::from_be_bytes(self.take_array()?))),
                26 => Value::Float(f64::from(f32::from_be_bytes(self.take_array()?))),
                27 => Value::Float(f64::from_be_bytes(self.take_array()?)),
                // 28..=30 reserved, 31 "break" outside an indefinite item.
                _ => return Err(CborError),
            })
        }
    }

    fn half_to_f64(bits: u16) -> f64 {
        let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
        let exponent = i32::from((bits >> 10) & 0x1f);
        let mantissa = f64::from(bits & 0x3ff);
        let magnitude = match exponent {
            0 => mantissa * 2f64.powi(-24),
            31 if mantissa == 0.0 => f64::INFINITY,
            31 => f64::NAN,
            _ => (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15),
        };
        sign * magnitude
    }
}

// ---------------------------------------------------------------------------
// JSON

/// A reader for the one JSON shape WebAuthn needs: a top-level object whose
/// string and boolean members are kept. Every other member value (numbers,
/// null, nested objects and arrays such as `tokenBinding`) is checked to be
/// well-formed JSON and skipped. Strict RFC 8259: no trailing commas,
/// comments or trailing bytes; a top-level key twice is refused.
mod json {
    /// Deepest nesting of skipped values.
    const MAX_DEPTH: usize = 32;
    /// Most top-level members.
    const MAX_MEMBERS: usize = 64;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Value {
        Str(String),
        Bool(bool),
        /// A number, null, object or array, not kept.
        Other,
    }

    pub fn parse_flat_object(input: &[u8]) -> Option<Vec<(String, Value)>> {
        let text = std::str::from_utf8(input).ok()?;
        // UTF-8 decoding as the specification asks drops a byte order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = Reader {
            input: text.as_bytes(),
            pos: 0,
        };
        reader.whitespace();
        reader.expect(b'{')?;
        let mut members: Vec<(String, Value)> = Vec::new();
        reader.whitespace();
        if !reader.eat(b'}') {
            loop {
                reader.whitespace();
                let key = reader.string()?;
                reader.whitespace();
                reader.expect(b':')?;
                reader.whitespace();
                let value = match reader.peek()? {
                    b'"' => Value::Str(reader.string()?),
                    b't' => {
                        reader.literal(b"true")?;
                        Value::Bool(true)
                    }
                    b'f' => {
                        reader.literal(b"false")?;
                        Value::Bool(false)
                    }
                    _ => {
                        reader.skip_value(1)?;
                        Value::Other
                    }
                };
                if members.len() >= MAX_MEMBERS || members.iter().any(|(k, _)| *k == key) {
                    return None;
                }
                members.push((key, value));
                reader.whitespace();
                if reader.eat(b',') {
                    continue;
                }
                reader.expect(b'}')?;
                break;
            }
        }
        reader.whitespace();
        (reader.pos == reader.input.len()).then_some(members)
    }

    struct Reader<'a> {
        input: &'a [u8],
        pos: usize,
    }

    impl Reader<'_> {
        fn peek(&self) -> Option<u8> {
            self.input.get(self.pos).copied()
        }

        fn next(&mut self) -> Option<u8> {
            let byte = self.peek()?;
            self.pos += 1;
            Some(byte)
        }

        fn eat(&mut self, byte: u8) -> bool {
            if self.peek() == Some(byte) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn expect(&mut self, byte: u8) -> Option<()> {
            self.eat(byte).then_some(())
        }

        fn literal(&mut self, word: &[u8]) -> Option<()> {
            let end = self.pos.checked_add(word.len())?;
            if self.input.get(self.pos..end)? != word {
                return None;
            }
            self.pos = end;
            Some(())
        }

        fn whitespace(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.pos += 1;
            }
        }

        /// A string with its escapes resolved. The input is valid UTF-8 and
        /// the reader only stops at ASCII bytes, so copied runs stay whole
        /// characters.
        fn string(&mut self) -> Option<String> {
            self.expect(b'"')?;
            let mut out = Vec::new();
            loop {
                match self.next()? {
                    b'"' => return String::from_utf8(out).ok(),
                    b'\\' => {
                        let c = match self.next()? {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => self.unicode_escape()?,
                            _ => return None,
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                    byte if byte < 0x20 => return None,
                    byte => out.push(byte),
                }
            }
        }

        /// After `\u`: four hex digits, and for a high surrogate the `\uXXXX`
        /// low surrogate that must follow. A lone surrogate is refused.
        fn unicode_escape(&mut self) -> Option<char> {
            let first = self.hex4()?;
            match first {
                0xD800..=0xDBFF => {
                    self.literal(b"\\u")?;
                    let second = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&second) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
                }
                0xDC00..=0xDFFF => None,
                _ => char::from_u32(first),
            }
        }

        fn hex4(&mut self) -> Option<u32> {
            let mut value = 0;
            for _ in 0..4 {
                value = value * 16 + char::from(self.next()?).to_digit(16)?;
            }
            Some(value)
        }

        fn skip_value(&mut self, depth: usize) -> Option<()> {
            if depth > MAX_DEPTH {
                return None;
            }
            match self.peek()? {
                b'"' => self.string().map(drop),
                b't' => self.literal(b"true"),
                b'f' => self.literal(b"false"),
                b'n' => self.literal(b"null"),
                b'-' | b'0'..=b'9' => self.number(),
                b'{' => {
                    self.pos += 1;
                    self.whitespace();
                    if self.eat(b'}') {
                        return Some(());
                    }
                    loop {
                        self.whitespace();
                        self.string()?;
                        self.whitespace();
                        self.expect(b':')?;
                        self.whitespace();
                        self.skip_value(depth + 1)?;
                        self.whitespace();
                        if !self.eat(b',') {
                            return self.expect(b'}');
                        }
                    }
                }
                b'[' => {
                    self.pos += 1;
                    self.whitespace();
                    if self.eat(b']') {
                        return Some(());
                    }
                    loop {
                        self.whitespace();
                        self.skip_value(depth + 1)?;
                        self.whitespace();
                        if !self.eat(b',') {
                            return self.expect(b']');
                        }
                    }
                }
                _ => None,
            }
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        fn number(&mut self) -> Option<()> {
            self.eat(b'-');
            match self.next()? {
                b'0' => {}
                b'1'..=b'9' => self.digits(),
                _ => return None,
            }
            if self.eat(b'.') {
                self.digit()?;
                self.digits();
            }
            if self.eat(b'e') || self.eat(b'E') {
                if !self.eat(b'+') {
                    self.eat(b'-');
                }
                self.digit()?;
                self.digits();
            }
            Some(())
        }

        fn digit(&mut self) -> Option<()> {
            self.next().filter(u8::is_ascii_digit).map(drop)
        }

        fn digits(&mut self) {
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;
    use proptest::prelude::*;

    const RP_ID: &str = "kabinet.example";
    const ORIGIN: &str = "https://kabinet.example";
    const CHALLENGE: &[u8] = b"0123456789abcdef-registration-challenge";
    const LOGIN_CHALLENGE: &[u8] = b"fedcba9876543210-sign-in-challenge";
    const CREDENTIAL_ID: &[u8] = b"credential-0001";

    /// A small CBOR encoder, to build what an authenticator would send.
    mod enc {
        pub fn head(major: u8, n: u64) -> Vec<u8> {
            let major = major << 5;
            match n {
                0..=23 => vec![major | n as u8],
                24..=0xff => vec![major | 24, n as u8],
                0x100..=0xffff => {
                    let mut v = vec![major | 25];
                    v.extend_from_slice(&(n as u16).to_be_bytes());
                    v
                }
                0x1_0000..=0xffff_ffff => {
                    let mut v = vec![major | 26];
                    v.extend_from_slice(&(n as u32).to_be_bytes());
                    v
                }
                _ => {
                    let mut v = vec![major | 27];
                    v.extend_from_slice(&n.to_be_bytes());
                    v
                }
            }
        }

        pub fn int(n: i64) -> Vec<u8> {
            if n >= 0 {
                head(0, n as u64)
            } else {
                head(1, (-1 - n) as u64)
            }
        }

        pub fn bytes(b: &[u8]) -> Vec<u8> {
            let mut v = head(2, b.len() as u64);
            v.extend_from_slice(b);
            v
        }

        pub fn text(s: &str) -> Vec<u8> {
            let mut v = head(3, s.len() as u64);
            v.extend_from_slice(s.as_bytes());
            v
        }

        pub fn array(items: &[Vec<u8>]) -> Vec<u8> {
            let mut v = head(4, items.len() as u64);
            for item in items {
                v.extend_from_slice(item);
            }
            v
        }

        pub fn bool_true() -> Vec<u8> {
            vec![0xf5]
        }

        pub fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
            let mut v = head(5, entries.len() as u64);
            for (key, value) in entries {
                v.extend_from_slice(key);
                v.extend_from_slice(value);
            }
            v
        }
    }

    fn signing_key() -> SigningKey {
        SigningKey::from_slice(&[0x42; 32]).unwrap()
    }

    fn other_key() -> SigningKey {
        SigningKey::from_slice(&[0x17; 32]).unwrap()
    }

    fn cose_key_with_alg(key: &SigningKey, alg: i64) -> Vec<u8> {
        let point = key.verifying_key().to_encoded_point(false);
        enc::map(&[
            (enc::int(1), enc::int(2)),
            (enc::int(3), enc::int(alg)),
            (enc::int(-1), enc::int(1)),
            (enc::int(-2), enc::bytes(point.x().unwrap())),
            (enc::int(-3), enc::bytes(point.y().unwrap())),
        ])
    }

    fn cose_key(key: &SigningKey) -> Vec<u8> {
        cose_key_with_alg(key, COSE_ALG_ES256)
    }

    fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
            b64url_encode(challenge)
        )
        .into_bytes()
    }

    fn auth_data(rp_id: &str, flags: u8, count: u32, attested: Option<&[u8]>) -> Vec<u8> {
        let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&count.to_be_bytes());
        if let Some(cose) = attested {
            data.extend_from_slice(&[0xAA; 16]); // aaguid
            data.extend_from_slice(&(CREDENTIAL_ID.len() as u16).to_be_bytes());
            data.extend_from_slice(CREDENTIAL_ID);
            data.extend_from_slice(cose);
        }
        data
    }

    fn sign(key: &SigningKey, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
        let mut message = auth_data.to_vec();
        message.extend_from_slice(&Sha256::digest(client_data));
        let signature: Signature = key.sign(&message);
        signature.to_der().as_bytes().to_vec()
    }

    fn attestation_object(fmt: &str, statement: Vec<u8>, auth_data: &[u8]) -> Vec<u8> {
        enc::map(&[
            (enc::text("fmt"), enc::text(fmt)),
            (enc::text("attStmt"), statement),
            (enc::text("authData"), enc::bytes(auth_data)),
        ])
    }

    fn none_attestation(auth_data: &[u8]) -> Vec<u8> {
        attestation_object("none", enc::map(&[]), auth_data)
    }

    fn registration_auth_data(flags: u8) -> Vec<u8> {
        auth_data(RP_ID, flags, 0, Some(&cose_key(&signing_key())))
    }

    fn register(
        client_data: &[u8],
        attestation: &[u8],
    ) -> Result<RegisteredCredential, WebauthnError> {
        verify_registration(client_data, attestation, CHALLENGE, ORIGIN, RP_ID, true)
    }

    fn good_create() -> Vec<u8> {
        client_data("webauthn.create", CHALLENGE, ORIGIN)
    }

    fn good_get() -> Vec<u8> {
        client_data("webauthn.get", LOGIN_CHALLENGE, ORIGIN)
    }

    /// A sign-in with the given pieces, stored counter `stored`, user
    /// verification required.
    fn sign_in(
        stored: u32,
        client_data: &[u8],
        auth: &[u8],
        sig: &[u8],
    ) -> Result<AssertionOutcome, WebauthnError> {
        verify_assertion(
            &cose_key(&signing_key()),
            stored,
            client_data,
            auth,
            sig,
            LOGIN_CHALLENGE,
            ORIGIN,
            RP_ID,
            true,
        )
    }

    /// A sign-in signed by the credential's key over the given pieces.
    fn signed_sign_in(
        stored: u32,
        client_data: &[u8],
        auth: &[u8],
    ) -> Result<AssertionOutcome, WebauthnError> {
        sign_in(
            stored,
            client_data,
            auth,
            &sign(&signing_key(), auth, client_data),
        )
    }

    const UP_UV: u8 = FLAG_UP | FLAG_UV;

    // --- registration ------------------------------------------------------

    #[test]
    fn a_valid_registration_passes() {
        let auth = registration_auth_data(UP_UV | FLAG_AT | FLAG_BE | FLAG_BS);
        let credential = register(&good_create(), &none_attestation(&auth)).unwrap();
        assert_eq!(credential.credential_id, CREDENTIAL_ID);
        assert_eq!(credential.public_key_cose, cose_key(&signing_key()));
        assert_eq!(credential.sign_count, 0);
        assert!(credential.user_verified);
        assert!(credential.backup_eligible);

        // Without UV and BE, and UV not required.
        let auth = registration_auth_data(FLAG_UP | FLAG_AT);
        let credential = verify_registration(
            &good_create(),
            &none_attestation(&auth),
            CHALLENGE,
            ORIGIN,
            RP_ID,
            false,
        )
        .unwrap();
        assert!(!credential.user_verified);
        assert!(!credential.backup_eligible);
    }

    #[test]
    fn the_stored_key_works_for_sign_in() {
        let auth = registration_auth_data(UP_UV | FLAG_AT);
        let credential = register(&good_create(), &none_attestation(&auth)).unwrap();
        let login = auth_data(RP_ID, UP_UV, 0, None);
        let cd = good_get();
        let outcome = verify_assertion(
            &credential.public_key_cose,
            credential.sign_count,
            &cd,
            &login,
            &sign(&signing_key(), &login, &cd),
            LOGIN_CHALLENGE,
            ORIGIN,
            RP_ID,
            true,
        );
        assert_eq!(
            outcome,
            Ok(AssertionOutcome {
                sign_count: 0,
                user_verified: true
            })
        );
    }

    #[test]
    fn packed_self_attestation_is_checked() {
        let auth = registration_auth_data(UP_UV | FLAG_AT);
        let cd = good_create();
        let statement = |alg: i64, sig: Vec<u8>| {
            enc::map(&[
                (enc::text("alg"), enc::int(alg)),
                (enc::text("sig"), enc::bytes(&sig)),
            ])
        };
        let good = sign(&signing_key(), &auth, &cd);
        assert!(register(
            &cd,
            &attestation_object("packed", statement(-7, good.clone()), &auth)
        )
        .is_ok());

        // Signed by another key, or over other data.
        let foreign = sign(&other_key(), &auth, &cd);
        assert_eq!(
            register(
                &cd,
                &attestation_object("packed", statement(-7, foreign), &auth)
            ),
            Err(WebauthnError::BadAttestationSignature)
        );
        let other_data = sign(&signing_key(), &auth, b"other client data");
        assert_eq!(
            register(
                &cd,
                &attestation_object("packed", statement(-7, other_data), &auth)
            ),
            Err(WebauthnError::BadAttestationSignature)
        );
        // Not DER at all.
        assert_eq!(
            register(
                &cd,
                &attestation_object("packed", statement(-7, vec![1, 2, 3]), &auth)
            ),
            Err(WebauthnError::BadAttestationSignature)
        );
        // alg must be the credential key's.
        assert_eq!(
            register(
                &cd,
                &attestation_object("packed", statement(-257, good.clone()), &auth)
            ),
            Err(WebauthnError::MalformedAttestationObject)
        );
        // sig missing.
        let no_sig = enc::map(&[(enc::text("alg"), enc::int(-7))]);
        assert_eq!(
            register(&cd, &attestation_object("packed", no_sig, &auth)),
            Err(WebauthnError::MalformedAttestationObject)
        );
    }

    #[test]
    fn packed_attestation_with_a_chain_is_accepted_unverified() {
        let auth = registration_auth_data(UP_UV | FLAG_AT);
        let cd = good_create();
        let with_chain = |x5c: Vec<u8>| {
            enc::map(&[
                (enc::text("alg"), enc::int(-7)),
                (
                    enc::text("sig"),
                    enc::bytes(b"signature by the attestation key"),
                ),
                (enc::text("x5c"), x5c),
            ])
        };
        let chain = enc::array(&[enc::bytes(b"leaf certificate"), enc::bytes(b"intermediate")]);
        assert!(register(&cd, &attestation_object("packed", with_chain(chain), &auth)).is_ok());
        for bad in [
            enc::array(&[]),
            enc::array(&[enc::int(1)]),
            enc::bytes(b"cert"),
        ] {
            assert_eq!(
                register(&cd, &attestation_object("packed", with_chain(bad), &auth)),
                Err(WebauthnError::MalformedAttestationObject)
            );
        }
    }

    #[test]
    fn other_attestation_formats_are_refused() {
        let auth = registration_auth_data(UP_UV | FLAG_AT);
        for fmt in ["fido-u2f", "tpm", "android-key", "apple"] {
            let result = register(
                &good_create(),
                &attestation_object(fmt, enc::map(&[]), &auth),
            );
            assert_eq!(
                result,
                Err(WebauthnError::UnsupportedAttestationFormat(fmt.into()))
            );
        }
        let long = "x".repeat(100);
        let result = register(
            &good_create(),
            &attestation_object(&long, enc::map(&[]), &auth),
        );
        assert_eq!(
            result,
            Err(WebauthnError::UnsupportedAttestationFormat("x".repeat(32)))
        );
        // "none" with a non-empty statement.
        let statement = enc::map(&[(enc::text("sig"), enc::bytes(b"x"))]);
        assert_eq!(
            register(
                &good_create(),
                &attestation_object("none", statement, &auth)
            ),
            Err(WebauthnError::MalformedAttestationObject)
        );
    }

    #[test]
    fn attestation_object_needs_its_three_members() {
        let auth = registration_auth_data(UP_UV | FLAG_AT);
        let objects = [
            enc::map(&[
                (enc::text("attStmt"), enc::map(&[])),
                (enc::text("authData"), enc::bytes(&auth)),
            ]),
            enc::map(&[
                (enc::text("fmt"), enc::text("none")),
                (enc::text("authData"), enc::bytes(&auth)),
            ]),
            enc::map(&[
                (enc::text("fmt"), enc::text("none")),
                (enc::text("attStmt"), enc::map(&[])),
            ]),
            // authData as text, fmt as bytes.
            enc::map(&[
                (enc::text("fmt"), enc::text("none")),
                (enc::text("attStmt"), enc::map(&[])),
                (enc::text("authData"), enc::text("data")),
            ]),
            enc::map(&[
                (enc::text("fmt"), enc::bytes(b"none")),
                (enc::text("attStmt"), enc::map(&[])),
                (enc::text("authData"), enc::bytes(&auth)),
            ]),
            enc::array(&[enc::text("none")]),
        ];
        for object in objects {
            assert_eq!(
                register(&good_create(), &object),
                Err(WebauthnError::MalformedAttestationObject)
            );
        }
    }

    #[test]
    fn registration_client_data_is_checked() {
        let attestation = none_attestation(&registration_auth_data(UP_UV | FLAG_AT));
        let cases = [
            (
                client_data("webauthn.create", b"another challenge of enough length", ORIGIN),
                WebauthnError::ChallengeMismatch,
            ),
            (
                client_data("webauthn.create", CHALLENGE, "https://evil.example"),
                WebauthnError::OriginMismatch,
            ),
            (
                client_data("webauthn.create", CHALLENGE, "http://kabinet.example"),
                WebauthnError::OriginMismatch,
            ),
            (
                client_data("webauthn.get", CHALLENGE, ORIGIN),
                WebauthnError::WrongType {
                    expected: "webauthn.create",
                },
            ),
            (
                br#"{"type":"webauthn.create","challenge":"not base64!","origin":"x"}"#.to_vec(),
                WebauthnError::ChallengeMismatch,
            ),
            (b"not json".to_vec(), WebauthnError::MalformedClientData),
            (
                format!(r#"{{"type":"webauthn.create","challenge":"{}"}}"#, b64url_encode(CHALLENGE))
                    .into_bytes(),
                WebauthnError::MalformedClientData,
            ),
            (
                format!(
                    r#"{{"type":"webauthn.create","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true}}"#,
                    b64url_encode(CHALLENGE)
                )
                .into_bytes(),
                WebauthnError::CrossOrigin,
            ),
            (
                format!(
                    r#"{{"type":"webauthn.create","challenge":"{}","origin":"{ORIGIN}","crossOrigin":"no"}}"#,
                    b64url_encode(CHALLENGE)
                )
                .into_bytes(),
                WebauthnError::MalformedClientData,
            ),
            (
                br#"{"type":1,"challenge":"x","origin":"x"}"#.to_vec(),
                WebauthnError::MalformedClientData,
            ),
        ];
        for (cd, expected) in cases {
            assert_eq!(
                register(&cd, &attestation),
                Err(expected),
                "{}",
                String::from_utf8_lossy(&cd)
            );
        }
    }

    #[test]
    fn a_short_expected_challenge_never_matches() {
        let attestation = none_attestation(&registration_auth_data(UP_UV | FLAG_AT));
        for challenge in [&b""[..], b"short"] {
            let cd = client_data("webauthn.create", challenge, ORIGIN);
            let result = verify_registration(&cd, &attestation, challenge, ORIGIN, RP_ID, false);
            assert_eq!(result, Err(WebauthnError::ChallengeMismatch));
        }
    }

    #[test]
    fn client_data_in_another_order_with_escapes_and_unknown_members_passes() {
        let attestation = none_attestation(&registration_auth_data(UP_UV | FLAG_AT));
        let cd = format!(
            "\u{feff} {{ \"origin\" : \"https:\\/\\/kabinet.example\",\n\t\"tokenBinding\": {{\"status\": \"supported\", \"x\": [1, -2.5e3, null, {{}}, \"}}\"]}},\
             \"challenge\":\"{}\", \"extra\": 12, \"other\": null, \"type\": \"webauthn.\\u0063reate\", \"crossOrigin\": false }} ",
            b64url_encode(CHALLENGE)
        );
        assert!(register(cd.as_bytes(), &attestation).is_ok(), "{cd}");
    }

    #[test]
    fn registration_authenticator_data_is_checked() {
        let cd = good_create();
        let key = cose_key(&signing_key());
        let cases = [
            (
                auth_data("evil.example", UP_UV | FLAG_AT, 0, Some(&key)),
                WebauthnError::RpIdHashMismatch,
            ),
            (
                auth_data(RP_ID, FLAG_UV | FLAG_AT, 0, Some(&key)),
                WebauthnError::UserNotPresent,
            ),
            (
                auth_data(RP_ID, FLAG_UP | FLAG_AT, 0, Some(&key)),
                WebauthnError::UserVerificationRequired,
            ),
            (
                auth_data(RP_ID, UP_UV, 0, None),
                WebauthnError::MissingCredentialData,
            ),
            // AT set but no attested data.
            (
                auth_data(RP_ID, UP_UV | FLAG_AT, 0, None),
                WebauthnError::MalformedAuthenticatorData,
            ),
            // Attested data present but AT clear.
            (
                auth_data(RP_ID, UP_UV, 0, Some(&key)),
                WebauthnError::MalformedAuthenticatorData,
            ),
            // Backed up without being backup eligible.
            (
                auth_data(RP_ID, UP_UV | FLAG_AT | FLAG_BS, 0, Some(&key)),
                WebauthnError::MalformedAuthenticatorData,
            ),
            // ED set but no extensions.
            (
                auth_data(RP_ID, UP_UV | FLAG_AT | FLAG_ED, 0, Some(&key)),
                WebauthnError::MalformedCbor,
            ),
            (b"short".to_vec(), WebauthnError::MalformedAuthenticatorData),
        ];
        for (auth, expected) in cases {
            assert_eq!(register(&cd, &none_attestation(&auth)), Err(expected));
        }
    }

    #[test]
    fn credential_id_length_is_checked() {
        let key = cose_key(&signing_key());
        let with_id = |id: &[u8], declared: u16| {
            let mut data = auth_data(RP_ID, UP_UV | FLAG_AT, 0, None);
            data.extend_from_slice(&[0; 16]);
            data.extend_from_slice(&declared.to_be_bytes());
            data.extend_from_slice(id);
            data.extend_from_slice(&key);
            data
        };
        let ok = with_id(&[7; 1023], 1023);
        assert_eq!(
            register(&good_create(), &none_attestation(&ok))
                .unwrap()
                .credential_id,
            vec![7; 1023]
        );
        for bad in [
            with_id(&[7; 1024], 1024),
            with_id(&[], 0),
            with_id(&[7; 4], 60000),
        ] {
            assert_eq!(
                register(&good_create(), &none_attestation(&bad)),
                Err(WebauthnError::MalformedAuthenticatorData)
            );
        }
    }

    #[test]
    fn extensions_after_the_credential_key_are_accepted() {
        let key = cose_key(&signing_key());
        let mut auth = auth_data(RP_ID, UP_UV | FLAG_AT | FLAG_ED, 0, Some(&key));
        auth.extend_from_slice(&enc::map(&[(enc::text("credProtect"), enc::int(2))]));
        let credential = register(&good_create(), &none_attestation(&auth)).unwrap();
        assert_eq!(credential.public_key_cose, key);

        // Extensions must be a map, and nothing may follow them.
        let mut not_map = auth_data(RP_ID, UP_UV | FLAG_AT | FLAG_ED, 0, Some(&key));
        not_map.extend_from_slice(&enc::int(2));
        assert_eq!(
            register(&good_create(), &none_attestation(&not_map)),
            Err(WebauthnError::MalformedAuthenticatorData)
        );
        let mut trailing = auth.clone();
        trailing.push(0);
        assert_eq!(
            register(&good_create(), &none_attestation(&trailing)),
            Err(WebauthnError::MalformedCbor)
        );
        // Bytes after the key without ED.
        let mut extra = auth_data(RP_ID, UP_UV | FLAG_AT, 0, Some(&key));
        extra.push(0xa0);
        assert_eq!(
            register(&good_create(), &none_attestation(&extra)),
            Err(WebauthnError::MalformedAuthenticatorData)
        );
    }

    #[test]
    fn unsupported_algorithms_are_refused() {
        for alg in [-257, -8, -35, -36, 1] {
            let auth = auth_data(
                RP_ID,
                UP_UV | FLAG_AT,
                0,
                Some(&cose_key_with_alg(&signing_key(), alg)),
            );
            let result = register(&good_create(), &none_attestation(&auth));
            assert_eq!(result, Err(WebauthnError::UnsupportedAlgorithm(alg)));
            assert_eq!(
                result.unwrap_err().to_string(),
                format!("unsupported algorithm (COSE {alg}); only ES256 (COSE -7) is accepted")
            );
        }
        // An RSA key (kty 3).
        let rsa = enc::map(&[
            (enc::int(1), enc::int(3)),
            (enc::int(3), enc::int(-257)),
            (enc::int(-1), enc::bytes(&[0xC5; 256])),
            (enc::int(-2), enc::bytes(&[1, 0, 1])),
        ]);
        let auth = auth_data(RP_ID, UP_UV | FLAG_AT, 0, Some(&rsa));
        assert_eq!(
            register(&good_create(), &none_attestation(&auth)),
            Err(WebauthnError::UnsupportedAlgorithm(-257))
        );
        let huge = enc::map(&[(enc::int(3), enc::head(1, u64::MAX))]);
        assert_eq!(
            es256_key_from_cose(&huge).unwrap_err(),
            WebauthnError::UnsupportedAlgorithm(i64::MIN)
        );
    }

    #[test]
    fn malformed_cose_keys_are_refused() {
        let point = signing_key().verifying_key().to_encoded_point(false);
        let (x, y) = (point.x().unwrap().to_vec(), point.y().unwrap().to_vec());
        let key = |kty: i64, crv: i64, x: &[u8], y: Vec<u8>| {
            enc::map(&[
                (enc::int(1), enc::int(kty)),
                (enc::int(3), enc::int(-7)),
                (enc::int(-1), enc::int(crv)),
                (enc::int(-2), enc::bytes(x)),
                (enc::int(-3), y),
            ])
        };
        let mut off_curve = y.clone();
        off_curve[31] ^= 1;
        let cases = [
            key(1, 1, &x, enc::bytes(&y)),
            key(2, 2, &x, enc::bytes(&y)),
            key(2, 1, &x[1..], enc::bytes(&y)),
            key(2, 1, &x, enc::bytes(&y[1..])),
            key(2, 1, &x, enc::bool_true()),
            key(2, 1, &x, enc::bytes(&off_curve)),
            key(2, 1, &[0; 32], enc::bytes(&[0; 32])),
            enc::map(&[(enc::int(1), enc::int(2)), (enc::int(-1), enc::int(1))]),
            enc::array(&[enc::int(3), enc::int(-7)]),
        ];
        for cose in cases {
            assert_eq!(
                es256_key_from_cose(&cose).unwrap_err(),
                WebauthnError::MalformedPublicKey
            );
        }
        assert!(es256_key_from_cose(&key(2, 1, &x, enc::bytes(&y))).is_ok());
    }

    #[test]
    fn a_truncated_attestation_object_is_malformed_cbor_at_every_length() {
        let auth = registration_auth_data(UP_UV | FLAG_AT);
        let cd = good_create();
        let statement = enc::map(&[
            (enc::text("alg"), enc::int(-7)),
            (
                enc::text("sig"),
                enc::bytes(&sign(&signing_key(), &auth, &cd)),
            ),
        ]);
        let object = attestation_object("packed", statement, &auth);
        assert!(register(&cd, &object).is_ok());
        for len in 0..object.len() {
            assert_eq!(
                register(&cd, &object[..len]),
                Err(WebauthnError::MalformedCbor),
                "truncated to {len}"
            );
        }
        let mut trailing = object.clone();
        trailing.push(0);
        assert_eq!(register(&cd, &trailing), Err(WebauthnError::MalformedCbor));
    }

    #[test]
    fn a_truncated_credential_key_inside_authenticator_data_never_passes() {
        let key = cose_key(&signing_key());
        let full = auth_data(RP_ID, UP_UV | FLAG_AT, 0, Some(&key));
        let fixed = full.len() - key.len();
        for len in 0..full.len() {
            let result = register(&good_create(), &none_attestation(&full[..len]));
            let expected = if len < fixed {
                WebauthnError::MalformedAuthenticatorData
            } else {
                WebauthnError::MalformedCbor
            };
            assert_eq!(result, Err(expected), "truncated to {len}");
        }
    }

    // --- sign-in -----------------------------------------------------------

    #[test]
    fn a_valid_sign_in_passes() {
        let auth = auth_data(RP_ID, UP_UV | FLAG_BE | FLAG_BS, 42, None);
        assert_eq!(
            signed_sign_in(41, &good_get(), &auth),
            Ok(AssertionOutcome {
                sign_count: 42,
                user_verified: true
            })
        );
        // Counter starting from zero, and authenticators that keep no counter.
        assert_eq!(
            signed_sign_in(0, &good_get(), &auth).map(|o| o.sign_count),
            Ok(42)
        );
        let no_counter = auth_data(RP_ID, UP_UV, 0, None);
        assert_eq!(
            signed_sign_in(0, &good_get(), &no_counter).map(|o| o.sign_count),
            Ok(0)
        );
        // UV not required.
        let up_only = auth_data(RP_ID, FLAG_UP, 1, None);
        let cd = good_get();
        let outcome = verify_assertion(
            &cose_key(&signing_key()),
            0,
            &cd,
            &up_only,
            &sign(&signing_key(), &up_only, &cd),
            LOGIN_CHALLENGE,
            ORIGIN,
            RP_ID,
            false,
        );
        assert_eq!(
            outcome,
            Ok(AssertionOutcome {
                sign_count: 1,
                user_verified: false
            })
        );
    }

    #[test]
    fn sign_in_with_extensions_passes() {
        let mut auth = auth_data(RP_ID, UP_UV | FLAG_ED, 3, None);
        auth.extend_from_slice(&enc::map(&[(enc::text("appid"), enc::bool_true())]));
        assert!(signed_sign_in(2, &good_get(), &auth).is_ok());
    }

    #[test]
    fn sign_in_client_data_is_checked() {
        let auth = auth_data(RP_ID, UP_UV, 5, None);
        let cases = [
            (
                client_data("webauthn.get", CHALLENGE, ORIGIN),
                WebauthnError::ChallengeMismatch,
            ),
            (
                client_data(
                    "webauthn.get",
                    LOGIN_CHALLENGE,
                    "https://kabinet.example:8443",
                ),
                WebauthnError::OriginMismatch,
            ),
            (
                client_data("webauthn.create", LOGIN_CHALLENGE, ORIGIN),
                WebauthnError::WrongType {
                    expected: "webauthn.get",
                },
            ),
            (
                client_data("payment.get", LOGIN_CHALLENGE, ORIGIN),
                WebauthnError::WrongType {
                    expected: "webauthn.get",
                },
            ),
        ];
        for (cd, expected) in cases {
            // Properly signed, so only the client data check can refuse it.
            assert_eq!(signed_sign_in(4, &cd, &auth), Err(expected));
        }
    }

    #[test]
    fn sign_in_authenticator_data_is_checked() {
        let cases = [
            (
                auth_data("evil.example", UP_UV, 5, None),
                WebauthnError::RpIdHashMismatch,
            ),
            (
                auth_data(RP_ID, FLAG_UV, 5, None),
                WebauthnError::UserNotPresent,
            ),
            (
                auth_data(RP_ID, FLAG_UP, 5, None),
                WebauthnError::UserVerificationRequired,
            ),
            (
                auth_data(RP_ID, UP_UV | FLAG_BS, 5, None),
                WebauthnError::MalformedAuthenticatorData,
            ),
        ];
        for (auth, expected) in cases {
            assert_eq!(signed_sign_in(4, &good_get(), &auth), Err(expected));
        }
        let full = auth_data(RP_ID, UP_UV, 5, None);
        for len in 0..full.len() {
            assert_eq!(
                signed_sign_in(4, &good_get(), &full[..len]),
                Err(WebauthnError::MalformedAuthenticatorData),
                "truncated to {len}"
            );
        }
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let cd = good_get();
        let auth = auth_data(RP_ID, UP_UV, 5, None);
        let sig = sign(&signing_key(), &auth, &cd);
        assert!(sign_in(4, &cd, &auth, &sig).is_ok());

        // Authenticator data: a higher counter than was signed.
        let tampered = auth_data(RP_ID, UP_UV, 6, None);
        assert_eq!(
            sign_in(4, &cd, &tampered, &sig),
            Err(WebauthnError::BadSignature)
        );
        // Same checks, different client data bytes (extra whitespace).
        let mut spaced = cd.clone();
        spaced.push(b' ');
        assert_eq!(
            sign_in(4, &spaced, &auth, &sig),
            Err(WebauthnError::BadSignature)
        );
        // Every single bit of the signature.
        for i in 0..sig.len() {
            for bit in 0..8 {
                let mut bad = sig.clone();
                bad[i] ^= 1 << bit;
                assert_eq!(
                    sign_in(4, &cd, &auth, &bad),
                    Err(WebauthnError::BadSignature),
                    "byte {i} bit {bit}"
                );
            }
        }
        // Truncated or empty, raw r||s instead of DER, another key's.
        for len in 0..sig.len() {
            assert_eq!(
                sign_in(4, &cd, &auth, &sig[..len]),
                Err(WebauthnError::BadSignature)
            );
        }
        let raw: Signature = Signature::from_der(&sig).unwrap();
        assert_eq!(
            sign_in(4, &cd, &auth, &raw.to_bytes()),
            Err(WebauthnError::BadSignature)
        );
        let foreign = sign(&other_key(), &auth, &cd);
        assert_eq!(
            sign_in(4, &cd, &auth, &foreign),
            Err(WebauthnError::BadSignature)
        );
    }

    #[test]
    fn a_counter_going_backwards_is_refused() {
        let cd = good_get();
        for (stored, received) in [(10, 5), (10, 10), (10, 0), (u32::MAX, 1)] {
            let auth = auth_data(RP_ID, UP_UV, received, None);
            let result = signed_sign_in(stored, &cd, &auth);
            assert_eq!(
                result,
                Err(WebauthnError::SignCountWentBackwards { stored, received })
            );
            assert!(result
                .unwrap_err()
                .to_string()
                .starts_with("signature counter went backwards (possible cloned authenticator)"));
        }
        for (stored, received) in [(0, 0), (0, 1), (10, 11), (1, u32::MAX)] {
            let auth = auth_data(RP_ID, UP_UV, received, None);
            assert!(
                signed_sign_in(stored, &cd, &auth).is_ok(),
                "{stored} -> {received}"
            );
        }
        // The counter is judged only once the signature holds.
        let auth = auth_data(RP_ID, UP_UV, 1, None);
        assert_eq!(
            sign_in(10, &cd, &auth, b"garbage"),
            Err(WebauthnError::BadSignature)
        );
    }

    #[test]
    fn a_stored_key_that_is_not_es256_is_refused_at_sign_in() {
        let cd = good_get();
        let auth = auth_data(RP_ID, UP_UV, 1, None);
        let sig = sign(&signing_key(), &auth, &cd);
        let rs256 = cose_key_with_alg(&signing_key(), -257);
        let result = verify_assertion(
            &rs256,
            0,
            &cd,
            &auth,
            &sig,
            LOGIN_CHALLENGE,
            ORIGIN,
            RP_ID,
            true,
        );
        assert_eq!(result, Err(WebauthnError::UnsupportedAlgorithm(-257)));
        let key = cose_key(&signing_key());
        for len in 0..key.len() {
            let result = verify_assertion(
                &key[..len],
                0,
                &cd,
                &auth,
                &sig,
                LOGIN_CHALLENGE,
                ORIGIN,
                RP_ID,
                true,
            );
            assert_eq!(
                result,
                Err(WebauthnError::MalformedCbor),
                "truncated to {len}"
            );
        }
    }

    // --- vectors from real browsers -------------------------------------------

    /// Published test vectors of the py_webauthn project (Duo Labs),
    /// captured from a real browser and authenticator on localhost:5000: a
    /// registration with "none" attestation, and an ES256 sign-in whose
    /// clientDataJSON has other members in another order, including a nested
    /// `clientExtensions` object.
    #[test]
    fn real_browser_registration_and_sign_in_pass() {
        let d = |s: &str| b64url_decode(s).unwrap();
        let attestation = d("o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAFwAAAAAAAAAAAAAAAAAAAAAAQPctcQPE5oNRRJk_nO_371mf7qE7qIodzr0eOf6ACvnMB1oQG165dqutoi1U44shGezu5_gkTjmOPeJO0N8a7P-lAQIDJiABIVggSFbUJF-42Ug3pdM8rDRFu_N5oiVEysPDB6n66r_7dZAiWCDUVnB39FlGypL-qAoIO9xWHtJygo2jfDmHl-_eKFRLDA");
        let client_data = d("eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiVHdON240V1R5R0tMYzRaWS1xR3NGcUtuSE00bmdscXN5VjBJQ0psTjJUTzlYaVJ5RnRya2FEd1V2c3FsLWdrTEpYUDZmbkYxTWxyWjUzTW00UjdDdnciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9");
        let challenge = d("TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw");
        let credential = verify_registration(
            &client_data,
            &attestation,
            &challenge,
            "http://localhost:5000",
            "localhost",
            true,
        )
        .unwrap();
        assert_eq!(
            b64url_encode(&credential.credential_id),
            "9y1xA8Tmg1FEmT-c7_fvWZ_uoTuoih3OvR45_oAK-cwHWhAbXrl2q62iLVTjiyEZ7O7n-CROOY494k7Q3xrs_w"
        );
        assert_eq!(credential.sign_count, 23);
        assert!(credential.user_verified);
        assert!(!credential.backup_eligible);
        assert_eq!(
            verify_registration(
                &client_data,
                &attestation,
                &challenge,
                "http://localhost:5000",
                "example.com",
                false
            ),
            Err(WebauthnError::RpIdHashMismatch)
        );

        let public_key = d("pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI");
        let client_data = d("eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ");
        let auth = d("SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg");
        let signature = d("MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo");
        let challenge = d("xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA");
        let check = |stored: u32, require_uv: bool| {
            verify_assertion(
                &public_key,
                stored,
                &client_data,
                &auth,
                &signature,
                &challenge,
                "http://localhost:5000",
                "localhost",
                require_uv,
            )
        };
        assert_eq!(
            check(77, false),
            Ok(AssertionOutcome {
                sign_count: 78,
                user_verified: false
            })
        );
        assert_eq!(
            check(77, true),
            Err(WebauthnError::UserVerificationRequired)
        );
        assert_eq!(
            check(78, false),
            Err(WebauthnError::SignCountWentBackwards {
                stored: 78,
                received: 78
            })
        );
    }

    // --- base64url -------------------------------------------------------------

    #[test]
    fn b64url_matches_rfc_4648_vectors() {
        let vectors: [(&[u8], &str); 9] = [
            (b"", ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
            (&[0xff, 0xef, 0xbe], "_---"),
        ];
        for (bytes, text) in vectors {
            assert_eq!(b64url_encode(bytes), text);
            assert_eq!(b64url_decode(text).as_deref(), Some(bytes));
        }
    }

    #[test]
    fn b64url_refuses_anything_but_the_canonical_form() {
        for text in [
            "Zg==", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "+_8", "/_8", "Zm 9v", "Zm9v\n", "Zé",
            "Zm9v=",
        ] {
            assert_eq!(b64url_decode(text), None, "{text:?}");
        }
    }

    // --- CBOR --------------------------------------------------------------------

    #[test]
    fn cbor_reads_every_major_type() {
        use cbor::Value::*;
        let cases: Vec<(Vec<u8>, cbor::Value)> = vec![
            (vec![0x00], Integer(0)),
            (vec![0x17], Integer(23)),
            (vec![0x18, 0x18], Integer(24)),
            (vec![0x19, 0x03, 0xe8], Integer(1000)),
            (vec![0x1a, 0x00, 0x0f, 0x42, 0x40], Integer(1_000_000)),
            (
                vec![0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Integer(u64::MAX.into()),
            ),
            (vec![0x20], Integer(-1)),
            (vec![0x38, 0x63], Integer(-100)),
            (
                vec![0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Integer(-1 - i128::from(u64::MAX)),
            ),
            (vec![0x43, 1, 2, 3], Bytes(vec![1, 2, 3])),
            (vec![0x62, 0xc3, 0xbc], Text("ü".into())),
            (
                vec![0x82, 0x01, 0x82, 0x02, 0x03],
                Array(vec![Integer(1), Array(vec![Integer(2), Integer(3)])]),
            ),
            (
                vec![0xa1, 0x61, b'a', 0x01],
                Map(vec![(Text("a".into()), Integer(1))]),
            ),
            (
                vec![0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0],
                Tag(1, Box::new(Integer(1_363_896_240))),
            ),
            (vec![0xf4], Bool(false)),
            (vec![0xf5], Bool(true)),
            (vec![0xf6], Null),
            (vec![0xf7], Undefined),
            (vec![0xf0], Simple(16)),
            (vec![0xf8, 0xff], Simple(255)),
            (vec![0xf9, 0x3c, 0x00], Float(1.0)),
            (vec![0xf9, 0xc4, 0x00], Float(-4.0)),
            (vec![0xf9, 0x00, 0x01], Float(5.960_464_477_539_063e-8)),
            (vec![0xf9, 0x7c, 0x00], Float(f64::INFINITY)),
            (vec![0xfa, 0x47, 0xc3, 0x50, 0x00], Float(100_000.0)),
            (
                vec![0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a],
                Float(1.1),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(cbor::decode(&bytes), Ok(expected), "{bytes:02x?}");
        }
        assert!(matches!(cbor::decode(&[0xf9, 0x7e, 0x00]), Ok(Float(f)) if f.is_nan()));
        // A prefix decode leaves what follows.
        assert_eq!(cbor::decode_prefix(&[0x01, 0x02]), Ok((Integer(1), 1)));
    }

    #[test]
    fn cbor_refuses_what_is_not_well_formed() {
        let deep_ok: Vec<u8> = [vec![0x81; cbor::MAX_DEPTH], vec![0x00]].concat();
        assert!(cbor::decode(&deep_ok).is_ok());
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x5f, 0x41, 0x00, 0xff], // indefinite byte string
            vec![0x7f, 0x61, b'a', 0xff], // indefinite text
            vec![0x9f, 0x01, 0xff],       // indefinite array
            vec![0xbf, 0x01, 0x02, 0xff], // indefinite map
            vec![0xff],                   // lone break
            vec![0x1c],                   // reserved additional info
            vec![0xfc],                   // reserved simple
            vec![0xf8, 0x14],             // simple value in the two-byte form
            vec![0x62, 0xc3, 0x28],       // invalid UTF-8
            vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // length beyond input
            vec![0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // count beyond input
            vec![0xbb, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00],
            vec![0xa2, 0x01, 0x02, 0x01, 0x03], // duplicate key
            vec![0x01, 0x00],                   // trailing bytes
            [vec![0x81; cbor::MAX_DEPTH + 1], vec![0x00]].concat(),
            [vec![0xc0; 100], vec![0x00]].concat(),
            [vec![0x99, 0x01, 0x01], vec![0x00; 257]].concat(), // over MAX_ITEMS
        ];
        for bytes in cases {
            assert_eq!(cbor::decode(&bytes), Err(cbor::CborError), "{bytes:02x?}");
        }
        // A very deep input does not overflow the stack.
        assert_eq!(cbor::decode(&vec![0x81; 1_000_000]), Err(cbor::CborError));
    }

    // --- JSON --------------------------------------------------------------------

    #[test]
    fn json_reader_resolves_escapes() {
        let members = json::parse_flat_object(
            r#"{"a":"\" \\ \/ \b \f \n \r \t","b":"caf\u00e9 \u00E9 \ud83d\ude00 \u0000","c":"ü€😀"}"#
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            members,
            vec![
                (
                    "a".into(),
                    json::Value::Str("\" \\ / \u{8} \u{c} \n \r \t".into())
                ),
                ("b".into(), json::Value::Str("café é 😀 \u{0}".into())),
                ("c".into(), json::Value::Str("ü€😀".into())),
            ]
        );
        assert_eq!(
            json::parse_flat_object(
                br#"{"\u0074ype":true,"n":-0.5E+2,"z":[],"o":{"k":[{"\"}":"]"}]}}"#
            ),
            Some(vec![
                ("type".into(), json::Value::Bool(true)),
                ("n".into(), json::Value::Other),
                ("z".into(), json::Value::Other),
                ("o".into(), json::Value::Other),
            ])
        );
        assert_eq!(json::parse_flat_object(b" {} "), Some(vec![]));
    }

    #[test]
    fn json_reader_refuses_what_is_not_json() {
        for text in [
            "",
            "[]",
            "\"a\"",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{\"a\":1}{}",
            "{\"a\":1} x",
            "{a:1}",
            "{'a':1}",
            "{\"a\":\"x\" \"b\":1}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\ud83d\"}",
            "{\"a\":\"\\ud83d\\u0041\"}",
            "{\"a\":\"\\ude00\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":-}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":NaN}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":1,\"a\":2}",
            "{\"a\":1 // comment\n}",
        ] {
            assert_eq!(json::parse_flat_object(text.as_bytes()), None, "{text:?}");
        }
        assert_eq!(json::parse_flat_object(b"{\"a\":\"\xff\"}"), None);
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(json::parse_flat_object(deep.as_bytes()), None);
        let deeper = format!("{{\"a\":{}}}", "[".repeat(1_000_000));
        assert_eq!(json::parse_flat_object(deeper.as_bytes()), None);
        let many: Vec<String> = (0..65).map(|i| format!("\"k{i}\":1")).collect();
        assert_eq!(
            json::parse_flat_object(format!("{{{}}}", many.join(",")).as_bytes()),
            None
        );
    }

    #[test]
    fn errors_read_as_plain_english() {
        assert_eq!(
            WebauthnError::ChallengeMismatch.to_string(),
            "challenge does not match"
        );
        assert_eq!(
            WebauthnError::OriginMismatch.to_string(),
            "origin does not match"
        );
        assert_eq!(
            WebauthnError::RpIdHashMismatch.to_string(),
            "relying party id hash does not match"
        );
        assert_eq!(
            WebauthnError::UserNotPresent.to_string(),
            "user was not present"
        );
        assert_eq!(
            WebauthnError::UserVerificationRequired.to_string(),
            "user verification required"
        );
        assert_eq!(WebauthnError::BadSignature.to_string(), "bad signature");
        assert_eq!(WebauthnError::MalformedCbor.to_string(), "malformed CBOR");
        assert_eq!(
            WebauthnError::WrongType {
                expected: "webauthn.get"
            }
            .to_string(),
            "client data type is not webauthn.get"
        );
        assert_eq!(WebauthnError::BadSignature.code(), "webauthn.signature");
    }

    // --- properties ----------------------------------------------------------

    fn cbor_value() -> impl Strategy<Value = cbor::Value> {
        use cbor::Value;
        let leaf = prop_oneof![
            any::<i64>().prop_map(|n| Value::Integer(n.into())),
            any::<u64>().prop_map(|n| Value::Integer(n.into())),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            "\\PC{0,20}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            Just(Value::Undefined),
            any::<f64>()
                .prop_filter("NaN is not equal to itself", |f| !f.is_nan())
                .prop_map(Value::Float),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{0,6}", inner.clone(), 0..8).prop_map(
                    |entries| Value::Map(
                        entries
                            .into_iter()
                            .map(|(k, v)| (Value::Text(k), v))
                            .collect()
                    )
                ),
                (0u64..100_000, inner).prop_map(|(tag, v)| Value::Tag(tag, Box::new(v))),
            ]
        })
    }

    fn encode(value: &cbor::Value) -> Vec<u8> {
        use cbor::Value;
        match value {
            Value::Integer(n) if *n >= 0 => enc::head(0, *n as u64),
            Value::Integer(n) => enc::head(1, (-1 - *n) as u64),
            Value::Bytes(b) => enc::bytes(b),
            Value::Text(t) => enc::text(t),
            Value::Array(items) => enc::array(&items.iter().map(encode).collect::<Vec<_>>()),
            Value::Map(entries) => enc::map(
                &entries
                    .iter()
                    .map(|(k, v)| (encode(k), encode(v)))
                    .collect::<Vec<_>>(),
            ),
            Value::Tag(tag, v) => [enc::head(6, *tag), encode(v)].concat(),
            Value::Bool(false) => vec![0xf4],
            Value::Bool(true) => vec![0xf5],
            Value::Null => vec![0xf6],
            Value::Undefined => vec![0xf7],
            Value::Simple(n) if *n < 24 => vec![0xe0 | n],
            Value::Simple(n) => vec![0xf8, *n],
            Value::Float(f) => [vec![0xfb], f.to_be_bytes().to_vec()].concat(),
        }
    }

    proptest! {
        #[test]
        fn b64url_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = b64url_encode(&bytes);
            prop_assert!(text
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
            prop_assert_eq!(text.len(), (bytes.len() * 4).div_ceil(3));
            prop_assert_eq!(b64url_decode(&text), Some(bytes));
        }

        #[test]
        fn b64url_decode_never_panics_and_is_canonical(
            text in "[A-Za-z0-9_=+/ -]{0,64}|\\PC{0,32}",
        ) {
            if let Some(bytes) = b64url_decode(&text) {
                prop_assert_eq!(b64url_encode(&bytes), text);
            }
        }

        #[test]
        fn cbor_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok((_, used)) = cbor::decode_prefix(&bytes) {
                prop_assert!(used >= 1 && used <= bytes.len());
                prop_assert!(cbor::decode(&bytes[..used]).is_ok());
            }
        }

        #[test]
        fn cbor_decodes_what_was_encoded_and_no_prefix_of_it(value in cbor_value()) {
            let bytes = encode(&value);
            prop_assert_eq!(cbor::decode(&bytes), Ok(value));
            for len in 0..bytes.len() {
                prop_assert_eq!(cbor::decode(&bytes[..len]), Err(cbor::CborError));
            }
        }

        #[test]
        fn json_reader_never_panics(
            text in "\\PC{0,64}",
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = json::parse_flat_object(text.as_bytes());
            let _ = json::parse_flat_object(&bytes);
            let wrapped = format!("{{\"type\":{text}}}");
            let _ = json::parse_flat_object(wrapped.as_bytes());
        }

        #[test]
        fn json_strings_read_back_as_written(value in "[\\PC\\x00-\\x1f]{0,40}") {
            // Escape the way browsers do: quotes, backslashes, control
            // characters; and also as \uXXXX UTF-16 units throughout.
            let mut plain = String::new();
            let mut escaped = String::new();
            for c in value.chars() {
                match c {
                    '"' => plain.push_str("\\\""),
                    '\\' => plain.push_str("\\\\"),
                    c if u32::from(c) < 0x20 => {
                        plain.push_str(&format!("\\u{:04x}", u32::from(c)));
                    }
                    c => plain.push(c),
                }
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    escaped.push_str(&format!("\\u{unit:04X}"));
                }
            }
            for encoded in [plain, escaped] {
                let text = format!("{{\"k\":\"{encoded}\"}}");
                prop_assert_eq!(
                    json::parse_flat_object(text.as_bytes()),
                    Some(vec![("k".to_string(), json::Value::Str(value.clone()))])
                );
            }
        }

        #[test]
        fn verification_never_panics_on_arbitrary_bytes(
            a in proptest::collection::vec(any::<u8>(), 0..200),
            b in proptest::collection::vec(any::<u8>(), 0..200),
            c in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            prop_assert!(register(&a, &b).is_err());
            let outcome = verify_assertion(
                &a, 0, &b, &c, &a, LOGIN_CHALLENGE, ORIGIN, RP_ID, false,
            );
            prop_assert!(outcome.is_err());
            prop_assert!(sign_in(0, &good_get(), &c, &b).is_err());
        }

        #[test]
        fn a_changed_byte_in_a_registration_never_panics(
            index in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let auth = registration_auth_data(UP_UV | FLAG_AT);
            let mut object = none_attestation(&auth);
            let i = index.index(object.len());
            object[i] = byte;
            let _ = register(&good_create(), &object);
        }

        #[test]
        fn a_changed_byte_in_authenticator_data_fails_sign_in(
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let cd = good_get();
            let auth = auth_data(RP_ID, UP_UV, 5, None);
            let sig = sign(&signing_key(), &auth, &cd);
            let mut tampered = auth.clone();
            let i = index.index(tampered.len());
            tampered[i] ^= flip;
            prop_assert!(sign_in(4, &cd, &tampered, &sig).is_err());
        }
    }
}
