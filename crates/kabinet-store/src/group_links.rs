//! Links of group companies to their client companies (M1, M5).

use sqlx::AnyConnection;

use crate::db::{col, Sql, StoreError};

/// One link: a group company and a client company it links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupLinkRecord {
    pub group_company_id: i64,
    pub client_company_id: i64,
    pub created_at: i64,
    /// The person who linked.
    pub created_by: Option<i64>,
}

fn link_from_row(row: &sqlx::any::AnyRow) -> Result<GroupLinkRecord, StoreError> {
    Ok(GroupLinkRecord {
        group_company_id: col(row, "group_company_id")?,
        client_company_id: col(row, "client_company_id")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
    })
}

/// Adds ` OR <id_column> IN (…)`: the companies in the subtrees of the
/// clients linked to `group_id` (the scope a group admin gets from the
/// links). Each linked client's subtree is a range of the path index, as in
/// [`crate::companies::subtree_bounds`]: `/1/5/` up to `/1/50`.
pub(crate) fn push_linked_subtrees(sql: &mut Sql, id_column: &str, group_id: i64) {
    sql.push(&format!(
        " OR {id_column} IN (SELECT d.id FROM group_links gl \
         JOIN companies lc ON lc.id = gl.client_company_id \
         JOIN companies d ON d.path >= lc.path \
         AND d.path < (substr(lc.path, 1, length(lc.path) - 1) || '0') \
         WHERE gl.group_company_id = "
    ))
    .bind(group_id)
    .push(")");
}

/// Inserts a link. Two writers linking the same pair cannot both succeed:
/// the pair is the primary key, and the loser gets [`StoreError::Unique`].
pub async fn insert(
    conn: &mut AnyConnection,
    group_company_id: i64,
    client_company_id: i64,
    created_by: i64,
    now: i64,
) -> Result<GroupLinkRecord, StoreError> {
    sqlx::query(
        "INSERT INTO group_links (group_company_id, client_company_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(group_company_id)
    .bind(client_company_id)
    .bind(now)
    .bind(created_by)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::classify)?;
    Ok(GroupLinkRecord {
        group_company_id,
        client_company_id,
        created_at: now,
        created_by: Some(created_by),
    })
}

pub async fn get(
    conn: &mut AnyConnection,
    group_company_id: i64,
    client_company_id: i64,
) -> Result<Option<GroupLinkRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT group_company_id, client_company_id, created_at, created_by FROM group_links \
         WHERE group_company_id = $1 AND client_company_id = $2",
    )
    .bind(group_company_id)
    .bind(client_company_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(link_from_row).transpose()
}

/// Removes a link; false when there was none.
pub async fn delete(
    conn: &mut AnyConnection,
    group_company_id: i64,
    client_company_id: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "DELETE FROM group_links WHERE group_company_id = $1 AND client_company_id = $2",
    )
    .bind(group_company_id)
    .bind(client_company_id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// How many clients a group company links.
pub async fn count_for_group(
    conn: &mut AnyConnection,
    group_company_id: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM group_links WHERE group_company_id = $1")
        .bind(group_company_id)
        .fetch_one(&mut *conn)
        .await?;
    col(&row, "n")
}

/// The tree paths of the clients linked to a group company, for the scope
/// of its group admins.
pub async fn client_paths(
    conn: &mut AnyConnection,
    group_company_id: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.path FROM group_links gl JOIN companies c ON c.id = gl.client_company_id \
         WHERE gl.group_company_id = $1 ORDER BY c.path",
    )
    .bind(group_company_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| col(r, "path")).collect()
}
