use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, ConnectOptions, Transaction};

/// Set on every SQLite connection: write-ahead logging so readers never
/// block the writer, `NORMAL` sync (safe with WAL), a generous busy timeout,
/// and an 8 MiB page cache (the default 2 MiB makes a deep list page at a
/// million companies read its index pages from the kernel again and again;
/// nine connections stay under 80 MiB).
const SQLITE_PRAGMAS: [&str; 5] = [
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA cache_size = -8192",
];

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    PointRead(#[from] rusqlite::Error),
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    #[error("the database is closed")]
    Closed,
    #[error("a blocking read failed: {0}")]
    Blocking(String),
}

impl StoreError {
    /// Turns a unique-constraint violation into [`StoreError::Unique`] naming the constraint.
    pub(crate) fn classify(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            if db.is_unique_violation() {
                let message = db.message().to_string();
                let name = db.constraint().map(str::to_string).unwrap_or(message);
                return StoreError::Unique(name);
            }
        }
        StoreError::Database(error)
    }
}

pub type Tx = Transaction<'static, Any>;

/// Commits a write transaction.
pub async fn commit(tx: Tx) -> Result<(), StoreError> {
    Ok(tx.commit().await?)
}
pub type Conn = PoolConnection<Any>;

/// How long a PostgreSQL connection may sit idle in the pool before it is
/// pinged on its next use.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Session settings of every PostgreSQL connection. Kabinet's statements
/// are short ones of an interactive service, run 16 at once:
/// - no parallel workers: a worker's start-up costs milliseconds, and a
///   plan the planner thinks large enough (a search page whose words it
///   cannot estimate) took 21 ms with two workers where it takes 0.6 ms
///   without them; under load the workers also take the cores the other
///   requests wait for;
/// - no JIT: compiling a plan whose estimated cost passes `jit_above_cost`
///   takes tens of milliseconds, more than any of these statements.
const POSTGRES_SETTINGS: &[&str] = &["SET max_parallel_workers_per_gather = 0", "SET jit = off"];

/// The database. SQLite gets a pool of readers and a single writer, so that
/// write transactions queue in the process instead of failing with "database
/// is locked"; PostgreSQL uses one pool for both.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    /// SQLite on a file: connections for [`Store::point_read`].
    point: Option<Arc<PointReads>>,
    /// PostgreSQL: connections of its own driver for company lists
    /// ([`Store::list_reader`]).
    lists: Option<sqlx::PgPool>,
    /// PostgreSQL: connections of its own driver for reads by key (a token,
    /// a card: [`Store::key_reader`]), apart from the lists', so that slow
    /// lists never hold up every request's token read.
    keys: Option<sqlx::PgPool>,
    memos: Memos,
}

/// What the store remembers between requests ([`crate::epoch_memo`]).
#[derive(Clone, Debug)]
pub(crate) struct Memos {
    /// What company searches' probes found, by search epoch.
    word_matches: Arc<crate::companies::WordMatchMemo>,
    /// Company lists' totals, by company epoch.
    totals: Arc<crate::companies::ListTotals>,
    /// Company cards, by company epoch.
    cards: Arc<crate::companies::CompanyCards>,
    /// Where company lists' pages landed, by company epoch.
    anchors: Arc<crate::companies::ListAnchors>,
    /// The ids of company list pages, by company epoch.
    pages: Arc<crate::companies::ListPages>,
}

impl Default for Memos {
    fn default() -> Self {
        use crate::companies::{
            CompanyCards, ListAnchors, ListPages, ListTotals, WordMatchMemo, MEMO_CARDS,
            MEMO_LISTS, MEMO_PAGES, MEMO_SEARCHES,
        };
        Self {
            word_matches: Arc::new(WordMatchMemo::new(MEMO_SEARCHES)),
            totals: Arc::new(ListTotals::new(MEMO_LISTS)),
            cards: Arc::new(CompanyCards::new(MEMO_CARDS)),
            anchors: Arc::new(ListAnchors::new(MEMO_LISTS)),
            pages: Arc::new(ListPages::new(MEMO_PAGES)),
        }
    }
}

