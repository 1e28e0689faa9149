//! The permission catalog and the access decision.
//!
//! Rights are granted per function; functions are grouped into sections
//! (B4). A department switches sections on and, inside a section that is on,
//! functions (B4, B6); a person's rights are the union of their departments'
//! rights and their extra rights, or everything with "full access". The
//! catalog is data: later issues add their functions to [`Function`] and the
//! decision does not change.
//!
//! The decision is a bit test: a [`FunctionSet`] is one `u64`, so deciding
//! costs a few instructions whatever the number of departments.

/// A section of the product, the unit a department right switches on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Companies,
    Users,
    Departments,
    Audit,
    Settings,
    ApiTokens,
    Outbox,
    Billing,
    Support,
    Telephony,
}

impl Section {
    pub const ALL: [Section; 10] = [
        Section::Companies,
        Section::Users,
        Section::Departments,
        Section::Audit,
        Section::Settings,
        Section::ApiTokens,
        Section::Outbox,
        Section::Billing,
        Section::Support,
        Section::Telephony,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Section::Companies => "companies",
            Section::Users => "users",
            Section::Departments => "departments",
            Section::Audit => "audit",
            Section::Settings => "settings",
            Section::ApiTokens => "api_tokens",
            Section::Outbox => "outbox",
            Section::Billing => "billing",
            Section::Support => "support",
            Section::Telephony => "telephony",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        // A match on the string (a length switch and one comparison)
        // instead of a walk over the catalog: stored rights are parsed on
        // every change of rights. `tests::keys_are_unique_and_round_trip` keeps the two
        // directions equal.
        Some(match key {
            "companies" => Section::Companies,
            "users" => Section::Users,
            "departments" => Section::Departments,
            "audit" => Section::Audit,
            "settings" => Section::Settings,
            "api_tokens" => Section::ApiTokens,
            "outbox" => Section::Outbox,
            "billing" => Section::Billing,
            "support" => Section::Support,
            "telephony" => Section::Telephony,
            _ => return None,
        })
    }

    /// Russian and English names.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Section::Companies => ("Компании", "Companies"),
            Section::Users => ("Пользователи", "People"),
            Section::Departments => ("Отделы и права", "Departments and rights"),
            Section::Audit => ("Журнал действий", "Audit log"),
            Section::Settings => ("Настройки", "Settings"),
            Section::ApiTokens => ("API-токены", "API tokens"),
            Section::Outbox => ("Исходящие сообщения", "Outbox"),
            Section::Billing => ("Биллинг", "Billing"),
            Section::Support => ("Центр поддержки", "Support centre"),
            Section::Telephony => ("Телефония", "Telephony"),
        }
    }

    /// The functions inside this section, in catalog order.
    pub fn functions(self) -> impl Iterator<Item = Function> {
        Function::ALL
            .into_iter()
            .filter(move |f| f.section() == self)
    }
}

/// A function inside a section: the unit every route declares it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    CompaniesView,
    CompaniesCreate,
    CompaniesEdit,
    CompaniesDelete,
    CompaniesRestore,
    /// Linking client companies to a group company (M5).
    CompaniesLink,
    /// Entering a client's cabinet (M4).
    CompaniesEnter,
    UsersView,
    UsersCreate,
    UsersEdit,
    UsersDelete,
    UsersRestore,
    /// Setting others' passwords and ending their sessions.
    UsersCredentials,
    DepartmentsView,
    DepartmentsEdit,
    /// Granting rights: a department's, or a person's extra ones.
    DepartmentsRights,
    AuditView,
    AuditExport,
    SettingsView,
    SettingsEdit,
    /// Managing one's own API tokens.
    ApiTokensOwn,
    OutboxView,
    /// Sending a message again after delivery gave up.
    OutboxRetry,
    BillingView,
    BillingEdit,
    SupportView,
    SupportEdit,
    TelephonyView,
    TelephonyEdit,
}

impl Function {
    /// Every function, in catalog order. A function's position is its bit
    /// in a [`FunctionSet`]: append new ones, never reorder (nothing stores
    /// the bits, but tests and caches may).
    pub const ALL: [Function; 29] = [
        Function::CompaniesView,
        Function::CompaniesCreate,
        Function::CompaniesEdit,
        Function::CompaniesDelete,
        Function::CompaniesRestore,
        Function::CompaniesLink,
        Function::CompaniesEnter,
        Function::UsersView,
        Function::UsersCreate,
        Function::UsersEdit,
        Function::UsersDelete,
        Function::UsersRestore,
        Function::UsersCredentials,
        Function::DepartmentsView,
        Function::DepartmentsEdit,
        Function::DepartmentsRights,
        Function::AuditView,
        Function::AuditExport,
        Function::SettingsView,
        Function::SettingsEdit,
        Function::ApiTokensOwn,
        Function::OutboxView,
        Function::OutboxRetry,
        Function::BillingView,
        Function::BillingEdit,
        Function::SupportView,
        Function::SupportEdit,
        Function::TelephonyView,
        Function::TelephonyEdit,
    ];

