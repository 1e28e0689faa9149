//! Schema migrations, one ordered list per backend, embedded in the binary.

use crate::db::{col, Backend, Store, StoreError};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
    /// Work in Rust after the script, in the same transaction: values the
    /// SQL cannot compute for rows written before the migration.
    data: Option<DataStep>,
}

/// The Rust steps of migrations.
#[derive(Clone, Copy)]
enum DataStep {
    /// Migration 17: the digit grams of every company's search text.
    FillSearchDigits,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
        data: None,
    },
    Migration {
        version: 2,
        name: "users",
        sqlite: include_str!("../migrations/sqlite/0002_users.sql"),
        postgres: include_str!("../migrations/postgres/0002_users.sql"),
        data: None,
    },
    Migration {
        version: 3,
        name: "sign_in_throttle",
        sqlite: include_str!("../migrations/sqlite/0003_sign_in_throttle.sql"),
        postgres: include_str!("../migrations/postgres/0003_sign_in_throttle.sql"),
        data: None,
    },
    Migration {
        version: 4,
        name: "password_links",
        sqlite: include_str!("../migrations/sqlite/0004_password_links.sql"),
        postgres: include_str!("../migrations/postgres/0004_password_links.sql"),
        data: None,
    },
    Migration {
        version: 5,
        name: "ip_rules",
        sqlite: include_str!("../migrations/sqlite/0005_ip_rules.sql"),
        postgres: include_str!("../migrations/postgres/0005_ip_rules.sql"),
        data: None,
    },
    Migration {
        version: 6,
        name: "second_factor",
        sqlite: include_str!("../migrations/sqlite/0006_second_factor.sql"),
        postgres: include_str!("../migrations/postgres/0006_second_factor.sql"),
        data: None,
    },
    Migration {
        version: 7,
        name: "avatars",
        sqlite: include_str!("../migrations/sqlite/0007_avatars.sql"),
        postgres: include_str!("../migrations/postgres/0007_avatars.sql"),
        data: None,
    },
    Migration {
        version: 8,
        name: "delivery",
        sqlite: include_str!("../migrations/sqlite/0008_delivery.sql"),
        postgres: include_str!("../migrations/postgres/0008_delivery.sql"),
        data: None,
    },
    Migration {
        version: 9,
        name: "sign_in_settings",
        sqlite: include_str!("../migrations/sqlite/0009_sign_in_settings.sql"),
        postgres: include_str!("../migrations/postgres/0009_sign_in_settings.sql"),
        data: None,
    },
    Migration {
        version: 10,
        name: "passkeys",
        sqlite: include_str!("../migrations/sqlite/0010_passkeys.sql"),
        postgres: include_str!("../migrations/postgres/0010_passkeys.sql"),
        data: None,
    },
    Migration {
        version: 11,
        name: "departments",
        sqlite: include_str!("../migrations/sqlite/0011_departments.sql"),
        postgres: include_str!("../migrations/postgres/0011_departments.sql"),
        data: None,
    },
    Migration {
        version: 12,
        name: "group_links",
        sqlite: include_str!("../migrations/sqlite/0012_group_links.sql"),
        postgres: include_str!("../migrations/postgres/0012_group_links.sql"),
        data: None,
    },
    Migration {
        version: 13,
        name: "reseller_registration",
        sqlite: include_str!("../migrations/sqlite/0013_reseller_registration.sql"),
        postgres: include_str!("../migrations/postgres/0013_reseller_registration.sql"),
        data: None,
    },
    Migration {
        version: 14,
        name: "act_as",
        sqlite: include_str!("../migrations/sqlite/0014_act_as.sql"),
        postgres: include_str!("../migrations/postgres/0014_act_as.sql"),
        data: None,
    },
    Migration {
        version: 15,
        name: "list_indexes",
        sqlite: include_str!("../migrations/sqlite/0015_list_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0015_list_indexes.sql"),
        data: None,
    },
    Migration {
        version: 16,
        name: "auth_epoch",
        sqlite: include_str!("../migrations/sqlite/0016_auth_epoch.sql"),
        postgres: include_str!("../migrations/postgres/0016_auth_epoch.sql"),
        data: None,
    },
    Migration {
        version: 17,
        name: "search_digits",
        sqlite: include_str!("../migrations/sqlite/0017_search_digits.sql"),
        postgres: include_str!("../migrations/postgres/0017_search_digits.sql"),
        data: Some(DataStep::FillSearchDigits),
    },
    Migration {
        version: 18,
        name: "search_epoch",
        sqlite: include_str!("../migrations/sqlite/0018_search_epoch.sql"),
        postgres: include_str!("../migrations/postgres/0018_search_epoch.sql"),
        data: None,
    },
    Migration {
        version: 19,
        name: "search_walk",
        sqlite: include_str!("../migrations/sqlite/0019_search_walk.sql"),
        postgres: include_str!("../migrations/postgres/0019_search_walk.sql"),
        data: None,
    },
    Migration {
        version: 20,
        name: "company_epoch",
        sqlite: include_str!("../migrations/sqlite/0020_company_epoch.sql"),
        postgres: include_str!("../migrations/postgres/0020_company_epoch.sql"),
        data: None,
    },
    Migration {
        version: 21,
        name: "epoch_truncate",
        sqlite: include_str!("../migrations/sqlite/0021_epoch_truncate.sql"),
        postgres: include_str!("../migrations/postgres/0021_epoch_truncate.sql"),
        data: None,
    },
    Migration {
        version: 22,
        name: "provider_index",
        sqlite: include_str!("../migrations/sqlite/0022_provider_index.sql"),
        postgres: include_str!("../migrations/postgres/0022_provider_index.sql"),
        data: None,
    },
];

/// Applies every migration not yet applied; returns how many ran.
///
/// On PostgreSQL an advisory lock keeps two nodes starting at once from
/// migrating twice; SQLite serialises through its single writer.
pub async fn run(store: &Store, now_ms: i64) -> Result<usize, StoreError> {
    let mut tx = store.begin().await?;
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7254011)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS kabinet_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query("SELECT version FROM kabinet_migrations")
        .fetch_all(&mut *tx)
        .await?;
    let applied: Vec<i64> = rows
        .iter()
        .map(|r| col::<i64>(r, "version"))
        .collect::<Result<_, _>>()?;
    let mut count = 0;
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let script = match store.backend() {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applying migration"
        );
        sqlx::raw_sql(script).execute(&mut *tx).await?;
        match migration.data {
            Some(DataStep::FillSearchDigits) => {
                crate::companies::fill_search_digits(&mut tx).await?;
            }
            None => {}
        }
        sqlx::query(
            "INSERT INTO kabinet_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}