impl Memos {
    /// What a company list may take from memory, with the epochs its
    /// request read (if it did).
    pub(crate) fn for_list(
        &self,
        epochs: Option<crate::epoch_memo::ReadEpochs>,
    ) -> crate::companies::ListMemo<'_> {
        crate::companies::ListMemo {
            word_matches: &self.word_matches,
            totals: &self.totals,
            anchors: &self.anchors,
            cards: &self.cards,
            pages: &self.pages,
            epochs,
        }
    }
}

/// Read-only SQLite connections used on the caller's own thread for reads
/// by key. A statement through sqlx's SQLite driver is a round trip to the
/// connection's worker thread and back (two thread wake-ups) and a copy of
/// the row into `AnyRow`: about 40 µs of CPU, where reading one row by its
/// key takes SQLite a few microseconds. A company card GET made two such
/// statements (the token, the card), and they were most of its cost.
#[derive(Debug)]
struct PointReads {
    file: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// How many [`Store::blocking_read`]s run at once: as many as the
    /// pool has readers, so that a burst of searches queues here instead
    /// of opening a connection (and a page cache) per request.
    blocking: Arc<tokio::sync::Semaphore>,
}

/// The SQLite pool's readers, and the most [`Store::blocking_read`]s at
/// once.
const READERS: u32 = 8;

/// More idle point-read connections than this are closed when given back
/// (one per runtime thread is what a server uses).
const POINT_READS_IDLE: usize = 8;

impl PointReads {
    fn open(&self) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        // Opened for writing but limited to reads by `query_only`: a
        // read-only open of a WAL database fails when no other connection
        // holds its shared-memory file open.
        let conn = rusqlite::Connection::open_with_flags(
            &self.file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Short: this runs on a runtime thread. A reader in WAL mode waits
        // only while the log's index is rebuilt after a crash.
        conn.busy_timeout(Duration::from_millis(500))?;
        // The page cache of the pool's readers: lists and searches run
        // here too (a deep page re-reads its index pages from the kernel
        // with a smaller one).
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -4096;")?;
        Ok(conn)
    }

    fn run<T>(
        &self,
        read: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read(&mut conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POINT_READS_IDLE {
            idle.push(conn);
        }
        result
    }
}

/// A connection of `pool` (PostgreSQL's own driver), if the store has one.
async fn native_connection(
    pool: &Option<sqlx::PgPool>,
) -> Result<Option<PoolConnection<sqlx::Postgres>>, StoreError> {
    match pool {
        Some(pool) => Ok(Some(pool.acquire().await?)),
        None => Ok(None),
    }
}

/// A PostgreSQL pool's options, for sqlx's `Any` driver or PostgreSQL's own.
fn postgres_pool<DB: sqlx::Database>(max: u32) -> sqlx::pool::PoolOptions<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        // A connection is pinged before use only when it sat idle
        // (PostgreSQL may have restarted or dropped it meanwhile); under
        // load a connection goes straight back to work, without a round
        // trip per request that cost a sixth of a company card GET's
        // throughput.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for &setting in POSTGRES_SETTINGS {
                    sqlx::Executor::execute(&mut *conn, setting).await?;
                }
                Ok(())
            })
        })
}

