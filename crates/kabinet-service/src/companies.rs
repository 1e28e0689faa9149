//! Company use cases: create, read, edit, delete, restore, list, purge.

pub mod registration;

use kabinet_api::CompanyDto;
use kabinet_domain::access::Function;
use kabinet_domain::company::{
    check_placement, check_reseller_flag_change, CompanyDraft, ParentFacts, RawCompany,
    SignInSettings,
};
use kabinet_domain::text::search_fold;
use kabinet_domain::FieldError;
use kabinet_store::companies::{self, CompanyFields, CompanyQuery, CompanyRecord};
use kabinet_store::group_links;
use kabinet_store::{
    audit as audit_store, commit, outbox, sessions, users, AnyConnection, StoreError,
};

use crate::audit::record;
use crate::auth::random_secret;
use crate::{now_ms, Actor, ServiceError, Services};
use std::sync::Arc;

fn snapshot(record: &CompanyRecord) -> serde_json::Value {
    serde_json::to_value(CompanyDto::from(record)).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn fields_from(
    draft: &CompanyDraft,
    sign_in: SignInSettings,
    is_provider: bool,
    is_group_company: bool,
) -> CompanyFields {
    CompanyFields {
        parent_id: draft.parent_id,
        is_provider,
        name: draft.name.clone(),
        name_sort: search_fold(&draft.name),
        short_id: draft.short_id.clone(),
        account_number: draft
            .account_number
            .as_ref()
            .map(|v| v.as_str().to_string()),
        pbx_number: draft.pbx_number.clone(),
        multichannel_number: draft
            .multichannel_number
            .as_ref()
            .map(|v| v.as_str().to_string()),
        phones: draft
            .phones
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        region: draft.region.clone(),
        macroregion: draft.macroregion.clone(),
        inns: draft.inns.iter().map(|i| i.as_str().to_string()).collect(),
        kpp: draft.kpp.as_ref().map(|v| v.as_str().to_string()),
        ogrn: draft.ogrn.as_ref().map(|v| v.as_str().to_string()),
        bik: draft.bik.as_ref().map(|v| v.as_str().to_string()),
        bank: draft.bank.clone(),
        correspondent_account: draft
            .correspondent_account
            .as_ref()
            .map(|v| v.as_str().to_string()),
        settlement_account: draft
            .settlement_account
            .as_ref()
            .map(|v| v.as_str().to_string()),
        legal_address: draft.legal_address.clone(),
        postal_address: draft.postal_address.clone(),
        email: draft.email.as_ref().map(|v| v.as_str().to_string()),
        phone: draft.phone.as_ref().map(|v| v.as_str().to_string()),
        timezone: draft.timezone.as_ref().map(|v| v.as_str().to_string()),
        max_dialogs_per_operator: draft.max_dialogs_per_operator,
        tariff: draft.tariff.clone(),
        is_reseller: draft.is_reseller,
        credit_limit: draft.credit_limit.map(|m| m.minor()),
        balance_threshold: draft.balance_threshold.map(|m| m.minor()),
        fz230_enabled: draft.fz230_enabled,
        sms_second_factor: sign_in.sms_second_factor,
        email_is_login: sign_in.email_is_login,
        password_in_email: sign_in.password_in_email,
        is_group_company,
        search_text: draft.search_text(),
    }
}

fn field_error(field: &str, code: &'static str) -> ServiceError {
    ServiceError::Validation(vec![FieldError::new(field, code)])
}

/// Maps a unique-constraint violation to the field that must be unique.
fn unique_to_field(error: StoreError) -> ServiceError {
    match &error {
        StoreError::Unique(name) if name.contains("account_number") => {
            field_error("account_number", "account_number.taken")
        }
        StoreError::Unique(name) if name.contains("short_id") => {
            field_error("short_id", "short_id.taken")
        }
        _ => ServiceError::Store(error),
    }
}

async fn emit(
    conn: &mut AnyConnection,
    topic: &str,
    record: &CompanyRecord,
) -> Result<(), ServiceError> {
    outbox::insert_event(
        conn,
        now_ms(),
        topic,
        "company",
        &record.id.to_string(),
        &snapshot(record).to_string(),
    )
    .await?;
    Ok(())
}

/// A company in the actor's scope, or NotFound (never "forbidden", so that
/// other tenants' ids reveal nothing).
pub(crate) async fn company_in_scope(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: i64,
) -> Result<CompanyRecord, ServiceError> {
    seen(actor, companies::get(conn, id).await?)
}

/// The company if the actor sees it, else NotFound.
fn seen<R: std::borrow::Borrow<CompanyRecord>>(
    actor: &Actor,
    record: Option<R>,
) -> Result<R, ServiceError> {
    match record {
        Some(record) if actor.sees(&record.borrow().path) => Ok(record),
        _ => Err(ServiceError::NotFound),
    }
}

/// Checks the parent a company is placed under, returning its record.
/// The parent a company is placed under, checked against the tree rules.
/// A new parent must lie in the actor's scope; the company's current parent
/// need not (a client's admin edits their own card, whose parent is above
/// them).
async fn checked_parent(
    conn: &mut AnyConnection,
    actor: &Actor,
    parent_id: i64,
    child_is_reseller: bool,
    is_current: bool,
) -> Result<CompanyRecord, ServiceError> {
    let parent = match companies::get(conn, parent_id).await? {
        Some(p) if (is_current || actor.sees(&p.path)) && p.deleted_at.is_none() => p,
        _ => return Err(field_error("parent_id", "parent.not_found")),
    };
    let facts = ParentFacts {
        is_provider: parent.fields.is_provider,
        is_reseller: parent.fields.is_reseller,
    };
    check_placement(facts, child_is_reseller).map_err(|code| {
        field_error(
            if code == "parent.not_reseller" {
                "parent_id"
            } else {
                "is_reseller"
            },
            code,
        )
    })?;
    Ok(parent)
}

/// How a deletion treats live children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cascade {
    Refuse,
    DeleteChildren,
}

