//! People who sign in. This issue stores what sign-in needs; the full user
//! card (B5, M6) extends this table later.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::db::{col, flag, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: i64,
    pub company_id: i64,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub kind: String,
    pub full_access: bool,
    pub password_hash: Option<String>,
    pub status: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub company_id: i64,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub kind: String,
    pub full_access: bool,
    pub password_hash: String,
}

const COLUMNS: &str = "id, company_id, login, first_name, last_name, email, kind, full_access, password_hash, status, version";

fn from_row(row: &AnyRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: col(row, "id")?,
        company_id: col(row, "company_id")?,
        login: col(row, "login")?,
        first_name: col(row, "first_name")?,
        last_name: col(row, "last_name")?,
        email: col(row, "email")?,
        kind: col(row, "kind")?,
        full_access: flag(row, "full_access")?,
        password_hash: col(row, "password_hash")?,
        status: col(row, "status")?,
        version: col(row, "version")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, user: &NewUser, now: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO users (company_id, login, login_lower, first_name, last_name, email, kind, full_access, \
         password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(user.company_id)
    .bind(user.login.clone())
    .bind(user.login.to_lowercase())
    .bind(user.first_name.clone())
    .bind(user.last_name.clone())
    .bind(user.email.clone())
    .bind(user.kind.clone())
    .bind(i64::from(user.full_access))
    .bind(user.password_hash.clone())
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::classify)?;
    col(&row, "id")
}

/// A live (not deleted) user by login, case-insensitively.
pub async fn by_login(
    conn: &mut AnyConnection,
    login: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE login_lower = $1 AND deleted_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(login.to_lowercase())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn set_password_hash(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, version = version + 1, updated_at = $2 WHERE id = $3",
    )
    .bind(hash.to_string())
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ids of live users of the given companies (for revoking their access).
pub async fn ids_in_companies(
    conn: &mut AnyConnection,
    company_ids: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut ids = Vec::new();
    for company_id in company_ids {
        let rows = sqlx::query("SELECT id FROM users WHERE company_id = $1 AND deleted_at IS NULL")
            .bind(*company_id)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            ids.push(col(row, "id")?);
        }
    }
    Ok(ids)
}