impl Store {
    /// Connects to `url`: `sqlite://path/to/file.db` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(
                url.split(':').next().unwrap_or("").to_string(),
            ));
        };
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        match backend {
            Backend::Sqlite => {
                // No ping before handing out a connection: a connection to a
                // local file does not go stale, and the ping was a round
                // trip to the connection's worker thread on every request
                // (a third of a company card GET's time).
                let pool = |max: u32| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(Duration::from_secs(30))
                        .test_before_acquire(false)
                        .after_connect(|conn, _meta| {
                            Box::pin(async move {
                                for pragma in SQLITE_PRAGMAS {
                                    sqlx::Executor::execute(&mut *conn, pragma).await?;
                                }
                                Ok(())
                            })
                        })
                };
                let file = SqliteConnectOptions::from_str(url)?
                    .get_filename()
                    .to_path_buf();
                let write = pool(1).connect_with(options.clone()).await?;
                let read = pool(READERS).connect_with(options).await?;
                // An in-memory database is one connection's own: the point
                // reads go through the pools there.
                let in_memory = file.as_os_str().is_empty()
                    || file.to_string_lossy().contains(":memory:")
                    || url.contains("mode=memory");
                let point = (!in_memory).then(|| {
                    Arc::new(PointReads {
                        file,
                        idle: Mutex::new(Vec::new()),
                        blocking: Arc::new(tokio::sync::Semaphore::new(READERS as usize)),
                    })
                });
                Ok(Self {
                    backend,
                    read,
                    write,
                    point,
                    lists: None,
                    keys: None,
                    memos: Memos::default(),
                })
            }
            Backend::Postgres => {
                let pool = postgres_pool::<Any>(16).connect_with(options).await?;
                // Lists read through PostgreSQL's own driver: decoding 50
                // rows of 42 columns into sqlx's `AnyRow` (a copy of every
                // value and every column's description, per row) was a
                // quarter of the server's time on a list page.
                let native =
                    sqlx::postgres::PgConnectOptions::from_str(url)?.disable_statement_logging();
                let lists = postgres_pool::<sqlx::Postgres>(8)
                    .connect_with(native.clone())
                    .await?;
                let keys = postgres_pool::<sqlx::Postgres>(8)
                    .connect_with(native)
                    .await?;
                Ok(Self {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    point: None,
                    lists: Some(lists),
                    keys: Some(keys),
                    memos: Memos::default(),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What company searches' probes found, remembered by search epoch
    /// ([`crate::companies::WordMatchMemo`]); shared by the store's clones.
    pub fn word_match_memo(&self) -> Arc<crate::companies::WordMatchMemo> {
        Arc::clone(&self.memos.word_matches)
    }

    /// Everything the store remembers, for a list ([`Memos::for_list`]).
    pub(crate) fn memos(&self) -> Memos {
        self.memos.clone()
    }

    /// Company lists' totals remembered by company epoch
    /// ([`crate::companies::ListTotals`]); shared by the store's clones.
    pub fn list_totals(&self) -> Arc<crate::companies::ListTotals> {
        Arc::clone(&self.memos.totals)
    }

    /// Where company lists' pages landed, remembered by company epoch
    /// ([`crate::companies::ListAnchors`]); shared by the store's clones.
    pub fn list_anchors(&self) -> Arc<crate::companies::ListAnchors> {
        Arc::clone(&self.memos.anchors)
    }

    /// The ids of company list pages remembered by company epoch
    /// ([`crate::companies::ListPages`]); shared by the store's clones.
    pub fn list_pages(&self) -> Arc<crate::companies::ListPages> {
        Arc::clone(&self.memos.pages)
    }

    /// Company cards remembered by company epoch
    /// ([`crate::companies::CompanyCards`]); shared by the store's clones.
    pub fn company_cards(&self) -> Arc<crate::companies::CompanyCards> {
        Arc::clone(&self.memos.cards)
    }

    /// Runs `read` on a read-only SQLite connection on this thread, without
    /// an `.await`: for reads of a row or two by key only (they take
    /// microseconds, so they may run on a runtime thread), never a search
    /// or a list. `None` where there is no such connection (PostgreSQL, an
    /// in-memory database): the caller reads through [`Store::reader`].
    /// It sees every transaction committed before it starts, like a read
    /// through the pool.
    pub fn point_read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        self.point
            .as_ref()
            .map(|point| point.run(|conn| read(conn)))
    }

    /// Runs `read` on a read-only SQLite connection on a blocking thread:
    /// for a list or a search, which makes several statements and reads
    /// dozens of rows. Through sqlx each statement is a round trip to the
    /// connection's worker thread and each row a copy into `AnyRow`; here
    /// the whole read is one hop, and rows are read in place (by hand, at a
    /// million companies: list pages 1,290 → 2,427 requests/s, name
    /// searches 2,121 → 4,423; BENCHMARKS.md, run E). At most [`READERS`]
    /// run at once.
    /// `None` where there is no such connection (PostgreSQL, an in-memory
    /// database): the caller reads through [`Store::reader`].
    pub async fn blocking_read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&mut rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Option<Result<T, StoreError>> {
        let point = Arc::clone(self.point.as_ref()?);
        let permit = match Arc::clone(&point.blocking).acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => return Some(Err(StoreError::Closed)),
        };
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            point.run(read)
        })
        .await;
        Some(joined.unwrap_or_else(|e| Err(StoreError::Blocking(e.to_string()))))
    }

    /// A connection for reading.
    pub async fn reader(&self) -> Result<Conn, StoreError> {
        Ok(self.read.acquire().await?)
    }

    /// PostgreSQL: a connection of its own driver for a company list;
    /// `None` on SQLite.
    pub(crate) async fn list_reader(
        &self,
    ) -> Result<Option<PoolConnection<sqlx::Postgres>>, StoreError> {
        native_connection(&self.lists).await
    }

    /// PostgreSQL: a connection of its own driver for a read by key (a
    /// token, a card); `None` on SQLite.
    pub(crate) async fn key_reader(
        &self,
    ) -> Result<Option<PoolConnection<sqlx::Postgres>>, StoreError> {
        native_connection(&self.keys).await
    }

    /// A write transaction. Everything a use case changes, its audit record
    /// and its outbox event go into one of these.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(self.write.begin().await?)
    }

    /// Bulk loading (the demo generator) on SQLite: the writer keeps a
    /// large page cache, does not sync, and checkpoints rarely, so that a
    /// million rows with their indexes go in at memory speed. A crash
    /// during it may lose the load, never the file's consistency (WAL).
    /// `false` ends it: on SQLite the connection's usual settings
    /// ([`SQLITE_PRAGMAS`]) come back and the log is checkpointed; on
    /// PostgreSQL VACUUM sets the visibility map, so that list pages are
    /// index-only scans rather than a heap visit per skipped row (a deep
    /// page of a fresh million-row table took 1.8 s), and ANALYZE gives the
    /// planner the new sizes.
    pub async fn bulk_load(&self, on: bool) -> Result<(), StoreError> {
        let mut conn = self.write.acquire().await?;
        if self.backend == Backend::Postgres {
            if !on {
                sqlx::raw_sql("VACUUM (ANALYZE) companies, users, departments, department_members")
                    .execute(&mut *conn)
                    .await?;
            }
            return Ok(());
        }
        let pragmas: &[&str] = if on {
            &[
                "PRAGMA synchronous = OFF",
                "PRAGMA cache_size = -524288",
                "PRAGMA wal_autocheckpoint = 100000",
            ]
        } else {
            &[
                "PRAGMA wal_autocheckpoint = 1000",
                "PRAGMA wal_checkpoint(TRUNCATE)",
            ]
        };
        let restored = if on { &[][..] } else { &SQLITE_PRAGMAS[..] };
        for pragma in restored.iter().chain(pragmas) {
            sqlx::query(pragma).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Writes a consistent copy of a live SQLite database to `target`.
    pub async fn backup_sqlite(&self, target: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::UnsupportedUrl(
                "backup works on SQLite; use pg_dump for PostgreSQL".into(),
            ));
        }
        let mut conn = self.write.acquire().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_string())
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(point) = &self.point {
            point.blocking.close();
            point.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
        self.read.close().await;
        self.write.close().await;
        if let Some(lists) = &self.lists {
            lists.close().await;
        }
        if let Some(keys) = &self.keys {
            keys.close().await;
        }
    }
}

