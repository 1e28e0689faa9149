//! Departments, their rights and members, and people's extra rights.

use sqlx::AnyConnection;

use crate::db::{col, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentRecord {
    pub id: i64,
    pub company_id: i64,
    pub company_path: String,
    pub name_ru: String,
    pub name_en: String,
    pub schedule: String,
    pub task_language: String,
    pub support: String,
    pub sort_order: i64,
    pub version: i64,
    pub members_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The editable fields of a department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentFields {
    pub name_ru: String,
    pub name_en: String,
    pub schedule: String,
    pub task_language: String,
    pub support: String,
    pub sort_order: i64,
}

const COLUMNS: &str =
    "d.id, d.company_id, c.path AS company_path, d.name_ru, d.name_en, d.schedule, \
     d.task_language, d.support, d.sort_order, d.version, d.created_at, d.updated_at, \
     (SELECT COUNT(*) FROM department_members m WHERE m.department_id = d.id) AS members_count";

fn record(r: &sqlx::any::AnyRow) -> Result<DepartmentRecord, StoreError> {
    Ok(DepartmentRecord {
        id: col(r, "id")?,
        company_id: col(r, "company_id")?,
        company_path: col(r, "company_path")?,
        name_ru: col(r, "name_ru")?,
        name_en: col(r, "name_en")?,
        schedule: col(r, "schedule")?,
        task_language: col(r, "task_language")?,
        support: col(r, "support")?,
        sort_order: col(r, "sort_order")?,
        version: col(r, "version")?,
        members_count: col(r, "members_count")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

/// The companies in the subtrees of the clients linked to the group company
/// bound at `param` (a group admin's scope, M1/M5); 0 binds none.
fn linked(param: &str) -> String {
    format!(
        "({param} > 0 AND c.id IN (SELECT lk.id FROM group_links gl \
         JOIN companies lc ON lc.id = gl.client_company_id \
         JOIN companies lk ON lk.path >= lc.path \
         AND lk.path < (substr(lc.path, 1, length(lc.path) - 1) || '0') \
         WHERE gl.group_company_id = {param}))"
    )
}

/// Departments of companies in the subtree `scope_path`, and for a group
/// admin (`group_id`) in the subtrees of its linked clients (optionally one
/// company), by sort order and name; a page and the total.
pub async fn list(
    conn: &mut AnyConnection,
    scope_path: &str,
    group_id: Option<i64>,
    company_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<DepartmentRecord>, i64), StoreError> {
    let pattern = format!("{scope_path}%");
    let total: i64 = col(
        &sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM departments d JOIN companies c ON c.id = d.company_id \
                 WHERE (c.path LIKE $1 OR {LINKED}) AND ($2 = 0 OR d.company_id = $2)",
            LINKED = linked("$3")
        ))
        .bind(pattern.clone())
        .bind(company_id.unwrap_or(0))
        .bind(group_id.unwrap_or(0))
        .fetch_one(&mut *conn)
        .await?,
        "n",
    )?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM departments d JOIN companies c ON c.id = d.company_id \
         WHERE (c.path LIKE $1 OR {LINKED}) AND ($2 = 0 OR d.company_id = $2) \
         ORDER BY d.company_id, d.sort_order, d.name_ru, d.id LIMIT $3 OFFSET $4",
        LINKED = linked("$5")
    ))
    .bind(pattern)
    .bind(company_id.unwrap_or(0))
    .bind(limit)
    .bind(offset)
    .bind(group_id.unwrap_or(0))
    .fetch_all(&mut *conn)
    .await?;
    Ok((rows.iter().map(record).collect::<Result<_, _>>()?, total))
}

pub async fn get(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<DepartmentRecord>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM departments d JOIN companies c ON c.id = d.company_id WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(record).transpose()
}

pub async fn insert(
    conn: &mut AnyConnection,
    company_id: i64,
    fields: &DepartmentFields,
    now: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO departments (company_id, name_ru, name_en, schedule, task_language, support, \
         sort_order, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(company_id)
    .bind(fields.name_ru.clone())
    .bind(fields.name_en.clone())
    .bind(fields.schedule.clone())
    .bind(fields.task_language.clone())
    .bind(fields.support.clone())
    .bind(fields.sort_order)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "id")
}

/// Updates a department if it still has `version`; false when stale.
pub async fn update(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    fields: &DepartmentFields,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE departments SET name_ru = $1, name_en = $2, schedule = $3, task_language = $4, \
         support = $5, sort_order = $6, updated_at = $7, version = version + 1 \
         WHERE id = $8 AND version = $9",
    )
    .bind(fields.name_ru.clone())
    .bind(fields.name_en.clone())
    .bind(fields.schedule.clone())
    .bind(fields.task_language.clone())
    .bind(fields.support.clone())
    .bind(fields.sort_order)
    .bind(now)
    .bind(id)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a change of rights or members on the department's version, so
/// that concurrent edits of the same department conflict. Done first in a
/// transaction, it also makes concurrent changes of one department wait for
/// each other (on PostgreSQL the updated row stays locked until commit), so
/// each reads what the one before it stored; false when the department is
/// gone.
pub async fn bump(conn: &mut AnyConnection, id: i64, now: i64) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE departments SET version = version + 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Holds the department's row until the transaction ends without changing
/// it, as [`bump`] does, for a change that must not race one of rights,
/// members or the card (its deletion); false when the department is gone.
pub async fn lock(conn: &mut AnyConnection, id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE departments SET version = version WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Holds a person's row until the transaction ends without changing their
/// card, so that concurrent replacements of their extra rights wait for
/// each other: each reads what the one before it stored and none inserts a
/// key another has just inserted. False when the person is gone.
pub async fn lock_person(conn: &mut AnyConnection, user_id: i64) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE users SET version = version WHERE id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    for statement in [
        "DELETE FROM department_rights WHERE department_id = $1",
        "DELETE FROM department_members WHERE department_id = $1",
        "DELETE FROM departments WHERE id = $1",
    ] {
        sqlx::query(statement).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn members(conn: &mut AnyConnection, id: i64) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id FROM department_members WHERE department_id = $1 ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| col(r, "user_id")).collect()
}

pub async fn set_members(
    conn: &mut AnyConnection,
    id: i64,
    user_ids: &[i64],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM department_members WHERE department_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for user_id in user_ids {
        sqlx::query("INSERT INTO department_members (department_id, user_id) VALUES ($1, $2)")
            .bind(id)
            .bind(*user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The departments a person is in, with their rights: (id, name_ru, name_en, keys).
pub async fn of_user(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<(i64, String, String, Vec<String>)>, StoreError> {
    let rows = sqlx::query(
        "SELECT d.id, d.name_ru, d.name_en, r.right_key FROM department_members m \
         JOIN departments d ON d.id = m.department_id \
         LEFT JOIN department_rights r ON r.department_id = d.id \
         WHERE m.user_id = $1 ORDER BY d.sort_order, d.id, r.right_key",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out: Vec<(i64, String, String, Vec<String>)> = Vec::new();
    for row in &rows {
        let id: i64 = col(row, "id")?;
        let key: Option<String> = col(row, "right_key")?;
        if out.last().map(|d| d.0) != Some(id) {
            out.push((id, col(row, "name_ru")?, col(row, "name_en")?, Vec::new()));
        }
        if let (Some(key), Some(last)) = (key, out.last_mut()) {
            last.3.push(key);
        }
    }
    Ok(out)
}

/// The right keys of one owner: a department's rights or a person's extra
/// rights, which are stored alike.
#[derive(Debug, Clone, Copy)]
enum Keys {
    Department,
    Person,
}

impl Keys {
    fn table_and_owner(self) -> (&'static str, &'static str) {
        match self {
            Keys::Department => ("department_rights", "department_id"),
            Keys::Person => ("user_extra_rights", "user_id"),
        }
    }

    async fn read(self, conn: &mut AnyConnection, owner: i64) -> Result<Vec<String>, StoreError> {
        let (table, column) = self.table_and_owner();
        let rows = sqlx::query(&format!(
            "SELECT right_key FROM {table} WHERE {column} = $1 ORDER BY right_key"
        ))
        .bind(owner)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|r| col(r, "right_key")).collect()
    }

    async fn replace(
        self,
        conn: &mut AnyConnection,
        owner: i64,
        keys: &[&str],
    ) -> Result<(), StoreError> {
        let (table, column) = self.table_and_owner();
        sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
            .bind(owner)
            .execute(&mut *conn)
            .await?;
        for key in keys {
            sqlx::query(&format!(
                "INSERT INTO {table} ({column}, right_key) VALUES ($1, $2)"
            ))
            .bind(owner)
            .bind(key.to_string())
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

pub async fn rights(conn: &mut AnyConnection, id: i64) -> Result<Vec<String>, StoreError> {
    Keys::Department.read(conn, id).await
}

pub async fn set_rights(
    conn: &mut AnyConnection,
    id: i64,
    keys: &[&str],
) -> Result<(), StoreError> {
    Keys::Department.replace(conn, id, keys).await
}

pub async fn extra_rights(
    conn: &mut AnyConnection,
    user_id: i64,
) -> Result<Vec<String>, StoreError> {
    Keys::Person.read(conn, user_id).await
}

pub async fn set_extra_rights(
    conn: &mut AnyConnection,
    user_id: i64,
    keys: &[&str],
) -> Result<(), StoreError> {
    Keys::Person.replace(conn, user_id, keys).await
}
