//! Reseller registration links (T8): a reseller's people with the right
//! make, rotate and disable the link; a new company registers itself
//! through it as the reseller's affiliate, with its first administrator,
//! who is invited by e-mail to choose a password.
//!
//! The link's secret is 256 random bits stored as SHA-256, like session ids
//! and one-time links, and travels in the URL fragment (`/register#…`), so
//! it stays out of server logs. Registrations are public, so they are
//! limited per client address ([`kabinet_domain::registration::PER_ADDRESS`]
//! an hour), counted in the database like sign-in failures.

use kabinet_api::format_time;
use kabinet_domain::access::Function;
use kabinet_domain::company::{check_placement, ParentFacts};
use kabinet_domain::registration::{self as rule, RawRegistration, RegistrationDraft};
use kabinet_store::audit::AuditEntry;
use kabinet_store::companies::{self, CompanyRecord};
use kabinet_store::registration_links::{self, RegistrationLinkRecord};
use kabinet_store::users::{self, UserRecord};
use kabinet_store::{audit as audit_store, commit, throttle, AnyConnection};

use super::{company_in_scope, fields_from, snapshot, unique_to_field};
use crate::audit::record;
use crate::auth::{address_key, random_secret, secret_hash};
use crate::{now_ms, Actor, Origin, ServiceError, Services};

/// A new link: the address to hand out (shown once) and its record.
pub struct NewRegistrationLink {
    pub url: String,
    pub link: RegistrationLinkRecord,
}

/// What a registration created.
pub struct Registered {
    pub company: CompanyRecord,
    pub admin: UserRecord,
    /// The reseller the company registered under.
    pub reseller_id: i64,
}

/// The audit snapshot of a link: whether it is active and since when,
/// never its secret.
fn link_snapshot(link: Option<&RegistrationLinkRecord>) -> serde_json::Value {
    serde_json::json!({
        "active": link.is_some(),
        "created_at": link.map(|l| format_time(l.created_at)),
    })
}

fn invalid_link() -> ServiceError {
    ServiceError::Conflict {
        code: "registration.link_invalid",
        detail: None,
    }
}

/// The throttling key of registrations from the request's address.
fn throttle_key(origin: &Origin) -> String {
    format!("register:{}", address_key(origin))
}

/// The live reseller whose link has this secret, if the link still works.
async fn reseller_of(
    conn: &mut AnyConnection,
    secret: &str,
) -> Result<Option<CompanyRecord>, ServiceError> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Ok(None);
    }
    let Some(id) = registration_links::company_by_hash(conn, &secret_hash(secret)).await? else {
        return Ok(None);
    };
    Ok(companies::get(conn, id)
        .await?
        .filter(|c| c.deleted_at.is_none() && c.fields.is_reseller && !c.fields.is_provider))
}

impl Services {
    /// Whether the reseller has an active link, and since when.
    pub async fn registration_link_get(
        &self,
        actor: &Actor,
        company_id: i64,
    ) -> Result<Option<RegistrationLinkRecord>, ServiceError> {
        actor.require(Function::CompaniesView)?;
        let mut conn = self.store.reader().await?;
        let company = company_in_scope(&mut conn, actor, company_id).await?;
        Ok(registration_links::get(&mut conn, company.id).await?)
    }

    /// Makes a new registration link for a reseller, replacing the one it
    /// had (whose secret stops working at once). The address is returned
    /// once; only a hash of its secret is kept.
    pub async fn registration_link_create(
        &self,
        actor: &Actor,
        company_id: i64,
    ) -> Result<NewRegistrationLink, ServiceError> {
        actor.require(Function::CompaniesEdit)?;
        let mut tx = self.store.begin().await?;
        let company = company_in_scope(&mut tx, actor, company_id).await?;
        if company.deleted_at.is_some() {
            return Err(ServiceError::Conflict {
                code: "company.deleted",
                detail: None,
            });
        }
        if !company.fields.is_reseller || company.fields.is_provider {
            return Err(ServiceError::Conflict {
                code: "registration.not_reseller",
                detail: None,
            });
        }
        let before = registration_links::get(&mut tx, company.id).await?;
        let secret = random_secret();
        let link = registration_links::replace(
            &mut tx,
            company.id,
            &secret_hash(&secret),
            actor.user_id,
            now_ms(),
        )
        .await?;
        let action = if before.is_some() {
            "company.registration_link_rotate"
        } else {
            "company.registration_link_create"
        };
        record(
            &mut tx,
            actor,
            action,
            "company",
            Some(company.id.to_string()),
            Some(&link_snapshot(before.as_ref())),
            Some(&link_snapshot(Some(&link))),
            None,
        )
        .await?;
        commit(tx).await?;
        let url = format!(
            "{}/register#{secret}",
            self.settings.public_url.trim_end_matches('/')
        );
        Ok(NewRegistrationLink { url, link })
    }