    pub fn section(self) -> Section {
        use Function::*;
        match self {
            CompaniesView | CompaniesCreate | CompaniesEdit | CompaniesDelete
            | CompaniesRestore | CompaniesLink | CompaniesEnter => Section::Companies,
            UsersView | UsersCreate | UsersEdit | UsersDelete | UsersRestore | UsersCredentials => {
                Section::Users
            }
            DepartmentsView | DepartmentsEdit | DepartmentsRights => Section::Departments,
            AuditView | AuditExport => Section::Audit,
            SettingsView | SettingsEdit => Section::Settings,
            ApiTokensOwn => Section::ApiTokens,
            OutboxView | OutboxRetry => Section::Outbox,
            BillingView | BillingEdit => Section::Billing,
            SupportView | SupportEdit => Section::Support,
            TelephonyView | TelephonyEdit => Section::Telephony,
        }
    }

    /// The stable key stored in the database and shown in the API:
    /// `section.function`.
    pub fn key(self) -> &'static str {
        use Function::*;
        match self {
            CompaniesView => "companies.view",
            CompaniesCreate => "companies.create",
            CompaniesEdit => "companies.edit",
            CompaniesDelete => "companies.delete",
            CompaniesRestore => "companies.restore",
            CompaniesLink => "companies.link",
            CompaniesEnter => "companies.enter",
            UsersView => "users.view",
            UsersCreate => "users.create",
            UsersEdit => "users.edit",
            UsersDelete => "users.delete",
            UsersRestore => "users.restore",
            UsersCredentials => "users.credentials",
            DepartmentsView => "departments.view",
            DepartmentsEdit => "departments.edit",
            DepartmentsRights => "departments.rights",
            AuditView => "audit.view",
            AuditExport => "audit.export",
            SettingsView => "settings.view",
            SettingsEdit => "settings.edit",
            ApiTokensOwn => "api_tokens.own",
            OutboxView => "outbox.view",
            OutboxRetry => "outbox.retry",
            BillingView => "billing.view",
            BillingEdit => "billing.edit",
            SupportView => "support.view",
            SupportEdit => "support.edit",
            TelephonyView => "telephony.view",
            TelephonyEdit => "telephony.edit",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        use Function::*;
        // As `Section::from_key`: a match, kept equal to `key` by
        // `tests::keys_are_unique_and_round_trip`.
        Some(match key {
            "companies.view" => CompaniesView,
            "companies.create" => CompaniesCreate,
            "companies.edit" => CompaniesEdit,
            "companies.delete" => CompaniesDelete,
            "companies.restore" => CompaniesRestore,
            "companies.link" => CompaniesLink,
            "companies.enter" => CompaniesEnter,
            "users.view" => UsersView,
            "users.create" => UsersCreate,
            "users.edit" => UsersEdit,
            "users.delete" => UsersDelete,
            "users.restore" => UsersRestore,
            "users.credentials" => UsersCredentials,
            "departments.view" => DepartmentsView,
            "departments.edit" => DepartmentsEdit,
            "departments.rights" => DepartmentsRights,
            "audit.view" => AuditView,
            "audit.export" => AuditExport,
            "settings.view" => SettingsView,
            "settings.edit" => SettingsEdit,
            "api_tokens.own" => ApiTokensOwn,
            "outbox.view" => OutboxView,
            "outbox.retry" => OutboxRetry,
            "billing.view" => BillingView,
            "billing.edit" => BillingEdit,
            "support.view" => SupportView,
            "support.edit" => SupportEdit,
            "telephony.view" => TelephonyView,
            "telephony.edit" => TelephonyEdit,
            _ => return None,
        })
    }

