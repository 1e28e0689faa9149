//! The outbox: events written in the same transaction as the change that
//! causes them. Webhooks, e-mail and SMS delivery (later issues) read it.

use sqlx::AnyConnection;

use crate::db::{col, StoreError};

pub async fn insert_event(
    conn: &mut AnyConnection,
    at: i64,
    topic: &str,
    entity_type: &str,
    entity_id: &str,
    payload: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO outbox_events (at, topic, entity_type, entity_id, payload) VALUES ($1, $2, $3, $4, $5)")
        .bind(at)
        .bind(topic.to_string())
        .bind(entity_type.to_string())
        .bind(entity_id.to_string())
        .bind(payload.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Number of events not yet delivered (shown in metrics).
pub async fn pending_count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox_events WHERE delivered_at IS NULL AND failed_at IS NULL AND topic IN ('email', 'sms')")
        .fetch_one(&mut *conn)
        .await?;
    col(&row, "n")
}

/// Topics of the newest events for an entity, newest first.
pub async fn topics_for(
    conn: &mut AnyConnection,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT topic FROM outbox_events WHERE entity_type = $1 AND entity_id = $2 ORDER BY id DESC")
        .bind(entity_type.to_string())
        .bind(entity_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| col(r, "topic")).collect()
}

/// An outbox entry as admins see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub at: i64,
    pub topic: String,
    pub entity_type: String,
    pub entity_id: String,
    pub payload: String,
    pub delivered_at: Option<i64>,
    /// Delivery attempts so far (e-mail and SMS).
    pub attempts: i64,
    /// When the next attempt is due, after a failed one.
    pub next_attempt_at: Option<i64>,
    /// What went wrong on the last attempt.
    pub last_error: Option<String>,
    /// Set when delivery was given up (a permanent error or too many attempts).
    pub failed_at: Option<i64>,
}

const ENTRY_COLUMNS: &str = "id, at, topic, entity_type, entity_id, payload, delivered_at, \
     attempts, next_attempt_at, last_error, failed_at";

fn entry(r: &sqlx::any::AnyRow) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        id: col(r, "id")?,
        at: col(r, "at")?,
        topic: col(r, "topic")?,
        entity_type: col(r, "entity_type")?,
        entity_id: col(r, "entity_id")?,
        payload: col(r, "payload")?,
        delivered_at: col(r, "delivered_at")?,
        attempts: col(r, "attempts")?,
        next_attempt_at: col(r, "next_attempt_at")?,
        last_error: col(r, "last_error")?,
        failed_at: col(r, "failed_at")?,
    })
}

/// A page of the outbox, newest first, optionally only topics starting with `topic_prefix`.
pub async fn list(
    conn: &mut AnyConnection,
    topic_prefix: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OutboxEntry>, i64), StoreError> {
    let pattern = format!(
        "{}%",
        topic_prefix
            .unwrap_or("")
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let total: i64 = col(
        &sqlx::query("SELECT COUNT(*) AS n FROM outbox_events WHERE topic LIKE $1 ESCAPE '\\'")
            .bind(pattern.clone())
            .fetch_one(&mut *conn)
            .await?,
        "n",
    )?;
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox_events \
         WHERE topic LIKE $1 ESCAPE '\\' ORDER BY id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok((entries, total))
}

/// Messages of the given topics due for delivery at `now`, oldest first.
/// `topic` is `email` or `sms`: the partial index `outbox_events_deliverable`
/// holds exactly the undelivered ones, so this stays cheap however large the
/// outbox grows.
pub async fn due(
    conn: &mut AnyConnection,
    topic: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox_events \
         WHERE delivered_at IS NULL AND failed_at IS NULL AND topic IN ('email', 'sms') \
         AND topic = $1 AND (next_attempt_at IS NULL OR next_attempt_at <= $2) \
         ORDER BY id LIMIT $3"
    ))
    .bind(topic.to_string())
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(entry).collect()
}

/// Claims a due message for one attempt until `lease_until`, so that two
/// workers (two nodes) never send it at once. False when another worker
/// claimed it first.
pub async fn claim(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
    lease_until: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_events SET next_attempt_at = $1, attempts = attempts + 1 \
         WHERE id = $2 AND delivered_at IS NULL AND failed_at IS NULL \
         AND (next_attempt_at IS NULL OR next_attempt_at <= $3)",
    )
    .bind(lease_until)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a delivered message's payload, to drop a secret it carried
/// (a sign-in code) once it is on its way.
pub async fn redact(conn: &mut AnyConnection, id: i64, payload: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox_events SET payload = $1 WHERE id = $2")
        .bind(payload.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn mark_delivered(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox_events SET delivered_at = $1, next_attempt_at = NULL, last_error = NULL WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a failed attempt; the next one is due at `next_attempt_at`.
pub async fn mark_retry(
    conn: &mut AnyConnection,
    id: i64,
    next_attempt_at: i64,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox_events SET next_attempt_at = $1, last_error = $2 WHERE id = $3")
        .bind(next_attempt_at)
        .bind(error.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Gives up on a message: a permanent error or too many attempts.
pub async fn mark_failed(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
    error: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox_events SET failed_at = $1, next_attempt_at = NULL, last_error = $2 WHERE id = $3")
        .bind(now)
        .bind(error.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Puts a failed message back in the queue (an admin's "retry").
/// False when the message does not exist or was not failed.
pub async fn retry(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE outbox_events SET failed_at = NULL, next_attempt_at = NULL, attempts = 0 \
         WHERE id = $1 AND failed_at IS NOT NULL AND delivered_at IS NULL",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<OutboxEntry>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(entry).transpose()
}
