//! Bulk statements of the demo generator (`kabinet demo`): people,
//! departments and memberships made by the database itself from the
//! companies already written, so that millions of rows cost seconds, not
//! millions of round trips. Nothing else uses these.

use sqlx::AnyConnection;

use crate::db::{Backend, StoreError};

/// Russian first names and their lower-case forms (SQLite's `lower()` folds
/// ASCII only, so the folded forms are given, as the application folds them).
const FIRST_NAMES: [&str; 20] = [
    "Иван",
    "Пётр",
    "Анна",
    "Мария",
    "Сергей",
    "Ольга",
    "Алексей",
    "Елена",
    "Дмитрий",
    "Наталья",
    "Андрей",
    "Татьяна",
    "Михаил",
    "Ирина",
    "Николай",
    "Светлана",
    "Павел",
    "Юлия",
    "Артём",
    "Ксения",
];
const LAST_NAMES: [&str; 20] = [
    "Иванов",
    "Петров",
    "Сидоров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
];

/// Demo people per company.
pub const PEOPLE_PER_COMPANY: i64 = 3;

fn names_cte(name: &str, list: &[&str]) -> String {
    let rows: Vec<String> = list
        .iter()
        .enumerate()
        .map(|(i, n)| format!("({i}, '{n}', '{}')", n.to_lowercase()))
        .collect();
    format!("{name}(i, n, low) AS (VALUES {})", rows.join(", "))
}

/// Adds [`PEOPLE_PER_COMPANY`] people to every company with an id in
/// `from..=to`: the first an account admin (staff at a reseller), the others
/// client users. Logins are `u<company id>n<k>`; no password is set (they
/// would be invited). Returns the number added.
pub async fn insert_people(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let sql = format!(
        "WITH k(k) AS (VALUES (1), (2), (3)), {firsts}, {lasts} \
         INSERT INTO users (company_id, login, login_lower, first_name, last_name, email, kind, \
             full_access, created_at, updated_at, name_sort, search_text, full_name_ru, mobile_phone) \
         SELECT c.id, 'u' || c.id || 'n' || k.k, 'u' || c.id || 'n' || k.k, f.n, l.n, \
             'u' || c.id || 'n' || k.k || '@example.ru', \
             CASE WHEN c.is_reseller = 1 THEN 'staff' WHEN k.k = 1 THEN 'account_admin' ELSE 'client_user' END, \
             0, $1, $1, l.low || ' ' || f.low, l.low || ' ' || f.low || ' | u' || c.id || 'n' || k.k, \
             l.n || ' ' || f.n, '+79' || (100000000 + c.id * 3 + k.k) \
         FROM companies c CROSS JOIN k \
         JOIN firsts f ON f.i = (c.id * 7 + k.k * 3) % {nf} \
         JOIN lasts l ON l.i = (c.id * 11 + k.k * 5) % {nl} \
         WHERE c.id >= $2 AND c.id <= $3 AND c.is_provider = 0 \
         ORDER BY c.id, k.k",
        firsts = names_cte("firsts", &FIRST_NAMES),
        lasts = names_cte("lasts", &LAST_NAMES),
        nf = FIRST_NAMES.len(),
        nl = LAST_NAMES.len(),
    );
    let done = sqlx::query(&sql)
        .bind(now)
        .bind(from)
        .bind(to)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
    Ok(done.rows_affected())
}

