//! Companies: the card, the tree, soft deletion and search.

use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::Arc;

use crate::db::{
    col, column_names, flag, fts_phrase, push_text_search, run_ready, trigram_word, Backend,
    FromRow, NamedRow, Reader, RowGet, Sql, StoreError, TextIndex, WordScan,
};
use crate::group_links::push_linked_subtrees;

/// The stored fields of a company card (what a create or an edit writes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyFields {
    pub parent_id: Option<i64>,
    pub is_provider: bool,
    pub name: String,
    pub name_sort: String,
    pub short_id: Option<String>,
    pub account_number: Option<String>,
    pub pbx_number: Option<String>,
    pub multichannel_number: Option<String>,
    pub phones: Vec<String>,
    pub region: Option<String>,
    pub macroregion: Option<String>,
    pub inns: Vec<String>,
    pub kpp: Option<String>,
    pub ogrn: Option<String>,
    pub bik: Option<String>,
    pub bank: Option<String>,
    pub correspondent_account: Option<String>,
    pub settlement_account: Option<String>,
    pub legal_address: Option<String>,
    pub postal_address: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub max_dialogs_per_operator: i64,
    pub tariff: Option<String>,
    pub is_reseller: bool,
    pub credit_limit: Option<i64>,
    pub balance_threshold: Option<i64>,
    pub fz230_enabled: bool,
    /// Sign-in settings of the company's people (M6, T4).
    pub sms_second_factor: bool,
    pub email_is_login: bool,
    pub password_in_email: bool,
    /// A group company links client companies that share its INN (M5).
    pub is_group_company: bool,
    pub search_text: String,
}

/// A stored company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyRecord {
    pub id: i64,
    pub path: String,
    pub fields: CompanyFields,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deletion_id: Option<String>,
    /// Live (not deleted) direct children.
    pub children_count: i64,
}

const COLUMNS: &str = "c.id, c.path, c.parent_id, c.is_provider, c.name, c.name_sort, c.short_id, c.account_number, \
     c.pbx_number, c.multichannel_number, c.phones, c.region, c.macroregion, c.inns, c.kpp, c.ogrn, c.bik, \
     c.bank, c.correspondent_account, c.settlement_account, c.legal_address, c.postal_address, c.email, \
     c.phone, c.timezone, c.max_dialogs_per_operator, c.tariff, c.is_reseller, c.credit_limit, \
     c.balance_threshold, c.fz230_enabled, c.sms_second_factor, c.email_is_login, \
     c.password_in_email, c.is_group_company, c.version, c.created_at, c.updated_at, c.deleted_at, \
     c.deletion_id, c.search_text, \
     c.children_count";

/// A row a company record is read from: sqlx's, or rusqlite's in
/// [`get_now`].
trait CompanyRow: RowGet<i64> + RowGet<Option<i64>> + RowGet<String> + RowGet<Option<String>> {}
impl<R> CompanyRow for R where
    R: RowGet<i64> + RowGet<Option<i64>> + RowGet<String> + RowGet<Option<String>>
{
}

