//! Sign-in, sessions, API tokens, and the first administrator.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::Arc;

use argon2::Argon2;
use kabinet_domain::access::Function;
use kabinet_domain::company::CompanyDraft;
use kabinet_domain::ip_rules::{IpRules, SessionBinding};
use kabinet_domain::text::search_fold;
use kabinet_domain::throttle as throttle_rule;
use kabinet_store::companies::{self, CompanyFields};
use kabinet_store::second_factor;
use kabinet_store::sessions::{self, SessionRecord, TokenRecord};
use kabinet_store::throttle;
use kabinet_store::users::{self, NewUser, UserRecord};
use kabinet_store::{audit as audit_store, commit, AnyConnection};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::auth_cache::Resolved;
use crate::{now_ms, Actor, Origin, ServiceError, Services};

const TOKEN_PREFIX: &str = "kab_";

/// A fresh random secret: 32 bytes as 64 hex characters.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Lowercase hex, without a `format!` per byte (every API request hashes
/// its token).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// SHA-256 of a high-entropy secret (session ids, API tokens). Such secrets
/// cannot be guessed, so a fast hash is enough and keeps every request cheap;
/// passwords, which people choose, get argon2id instead.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A readable generated password: 16 characters without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// Argon2id takes 19 MiB and tens of milliseconds of one core per hash.
/// Hashing on more threads than cores would only make every sign-in slower
/// and leave the allocator holding a block per thread, so at most one hash
/// per core runs at once and the others wait their turn.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        tokio::sync::Semaphore::new(cores)
    });
    let _permit = permits
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ServiceError::Internal(format!("hashing task failed: {e}")))
}

/// Hashes a password with argon2id off the async runtime.
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    hashing(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Checks a password against a stored hash off the async runtime. Without a
/// stored hash it still spends the time of one check, so that the answer
/// time does not tell whether the login exists.
pub(crate) async fn verify_password(
    password: String,
    stored: Option<String>,
) -> Result<bool, ServiceError> {
    hashing(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
        let matches = match PasswordHash::new(&stored) {
            Ok(hash) => Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok(),
            Err(_) => false,
        };
        known && matches
    })
    .await
}

/// A hash of a random password with the default parameters, checked against
/// when the login is unknown. It is a constant of the process (no state
/// that changes), computed once.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Checks a new password against the policy (`domain::user::check_password`).
pub fn check_new_password(password: &str) -> Result<(), ServiceError> {
    kabinet_domain::user::check_password(password).map_err(|code| {
        ServiceError::Validation(vec![kabinet_domain::FieldError::new("password", code)])
    })
}

/// Whether a password that signed in would be refused as a new one for
/// being common or short (a longer one than today's maximum still counts:
/// it was allowed when chosen and is not weak).
fn password_below_policy(password: &str) -> bool {
    use kabinet_domain::user::{is_common_password, password_length, PASSWORD_MIN};
    is_common_password(password) || password_length(password) < PASSWORD_MIN
}

/// A login (or account number, or e-mail) as typed, with control
/// characters replaced by U+FFFD: no login holds one, and PostgreSQL
/// refuses a NUL byte in text, so such input is simply an unknown login
/// (and is stored so in the audit log) instead of a database error.
pub(crate) fn typed_identifier(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// The outcome of a correct password: a session, or a second step.
pub enum SignIn {
    Session(NewSession),
    /// Send the code with this challenge to `complete_second_factor`.
    SecondFactor {
        challenge: String,
        /// What the code may be: `sms`, or `totp` and `recovery_code`.
        methods: Vec<&'static str>,
        /// The phone the SMS went to, mostly hidden (`+7 *** ***-45-67`).
        phone_hint: Option<String>,
    },
}

/// How long an SMS code works after it was sent.
const SMS_CODE_MS: i64 = 10 * 60 * 1000;
/// The wait between two SMS codes of one sign-in.
pub const SMS_RESEND_MS: i64 = 60 * 1000;
/// At most this many SMS codes per sign-in.
const SMS_SENDS: i64 = 3;

/// A six-digit code.
fn new_sms_code() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// The stored form of an SMS code: bound to its challenge, so a code is
/// worth nothing outside the sign-in it was sent for.
fn sms_code_hash(challenge_hash: &str, code: &str) -> String {
    let digits: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    secret_hash(&format!("{challenge_hash}:{digits}"))
}

/// Writes a new SMS code for a challenge and queues the SMS.
async fn send_sms_code(
    tx: &mut AnyConnection,
    user: &UserRecord,
    phone: &str,
    challenge_hash: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let code = new_sms_code();
    second_factor::set_sms_code(
        tx,
        challenge_hash,
        &sms_code_hash(challenge_hash, &code),
        now,
    )
    .await?;
    crate::messages::queue_sms(
        tx,
        user,
        phone,
        &format!("Кабинет: код входа {code}. Kabinet sign-in code {code}. Никому не сообщайте / Do not share."),
        true,
    )
    .await
}

/// `+79161234567` → `+7 *** ***-45-67`.
pub fn phone_hint(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() < 6 {
        return "***".to_string();
    }
    let n = digits.len();
    format!(
        "+{} *** ***-{}{}-{}{}",
        digits[..n.saturating_sub(10).max(1)]
            .iter()
            .collect::<String>(),
        digits[n - 4],
        digits[n - 3],
        digits[n - 2],
        digits[n - 1]
    )
}

/// How long the second step of a sign-in may take.
const CHALLENGE_MS: i64 = 10 * 60 * 1000;
/// Wrong codes allowed per challenge.
const CHALLENGE_ATTEMPTS: i64 = 5;

/// A recovery code: ten base32 characters shown as `xxxxx-xxxxx`.
fn new_recovery_code() -> String {
    let mut bytes = [0u8; 7];
    rand::thread_rng().fill_bytes(&mut bytes);
    let text = kabinet_domain::totp::base32_encode(&bytes).to_lowercase();
    format!("{}-{}", &text[..5], &text[5..10])
}

/// Recovery codes are random, so a fast hash is enough; dashes, spaces and
/// case do not matter when they are typed.
fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    secret_hash(&format!("recovery:{normal}"))
}

