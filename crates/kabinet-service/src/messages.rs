//! Messages to people (e-mail now, SMS later) and the flows built on them:
//! one-time links to set a first password and to recover a lost one.
//!
//! Every message is written to the outbox in the same transaction as the
//! change that causes it. Without a configured mail server they stay there
//! and an admin reads them on the Outbox page, so every flow can be finished.

use kabinet_domain::access::Function;
use kabinet_store::outbox::{self, OutboxEntry};
use kabinet_store::users::{self, UserRecord};
use kabinet_store::{commit, sessions, AnyConnection};

use crate::auth::{check_new_password, hash_password, random_secret, secret_hash};
use crate::{now_ms, Actor, Origin, ServiceError, Services};

/// How long a first-password link works.
pub const SET_LINK_HOURS: i64 = 72;
/// How long a recovery link works.
pub const RESET_LINK_MINUTES: i64 = 60;

/// Writes an e-mail to the outbox. The text is bilingual: Russian first,
/// then English.
pub(crate) async fn queue_email(
    conn: &mut AnyConnection,
    user: &UserRecord,
    subject: &str,
    text: &str,
) -> Result<(), ServiceError> {
    queue_email_marked(conn, user, subject, text, false).await
}

/// [`queue_email`] for a text with a secret in it (a generated password):
/// marked `sensitive`, so the delivery worker keeps only its recipient once
/// the mail server took it.
pub(crate) async fn queue_sensitive_email(
    conn: &mut AnyConnection,
    user: &UserRecord,
    subject: &str,
    text: &str,
) -> Result<(), ServiceError> {
    queue_email_marked(conn, user, subject, text, true).await
}

async fn queue_email_marked(
    conn: &mut AnyConnection,
    user: &UserRecord,
    subject: &str,
    text: &str,
    sensitive: bool,
) -> Result<(), ServiceError> {
    let Some(to) = &user.email else {
        return Ok(());
    };
    let mut payload = serde_json::json!({"to": to, "subject": subject, "text": text});
    if sensitive {
        payload["sensitive"] = serde_json::Value::Bool(true);
    }
    outbox::insert_event(
        conn,
        now_ms(),
        "email",
        "user",
        &user.id.to_string(),
        &payload.to_string(),
    )
    .await?;
    Ok(())
}

/// Tells a person by e-mail that how they sign in changed (a password, a
/// second factor, a passkey, a trusted device): ASVS 2.2.3 and 2.5.5. `ru`
/// and `en` say what happened.
pub(crate) async fn notify_sign_in_change(
    conn: &mut AnyConnection,
    user: &UserRecord,
    ru: &str,
    en: &str,
) -> Result<(), ServiceError> {
    let text = format!(
        "Здравствуйте, {first}!\n\n{ru}\nЕсли это были не вы, срочно смените пароль и сообщите администратору.\n\n---\n\n\
         Hello {first},\n\n{en}\nIf it was not you, change your password at once and tell an administrator.\n",
        first = user.first_name
    );
    queue_email(
        conn,
        user,
        "Кабинет: изменены способы входа / Kabinet: your sign-in methods changed",
        &text,
    )
    .await
}

/// Writes an SMS to the outbox. `sensitive` (a sign-in code): the text is
/// removed from the outbox once the gateway took it.
pub(crate) async fn queue_sms(
    conn: &mut AnyConnection,
    user: &UserRecord,
    phone: &str,
    text: &str,
    sensitive: bool,
) -> Result<(), ServiceError> {
    let payload = serde_json::json!({"to": phone, "text": text, "sensitive": sensitive});
    outbox::insert_event(
        conn,
        now_ms(),
        "sms",
        "user",
        &user.id.to_string(),
        &payload.to_string(),
    )
    .await?;
    Ok(())
}

/// Creates a one-time link and returns the page address with its secret in
/// the fragment (`#…`): browsers never send a fragment to a server, so the
/// secret stays out of access logs and proxies.
pub(crate) async fn create_link(
    conn: &mut AnyConnection,
    public_url: &str,
    user_id: i64,
    purpose: &str,
    lifetime_ms: i64,
) -> Result<String, ServiceError> {
    let secret = random_secret();
    let now = now_ms();
    users::insert_password_link(
        conn,
        &secret_hash(&secret),
        user_id,
        purpose,
        now,
        now + lifetime_ms,
    )
    .await?;
    Ok(format!(
        "{}/password/set#{}",
        public_url.trim_end_matches('/'),
        secret
    ))
}

