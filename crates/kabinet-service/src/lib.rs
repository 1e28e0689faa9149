//! Use cases of Kabinet. Each command runs the access check, the change, its
//! audit record and its outbox event in one transaction; the actor is always
//! the first parameter.

pub mod acting;
pub mod audit;
pub mod auth;
pub mod auth_cache;
pub mod companies;
pub mod demo;
pub mod departments;
pub mod groups;
pub mod messages;
pub mod passkeys;
pub mod users;

use kabinet_domain::access::{Function, Grants};
use kabinet_domain::FieldError;
use kabinet_store::{Store, StoreError};

/// Milliseconds since the Unix epoch, the time unit of the store.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// How long a deleted company or user stays restorable (C3: 12 months).
    pub retention_days: i64,
    /// A session ends after this long without a request.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in whatever its use: 12 hours,
    /// so people sign in again at least once a day (ASVS 3.3.2, level 2).
    pub session_absolute_hours: i64,
    /// The address people reach the console at, for links in messages.
    pub public_url: String,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        Self {
            retention_days: 365,
            session_idle_minutes: 12 * 60,
            session_absolute_hours: 12,
            public_url: "http://127.0.0.1:8080".to_string(),
        }
    }
}

/// The use cases, sharing the store and the settings.
#[derive(Debug, Clone)]
pub struct Services {
    pub store: Store,
    /// Shared: the services are cloned into every request's state.
    pub settings: std::sync::Arc<ServiceSettings>,
    /// People resolved at the current authorisation epoch, shared by every
    /// clone of the services.
    pub auth_cache: std::sync::Arc<auth_cache::AuthCache>,
}

impl Services {
    pub fn new(store: Store, settings: ServiceSettings) -> Self {
        Self {
            store,
            settings: std::sync::Arc::new(settings),
            auth_cache: Default::default(),
        }
    }
}

/// Who is acting: a signed-in person (by session or token).
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub login: String,
    pub display_name: String,
    pub company_id: i64,
    pub company_name: String,
    /// The tree path of the actor's company: the actor sees this subtree.
    pub scope_path: String,
    /// For a group admin whose home company is a group company (M1, M5):
    /// that company. The actor then also sees the clients linked to it.
    pub group_company_id: Option<i64>,
    /// Tree paths of the clients linked to `group_company_id`, read with the
    /// actor on every request (an unlink applies to the next one). The
    /// actor sees each of them and its subtree, as for a home company.
    pub linked_paths: Vec<String>,
    pub grants: Grants,
    pub ip: Option<String>,
    /// Set when a person acts inside another company's cabinet (M4, X10).
    pub on_behalf_of: Option<String>,
    /// The details of that, for the console's banner.
    pub acting: Option<Acting>,
    /// A person signed in with a generated password may do nothing but
    /// change it.
    pub must_change_password: bool,
    /// When the person signed in, for a session (tokens and the command
    /// line: none). Changes that widen rights or add a way to sign in need
    /// a recent sign-in (ASVS 3.7.1): see [`Actor::require_recent_sign_in`].
    pub signed_in_at: Option<i64>,
    /// For a request by API token: the search and company epochs, read with
    /// the token before anything else. The reads of a request that writes
    /// nothing ([`Services::company_card`], [`Services::company_list`]) check
    /// what the server remembers against them instead of reading them again;
    /// a request that writes companies must not use them after its write.
    pub read_epochs: Option<ReadEpochs>,
}

pub use kabinet_store::epoch_memo::ReadEpochs;

/// How recent a session's sign-in must be for a change that grants rights,
/// adds a way to sign in or makes a credential (ASVS 3.7.1). An older
/// session signs in again first, so a session left open or taken over
/// cannot do these alone. API tokens are exempt: making one needs a recent
/// sign-in itself.
pub const RECENT_SIGN_IN_MS: i64 = 15 * 60 * 1000;

/// A person acting inside a client's cabinet (M4).
#[derive(Debug, Clone)]
pub struct Acting {
    pub company_id: i64,
    pub company_name: String,
    /// The person's own company, where "back to the list" returns.
    pub home_company_id: i64,
    pub until: i64,
    pub read_only: bool,
    pub reason: String,
}

impl Actor {
    pub fn require(&self, function: Function) -> Result<(), ServiceError> {
        if self.must_change_password {
            return Err(ServiceError::PasswordChangeRequired);
        }
        if self.grants.allows(function) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(function))
        }
    }

    /// Refuses a change that needs a recent sign-in when the session's
    /// sign-in is older than [`RECENT_SIGN_IN_MS`].
    pub fn require_recent_sign_in(&self) -> Result<(), ServiceError> {
        match self.signed_in_at {
            Some(at) if now_ms() - at > RECENT_SIGN_IN_MS => {
                Err(ServiceError::ReauthenticationRequired)
            }
            _ => Ok(()),
        }
    }

    pub fn can(&self, function: Function) -> bool {
        !self.must_change_password && self.grants.allows(function)
    }

    /// Whether a company at `path` lies in the actor's scope: the home
    /// company's subtree and, for a group admin, the linked clients'
    /// subtrees. List queries say the same in SQL
    /// (`CompanyQuery::scope_group`).
    pub fn sees(&self, path: &str) -> bool {
        path.starts_with(&self.scope_path)
            || self
                .linked_paths
                .iter()
                .any(|linked| path.starts_with(linked.as_str()))
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("sign-in failed")]
    InvalidCredentials,
    #[error("not allowed: {}", .0.key())]
    Forbidden(Function),
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// The change conflicts with the state of other records.
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        detail: Option<String>,
    },
    /// The record changed since the client read it.
    #[error("stale version")]
    Stale,
    /// The person must change their generated password first.
    #[error("password change required")]
    PasswordChangeRequired,
    /// The change needs a recent sign-in (ASVS 3.7.1): sign in again.
    #[error("sign in again first")]
    ReauthenticationRequired,
    /// Too many failed attempts: try again after this long.
    #[error("too many attempts")]
    Throttled { retry_after_ms: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Actor {
    /// Whether the actor works in the root of the tree (the provider), whose
    /// scope is everything: tenant-wide things (the whole audit log, the
    /// outbox) are theirs alone.
    pub fn at_root(&self) -> bool {
        kabinet_domain::company::is_root_path(&self.scope_path)
    }
}