    /// Russian and English names.
    pub fn names(self) -> (&'static str, &'static str) {
        use Function::*;
        match self {
            CompaniesView => ("Просмотр", "View"),
            CompaniesCreate => ("Создание", "Create"),
            CompaniesEdit => ("Изменение", "Edit"),
            CompaniesDelete => ("Удаление", "Delete"),
            CompaniesRestore => ("Восстановление", "Restore"),
            CompaniesLink => ("Связи групповых компаний", "Group company links"),
            CompaniesEnter => ("Вход в кабинет клиента", "Enter a client's cabinet"),
            UsersView => ("Просмотр", "View"),
            UsersCreate => ("Создание", "Create"),
            UsersEdit => ("Изменение", "Edit"),
            UsersDelete => ("Удаление", "Delete"),
            UsersRestore => ("Восстановление", "Restore"),
            UsersCredentials => ("Пароли и сеансы других", "Others' passwords and sessions"),
            DepartmentsView => ("Просмотр", "View"),
            DepartmentsEdit => (
                "Изменение отделов и состава",
                "Edit departments and members",
            ),
            DepartmentsRights => ("Назначение прав", "Grant rights"),
            AuditView => ("Просмотр", "View"),
            AuditExport => ("Выгрузка", "Export"),
            SettingsView => ("Просмотр", "View"),
            SettingsEdit => ("Изменение", "Edit"),
            ApiTokensOwn => ("Свои токены", "Own tokens"),
            OutboxView => ("Просмотр", "View"),
            OutboxRetry => ("Повторная отправка", "Send again"),
            BillingView => ("Просмотр", "View"),
            BillingEdit => ("Изменение", "Edit"),
            SupportView => ("Просмотр", "View"),
            SupportEdit => ("Изменение", "Edit"),
            TelephonyView => ("Просмотр", "View"),
            TelephonyEdit => ("Изменение", "Edit"),
        }
    }

    /// The function's bit: its declaration order, which `ALL` follows.
    fn bit(self) -> u64 {
        1 << (self as u32)
    }
}

/// A set of functions, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionSet(u64);

impl FunctionSet {
    pub fn all() -> Self {
        Self(Function::ALL.iter().fold(0, |bits, f| bits | f.bit()))
    }

    pub fn of(functions: impl IntoIterator<Item = Function>) -> Self {
        let mut set = Self::default();
        for function in functions {
            set.insert(function);
        }
        set
    }

    pub fn insert(&mut self, function: Function) {
        self.0 |= function.bit();
    }

    pub fn contains(self, function: Function) -> bool {
        self.0 & function.bit() != 0
    }

    pub fn union(self, other: FunctionSet) -> FunctionSet {
        FunctionSet(self.0 | other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in catalog order.
    pub fn iter(self) -> impl Iterator<Item = Function> {
        Function::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

/// What a department grants (B4): sections switched on, and functions
/// switched on; a function counts only while its section is on. A new
/// department has neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartmentRights {
    pub sections: Vec<Section>,
    pub functions: FunctionSet,
}

impl DepartmentRights {
    /// Reads stored keys (`companies`, `companies.edit`); unknown keys (a
    /// function removed from the catalog) are ignored.
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let mut rights = Self::default();
        for key in keys {
            if let Some(section) = Section::from_key(key) {
                if !rights.sections.contains(&section) {
                    rights.sections.push(section);
                }
            } else if let Some(function) = Function::from_key(key) {
                rights.functions.insert(function);
            }
        }
        rights.sections.sort();
        rights
    }

    /// The functions that take effect.
    pub fn effective(&self) -> FunctionSet {
        FunctionSet::of(
            self.functions
                .iter()
                .filter(|f| self.sections.contains(&f.section())),
        )
    }

    /// The keys to store.
    pub fn keys(&self) -> Vec<&'static str> {
        self.sections
            .iter()
            .map(|s| s.key())
            .chain(self.functions.iter().map(Function::key))
            .collect()
    }
}

/// What a person holds: full access, or a set of functions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants {
    pub full_access: bool,
    pub functions: FunctionSet,
}

impl Grants {
    pub fn full() -> Self {
        Self {
            full_access: true,
            functions: FunctionSet::all(),
        }
    }

    /// A person's rights (B6): the union of their departments' effective
    /// rights and their extra rights.
    pub fn compose(departments: &[DepartmentRights], extra: FunctionSet) -> Self {
        let functions = departments
            .iter()
            .fold(extra, |set, d| set.union(d.effective()));
        Self {
            full_access: false,
            functions,
        }
    }

    /// The access decision: full access allows everything, otherwise the
    /// function must be granted.
    pub fn allows(&self, function: Function) -> bool {
        self.full_access || self.functions.contains(function)
    }

