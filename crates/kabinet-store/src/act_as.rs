//! Grants to act inside a client's cabinet (M4, X10).

use sqlx::AnyConnection;

use crate::db::{col, flag, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActAsGrant {
    pub user_id: i64,
    pub company_id: i64,
    pub reason: String,
    pub read_only: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    id_hash: &str,
    grant: &ActAsGrant,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO act_as_grants (id_hash, user_id, company_id, reason, read_only, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id_hash.to_string())
    .bind(grant.user_id)
    .bind(grant.company_id)
    .bind(grant.reason.clone())
    .bind(i64::from(grant.read_only))
    .bind(grant.created_at)
    .bind(grant.expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(
    conn: &mut AnyConnection,
    id_hash: &str,
) -> Result<Option<ActAsGrant>, StoreError> {
    let row = sqlx::query(
        "SELECT user_id, company_id, reason, read_only, created_at, expires_at, ended_at \
         FROM act_as_grants WHERE id_hash = $1",
    )
    .bind(id_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(ActAsGrant {
            user_id: col(&r, "user_id")?,
            company_id: col(&r, "company_id")?,
            reason: col(&r, "reason")?,
            read_only: flag(&r, "read_only")?,
            created_at: col(&r, "created_at")?,
            expires_at: col(&r, "expires_at")?,
            ended_at: col(&r, "ended_at")?,
        })
    })
    .transpose()
}

/// Ends a grant; false when it had ended already.
pub async fn end(conn: &mut AnyConnection, id_hash: &str, now: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE act_as_grants SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(id_hash.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