fn list_from_json(row: &impl CompanyRow, name: &str) -> Result<Vec<String>, StoreError> {
    let text: String = col(row, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
}

fn record_from_row(row: &impl CompanyRow) -> Result<CompanyRecord, StoreError> {
    Ok(CompanyRecord {
        id: col(row, "id")?,
        path: col(row, "path")?,
        version: col(row, "version")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        deleted_at: col(row, "deleted_at")?,
        deletion_id: col(row, "deletion_id")?,
        children_count: col(row, "children_count")?,
        fields: CompanyFields {
            parent_id: col(row, "parent_id")?,
            is_provider: flag(row, "is_provider")?,
            name: col(row, "name")?,
            name_sort: col(row, "name_sort")?,
            short_id: col(row, "short_id")?,
            account_number: col(row, "account_number")?,
            pbx_number: col(row, "pbx_number")?,
            multichannel_number: col(row, "multichannel_number")?,
            phones: list_from_json(row, "phones")?,
            region: col(row, "region")?,
            macroregion: col(row, "macroregion")?,
            inns: list_from_json(row, "inns")?,
            kpp: col(row, "kpp")?,
            ogrn: col(row, "ogrn")?,
            bik: col(row, "bik")?,
            bank: col(row, "bank")?,
            correspondent_account: col(row, "correspondent_account")?,
            settlement_account: col(row, "settlement_account")?,
            legal_address: col(row, "legal_address")?,
            postal_address: col(row, "postal_address")?,
            email: col(row, "email")?,
            phone: col(row, "phone")?,
            timezone: col(row, "timezone")?,
            max_dialogs_per_operator: col(row, "max_dialogs_per_operator")?,
            tariff: col(row, "tariff")?,
            is_reseller: flag(row, "is_reseller")?,
            credit_limit: col(row, "credit_limit")?,
            balance_threshold: col(row, "balance_threshold")?,
            fz230_enabled: flag(row, "fz230_enabled")?,
            sms_second_factor: flag(row, "sms_second_factor")?,
            email_is_login: flag(row, "email_is_login")?,
            password_in_email: flag(row, "password_in_email")?,
            is_group_company: flag(row, "is_group_company")?,
            search_text: col(row, "search_text")?,
        },
    })
}

impl FromRow for CompanyRecord {
    fn from_any(row: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        record_from_row(row)
    }
    fn from_named(row: &NamedRow<'_, '_>) -> Result<Self, StoreError> {
        record_from_row(row)
    }
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, StoreError> {
        record_from_row(row)
    }
}

/// The column names of [`COLUMNS`], for [`NamedRow`].
static COLUMN_NAMES: std::sync::LazyLock<Vec<&str>> =
    std::sync::LazyLock::new(|| column_names(COLUMNS));

fn json_list(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

/// Binds the writable columns in the order of [`WRITABLE`].
fn bind_fields(sql: &mut Sql, f: &CompanyFields) {
    let first_inn = f.inns.first().cloned();
    let values: Vec<crate::db::Value> = vec![
        f.parent_id.into(),
        f.is_provider.into(),
        f.name.clone().into(),
        f.name_sort.clone().into(),
        f.short_id.clone().into(),
        f.account_number.clone().into(),
        f.pbx_number.clone().into(),
        f.multichannel_number.clone().into(),
        json_list(&f.phones).into(),
        f.region.clone().into(),
        f.macroregion.clone().into(),
        json_list(&f.inns).into(),
        first_inn.into(),
        f.kpp.clone().into(),
        f.ogrn.clone().into(),
        f.bik.clone().into(),
        f.bank.clone().into(),
        f.correspondent_account.clone().into(),
        f.settlement_account.clone().into(),
        f.legal_address.clone().into(),
        f.postal_address.clone().into(),
        f.email.clone().into(),
        f.phone.clone().into(),
        f.timezone.clone().into(),
        f.max_dialogs_per_operator.into(),
        f.tariff.clone().into(),
        f.is_reseller.into(),
        f.credit_limit.into(),
        f.balance_threshold.into(),
        f.fz230_enabled.into(),
        f.sms_second_factor.into(),
        f.email_is_login.into(),
        f.password_in_email.into(),
        f.is_group_company.into(),
        f.search_text.clone().into(),
        kabinet_domain::text::digit_grams(&f.search_text).into(),
    ];
    for (index, value) in values.into_iter().enumerate() {
        if index > 0 {
            sql.push(", ");
        }
        sql.bind(value);
    }
}

const WRITABLE: [&str; 36] = [
    "parent_id",
    "is_provider",
    "name",
    "name_sort",
    "short_id",
    "account_number",
    "pbx_number",
    "multichannel_number",
    "phones",
    "region",
    "macroregion",
    "inns",
    "first_inn",
    "kpp",
    "ogrn",
    "bik",
    "bank",
    "correspondent_account",
    "settlement_account",
    "legal_address",
    "postal_address",
    "email",
    "phone",
    "timezone",
    "max_dialogs_per_operator",
    "tariff",
    "is_reseller",
    "credit_limit",
    "balance_threshold",
    "fz230_enabled",
    "sms_second_factor",
    "email_is_login",
    "password_in_email",
    "is_group_company",
    "search_text",
    "search_digits",
];

/// Takes the epochs' row (`auth_epoch`) before a transaction writes a
/// company, on PostgreSQL. Triggers move the company epoch on every write
/// of a company and hold that row until commit; a transaction that first
/// locked a company (a card edit) and then wanted the row, while another
/// held the row (a move, whose first statement moved the epochs) and wanted
/// that company's row (its subtree's paths), would deadlock. Taken first by
/// every company write, the row orders them. SQLite has a single writer.
async fn lock_epochs(conn: &mut AnyConnection) -> Result<(), StoreError> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT id FROM auth_epoch WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The search and company epochs (migrations 18 and 20) inside a write
/// transaction, read with the epochs' row lock on PostgreSQL, as
/// [`lock_epochs`] takes it, in the same statement (SQLite has one writer):
/// read before and after a change, they tell whether the transaction alone
/// moved them, and by how much.
pub async fn edit_epochs(conn: &mut AnyConnection) -> Result<LockedEpochs, StoreError> {
    let statement = if conn.backend_name() == "PostgreSQL" {
        "SELECT search_value, company_value FROM auth_epoch WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT search_value, company_value FROM auth_epoch WHERE id = 1"
    };
    let row = sqlx::query(statement).fetch_one(&mut *conn).await?;
    Ok(LockedEpochs {
        epochs: ReadEpochs {
            search: col(&row, "search_value")?,
            company: col(&row, "company_value")?,
        },
    })
}

/// The epochs as [`edit_epochs`] read them, with their row lock: holding
/// one shows that the transaction holds the lock, which [`update`] needs
/// (only [`edit_epochs`] makes one: outside this crate it cannot be built).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockedEpochs {
    pub epochs: ReadEpochs,
}

/// Inserts a company under `parent_path` (empty for the root) and returns its id.
pub async fn insert(
    conn: &mut AnyConnection,
    fields: &CompanyFields,
    parent_path: &str,
    now: i64,
) -> Result<i64, StoreError> {
    lock_epochs(&mut *conn).await?;
    let mut sql = Sql::new("INSERT INTO companies (");
    sql.push(&WRITABLE.join(", "));
    sql.push(", created_at, updated_at) VALUES (");
    bind_fields(&mut sql, fields);
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
    let id: i64 = col(&row, "id")?;
    let path = format!("{parent_path}{id}/");
    let path = if parent_path.is_empty() {
        format!("/{path}")
    } else {
        path
    };
    sqlx::query("UPDATE companies SET path = $1 WHERE id = $2")
        .bind(path)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Inserts many companies whose ids and paths the caller chose (the demo
/// generator), two rows per statement (sqlx looks up every `$N` by name
/// per bound value, so cost grows with the square of a statement's values). Call
/// [`sync_id_sequence`] afterwards so later inserts continue after them.
pub async fn insert_bulk(
    conn: &mut AnyConnection,
    rows: &[(i64, String, CompanyFields)],
    now: i64,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(2) {
        let mut sql = Sql::new("INSERT INTO companies (id, path, ");
        sql.push(&WRITABLE.join(", "));
        sql.push(", created_at, updated_at) VALUES ");
        for (index, (id, path, fields)) in chunk.iter().enumerate() {
            if index > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(*id)
                .push(", ")
                .bind(path.clone())
                .push(", ");
            bind_fields(&mut sql, fields);
            sql.push(", ").bind(now).push(", ").bind(now).push(")");
        }
        sql.query()
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
    }
    Ok(())
}

/// Moves PostgreSQL's id generator past the largest id (SQLite's
/// AUTOINCREMENT follows explicit ids by itself).
pub async fn sync_id_sequence(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('companies', 'id'), (SELECT MAX(id) FROM companies)) AS v",
        )
        .fetch_one(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes new fields if the stored version is still `expected_version`.
/// Returns false when someone else changed the card first. The transaction
/// holds the epochs' row lock already (`_locked`, from [`edit_epochs`]),
/// taken before the company's row as every company write takes them: the
/// update's triggers move the epochs, and taking that lock after the row's
/// could deadlock against a transaction taking them the other way round.
pub async fn update(
    conn: &mut AnyConnection,
    _locked: &LockedEpochs,
    id: i64,
    expected_version: i64,
    fields: &CompanyFields,
    now: i64,
) -> Result<bool, StoreError> {
    let mut sql = Sql::new("UPDATE companies SET (");
    sql.push(&WRITABLE.join(", "));
    sql.push(") = (");
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

/// Moves a company and its whole subtree under a new path prefix.
pub async fn move_subtree(
    conn: &mut AnyConnection,
    old_path: &str,
    new_path: &str,
) -> Result<(), StoreError> {
    lock_epochs(&mut *conn).await?;
    sqlx::query(
        "UPDATE companies SET path = $1 || substr(path, CAST($2 AS INTEGER)) WHERE path >= $3 AND path < $4",
    )
    .bind(new_path.to_string())
    .bind(old_path.chars().count() as i64 + 1)
    .bind(subtree_bounds(old_path).0)
    .bind(subtree_bounds(old_path).1)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The half-open range of paths in the subtree at `path` (`/1/5/` gives
/// `["/1/5/", "/1/50")`: `0` is the character after `/`). A range, unlike
/// `LIKE 'prefix%'`, is served by the path index on both backends (SQLite
/// only uses an index for `LIKE` under a case-insensitive collation).
pub fn subtree_bounds(path: &str) -> (String, String) {
    // Paths always end with `/`; anything else gets an empty range.
    let upper = match path.strip_suffix('/') {
        Some(stem) => format!("{stem}0"),
        None => path.to_string(),
    };
    (path.to_string(), upper)
}

/// One company by id: the statement of [`get`] and [`get_now`] alike.
static CARD_BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {COLUMNS} FROM companies c WHERE c.id = $1"));

pub async fn get(conn: &mut AnyConnection, id: i64) -> Result<Option<CompanyRecord>, StoreError> {
    let row = sqlx::query(&CARD_BY_ID)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(record_from_row).transpose()
}

/// One company by id, read the cheapest way the store has: on SQLite in
/// place ([`crate::Store::point_read`]), on PostgreSQL through its own
/// driver ([`crate::Store::key_reader`]), else through the read pool.
pub async fn by_id(store: &crate::Store, id: i64) -> Result<Option<CompanyRecord>, StoreError> {
    if let Some(found) = store.point_read(|conn| get_now(conn, id)) {
        return found;
    }
    if let Some(mut conn) = store.key_reader().await? {
        let row = sqlx::query::<sqlx::Postgres>(&CARD_BY_ID)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        return row.as_ref().map(record_from_row).transpose();
    }
    get(&mut *store.reader().await?, id).await
}

/// [`get`] on a connection of [`crate::Store::point_read`], without an
/// `.await`.
pub fn get_now(conn: &rusqlite::Connection, id: i64) -> Result<Option<CompanyRecord>, StoreError> {
    use rusqlite::OptionalExtension;
    let mut statement = conn.prepare_cached(&CARD_BY_ID)?;
    let record = statement
        .query_row([id], |row| {
            Ok(record_from_row(&NamedRow::new(row, &COLUMN_NAMES)))
        })
        .optional()?;
    record.transpose()
}

/// Writes the digit grams of every company that has none yet (the rows of
/// a database from before migration 17), a thousand at a time, in the
/// migration's transaction.
pub(crate) async fn fill_search_digits(conn: &mut AnyConnection) -> Result<(), StoreError> {
    let mut after = 0_i64;
    loop {
        let rows = sqlx::query(
            "SELECT id, search_text FROM companies WHERE id > $1 AND search_digits = '' \
             ORDER BY id LIMIT 1000",
        )
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = col(last, "id")?;
        for row in &rows {
            let text: String = col(row, "search_text")?;
            let grams = kabinet_domain::text::digit_grams(&text);
            if grams.is_empty() {
                continue;
            }
            sqlx::query("UPDATE companies SET search_digits = $1 WHERE id = $2")
                .bind(grams)
                .bind(col::<i64>(row, "id")?)
                .execute(&mut *conn)
                .await?;
        }
    }
}

/// The provider company: the root of the tree.
pub async fn provider(conn: &mut AnyConnection) -> Result<Option<CompanyRecord>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM companies c WHERE c.is_provider = 1 ORDER BY c.id LIMIT 1");
    let row = sqlx::query(&sql).fetch_optional(&mut *conn).await?;
    row.as_ref().map(record_from_row).transpose()
}

/// Live descendants of the company at `path` (the company itself excluded).
pub async fn live_descendant_ids(
    conn: &mut AnyConnection,
    path: &str,
) -> Result<Vec<i64>, StoreError> {
    let (low, high) = subtree_bounds(path);
    let rows = sqlx::query(
        "SELECT id FROM companies WHERE path > $1 AND path < $2 AND deleted_at IS NULL ORDER BY id",
    )
    .bind(low)
    .bind(high)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| col(r, "id")).collect()
}

/// Marks the company at `path` and its live descendants deleted under one
/// deletion id, so that restore brings back exactly this set.
pub async fn soft_delete_subtree(
    conn: &mut AnyConnection,
    path: &str,
    deletion_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    lock_epochs(&mut *conn).await?;
    let result = sqlx::query(
        "UPDATE companies SET deleted_at = $1, deletion_id = $2, version = version + 1, updated_at = $1 \
         WHERE path >= $3 AND path < $4 AND deleted_at IS NULL",
    )
    .bind(now)
    .bind(deletion_id.to_string())
    .bind(subtree_bounds(path).0)
    .bind(subtree_bounds(path).1)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

/// Restores every company deleted under `deletion_id`; returns their ids.
pub async fn restore_deletion(
    conn: &mut AnyConnection,
    deletion_id: &str,
    now: i64,
) -> Result<Vec<i64>, StoreError> {
    lock_epochs(&mut *conn).await?;
    let rows = sqlx::query(
        "SELECT id FROM companies WHERE deletion_id = $1 AND deleted_at IS NOT NULL ORDER BY id",
    )
    .bind(deletion_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| col(r, "id"))
        .collect::<Result<_, _>>()?;
    sqlx::query(
        "UPDATE companies SET deleted_at = NULL, deletion_id = NULL, version = version + 1, updated_at = $1 \
         WHERE deletion_id = $2 AND deleted_at IS NOT NULL",
    )
    .bind(now)
    .bind(deletion_id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

/// Removes for good the companies deleted before `cutoff`, leaves first.
/// Returns the purged ids.
pub async fn purge_deleted_before(
    conn: &mut AnyConnection,
    cutoff: i64,
) -> Result<Vec<i64>, StoreError> {
    lock_epochs(&mut *conn).await?;
    let mut purged = Vec::new();
    loop {
        let rows = sqlx::query(
            "SELECT id FROM companies c WHERE c.deleted_at IS NOT NULL AND c.deleted_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM companies ch WHERE ch.parent_id = c.id) LIMIT 500",
        )
        .bind(cutoff)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(purged);
        }
        for row in &rows {
            let id: i64 = col(row, "id")?;
            // The people of a purged company go with it.
            for statement in [
                "DELETE FROM password_links WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM recovery_codes WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM sign_in_challenges WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM passkeys WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM trusted_devices WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM webauthn_challenges WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM department_members WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM user_extra_rights WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM department_members WHERE department_id IN (SELECT id FROM departments WHERE company_id = $1)",
                "DELETE FROM department_rights WHERE department_id IN (SELECT id FROM departments WHERE company_id = $1)",
                "DELETE FROM departments WHERE company_id = $1",
                "DELETE FROM act_as_grants WHERE company_id = $1 OR user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE company_id = $1)",
                "DELETE FROM users WHERE company_id = $1",
                "DELETE FROM group_links WHERE group_company_id = $1 OR client_company_id = $1",
                "DELETE FROM registration_links WHERE company_id = $1",
            ] {
                sqlx::query(statement).bind(id).execute(&mut *conn).await?;
            }
            sqlx::query("DELETE FROM companies WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            purged.push(id);
        }
    }
}

/// Whether deleted rows are hidden, shown with live ones, or shown alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeletedFilter {
    #[default]
    Hide,
    Show,
    Only,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompanySort {
    Id,
    #[default]
    Name,
    AccountNumber,
    PbxNumber,
    MultichannelNumber,
    Tariff,
    Region,
    Macroregion,
    Inn,
    ChildrenCount,
    CreatedAt,
    UpdatedAt,
}

impl CompanySort {
    pub const ALL: [(&'static str, CompanySort); 12] = [
        ("id", CompanySort::Id),
        ("name", CompanySort::Name),
        ("account_number", CompanySort::AccountNumber),
        ("pbx_number", CompanySort::PbxNumber),
        ("multichannel_number", CompanySort::MultichannelNumber),
        ("tariff", CompanySort::Tariff),
        ("region", CompanySort::Region),
        ("macroregion", CompanySort::Macroregion),
        ("inn", CompanySort::Inn),
        ("children_count", CompanySort::ChildrenCount),
        ("created_at", CompanySort::CreatedAt),
        ("updated_at", CompanySort::UpdatedAt),
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

    /// Whether the column may be empty (NULLs sort last).
    fn nullable(self) -> bool {
        !matches!(
            self,
            CompanySort::Id
                | CompanySort::Name
                | CompanySort::ChildrenCount
                | CompanySort::CreatedAt
                | CompanySort::UpdatedAt
        )
    }

    fn column(self) -> &'static str {
        match self {
            CompanySort::Id => "c.id",
            CompanySort::Name => "c.name_sort",
            CompanySort::AccountNumber => "c.account_number",
            CompanySort::PbxNumber => "c.pbx_number",
            CompanySort::MultichannelNumber => "c.multichannel_number",
            CompanySort::Tariff => "c.tariff",
            CompanySort::Region => "c.region",
            CompanySort::Macroregion => "c.macroregion",
            CompanySort::Inn => "c.first_inn",
            CompanySort::ChildrenCount => "c.children_count",
            CompanySort::CreatedAt => "c.created_at",
            CompanySort::UpdatedAt => "c.updated_at",
        }
    }
}

impl CompanySort {
    /// Whether the column holds numbers (else text).
    fn numeric(self) -> bool {
        matches!(
            self,
            CompanySort::Id
                | CompanySort::ChildrenCount
                | CompanySort::CreatedAt
                | CompanySort::UpdatedAt
        )
    }

    /// The record's value in this column, as the cursor keeps it.
    fn value_of(self, record: &CompanyRecord) -> Option<String> {
        let f = &record.fields;
        match self {
            CompanySort::Id => Some(record.id.to_string()),
            CompanySort::Name => Some(f.name_sort.clone()),
            CompanySort::AccountNumber => f.account_number.clone(),
            CompanySort::PbxNumber => f.pbx_number.clone(),
            CompanySort::MultichannelNumber => f.multichannel_number.clone(),
            CompanySort::Tariff => f.tariff.clone(),
            CompanySort::Region => f.region.clone(),
            CompanySort::Macroregion => f.macroregion.clone(),
            CompanySort::Inn => f.inns.first().cloned(),
            CompanySort::ChildrenCount => Some(record.children_count.to_string()),
            CompanySort::CreatedAt => Some(record.created_at.to_string()),
            CompanySort::UpdatedAt => Some(record.updated_at.to_string()),
        }
    }
}

/// Where a page starts in keyset paging: after the company `id`, whose
/// value in the list's order was `value`. Every page then costs what the
/// first one does: an offset of 49,950 walked 50,000 index entries (5 ms
/// of CPU at a million companies), a cursor seeks to its place.
///
/// It names the order it was made in (`order`, `descending`): a common
/// search is listed in the order the companies were added (`id`) unless a
/// sort was chosen, and its next page must be too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct After {
    pub order: CompanySort,
    pub descending: bool,
    pub id: i64,
    /// The value of the order's column; `None` where it is empty (those
    /// companies come last, in id order).
    pub value: Option<String>,
}

impl After {
    /// The cursor after `record` in a list in this order.
    pub fn of(record: &CompanyRecord, order: CompanySort, descending: bool) -> Self {
        Self {
            order,
            descending,
            id: record.id,
            value: order.value_of(record),
        }
    }

    /// The cursor as it travels in a URL: `<order>.<a|d>.<id>.<n|v<hex>>`,
    /// the value hex-encoded UTF-8.
    pub fn encode(&self) -> String {
        use std::fmt::Write;
        let mut out = format!(
            "{}.{}.{}.",
            self.order.key(),
            if self.descending { 'd' } else { 'a' },
            self.id
        );
        match &self.value {
            None => out.push('n'),
            Some(value) => {
                out.push('v');
                for byte in value.as_bytes() {
                    let _ = write!(out, "{byte:02x}");
                }
            }
        }
        out
    }

    /// Reads [`After::encode`]'s form; `None` for anything else, including
    /// an empty value where the column is never empty or a number column
    /// whose value is not a number.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let order = CompanySort::parse(parts.next()?)?;
        let descending = match parts.next()? {
            "a" => false,
            "d" => true,
            _ => return None,
        };
        let id: i64 = parts.next()?.parse().ok().filter(|id| *id > 0)?;
        let value = match parts.next()? {
            "n" if order.nullable() => None,
            hex if hex.starts_with('v') && hex.len() % 2 == 1 => {
                let bytes = (1..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                Some(String::from_utf8(bytes).ok()?)
            }
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        if order.numeric() && value.as_deref().is_none_or(|v| v.parse::<i64>().is_err()) {
            return None;
        }
        Some(Self {
            order,
            descending,
            id,
            value,
        })
    }
}

/// Adds the keyset condition of `after`: the rows after it in its order.
/// `id` names the id the order is by (the word index's rowid inside a
/// join, which it then seeks by).
fn push_after(sql: &mut Sql, after: &After, id: &str) {
    let cmp = if after.descending { "<" } else { ">" };
    if after.order == CompanySort::Id {
        sql.push(&format!(" AND {id} {cmp} ")).bind(after.id);
        return;
    }
    let column = after.order.column();
    let value = |sql: &mut Sql, value: &str| {
        if after.order.numeric() {
            sql.bind(value.parse::<i64>().unwrap_or_default());
        } else {
            sql.bind(value.to_string());
        }
    };
    match &after.value {
        // Empty values come last, in id order.
        None => {
            sql.push(&format!(" AND {column} IS NULL AND c.id {cmp} "))
                .bind(after.id);
        }
        Some(v) => {
            // A row value, which both databases answer from an index on
            // (column, id) by seeking to it.
            sql.push(" AND (");
            if after.order.nullable() {
                sql.push(&format!("{column} IS NULL OR "));
            }
            sql.push(&format!("({column}, c.id) {cmp} ("));
            value(sql, v);
            sql.push(", ").bind(after.id).push("))");
        }
    }
}

/// A page of the company list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CompanyQuery {
    /// Only companies whose path starts with this (the actor's scope).
    pub scope_path: String,
    /// Every word must occur in the search text.
    pub words: Vec<String>,
    /// A numeric query may also be an id.
    pub id: Option<i64>,
    pub region: Option<String>,
    pub macroregion: Option<String>,
    pub is_reseller: Option<bool>,
    pub parent_id: Option<i64>,
    /// Widens the scope by the clients linked to this group company and
    /// their subtrees (a group admin's scope, M1); set by the use case.
    pub scope_group: Option<i64>,
    /// Only the clients linked to this group company (M5).
    pub linked_to: Option<i64>,
    /// Only companies with this multichannel number (E.164).
    pub multichannel_number: Option<String>,
    pub deleted: DeletedFilter,
    /// Leaves this company out (the exact id hit a search puts first).
    pub exclude_id: Option<i64>,
    pub sort: CompanySort,
    /// Whether the person chose the sort; a search with many matches and
    /// no chosen sort lists them in the order they were added.
    pub sort_chosen: bool,
    pub descending: bool,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: the page starts after this company (`offset` is
    /// then 0), in the cursor's order.
    pub after: Option<After>,
}

/// The word index a list joins, and its FTS5 query: where every word is
/// answered by one index on SQLite ([`word_index`]) and there is no id
/// alternative. The index then drives the query, in id order, and stops at
/// the page or the count's cap, instead of being read whole into a list
/// first (41,000 ids for a common fragment at a million companies: 15 ms a
/// query).
fn joined_index(query: &CompanyQuery, backend: Backend) -> Option<(&'static str, String)> {
    if query.id.is_some() {
        return None;
    }
    word_index(&query.words, backend)
}

/// The index that answers every word by itself on SQLite, and the FTS5
/// query for it: the digit index when every word is four digits or more
/// (the phrase of its grams), else the trigram index when every word has
/// three characters or more.
fn word_index(words: &[String], backend: Backend) -> Option<(&'static str, String)> {
    if backend != Backend::Sqlite || words.is_empty() {
        return None;
    }
    let digit_phrases: Option<Vec<String>> = words
        .iter()
        .map(|w| kabinet_domain::text::digit_phrase(w).map(|p| fts_phrase(&p)))
        .collect();
    if let Some(phrases) = digit_phrases {
        return Some((DIGIT_INDEX, phrases.join(" ")));
    }
    if words.iter().all(|w| trigram_word(w)) {
        let phrases: Vec<String> = words.iter().map(|w| fts_phrase(w)).collect();
        return Some(("companies_fts", phrases.join(" ")));
    }
    None
}

/// The companies' digit index (migration 17).
const DIGIT_INDEX: &str = "companies_digits";

/// Where a company's search text is matched.
const COMPANY_TEXT: TextIndex = TextIndex {
    alias: "c",
    fts_table: "companies_fts",
    digit_index: Some(DIGIT_INDEX),
};

/// ` FROM …` of a company list: the companies, joined to a word index
/// where [`joined_index`] says so.
fn push_from(sql: &mut Sql, query: &CompanyQuery, backend: Backend) {
    match joined_index(query, backend) {
        Some((table, _)) => {
            sql.push(&format!(
                " FROM {table} f JOIN companies c ON c.id = f.rowid"
            ));
        }
        None => {
            sql.push(" FROM companies c");
        }
    }
}

fn push_filters(sql: &mut Sql, query: &CompanyQuery, backend: Backend, scan: WordScan) {
    // The tree has one root, the provider: a root scope (`/1/`) covers every
    // row, and a range over all of them would only make the planner walk
    // the path index, so it adds no condition.
    // An empty scope sees nothing: a scope is never "everything" by mistake.
    // A group admin's scope adds the subtrees of the linked clients.
    let (low, high) = subtree_bounds(&query.scope_path);
    if query.scope_path.is_empty() {
        sql.push(" WHERE 1 = 0");
    } else if !kabinet_domain::company::is_root_path(&query.scope_path) {
        sql.push(" WHERE (c.path >= ")
            .bind(low)
            .push(" AND c.path < ")
            .bind(high);
        if let Some(group_id) = query.scope_group {
            push_linked_subtrees(sql, "c.id", group_id);
        }
        sql.push(")");
    } else {
        sql.push(" WHERE 1 = 1");
    }
    if let Some(group_id) = query.linked_to {
        sql.push(" AND c.id IN (SELECT gl.client_company_id FROM group_links gl WHERE gl.group_company_id = ")
            .bind(group_id)
            .push(")");
    }
    if let Some(number) = &query.multichannel_number {
        sql.push(" AND c.multichannel_number = ")
            .bind(number.clone());
    }
    match joined_index(query, backend) {
        Some((table, words)) => {
            sql.push(&format!(" AND f.{table} MATCH ")).bind(words);
        }
        None => push_text_search(sql, backend, &COMPANY_TEXT, &query.words, query.id, scan),
    }
    if let Some(region) = &query.region {
        sql.push(" AND c.region = ").bind(region.clone());
    }
    if let Some(macroregion) = &query.macroregion {
        sql.push(" AND c.macroregion = ").bind(macroregion.clone());
    }
    if let Some(is_reseller) = query.is_reseller {
        sql.push(" AND c.is_reseller = ").bind(is_reseller);
    }
    if let Some(parent_id) = query.parent_id {
        sql.push(" AND c.parent_id = ").bind(parent_id);
    }
    if let Some(id) = query.exclude_id {
        sql.push(" AND c.id <> ").bind(id);
    }
    match query.deleted {
        DeletedFilter::Hide => sql.push(" AND c.deleted_at IS NULL"),
        DeletedFilter::Show => sql,
        DeletedFilter::Only => sql.push(" AND c.deleted_at IS NOT NULL"),
    };
}

/// How many matches a company list counts at most; beyond it the total
/// reads "1,000+" (as large search interfaces show), so that a common
/// fragment or a wide filter over a million companies never counts every
/// match.
pub const COUNT_CAP: i64 = 1000;

/// A search whose words match more companies than this (by the trigram
/// index) is a common one: unless the person chose a sort, its page is the
/// first matches in the order the companies were added, which the index
/// yields without sorting tens of thousands of rows by name.
const RARE_MATCHES: i64 = 2000;

/// The same for a search of digits only (four or more each: fragments of
/// phones, INNs, account numbers): nobody reads such matches by name, one
/// types more digits instead, and sorting a thousand matches by name reads
/// a thousand random rows (7 ms at a million companies, the p99 of phone
/// search; BENCHMARKS.md). More matches than this are listed in the order
/// the companies were added, unless a sort is chosen.
const RARE_DIGIT_MATCHES: i64 = 300;

/// The number of matches above which a search is a common one
/// ([`RARE_MATCHES`], [`RARE_DIGIT_MATCHES`]).
fn rare_limit(words: &[String]) -> i64 {
    let digits_only = !words.is_empty()
        && words
            .iter()
            .all(|w| kabinet_domain::text::digit_phrase(w).is_some());
    if digits_only {
        RARE_DIGIT_MATCHES
    } else {
        RARE_MATCHES
    }
}

/// The number of matches of a list: exact up to [`COUNT_CAP`], else the cap
/// with `exact` false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub exact: bool,
    /// Where the next page starts (keyset paging), when this page is full.
    pub next: Option<After>,
    /// The order the page is listed in: the one asked for, or the order
    /// the companies were added in (`Id`, ascending) for a common search
    /// with no sort chosen ([`RARE_MATCHES`]), so that a list can say so.
    pub order: CompanySort,
    pub descending: bool,
}

/// Whether at most `limit` companies are deleted (counted on the partial
/// index of deleted companies, up to `limit + 1`).
async fn deleted_at_most(conn: &mut Reader<'_>, limit: i64) -> Result<bool, StoreError> {
    if limit < 0 {
        return Ok(false);
    }
    let mut sql = Sql::new(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM companies WHERE deleted_at IS NOT NULL LIMIT ",
    );
    sql.bind(limit + 1).push(") s");
    let deleted = conn.number(&sql).await?;
    Ok(deleted <= limit)
}

/// How many companies (live or not, ignoring every other filter) the words
/// match by the trigram index, counted up to `RARE_MATCHES + 1`.
async fn word_matches(
    conn: &mut Reader<'_>,
    backend: Backend,
    words: &[String],
) -> Result<i64, StoreError> {
    let mut sql = if let Some((table, words)) = word_index(words, backend) {
        let mut sql = Sql::new(&format!(
            "SELECT COUNT(*) AS n FROM (SELECT rowid FROM {table} WHERE {table} MATCH "
        ));
        sql.bind(words);
        sql
    } else {
        let mut sql =
            Sql::new("SELECT COUNT(*) AS n FROM (SELECT c.id FROM companies c WHERE 1 = 1");
        push_text_search(
            &mut sql,
            backend,
            &COMPANY_TEXT,
            words,
            None,
            WordScan::Index,
        );
        sql
    };
    sql.push(" LIMIT ").bind(RARE_MATCHES + 1).push(") s");
    conn.number(&sql).await
}

pub use crate::epoch_memo::ReadEpochs;

/// What the probe ([`word_matches`]) found for a search's words, remembered
/// with the search epoch it was read at (migration 18: triggers move the
/// epoch on every insert, delete and change of a company's search text, in
/// the same transaction; [`crate::epoch_memo`] says why that is safe). A
/// search reads the epoch (one row, or none where the request read it with
/// its token), and counts again only when it moved or the words are new.
///
/// The probe is a search's dearest statement on PostgreSQL: proving that a
/// common fragment matches more than 2,000 companies builds pg_trgm's bitmap
/// of every candidate and tests 2,001 rows, 10–15 ms at a million companies
/// (BENCHMARKS.md), where the page itself, in the order added, takes under
/// a millisecond.
pub type WordMatchMemo = crate::epoch_memo::EpochMemo<Vec<String>, i64>;

/// At most this many searches are remembered; past it the memo starts
/// again (a search's words are tens of bytes: a few hundred kilobytes).
pub const MEMO_SEARCHES: usize = 4096;

/// Company cards read by id, remembered with the company epoch (migration
/// 20: triggers move it on every insert, update and delete of a company) for
/// read-only requests that read the epoch with their token.
pub type CompanyCards = crate::epoch_memo::EpochMemo<i64, std::sync::Arc<CompanyRecord>>;

/// At most this many cards are remembered (a card is about a kilobyte).
pub const MEMO_CARDS: usize = 16_384;

/// What a list may take from memory: the probes of searches, and the
/// totals of lists where the request read the epochs already (with its
/// token, before anything else).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListMemo<'a> {
    pub word_matches: &'a WordMatchMemo,
    pub totals: &'a ListTotals,
    pub anchors: &'a ListAnchors,
    pub cards: &'a CompanyCards,
    pub pages: &'a ListPages,
    pub epochs: Option<ReadEpochs>,
}

/// The ids of list pages (a list's filters, order and place: the statement
/// that reads them, values and all), remembered with the company epoch like
/// [`ListTotals`]; with the cards of [`CompanyCards`], a page read again
/// costs no statement but the request's token read. Lists that read group
/// links are not remembered ([`reads_group_links`]).
///
/// A page is remembered on its second read at an epoch: the first leaves a
/// mark (`None`) only, so that pages read once (random deep offsets, a
/// search typed once) do not push out the cards of pages read again and
/// again.
pub type ListPages = crate::epoch_memo::EpochMemo<Sql, Arc<RememberedPage>>;

/// A page in [`ListPages`]: the list whose filters chose it, the columns
/// its filters and order read ([`list_columns`]), and its ids from its
/// second read on (`None` after the first). Shared (a read takes one
/// reference, not one per part).
#[derive(Debug)]
pub struct RememberedPage {
    filters: CompanyQuery,
    columns: u32,
    ids: Option<Vec<i64>>,
}

/// Columns a company list reads to choose and order its companies, as
/// bits: [`list_columns`] of a list, [`edited_columns`] of an edit. An
/// edit of one company through this server keeps what is remembered of
/// lists that read none of the columns it changed ([`remember_edit`]).
pub mod columns {
    /// The tree, deletion and the flags a scope is made of (parent, path,
    /// deleted, provider, group company, child count, creation): every list
    /// reads these, and an edit that changes one of them forgets every list.
    pub const STRUCTURE: u32 = 1;
    pub const NAME: u32 = 1 << 1;
    /// The search text, and so the digits (both written from the fields).
    pub const SEARCH: u32 = 1 << 2;
    pub const REGION: u32 = 1 << 3;
    pub const MACROREGION: u32 = 1 << 4;
    pub const RESELLER: u32 = 1 << 5;
    pub const MULTICHANNEL: u32 = 1 << 6;
    pub const TARIFF: u32 = 1 << 7;
    pub const ACCOUNT: u32 = 1 << 8;
    pub const PBX: u32 = 1 << 9;
    pub const INNS: u32 = 1 << 10;
    pub const UPDATED: u32 = 1 << 11;
}

/// The columns `query` reads to choose its companies (its filters), and to
/// order them when `ordered`. A new filter or order must add its column
/// here and in [`edited_columns`], or lists by it would outlive an edit of
/// it (`lists_remembered_across_an_edit_read_only_the_columns_it_keeps`
/// checks every filter and order).
pub(crate) fn list_columns(query: &CompanyQuery, ordered: bool) -> u32 {
    use columns::*;
    let mut read = STRUCTURE;
    for (used, column) in [
        (!query.words.is_empty(), SEARCH),
        (query.region.is_some(), REGION),
        (query.macroregion.is_some(), MACROREGION),
        (query.is_reseller.is_some(), RESELLER),
        (query.multichannel_number.is_some(), MULTICHANNEL),
    ] {
        if used {
            read |= column;
        }
    }
    if ordered {
        // A cursor page is listed in its cursor's order, whatever the
        // query's sort says (a cursor is taken without a sort parameter).
        let sort = query.after.as_ref().map_or(query.sort, |after| after.order);
        read |= match sort {
            CompanySort::Id | CompanySort::CreatedAt => 0,
            CompanySort::Name => NAME,
            CompanySort::AccountNumber => ACCOUNT,
            CompanySort::PbxNumber => PBX,
            CompanySort::MultichannelNumber => MULTICHANNEL,
            CompanySort::Tariff => TARIFF,
            CompanySort::Region => REGION,
            CompanySort::Macroregion => MACROREGION,
            CompanySort::Inn => INNS,
            CompanySort::ChildrenCount => STRUCTURE,
            CompanySort::UpdatedAt => UPDATED,
        };
    }
    read
}

/// The columns an edit changed, from the company before and after it.
pub fn edited_columns(before: &CompanyRecord, after: &CompanyRecord) -> u32 {
    use columns::*;
    let (b, a) = (&before.fields, &after.fields);
    let mut changed = 0;
    for (differs, column) in [
        (
            before.id != after.id
                || before.path != after.path
                || b.parent_id != a.parent_id
                || b.is_provider != a.is_provider
                || b.is_group_company != a.is_group_company
                || before.deleted_at != after.deleted_at
                || before.deletion_id != after.deletion_id
                || before.children_count != after.children_count
                || before.created_at != after.created_at,
            STRUCTURE,
        ),
        (b.name != a.name || b.name_sort != a.name_sort, NAME),
        (b.search_text != a.search_text, SEARCH),
        (b.region != a.region, REGION),
        (b.macroregion != a.macroregion, MACROREGION),
        (b.is_reseller != a.is_reseller, RESELLER),
        (b.multichannel_number != a.multichannel_number, MULTICHANNEL),
        (b.tariff != a.tariff, TARIFF),
        (b.account_number != a.account_number, ACCOUNT),
        (b.pbx_number != a.pbx_number, PBX),
        (b.inns != a.inns, INNS),
        (before.updated_at != after.updated_at, UPDATED),
    ] {
        if differs {
            changed |= column;
        }
    }
    changed
}

/// Whether the list `query` chooses may hold `card`: its filters as
/// [`push_filters`] writes them, tested on the card. `false` only where a
/// filter leaves the card out for certain: a group admin's linked subtrees
/// and a group's clients (group links) are not known here and leave it in.
/// A word matches where it is a substring of the search text (the trigram
/// and digit indexes, `LIKE` and `strpos` all answer that; the text and the
/// words are folded alike, and lower-cased once more here, so that
/// SQLite's case-blind `LIKE` and trigram index find nothing more), and
/// wherever the text or the word holds a letter outside ASCII and the
/// Cyrillic block ([`folds_like_lowercase`]), whose case SQLite's trigram index folds by a
/// table of its own.
///
/// `companies.rs::a_list_may_hold_a_card_exactly_where_its_statement_lists_it`
/// checks it against the statements on both backends.
pub fn may_hold(query: &CompanyQuery, card: &CompanyRecord) -> bool {
    Candidate::new(card).in_list(query)
}

/// A card tested against remembered lists ([`may_hold`]), its search text
/// lower-cased once where it is [`folds_like_lowercase`] (`None` where it is not).
struct Candidate<'a> {
    card: &'a CompanyRecord,
    lower_text: Option<String>,
}

/// Whether SQLite's trigram index folds the case of `text` as Rust's
/// `to_lowercase` does: ASCII, the Cyrillic block (U+0400–U+045F), whose
/// capitals fold to letters of the same block and which no other letter
/// folds into, and characters that are not letters (« », №, dashes,
/// digits), which case folding neither changes nor yields. Elsewhere its
/// Unicode table makes letters equal that lower-casing keeps apart (ς and
/// σ, ſ and s; U+1C80 and в): a text or a word with such a letter may match
/// whatever Rust says.
pub fn folds_like_lowercase(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii() || ('\u{0400}'..='\u{045F}').contains(&c) || !c.is_alphabetic())
}

impl<'a> Candidate<'a> {
    fn new(card: &'a CompanyRecord) -> Self {
        let text = &card.fields.search_text;
        Self {
            card,
            lower_text: folds_like_lowercase(text).then(|| text.to_lowercase()),
        }
    }

    /// Whether every one of `words` may occur in the card's search text:
    /// as a substring of it, both lower-cased (the text and the words are
    /// folded alike already), or wherever the text or a word is not
    /// [`folds_like_lowercase`].
    fn has_words(&self, words: &[String]) -> bool {
        let Some(text) = &self.lower_text else {
            return true;
        };
        words.iter().all(|word| {
            if !folds_like_lowercase(word) {
                return true;
            }
            if word.chars().any(char::is_uppercase) {
                text.contains(&word.to_lowercase())
            } else {
                text.contains(word.as_str())
            }
        })
    }

    fn in_list(&self, query: &CompanyQuery) -> bool {
        let card = self.card;
        let fields = &card.fields;
        if query.scope_path.is_empty() {
            return false;
        }
        // The subtree's range (`subtree_bounds`: from `/1/2/` up to `/1/20`,
        // `/` and `0` being neighbours) holds exactly the paths that start
        // with it; a path not ending in `/` has an empty range.
        if !kabinet_domain::company::is_root_path(&query.scope_path)
            && query.scope_group.is_none()
            && !(query.scope_path.ends_with('/') && card.path.starts_with(&query.scope_path))
        {
            return false;
        }
        let text = if query.words.is_empty() {
            query.id.is_none_or(|id| id == card.id)
        } else {
            query.id == Some(card.id) || self.has_words(&query.words)
        };
        let deleted = match query.deleted {
            DeletedFilter::Hide => card.deleted_at.is_none(),
            DeletedFilter::Show => true,
            DeletedFilter::Only => card.deleted_at.is_some(),
        };
        text && deleted
            && query
                .multichannel_number
                .as_ref()
                .is_none_or(|number| fields.multichannel_number.as_ref() == Some(number))
            && query
                .region
                .as_ref()
                .is_none_or(|region| fields.region.as_ref() == Some(region))
            && query
                .macroregion
                .as_ref()
                .is_none_or(|macroregion| fields.macroregion.as_ref() == Some(macroregion))
            && query
                .is_reseller
                .is_none_or(|reseller| fields.is_reseller == reseller)
            && query
                .parent_id
                .is_none_or(|parent| fields.parent_id == Some(parent))
            && query.exclude_id != Some(card.id)
    }
}

/// An edit of one company, as the memory's step tests what it remembers
/// against it.
struct Edit<'a> {
    changed: u32,
    before: Candidate<'a>,
    after: Candidate<'a>,
}

impl Edit<'_> {
    /// Whether a page of the list `filters` (reading `columns`) is as true
    /// after the edit as before: it reads none of the changed columns, or
    /// (the tree untouched) the company was in the list neither before nor
    /// after it, so the list holds the same rows in the same order.
    fn keeps_page(&self, filters: &CompanyQuery, columns: u32) -> bool {
        columns & self.changed == 0
            || (self.changed & columns::STRUCTURE == 0
                && !self.before.in_list(filters)
                && !self.after.in_list(filters))
    }

    /// The same for a list's totals and anchors, which the probe of its
    /// words decides too (the order of a common search): the company's
    /// search text matched the words neither before nor after either (a
    /// list with words reads the search text, so a list that reads no
    /// changed column keeps its probe too).
    fn keeps_list(&self, query: &CompanyQuery, columns: u32) -> bool {
        self.keeps_page(query, columns) && self.keeps_probe(&query.words)
    }

    /// Whether the probe of `words` ([`word_matches`]) counts the same
    /// after the edit: the company's search text held them neither before
    /// nor after it.
    fn keeps_probe(&self, words: &[String]) -> bool {
        words.is_empty()
            || self.changed & columns::SEARCH == 0
            || (!self.before.has_words(words) && !self.after.has_words(words))
    }
}

/// Before the commit of an edit of one company by this server, in a
/// transaction that moved the company epoch from `from.company` to
/// `to.company` and changed no other row: the memory of cards and lists
/// moves to `to`, keeping all but that company's card (remembered as
/// `after`), and the lists the edit may have changed: those that read a
/// column it changed and held the company before or after it
/// ([`Edit::keeps_page`], [`Edit::keeps_list`]). Where the edit moved the
/// search epoch by one (a new search text), the probes of searches stay but
/// those whose words the company's text held before or after
/// ([`WordMatchMemo`]). Where a memo was not at `from`, everything in it goes
/// as after any change ([`EpochMemo::step`]).
///
/// It runs before the commit because the first request to read `to` after
/// it would otherwise find the memory at `from` and forget everything (with
/// 16 connections reading, one nearly always did). Until the commit no one
/// reads `to` (the transaction holds the epoch), and a reader still at
/// `from` neither reads nor writes the memory. The [`EditMemory`] handed
/// back empties the memory unless [`EditMemory::committed`] is called: a
/// failed or abandoned commit leaves `to` to another transaction, whose
/// changes nothing remembered would show.
///
/// [`EpochMemo::step`]: crate::epoch_memo::EpochMemo::step
#[must_use = "call `committed` after the commit, or the memory is emptied"]
pub fn remember_edit<'a>(
    store: &'a crate::Store,
    from: ReadEpochs,
    to: ReadEpochs,
    before: &CompanyRecord,
    after: Arc<CompanyRecord>,
) -> EditMemory<'a> {
    let edit = Edit {
        changed: edited_columns(before, &after),
        before: Candidate::new(before),
        after: Candidate::new(&after),
    };
    let memos = store.memos();
    let list = memos.for_list(None);
    let id = after.id;
    if to.search == from.search + 1 {
        list.word_matches.step(
            from.search,
            to.search,
            |words, _| edit.keeps_probe(words),
            [],
        );
    }
    let (from, to) = (from.company, to.company);
    list.cards
        .step(from, to, |card, _| *card != id, [(id, Arc::clone(&after))]);
    list.pages.step(
        from,
        to,
        |_, page| edit.keeps_page(&page.filters, page.columns),
        [],
    );
    list.totals.step(
        from,
        to,
        |query, _| edit.keeps_list(query, list_columns(query, false)),
        [],
    );
    list.anchors.step(
        from,
        to,
        |query, _| edit.keeps_list(query, list_columns(query, true)),
        [],
    );
    EditMemory {
        store,
        committed: false,
    }
}