/// A new session: the cookie value (shown to the browser only) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
    pub user_id: i64,
    pub login: String,
    pub must_change_password: bool,
}

/// What the first start created.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub provider_id: i64,
    /// The password of the new `admin`, when one was generated.
    pub generated_admin_password: Option<String>,
    pub created: bool,
}

/// The throttling key of the request's address.
pub(crate) fn address_key(origin: &Origin) -> String {
    format!("ip:{}", origin.ip.as_deref().unwrap_or("unknown"))
}

/// Whether a person may act from the request's address (B5). Stored rules
/// that no longer parse refuse every address rather than allow all.
pub(crate) fn check_address(user: &UserRecord, origin: &Origin) -> Result<(), ServiceError> {
    let Ok(rules) = IpRules::parse(user.card.ip_rules.iter().map(String::as_str)) else {
        return Err(ServiceError::Unauthenticated);
    };
    let ip = origin.ip.as_deref().and_then(|ip| ip.parse().ok());
    if rules.allows(ip) {
        Ok(())
    } else {
        Err(ServiceError::Unauthenticated)
    }
}

/// Why a person whose credential checked out still gets no session: not
/// active, not from an allowed address, or their company deleted. Every
/// way of signing in (password, passkey, device PIN) asks this.
pub(crate) async fn refusal(
    conn: &mut AnyConnection,
    user: &UserRecord,
    origin: &Origin,
) -> Result<Option<&'static str>, ServiceError> {
    if user.status != "active" {
        return Ok(Some("not_active"));
    }
    if check_address(user, origin).is_err() {
        return Ok(Some("address_not_allowed"));
    }
    Ok(match companies::get(conn, user.company_id).await? {
        Some(c) if c.deleted_at.is_none() => None,
        _ => Some("company_deleted"),
    })
}

/// How long the request's address must wait after too many failures
/// (0: it may try).
pub(crate) async fn address_wait(
    conn: &mut AnyConnection,
    origin: &Origin,
    now: i64,
) -> Result<i64, ServiceError> {
    let (failures, last) =
        throttle::failures_since(conn, &address_key(origin), now - throttle_rule::WINDOW_MS)
            .await?;
    Ok(throttle_rule::remaining(
        failures,
        throttle_rule::FREE_PER_ADDRESS,
        last,
        now,
    ))
}

pub(crate) async fn audit_sign_in(
    conn: &mut AnyConnection,
    user: Option<&UserRecord>,
    login: &str,
    action: &str,
    reason: Option<&str>,
    origin: &Origin,
) -> Result<(), ServiceError> {
    let entry = kabinet_store::audit::AuditEntry {
        at: now_ms(),
        actor_user_id: user.map(|u| u.id),
        actor_login: Some(login.chars().take(100).collect()),
        action: action.to_string(),
        entity_type: "user".to_string(),
        entity_id: user.map(|u| u.id.to_string()),
        ip: origin.ip.clone(),
        details: reason.map(str::to_string),
        ..Default::default()
    };
    audit_store::insert(conn, &entry).await?;
    Ok(())
}

impl Services {
    /// Creates the provider company and `admin` on an empty database.
    /// `admin_password` comes from `KABINET_ADMIN_PASSWORD`; without it a
    /// password is generated and returned once.
    pub async fn bootstrap(
        &self,
        provider_name: &str,
        admin_password: Option<String>,
    ) -> Result<Bootstrap, ServiceError> {
        let mut tx = self.store.begin().await?;
        if let Some(provider) = companies::provider(&mut tx).await? {
            commit(tx).await?;
            return Ok(Bootstrap {
                provider_id: provider.id,
                generated_admin_password: None,
                created: false,
            });
        }
        let now = now_ms();
        let draft = CompanyDraft {
            name: provider_name.to_string(),
            short_id: None,
            account_number: None,
            pbx_number: None,
            multichannel_number: None,
            phones: Vec::new(),
            region: None,
            macroregion: None,
            inns: Vec::new(),
            kpp: None,
            ogrn: None,
            bik: None,
            bank: None,
            correspondent_account: None,
            settlement_account: None,
            legal_address: None,
            postal_address: None,
            email: None,
            phone: None,
            timezone: None,
            max_dialogs_per_operator: kabinet_domain::company::DEFAULT_MAX_DIALOGS_PER_OPERATOR,
            tariff: None,
            is_reseller: false,
            credit_limit: None,
            balance_threshold: None,
            fz230_enabled: false,
            parent_id: None,
        };
        let fields = CompanyFields {
            is_provider: true,
            name_sort: search_fold(&draft.name),
            search_text: draft.search_text(),
            name: draft.name.clone(),
            max_dialogs_per_operator: draft.max_dialogs_per_operator,
            ..CompanyFields::default()
        };
        let provider_id = companies::insert(&mut tx, &fields, "", now).await?;
        let (password, generated) = match admin_password {
            Some(p) => {
                check_new_password(&p)?;
                (p, None)
            }
            None => {
                let p = generate_password();
                (p.clone(), Some(p))
            }
        };
        let hash = hash_password(password).await?;
        let admin = NewUser {
            company_id: provider_id,
            login: "admin".to_string(),
            first_name: "Administrator".to_string(),
            last_name: "Kabinet".to_string(),
            email: None,
            kind: "staff".to_string(),
            full_access: true,
            password_hash: hash,
        };
        let admin_id = users::insert(&mut tx, &admin, now).await?;
        // B2: "Sales" and "Technical support" exist from the start, with no rights.
        for (order, (ru, en)) in [
            ("Продажи", "Sales"),
            ("Техническая поддержка", "Technical support"),
        ]
        .into_iter()
        .enumerate()
        {
            let fields = kabinet_store::departments::DepartmentFields {
                name_ru: ru.to_string(),
                name_en: en.to_string(),
                schedule: "{}".to_string(),
                task_language: "ru".to_string(),
                support: "{}".to_string(),
                sort_order: order as i64 + 1,
            };
            kabinet_store::departments::insert(&mut tx, provider_id, &fields, now).await?;
        }
        let entry = kabinet_store::audit::AuditEntry {
            at: now,
            action: "system.bootstrap".to_string(),
            entity_type: "company".to_string(),
            entity_id: Some(provider_id.to_string()),
            details: Some(format!(
                "provider company and admin user {admin_id} created"
            )),
            ..Default::default()
        };
        audit_store::insert(&mut tx, &entry).await?;
        commit(tx).await?;
        Ok(Bootstrap {
            provider_id,
            generated_admin_password: generated,
            created: true,
        })
    }

