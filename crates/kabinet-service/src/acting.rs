//! Entering a client's cabinet (M4, X10): with a reason, for a limited time,
//! optionally read-only. Inside, a person may do the intersection of their
//! own rights and what the client's admin may do — never more — within the
//! client's subtree; every action is audited with both the person and the
//! client (`on_behalf_of`), and the client's admins read who entered, when
//! and why in their own audit log.
//!
//! The credential is a random secret (stored as its SHA-256): the console
//! keeps it in an HttpOnly cookie beside the session, the API uses it as a
//! Bearer token (`kab_act_…`). Either way it works only for the person who
//! entered, until it expires or they leave.

use kabinet_domain::access::Function;
use kabinet_domain::FieldError;
use kabinet_store::act_as::{self, ActAsGrant};
use kabinet_store::{commit, companies};
use serde_json::json;

use crate::audit::record;
use crate::auth::{random_secret, secret_hash};
use crate::companies::company_in_scope;
use crate::{now_ms, Acting, Actor, Origin, ServiceError, Services};

/// The prefix of an act-as credential.
pub const ACT_PREFIX: &str = "kab_act_";
/// Shortest and longest stay inside a client, in minutes.
pub const MINUTES: (i64, i64) = (5, 480);

impl Services {
    /// Enters a client's cabinet; returns the credential and when it ends.
    pub async fn enter_company(
        &self,
        actor: &Actor,
        company_id: i64,
        reason: &str,
        minutes: i64,
        read_only: bool,
    ) -> Result<(String, i64), ServiceError> {
        actor.require(Function::CompaniesEnter)?;
        actor.require_recent_sign_in()?;
        if actor.acting.is_some() {
            return Err(ServiceError::Conflict {
                code: "enter.nested",
                detail: None,
            });
        }
        let reason = reason.trim();
        let mut errors = Vec::new();
        if reason.chars().count() < 5 || reason.chars().count() > 500 {
            errors.push(FieldError::new("reason", "enter.reason"));
        }
        if !(MINUTES.0..=MINUTES.1).contains(&minutes) {
            errors.push(FieldError::new("minutes", "enter.minutes"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        let mut tx = self.store.begin().await?;
        let company = company_in_scope(&mut tx, actor, company_id).await?;
        if company.deleted_at.is_some() {
            return Err(ServiceError::NotFound);
        }
        if company.id == actor.company_id {
            return Err(ServiceError::Conflict {
                code: "enter.own_company",
                detail: None,
            });
        }
        let secret = format!("{ACT_PREFIX}{}", random_secret());
        let now = now_ms();
        let until = now + minutes * 60_000;
        act_as::insert(
            &mut tx,
            &secret_hash(&secret),
            &ActAsGrant {
                user_id: actor.user_id,
                company_id,
                reason: reason.to_string(),
                read_only,
                created_at: now,
                expires_at: until,
                ended_at: None,
            },
        )
        .await?;
        record(
            &mut tx,
            actor,
            "company.enter",
            "company",
            Some(company_id.to_string()),
            None,
            Some(
                &json!({"reason": reason, "minutes": minutes, "read_only": read_only,
                          "until": kabinet_api::format_time(until)}),
            ),
            Some(format!("entered by {}: {reason}", actor.login)),
        )
        .await?;
        commit(tx).await?;
        Ok((secret, until))
    }

    /// The actor inside the client a credential names, for the person who
    /// holds it (`base`, authenticated as themself).
    pub async fn act_as(&self, base: Actor, secret: &str) -> Result<Actor, ServiceError> {
        let mut conn = self.store.reader().await?;
        let grant = act_as::get(&mut conn, &secret_hash(secret))
            .await?
            .filter(|g| {
                g.user_id == base.user_id && g.ended_at.is_none() && g.expires_at > now_ms()
            })
            .ok_or(ServiceError::Unauthenticated)?;
        let company = companies::get(&mut conn, grant.company_id)
            .await?
            .filter(|c| c.deleted_at.is_none() && base.sees(&c.path))
            .ok_or(ServiceError::Unauthenticated)?;
        let name = company.fields.name.clone();
        Ok(Actor {
            company_id: company.id,
            company_name: name.clone(),
            scope_path: company.path.clone(),
            group_company_id: None,
            linked_paths: Vec::new(),
            grants: base.grants.narrowed_for_client(grant.read_only),
            on_behalf_of: Some(format!("{name} (#{})", company.id)),
            acting: Some(Acting {
                company_id: company.id,
                company_name: name,
                home_company_id: base.company_id,
                until: grant.expires_at,
                read_only: grant.read_only,
                reason: grant.reason,
            }),
            ..base
        })
    }

    /// An API request with an act-as credential as its Bearer token.
    pub async fn authenticate_act_as(
        &self,
        secret: &str,
        origin: &Origin,
    ) -> Result<Actor, ServiceError> {
        let user_id = {
            let mut conn = self.store.reader().await?;
            act_as::get(&mut conn, &secret_hash(secret))
                .await?
                .ok_or(ServiceError::Unauthenticated)?
                .user_id
        };
        let base = {
            let mut conn = self.store.reader().await?;
            let (actor, resolved) = self.actor_for_user(&mut conn, user_id, origin).await?;
            crate::auth::check_address(&resolved.user, origin)?;
            actor
        };
        self.act_as(base, secret).await
    }

    /// Leaves the client's cabinet: the credential stops working.
    pub async fn leave_company(&self, actor: &Actor, secret: &str) -> Result<i64, ServiceError> {
        let Some(acting) = &actor.acting else {
            return Err(ServiceError::Conflict {
                code: "enter.not_inside",
                detail: None,
            });
        };
        let mut tx = self.store.begin().await?;
        act_as::end(&mut tx, &secret_hash(secret), now_ms()).await?;
        record(
            &mut tx,
            actor,
            "company.leave",
            "company",
            Some(acting.company_id.to_string()),
            None,
            None,
            Some(format!("{} left", actor.login)),
        )
        .await?;
        commit(tx).await?;
        Ok(acting.home_company_id)
    }
}