/// What [`remember_edit`] hands back: the memory it stepped stays only if
/// the edit's transaction is [`EditMemory::committed`]; dropped without it
/// (the commit failed, or the request was dropped before it), everything
/// remembered of companies is forgotten.
#[derive(Debug)]
pub struct EditMemory<'a> {
    store: &'a crate::Store,
    committed: bool,
}

impl EditMemory<'_> {
    /// The edit's transaction committed: the memory stays.
    pub fn committed(mut self) {
        self.committed = true;
    }
}

impl Drop for EditMemory<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let memos = self.store.memos();
            let list = memos.for_list(None);
            list.word_matches.clear();
            list.cards.clear();
            list.pages.clear();
            list.totals.clear();
            list.anchors.clear();
        }
    }
}

/// At most this many pages are remembered (a statement and up to 501 ids:
/// about a kilobyte each at 50 a page).
pub const MEMO_PAGES: usize = 8192;

/// Where pages of a list landed, by the list's filters and order
/// ([`anchors_key`]), remembered at the company epoch: a position in the
/// list (the offset just past a full page that was read) and the cursor
/// after the row before it ([`After`]). A page asked for by `offset` starts
/// from the nearest position at or before it, as a cursor page does, and
/// walks the rest: page 1,000 read again, or the page after one read, costs
/// what page 1 does, where its offset walked 50,000 index entries. Kept
/// sorted by position, at most [`ANCHORS_PER_LIST`].
pub type ListAnchors =
    crate::epoch_memo::EpochMemo<CompanyQuery, std::sync::Arc<Vec<(i64, After)>>>;