    /// Disables a reseller's registration link; false when it had none
    /// (nothing changes then, and nothing is audited).
    pub async fn registration_link_disable(
        &self,
        actor: &Actor,
        company_id: i64,
    ) -> Result<bool, ServiceError> {
        actor.require(Function::CompaniesEdit)?;
        let mut tx = self.store.begin().await?;
        let company = company_in_scope(&mut tx, actor, company_id).await?;
        let before = registration_links::get(&mut tx, company.id).await?;
        if before.is_none() || !registration_links::delete(&mut tx, company.id).await? {
            return Ok(false);
        }
        record(
            &mut tx,
            actor,
            "company.registration_link_disable",
            "company",
            Some(company.id.to_string()),
            Some(&link_snapshot(before.as_ref())),
            Some(&link_snapshot(None)),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(true)
    }

    /// A new company registers itself through a reseller's link (public: no
    /// actor). In one transaction: the company as the reseller's affiliate
    /// (signing its people in by e-mail), its first administrator without a
    /// password, the e-mail inviting them to choose one, the audit records
    /// and the `company.registered` event.
    ///
    /// An unknown or disabled link is refused with one conflict whatever the
    /// reason, and counts against the address like a registration does.
    pub async fn register_company(
        &self,
        secret: &str,
        raw: &RawRegistration,
        origin: &Origin,
    ) -> Result<Registered, ServiceError> {
        let now = now_ms();
        let key = throttle_key(origin);
        {
            let mut conn = self.store.reader().await?;
            let (count, oldest) =
                throttle::count_and_oldest_since(&mut conn, &key, now - rule::WINDOW_MS).await?;
            let wait = rule::wait(count, oldest, now);
            if wait > 0 {
                return Err(ServiceError::Throttled {
                    retry_after_ms: wait,
                });
            }
        }
        let mut tx = self.store.begin().await?;
        let Some(reseller) = reseller_of(&mut tx, secret).await? else {
            throttle::record_failure(&mut tx, &key, now).await?;
            let entry = AuditEntry {
                at: now,
                actor_login: Some("registration link".to_string()),
                action: "company.registration_refused".to_string(),
                entity_type: "company".to_string(),
                ip: origin.ip.clone(),
                details: Some("unknown or disabled registration link".to_string()),
                ..AuditEntry::default()
            };
            audit_store::insert(&mut tx, &entry).await?;
            commit(tx).await?;
            return Err(invalid_link());
        };
        let draft = RegistrationDraft::parse(raw, reseller.id).map_err(ServiceError::Validation)?;
        let parent = ParentFacts {
            is_provider: reseller.fields.is_provider,
            is_reseller: reseller.fields.is_reseller,
        };
        check_placement(parent, draft.company.is_reseller).map_err(|_| invalid_link())?;
        let fields = fields_from(&draft.company, rule::SIGN_IN, false, false);
        let company_id = companies::insert(&mut tx, &fields, &reseller.path, now)
            .await
            .map_err(unique_to_field)?;
        let company = companies::get(&mut tx, company_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let user_fields = crate::users::fields_from(&draft.admin, company.id);
        let admin_id = users::insert_card(&mut tx, &user_fields, None, false, now)
            .await
            .map_err(|e| crate::users::unique_to_field(e, rule::SIGN_IN.email_is_login))?;
        // The first admin manages their own company: every right, and their
        // scope is that company alone.
        users::grant_full_access(&mut tx, admin_id).await?;
        let admin = users::get(&mut tx, admin_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        crate::messages::invite(&mut tx, &self.settings.public_url, &admin).await?;
        let by = format!("registration link of reseller {}", reseller.id);
        let company_after = snapshot(&company);
        for (action, entity_type, entity_id, after) in [
            (
                "company.register",
                "company",
                company.id,
                company_after.clone(),
            ),
            (
                "user.create",
                "user",
                admin.id,
                crate::users::snapshot(&admin),
            ),
        ] {
            let entry = AuditEntry {
                at: now,
                actor_login: Some(by.clone()),
                action: action.to_string(),
                entity_type: entity_type.to_string(),
                entity_id: Some(entity_id.to_string()),
                after_json: Some(after.to_string()),
                ip: origin.ip.clone(),
                details: Some(format!(
                    "self-registration as an affiliate of {} ({})",
                    reseller.fields.name, reseller.id
                )),
                ..AuditEntry::default()
            };
            audit_store::insert(&mut tx, &entry).await?;
        }
        let mut payload = company_after;
        payload["reseller_id"] = serde_json::json!(reseller.id);
        payload["admin_user_id"] = serde_json::json!(admin.id);
        kabinet_store::outbox::insert_event(
            &mut tx,
            now,
            "company.registered",
            "company",
            &company.id.to_string(),
            &payload.to_string(),
        )
        .await?;
        crate::users::emit(&mut tx, "user.created", &admin).await?;
        // Counted like a refused link: the limit is on registrations.
        throttle::record_failure(&mut tx, &key, now).await?;
        commit(tx).await?;
        Ok(Registered {
            company,
            admin,
            reseller_id: reseller.id,
        })
    }
}