/// The invitation a new person receives when no password was set for them.
pub(crate) async fn invite(
    conn: &mut AnyConnection,
    public_url: &str,
    user: &UserRecord,
) -> Result<(), ServiceError> {
    if user.email.is_none() {
        return Ok(());
    }
    let link = create_link(conn, public_url, user.id, "set", SET_LINK_HOURS * 3_600_000).await?;
    let text = format!(
        "Здравствуйте, {first}!\n\nДля вас создана учётная запись в Кабинете. Ваш логин: {login}\n\
         Задайте пароль по ссылке (она действует {SET_LINK_HOURS} ч и срабатывает один раз):\n{link}\n\n\
         ---\n\nHello {first},\n\nAn account was created for you in Kabinet. Your login: {login}\n\
         Set your password with this link (valid for {SET_LINK_HOURS} h, works once):\n{link}\n",
        first = user.first_name,
        login = user.login,
    );
    queue_email(
        conn,
        user,
        "Кабинет: задайте пароль / Kabinet: set your password",
        &text,
    )
    .await
}

/// The registration a new person receives where the company sends the
/// login and a generated password by e-mail (T4, M6), instead of
/// [`invite`]. The password must be changed at first sign-in.
pub(crate) async fn send_credentials(
    conn: &mut AnyConnection,
    public_url: &str,
    user: &UserRecord,
    password: &str,
) -> Result<(), ServiceError> {
    let address = public_url.trim_end_matches('/');
    let text = format!(
        "Здравствуйте, {first}!\n\nДля вас создана учётная запись в Кабинете.\n\
         Адрес для входа: {address}\nЛогин: {login}\nПароль: {password}\n\
         При первом входе Кабинет попросит сменить этот пароль на свой.\n\n\
         ---\n\nHello {first},\n\nAn account was created for you in Kabinet.\n\
         Sign in at: {address}\nLogin: {login}\nPassword: {password}\n\
         At your first sign-in Kabinet asks you to replace this password with your own.\n",
        first = user.first_name,
        login = user.login,
    );
    queue_sensitive_email(
        conn,
        user,
        "Кабинет: ваш логин и пароль / Kabinet: your login and password",
        &text,
    )
    .await
}

/// Tells a person that their login changed (M6); `password_changed` says
/// whether the same edit also set a new password.
pub(crate) async fn login_changed(
    conn: &mut AnyConnection,
    public_url: &str,
    user: &UserRecord,
    password_changed: bool,
) -> Result<(), ServiceError> {
    let (password_ru, password_en) = if password_changed {
        (
            "Пароль изменён этой же правкой.",
            "Your password was changed in the same edit.",
        )
    } else {
        ("Пароль не изменился.", "Your password did not change.")
    };
    let text = format!(
        "Здравствуйте, {first}!\n\nВаш логин в Кабинете изменён. Теперь ваш логин: {login}\n\
         {password_ru}\nАдрес для входа: {address}\n\n\
         ---\n\nHello {first},\n\nYour Kabinet login was changed. Your login is now: {login}\n\
         {password_en}\nSign in at: {address}\n",
        first = user.first_name,
        login = user.login,
        address = public_url.trim_end_matches('/'),
    );
    queue_email(
        conn,
        user,
        "Кабинет: ваш логин изменён / Kabinet: your login changed",
        &text,
    )
    .await
}