/// Pages that end before this position are not remembered: walking a few
/// hundred index entries costs less than the memo.
pub const ANCHOR_FROM: i64 = 500;

/// At most this many positions a list; past it the one closest to its
/// neighbours goes.
pub const ANCHORS_PER_LIST: usize = 64;

/// The key of a list's anchors: [`totals_key`] with the order kept (a
/// position means something in one order only); `None` for a cursor page
/// and where [`totals_key`] is `None`.
fn anchors_key(query: &CompanyQuery) -> Option<CompanyQuery> {
    if query.after.is_some() {
        return None;
    }
    Some(CompanyQuery {
        sort: query.sort,
        sort_chosen: query.sort_chosen,
        descending: query.descending,
        ..totals_key(query)?
    })
}

/// The anchors with `(position, after)` added.
fn with_anchor(anchors: Option<&[(i64, After)]>, position: i64, after: After) -> Vec<(i64, After)> {
    let mut out: Vec<(i64, After)> = anchors.unwrap_or_default().to_vec();
    match out.binary_search_by_key(&position, |(p, _)| *p) {
        Ok(at) => out[at] = (position, after),
        Err(at) => out.insert(at, (position, after)),
    }
    if out.len() > ANCHORS_PER_LIST {
        // The place whose going leaves the shortest walk between its
        // neighbours: the places stay spread over the list.
        let crowded = (0..out.len())
            .min_by_key(|&i| {
                let before = if i == 0 { 0 } else { out[i - 1].0 };
                let after = out.get(i + 1).map_or(i64::MAX, |(p, _)| *p);
                after.saturating_sub(before)
            })
            .unwrap_or(0);
        out.remove(crowded);
    }
    out
}

