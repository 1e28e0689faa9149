//! Group companies (M1, M5): a company flagged as a group company links
//! client companies by their multichannel number when they share its INN,
//! and its group admins act on the linked clients.
//!
//! The scope: a group admin (a person of kind `group_admin` whose home
//! company is a group company) sees their home company's subtree and the
//! subtree of every linked client. [`group_scope`] loads the links with the
//! actor on every request; [`Actor::sees`] checks one path and list queries
//! say the same in SQL (`CompanyQuery::scope_group`, `UserQuery::scope_group`),
//! so every use case keeps it without knowing about groups.

use kabinet_api::GroupLinkDto;
use kabinet_domain::access::Function;
use kabinet_domain::text::Phone;
use kabinet_domain::FieldError;
use kabinet_store::companies::{self, CompanyQuery, CompanyRecord};
use kabinet_store::group_links::{self, GroupLinkRecord};
use kabinet_store::users::UserRecord;
use kabinet_store::{commit, outbox, AnyConnection, StoreError};
use std::sync::Arc;

use crate::audit::record;
use crate::companies::company_in_scope;
use crate::{now_ms, Actor, ServiceError, Services};

/// The kind of person whose scope the links widen.
pub const GROUP_ADMIN: &str = "group_admin";

/// The group company and the linked clients' paths of a person about to
/// act: set only for a group admin whose home company is a group company.
pub(crate) async fn group_scope(
    conn: &mut AnyConnection,
    user: &UserRecord,
    company: &CompanyRecord,
) -> Result<(Option<i64>, Vec<String>), ServiceError> {
    if user.kind != GROUP_ADMIN || !company.fields.is_group_company || company.fields.is_provider {
        return Ok((None, Vec::new()));
    }
    let paths = group_links::client_paths(conn, company.id).await?;
    Ok((Some(company.id), paths))
}

fn refused(code: &'static str) -> ServiceError {
    ServiceError::Validation(vec![FieldError::new("multichannel_number", code)])
}

fn snapshot(link: &GroupLinkRecord, client: &CompanyRecord) -> serde_json::Value {
    serde_json::to_value(GroupLinkDto::new(link, client)).unwrap_or(serde_json::Value::Null)
}

/// A group company in the actor's scope that may take links.
async fn live_group(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: i64,
) -> Result<CompanyRecord, ServiceError> {
    let group = company_in_scope(conn, actor, id).await?;
    if group.deleted_at.is_some() {
        return Err(ServiceError::Conflict {
            code: "company.deleted",
            detail: None,
        });
    }
    if !group.fields.is_group_company {
        return Err(ServiceError::Conflict {
            code: "link.not_group_company",
            detail: None,
        });
    }
    Ok(group)
}

/// Where the client of a link is looked for. A staff member looks in their
/// own scope. A group admin linking to their own group company looks among
/// the clients of the company that administers it (its parent's subtree):
/// their own scope holds only what is already linked, and the INN check is
/// what proves the client belongs to the group.
async fn lookup_scope(
    conn: &mut AnyConnection,
    actor: &Actor,
    group: &CompanyRecord,
) -> Result<CompanyQuery, ServiceError> {
    if actor.group_company_id == Some(group.id) {
        let parent_path = match group.fields.parent_id {
            Some(parent_id) => companies::get(conn, parent_id)
                .await?
                .map(|p| p.path)
                .unwrap_or_else(|| group.path.clone()),
            None => group.path.clone(),
        };
        return Ok(CompanyQuery {
            scope_path: parent_path,
            ..CompanyQuery::default()
        });
    }
    Ok(CompanyQuery {
        scope_path: actor.scope_path.clone(),
        scope_group: actor.group_company_id,
        ..CompanyQuery::default()
    })
}

