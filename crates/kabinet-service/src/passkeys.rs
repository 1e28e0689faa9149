//! Passkeys (WebAuthn, L2, X4) and quick sign-in on a trusted device with a
//! 4-digit PIN (L2).
//!
//! A passkey is registered and used with user verification required, so it
//! is a multi-factor authenticator on its own (NIST SP 800-63B AAL2): signing
//! in with one needs no SMS or TOTP code. Adding one asks for the password
//! again (ASVS 3.7.1) and the person is told by e-mail (ASVS 2.5.5).
//!
//! A trusted device holds a random secret in an HttpOnly cookie; the PIN
//! (hashed with argon2id) unlocks it. Five wrong PINs end the device's trust,
//! as does anything that ends the person's sessions (a password change,
//! blocking, deletion).

use kabinet_domain::webauthn::{self, b64url_decode, b64url_encode};
use kabinet_store::passkeys::{self, CeremonyRecord, DeviceRecord, PasskeyRecord};
use kabinet_store::users;
use kabinet_store::{commit, throttle};
use rand::RngCore;

use crate::audit::record;
use crate::auth::{
    address_key, address_wait, audit_sign_in, hash_password, random_secret, refusal, secret_hash,
    verify_password, NewSession,
};
use crate::{now_ms, Actor, Origin, ServiceError, Services};

/// How long a browser has to answer a WebAuthn ceremony.
const CEREMONY_MS: i64 = 5 * 60 * 1000;
/// Wrong PINs before a device must sign in fully again.
pub const PIN_ATTEMPTS: i64 = 5;
/// Passkeys one person may hold.
const MAX_PASSKEYS: usize = 20;

/// Who the browser talks to: the relying party id (a domain) and the one
/// origin accepted, both from the public address of the console. Browsers
/// refuse an IP address as relying party id, so an address like
/// `http://127.0.0.1:8080` (the embedded default) becomes `localhost`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: String,
}

pub fn relying_party(public_url: &str) -> RelyingParty {
    let (scheme, rest) = public_url.split_once("://").unwrap_or(("http", public_url));
    let authority = rest.split('/').next().unwrap_or("");
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        (
            host.to_string(),
            after.strip_prefix(':').map(str::to_string),
        )
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port.to_string())),
            None => (authority.to_string(), None),
        }
    };
    let host = if host.parse::<std::net::IpAddr>().is_ok() {
        "localhost".to_string()
    } else {
        host.to_ascii_lowercase()
    };
    let origin = match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    RelyingParty { id: host, origin }
}

fn user_handle(user_id: i64) -> Vec<u8> {
    user_id.to_be_bytes().to_vec()
}

