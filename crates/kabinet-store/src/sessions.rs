//! Server-side sessions and API tokens. Both are stored as SHA-256 hashes of
//! high-entropy random secrets, so a leaked database holds no usable secret.

use sqlx::AnyConnection;

use crate::db::{col, NamedRow, RowGet, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    session: &SessionRecord,
    user_agent: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(session.id_hash.clone())
    .bind(session.user_id)
    .bind(session.csrf_token.clone())
    .bind(session.created_at)
    .bind(session.last_seen_at)
    .bind(session.expires_at)
    .bind(session.ip.clone())
    .bind(user_agent.map(str::to_string))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A session by the hash of its secret, with the search and company epochs
/// read in the same statement (before anything else the request reads), as
/// an API token is ([`LiveToken::read_epochs`]).
pub async fn session(
    conn: &mut AnyConnection,
    id_hash: &str,
) -> Result<Option<(SessionRecord, crate::epoch_memo::ReadEpochs)>, StoreError> {
    let row = sqlx::query(
        "SELECT s.id, s.user_id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ip, \
         e.search_value AS search_epoch, e.company_value AS company_epoch \
         FROM sessions s CROSS JOIN auth_epoch e WHERE s.id = $1 AND e.id = 1",
    )
    .bind(id_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok((
            SessionRecord {
                id_hash: col(&row, "id")?,
                user_id: col(&row, "user_id")?,
                csrf_token: col(&row, "csrf_token")?,
                created_at: col(&row, "created_at")?,
                last_seen_at: col(&row, "last_seen_at")?,
                expires_at: col(&row, "expires_at")?,
                ip: col(&row, "ip")?,
            },
            crate::epoch_memo::ReadEpochs {
                search: col(&row, "search_epoch")?,
                company: col(&row, "company_epoch")?,
            },
        ))
    })
    .transpose()
}

pub async fn touch_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id_hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut AnyConnection, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id_hash.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends every session and revokes every token and trusted device of these users.
pub async fn revoke_all_for_users(
    conn: &mut AnyConnection,
    user_ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    for user_id in user_ids {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(*user_id)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(*user_id)
        .execute(&mut *conn)
        .await?;
        // A trusted device's PIN is a shortcut to a session: it ends too.
        sqlx::query(
            "UPDATE trusted_devices SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(*user_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn delete_expired_sessions(
    conn: &mut AnyConnection,
    now: i64,
) -> Result<u64, StoreError> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn insert_token(
    conn: &mut AnyConnection,
    user_id: i64,
    name: &str,
    token_hash: &str,
    prefix: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(user_id)
    .bind(name.to_string())
    .bind(token_hash.to_string())
    .bind(prefix.to_string())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::classify)?;
    col(&row, "id")
}

/// The live token with this hash, if any: (token id, user id).
/// A live API token found by the hash of its secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveToken {
    pub id: i64,
    pub user_id: i64,
    pub last_used_at: Option<i64>,
    /// The authorisation epoch, read in the same statement (one round trip
    /// per API request instead of two).
    pub auth_epoch: i64,
    /// The search and company epochs (migrations 18 and 20), read in the
    /// same statement: a read-only request checks what the server remembers
    /// of searches and cards against them without a statement of its own.
    pub read_epochs: crate::epoch_memo::ReadEpochs,
}

