//! The permission catalog and the access decision.
//!
//! Rights are granted per function; functions are grouped into sections
//! (B4). Later issues add departments and personal grants (B2, B6) and the
//! sections of billing, support and telephony: they extend [`Function`] and
//! the catalog without changing the decision.

/// A section of the product, the unit a department right switches on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Companies,
    Users,
    Audit,
    ApiTokens,
    Outbox,
}

/// A function inside a section: the unit every route declares it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    CompaniesView,
    CompaniesCreate,
    CompaniesEdit,
    CompaniesDelete,
    CompaniesRestore,
    UsersView,
    UsersCreate,
    UsersEdit,
    UsersDelete,
    UsersRestore,
    /// Setting others' passwords and ending their sessions.
    UsersCredentials,
    AuditView,
    AuditExport,
    /// Managing one's own API tokens.
    ApiTokensOwn,
    OutboxView,
    /// Sending a message again after delivery gave up.
    OutboxRetry,
}

impl Function {
    /// Every function, in catalog order.
    pub const ALL: [Function; 16] = [
        Function::CompaniesView,
        Function::CompaniesCreate,
        Function::CompaniesEdit,
        Function::CompaniesDelete,
        Function::CompaniesRestore,
        Function::UsersView,
        Function::UsersCreate,
        Function::UsersEdit,
        Function::UsersDelete,
        Function::UsersRestore,
        Function::UsersCredentials,
        Function::AuditView,
        Function::AuditExport,
        Function::ApiTokensOwn,
        Function::OutboxView,
        Function::OutboxRetry,
    ];

    pub fn section(self) -> Section {
        match self {
            Function::CompaniesView
            | Function::CompaniesCreate
            | Function::CompaniesEdit
            | Function::CompaniesDelete
            | Function::CompaniesRestore => Section::Companies,
            Function::UsersView
            | Function::UsersCreate
            | Function::UsersEdit
            | Function::UsersDelete
            | Function::UsersRestore
            | Function::UsersCredentials => Section::Users,
            Function::AuditView | Function::AuditExport => Section::Audit,
            Function::ApiTokensOwn => Section::ApiTokens,
            Function::OutboxView | Function::OutboxRetry => Section::Outbox,
        }
    }

    /// The stable key stored in the database and shown in the API.
    pub fn key(self) -> &'static str {
        match self {
            Function::CompaniesView => "companies.view",
            Function::CompaniesCreate => "companies.create",
            Function::CompaniesEdit => "companies.edit",
            Function::CompaniesDelete => "companies.delete",
            Function::CompaniesRestore => "companies.restore",
            Function::UsersView => "users.view",
            Function::UsersCreate => "users.create",
            Function::UsersEdit => "users.edit",
            Function::UsersDelete => "users.delete",
            Function::UsersRestore => "users.restore",
            Function::UsersCredentials => "users.credentials",
            Function::AuditView => "audit.view",
            Function::AuditExport => "audit.export",
            Function::ApiTokensOwn => "api_tokens.own",
            Function::OutboxView => "outbox.view",
            Function::OutboxRetry => "outbox.retry",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }
}

/// What a person holds: full access, or a set of functions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub full_access: bool,
    pub functions: Vec<Function>,
}

impl Grants {
    pub fn full() -> Self {
        Self {
            full_access: true,
            functions: Vec::new(),
        }
    }

    /// The access decision: full access allows everything, otherwise the
    /// function must be granted.
    pub fn allows(&self, function: Function) -> bool {
        self.full_access || self.functions.contains(&function)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_round_trip() {
        for function in Function::ALL {
            assert_eq!(Function::from_key(function.key()), Some(function));
        }
        let mut keys: Vec<_> = Function::ALL.iter().map(|f| f.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Function::ALL.len());
    }

    #[test]
    fn decision() {
        assert!(Grants::full().allows(Function::CompaniesDelete));
        let viewer = Grants {
            full_access: false,
            functions: vec![Function::CompaniesView],
        };
        assert!(viewer.allows(Function::CompaniesView));
        assert!(!viewer.allows(Function::CompaniesEdit));
        assert!(!Grants::default().allows(Function::AuditView));
    }
}