fn new_challenge() -> Vec<u8> {
    let mut bytes = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// What a browser sends back from `navigator.credentials.get()`, base64url.
#[derive(Debug, Clone, Default)]
pub struct Assertion {
    pub credential_id: String,
    pub client_data_json: String,
    pub authenticator_data: String,
    pub signature: String,
    pub user_handle: Option<String>,
}

fn webauthn_failure(error: webauthn::WebauthnError) -> ServiceError {
    ServiceError::Conflict {
        code: "passkey.invalid",
        detail: Some(error.to_string()),
    }
}

fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, ServiceError> {
    b64url_decode(text.trim()).ok_or(ServiceError::Validation(vec![
        kabinet_domain::FieldError::new(field, "base64url"),
    ]))
}

impl Services {
    fn relying_party(&self) -> RelyingParty {
        relying_party(&self.settings.public_url)
    }

    /// Starts adding a passkey: the password again, then the options for
    /// `navigator.credentials.create()`.
    pub async fn passkey_register_options(
        &self,
        actor: &Actor,
        password: &str,
    ) -> Result<(String, serde_json::Value), ServiceError> {
        if actor.must_change_password {
            return Err(ServiceError::PasswordChangeRequired);
        }
        let user = self.reauthenticate(actor, password).await?;
        let rp = self.relying_party();
        let challenge = new_challenge();
        let ceremony_id = random_secret();
        let mut tx = self.store.begin().await?;
        let existing = passkeys::for_user(&mut tx, user.id).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(ServiceError::Conflict {
                code: "passkey.too_many",
                detail: None,
            });
        }
        passkeys::insert_ceremony(
            &mut tx,
            &secret_hash(&ceremony_id),
            &CeremonyRecord {
                user_id: Some(user.id),
                purpose: "register".into(),
                challenge: b64url_encode(&challenge),
                expires_at: now_ms() + CEREMONY_MS,
            },
        )
        .await?;
        commit(tx).await?;
        let options = serde_json::json!({
            "challenge": b64url_encode(&challenge),
            "rp": {"id": rp.id, "name": "Kabinet"},
            "user": {
                "id": b64url_encode(&user_handle(user.id)),
                "name": user.login,
                "displayName": format!("{} {}", user.first_name, user.last_name),
            },
            "pubKeyCredParams": [{"type": "public-key", "alg": webauthn::COSE_ALG_ES256}],
            "timeout": CEREMONY_MS,
            "attestation": "none",
            "authenticatorSelection": {
                "residentKey": "required",
                "requireResidentKey": true,
                "userVerification": "required",
            },
            "excludeCredentials": existing
                .iter()
                .map(|p| serde_json::json!({"type": "public-key", "id": p.credential_id}))
                .collect::<Vec<_>>(),
        });
        Ok((ceremony_id, options))
    }

    /// Finishes adding a passkey with what the browser's authenticator made.
    pub async fn passkey_register(
        &self,
        actor: &Actor,
        ceremony_id: &str,
        name: &str,
        client_data_json: &str,
        attestation_object: &str,
    ) -> Result<PasskeyRecord, ServiceError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            return Err(ServiceError::Validation(vec![
                kabinet_domain::FieldError::new("name", "passkey.name"),
            ]));
        }
        let client_data = decode("client_data_json", client_data_json)?;
        let attestation = decode("attestation_object", attestation_object)?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let ceremony = passkeys::take_ceremony(&mut tx, &secret_hash(ceremony_id.trim()), now)
            .await?
            .filter(|c| c.purpose == "register" && c.user_id == Some(actor.user_id));
        let Some(ceremony) = ceremony else {
            commit(tx).await?;
            return Err(ServiceError::Conflict {
                code: "passkey.expired",
                detail: None,
            });
        };
        let rp = self.relying_party();
        let challenge = b64url_decode(&ceremony.challenge).unwrap_or_default();
        let credential = match webauthn::verify_registration(
            &client_data,
            &attestation,
            &challenge,
            &rp.origin,
            &rp.id,
            true,
        ) {
            Ok(credential) => credential,
            Err(error) => {
                commit(tx).await?;
                return Err(webauthn_failure(error));
            }
        };
        let credential_id = b64url_encode(&credential.credential_id);
        if passkeys::by_credential_id(&mut tx, &credential_id)
            .await?
            .is_some()
        {
            commit(tx).await?;
            return Err(ServiceError::Conflict {
                code: "passkey.exists",
                detail: None,
            });
        }
        let id = passkeys::insert(
            &mut tx,
            actor.user_id,
            &credential_id,
            &b64url_encode(&credential.public_key_cose),
            i64::from(credential.sign_count),
            name,
            now,
        )
        .await?;
        let user = users::by_id(&mut tx, actor.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        record(
            &mut tx,
            actor,
            "user.passkey_added",
            "user",
            Some(actor.user_id.to_string()),
            None,
            Some(&serde_json::json!({"passkey_id": id, "name": name})),
            None,
        )
        .await?;
        crate::messages::notify_sign_in_change(
            &mut tx,
            &user,
            &format!("К вашей учётной записи добавлен ключ входа (passkey) «{name}»."),
            &format!("A passkey \"{name}\" was added to your account."),
        )
        .await?;
        let record = passkeys::by_credential_id(&mut tx, &credential_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        commit(tx).await?;
        Ok(record)
    }

    pub async fn passkey_list(&self, actor: &Actor) -> Result<Vec<PasskeyRecord>, ServiceError> {
        let mut conn = self.store.reader().await?;
        Ok(passkeys::for_user(&mut conn, actor.user_id).await?)
    }

    pub async fn passkey_delete(&self, actor: &Actor, id: i64) -> Result<(), ServiceError> {
        if actor.must_change_password {
            return Err(ServiceError::PasswordChangeRequired);
        }
        let mut tx = self.store.begin().await?;
        let before = passkeys::for_user(&mut tx, actor.user_id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(ServiceError::NotFound)?;
        passkeys::delete(&mut tx, actor.user_id, id).await?;
        let user = users::by_id(&mut tx, actor.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        record(
            &mut tx,
            actor,
            "user.passkey_removed",
            "user",
            Some(actor.user_id.to_string()),
            Some(&serde_json::json!({"passkey_id": id, "name": before.name})),
            None,
            None,
        )
        .await?;
        crate::messages::notify_sign_in_change(
            &mut tx,
            &user,
            &format!(
                "Ключ входа (passkey) «{}» удалён из вашей учётной записи.",
                before.name
            ),
            &format!(
                "The passkey \"{}\" was removed from your account.",
                before.name
            ),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Starts a sign-in with a passkey: options for `navigator.credentials.get()`.
    /// The passkeys are discoverable, so no login is asked first.
    pub async fn passkey_sign_in_options(
        &self,
    ) -> Result<(String, serde_json::Value), ServiceError> {
        let rp = self.relying_party();
        let challenge = new_challenge();
        let ceremony_id = random_secret();
        let mut tx = self.store.begin().await?;
        passkeys::insert_ceremony(
            &mut tx,
            &secret_hash(&ceremony_id),
            &CeremonyRecord {
                user_id: None,
                purpose: "sign_in".into(),
                challenge: b64url_encode(&challenge),
                expires_at: now_ms() + CEREMONY_MS,
            },
        )
        .await?;
        commit(tx).await?;
        Ok((
            ceremony_id,
            serde_json::json!({
                "challenge": b64url_encode(&challenge),
                "rpId": rp.id,
                "timeout": CEREMONY_MS,
                "userVerification": "required",
                "allowCredentials": [],
            }),
        ))
    }

    /// Signs in with a passkey. Failures count against the address like
    /// wrong passwords do, and are audited with their reason.
    pub async fn passkey_sign_in(
        &self,
        ceremony_id: &str,
        assertion: &Assertion,
        origin: &Origin,
    ) -> Result<NewSession, ServiceError> {
        let now = now_ms();
        let ip_key = address_key(origin);
        {
            let mut conn = self.store.reader().await?;
            let wait = address_wait(&mut conn, origin, now).await?;
            if wait > 0 {
                return Err(ServiceError::Throttled {
                    retry_after_ms: wait,
                });
            }
        }
        let mut tx = self.store.begin().await?;
        let ceremony = passkeys::take_ceremony(&mut tx, &secret_hash(ceremony_id.trim()), now)
            .await?
            .filter(|c| c.purpose == "sign_in");
        let Some(ceremony) = ceremony else {
            commit(tx).await?;
            return Err(ServiceError::Conflict {
                code: "passkey.expired",
                detail: None,
            });
        };
        let stored = passkeys::by_credential_id(&mut tx, assertion.credential_id.trim()).await?;
        let user = match &stored {
            Some(p) => users::by_id(&mut tx, p.user_id).await?,
            None => None,
        };
        let rp = self.relying_party();
        let checked = match (&stored, &user) {
            (Some(passkey), Some(user)) => {
                let handle_ok = match &assertion.user_handle {
                    Some(handle) if !handle.is_empty() => {
                        b64url_decode(handle) == Some(user_handle(user.id))
                    }
                    _ => true,
                };
                if !handle_ok {
                    Err("user_handle_mismatch".to_string())
                } else {
                    let parts = (
                        decode("client_data_json", &assertion.client_data_json),
                        decode("authenticator_data", &assertion.authenticator_data),
                        decode("signature", &assertion.signature),
                        b64url_decode(&passkey.public_key),
                    );
                    match parts {
                        (Ok(client_data), Ok(auth_data), Ok(signature), Some(key)) => {
                            webauthn::verify_assertion(
                                &key,
                                u32::try_from(passkey.sign_count).unwrap_or(0),
                                &client_data,
                                &auth_data,
                                &signature,
                                &b64url_decode(&ceremony.challenge).unwrap_or_default(),
                                &rp.origin,
                                &rp.id,
                                true,
                            )
                            .map_err(|e| e.code().to_string())
                        }
                        _ => Err("malformed".to_string()),
                    }
                }
            }
            _ => Err("unknown_passkey".to_string()),
        };
        let failure = match (&checked, &user) {
            (Err(reason), _) => Some(reason.clone()),
            (Ok(_), Some(u)) => refusal(&mut tx, u, origin).await?.map(str::to_string),
            (Ok(_), None) => Some("unknown_passkey".into()),
        };
        if let Some(reason) = failure {
            audit_sign_in(
                &mut tx,
                user.as_ref(),
                user.as_ref()
                    .map(|u| u.login.as_str())
                    .unwrap_or("(passkey)"),
                "auth.login_failed",
                Some(&format!("passkey: {reason}")),
                origin,
            )
            .await?;
            throttle::record_failure(&mut tx, &ip_key, now).await?;
            commit(tx).await?;
            return Err(ServiceError::InvalidCredentials);
        }
        let (Some(passkey), Some(user), Ok(outcome)) = (stored, user, checked) else {
            return Err(ServiceError::InvalidCredentials);
        };
        passkeys::touch(&mut tx, passkey.id, i64::from(outcome.sign_count), now).await?;
        let session = self
            .open_session(
                &mut tx,
                &user,
                origin,
                Some(&format!("passkey: {}", passkey.name)),
            )
            .await?;
        commit(tx).await?;
        Ok(session)
    }

    /// Trusts the device the person is signed in on: a PIN of four digits
    /// will open a session on it. Returns the device secret for the cookie.
    pub async fn device_trust(
        &self,
        actor: &Actor,
        pin: &str,
        name: &str,
        origin: &Origin,
    ) -> Result<String, ServiceError> {
        if actor.must_change_password {
            return Err(ServiceError::PasswordChangeRequired);
        }
        actor.require_recent_sign_in()?;
        if pin.len() != 4 || !pin.chars().all(|c| c.is_ascii_digit()) {
            return Err(ServiceError::Validation(vec![
                kabinet_domain::FieldError::new("pin", "pin.format"),
            ]));
        }
        let name: String = name.trim().chars().take(60).collect();
        let name = if name.is_empty() {
            origin
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().take(60).collect())
                .unwrap_or_else(|| "device".to_string())
        } else {
            name
        };
        let pin_hash = hash_password(format!("pin:{pin}")).await?;
        let secret = random_secret();
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let id = passkeys::insert_device(
            &mut tx,
            &secret_hash(&secret),
            actor.user_id,
            &pin_hash,
            &name,
            now,
        )
        .await?;
        if let Some(user) = users::by_id(&mut tx, actor.user_id).await? {
            crate::messages::notify_sign_in_change(
                &mut tx,
                &user,
                &format!("Устройство «{name}» стало доверенным: на нём можно входить по PIN."),
                &format!("The device \"{name}\" is now trusted: it signs in with a PIN."),
            )
            .await?;
        }
        record(
            &mut tx,
            actor,
            "user.device_trusted",
            "user",
            Some(actor.user_id.to_string()),
            None,
            Some(&serde_json::json!({"device_id": id, "name": name})),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(secret)
    }

    /// The device behind a device cookie, if it is still trusted.
    pub async fn device_of(
        &self,
        secret: &str,
    ) -> Result<Option<(DeviceRecord, String)>, ServiceError> {
        let mut conn = self.store.reader().await?;
        let Some(device) = passkeys::device_by_secret(&mut conn, &secret_hash(secret)).await?
        else {
            return Ok(None);
        };
        let login = users::by_id(&mut conn, device.user_id)
            .await?
            .map(|u| u.login)
            .unwrap_or_default();
        Ok(Some((device, login)))
    }

    /// Quick sign-in on a trusted device with its PIN. Five wrong PINs end
    /// the device's trust: then only a full sign-in works.
    pub async fn device_sign_in(
        &self,
        secret: &str,
        pin: &str,
        origin: &Origin,
    ) -> Result<NewSession, ServiceError> {
        let device = {
            let mut conn = self.store.reader().await?;
            passkeys::device_by_secret(&mut conn, &secret_hash(secret)).await?
        };
        let Some(device) = device else {
            return Err(ServiceError::Conflict {
                code: "device.not_trusted",
                detail: None,
            });
        };
        let right = verify_password(format!("pin:{pin}"), Some(device.pin_hash.clone())).await?;
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let user = users::by_id(&mut tx, device.user_id).await?;
        let failure = match &user {
            None => Some("unknown_user"),
            Some(_) if !right => Some("wrong_pin"),
            Some(u) => refusal(&mut tx, u, origin).await?,
        };
        if let Some(reason) = failure {
            let mut revoked = false;
            if reason == "wrong_pin" {
                let failures = passkeys::count_pin_failure(&mut tx, device.id).await?;
                if failures >= PIN_ATTEMPTS {
                    passkeys::revoke_device_by_id(&mut tx, device.id, now).await?;
                    revoked = true;
                }
            }
            audit_sign_in(
                &mut tx,
                user.as_ref(),
                user.as_ref()
                    .map(|u| u.login.as_str())
                    .unwrap_or("(device)"),
                "auth.login_failed",
                Some(&format!(
                    "device PIN: {reason}{}",
                    if revoked {
                        "; device no longer trusted"
                    } else {
                        ""
                    }
                )),
                origin,
            )
            .await?;
            commit(tx).await?;
            return Err(if revoked {
                ServiceError::Conflict {
                    code: "device.not_trusted",
                    detail: None,
                }
            } else {
                ServiceError::InvalidCredentials
            });
        }
        let user = user.ok_or(ServiceError::InvalidCredentials)?;
        passkeys::device_used(&mut tx, device.id, now).await?;
        let session = self
            .open_session(
                &mut tx,
                &user,
                origin,
                Some(&format!("device PIN: {}", device.name)),
            )
            .await?;
        commit(tx).await?;
        Ok(session)
    }

    pub async fn device_list(&self, actor: &Actor) -> Result<Vec<DeviceRecord>, ServiceError> {
        let mut conn = self.store.reader().await?;
        Ok(passkeys::devices_for_user(&mut conn, actor.user_id).await?)
    }

    pub async fn device_revoke(&self, actor: &Actor, id: i64) -> Result<(), ServiceError> {
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        if !passkeys::revoke_device(&mut tx, id, actor.user_id, now).await? {
            return Err(ServiceError::NotFound);
        }
        if let Some(user) = users::by_id(&mut tx, actor.user_id).await? {
            crate::messages::notify_sign_in_change(
                &mut tx,
                &user,
                "Одно из ваших доверенных устройств больше не доверенное: на нём снова нужен пароль.",
                "One of your trusted devices is no longer trusted: it needs the password again.",
            )
            .await?;
        }
        record(
            &mut tx,
            actor,
            "user.device_untrusted",
            "user",
            Some(actor.user_id.to_string()),
            Some(&serde_json::json!({"device_id": id})),
            None,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_comes_from_the_public_address() {
        assert_eq!(
            relying_party("https://cabinet.example.ru"),
            RelyingParty {
                id: "cabinet.example.ru".into(),
                origin: "https://cabinet.example.ru".into()
            }
        );
        assert_eq!(
            relying_party("https://Cabinet.Example.ru:8443/base/"),
            RelyingParty {
                id: "cabinet.example.ru".into(),
                origin: "https://cabinet.example.ru:8443".into()
            }
        );
        // Browsers take no IP address as relying party id.
        assert_eq!(
            relying_party("http://127.0.0.1:8080"),
            RelyingParty {
                id: "localhost".into(),
                origin: "http://localhost:8080".into()
            }
        );
        assert_eq!(
            relying_party("http://[::1]:9000").origin,
            "http://localhost:9000"
        );
    }
}