/// A live token by the hash of its secret, with the authorisation epoch.
async fn token_by_hash(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<LiveToken>, StoreError> {
    let row = sqlx::query(TOKEN_BY_HASH)
        .bind(token_hash.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(live_token).transpose()
}

/// A live token by the hash of its secret, read the cheapest way the store
/// has: on SQLite in place ([`crate::Store::point_read`]), on PostgreSQL
/// through its own driver (its pool for reads by key; sqlx's `Any` driver copies every
/// value and column description of the row), else through the read pool.
pub async fn find_live_token(
    store: &crate::Store,
    token_hash: &str,
) -> Result<Option<LiveToken>, StoreError> {
    if let Some(found) = store.point_read(|conn| token_by_hash_now(conn, token_hash)) {
        return found;
    }
    if let Some(mut conn) = store.key_reader().await? {
        let row = sqlx::query::<sqlx::Postgres>(TOKEN_BY_HASH)
            .bind(token_hash)
            .fetch_optional(&mut *conn)
            .await?;
        return row.as_ref().map(live_token).transpose();
    }
    token_by_hash(&mut *store.reader().await?, token_hash).await
}

/// [`token_by_hash`] on a connection of [`crate::Store::point_read`],
/// without an `.await`.
pub fn token_by_hash_now(
    conn: &rusqlite::Connection,
    token_hash: &str,
) -> Result<Option<LiveToken>, StoreError> {
    use rusqlite::OptionalExtension;
    const NAMES: [&str; 6] = [
        "id",
        "user_id",
        "last_used_at",
        "auth_epoch",
        "search_epoch",
        "company_epoch",
    ];
    let mut statement = conn.prepare_cached(TOKEN_BY_HASH)?;
    statement
        .query_row([token_hash], |row| {
            Ok(live_token(&NamedRow::new(row, &NAMES)))
        })
        .optional()?
        .transpose()
}

/// A live token and the epochs, read in one statement.
const TOKEN_BY_HASH: &str = "SELECT t.id, t.user_id, t.last_used_at, e.value AS auth_epoch, \
     e.search_value AS search_epoch, e.company_value AS company_epoch \
     FROM api_tokens t CROSS JOIN auth_epoch e \
     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND e.id = 1";

fn live_token<R>(row: &R) -> Result<LiveToken, StoreError>
where
    R: RowGet<i64> + RowGet<Option<i64>>,
{
    Ok(LiveToken {
        id: col(row, "id")?,
        user_id: col(row, "user_id")?,
        last_used_at: col(row, "last_used_at")?,
        auth_epoch: col(row, "auth_epoch")?,
        read_epochs: crate::epoch_memo::ReadEpochs {
            search: col(row, "search_epoch")?,
            company: col(row, "company_epoch")?,
        },
    })
}

/// The authorisation epoch: moved on by triggers whenever a person's
/// identity, scope or rights may have changed (migration 0016).
pub async fn auth_epoch(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT value FROM auth_epoch WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    col(&row, "value")
}

pub async fn touch_token(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn tokens_of_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<TokenRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, user_id, name, prefix, created_at, last_used_at FROM api_tokens \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TokenRecord {
                id: col(row, "id")?,
                user_id: col(row, "user_id")?,
                name: col(row, "name")?,
                prefix: col(row, "prefix")?,
                created_at: col(row, "created_at")?,
                last_used_at: col(row, "last_used_at")?,
            })
        })
        .collect()
}

/// Revokes a token of this user; false when there is no such live token.
pub async fn revoke_token(
    conn: &mut AnyConnection,
    user_id: i64,
    id: i64,
    now: i64,
) -> Result<Option<TokenRecord>, StoreError> {
    let tokens = tokens_of_user(conn, user_id).await?;
    let Some(token) = tokens.into_iter().find(|t| t.id == id) else {
        return Ok(None);
    };
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(Some(token))
}

/// A session as its owner and admins see it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// A public handle: the first 16 hex digits of the stored hash (the
    /// hash of the secret, never the secret).
    pub handle: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The public handle of a session, from its stored hash.
pub fn session_handle(id_hash: &str) -> String {
    id_hash.chars().take(16).collect()
}

/// Ends one session of a user by its handle; false when there is none.
pub async fn revoke_session(
    conn: &mut AnyConnection,
    user_id: i64,
    handle: &str,
) -> Result<bool, StoreError> {
    if handle.len() != 16 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND substr(id, 1, 16) = $2")
        .bind(user_id)
        .bind(handle.to_ascii_lowercase())
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Live sessions of a user, most recently used first.
pub async fn sessions_of_user(
    conn: &mut AnyConnection,
    user_id: i64,
    now: i64,
) -> Result<Vec<SessionInfo>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC LIMIT 200",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let id: String = crate::db::col(row, "id")?;
            Ok(SessionInfo {
                handle: session_handle(&id),
                created_at: crate::db::col(row, "created_at")?,
                last_seen_at: crate::db::col(row, "last_seen_at")?,
                expires_at: crate::db::col(row, "expires_at")?,
                ip: crate::db::col(row, "ip")?,
                user_agent: crate::db::col(row, "user_agent")?,
            })
        })
        .collect()
}

/// Ends every session of a user but `keep` (the one in use), every token and
/// every trusted device.
pub async fn revoke_others(
    conn: &mut AnyConnection,
    user_id: i64,
    keep: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or("").to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    // A device's PIN opened sessions under the old password: trust it no more.
    sqlx::query(
        "UPDATE trusted_devices SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
