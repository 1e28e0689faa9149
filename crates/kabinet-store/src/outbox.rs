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
    let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox_events WHERE delivered_at IS NULL")
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
}

/// A page of the outbox, newest first, optionally only topics starting with `topic_prefix`.
pub async fn list(
    conn: &mut AnyConnection,
    topic_prefix: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OutboxEntry>, i64), StoreError> {
    let pattern = format!("{}%", topic_prefix.unwrap_or("").replace(['%', '_'], ""));
    let total: i64 = col(
        &sqlx::query("SELECT COUNT(*) AS n FROM outbox_events WHERE topic LIKE $1")
            .bind(pattern.clone())
            .fetch_one(&mut *conn)
            .await?,
        "n",
    )?;
    let rows = sqlx::query(
        "SELECT id, at, topic, entity_type, entity_id, payload, delivered_at FROM outbox_events \
         WHERE topic LIKE $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let entries = rows
        .iter()
        .map(|r| {
            Ok(OutboxEntry {
                id: col(r, "id")?,
                at: col(r, "at")?,
                topic: col(r, "topic")?,
                entity_type: col(r, "entity_type")?,
                entity_id: col(r, "entity_id")?,
                payload: col(r, "payload")?,
                delivered_at: col(r, "delivered_at")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok((entries, total))
}
