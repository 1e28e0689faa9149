//! Pure domain types and rules of Kabinet.
//!
//! Invariants: no IO, no async, no serde. A value of a type from this crate is
//! valid by construction ("parse, don't validate"): parsers check control
//! digits and formats once, everything downstream takes the parsed type.

pub mod access;
pub mod avatar;
pub mod company;
pub mod error;
pub mod ip_rules;
pub mod money;
pub mod registration;
pub mod requisites;
pub mod text;
pub mod throttle;
pub mod totp;
pub mod user;
pub mod webauthn;

pub use error::FieldError;
