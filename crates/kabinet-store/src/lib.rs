//! Persistence of Kabinet: the only crate that knows SQL.
//!
//! One set of queries serves SQLite and PostgreSQL: statements use `$N`
//! placeholders, which both drivers accept, and the few dialect differences
//! (the substring index, schema DDL) are chosen in one place by [`Backend`].

pub mod act_as;
pub mod audit;
pub mod companies;
mod db;
pub mod demo;
pub mod departments;
pub mod epoch_memo;
pub mod group_links;
pub mod migrate;
pub mod outbox;
pub mod passkeys;
pub mod registration_links;
pub mod second_factor;
pub mod sessions;
pub mod throttle;
pub mod users;

pub use db::{commit, Backend, Conn, Sql, Store, StoreError, Tx};
pub use sqlx::AnyConnection;
