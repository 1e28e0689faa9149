//! People: the user card, sign-in facts, lists.

use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::companies::subtree_bounds;
use crate::db::{col, flag, push_text_search, Backend, Sql, StoreError, TextIndex, WordScan};

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
    pub card: UserCard,
    pub company_name: String,
    pub company_path: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deletion_id: Option<String>,
}

/// The rest of the user card (B5, M6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserCard {
    pub patronymic: Option<String>,
    pub full_name_ru: Option<String>,
    pub full_name_en: Option<String>,
    pub phone: Option<String>,
    pub mobile_phone: Option<String>,
    pub position: Option<String>,
    pub may_open_admin_cabinet: bool,
    pub chat_enabled: bool,
    pub must_change_password: bool,
    /// Allowed addresses and networks; empty means any (B5).
    pub ip_rules: Vec<String>,
    /// `off`, `log` or `strict` (X11).
    pub session_binding: String,
    pub has_avatar: bool,
}

/// Every writable field of a user, as the service has validated it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    pub company_id: i64,
    pub login: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub kind: String,
    pub status: String,
    pub card: UserCard,
    pub name_sort: String,
    pub search_text: String,
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

const COLUMNS: &str = "u.id, u.company_id, u.login, u.first_name, u.last_name, u.email, u.kind, u.full_access, \
     u.password_hash, u.status, u.version, u.patronymic, u.full_name_ru, u.full_name_en, u.phone, u.mobile_phone, \
     u.position, u.may_open_admin_cabinet, u.chat_enabled, u.must_change_password, u.created_at, u.updated_at, \
     u.deleted_at, u.deletion_id, u.ip_rules, u.session_binding, \
     CAST(CASE WHEN u.avatar IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_avatar, c.name AS company_name, c.path AS company_path";
const FROM: &str = "FROM users u JOIN companies c ON c.id = u.company_id";

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
        card: UserCard {
            patronymic: col(row, "patronymic")?,
            full_name_ru: col(row, "full_name_ru")?,
            full_name_en: col(row, "full_name_en")?,
            phone: col(row, "phone")?,
            mobile_phone: col(row, "mobile_phone")?,
            position: col(row, "position")?,
            may_open_admin_cabinet: flag(row, "may_open_admin_cabinet")?,
            chat_enabled: flag(row, "chat_enabled")?,
            must_change_password: flag(row, "must_change_password")?,
            ip_rules: {
                let text: String = col(row, "ip_rules")?;
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("users.ip_rules: {e}")))?
            },
            session_binding: col(row, "session_binding")?,
            has_avatar: flag(row, "has_avatar")?,
        },
        company_name: col(row, "company_name")?,
        company_path: col(row, "company_path")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        deleted_at: col(row, "deleted_at")?,
        deletion_id: col(row, "deletion_id")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, user: &NewUser, now: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO users (company_id, login, login_lower, first_name, last_name, email, kind, full_access, \
         password_hash, created_at, updated_at, name_sort, search_text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12) RETURNING id",
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
    .bind(format!("{} {}", user.last_name, user.first_name).to_lowercase())
    .bind(format!("{} {} | {}", user.last_name, user.first_name, user.login).to_lowercase())
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
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE u.login_lower = $1 AND u.deleted_at IS NULL");
    let row = sqlx::query(&sql)
        .bind(login.to_lowercase())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE u.id = $1 AND u.deleted_at IS NULL");
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

/// A user by id, deleted or not.
pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<UserRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE u.id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

const WRITABLE: [&str; 17] = [
    "company_id",
    "login",
    "login_lower",
    "first_name",
    "last_name",
    "email",
    "kind",
    "status",
    "patronymic",
    "full_name_ru",
    "full_name_en",
    "phone",
    "mobile_phone",
    "position",
    "may_open_admin_cabinet",
    "chat_enabled",
    "name_sort",
];

fn bind_fields(sql: &mut Sql, f: &UserFields) {
    let values: Vec<crate::db::Value> = vec![
        f.company_id.into(),
        f.login.clone().into(),
        f.login.to_lowercase().into(),
        f.first_name.clone().into(),
        f.last_name.clone().into(),
        f.email.clone().into(),
        f.kind.clone().into(),
        f.status.clone().into(),
        f.card.patronymic.clone().into(),
        f.card.full_name_ru.clone().into(),
        f.card.full_name_en.clone().into(),
        f.card.phone.clone().into(),
        f.card.mobile_phone.clone().into(),
        f.card.position.clone().into(),
        f.card.may_open_admin_cabinet.into(),
        f.card.chat_enabled.into(),
        f.name_sort.clone().into(),
        f.search_text.clone().into(),
    ];
    for (index, value) in values.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.bind(value);
    }
}

