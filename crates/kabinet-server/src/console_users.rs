//! Console pages of people: list, card, create, edit, delete, restore.

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