impl Services {
    pub async fn company_get(&self, actor: &Actor, id: i64) -> Result<CompanyRecord, ServiceError> {
        actor.require(Function::CompaniesView)?;
        seen(actor, self.company_by_id(id).await?)
    }

    /// A company by id, whoever may see it ([`companies::by_id`]).
    async fn company_by_id(&self, id: i64) -> Result<Option<CompanyRecord>, ServiceError> {
        Ok(companies::by_id(&self.store, id).await?)
    }

    /// [`Services::company_get`] for a request that writes nothing: where
    /// the actor carries the company epoch read with its token
    /// ([`Actor::read_epochs`]), a card read at that epoch is answered from
    /// memory (migration 20 moves the epoch on every change to any company,
    /// so the next request after a change reads it again). Whether the actor
    /// sees the card is decided on every request, from the actor.
    pub async fn company_card(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Arc<CompanyRecord>, ServiceError> {
        let Some(epoch) = actor.read_epochs.map(|e| e.company) else {
            return Ok(Arc::new(self.company_get(actor, id).await?));
        };
        actor.require(Function::CompaniesView)?;
        let cards = self.store.company_cards();
        let card = match cards.get(epoch, &id) {
            Some(card) => card,
            None => {
                let Some(record) = self.company_by_id(id).await? else {
                    return Err(ServiceError::NotFound);
                };
                let card = Arc::new(record);
                cards.put(epoch, id, Arc::clone(&card));
                card
            }
        };
        seen(actor, Some(card))
    }

    /// Lists companies in the actor's scope; `query.scope_path` is set here.
    pub async fn company_list(
        &self,
        actor: &Actor,
        mut query: CompanyQuery,
    ) -> Result<(Vec<Arc<CompanyRecord>>, companies::Total), ServiceError> {
        actor.require(Function::CompaniesView)?;
        query.scope_path = actor.scope_path.clone();
        query.scope_group = actor.group_company_id;
        query.limit = query.limit.clamp(1, 500);
        query.offset = query.offset.max(0);
        Ok(companies::list_read(&self.store, &query, actor.read_epochs).await?)
    }

    /// Regions and macroregions in use, for filters.
    pub async fn company_regions(
        &self,
        actor: &Actor,
    ) -> Result<(Vec<String>, Vec<String>), ServiceError> {
        actor.require(Function::CompaniesView)?;
        let scope = CompanyQuery {
            scope_path: actor.scope_path.clone(),
            scope_group: actor.group_company_id,
            ..CompanyQuery::default()
        };
        let mut conn = self.store.reader().await?;
        Ok(companies::distinct_regions(&mut conn, self.store.backend(), &scope).await?)
    }

    pub async fn company_create(
        &self,
        actor: &Actor,
        raw: RawCompany,
    ) -> Result<CompanyRecord, ServiceError> {
        self.company_create_with(actor, raw, None).await
    }

    /// Creates a company with the flags that travel beside the
    /// [`RawCompany`]: `is_group_company` (M5; absent means false).
    pub async fn company_create_with(
        &self,
        actor: &Actor,
        raw: RawCompany,
        is_group_company: Option<bool>,
    ) -> Result<CompanyRecord, ServiceError> {
        actor.require(Function::CompaniesCreate)?;
        let mut draft = CompanyDraft::parse(&raw).map_err(ServiceError::Validation)?;
        let mut tx = self.store.begin().await?;
        let parent_id = draft.parent_id.unwrap_or(actor.company_id);
        let parent = checked_parent(&mut tx, actor, parent_id, draft.is_reseller, false).await?;
        draft.parent_id = Some(parent.id);
        let fields = fields_from(
            &draft,
            raw.sign_in(),
            false,
            is_group_company.unwrap_or(false),
        );
        let id = companies::insert(&mut tx, &fields, &parent.path, now_ms())
            .await
            .map_err(unique_to_field)?;
        let created = companies::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        record(
            &mut tx,
            actor,
            "company.create",
            "company",
            Some(id.to_string()),
            None,
            Some(&snapshot(&created)),
            None,
        )
        .await?;
        emit(&mut tx, "company.created", &created).await?;
        commit(tx).await?;
        Ok(created)
    }

    /// Replaces the writable fields of a company if its version is still
    /// `expected_version` (when given); a stale write is refused.
    pub async fn company_update(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: Option<i64>,
        raw: RawCompany,
    ) -> Result<CompanyRecord, ServiceError> {
        self.company_update_with(actor, id, expected_version, raw, None)
            .await
    }

    /// [`Self::company_update`] with the flags that travel beside the
    /// [`RawCompany`]: `is_group_company` (M5). `None` keeps the stored
    /// value, so a form without the flag never clears it. The flag can be
    /// removed only from a company that links no clients.
    pub async fn company_update_with(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: Option<i64>,
        raw: RawCompany,
        is_group_company: Option<bool>,
    ) -> Result<CompanyRecord, ServiceError> {
        actor.require(Function::CompaniesEdit)?;
        let mut tx = self.store.begin().await?;
        let current = company_in_scope(&mut tx, actor, id).await?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(ServiceError::Stale);
        }
        if current.deleted_at.is_some() {
            return Err(ServiceError::Conflict {
                code: "company.deleted",
                detail: None,
            });
        }
        let mut raw = raw;
        let draft = if current.fields.is_provider {
            // The provider is the root: it has no parent and is not a reseller.
            raw.parent_id = None;
            raw.is_reseller = false;
            CompanyDraft::parse_provider(&raw)
        } else {
            CompanyDraft::parse(&raw)
        }
        .map_err(ServiceError::Validation)?;
        check_reseller_flag_change(
            current.fields.is_reseller,
            draft.is_reseller,
            current.children_count,
        )
        .map_err(|code| field_error("is_reseller", code))?;
        // A shared INN is what entitles a group to its clients (M5), so a
        // group admin may not change their own group's INNs: the company
        // that administers the group sets them.
        if actor.group_company_id == Some(current.id) {
            let mut stored = current.fields.inns.clone();
            let mut given: Vec<String> =
                draft.inns.iter().map(|i| i.as_str().to_string()).collect();
            stored.sort();
            given.sort();
            if stored != given {
                return Err(field_error("inns", "group.inns_locked"));
            }
        }
        let mut new_path = None;
        let mut draft = draft;
        if !current.fields.is_provider {
            let parent_id = draft
                .parent_id
                .or(current.fields.parent_id)
                .ok_or(ServiceError::NotFound)?;
            draft.parent_id = Some(parent_id);
            let is_current = Some(parent_id) == current.fields.parent_id;
            let parent =
                checked_parent(&mut tx, actor, parent_id, draft.is_reseller, is_current).await?;
            if parent.path.starts_with(&current.path) {
                return Err(field_error("parent_id", "parent.cycle"));
            }
            if draft.is_reseller && current.children_count > 0 && !parent.fields.is_provider {
                return Err(field_error(
                    "is_reseller",
                    "reseller.must_be_under_provider",
                ));
            }
            if Some(parent_id) != current.fields.parent_id {
                new_path = Some(format!("{}{}/", parent.path, current.id));
            }
        }
        // The provider is the root of the tree, not a group of clients.
        let is_group_company = !current.fields.is_provider
            && is_group_company.unwrap_or(current.fields.is_group_company);
        if current.fields.is_group_company
            && !is_group_company
            && group_links::count_for_group(&mut tx, id).await? > 0
        {
            return Err(field_error("is_group_company", "group.has_links"));
        }
        let fields = fields_from(
            &draft,
            raw.sign_in(),
            current.fields.is_provider,
            is_group_company,
        );
        let now = now_ms();
        // Whether this transaction changes this company alone: then what is
        // remembered of companies stays, but this card and the lists that
        // read what the edit changed (see below).
        let alone = draft.parent_id == current.fields.parent_id;
        let epochs_before = companies::edit_epochs(&mut tx).await?;
        if !companies::update(&mut tx, &epochs_before, id, current.version, &fields, now)
            .await
            .map_err(unique_to_field)?
        {
            return Err(ServiceError::Stale);
        }
        if let Some(new_path) = new_path {
            companies::move_subtree(&mut tx, &current.path, &new_path).await?;
        }
        let updated = companies::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        record(
            &mut tx,
            actor,
            "company.update",
            "company",
            Some(id.to_string()),
            Some(&snapshot(&current)),
            Some(&snapshot(&updated)),
            None,
        )
        .await?;
        emit(&mut tx, "company.updated", &updated).await?;
        let epochs_after = companies::edit_epochs(&mut tx).await?;
        // The company epoch moved by one for this company alone (its parent
        // and its subtree untouched: the children-count triggers fire for a
        // new parent only, and the path moves with it): what was remembered
        // at the epoch before is still true but this card, remembered as
        // written, and the lists and search probes the edit may have changed
        // (`remember_edit`). The transaction holds the epochs' row from the
        // first read, so nobody else moved them in between. Stepped before
        // the commit, and forgotten if the commit does not happen.
        let (before, after) = (epochs_before.epochs, epochs_after.epochs);
        let memory = (alone && after.company == before.company + 1).then(|| {
            companies::remember_edit(
                &self.store,
                before,
                after,
                &current,
                Arc::new(updated.clone()),
            )
        });
        commit(tx).await?;
        if let Some(memory) = memory {
            memory.committed();
        }
        Ok(updated)
    }