/// Inserts a user card with an optional password hash; returns the id.
pub async fn insert_card(
    conn: &mut AnyConnection,
    fields: &UserFields,
    password_hash: Option<&str>,
    must_change_password: bool,
    now: i64,
) -> Result<i64, StoreError> {
    let mut sql = Sql::new("INSERT INTO users (");
    sql.push(&WRITABLE.join(", "));
    sql.push(
        ", search_text, password_hash, must_change_password, created_at, updated_at) VALUES (",
    );
    bind_fields(&mut sql, fields);
    sql.push(", ").bind(password_hash.map(str::to_string));
    sql.push(", ").bind(must_change_password);
    sql.push(", ")
        .bind(now)
        .push(", ")
        .bind(now)
        .push(") RETURNING id");
    let row = sql
        .query()
        .fetch_one(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
    col(&row, "id")
}

/// Writes a user card if its version is still `expected_version`.
pub async fn update_card(
    conn: &mut AnyConnection,
    id: i64,
    expected_version: i64,
    fields: &UserFields,
    now: i64,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE users SET (");
    sql.push(&WRITABLE.join(", "));
    sql.push(", search_text) = (");
    bind_fields(&mut sql, fields);
    sql.push("), version = version + 1, updated_at = ")
        .bind(now);
    sql.push(" WHERE id = ")
        .bind(id)
        .push(" AND version = ")
        .bind(expected_version);
    let result = sql
        .query()
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
    Ok(result.rows_affected() == 1)
}

/// Marks a user deleted.
pub async fn soft_delete(
    conn: &mut AnyConnection,
    id: i64,
    deletion_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET deleted_at = $1, deletion_id = $2, version = version + 1, updated_at = $1 WHERE id = $3")
        .bind(now)
        .bind(deletion_id.to_string())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Brings a deleted user back.
pub async fn restore(conn: &mut AnyConnection, id: i64, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET deleted_at = NULL, deletion_id = NULL, version = version + 1, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes users deleted before `cutoff`, with their sessions and tokens.
pub async fn purge_deleted_before(
    conn: &mut AnyConnection,
    cutoff: i64,
) -> Result<Vec<i64>, StoreError> {
    let rows = sqlx::query("SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at < $1")
        .bind(cutoff)
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| col(r, "id"))
        .collect::<Result<_, _>>()?;
    for id in &ids {
        for dependent in [
            "password_links",
            "recovery_codes",
            "sign_in_challenges",
            "passkeys",
            "trusted_devices",
            "webauthn_challenges",
            "department_members",
            "user_extra_rights",
            "act_as_grants",
        ] {
            sqlx::query(&format!("DELETE FROM {dependent} WHERE user_id = $1"))
                .bind(*id)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(*id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
            .bind(*id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(*id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(ids)
}

/// Sort keys of the user list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserSort {
    Id,
    #[default]
    Name,
    Login,
    Email,
    Kind,
    Status,
    Company,
    CreatedAt,
}

impl UserSort {
    pub const ALL: [(&'static str, UserSort); 8] = [
        ("id", UserSort::Id),
        ("name", UserSort::Name),
        ("login", UserSort::Login),
        ("email", UserSort::Email),
        ("kind", UserSort::Kind),
        ("status", UserSort::Status),
        ("company", UserSort::Company),
        ("created_at", UserSort::CreatedAt),
    ];

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }

    pub fn key(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(k, _)| *k)
            .unwrap_or("name")
    }

    fn column(self) -> &'static str {
        match self {
            UserSort::Id => "u.id",
            UserSort::Name => "u.name_sort",
            UserSort::Login => "u.login_lower",
            UserSort::Email => "u.email",
            UserSort::Kind => "u.kind",
            UserSort::Status => "u.status",
            UserSort::Company => "c.name_sort",
            UserSort::CreatedAt => "u.created_at",
        }
    }
}

/// A page of the user list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Only users of companies in this subtree.
    pub scope_path: String,
    /// Widens the scope by the clients linked to this group company (a
    /// group admin's scope, M1); set by the use case.
    pub scope_group: Option<i64>,
    pub words: Vec<String>,
    pub id: Option<i64>,
    pub company_id: Option<i64>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub deleted: crate::companies::DeletedFilter,
    pub sort: UserSort,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
}

fn push_user_filters(sql: &mut Sql, query: &UserQuery, backend: Backend) {
    let (low, high) = subtree_bounds(&query.scope_path);
    if query.scope_path.is_empty() {
        sql.push(" WHERE 1 = 0");
    } else {
        sql.push(" WHERE (c.path >= ")
            .bind(low)
            .push(" AND c.path < ")
            .bind(high);
        if let Some(group_id) = query.scope_group {
            crate::group_links::push_linked_subtrees(sql, "c.id", group_id);
        }
        sql.push(")");
    }
    push_text_search(
        sql,
        backend,
        &TextIndex {
            alias: "u",
            fts_table: "users_fts",
            digit_index: None,
        },
        &query.words,
        query.id,
        WordScan::Index,
    );
    if let Some(company_id) = query.company_id {
        sql.push(" AND u.company_id = ").bind(company_id);
    }
    if let Some(kind) = &query.kind {
        sql.push(" AND u.kind = ").bind(kind.clone());
    }
    if let Some(status) = &query.status {
        sql.push(" AND u.status = ").bind(status.clone());
    }
    match query.deleted {
        crate::companies::DeletedFilter::Hide => sql.push(" AND u.deleted_at IS NULL"),
        crate::companies::DeletedFilter::Show => sql,
        crate::companies::DeletedFilter::Only => sql.push(" AND u.deleted_at IS NOT NULL"),
    };
}

/// One page of users and the total number of matches.
pub async fn list(
    conn: &mut AnyConnection,
    backend: Backend,
    query: &UserQuery,
) -> Result<(Vec<UserRecord>, i64), StoreError> {
    let mut count = Sql::new(&format!("SELECT COUNT(*) AS total {FROM}"));
    push_user_filters(&mut count, query, backend);
    let total: i64 = col(&count.query().fetch_one(&mut *conn).await?, "total")?;
    let mut page = Sql::new(&format!("SELECT {COLUMNS} {FROM}"));
    push_user_filters(&mut page, query, backend);
    let direction = if query.descending { "DESC" } else { "ASC" };
    let column = query.sort.column();
    page.push(&format!(" ORDER BY CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {direction}, u.id {direction} LIMIT "));
    page.bind(query.limit).push(" OFFSET ").bind(query.offset);
    let rows = page.query().fetch_all(&mut *conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((items, total))
}

/// Sets a person's own new password and clears a forced change.
pub async fn set_own_password(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0, version = version + 1, updated_at = $2 WHERE id = $3")
        .bind(hash.to_string())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores a one-time password link (only the hash of its secret).
pub async fn insert_password_link(
    conn: &mut AnyConnection,
    token_hash: &str,
    user_id: i64,
    purpose: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO password_links (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_hash.to_string())
        .bind(user_id)
        .bind(purpose.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Uses up a live link: returns its user id if it existed, was unused and
/// had not expired. A link works once.
pub async fn consume_password_link(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "UPDATE password_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(|r| col(r, "user_id")).transpose()
}

/// A live user by login or e-mail (case-insensitive), for password recovery.
pub async fn by_login_or_email(
    conn: &mut AnyConnection,
    text: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let folded = text.trim().to_lowercase();
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE u.deleted_at IS NULL AND (u.login_lower = $1 OR lower(u.email) = $1) ORDER BY u.id LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(folded)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces a person's address rules and session binding.
pub async fn set_ip_rules(
    conn: &mut AnyConnection,
    id: i64,
    rules: &[String],
    session_binding: &str,
    now: i64,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(rules).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("UPDATE users SET ip_rules = $1, session_binding = $2, version = version + 1, updated_at = $3 WHERE id = $4")
        .bind(text)
        .bind(session_binding.to_string())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores (or, with `None`, removes) a person's avatar.
pub async fn set_avatar(
    conn: &mut AnyConnection,
    id: i64,
    avatar: Option<(&str, &[u8])>,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET avatar = $1, avatar_type = $2, updated_at = $3 WHERE id = $4")
        .bind(avatar.map(|(_, bytes)| bytes.to_vec()))
        .bind(avatar.map(|(kind, _)| kind.to_string()))
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A person's avatar: content type and bytes.
pub async fn avatar(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    let row =
        sqlx::query("SELECT avatar_type, avatar FROM users WHERE id = $1 AND avatar IS NOT NULL")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|r| Ok((col(&r, "avatar_type")?, col(&r, "avatar")?)))
        .transpose()
}

/// Live, active account administrators of the company with this account
/// number (case-insensitive), at most two (more than one is ambiguous).
pub async fn account_admins_by_account_number(
    conn: &mut AnyConnection,
    account_number: &str,
) -> Result<Vec<UserRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE lower(c.account_number) = $1 AND c.deleted_at IS NULL \
         AND u.kind = 'account_admin' AND u.deleted_at IS NULL ORDER BY u.id LIMIT 2"
    );
    let rows = sqlx::query(&sql)
        .bind(account_number.trim().to_lowercase())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Gives a person full access: every right, inside their own company's
/// subtree (the first admin of a company that registered itself, T8).
pub async fn grant_full_access(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE users SET full_access = 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a person's password as one to replace at the next step (it no
/// longer meets the password policy): they may do nothing else until they
/// choose a new one.
pub async fn require_password_change(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE users SET must_change_password = 1, version = version + 1, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