impl Services {
    /// Starts password recovery. The answer is the same whether or not the
    /// account exists (L3); what happened is in the audit log.
    pub async fn recover_password(
        &self,
        login_or_email: &str,
        origin: &Origin,
    ) -> Result<(), ServiceError> {
        let login_or_email = &crate::auth::typed_identifier(login_or_email);
        let mut tx = self.store.begin().await?;
        let user = users::by_login_or_email(&mut tx, login_or_email).await?;
        let outcome = match &user {
            None => "unknown_account",
            Some(u) if u.email.is_none() => "no_email",
            Some(u) if u.status != "active" => "not_active",
            Some(u) => {
                let link = create_link(
                    &mut tx,
                    &self.settings.public_url,
                    u.id,
                    "reset",
                    RESET_LINK_MINUTES * 60_000,
                )
                .await?;
                let text = format!(
                    "Здравствуйте, {first}!\n\nКто-то (надеемся, вы) попросил сменить пароль к Кабинету для логина {login}.\n\
                     Новый пароль можно задать по ссылке (она действует {RESET_LINK_MINUTES} минут и срабатывает один раз):\n{link}\n\
                     Если это были не вы, просто не открывайте ссылку.\n\n---\n\n\
                     Hello {first},\n\nSomeone (hopefully you) asked to reset the Kabinet password of login {login}.\n\
                     Choose a new password with this link (valid for {RESET_LINK_MINUTES} minutes, works once):\n{link}\n\
                     If it was not you, just ignore it.\n",
                    first = u.first_name,
                    login = u.login,
                );
                queue_email(
                    &mut tx,
                    u,
                    "Кабинет: восстановление пароля / Kabinet: password recovery",
                    &text,
                )
                .await?;
                "link_sent"
            }
        };
        let entry = kabinet_store::audit::AuditEntry {
            at: now_ms(),
            actor_user_id: user.as_ref().map(|u| u.id),
            actor_login: Some(login_or_email.chars().take(100).collect()),
            action: "auth.recovery_requested".to_string(),
            entity_type: "user".to_string(),
            entity_id: user.as_ref().map(|u| u.id.to_string()),
            ip: origin.ip.clone(),
            details: Some(outcome.to_string()),
            ..Default::default()
        };
        kabinet_store::audit::insert(&mut tx, &entry).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Sets a password through a one-time link: the link is used up, every
    /// session and token of the person ends, a forced change is cleared.
    pub async fn set_password_by_link(
        &self,
        secret: &str,
        new_password: &str,
        origin: &Origin,
    ) -> Result<(), ServiceError> {
        check_new_password(new_password)?;
        let hash = hash_password(new_password.to_string()).await?;
        let mut tx = self.store.begin().await?;
        let now = now_ms();
        let Some(user_id) =
            users::consume_password_link(&mut tx, &secret_hash(secret.trim()), now).await?
        else {
            return Err(ServiceError::Conflict {
                code: "link.invalid",
                detail: None,
            });
        };
        users::set_own_password(&mut tx, user_id, &hash, now).await?;
        sessions::revoke_all_for_users(&mut tx, &[user_id], now).await?;
        if let Some(user) = users::by_id(&mut tx, user_id).await? {
            notify_sign_in_change(
                &mut tx,
                &user,
                "Пароль к вашей учётной записи задан по одноразовой ссылке; все прежние сеансы, токены и доверенные устройства завершены.",
                "The password of your account was set with a one-time link; all earlier sessions, tokens and trusted devices were ended.",
            )
            .await?;
        }
        let entry = kabinet_store::audit::AuditEntry {
            at: now,
            actor_user_id: Some(user_id),
            action: "user.password_set_by_link".to_string(),
            entity_type: "user".to_string(),
            entity_id: Some(user_id.to_string()),
            ip: origin.ip.clone(),
            details: Some(
                "password set with a one-time link; sessions and tokens ended".to_string(),
            ),
            ..Default::default()
        };
        kabinet_store::audit::insert(&mut tx, &entry).await?;
        commit(tx).await?;
        Ok(())
    }

    /// The outbox, newest first, for admins.
    pub async fn outbox_list(
        &self,
        actor: &Actor,
        topic_prefix: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<OutboxEntry>, i64), ServiceError> {
        actor.require(Function::OutboxView)?;
        // The outbox holds every tenant's messages: the provider's people only.
        if !actor.at_root() {
            return Err(ServiceError::Forbidden(Function::OutboxView));
        }
        let mut conn = self.store.reader().await?;
        Ok(outbox::list(&mut conn, topic_prefix, limit.clamp(1, 500), offset.max(0)).await?)
    }

    /// Puts a message whose delivery gave up back in the queue.
    pub async fn outbox_retry(
        &self,
        actor: &Actor,
        id: i64,
        origin: &Origin,
    ) -> Result<OutboxEntry, ServiceError> {
        actor.require(Function::OutboxRetry)?;
        if !actor.at_root() {
            return Err(ServiceError::Forbidden(Function::OutboxRetry));
        }
        let mut tx = self.store.begin().await?;
        let before = outbox::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !outbox::retry(&mut tx, id).await? {
            return Err(ServiceError::Conflict {
                code: "outbox.not_failed",
                detail: None,
            });
        }
        let entry = kabinet_store::audit::AuditEntry {
            at: now_ms(),
            actor_user_id: Some(actor.user_id),
            actor_login: Some(actor.login.clone()),
            on_behalf_of: actor.on_behalf_of.clone(),
            action: "outbox.retry".to_string(),
            entity_type: "outbox".to_string(),
            entity_id: Some(id.to_string()),
            before_json: Some(
                serde_json::json!({"failed_at": before.failed_at, "attempts": before.attempts, "last_error": before.last_error})
                    .to_string(),
            ),
            after_json: Some(serde_json::json!({"failed_at": null, "attempts": 0}).to_string()),
            ip: origin.ip.clone(),
            ..Default::default()
        };
        kabinet_store::audit::insert(&mut tx, &entry).await?;
        let after = outbox::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        commit(tx).await?;
        Ok(after)
    }
}
