//! Registration links of resellers (T8): at most one per reseller, stored
//! as a SHA-256 of its secret.

use sqlx::AnyConnection;

use crate::db::{col, StoreError};

/// A reseller's active registration link (never its secret or hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationLinkRecord {
    pub company_id: i64,
    pub created_at: i64,
    /// The person who made it.
    pub created_by: Option<i64>,
}

/// Makes `token_hash` the company's link, replacing the one it had: the old
/// secret stops working in the same statement.
pub async fn replace(
    conn: &mut AnyConnection,
    company_id: i64,
    token_hash: &str,
    created_by: i64,
    now: i64,
) -> Result<RegistrationLinkRecord, StoreError> {
    sqlx::query(
        "INSERT INTO registration_links (company_id, token_hash, created_at, created_by) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (company_id) DO UPDATE SET \
         token_hash = excluded.token_hash, created_at = excluded.created_at, \
         created_by = excluded.created_by",
    )
    .bind(company_id)
    .bind(token_hash.to_string())
    .bind(now)
    .bind(created_by)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::classify)?;
    Ok(RegistrationLinkRecord {
        company_id,
        created_at: now,
        created_by: Some(created_by),
    })
}

/// The company's active link, if any.
pub async fn get(
    conn: &mut AnyConnection,
    company_id: i64,
) -> Result<Option<RegistrationLinkRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT company_id, created_at, created_by FROM registration_links WHERE company_id = $1",
    )
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(RegistrationLinkRecord {
            company_id: col(&r, "company_id")?,
            created_at: col(&r, "created_at")?,
            created_by: col(&r, "created_by")?,
        })
    })
    .transpose()
}

/// Disables the company's link; false when it had none.
pub async fn delete(conn: &mut AnyConnection, company_id: i64) -> Result<bool, StoreError> {
    let result = sqlx::query("DELETE FROM registration_links WHERE company_id = $1")
        .bind(company_id)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// The company whose link has this secret hash.
pub async fn company_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT company_id FROM registration_links WHERE token_hash = $1")
        .bind(token_hash.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| col(&r, "company_id")).transpose()
}