impl Services {
    /// Links the client whose multichannel number is `multichannel_number`
    /// to the group company `group_id` (M5). Refused, with the reason, when
    /// the company is not a group company, no live client in scope has that
    /// number, the number is the group's own, none of the client's INNs is
    /// one of the group's, or the pair is linked already. Two concurrent
    /// links of one pair: the primary key lets one win, the other is told
    /// it is linked already.
    pub async fn group_link(
        &self,
        actor: &Actor,
        group_id: i64,
        multichannel_number: &str,
    ) -> Result<(GroupLinkRecord, CompanyRecord), ServiceError> {
        actor.require(Function::CompaniesLink)?;
        let number = Phone::parse(multichannel_number).map_err(refused)?;
        let mut tx = self.store.begin().await?;
        let group = live_group(&mut tx, actor, group_id).await?;
        let mut lookup = lookup_scope(&mut tx, actor, &group).await?;
        lookup.multichannel_number = Some(number.as_str().to_string());
        lookup.limit = 20;
        let (found, _) = companies::list(&mut tx, self.store.backend(), &lookup).await?;
        // The group itself and the companies above it are not its clients.
        let (own, candidates): (Vec<_>, Vec<_>) = found
            .into_iter()
            .filter(|c| c.id == group.id || !group.path.starts_with(&c.path))
            .partition(|c| c.id == group.id);
        if candidates.is_empty() {
            return Err(refused(
                if own.is_empty() && actor.group_company_id.is_some() {
                    "link.no_matching_client"
                } else if own.is_empty() {
                    "link.client_not_found"
                } else {
                    "link.self"
                },
            ));
        }
        let mut matching: Vec<CompanyRecord> = candidates
            .into_iter()
            .filter(|c| {
                c.fields
                    .inns
                    .iter()
                    .any(|inn| group.fields.inns.contains(inn))
            })
            .map(Arc::unwrap_or_clone)
            .collect();
        let client = match matching.len() {
            // A group admin is not told that a company with this number
            // exists elsewhere: one answer for both cases (staff, who see
            // those companies anyway, get the precise one).
            0 if actor.group_company_id.is_some() => {
                return Err(refused("link.no_matching_client"))
            }
            0 => return Err(refused("link.inn_mismatch")),
            1 => matching.remove(0),
            _ => return Err(refused("link.ambiguous")),
        };
        let exists = || ServiceError::Conflict {
            code: "link.exists",
            detail: Some(format!(
                "company {} is linked to group company {} already",
                client.id, group.id
            )),
        };
        if group_links::get(&mut tx, group.id, client.id)
            .await?
            .is_some()
        {
            return Err(exists());
        }
        let now = now_ms();
        let link = match group_links::insert(&mut tx, group.id, client.id, actor.user_id, now).await
        {
            Ok(link) => link,
            Err(StoreError::Unique(_)) => return Err(exists()),
            Err(error) => return Err(error.into()),
        };
        let after = snapshot(&link, &client);
        record(
            &mut tx,
            actor,
            "company.link",
            "company",
            Some(group.id.to_string()),
            None,
            Some(&after),
            Some(format!("client company {}", client.id)),
        )
        .await?;
        outbox::insert_event(
            &mut tx,
            now,
            "company.linked",
            "company",
            &group.id.to_string(),
            &after.to_string(),
        )
        .await?;
        commit(tx).await?;
        Ok((link, client))
    }

    /// Removes the link of `client_id` to the group company `group_id`;
    /// NotFound when there is none.
    pub async fn group_unlink(
        &self,
        actor: &Actor,
        group_id: i64,
        client_id: i64,
    ) -> Result<(), ServiceError> {
        actor.require(Function::CompaniesLink)?;
        let mut tx = self.store.begin().await?;
        let group = company_in_scope(&mut tx, actor, group_id).await?;
        let link = group_links::get(&mut tx, group.id, client_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let client = companies::get(&mut tx, client_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !group_links::delete(&mut tx, group.id, client_id).await? {
            return Err(ServiceError::NotFound);
        }
        let before = snapshot(&link, &client);
        record(
            &mut tx,
            actor,
            "company.unlink",
            "company",
            Some(group.id.to_string()),
            Some(&before),
            None,
            Some(format!("client company {client_id}")),
        )
        .await?;
        outbox::insert_event(
            &mut tx,
            now_ms(),
            "company.unlinked",
            "company",
            &group.id.to_string(),
            &before.to_string(),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// The clients linked to a group company in the actor's scope (M2
    /// columns, search, filters, sort and paging from `query`, all in the
    /// database). A company that is not a group company links none.
    pub async fn group_links(
        &self,
        actor: &Actor,
        group_id: i64,
        mut query: CompanyQuery,
    ) -> Result<(Vec<Arc<CompanyRecord>>, companies::Total), ServiceError> {
        actor.require(Function::CompaniesView)?;
        let mut conn = self.store.reader().await?;
        let group = company_in_scope(&mut conn, actor, group_id).await?;
        query.scope_path = actor.scope_path.clone();
        query.scope_group = actor.group_company_id;
        query.linked_to = Some(group.id);
        query.limit = query.limit.clamp(1, 500);
        query.offset = query.offset.max(0);
        drop(conn);
        Ok(companies::list_read(&self.store, &query, None).await?)
    }

    /// Regions and macroregions of a group company's linked clients, for
    /// the filters of their list.
    pub async fn group_link_regions(
        &self,
        actor: &Actor,
        group_id: i64,
    ) -> Result<(Vec<String>, Vec<String>), ServiceError> {
        actor.require(Function::CompaniesView)?;
        let mut conn = self.store.reader().await?;
        let group = company_in_scope(&mut conn, actor, group_id).await?;
        let scope = CompanyQuery {
            scope_path: actor.scope_path.clone(),
            scope_group: actor.group_company_id,
            linked_to: Some(group.id),
            ..CompanyQuery::default()
        };
        Ok(companies::distinct_regions(&mut conn, self.store.backend(), &scope).await?)
    }
}
