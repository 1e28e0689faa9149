//! Passkeys (WebAuthn credentials), the challenges of their ceremonies, and
//! trusted devices that sign in with a PIN.

use sqlx::AnyConnection;

use crate::db::{col, StoreError};

/// A stored passkey. `credential_id` and `public_key` are base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: i64,
    pub user_id: i64,
    pub credential_id: String,
    pub public_key: String,
    pub sign_count: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const PASSKEY_COLUMNS: &str =
    "id, user_id, credential_id, public_key, sign_count, name, created_at, last_used_at";

fn passkey(r: &sqlx::any::AnyRow) -> Result<PasskeyRecord, StoreError> {
    Ok(PasskeyRecord {
        id: col(r, "id")?,
        user_id: col(r, "user_id")?,
        credential_id: col(r, "credential_id")?,
        public_key: col(r, "public_key")?,
        sign_count: col(r, "sign_count")?,
        name: col(r, "name")?,
        created_at: col(r, "created_at")?,
        last_used_at: col(r, "last_used_at")?,
    })
}

pub async fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    credential_id: &str,
    public_key: &str,
    sign_count: i64,
    name: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO passkeys (user_id, credential_id, public_key, sign_count, name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user_id)
    .bind(credential_id.to_string())
    .bind(public_key.to_string())
    .bind(sign_count)
    .bind(name.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "id")
}

pub async fn for_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<PasskeyRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(passkey).collect()
}

pub async fn by_credential_id(
    conn: &mut AnyConnection,
    credential_id: &str,
) -> Result<Option<PasskeyRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE credential_id = $1"
    ))
    .bind(credential_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(passkey).transpose()
}

/// Records a use: the new signature counter and the time.
pub async fn touch(
    conn: &mut AnyConnection,
    id: i64,
    sign_count: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE passkeys SET sign_count = $1, last_used_at = $2 WHERE id = $3")
        .bind(sign_count)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes one of the person's passkeys; false when they have no such one.
pub async fn delete(conn: &mut AnyConnection, user_id: i64, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A WebAuthn ceremony in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyRecord {
    pub user_id: Option<i64>,
    pub purpose: String,
    /// The challenge, base64url.
    pub challenge: String,
    pub expires_at: i64,
}

pub async fn insert_ceremony(
    conn: &mut AnyConnection,
    id_hash: &str,
    ceremony: &CeremonyRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO webauthn_challenges (id_hash, user_id, purpose, challenge, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id_hash.to_string())
    .bind(ceremony.user_id)
    .bind(ceremony.purpose.clone())
    .bind(ceremony.challenge.clone())
    .bind(ceremony.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes a ceremony out (single use): it is deleted whatever comes next.
/// Expired ones are cleared on the way.
pub async fn take_ceremony(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: i64,
) -> Result<Option<CeremonyRecord>, StoreError> {
    sqlx::query("DELETE FROM webauthn_challenges WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query(
        "SELECT user_id, purpose, challenge, expires_at FROM webauthn_challenges WHERE id_hash = $1",
    )
    .bind(id_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM webauthn_challenges WHERE id_hash = $1")
        .bind(id_hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(Some(CeremonyRecord {
        user_id: col(&r, "user_id")?,
        purpose: col(&r, "purpose")?,
        challenge: col(&r, "challenge")?,
        expires_at: col(&r, "expires_at")?,
    }))
}

/// A device a person trusted for quick sign-in with a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: i64,
    pub user_id: i64,
    pub pin_hash: String,
    pub failures: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

const DEVICE_COLUMNS: &str = "id, user_id, pin_hash, failures, name, created_at, last_used_at";

fn device(r: &sqlx::any::AnyRow) -> Result<DeviceRecord, StoreError> {
    Ok(DeviceRecord {
        id: col(r, "id")?,
        user_id: col(r, "user_id")?,
        pin_hash: col(r, "pin_hash")?,
        failures: col(r, "failures")?,
        name: col(r, "name")?,
        created_at: col(r, "created_at")?,
        last_used_at: col(r, "last_used_at")?,
    })
}

pub async fn insert_device(
    conn: &mut AnyConnection,
    secret_hash: &str,
    user_id: i64,
    pin_hash: &str,
    name: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO trusted_devices (secret_hash, user_id, pin_hash, name, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(secret_hash.to_string())
    .bind(user_id)
    .bind(pin_hash.to_string())
    .bind(name.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "id")
}

/// A live (not revoked) device by the hash of its secret.
pub async fn device_by_secret(
    conn: &mut AnyConnection,
    secret_hash: &str,
) -> Result<Option<DeviceRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM trusted_devices WHERE secret_hash = $1 AND revoked_at IS NULL"
    ))
    .bind(secret_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(device).transpose()
}

pub async fn devices_for_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<DeviceRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {DEVICE_COLUMNS} FROM trusted_devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(device).collect()
}

/// Counts a wrong PIN; returns the failures so far.
pub async fn count_pin_failure(conn: &mut AnyConnection, id: i64) -> Result<i64, StoreError> {
    sqlx::query("UPDATE trusted_devices SET failures = failures + 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query("SELECT failures FROM trusted_devices WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    col(&row, "failures")
}

pub async fn device_used(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE trusted_devices SET failures = 0, last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends the trust of one of the person's devices.
pub async fn revoke_device(
    conn: &mut AnyConnection,
    id: i64,
    user_id: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE trusted_devices SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the trust of a device after too many wrong PINs.
pub async fn revoke_device_by_id(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE trusted_devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
