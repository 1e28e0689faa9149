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