/// A list's totals, by its filters ([`totals_key`]), remembered at the
/// company epoch (migration 20, which moves on every change to any
/// company): how many companies its words match (the probe) and how many it
/// counts. A page read again, or the next page of the same list, then costs
/// its page alone: no probe, no count of deleted companies, no count.
pub type ListTotals = crate::epoch_memo::EpochMemo<CompanyQuery, (i64, i64)>;

/// At most this many lists' totals are remembered (a filter is tens of
/// bytes).
pub const MEMO_LISTS: usize = 4096;

/// The key of a list's totals: the query without its order and paging,
/// which do not change what it counts (every other field is part of the key,
/// so a new filter is too). `None` for a list that reads group links (a
/// group admin's scope, a group's clients): the company epoch does not move
/// with those. A new filter that reads another table must be left out here
/// the same way, or its totals would outlive a change to that table.
fn totals_key(query: &CompanyQuery) -> Option<CompanyQuery> {
    if reads_group_links(query) {
        return None;
    }
    Some(CompanyQuery {
        sort: CompanySort::default(),
        sort_chosen: false,
        descending: false,
        limit: 0,
        offset: 0,
        after: None,
        ..query.clone()
    })
}

/// Whether a list reads group links (a group admin's scope, a group's
/// clients): the company epoch does not move with those, so nothing of such
/// a list is remembered by it.
fn reads_group_links(query: &CompanyQuery) -> bool {
    query.scope_group.is_some() || query.linked_to.is_some()
}

/// The search epoch (migration 18).
async fn search_epoch(conn: &mut Reader<'_>) -> Result<i64, StoreError> {
    conn.number(&Sql::new(
        "SELECT search_value AS n FROM auth_epoch WHERE id = 1",
    ))
    .await
}

