//! TOTP secrets, recovery codes and sign-in challenges.

use sqlx::AnyConnection;

use crate::db::{col, flag, StoreError};

/// A person's TOTP state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// Base32 secret; set while enrolling and once enabled.
    pub secret: Option<String>,
    pub enabled: bool,
    /// The last time step a code was accepted for (no replays).
    pub last_step: Option<i64>,
}

pub async fn totp_state(conn: &mut AnyConnection, user_id: i64) -> Result<TotpState, StoreError> {
    let row =
        sqlx::query("SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(TotpState {
        secret: col(&row, "totp_secret")?,
        enabled: flag(&row, "totp_enabled")?,
        last_step: col(&row, "totp_last_step")?,
    })
}

/// Starts enrolment with a new secret (not yet required at sign-in).
pub async fn set_pending_secret(
    conn: &mut AnyConnection,
    user_id: i64,
    secret: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET totp_secret = $1, totp_enabled = 0, totp_last_step = NULL WHERE id = $2",
    )
    .bind(secret.to_string())
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn enable(conn: &mut AnyConnection, user_id: i64, step: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET totp_enabled = 1, totp_last_step = $1 WHERE id = $2")
        .bind(step)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records the step of an accepted code; refuses (returns false) if an equal
/// or later step was already used, so two requests cannot both use one code.
pub async fn use_step(
    conn: &mut AnyConnection,
    user_id: i64,
    step: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
        .bind(step)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

pub async fn disable(conn: &mut AnyConnection, user_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET totp_secret = NULL, totp_enabled = 0, totp_last_step = NULL WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    user_id: i64,
    hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash.clone())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Uses up a recovery code; true if it was valid and unused.
pub async fn use_recovery_code(
    conn: &mut AnyConnection,
    user_id: i64,
    hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .bind(hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

pub async fn remaining_recovery_codes(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "n")
}

/// A pending second-factor step of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub user_id: i64,
    pub expires_at: i64,
    pub attempts: i64,
    /// Set when the challenge is answered with an SMS code (hashed).
    pub sms_code_hash: Option<String>,
    pub sms_sent_at: Option<i64>,
    /// How many codes were sent for this challenge.
    pub sms_sends: i64,
}

pub async fn insert_challenge(
    conn: &mut AnyConnection,
    id_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sign_in_challenges (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id_hash.to_string())
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn challenge(
    conn: &mut AnyConnection,
    id_hash: &str,
) -> Result<Option<Challenge>, StoreError> {
    let row = sqlx::query(
        "SELECT user_id, expires_at, attempts, sms_code_hash, sms_sent_at, sms_sends \
         FROM sign_in_challenges WHERE id_hash = $1",
    )
    .bind(id_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Challenge {
            user_id: col(&r, "user_id")?,
            expires_at: col(&r, "expires_at")?,
            attempts: col(&r, "attempts")?,
            sms_code_hash: col(&r, "sms_code_hash")?,
            sms_sent_at: col(&r, "sms_sent_at")?,
            sms_sends: col(&r, "sms_sends")?,
        })
    })
    .transpose()
}

pub async fn count_failed_attempt(
    conn: &mut AnyConnection,
    id_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sign_in_challenges SET attempts = attempts + 1 WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_challenge(conn: &mut AnyConnection, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sign_in_challenges WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a new SMS code for a challenge; the previous one stops working.
pub async fn set_sms_code(
    conn: &mut AnyConnection,
    id_hash: &str,
    code_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sign_in_challenges SET sms_code_hash = $1, sms_sent_at = $2, sms_sends = sms_sends + 1 \
         WHERE id_hash = $3",
    )
    .bind(code_hash.to_string())
    .bind(now)
    .bind(id_hash.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the company asks its people for an SMS code at sign-in (M6).
pub async fn company_requires_sms(
    conn: &mut AnyConnection,
    company_id: i64,
) -> Result<bool, StoreError> {
    let row = sqlx::query("SELECT sms_second_factor FROM companies WHERE id = $1")
        .bind(company_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(col::<i64>(&r, "sms_second_factor")? != 0),
        None => Ok(false),
    }
}