/// A bound value of a dynamically built statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(Some(i64::from(v)))
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_string()))
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_string))
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// A statement built piece by piece with numbered placeholders, so that
/// filters and sorting can be composed while every value stays bound.
#[derive(Debug, Default, Clone, PartialEq, Eq, Hash)]
pub struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.values.len().to_string());
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// This statement inside `before` and `after` (SQL text, never user
    /// input), its values bound as they are: a query made a subquery.
    pub fn wrapped(&self, before: &str, after: &str) -> Self {
        Self {
            text: format!("{before}{}{after}", self.text),
            values: self.values.clone(),
        }
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.query_in::<Any>()
    }

    /// The statement with its values bound, for the driver `DB` (sqlx's
    /// `Any`, or PostgreSQL's own in [`Reader::Postgres`]).
    fn query_in<'q, DB>(&'q self) -> Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        DB: sqlx::Database,
        Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut query = sqlx::query::<DB>(&self.text);
        for value in &self.values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.as_deref()),
            };
        }
        query
    }
}

/// A read's connection: the pool's (sqlx), or a point-read connection
/// inside [`Store::blocking_read`] (SQLite), so that one function such as
/// the company list serves both. A `Now` read never waits: its futures
/// complete on their first poll ([`run_ready`]).
pub(crate) enum Reader<'a> {
    Pool(&'a mut sqlx::AnyConnection),
    Now(&'a mut rusqlite::Connection),
    /// PostgreSQL through its own driver ([`Store::list_reader`]).
    Postgres(&'a mut sqlx::PgConnection),
}

/// A value read from a row of any kind of [`Reader`].
pub(crate) trait FromRow: Sized {
    fn from_any(row: &AnyRow) -> Result<Self, StoreError>;
    fn from_named(row: &NamedRow<'_, '_>) -> Result<Self, StoreError>;
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, StoreError>;
}

impl FromRow for i64 {
    fn from_any(row: &AnyRow) -> Result<Self, StoreError> {
        use sqlx::Row;
        row.try_get(0)
            .map_err(|e| StoreError::Corrupt(format!("column 0: {e}")))
    }
    fn from_named(row: &NamedRow<'_, '_>) -> Result<Self, StoreError> {
        row.row
            .get(0)
            .map_err(|e| StoreError::Corrupt(format!("column 0: {e}")))
    }
    fn from_postgres(row: &sqlx::postgres::PgRow) -> Result<Self, StoreError> {
        use sqlx::Row;
        row.try_get(0)
            .map_err(|e| StoreError::Corrupt(format!("column 0: {e}")))
    }
}

impl Reader<'_> {
    /// Every row of `sql`, mapped; `names` are the columns it selects, in
    /// order ([`column_names`]).
    pub(crate) async fn all<T: FromRow>(
        &mut self,
        sql: &Sql,
        names: &[&str],
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Reader::Pool(conn) => {
                let rows = sql.query().fetch_all(&mut **conn).await?;
                rows.iter().map(T::from_any).collect()
            }
            Reader::Postgres(conn) => {
                let rows = sql
                    .query_in::<sqlx::Postgres>()
                    .fetch_all(&mut **conn)
                    .await?;
                rows.iter().map(T::from_postgres).collect()
            }
            Reader::Now(conn) => {
                let mut statement = conn.prepare_cached(&sql.text)?;
                if statement.parameter_count() != sql.values.len() {
                    return Err(StoreError::Corrupt(format!(
                        "{} values for {} parameters",
                        sql.values.len(),
                        statement.parameter_count()
                    )));
                }
                // `$1`, `$2`, … appear in the text in the order they were
                // bound, each once ([`Sql::bind`]), so SQLite numbers them
                // as their names say and they bind by position.
                let mut rows = statement.query(rusqlite::params_from_iter(&sql.values))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(T::from_named(&NamedRow::new(row, names))?);
                }
                Ok(out)
            }
        }
    }

    /// The first row of `sql`, if any.
    pub(crate) async fn optional<T: FromRow>(
        &mut self,
        sql: &Sql,
        names: &[&str],
    ) -> Result<Option<T>, StoreError> {
        Ok(self.all(sql, names).await?.into_iter().next())
    }

    /// The number in the first column of the one row of `sql` (a count).
    pub(crate) async fn number(&mut self, sql: &Sql) -> Result<i64, StoreError> {
        self.optional(sql, &[])
            .await?
            .ok_or_else(|| StoreError::Corrupt("a count returned no row".into()))
    }
}

