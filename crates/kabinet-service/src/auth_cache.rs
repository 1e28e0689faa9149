//! Who a signed-in person is and what they may do, kept between requests
//! while the authorisation epoch stands still.
//!
//! Every change that can alter a person's identity, scope or rights moves
//! the database's `auth_epoch` on, by triggers in the same transaction
//! (migration 0016). A request reads the epoch (one single-row read) and
//! uses the cached person only if it was loaded at that epoch; otherwise it
//! loads the person, their company, their rights and their group scope
//! again. So a change applies to the next request, on every node and after
//! changes made by the command line, while an unchanged person costs one
//! read instead of five.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kabinet_domain::access::Grants;
use kabinet_store::users::UserRecord;

/// A person as the database said at one epoch.
#[derive(Debug)]
pub(crate) struct Resolved {
    pub user: UserRecord,
    pub company_id: i64,
    pub company_name: String,
    pub scope_path: String,
    pub grants: Grants,
    pub group_company_id: Option<i64>,
    pub linked_paths: Vec<String>,
}

/// People resolved so far, by user id, with the epoch they were read at.
#[derive(Debug, Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<i64, (i64, Arc<Resolved>)>>,
}

/// More people than this at once and the cache starts again: a bound on
/// memory, not a policy (10,000 people cost a few megabytes).
const MAX_ENTRIES: usize = 10_000;

impl AuthCache {
    /// The person `user_id` if they were read at `epoch`.
    pub(crate) fn get(&self, user_id: i64, epoch: i64) -> Option<Arc<Resolved>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&user_id) {
            Some((at, resolved)) if *at == epoch => Some(resolved.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(&self, user_id: i64, epoch: i64, resolved: Arc<Resolved>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&user_id) {
            entries.clear();
        }
        // An older epoch never replaces a newer one (two requests racing).
        if entries.get(&user_id).is_some_and(|(at, _)| *at > epoch) {
            return;
        }
        entries.insert(user_id, (epoch, resolved));
    }

    /// How many people are cached (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