/// [`word_matches`], from `memo` where it remembers them at the current
/// search epoch.
async fn word_matches_memo(
    conn: &mut Reader<'_>,
    backend: Backend,
    words: &[String],
    memo: Option<ListMemo<'_>>,
) -> Result<i64, StoreError> {
    let Some(ListMemo {
        word_matches: memo,
        epochs,
        ..
    }) = memo
    else {
        return word_matches(conn, backend, words).await;
    };
    let epoch = match epochs.map(|e| e.search) {
        Some(epoch) => epoch,
        None => search_epoch(&mut *conn).await?,
    };
    if let Some(matches) = memo.get(epoch, words) {
        return Ok(matches);
    }
    let matches = word_matches(conn, backend, words).await?;
    memo.put(epoch, words.to_vec(), matches);
    Ok(matches)
}

/// One page of companies and the number of matches (exact up to
/// [`COUNT_CAP`]). The page's ids are found first, from the indexes alone
/// where they cover the filters and the order, and only those 50 rows are
/// read whole, so a deep page costs an index walk, not a table walk.
pub async fn list(
    conn: &mut AnyConnection,
    backend: Backend,
    query: &CompanyQuery,
) -> Result<(Vec<Arc<CompanyRecord>>, Total), StoreError> {
    list_in(&mut Reader::Pool(conn), backend, query, None).await
}

/// [`list`] where it costs least: on a SQLite file through
/// [`crate::Store::blocking_read`], else on a connection of the pool. A
/// search's probe is remembered by search epoch ([`WordMatchMemo`]);
/// `epochs` are the epochs where the request has read them already, before
/// anything else (else the list reads the search epoch, and counts): with
/// them, a list's totals are remembered too ([`ListTotals`]). A request that
/// wrote companies must not pass epochs read before its write.
pub async fn list_read(
    store: &crate::Store,
    query: &CompanyQuery,
    epochs: Option<ReadEpochs>,
) -> Result<(Vec<Arc<CompanyRecord>>, Total), StoreError> {
    let backend = store.backend();
    let owned = query.clone();
    let memos = store.memos();
    let blocking_memos = memos.clone();
    // One read transaction: a count and its page see the same data (totals
    // taken from memory were counted at the epoch read with the token, and
    // a change committed since may show in the page before it shows in the
    // next request's total), and SQLite takes its file locks once, not per
    // statement.
    let blocking = store
        .blocking_read(move |conn| {
            conn.execute_batch("BEGIN")?;
            let listed = run_ready(list_in(
                &mut Reader::Now(conn),
                backend,
                &owned,
                Some(blocking_memos.for_list(epochs)),
            ));
            conn.execute_batch("ROLLBACK")?;
            listed
        })
        .await;
    if let Some(result) = blocking {
        return result;
    }
    let memo = Some(memos.for_list(epochs));
    if let Some(mut conn) = store.list_reader().await? {
        return list_in(&mut Reader::Postgres(&mut conn), backend, query, memo).await;
    }
    let mut conn = store.reader().await?;
    list_in(&mut Reader::Pool(&mut conn), backend, query, memo).await
}

async fn list_in(
    conn: &mut Reader<'_>,
    backend: Backend,
    query: &CompanyQuery,
    memo: Option<ListMemo<'_>>,
) -> Result<(Vec<Arc<CompanyRecord>>, Total), StoreError> {
    let words_only = CompanyQuery {
        id: None,
        ..query.clone()
    };
    let Some(id) = query.id.filter(|_| !query.words.is_empty()) else {
        return list_matching(conn, backend, query, memo).await;
    };
    if query.after.is_some() {
        // The exact hit was the first page's first row; the pages after it
        // are the text matches without it.
        let rest = CompanyQuery {
            exclude_id: Some(id),
            ..words_only
        };
        return list_matching(conn, backend, &rest, memo).await;
    }
    // A number that may be an id as well as digits of a phone: the company
    // with that id, when it passes the other filters, comes first (an exact
    // hit), then the companies whose text holds the digits, through the
    // trigram index like any search (an "id or text" condition would read
    // every text match into a list first), on both backends alike.
    let exact = {
        let filters = CompanyQuery {
            words: Vec::new(),
            ..words_only.clone()
        };
        let mut sql = Sql::new("SELECT c.id FROM companies c");
        push_filters(&mut sql, &filters, backend, WordScan::Index);
        sql.push(" AND c.id = ").bind(id);
        let memo = memo.filter(|_| !reads_group_links(query));
        read_page(
            &mut *conn,
            backend,
            &sql,
            "",
            memo,
            &CompanyQuery {
                id: Some(id),
                ..filters
            },
            false,
        )
        .await?
        .into_iter()
        .next()
    };
    let Some(exact) = exact else {
        return list_matching(conn, backend, &words_only, memo).await;
    };
    let rest = CompanyQuery {
        exclude_id: Some(id),
        offset: (query.offset - 1).max(0),
        limit: if query.offset == 0 {
            query.limit - 1
        } else {
            query.limit
        },
        ..words_only
    };
    let (mut items, total) = list_matching(conn, backend, &rest, memo).await?;
    if query.offset == 0 {
        items.insert(0, exact);
    }
    let count = total.count + 1;
    Ok((
        items,
        Total {
            count: count.min(COUNT_CAP),
            exact: total.exact && count <= COUNT_CAP,
            ..total
        },
    ))
}

/// Whether nothing but the words narrows the list: the whole tree, live
/// companies, no other filter.
fn words_alone(query: &CompanyQuery) -> bool {
    kabinet_domain::company::is_root_path(&query.scope_path)
        && query.scope_group.is_none()
        && query.linked_to.is_none()
        && query.multichannel_number.is_none()
        && query.region.is_none()
        && query.macroregion.is_none()
        && query.is_reseller.is_none()
        && query.parent_id.is_none()
        && query.deleted == DeletedFilter::Hide
}

/// Deleted companies at most this many let a search be counted from its
/// word index alone ([`left_out_of_matches`]).
const FEW_DELETED: i64 = 1000;

/// How many of a search's `matches` (every company its words match in the
/// word index, when there are at most [`RARE_MATCHES`]) the list leaves
/// out: the deleted ones and the excluded id. The count is then `matches`
/// less these, read from the index and the small index of deleted
/// companies, where counting the list itself reads every matching row
/// (a thousand random rows of a 3 GB file for four digits of a phone).
/// `None` where that does not hold: no words, other filters, a scope
/// below the root, many deleted companies, or (SQLite) words the word
/// indexes do not answer.
async fn left_out_of_matches(
    conn: &mut Reader<'_>,
    backend: Backend,
    query: &CompanyQuery,
    matches: i64,
) -> Result<Option<i64>, StoreError> {
    let index = word_index(&query.words, backend);
    if query.words.is_empty()
        || (backend == Backend::Sqlite && index.is_none())
        || query.id.is_some()
        || matches > RARE_MATCHES
        || !words_alone(query)
        || !deleted_at_most(&mut *conn, FEW_DELETED).await?
    {
        return Ok(None);
    }
    let sql = match index {
        Some((table, words)) => {
            // MATERIALIZED: as a plain subquery, SQLite 3.46 pushes the
            // `IN` down into it and looks up every match's row by its id
            // to test `deleted_at` (1,000 random rows for a phone fragment,
            // about 6 ms); this way it reads the few deleted ids from their
            // partial index and tests them against the matches.
            let mut sql = Sql::new(
                "WITH d AS MATERIALIZED (SELECT id FROM companies WHERE deleted_at IS NOT NULL",
            );
            if let Some(id) = query.exclude_id {
                sql.push(" UNION SELECT ").bind(id);
            }
            sql.push(&format!(
                ") SELECT COUNT(*) AS n FROM d WHERE d.id IN (SELECT rowid FROM {table} WHERE {table} MATCH "
            ))
            .bind(words)
            .push(")");
            sql
        }
        // PostgreSQL: the few deleted companies (their partial index) and
        // the excluded id (the primary key), each checked against the words
        // on its row, instead of the trigram index's bitmap of every match.
        None => {
            let mut sql =
                Sql::new("SELECT COUNT(*) AS n FROM companies c WHERE (c.deleted_at IS NOT NULL");
            if let Some(id) = query.exclude_id {
                sql.push(" OR c.id = ").bind(id);
            }
            sql.push(")");
            push_text_search(
                &mut sql,
                backend,
                &COMPANY_TEXT,
                &query.words,
                None,
                WordScan::Index,
            );
            sql
        }
    };
    Ok(Some(conn.number(&sql).await?))
}

/// [`totals`], from memory where the list's totals were read at the
/// company epoch the request read with its token.
async fn totals_memo(
    conn: &mut Reader<'_>,
    backend: Backend,
    query: &CompanyQuery,
    memo: Option<ListMemo<'_>>,
) -> Result<(i64, i64), StoreError> {
    let remembered = memo.and_then(|m| Some((m.totals, m.epochs?.company, totals_key(query)?)));
    if let Some((totals_memo, epoch, key)) = &remembered {
        if let Some(found) = totals_memo.get(*epoch, key) {
            return Ok(found);
        }
    }
    let found = totals(conn, backend, query, memo).await?;
    if let Some((totals_memo, epoch, key)) = remembered {
        totals_memo.put(epoch, key, found);
    }
    Ok(found)
}

/// How many companies a list's words match (the probe; 0 without words),
/// and how many it counts (exact up to [`COUNT_CAP`], then `COUNT_CAP + 1`).
async fn totals(
    conn: &mut Reader<'_>,
    backend: Backend,
    query: &CompanyQuery,
    memo: Option<ListMemo<'_>>,
) -> Result<(i64, i64), StoreError> {
    let matches = if query.words.is_empty() {
        0
    } else {
        word_matches_memo(&mut *conn, backend, &query.words, memo).await?
    };

    // Over the whole tree with nothing else to narrow it, a common search
    // has more than the cap once fewer than `matches - COUNT_CAP` companies
    // are deleted (the index holds deleted ones too): no need to count.
    let counted: i64 = if matches > RARE_MATCHES
        && words_alone(query)
        && deleted_at_most(&mut *conn, matches - COUNT_CAP - 2).await?
    {
        COUNT_CAP + 1
    } else if let Some(left_out) = left_out_of_matches(&mut *conn, backend, query, matches).await? {
        matches - left_out
    } else {
        let mut count = Sql::new("SELECT COUNT(*) AS total FROM (SELECT 1");
        push_from(&mut count, query, backend);
        push_filters(&mut count, query, backend, WordScan::Index);
        count.push(" LIMIT ").bind(COUNT_CAP + 1).push(") s");
        conn.number(&count).await?
    };
    Ok((matches, counted))
}