    /// Signs in by login and password, creating a server-side session.
    /// Every attempt is audited; the reason of a failure is recorded but
    /// never told to the caller.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<SignIn, ServiceError> {
        let login = &typed_identifier(login);
        // Throttling first, so a throttled attempt costs no password hash.
        let now = now_ms();
        let login_key = format!("login:{}", login.trim().to_lowercase());
        let ip_key = address_key(origin);
        let wait = {
            let mut conn = self.store.reader().await?;
            let since = now - throttle_rule::WINDOW_MS;
            let (by_login, last_login) =
                throttle::failures_since(&mut conn, &login_key, since).await?;
            throttle_rule::remaining(by_login, throttle_rule::FREE_PER_ACCOUNT, last_login, now)
                .max(address_wait(&mut conn, origin, now).await?)
        };
        if wait > 0 {
            let mut tx = self.store.begin().await?;
            let user = users::by_login(&mut tx, login.trim()).await?;
            audit_sign_in(
                &mut tx,
                user.as_ref(),
                login,
                "auth.login_throttled",
                Some("too_many_failures"),
                origin,
            )
            .await?;
            commit(tx).await?;
            return Err(ServiceError::Throttled {
                retry_after_ms: wait,
            });
        }
        let user = {
            let mut conn = self.store.reader().await?;
            users::by_login(&mut conn, login.trim()).await?
        };
        let verified = verify_password(
            password.to_string(),
            user.as_ref().and_then(|u| u.password_hash.clone()),
        )
        .await?;
        let mut tx = self.store.begin().await?;
        let failure = match &user {
            None => Some("unknown_login"),
            Some(_) if !verified => Some("wrong_password"),
            Some(u) => refusal(&mut tx, u, origin).await?,
        };
        let (Some(user), None) = (&user, failure) else {
            audit_sign_in(
                &mut tx,
                user.as_ref(),
                login,
                "auth.login_failed",
                failure,
                origin,
            )
            .await?;
            throttle::record_failure(&mut tx, &login_key, now).await?;
            throttle::record_failure(&mut tx, &ip_key, now).await?;
            // The attempt that starts the waits tells the person (by e-mail,
            // through the outbox) that someone is guessing their password.
            let (count, _) =
                throttle::failures_since(&mut tx, &login_key, now - throttle_rule::WINDOW_MS)
                    .await?;
            if let (Some(u), true) = (&user, count == throttle_rule::FREE_PER_ACCOUNT) {
                let payload = serde_json::json!({"user_id": u.id, "login": u.login, "email": u.email, "ip": origin.ip});
                kabinet_store::outbox::insert_event(
                    &mut tx,
                    now,
                    "user.sign_in_locked",
                    "user",
                    &u.id.to_string(),
                    &payload.to_string(),
                )
                .await?;
                let text = format!(
                    "Здравствуйте, {first}!\n\nК вашему логину {login} в Кабинете несколько раз подряд \
                     ввели неверный пароль (последний раз с адреса {ip}). Вход временно замедлен.\n\
                     Если это были не вы, смените пароль или попросите администратора проверить доступ.\n\n---\n\n\
                     Hello {first},\n\nSomeone entered a wrong password for your Kabinet login {login} \
                     several times in a row (last from {ip}). Sign-in is slowed down for a while.\n\
                     If it was not you, change your password or ask an administrator to check your access.\n",
                    first = u.first_name,
                    login = u.login,
                    ip = origin.ip.as_deref().unwrap_or("?"),
                );
                crate::messages::queue_email(
                    &mut tx,
                    u,
                    "Кабинет: неудачные попытки входа / Kabinet: failed sign-in attempts",
                    &text,
                )
                .await?;
            }
            commit(tx).await?;
            return Err(ServiceError::InvalidCredentials);
        };
        throttle::clear(&mut tx, &login_key).await?;
        // ASVS 2.1.7: a password that the policy refuses today (a common
        // one, or shorter than the minimum, set before the rule existed)
        // still signs in, but must be replaced before anything else.
        let flagged;
        let user = if !user.card.must_change_password && password_below_policy(password) {
            users::require_password_change(&mut tx, user.id, now).await?;
            audit_sign_in(
                &mut tx,
                Some(user),
                &user.login,
                "user.password_change_required",
                Some("password below the policy: common or too short"),
                origin,
            )
            .await?;
            let mut changed = user.clone();
            changed.card.must_change_password = true;
            flagged = changed;
            &flagged
        } else {
            user
        };
        // M6: group admins always confirm with an SMS code; others when
        // their company asks for it. Otherwise TOTP, where it is on.
        let sms_required = user.kind == "group_admin"
            || second_factor::company_requires_sms(&mut tx, user.company_id).await?;
        let totp = second_factor::totp_state(&mut tx, user.id).await?.enabled;
        if totp && !sms_required {
            return self.totp_challenge(tx, user, origin).await;
        }
        if sms_required {
            let Some(phone) = user.card.mobile_phone.clone() else {
                audit_sign_in(
                    &mut tx,
                    Some(user),
                    &user.login,
                    "auth.login_failed",
                    Some("sms_required_without_mobile_phone"),
                    origin,
                )
                .await?;
                commit(tx).await?;
                return Err(ServiceError::Conflict {
                    code: "sms.no_phone",
                    detail: None,
                });
            };
            let challenge = random_secret();
            let id_hash = secret_hash(&challenge);
            let now = now_ms();
            second_factor::insert_challenge(&mut tx, &id_hash, user.id, now, now + CHALLENGE_MS)
                .await?;
            send_sms_code(&mut tx, user, &phone, &id_hash, now).await?;
            audit_sign_in(
                &mut tx,
                Some(user),
                &user.login,
                "auth.password_accepted",
                Some("SMS code sent"),
                origin,
            )
            .await?;
            commit(tx).await?;
            return Ok(SignIn::SecondFactor {
                challenge,
                methods: vec!["sms"],
                phone_hint: Some(phone_hint(&phone)),
            });
        }
        let session = self.open_session(&mut tx, user, origin, None).await?;
        commit(tx).await?;
        Ok(SignIn::Session(session))
    }

    /// The password was right and TOTP is on: the session waits for a code.
    async fn totp_challenge(
        &self,
        mut tx: kabinet_store::Tx,
        user: &UserRecord,
        origin: &Origin,
    ) -> Result<SignIn, ServiceError> {
        let challenge = random_secret();
        let now = now_ms();
        second_factor::insert_challenge(
            &mut tx,
            &secret_hash(&challenge),
            user.id,
            now,
            now + CHALLENGE_MS,
        )
        .await?;
        audit_sign_in(
            &mut tx,
            Some(user),
            &user.login,
            "auth.password_accepted",
            Some("second factor required"),
            origin,
        )
        .await?;
        commit(tx).await?;
        Ok(SignIn::SecondFactor {
            challenge,
            methods: vec!["totp", "recovery_code"],
            phone_hint: None,
        })
    }

    /// Sends a new SMS code for a pending sign-in; the old code stops
    /// working. One per minute, three per sign-in.
    pub async fn resend_sms_code(
        &self,
        challenge: &str,
        origin: &Origin,
    ) -> Result<String, ServiceError> {
        let id_hash = secret_hash(challenge.trim());
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let pending = match second_factor::challenge(&mut tx, &id_hash).await? {
            Some(p) if p.expires_at > now && p.attempts < CHALLENGE_ATTEMPTS => p,
            _ => {
                return Err(ServiceError::Conflict {
                    code: "challenge.expired",
                    detail: None,
                })
            }
        };
        let Some(sent_at) = pending.sms_sent_at else {
            return Err(ServiceError::Conflict {
                code: "sms.not_this_sign_in",
                detail: None,
            });
        };
        if now - sent_at < SMS_RESEND_MS {
            return Err(ServiceError::Throttled {
                retry_after_ms: SMS_RESEND_MS - (now - sent_at),
            });
        }
        if pending.sms_sends >= SMS_SENDS {
            return Err(ServiceError::Conflict {
                code: "sms.resend_limit",
                detail: None,
            });
        }
        let user = users::by_id(&mut tx, pending.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let phone = user
            .card
            .mobile_phone
            .clone()
            .ok_or(ServiceError::Conflict {
                code: "sms.no_phone",
                detail: None,
            })?;
        send_sms_code(&mut tx, &user, &phone, &id_hash, now).await?;
        audit_sign_in(
            &mut tx,
            Some(&user),
            &user.login,
            "auth.sms_code_resent",
            None,
            origin,
        )
        .await?;
        commit(tx).await?;
        Ok(phone_hint(&phone))
    }

    /// Creates a session for a person whose sign-in is complete, and audits it.
    pub(crate) async fn open_session(
        &self,
        tx: &mut AnyConnection,
        user: &UserRecord,
        origin: &Origin,
        second_factor: Option<&str>,
    ) -> Result<NewSession, ServiceError> {
        let now = now_ms();
        let secret = random_secret();
        let session = SessionRecord {
            id_hash: secret_hash(&secret),
            user_id: user.id,
            csrf_token: random_secret(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.settings.session_absolute_hours * 3_600_000,
            ip: origin.ip.clone(),
        };
        sessions::insert_session(tx, &session, origin.user_agent.as_deref()).await?;
        audit_sign_in(
            tx,
            Some(user),
            &user.login,
            "auth.login",
            second_factor,
            origin,
        )
        .await?;
        Ok(NewSession {
            secret,
            csrf_token: session.csrf_token,
            user_id: user.id,
            login: user.login.clone(),
            must_change_password: user.card.must_change_password,
        })
    }

    /// Completes a sign-in that needs a second factor: a TOTP code (each
    /// code works once) or an unused recovery code. A challenge lasts
    /// 10 minutes and allows 5 wrong codes; then the password is asked again.
    pub async fn complete_second_factor(
        &self,
        challenge: &str,
        code: &str,
        origin: &Origin,
    ) -> Result<NewSession, ServiceError> {
        let id_hash = secret_hash(challenge.trim());
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let Some(pending) = second_factor::challenge(&mut tx, &id_hash).await? else {
            return Err(ServiceError::Conflict {
                code: "challenge.expired",
                detail: None,
            });
        };
        if pending.expires_at <= now || pending.attempts >= CHALLENGE_ATTEMPTS {
            second_factor::delete_challenge(&mut tx, &id_hash).await?;
            commit(tx).await?;
            return Err(ServiceError::Conflict {
                code: "challenge.expired",
                detail: None,
            });
        }
        let user = users::by_id(&mut tx, pending.user_id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if let Some(expected) = &pending.sms_code_hash {
            // An SMS sign-in takes only its latest SMS code, within its time.
            let fresh = pending
                .sms_sent_at
                .is_some_and(|sent| now - sent < SMS_CODE_MS);
            let right = fresh && sms_code_hash(&id_hash, code) == *expected;
            if !right {
                second_factor::count_failed_attempt(&mut tx, &id_hash).await?;
                audit_sign_in(
                    &mut tx,
                    Some(&user),
                    &user.login,
                    "auth.login_failed",
                    Some(if fresh {
                        "wrong_sms_code"
                    } else {
                        "sms_code_expired"
                    }),
                    origin,
                )
                .await?;
                commit(tx).await?;
                return Err(ServiceError::InvalidCredentials);
            }
            second_factor::delete_challenge(&mut tx, &id_hash).await?;
            let session = self
                .open_session(&mut tx, &user, origin, Some("second factor: sms"))
                .await?;
            commit(tx).await?;
            return Ok(session);
        }
        let state = second_factor::totp_state(&mut tx, user.id).await?;
        let secret = state
            .secret
            .as_deref()
            .and_then(kabinet_domain::totp::base32_decode)
            .unwrap_or_default();
        let by_totp = match kabinet_domain::totp::verify(&secret, code, now / 1000, state.last_step)
        {
            Some(step) => second_factor::use_step(&mut tx, user.id, step).await?,
            None => false,
        };
        let by_recovery = !by_totp
            && second_factor::use_recovery_code(&mut tx, user.id, &recovery_hash(code), now)
                .await?;
        if !by_totp && !by_recovery {
            second_factor::count_failed_attempt(&mut tx, &id_hash).await?;
            audit_sign_in(
                &mut tx,
                Some(&user),
                &user.login,
                "auth.login_failed",
                Some("wrong_second_factor"),
                origin,
            )
            .await?;
            commit(tx).await?;
            return Err(ServiceError::InvalidCredentials);
        }
        second_factor::delete_challenge(&mut tx, &id_hash).await?;
        let method = if by_totp {
            "second factor: totp"
        } else {
            "second factor: recovery code"
        };
        let session = self
            .open_session(&mut tx, &user, origin, Some(method))
            .await?;
        commit(tx).await?;
        Ok(session)
    }

    /// Starts TOTP enrolment: a new secret, shown once as a QR code and as
    /// text. Nothing changes at sign-in until a code confirms it.
    pub async fn totp_begin(&self, actor: &Actor) -> Result<(String, String), ServiceError> {
        if actor.must_change_password {
            return Err(ServiceError::PasswordChangeRequired);
        }
        actor.require_recent_sign_in()?;
        let mut tx = self.store.begin().await?;
        if second_factor::totp_state(&mut tx, actor.user_id)
            .await?
            .enabled
        {
            return Err(ServiceError::Conflict {
                code: "totp.already_enabled",
                detail: None,
            });
        }
        let mut bytes = [0u8; 20];
        rand::thread_rng().fill_bytes(&mut bytes);
        let secret = kabinet_domain::totp::base32_encode(&bytes);
        second_factor::set_pending_secret(&mut tx, actor.user_id, &secret).await?;
        commit(tx).await?;
        let uri = kabinet_domain::totp::otpauth_uri(&secret, "Kabinet", &actor.login);
        Ok((secret, uri))
    }

    /// Confirms enrolment with a code from the app; returns ten single-use
    /// recovery codes, shown once.
    pub async fn totp_confirm(
        &self,
        actor: &Actor,
        code: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let mut tx = self.store.begin().await?;
        let state = second_factor::totp_state(&mut tx, actor.user_id).await?;
        if state.enabled {
            return Err(ServiceError::Conflict {
                code: "totp.already_enabled",
                detail: None,
            });
        }
        let secret = state
            .secret
            .as_deref()
            .and_then(kabinet_domain::totp::base32_decode)
            .ok_or(ServiceError::Conflict {
                code: "totp.not_started",
                detail: None,
            })?;
        let Some(step) = kabinet_domain::totp::verify(&secret, code, now_ms() / 1000, None) else {
            return Err(ServiceError::Validation(vec![
                kabinet_domain::FieldError::new("code", "totp.wrong_code"),
            ]));
        };
        second_factor::enable(&mut tx, actor.user_id, step).await?;
        let codes: Vec<String> = (0..10).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
        second_factor::replace_recovery_codes(&mut tx, actor.user_id, &hashes).await?;
        crate::audit::record(
            &mut tx,
            actor,
            "user.totp_enabled",
            "user",
            Some(actor.user_id.to_string()),
            None,
            None,
            None,
        )
        .await?;
        if let Some(user) = users::by_id(&mut tx, actor.user_id).await? {
            crate::messages::notify_sign_in_change(
                &mut tx,
                &user,
                "Для входа включён второй фактор: код из приложения-аутентификатора.",
                "A second factor was turned on for your sign-in: codes from an authenticator app.",
            )
            .await?;
        }
        commit(tx).await?;
        Ok(codes)
    }

    /// Asks for the password again before a change to how one signs in
    /// (ASVS 3.7.1); a wrong one is a field error on `password`.
    pub(crate) async fn reauthenticate(
        &self,
        actor: &Actor,
        password: &str,
    ) -> Result<UserRecord, ServiceError> {
        let user = {
            let mut conn = self.store.reader().await?;
            users::by_id(&mut conn, actor.user_id)
                .await?
                .ok_or(ServiceError::Unauthenticated)?
        };
        if !verify_password(password.to_string(), user.password_hash.clone()).await? {
            return Err(ServiceError::Validation(vec![
                kabinet_domain::FieldError::new("password", "password.wrong"),
            ]));
        }
        Ok(user)
    }

    /// Turns the second factor off after checking the password.
    pub async fn totp_disable(&self, actor: &Actor, password: &str) -> Result<(), ServiceError> {
        let user = self.reauthenticate(actor, password).await?;
        let mut tx = self.store.begin().await?;
        second_factor::disable(&mut tx, actor.user_id).await?;
        crate::messages::notify_sign_in_change(
            &mut tx,
            &user,
            "Второй фактор (приложение-аутентификатор) для входа выключен.",
            "The second factor (authenticator app) of your sign-in was turned off.",
        )
        .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "user.totp_disabled",
            "user",
            Some(actor.user_id.to_string()),
            None,
            None,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Whether TOTP is on, and how many recovery codes are left.
    pub async fn totp_status(&self, actor: &Actor) -> Result<(bool, i64), ServiceError> {
        let mut conn = self.store.reader().await?;
        let state = second_factor::totp_state(&mut conn, actor.user_id).await?;
        let left = second_factor::remaining_recovery_codes(&mut conn, actor.user_id).await?;
        Ok((state.enabled, left))
    }

    /// Loads the person behind a live user id, checking that they and their
    /// company are still active. The person's record comes as the cached
    /// resolution (`.user`), shared rather than copied per request.
    pub(crate) async fn actor_for_user(
        &self,
        conn: &mut AnyConnection,
        user_id: i64,
        origin: &Origin,
    ) -> Result<(Actor, Arc<Resolved>), ServiceError> {
        // The epoch first: a change committed after it moves it on, so the
        // next request reads again whatever this one read.
        let epoch = sessions::auth_epoch(conn).await?;
        self.actor_at_epoch(Some(conn), user_id, epoch, origin)
            .await
    }

    /// [`Services::actor_for_user`] with the authorisation epoch already
    /// read (before anything about the person). Without a connection, one
    /// is taken from the pool only when the person is not cached.
    pub(crate) async fn actor_at_epoch(
        &self,
        conn: Option<&mut AnyConnection>,
        user_id: i64,
        epoch: i64,
        origin: &Origin,
    ) -> Result<(Actor, Arc<Resolved>), ServiceError> {
        let resolved = match self.auth_cache.get(user_id, epoch) {
            Some(resolved) => resolved,
            None => {
                let resolved = match conn {
                    Some(conn) => resolve_user(conn, user_id).await?,
                    None => resolve_user(&mut *self.store.reader().await?, user_id).await?,
                };
                let resolved = Arc::new(resolved);
                self.auth_cache.put(user_id, epoch, resolved.clone());
                resolved
            }
        };
        let user = &resolved.user;
        let actor = Actor {
            user_id: user.id,
            display_name: format!("{} {}", user.first_name, user.last_name),
            login: user.login.clone(),
            company_id: resolved.company_id,
            company_name: resolved.company_name.clone(),
            scope_path: resolved.scope_path.clone(),
            group_company_id: resolved.group_company_id,
            linked_paths: resolved.linked_paths.clone(),
            grants: resolved.grants,
            ip: origin.ip.clone(),
            on_behalf_of: None,
            acting: None,
            must_change_password: user.card.must_change_password,
            signed_in_at: None,
            read_epochs: None,
        };
        Ok((actor, resolved))
    }

    /// Resolves a session cookie to its actor and CSRF token.
    pub async fn authenticate_session(
        &self,
        secret: &str,
        origin: &Origin,
    ) -> Result<(Actor, String), ServiceError> {
        let id_hash = secret_hash(secret);
        let mut conn = self.store.reader().await?;
        let (session, read_epochs) = sessions::session(&mut conn, &id_hash)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let now = now_ms();
        let idle_limit = self.settings.session_idle_minutes * 60_000;
        if now >= session.expires_at || now - session.last_seen_at > idle_limit {
            drop(conn);
            let mut tx = self.store.begin().await?;
            sessions::delete_session(&mut tx, &id_hash).await?;
            commit(tx).await?;
            return Err(ServiceError::Unauthenticated);
        }
        let (mut actor, resolved) = self
            .actor_for_user(&mut conn, session.user_id, origin)
            .await?;
        let user = &resolved.user;
        actor.signed_in_at = Some(session.created_at);
        // Read with the session, before anything else: a read-only request
        // may answer from what the store remembers at these epochs. The
        // server takes them away from requests that may write (anything but
        // GET and HEAD), which must not use epochs read before their write.
        actor.read_epochs = Some(read_epochs);
        drop(conn);
        check_address(user, origin)?;
        // Session binding (X11): the session keeps to the address it
        // signed in from, strictly or by recording the change.
        let binding =
            SessionBinding::parse(&user.card.session_binding).unwrap_or(SessionBinding::Strict);
        if binding != SessionBinding::Off && session.ip.is_some() && session.ip != origin.ip {
            if binding == SessionBinding::Strict {
                return Err(ServiceError::Unauthenticated);
            }
            if now - session.last_seen_at > 60_000 {
                let mut tx = self.store.begin().await?;
                let details = format!(
                    "session of {} used from {}",
                    session.ip.clone().unwrap_or_default(),
                    origin.ip.clone().unwrap_or_default()
                );
                audit_sign_in(
                    &mut tx,
                    Some(user),
                    &user.login,
                    "auth.session_address_changed",
                    Some(&details),
                    origin,
                )
                .await?;
                commit(tx).await?;
            }
        }
        // Recording use at most once a minute keeps reads from turning into writes.
        if now - session.last_seen_at > 60_000 {
            let mut tx = self.store.begin().await?;
            sessions::touch_session(&mut tx, &id_hash, now).await?;
            commit(tx).await?;
        }
        Ok((actor, session.csrf_token))
    }

    /// Resolves an `Authorization: Bearer` token to its actor.
    pub async fn authenticate_token(
        &self,
        token: &str,
        origin: &Origin,
    ) -> Result<Actor, ServiceError> {
        if token.starts_with(crate::acting::ACT_PREFIX) {
            return self.authenticate_act_as(token, origin).await;
        }
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(ServiceError::Unauthenticated);
        }
        let hash = secret_hash(token);
        // A read by key: on SQLite it runs here, without the pool; a cached
        // person then needs no other read.
        let live = sessions::find_live_token(&self.store, &hash)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let (token_id, last_used_at) = (live.id, live.last_used_at);
        let (mut actor, resolved) = self
            .actor_at_epoch(None, live.user_id, live.auth_epoch, origin)
            .await?;
        check_address(&resolved.user, origin)?;
        actor.read_epochs = Some(live.read_epochs);
        // Recording use at most once a minute keeps reads from turning into
        // writes (a write per request would queue every API call behind the
        // single SQLite writer).
        let now = now_ms();
        if last_used_at.is_none_or(|at| now - at > 60_000) {
            let mut tx = self.store.begin().await?;
            sessions::touch_token(&mut tx, token_id, now).await?;
            commit(tx).await?;
        }
        Ok(actor)
    }

    /// Ends a session on the server.
    pub async fn logout(&self, actor: &Actor, secret: &str) -> Result<(), ServiceError> {
        let mut tx = self.store.begin().await?;
        sessions::delete_session(&mut tx, &secret_hash(secret)).await?;
        crate::audit::record(
            &mut tx,
            actor,
            "auth.logout",
            "user",
            Some(actor.user_id.to_string()),
            None,
            None,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Creates a named API token for the actor; the secret is returned once.
    pub async fn token_create(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<(TokenRecord, String), ServiceError> {
        actor.require(Function::ApiTokensOwn)?;
        actor.require_recent_sign_in()?;
        let name = kabinet_domain::text::required_text(name, 100).map_err(|code| {
            ServiceError::Validation(vec![kabinet_domain::FieldError::new("name", code)])
        })?;
        let secret = format!("{TOKEN_PREFIX}{}", random_secret());
        let prefix: String = secret.chars().take(TOKEN_PREFIX.len() + 8).collect();
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let id = sessions::insert_token(
            &mut tx,
            actor.user_id,
            &name,
            &secret_hash(&secret),
            &prefix,
            now,
        )
        .await?;
        let after = serde_json::json!({"id": id, "name": name, "prefix": prefix});
        crate::audit::record(
            &mut tx,
            actor,
            "token.create",
            "api_token",
            Some(id.to_string()),
            None,
            Some(&after),
            None,
        )
        .await?;
        commit(tx).await?;
        let record = TokenRecord {
            id,
            user_id: actor.user_id,
            name,
            prefix,
            created_at: now,
            last_used_at: None,
        };
        Ok((record, secret))
    }

    pub async fn token_list(&self, actor: &Actor) -> Result<Vec<TokenRecord>, ServiceError> {
        actor.require(Function::ApiTokensOwn)?;
        let mut conn = self.store.reader().await?;
        Ok(sessions::tokens_of_user(&mut conn, actor.user_id).await?)
    }

    pub async fn token_revoke(&self, actor: &Actor, id: i64) -> Result<(), ServiceError> {
        actor.require(Function::ApiTokensOwn)?;
        let mut tx = self.store.begin().await?;
        let token = sessions::revoke_token(&mut tx, actor.user_id, id, now_ms())
            .await?
            .ok_or(ServiceError::NotFound)?;
        let before =
            serde_json::json!({"id": token.id, "name": token.name, "prefix": token.prefix});
        crate::audit::record(
            &mut tx,
            actor,
            "token.revoke",
            "api_token",
            Some(id.to_string()),
            Some(&before),
            None,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Creates a token for a login from the command line (`kabinet token create`).
    pub async fn token_create_for_login(
        &self,
        login: &str,
        name: &str,
    ) -> Result<String, ServiceError> {
        let user = {
            let mut conn = self.store.reader().await?;
            users::by_login(&mut conn, login)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        let actor = {
            let mut conn = self.store.reader().await?;
            let (mut actor, _) = self
                .actor_for_user(&mut conn, user.id, &Origin::default())
                .await?;
            actor.ip = Some("cli".to_string());
            actor
        };
        let (_, secret) = self.token_create(&actor, name).await?;
        Ok(secret)
    }

    /// Sets a new password for a login from the command line, ending its sessions.
    pub async fn reset_password(
        &self,
        login: &str,
        new_password: Option<String>,
    ) -> Result<String, ServiceError> {
        let password = match new_password {
            Some(p) => {
                check_new_password(&p)?;
                p
            }
            None => generate_password(),
        };
        let user = {
            let mut conn = self.store.reader().await?;
            users::by_login(&mut conn, login)
                .await?
                .ok_or(ServiceError::NotFound)?
        };
        let hash = hash_password(password.clone()).await?;
        let mut tx = self.store.begin().await?;
        let now = now_ms();
        users::set_password_hash(&mut tx, user.id, &hash, now).await?;
        sessions::revoke_all_for_users(&mut tx, &[user.id], now).await?;
        crate::messages::notify_sign_in_change(
            &mut tx,
            &user,
            "Пароль к вашей учётной записи сброшен администратором сервера; все сеансы, токены и доверенные устройства завершены.",
            "The password of your account was reset by the server's administrator; all sessions, tokens and trusted devices were ended.",
        )
        .await?;
        let entry = kabinet_store::audit::AuditEntry {
            at: now,
            actor_login: Some("cli".to_string()),
            action: "user.password_reset".to_string(),
            entity_type: "user".to_string(),
            entity_id: Some(user.id.to_string()),
            details: Some(
                "password reset from the command line; sessions and tokens revoked".to_string(),
            ),
            ..Default::default()
        };
        audit_store::insert(&mut tx, &entry).await?;
        commit(tx).await?;
        Ok(password)
    }
}

impl Services {
    /// A person changes their own password: the current one is checked, the
    /// new one must pass the policy and differ, every other session and
    /// token of theirs ends, and a forced change is cleared.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        current_password: &str,
        new_password: &str,
        keep_session_secret: Option<&str>,
    ) -> Result<(), ServiceError> {
        let user = {
            let mut conn = self.store.reader().await?;
            users::by_id(&mut conn, actor.user_id)
                .await?
                .ok_or(ServiceError::Unauthenticated)?
        };
        if !verify_password(current_password.to_string(), user.password_hash.clone()).await? {
            return Err(ServiceError::Validation(vec![
                kabinet_domain::FieldError::new("current_password", "password.wrong"),
            ]));
        }
        check_new_password(new_password)?;
        if new_password == current_password {
            return Err(ServiceError::Validation(vec![
                kabinet_domain::FieldError::new("new_password", "password.unchanged"),
            ]));
        }
        let hash = hash_password(new_password.to_string()).await?;
        let mut tx = self.store.begin().await?;
        let now = now_ms();
        users::set_own_password(&mut tx, user.id, &hash, now).await?;
        sessions::revoke_others(
            &mut tx,
            user.id,
            keep_session_secret.map(secret_hash).as_deref(),
            now,
        )
        .await?;
        crate::audit::record(
            &mut tx,
            actor,
            "user.password_change",
            "user",
            Some(user.id.to_string()),
            None,
            None,
            Some("own password changed; other sessions and tokens ended".into()),
        )
        .await?;
        crate::messages::notify_sign_in_change(
            &mut tx,
            &user,
            "Ваш пароль изменён; остальные сеансы, токены и доверенные устройства отключены.",
            "Your password was changed; your other sessions, tokens and trusted devices were ended.",
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}

impl Services {
    /// Sign-in of a company's account administrator by the company's
    /// account number and their password (L1). A personal login typed here
    /// is refused with a clear pointer to the ordinary sign-in.
    pub async fn login_by_account_number(
        &self,
        account_number: &str,
        password: &str,
        origin: &Origin,
    ) -> Result<SignIn, ServiceError> {
        let account_number = &typed_identifier(account_number);
        let now = now_ms();
        let ip_key = address_key(origin);
        let admins = {
            let mut conn = self.store.reader().await?;
            let wait = address_wait(&mut conn, origin, now).await?;
            if wait > 0 {
                return Err(ServiceError::Throttled {
                    retry_after_ms: wait,
                });
            }
            users::account_admins_by_account_number(&mut conn, account_number).await?
        };
        match admins.as_slice() {
            [admin] => self.login(&admin.login, password, origin).await,
            _ => {
                let personal = {
                    let mut conn = self.store.reader().await?;
                    users::by_login(&mut conn, account_number.trim()).await?
                };
                let mut tx = self.store.begin().await?;
                let reason = match (&personal, admins.len()) {
                    (Some(_), 0) => "personal_login_on_account_form",
                    (_, 0) => "unknown_account_number",
                    _ => "several_account_admins",
                };
                // Guessing account numbers counts against the address like
                // guessing passwords does.
                throttle::record_failure(&mut tx, &ip_key, now).await?;
                audit_sign_in(
                    &mut tx,
                    personal.as_ref(),
                    account_number,
                    "auth.login_failed",
                    Some(reason),
                    origin,
                )
                .await?;
                commit(tx).await?;
                if reason == "personal_login_on_account_form" {
                    return Err(ServiceError::Conflict {
                        code: "login.personal_on_account_form",
                        detail: None,
                    });
                }
                Err(ServiceError::InvalidCredentials)
            }
        }
    }
}

/// A live person with their live company, their rights (read on every
/// change of the authorisation epoch: a change of rights applies to the
/// next request) and their group scope.
async fn resolve_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<crate::auth_cache::Resolved, ServiceError> {
    let user = users::by_id(conn, user_id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if user.status != "active" {
        return Err(ServiceError::Unauthenticated);
    }
    let company = companies::get(conn, user.company_id)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if company.deleted_at.is_some() {
        return Err(ServiceError::Unauthenticated);
    }
    let grants = crate::departments::grants_of(conn, &user).await?;
    let (group_company_id, linked_paths) =
        crate::groups::group_scope(conn, &user, &company).await?;
    Ok(crate::auth_cache::Resolved {
        user,
        company_id: company.id,
        company_name: company.fields.name,
        scope_path: company.path,
        grants,
        group_company_id,
        linked_paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(random_secret().len(), 64);
    }
}
