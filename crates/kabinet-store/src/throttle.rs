//! Failed sign-ins, counted per key (`login:…`, `ip:…`) in the database so
//! that every node sees the same counts.

use sqlx::AnyConnection;

use crate::db::{col, StoreError};

pub async fn record_failure(
    conn: &mut AnyConnection,
    key: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO sign_in_failures (key, at) VALUES ($1, $2)")
        .bind(key.to_string())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// How many failures `key` had since `since`, and when the last one was.
pub async fn failures_since(
    conn: &mut AnyConnection,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>), StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(at) AS last FROM sign_in_failures WHERE key = $1 AND at >= $2",
    )
    .bind(key.to_string())
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok((col(&row, "n")?, col(&row, "last")?))
}

/// How many entries `key` had since `since`, and when the oldest of them
/// was (for a limit per window, which frees up as the oldest leaves it).
pub async fn count_and_oldest_since(
    conn: &mut AnyConnection,
    key: &str,
    since: i64,
) -> Result<(i64, Option<i64>), StoreError> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM sign_in_failures WHERE key = $1 AND at >= $2",
    )
    .bind(key.to_string())
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    Ok((col(&row, "n")?, col(&row, "oldest")?))
}

pub async fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sign_in_failures WHERE key = $1")
        .bind(key.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets failures older than `before`.
pub async fn prune(conn: &mut AnyConnection, before: i64) -> Result<u64, StoreError> {
    let result = sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}