/// [`list`] without the id alternative.
async fn list_matching(
    conn: &mut Reader<'_>,
    backend: Backend,
    query: &CompanyQuery,
    memo: Option<ListMemo<'_>>,
) -> Result<(Vec<Arc<CompanyRecord>>, Total), StoreError> {
    let (matches, counted) = totals_memo(&mut *conn, backend, query, memo).await?;
    // A common search is listed in the order added unless a sort is
    // chosen, or the list's own scope and filters leave few of its matches
    // (a group's two linked clients, a small subtree): those, counted
    // exactly, are sorted as asked, like a rare search's.
    let rare = rare_limit(&query.words);
    let common_words = matches > rare && !query.sort_chosen && counted > rare.min(COUNT_CAP);

    // The order: the cursor's where there is one (it was made in this
    // list's order), else the sort, or the order added for a common search.
    let (sort, descending, id_order) = match &query.after {
        Some(after) => (
            after.order,
            after.descending,
            after.order == CompanySort::Id,
        ),
        None => (query.sort, query.descending && !common_words, common_words),
    };
    // A page by offset starts from the nearest place remembered at or
    // before it, when one was remembered in this order.
    let remembered = memo.and_then(|m| Some((m.anchors, m.epochs?.company, anchors_key(query)?)));
    let listed_by = if id_order { CompanySort::Id } else { sort };
    let anchors = remembered
        .as_ref()
        .filter(|_| query.offset >= ANCHOR_FROM)
        .and_then(|(memo, epoch, key)| memo.get(*epoch, key));
    let (start_after, offset) = match anchors.as_deref().and_then(|found| {
        found.iter().rev().find(|(position, after)| {
            *position <= query.offset && after.order == listed_by && after.descending == descending
        })
    }) {
        Some((position, after)) => (Some(after), query.offset - position),
        None => (query.after.as_ref(), query.offset),
    };
    // A page that walks to its place takes the row before it too: the
    // place of the page itself, for the next time it is read.
    let remember = remembered.is_some() && query.offset >= ANCHOR_FROM;
    let with_row_before = remember && offset > 0;
    let (offset, limit) = if with_row_before {
        (offset - 1, query.limit + 1)
    } else {
        (offset, query.limit)
    };
    let direction = if descending { "DESC" } else { "ASC" };
    let column = sort.column();
    // `id` names the id in the ORDER BY: inside, where the trigram index
    // is joined, its rowid, which it yields in order (no sort, it stops at
    // the page); outside, the company's.
    let order = |id: &str| {
        if id_order {
            format!(" ORDER BY {id} {direction}")
        } else if sort.nullable() {
            // NULLs sort last both ways on both backends.
            format!(
                " ORDER BY CASE WHEN {column} IS NULL THEN 1 ELSE 0 END, {column} {direction}, c.id {direction}"
            )
        } else {
            format!(" ORDER BY {column} {direction}, c.id {direction}")
        }
    };
    // Words known to match more than 2,000 companies are tested on the
    // rows of the order's index, not looked up in the trigram index
    // (PostgreSQL; see `WordScan::Rows`).
    let scan = if matches > RARE_MATCHES {
        WordScan::Rows
    } else {
        WordScan::Index
    };
    // PostgreSQL, a search with at most 2,000 matches listed by id (digits
    // with more than 300): `c.id + 0` keeps the planner from walking the
    // primary key and testing each row until 50 match, which it prefers
    // for its estimate of 1,700 matches. A phone fragment with 1,890
    // matches walked 29,000 rows for 37 ms; the index's bitmap of the
    // matches and a sort of their ids take 5 ms.
    let inner_id = if joined_index(query, backend).is_some() {
        "f.rowid"
    } else if backend == Backend::Postgres && !query.words.is_empty() && scan == WordScan::Index {
        "(c.id + 0)"
    } else {
        "c.id"
    };
    // The page's ids, in order.
    let mut ids = Sql::new("SELECT c.id");
    push_from(&mut ids, query, backend);
    push_filters(&mut ids, query, backend, scan);
    if let Some(after) = start_after {
        push_after(&mut ids, after, inner_id);
    }
    ids.push(&order(inner_id));
    ids.push(" LIMIT ")
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let mut items = read_page(
        &mut *conn,
        backend,
        &ids,
        &order("c.id"),
        memo.filter(|_| !reads_group_links(query)),
        query,
        true,
    )
    .await?;
    let row_before = (with_row_before && !items.is_empty()).then(|| items.remove(0));
    let next = items
        .last()
        .filter(|_| items.len() as i64 == query.limit)
        .map(|last| After::of(last, listed_by, descending));
    if let Some((memo, epoch, key)) = remembered.filter(|_| remember) {
        let known = |position: i64| {
            anchors
                .as_deref()
                .is_some_and(|found| found.iter().any(|(p, _)| *p == position))
        };
        let mut added: Option<Vec<(i64, After)>> = None;
        let places = [
            row_before.map(|row| (query.offset, After::of(&row, listed_by, descending))),
            next.clone().map(|next| (query.offset + query.limit, next)),
        ];
        for (position, after) in places.into_iter().flatten() {
            if !known(position) {
                let base = added.as_deref().or(anchors.as_deref().map(Vec::as_slice));
                added = Some(with_anchor(base, position, after));
            }
        }
        if let Some(added) = added {
            memo.put(epoch, key, std::sync::Arc::new(added));
        }
    }
    let total = Total {
        count: counted.min(COUNT_CAP),
        exact: counted <= COUNT_CAP,
        next,
        order: listed_by,
        descending,
    };
    Ok((items, total))
}

/// The companies whose ids `ids` reads (`SELECT c.id …`, in its order).
/// Where the request read the company epoch (`memo`), a page read twice
/// before at that epoch takes its ids from memory ([`ListPages`]) and its
/// cards from [`CompanyCards`], reading any card not remembered by id
/// ([`cards_of`]); a page read once before is read whole and its ids and
/// cards remembered; a page not read before is read whole and marked.
/// Else, or where a company left since its ids were remembered, the rows
/// are read whole, in `order` (an `ORDER BY` of the outer statement's `c`).
/// `memo` must be `None` for a list that reads group links.
async fn read_page(
    conn: &mut Reader<'_>,
    backend: Backend,
    ids: &Sql,
    order: &str,
    memo: Option<ListMemo<'_>>,
    filters: &CompanyQuery,
    ordered: bool,
) -> Result<Vec<Arc<CompanyRecord>>, StoreError> {
    let remember = memo.and_then(|m| Some((m, m.epochs?.company)));
    let mut seen = false;
    if let Some((memo, epoch)) = remember {
        let remembered = memo.pages.get(epoch, ids);
        match remembered.as_deref().map(|page| page.ids.as_deref()) {
            Some(Some(page)) => {
                if let Some(items) = cards_of(&mut *conn, backend, page, memo.cards, epoch).await? {
                    return Ok(items);
                }
                seen = true;
            }
            Some(None) => seen = true,
            None => {}
        }
    }
    let page = ids.wrapped(
        &format!("SELECT {COLUMNS} FROM companies c WHERE c.id IN ("),
        &format!("){order}"),
    );
    let items: Vec<CompanyRecord> = conn.all(&page, &COLUMN_NAMES).await?;
    let items: Vec<Arc<CompanyRecord>> = items.into_iter().map(Arc::new).collect();
    if let Some((memo, epoch)) = remember {
        let page = RememberedPage {
            filters: filters.clone(),
            columns: list_columns(filters, ordered),
            ids: seen.then(|| items.iter().map(|card| card.id).collect()),
        };
        memo.pages.put(epoch, ids.clone(), Arc::new(page));
        if seen {
            memo.cards
                .put_many(epoch, items.iter().map(|card| (card.id, Arc::clone(card))));
        }
    }
    Ok(items)
}

/// The cards of `ids`, in their order: those remembered at the company
/// `epoch` from memory, the others read in one statement and remembered.
/// `None` where one of them is no longer there (deleted since the ids were
/// read), or where most are not remembered (the card memo, smaller than the
/// page memo, started again): the page's own statement reads them as fast.
async fn cards_of(
    conn: &mut Reader<'_>,
    backend: Backend,
    ids: &[i64],
    cards: &CompanyCards,
    epoch: i64,
) -> Result<Option<Vec<Arc<CompanyRecord>>>, StoreError> {
    let mut found = cards.get_many(epoch, ids);
    let missing: Vec<i64> = ids
        .iter()
        .zip(&found)
        .filter(|(_, card)| card.is_none())
        .map(|(id, _)| *id)
        .collect();
    if missing.len() * 2 > ids.len() {
        return Ok(None);
    }
    if !missing.is_empty() {
        let list = missing
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // One statement for any number of ids: an array on PostgreSQL, a
        // JSON array on SQLite.
        let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM companies c WHERE "));
        match backend {
            Backend::Postgres => sql
                .push("c.id = ANY(CAST(")
                .bind(format!("{{{list}}}"))
                .push(" AS int8[]))"),
            Backend::Sqlite => sql
                .push("c.id IN (SELECT value FROM json_each(")
                .bind(format!("[{list}]"))
                .push("))"),
        };
        let read: Vec<CompanyRecord> = conn.all(&sql, &COLUMN_NAMES).await?;
        let read: HashMap<i64, Arc<CompanyRecord>> = read
            .into_iter()
            .map(|card| (card.id, Arc::new(card)))
            .collect();
        cards.put_many(epoch, read.iter().map(|(id, card)| (*id, Arc::clone(card))));
        for (slot, id) in found.iter_mut().zip(ids) {
            if slot.is_none() {
                match read.get(id) {
                    Some(card) => *slot = Some(Arc::clone(card)),
                    None => return Ok(None),
                }
            }
        }
    }
    Ok(found.into_iter().collect::<Option<Vec<_>>>())
}