/// Runs a future that never waits (a read through [`Reader::Now`]) on
/// this thread.
pub(crate) fn run_ready<T>(
    future: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Blocking(
            "a read on a point-read connection waited".into(),
        )),
    }
}

/// Reads a column, naming it in the error.
pub(crate) fn col<T>(row: &impl RowGet<T>, name: &str) -> Result<T, StoreError> {
    row.get_col(name)
}

pub(crate) fn flag(row: &impl RowGet<i64>, name: &str) -> Result<bool, StoreError> {
    Ok(row.get_col(name)? != 0)
}

/// A row that yields a column of type `T` by name: sqlx's rows, and
/// rusqlite's for the point reads of [`Store::point_read`], so that one
/// mapping (a company record, a token) serves both.
pub(crate) trait RowGet<T> {
    fn get_col(&self, name: &str) -> Result<T, StoreError>;
}

impl<T> RowGet<T> for AnyRow
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    fn get_col(&self, name: &str) -> Result<T, StoreError> {
        use sqlx::Row;
        self.try_get(name)
            .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
    }
}

impl<T> RowGet<T> for sqlx::postgres::PgRow
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    fn get_col(&self, name: &str) -> Result<T, StoreError> {
        use sqlx::Row;
        self.try_get(name)
            .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
    }
}