    /// Soft-deletes a company (C3). Live children make it refuse unless the
    /// caller asks for a cascade; every user of every deleted company loses
    /// their sessions and tokens in the same transaction.
    pub async fn company_delete(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: Option<i64>,
        cascade: Cascade,
    ) -> Result<Vec<i64>, ServiceError> {
        actor.require(Function::CompaniesDelete)?;
        let mut tx = self.store.begin().await?;
        let current = company_in_scope(&mut tx, actor, id).await?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(ServiceError::Stale);
        }
        if current.deleted_at.is_some() {
            return Err(ServiceError::Conflict {
                code: "company.already_deleted",
                detail: None,
            });
        }
        if current.fields.is_provider || current.id == actor.company_id {
            return Err(ServiceError::Conflict {
                code: "company.cannot_delete_own",
                detail: None,
            });
        }
        let descendants = companies::live_descendant_ids(&mut tx, &current.path).await?;
        if !descendants.is_empty() && cascade == Cascade::Refuse {
            return Err(ServiceError::Conflict {
                code: "company.has_children",
                detail: Some(format!(
                    "{} live companies below this one",
                    descendants.len()
                )),
            });
        }
        let mut before = vec![current.clone()];
        for child_id in &descendants {
            if let Some(child) = companies::get(&mut tx, *child_id).await? {
                before.push(child);
            }
        }
        let deletion_id = random_secret();
        let now = now_ms();
        companies::soft_delete_subtree(&mut tx, &current.path, &deletion_id, now).await?;
        let mut deleted_ids = vec![current.id];
        deleted_ids.extend(&descendants);
        // The C3 hook: deleting a client revokes access for all its users at once.
        let user_ids = users::ids_in_companies(&mut tx, &deleted_ids).await?;
        sessions::revoke_all_for_users(&mut tx, &user_ids, now).await?;
        for company in &before {
            let after = companies::get(&mut tx, company.id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let details = if company.id == current.id {
                format!(
                    "deletion {deletion_id}; {} companies; {} users lost access",
                    deleted_ids.len(),
                    user_ids.len()
                )
            } else {
                format!(
                    "deletion {deletion_id}; cascaded from company {}",
                    current.id
                )
            };
            record(
                &mut tx,
                actor,
                "company.delete",
                "company",
                Some(company.id.to_string()),
                Some(&snapshot(company)),
                Some(&snapshot(&after)),
                Some(details),
            )
            .await?;
            emit(&mut tx, "company.deleted", &after).await?;
        }
        commit(tx).await?;
        Ok(deleted_ids)
    }