/// Distinct non-empty regions and macroregions of the live companies that
/// `scope` selects (its scope and filters; its paging is ignored), for
/// filter drop-downs.
pub async fn distinct_regions(
    conn: &mut AnyConnection,
    backend: Backend,
    scope: &CompanyQuery,
) -> Result<(Vec<String>, Vec<String>), StoreError> {
    let scope = CompanyQuery {
        region: None,
        macroregion: None,
        deleted: DeletedFilter::Hide,
        ..scope.clone()
    };
    let mut lists = Vec::new();
    for column in ["region", "macroregion"] {
        let mut sql = Sql::new(&format!("SELECT DISTINCT c.{column} AS v"));
        push_from(&mut sql, &scope, backend);
        push_filters(&mut sql, &scope, backend, WordScan::Index);
        sql.push(&format!(" AND c.{column} IS NOT NULL ORDER BY v LIMIT 500"));
        let rows = sql.query().fetch_all(&mut *conn).await?;
        lists.push(
            rows.iter()
                .map(|r| col::<String>(r, "v"))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let macroregions = lists.pop().unwrap_or_default();
    let regions = lists.pop().unwrap_or_default();
    Ok((regions, macroregions))
}

/// The largest company id so far (0 on an empty table).
pub async fn max_id(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS top FROM companies")
        .fetch_one(&mut *conn)
        .await?;
    col(&row, "top")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{commit, Store};

    fn fields(name: &str) -> CompanyFields {
        CompanyFields {
            is_provider: name == "Provider",
            name: name.to_string(),
            name_sort: name.to_lowercase(),
            phones: vec!["+74951234567".into(), "+78001234567".into()],
            inns: vec!["7707083893".into()],
            region: Some("Москва".into()),
            credit_limit: Some(-150_000),
            max_dialogs_per_operator: 3,
            fz230_enabled: true,
            search_text: format!("{} | 74951234567 | 7707083893", name.to_lowercase()),
            ..CompanyFields::default()
        }
    }

    #[test]
    fn column_names_follow_the_select_list() {
        let names = column_names(COLUMNS);
        assert_eq!(names.len(), COLUMNS.split(',').count());
        assert_eq!(names[0], "id");
        assert_eq!(names.last(), Some(&"children_count"));
        assert!(names.contains(&"search_text"));
        assert_eq!(
            column_names("t.id, t.user_id, e.value AS auth_epoch"),
            ["id", "user_id", "auth_epoch"]
        );
    }

    /// An edit's memory step stays when its transaction commits and is
    /// forgotten when it does not (a failed commit, a dropped request):
    /// the epoch it stepped to may then come from another transaction.
    #[tokio::test]
    async fn an_edit_s_memory_stays_only_if_its_transaction_commits() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let card = |id: i64, name: &str| {
            Arc::new(CompanyRecord {
                id,
                path: format!("/1/{id}/"),
                fields: fields(name),
                version: 1,
                created_at: 0,
                updated_at: 0,
                deleted_at: None,
                deletion_id: None,
                children_count: 0,
            })
        };
        let cards = store.company_cards();
        cards.put_many(7, [(2, card(2, "Two")), (3, card(3, "Three"))]);
        let mut edited = (*card(2, "Two")).clone();
        edited.fields.tariff = Some("Бизнес".into());
        edited.updated_at = 1;
        let epochs = |company| ReadEpochs { search: 1, company };
        remember_edit(
            &store,
            epochs(7),
            epochs(8),
            &card(2, "Two"),
            Arc::new(edited.clone()),
        )
        .committed();
        assert_eq!(
            cards.get(8, &3).map(|c| c.id),
            Some(3),
            "another card stays"
        );
        assert_eq!(
            cards.get(8, &2).as_deref(),
            Some(&edited),
            "the edit as written"
        );

        // A rename moves the search epoch too: the probe of other words
        // steps with it, and goes with the rest if the commit does not happen.
        let probes = store.word_match_memo();
        let other_words = ["zzz".to_string()];
        probes.put(1, other_words.to_vec(), 5);
        let renamed = ReadEpochs {
            search: 2,
            company: 9,
        };
        let memory = remember_edit(&store, epochs(8), renamed, &edited, card(2, "Two, again"));
        assert_eq!(cards.get(9, &3).map(|c| c.id), Some(3));
        assert_eq!(probes.get(2, other_words.as_slice()), Some(5), "stepped");
        drop(memory);
        assert_eq!(cards.get(9, &3), None, "not committed: forgotten");
        assert_eq!(cards.get(9, &2), None);
        assert_eq!(probes.get(2, other_words.as_slice()), None, "the probe too");
    }

    /// A migrated SQLite store in a file of its own (point reads need a
    /// file), and the directory to remove at the end.
    async fn migrated_file_store(name: &str) -> (std::path::PathBuf, Store) {
        let dir = std::env::temp_dir().join(format!("kabinet-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kabinet.db");
        let _ = std::fs::remove_file(&file);
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", file.display()))
            .await
            .unwrap();
        crate::migrate::run(&store, 1).await.unwrap();
        (dir, store)
    }

    /// The point read of a card is the pool's read, field for field, and
    /// sees every commit at once; an unknown id is `None`.
    #[tokio::test]
    async fn point_read_of_a_card_is_the_pool_read() {
        let (dir, store) = migrated_file_store("point").await;
        let mut tx = store.begin().await.unwrap();
        let root = insert(&mut tx, &fields("Provider"), "", 10).await.unwrap();
        let child = insert(&mut tx, &fields("Ромашка"), &format!("/{root}/"), 20)
            .await
            .unwrap();
        commit(tx).await.unwrap();

        for id in [root, child] {
            let pooled = get(&mut store.reader().await.unwrap(), id).await.unwrap();
            let point = store.point_read(|conn| get_now(conn, id)).unwrap().unwrap();
            assert!(pooled.is_some());
            assert_eq!(point, pooled);
        }
        let missing = store.point_read(|conn| get_now(conn, child + 100)).unwrap();
        assert_eq!(missing.unwrap(), None);

        let mut tx = store.begin().await.unwrap();
        let mut edited = fields("Ромашка плюс");
        edited.parent_id = Some(root);
        let locked = edit_epochs(&mut tx).await.unwrap();
        assert!(update(&mut tx, &locked, child, 1, &edited, 30)
            .await
            .unwrap());
        commit(tx).await.unwrap();
        let point = store
            .point_read(|conn| get_now(conn, child))
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(point.fields.name, "Ромашка плюс");
        assert_eq!(point.version, 2);
        assert_eq!(point.updated_at, 30);
        assert_eq!(point.fields.credit_limit, Some(-150_000));
        assert!(point.fields.fz230_enabled);

        // Rows from before migration 17 get their digit grams filled in,
        // and the digit index finds them by a fragment of a phone.
        let digits_hit = |phrase: &'static str| {
            let store = store.clone();
            async move {
                sqlx::query(
                    "SELECT rowid AS id FROM companies_digits WHERE companies_digits MATCH $1",
                )
                .bind(phrase)
                .fetch_all(&mut *store.reader().await.unwrap())
                .await
                .unwrap()
                .iter()
                .map(|row| col::<i64>(row, "id").unwrap())
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(digits_hit("\"4951 9512 5123\"").await, vec![root, child]);
        let mut tx = store.begin().await.unwrap();
        sqlx::query("UPDATE companies SET search_digits = ''")
            .execute(&mut *tx)
            .await
            .unwrap();
        commit(tx).await.unwrap();
        assert!(digits_hit("\"4951 9512 5123\"").await.is_empty());
        let mut tx = store.begin().await.unwrap();
        fill_search_digits(&mut tx).await.unwrap();
        commit(tx).await.unwrap();
        assert_eq!(digits_hit("\"4951 9512 5123\"").await, vec![root, child]);
        assert!(digits_hit("\"4567 5677\"").await.is_empty());

        // The point-read connections only read.
        let write = store
            .point_read(|conn| Ok(conn.execute("DELETE FROM companies", [])?))
            .unwrap();
        assert!(write.is_err(), "{write:?}");
        assert!(get(&mut store.reader().await.unwrap(), child)
            .await
            .unwrap()
            .is_some());

        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A list read on a blocking point-read connection is the pool's list,
    /// page for page and total for total, for searches (trigram, digit,
    /// short words, an id), filters, every kind of sort and deep offsets.
    #[tokio::test]
    async fn blocking_list_is_the_pool_list() {
        let (dir, store) = migrated_file_store("blocking").await;
        let mut tx = store.begin().await.unwrap();
        let root = insert(&mut tx, &fields("Provider"), "", 10).await.unwrap();
        let regions = ["Москва", "Санкт-Петербург", "Самарская область"];
        let words = ["Ромашка", "Василёк", "Ромб", "Tech", "Ро"];
        for n in 0..60_i64 {
            let name = format!("{} {n}", words[(n % 5) as usize]);
            let mut f = fields(&name);
            f.parent_id = Some(root);
            f.region = (n % 7 != 0).then(|| regions[(n % 3) as usize].to_string());
            f.tariff = (n % 4 != 0).then(|| format!("T{}", n % 3));
            let phone = format!("7495{:07}", 1_000_000 + n * 37);
            f.phones = vec![format!("+{phone}")];
            f.search_text = format!("{} | {phone}", name.to_lowercase());
            insert(&mut tx, &f, &format!("/{root}/"), 20 + n)
                .await
                .unwrap();
        }
        commit(tx).await.unwrap();

        let base = CompanyQuery {
            scope_path: format!("/{root}/"),
            limit: 7,
            ..CompanyQuery::default()
        };
        let w = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut queries = vec![
            base.clone(),
            CompanyQuery {
                words: w(&["ром"]),
                ..base.clone()
            },
            CompanyQuery {
                words: w(&["ро"]),
                offset: 5,
                ..base.clone()
            },
            CompanyQuery {
                words: w(&["ром", "12"]),
                ..base.clone()
            },
            CompanyQuery {
                words: w(&["1000037"]),
                ..base.clone()
            },
            CompanyQuery {
                words: w(&["tech"]),
                descending: true,
                ..base.clone()
            },
            CompanyQuery {
                words: w(&["5"]),
                id: Some(5),
                ..base.clone()
            },
            CompanyQuery {
                words: w(&["5"]),
                id: Some(5),
                offset: 3,
                ..base.clone()
            },
            CompanyQuery {
                region: Some("Москва".into()),
                offset: 7,
                ..base.clone()
            },
            CompanyQuery {
                sort: CompanySort::Tariff,
                sort_chosen: true,
                offset: 14,
                ..base.clone()
            },
            CompanyQuery {
                sort: CompanySort::Region,
                descending: true,
                sort_chosen: true,
                offset: 49,
                ..base.clone()
            },
            CompanyQuery {
                deleted: DeletedFilter::Only,
                ..base.clone()
            },
            CompanyQuery {
                parent_id: Some(root),
                offset: 1000,
                ..base.clone()
            },
            CompanyQuery {
                scope_path: String::new(),
                ..base.clone()
            },
        ];
        queries.push(CompanyQuery {
            limit: 500,
            ..base.clone()
        });
        for query in &queries {
            let pooled = list(&mut store.reader().await.unwrap(), Backend::Sqlite, query)
                .await
                .unwrap();
            let blocking = store
                .blocking_read({
                    let query = query.clone();
                    move |conn| {
                        run_ready(list_in(
                            &mut Reader::Now(conn),
                            Backend::Sqlite,
                            &query,
                            None,
                        ))
                    }
                })
                .await
                .expect("a SQLite file has point reads")
                .unwrap();
            assert_eq!(blocking, pooled, "{query:?}");
            assert_eq!(
                list_read(&store, query, None).await.unwrap(),
                pooled,
                "{query:?}"
            );
        }
        // The searches above found something: the comparison is not of
        // empty pages only.
        let found = list_read(&store, &queries[1], None).await.unwrap();
        assert_eq!(found.0.len(), 7);
        assert!(found.0.iter().all(|c| c.fields.name_sort.contains("ром")));
        assert_eq!(
            list_read(&store, &queries[4], None).await.unwrap().1.count,
            1
        );

        // A search's total is counted from the word index, less the deleted
        // companies and the exact hit put first: it must be the number of
        // companies the list holds.
        let mut tx = store.begin().await.unwrap();
        sqlx::query("UPDATE companies SET deleted_at = 99 WHERE id % 4 = 1 AND id > $1")
            .bind(root)
            .execute(&mut *tx)
            .await
            .unwrap();
        commit(tx).await.unwrap();
        let id_hit = root + 3;
        for (words, id) in [
            (w(&["ром"]), None),
            (w(&["tech"]), None),
            (w(&["74951"]), None),
            (w(&[&id_hit.to_string()]), Some(id_hit)),
        ] {
            let query = CompanyQuery {
                words,
                id,
                limit: 500,
                ..base.clone()
            };
            let (items, total) = list_read(&store, &query, None).await.unwrap();
            assert!(items.len() > 1, "{query:?}");
            assert!(total.exact);
            assert_eq!(total.count, items.len() as i64, "{query:?}");
            assert!(items.iter().all(|c| c.deleted_at.is_none()));
            let pooled = list(&mut store.reader().await.unwrap(), Backend::Sqlite, &query)
                .await
                .unwrap();
            assert_eq!(pooled, (items, total));
        }

        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
