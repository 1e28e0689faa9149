//! Writing and reading the audit log.

use kabinet_domain::access::Function;
use kabinet_store::audit::{self, AuditEntry, AuditQuery};
use kabinet_store::AnyConnection;

use crate::{now_ms, Actor, ServiceError, Services};

pub(crate) use kabinet_store::audit::AuditEntry as Entry;

/// Records a change made by `actor`.
#[allow(clippy::too_many_arguments)] // every argument is one column of the entry
pub(crate) async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<String>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
    details: Option<String>,
) -> Result<(), ServiceError> {
    let entry = AuditEntry {
        at: now_ms(),
        actor_user_id: Some(actor.user_id),
        actor_login: Some(actor.login.clone()),
        on_behalf_of: actor.on_behalf_of.clone(),
        action: action.to_string(),
        entity_type: entity_type.to_string(),
        entity_id,
        before_json: before.map(|v| v.to_string()),
        after_json: after.map(|v| v.to_string()),
        ip: actor.ip.clone(),
        details,
        ..AuditEntry::default()
    };
    audit::insert(conn, &entry).await?;
    Ok(())
}

impl Services {
    pub async fn audit_list(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<(Vec<Entry>, i64), ServiceError> {
        actor.require(Function::AuditView)?;
        let mut conn = self.store.reader().await?;
        Ok(audit::list(&mut conn, &scoped(actor, query)).await?)
    }
}

impl Services {
    /// Outbox events not yet delivered (for metrics).
    pub async fn outbox_pending(&self) -> Result<i64, ServiceError> {
        let mut conn = self.store.reader().await?;
        Ok(kabinet_store::outbox::pending_count(&mut conn).await?)
    }
}

/// The query narrowed to what the actor may read: the provider's people
/// read the whole log; anyone else only entries about their subtree.
fn scoped(actor: &Actor, query: &AuditQuery) -> AuditQuery {
    AuditQuery {
        scope_path: (!actor.at_root()).then(|| actor.scope_path.clone()),
        ..query.clone()
    }
}

/// The most rows one export returns; the response says when there were more.
pub const EXPORT_LIMIT: i64 = 50_000;

impl Services {
    /// Audit entries matching `query` for export, newest first, read from the
    /// database a page at a time; the flag tells whether the limit cut it.
    pub async fn audit_export(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<(Vec<Entry>, bool), ServiceError> {
        actor.require(Function::AuditView)?;
        actor.require(Function::AuditExport)?;
        let mut conn = self.store.reader().await?;
        let mut all = Vec::new();
        let mut page = AuditQuery {
            limit: 1000,
            offset: 0,
            ..scoped(actor, query)
        };
        loop {
            let (entries, total) = audit::list(&mut conn, &page).await?;
            let done = entries.is_empty();
            all.extend(entries);
            if done || all.len() as i64 >= total.min(EXPORT_LIMIT) {
                return Ok((
                    all.into_iter().take(EXPORT_LIMIT as usize).collect(),
                    total > EXPORT_LIMIT,
                ));
            }
            page.offset += page.limit;
        }
    }
}