/// Gives every reseller with an id in `from..=to` two departments, "Sales"
/// (the companies and users sections) and "Technical support" (viewing
/// companies, people and support), with its staff as members: the first
/// person in support, the others in sales. Returns the number of
/// departments added.
pub async fn insert_reseller_departments(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let sales = union_of(&[
        "companies",
        "companies.view",
        "companies.create",
        "companies.edit",
        "users",
        "users.view",
        "users.create",
        "users.edit",
        "departments",
        "departments.view",
    ]);
    let support = union_of(&[
        "companies",
        "companies.view",
        "users",
        "users.view",
        "support",
        "support.view",
        "support.edit",
    ]);
    let statements: [String; 5] = [
        "INSERT INTO departments (company_id, name_ru, name_en, sort_order, created_at, updated_at) \
         SELECT id, 'Продажи', 'Sales', 1, $1, $1 FROM companies \
         WHERE is_reseller = 1 AND id >= $2 AND id <= $3 ORDER BY id".to_string(),
        "INSERT INTO departments (company_id, name_ru, name_en, sort_order, created_at, updated_at) \
         SELECT id, 'Техническая поддержка', 'Technical support', 2, $1, $1 FROM companies \
         WHERE is_reseller = 1 AND id >= $2 AND id <= $3 ORDER BY id".to_string(),
        format!(
            "INSERT INTO department_rights (department_id, right_key) \
             SELECT d.id, r.k FROM departments d JOIN companies c ON c.id = d.company_id \
             CROSS JOIN ({sales}) r \
             WHERE d.name_en = 'Sales' AND c.is_reseller = 1 AND c.id >= $2 AND c.id <= $3 AND $1 > 0"
        ),
        format!(
            "INSERT INTO department_rights (department_id, right_key) \
             SELECT d.id, r.k FROM departments d JOIN companies c ON c.id = d.company_id \
             CROSS JOIN ({support}) r \
             WHERE d.name_en = 'Technical support' AND c.is_reseller = 1 AND c.id >= $2 AND c.id <= $3 AND $1 > 0"
        ),
        "INSERT INTO department_members (department_id, user_id) \
         SELECT d.id, u.id FROM departments d JOIN companies c ON c.id = d.company_id \
         JOIN users u ON u.company_id = c.id \
         WHERE c.is_reseller = 1 AND c.id >= $2 AND c.id <= $3 AND $1 > 0 \
           AND ((d.name_en = 'Technical support' AND u.login_lower = 'u' || c.id || 'n1') \
             OR (d.name_en = 'Sales' AND u.login_lower <> 'u' || c.id || 'n1'))".to_string(),
    ];
    let mut departments = 0;
    for (index, statement) in statements.iter().enumerate() {
        let done = sqlx::query(statement)
            .bind(now)
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::classify)?;
        // The first two statements add the departments themselves.
        if index < 2 {
            departments += done.rows_affected();
        }
    }
    Ok(departments)
}