    /// Restores exactly the set of companies that the deletion of `id` removed.
    pub async fn company_restore(&self, actor: &Actor, id: i64) -> Result<Vec<i64>, ServiceError> {
        actor.require(Function::CompaniesRestore)?;
        let mut tx = self.store.begin().await?;
        let current = company_in_scope(&mut tx, actor, id).await?;
        let Some(deletion_id) = current
            .deletion_id
            .clone()
            .filter(|_| current.deleted_at.is_some())
        else {
            return Err(ServiceError::Conflict {
                code: "company.not_deleted",
                detail: None,
            });
        };
        if let Some(parent_id) = current.fields.parent_id {
            let parent = companies::get(&mut tx, parent_id).await?;
            if parent.as_ref().is_some_and(|p| {
                p.deleted_at.is_some() && p.deletion_id.as_deref() != Some(&deletion_id)
            }) {
                return Err(ServiceError::Conflict {
                    code: "company.parent_deleted",
                    detail: Some(format!("restore company {parent_id} first")),
                });
            }
        }
        let restored = companies::restore_deletion(&mut tx, &deletion_id, now_ms()).await?;
        for restored_id in &restored {
            let after = companies::get(&mut tx, *restored_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            record(
                &mut tx,
                actor,
                "company.restore",
                "company",
                Some(restored_id.to_string()),
                None,
                Some(&snapshot(&after)),
                Some(format!("deletion {deletion_id}")),
            )
            .await?;
            emit(&mut tx, "company.restored", &after).await?;
        }
        commit(tx).await?;
        Ok(restored)
    }

    /// Purges companies deleted longer ago than the retention period
    /// (the background job). Returns the purged ids.
    pub async fn purge_expired(&self, now: i64) -> Result<Vec<i64>, ServiceError> {
        let cutoff = now - self.settings.retention_days * 86_400_000;
        let mut tx = self.store.begin().await?;
        let purged_users = kabinet_store::users::purge_deleted_before(&mut tx, cutoff).await?;
        for id in &purged_users {
            let entry = kabinet_store::audit::AuditEntry {
                at: now,
                actor_login: Some("system".to_string()),
                action: "user.purge".to_string(),
                entity_type: "user".to_string(),
                entity_id: Some(id.to_string()),
                details: Some(format!(
                    "retention of {} days passed",
                    self.settings.retention_days
                )),
                ..Default::default()
            };
            audit_store::insert(&mut tx, &entry).await?;
        }
        let purged = companies::purge_deleted_before(&mut tx, cutoff).await?;
        // Sign-in failures count for 15 minutes, registrations for an hour (T8).
        let keep = kabinet_domain::throttle::WINDOW_MS.max(kabinet_domain::registration::WINDOW_MS);
        kabinet_store::throttle::prune(&mut tx, now - keep).await?;
        for id in &purged {
            let entry = kabinet_store::audit::AuditEntry {
                at: now,
                actor_login: Some("system".to_string()),
                action: "company.purge".to_string(),
                entity_type: "company".to_string(),
                entity_id: Some(id.to_string()),
                details: Some(format!(
                    "retention of {} days passed",
                    self.settings.retention_days
                )),
                ..Default::default()
            };
            audit_store::insert(&mut tx, &entry).await?;
        }
        let _ = sessions::delete_expired_sessions(&mut tx, now).await?;
        commit(tx).await?;
        Ok(purged)
    }
}