    /// What a person may do inside a client's cabinet (M4): the
    /// intersection of their own rights and what the client's admin may do
    /// (everything but the provider's own functions: the outbox and entering
    /// further); read-only keeps the viewing functions alone. Never more.
    pub fn narrowed_for_client(self, read_only: bool) -> Grants {
        let ceiling = FunctionSet::of(Function::ALL.into_iter().filter(|f| {
            !matches!(
                f,
                Function::OutboxView | Function::OutboxRetry | Function::CompaniesEnter
            ) && (!read_only || f.key().ends_with(".view"))
        }));
        let own = if self.full_access {
            FunctionSet::all()
        } else {
            self.functions
        };
        Grants {
            full_access: false,
            functions: FunctionSet(own.0 & ceiling.0),
        }
    }

    /// Adds functions everyone has (their own tokens).
    pub fn with(mut self, function: Function) -> Self {
        self.functions.insert(function);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_round_trip() {
        for function in Function::ALL {
            assert_eq!(Function::from_key(function.key()), Some(function));
            assert!(
                function
                    .key()
                    .starts_with(&format!("{}.", function.section().key())),
                "{} is named section.function",
                function.key()
            );
        }
        for section in Section::ALL {
            assert_eq!(Section::from_key(section.key()), Some(section));
            assert!(section.functions().count() > 0, "{section:?} is empty");
        }
        let mut keys: Vec<_> = Function::ALL.iter().map(|f| f.key()).collect();
        keys.extend(Section::ALL.iter().map(|s| s.key()));
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), Function::ALL.len() + Section::ALL.len());
        assert!(Function::ALL.len() <= 64, "a FunctionSet holds 64");
        for (index, function) in Function::ALL.iter().enumerate() {
            assert_eq!(
                *function as usize, index,
                "ALL follows the declaration order"
            );
        }
    }

    #[test]
    fn decision() {
        assert!(Grants::full().allows(Function::CompaniesDelete));
        let viewer = Grants {
            full_access: false,
            functions: FunctionSet::of([Function::CompaniesView]),
        };
        assert!(viewer.allows(Function::CompaniesView));
        assert!(!viewer.allows(Function::CompaniesEdit));
        assert!(!Grants::default().allows(Function::AuditView));
    }

    #[test]
    fn a_function_counts_only_while_its_section_is_on() {
        let rights = DepartmentRights::from_keys([
            "companies",
            "companies.view",
            "users.edit",
            "no.such.key",
        ]);
        assert_eq!(rights.sections, vec![Section::Companies]);
        let effective = rights.effective();
        assert!(effective.contains(Function::CompaniesView));
        assert!(
            !effective.contains(Function::UsersEdit),
            "the users section is off"
        );
        assert_eq!(
            rights.keys(),
            vec!["companies", "companies.view", "users.edit"]
        );
        assert!(DepartmentRights::default().effective().is_empty());
    }

    #[test]
    fn inside_a_client_one_never_has_more_than_one_had() {
        let full = Grants::full().narrowed_for_client(false);
        assert!(full.allows(Function::CompaniesEdit));
        assert!(!full.allows(Function::OutboxView), "the provider's own");
        assert!(
            !full.allows(Function::CompaniesEnter),
            "no entering further"
        );
        assert!(!full.full_access);
        let read_only = Grants::full().narrowed_for_client(true);
        assert!(read_only.allows(Function::CompaniesView));
        assert!(read_only.allows(Function::AuditView));
        assert!(!read_only.allows(Function::CompaniesEdit));
        let viewer = Grants {
            full_access: false,
            functions: FunctionSet::of([Function::CompaniesView, Function::CompaniesEnter]),
        }
        .narrowed_for_client(false);
        assert!(viewer.allows(Function::CompaniesView));
        assert!(
            !viewer.allows(Function::CompaniesEdit),
            "an intersection, not a union"
        );
    }

    #[test]
    fn rights_are_the_union_of_departments_and_extra_rights() {
        let sales = DepartmentRights::from_keys(["companies", "companies.view"]);
        let support = DepartmentRights::from_keys(["users", "users.view", "users.edit"]);
        let grants = Grants::compose(&[sales, support], FunctionSet::of([Function::AuditView]));
        for f in [
            Function::CompaniesView,
            Function::UsersView,
            Function::UsersEdit,
            Function::AuditView,
        ] {
            assert!(grants.allows(f), "{f:?}");
        }
        assert!(!grants.allows(Function::CompaniesEdit));
        assert!(!grants.full_access);
        assert_eq!(grants.functions.iter().count(), 4);
    }
}