/// A rusqlite row whose columns are found by name in `names` (the
/// statement's column names, in order), starting after the last one read:
/// a mapping that reads the columns in their order finds each at once,
/// where rusqlite's own lookup by name asks SQLite for every column's name
/// (a tenth of a card GET's time).
pub(crate) struct NamedRow<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    names: &'a [&'a str],
    next: std::cell::Cell<usize>,
}

impl<'a, 'r> NamedRow<'a, 'r> {
    pub(crate) fn new(row: &'a rusqlite::Row<'r>, names: &'a [&'a str]) -> Self {
        Self {
            row,
            names,
            next: std::cell::Cell::new(0),
        }
    }
}

/// The column names of a select list such as `c.id, c.name, x AS y`: what
/// follows the last `.` or ` AS ` of each item.
pub(crate) fn column_names(select_list: &str) -> Vec<&str> {
    select_list
        .split(',')
        .map(|item| {
            let item = item.trim();
            let item = item.rsplit(" AS ").next().unwrap_or(item);
            item.rsplit('.').next().unwrap_or(item).trim()
        })
        .collect()
}

impl<T: rusqlite::types::FromSql> RowGet<T> for NamedRow<'_, '_> {
    fn get_col(&self, name: &str) -> Result<T, StoreError> {
        let count = self.names.len();
        let start = self.next.get().min(count);
        let index = (start..count)
            .chain(0..start)
            .find(|&i| self.names[i] == name)
            .ok_or_else(|| StoreError::Corrupt(format!("column {name}: not selected")))?;
        self.next.set(index + 1);
        self.row
            .get(index)
            .map_err(|e| StoreError::Corrupt(format!("column {name}: {e}")))
    }
}

/// How PostgreSQL may match a search's literal words (SQLite and digit
/// words are not affected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordScan {
    /// Through pg_trgm's GIN index where the planner finds it cheaper.
    Index,
    /// On each row the plan reads, never through the trigram index: for
    /// words already known to match many rows (more than 2,000 of a
    /// million), where the page is the first 50 rows of an order's index
    /// that match. The planner's estimate for such a `LIKE` can be a
    /// hundred rows (a Latin fragment absent from its sample), and it then
    /// reads every match through the trigram bitmap to sort them: 41,542
    /// rows and 157 ms for `way` instead of 1,195 rows and 1.3 ms.
    /// The words are tested with `strpos` on the entries of the
    /// `companies_id_search` index (migration 19), which holds the id,
    /// `deleted_at` and the search text: the walk reads no table row.
    Rows,
}

/// Whether the trigram index can answer a word by itself (three characters
/// or more); shorter words need a scan with LIKE.
pub(crate) fn trigram_word(word: &str) -> bool {
    word.chars().count() >= 3
}

/// A word as an FTS5 phrase: quoted, inner quotes doubled.
pub(crate) fn fts_phrase(word: &str) -> String {
    format!("\"{}\"", word.replace('"', "\"\""))
}

/// Where a table's search text is matched ([`push_text_search`]): the
/// table's alias in the query, its trigram FTS5 table (SQLite), and its
/// digit index, if it has one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextIndex {
    pub alias: &'static str,
    pub fts_table: &'static str,
    pub digit_index: Option<&'static str>,
}