/// `SELECT 'a' AS k UNION ALL SELECT 'b' ...` of catalog keys (constants).
fn union_of(keys: &[&str]) -> String {
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            if i == 0 {
                format!("SELECT '{k}' AS k")
            } else {
                format!("SELECT '{k}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The smallest reseller id in `from..=to`, if any.
pub async fn first_reseller(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM companies WHERE is_reseller = 1 AND id >= $1 AND id <= $2 ORDER BY id LIMIT 1",
    )
    .bind(from)
    .bind(to)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// The department of `company_id` with the English name `name_en`.
pub async fn department_named(
    conn: &mut AnyConnection,
    company_id: i64,
    name_en: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM departments WHERE company_id = $1 AND name_en = $2 ORDER BY id LIMIT 1",
    )
    .bind(company_id)
    .bind(name_en.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

/// Adds `user_id` to `department_id`.
pub async fn add_member(
    conn: &mut AnyConnection,
    department_id: i64,
    user_id: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO department_members (department_id, user_id) VALUES ($1, $2)")
        .bind(department_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::classify)?;
    Ok(())
}

/// After a bulk load: SQLite merges the companies' trigram index into one
/// segment (fewer b-trees per search).
pub async fn settle(conn: &mut AnyConnection, backend: Backend) -> Result<(), StoreError> {
    let statements: &[&str] = match backend {
        Backend::Sqlite => &[
            "INSERT INTO companies_fts(companies_fts) VALUES ('optimize')",
            "INSERT INTO companies_digits(companies_digits) VALUES ('optimize')",
        ],
        // VACUUM (ANALYZE) follows the commit (`Store::bulk_load(false)`).
        Backend::Postgres => &[],
    };
    for statement in statements {
        sqlx::query(statement).execute(&mut *conn).await?;
    }
    Ok(())
}

/// The insert triggers a bulk load on SQLite sets aside: per-row upkeep of
/// the trigram and digit indexes, the parent's child count and the
/// search and company epochs. Their work is redone once at
/// the end.
const BULK_SUSPENDED_TRIGGERS: [&str; 6] = [
    "companies_fts_insert",
    "companies_digits_insert",
    "companies_children_insert",
    "companies_search_epoch_insert",
    "companies_company_epoch_insert",
    "users_fts_insert",
];

/// What a bulk load set aside, to be put back by [`resume_after_bulk`].
#[derive(Debug)]
pub struct Suspended {
    backend: Backend,
    /// Statements that put back the dropped indexes and triggers.
    definitions: Vec<String>,
}

/// On PostgreSQL, the row trigger that keeps child counts; the load
/// disables it and recounts once.
const PG_CHILDREN_TRIGGER: &str = "companies_children";

/// Drops the per-row insert triggers and the secondary indexes of
/// companies and people (on SQLite those declared with CREATE INDEX, on
/// PostgreSQL those not behind a constraint, and there the child-count
/// trigger is disabled instead), keeping their definitions from the
/// schema: a million rows then append to their tables, and each index is
/// built once, sorted, at the end. Run it inside the load's transaction,
/// so a failed load leaves the schema as it was.
pub async fn suspend_for_bulk(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<Suspended, StoreError> {
    let mut suspended = Suspended {
        backend,
        definitions: Vec::new(),
    };
    if backend == Backend::Postgres {
        // Secondary indexes not behind a constraint (the trigram GIN index
        // among them) are dropped and built once at the end.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(i.indexname AS TEXT), CAST(i.indexdef AS TEXT) FROM pg_indexes i \
             WHERE i.schemaname = current_schema() AND i.tablename IN ('companies', 'users') \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) \
             ORDER BY i.indexname",
        )
        .fetch_all(&mut *conn)
        .await?;
        for (name, definition) in rows {
            sqlx::query(&format!("DROP INDEX \"{name}\""))
                .execute(&mut *conn)
                .await?;
            suspended.definitions.push(definition);
        }
        sqlx::query(&format!(
            "ALTER TABLE companies DISABLE TRIGGER {PG_CHILDREN_TRIGGER}"
        ))
        .execute(&mut *conn)
        .await?;
        suspended.definitions.push(format!(
            "ALTER TABLE companies ENABLE TRIGGER {PG_CHILDREN_TRIGGER}"
        ));
        return Ok(suspended);
    }
    let triggers = BULK_SUSPENDED_TRIGGERS
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT type, name, sql FROM sqlite_master \
         WHERE (type = 'trigger' AND name IN ({triggers})) \
            OR (type = 'index' AND tbl_name IN ('companies', 'users') AND sql IS NOT NULL) \
         ORDER BY rowid"
    ))
    .fetch_all(&mut *conn)
    .await?;
    if rows.iter().filter(|(kind, _, _)| kind == "trigger").count() != BULK_SUSPENDED_TRIGGERS.len()
    {
        return Err(StoreError::Corrupt(
            "a search or child-count trigger is missing".into(),
        ));
    }
    for (kind, name, definition) in rows {
        let kind = if kind == "trigger" {
            "TRIGGER"
        } else {
            "INDEX"
        };
        sqlx::query(&format!("DROP {kind} \"{name}\""))
            .execute(&mut *conn)
            .await?;
        suspended.definitions.push(definition);
    }
    Ok(suspended)
}

/// Rebuilds the trigram indexes and the child counts, and recreates what
/// [`suspend_for_bulk`] dropped.
pub async fn resume_after_bulk(
    conn: &mut AnyConnection,
    suspended: Suspended,
) -> Result<(), StoreError> {
    for definition in &suspended.definitions {
        sqlx::query(definition).execute(&mut *conn).await?;
    }
    if suspended.backend == Backend::Sqlite {
        for statement in [
            "INSERT INTO companies_fts(companies_fts) VALUES ('rebuild')",
            "INSERT INTO companies_digits(companies_digits) VALUES ('rebuild')",
            "INSERT INTO users_fts(users_fts) VALUES ('rebuild')",
        ] {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        // The search and company epochs' per-row insert triggers
        // (migrations 18 and 20) were set aside with the others: they move
        // once for the whole load. On PostgreSQL their statement triggers
        // moved them already.
        sqlx::query(
            "UPDATE auth_epoch SET search_value = search_value + 1, \
             company_value = company_value + 1 WHERE id = 1",
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE companies SET children_count = (SELECT COUNT(*) FROM companies ch \
             WHERE ch.parent_id = companies.id AND ch.deleted_at IS NULL) \
         WHERE id IN (SELECT DISTINCT parent_id FROM companies WHERE parent_id IS NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
