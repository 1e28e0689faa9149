//! The audit log (X1): who, on whose behalf, what, before and after.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::db::{col, Sql, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_login: Option<String>,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub ip: Option<String>,
    pub details: Option<String>,
}

pub async fn insert(conn: &mut AnyConnection, entry: &AuditEntry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_user_id, actor_login, on_behalf_of, action, entity_type, entity_id, \
         before_json, after_json, ip, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(entry.at)
    .bind(entry.actor_user_id)
    .bind(entry.actor_login.clone())
    .bind(entry.on_behalf_of.clone())
    .bind(entry.action.clone())
    .bind(entry.entity_type.clone())
    .bind(entry.entity_id.clone())
    .bind(entry.before_json.clone())
    .bind(entry.after_json.clone())
    .bind(entry.ip.clone())
    .bind(entry.details.clone())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_login: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Only entries about companies, people and departments in this
    /// subtree (a client's own admins); none: everything (the provider).
    pub scope_path: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

fn from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        id: col(row, "id")?,
        at: col(row, "at")?,
        actor_user_id: col(row, "actor_user_id")?,
        actor_login: col(row, "actor_login")?,
        on_behalf_of: col(row, "on_behalf_of")?,
        action: col(row, "action")?,
        entity_type: col(row, "entity_type")?,
        entity_id: col(row, "entity_id")?,
        before_json: col(row, "before_json")?,
        after_json: col(row, "after_json")?,
        ip: col(row, "ip")?,
        details: col(row, "details")?,
    })
}

fn push_filters(sql: &mut Sql, query: &AuditQuery) {
    sql.push(" WHERE 1 = 1");
    if let Some(action) = &query.action {
        sql.push(" AND action = ").bind(action.clone());
    }
    if let Some(entity_type) = &query.entity_type {
        sql.push(" AND entity_type = ").bind(entity_type.clone());
    }
    if let Some(entity_id) = &query.entity_id {
        sql.push(" AND entity_id = ").bind(entity_id.clone());
    }
    if let Some(login) = &query.actor_login {
        sql.push(" AND actor_login = ").bind(login.clone());
    }
    if let Some(since) = query.since {
        sql.push(" AND at >= ").bind(since);
    }
    if let Some(until) = query.until {
        sql.push(" AND at < ").bind(until);
    }
    if let Some(scope) = &query.scope_path {
        let pattern = format!("{scope}%");
        sql.push(
            " AND ((entity_type = 'company' AND EXISTS (SELECT 1 FROM companies sc \
             WHERE CAST(sc.id AS TEXT) = audit_log.entity_id AND sc.path LIKE ",
        )
        .bind(pattern.clone())
        .push(
            ")) OR (entity_type = 'user' AND EXISTS (SELECT 1 FROM users su \
             JOIN companies sc ON sc.id = su.company_id \
             WHERE CAST(su.id AS TEXT) = audit_log.entity_id AND sc.path LIKE ",
        )
        .bind(pattern.clone())
        .push(
            ")) OR (entity_type = 'department' AND EXISTS (SELECT 1 FROM departments sd \
             JOIN companies sc ON sc.id = sd.company_id \
             WHERE CAST(sd.id AS TEXT) = audit_log.entity_id AND sc.path LIKE ",
        )
        .bind(pattern)
        .push(")))");
    }
}

/// Newest first, with the total number of matches.
pub async fn list(
    conn: &mut AnyConnection,
    query: &AuditQuery,
) -> Result<(Vec<AuditEntry>, i64), StoreError> {
    let mut count = Sql::new("SELECT COUNT(*) AS total FROM audit_log");
    push_filters(&mut count, query);
    let total = col(&count.query().fetch_one(&mut *conn).await?, "total")?;
    let mut page = Sql::new(
        "SELECT id, at, actor_user_id, actor_login, on_behalf_of, action, entity_type, entity_id, before_json, \
         after_json, ip, details FROM audit_log",
    );
    push_filters(&mut page, query);
    page.push(" ORDER BY id DESC LIMIT ")
        .bind(query.limit)
        .push(" OFFSET ")
        .bind(query.offset);
    let rows = page.query().fetch_all(&mut *conn).await?;
    Ok((rows.iter().map(from_row).collect::<Result<_, _>>()?, total))
}