/// Adds the substring search of a list: every word must occur in the row's
/// `search_text`, or the row's id must equal `id`. On SQLite the trigram FTS5
/// table `fts_table` answers `LIKE` from its index; on PostgreSQL pg_trgm's
/// GIN index answers `LIKE` on the column itself. `alias` is the table's
/// alias in the query; with no words, `id` alone filters.
///
/// `digit_index` names the table's digit index (companies: the FTS5 table
/// `companies_digits` on SQLite, the column `search_digits_tsv` on PostgreSQL,
/// see migration 17): a word of four digits or more is matched there, as
/// the phrase of its grams, instead of by trigrams.
///
/// `scan` says how PostgreSQL may match the literal words ([`WordScan`]).
pub(crate) fn push_text_search(
    sql: &mut Sql,
    backend: Backend,
    text: &TextIndex,
    words: &[String],
    id: Option<i64>,
    scan: WordScan,
) {
    let TextIndex {
        alias,
        fts_table,
        digit_index,
    } = *text;
    if words.is_empty() {
        if let Some(id) = id {
            sql.push(&format!(" AND {alias}.id = ")).bind(id);
        }
        return;
    }
    sql.push(" AND (");
    if let Some(id) = id {
        sql.push(&format!("{alias}.id = ")).bind(id).push(" OR ");
    }
    sql.push("(");
    for (index, word) in words.iter().enumerate() {
        if index > 0 {
            sql.push(" AND ");
        }
        // The walk of a common search (PostgreSQL) tests every word with
        // `strpos` on the search text of the index entry (migration 19),
        // which pg_trgm does not answer: a plain byte search, on a million
        // rows 62 ms where `(… || '') LIKE` took 161 ms (the concatenation
        // copies each text, and LIKE matches UTF-8 character by character).
        // A word of digits occurs in the search text only inside a run of
        // digits, which is what the phrase of its grams matches, so it is
        // tested the same way instead of through the row's `tsvector`.
        if backend == Backend::Postgres && scan == WordScan::Rows {
            sql.push(&format!("strpos({alias}.search_text, "))
                .bind(word.clone())
                .push(") > 0");
            continue;
        }
        let digits =
            digit_index.and_then(|index| Some((index, kabinet_domain::text::digit_phrase(word)?)));
        if let Some((index, phrase)) = digits {
            match backend {
                Backend::Sqlite => {
                    sql.push(&format!(
                        "{alias}.id IN (SELECT rowid FROM {index} WHERE {index} MATCH "
                    ))
                    .bind(fts_phrase(&phrase))
                    .push(")");
                }
                Backend::Postgres => {
                    sql.push(&format!(
                        "{alias}.search_digits_tsv @@ phraseto_tsquery('simple', "
                    ))
                    .bind(phrase)
                    .push(")");
                }
            }
            continue;
        }
        // The word is matched literally: `\`, `%` and `_` are escaped with
        // `\`, PostgreSQL's default LIKE escape and SQLite's by `ESCAPE`.
        let literal: String = word
            .chars()
            .flat_map(|c| match c {
                '\\' | '%' | '_' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{literal}%");
        match backend {
            // A word of three characters or more is a phrase of trigrams,
            // which the index answers without reading the rows.
            Backend::Sqlite if trigram_word(word) => {
                sql.push(&format!(
                    "{alias}.id IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH "
                ))
                .bind(fts_phrase(word))
                .push(")");
            }
            Backend::Sqlite => {
                sql.push(&format!(
                    "{alias}.id IN (SELECT rowid FROM {fts_table} WHERE search_text LIKE "
                ))
                .bind(pattern)
                .push(" ESCAPE '\\')");
            }
            Backend::Postgres => {
                sql.push(&format!("{alias}.search_text LIKE "))
                    .bind(pattern);
            }
        }
    }
    sql.push("))");
}

#[cfg(test)]
mod tests {
    /// The bundled SQLite is built without SQLITE_ENABLE_MEMORY_MANAGEMENT
    /// (`.cargo/config.toml`): with it every connection's page cache sits
    /// behind one process-wide mutex, and lists and searches on the
    /// blocking readers ran 27-30 % slower (BENCHMARKS.md, run H).
    #[test]
    fn sqlite_page_caches_are_not_shared_between_connections() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let used = |option: &str| -> i64 {
            conn.query_row("SELECT sqlite_compileoption_used(?1)", [option], |row| {
                row.get(0)
            })
            .unwrap()
        };
        assert_eq!(used("ENABLE_MEMORY_MANAGEMENT"), 0);
        // The option list is read, not empty: the check above would pass
        // on a build that reports nothing.
        assert_eq!(used("ENABLE_FTS5"), 1);
    }
}
