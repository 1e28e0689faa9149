//! Departments and rights (B2, B3, B4, B6).
//!
//! A department belongs to a company and grants sections and functions of
//! the catalog; a person's rights are the union of their departments' and
//! their extra rights, read on every request, so a change applies to the
//! very next one (C11). Nobody grants what they do not hold themselves.

use kabinet_domain::access::{DepartmentRights, Function, FunctionSet, Grants, Section};
use kabinet_domain::text::Timezone;
use kabinet_domain::FieldError;
use kabinet_store::departments::{self, DepartmentFields, DepartmentRecord};
use kabinet_store::{commit, users, AnyConnection};
use serde_json::{json, Value};

use crate::audit::record;
use crate::companies::company_in_scope;
use crate::users::user_in_scope;
use crate::{now_ms, Actor, ServiceError, Services};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A department as the API shows it (and as its audit snapshots record it).
pub fn snapshot(d: &DepartmentRecord) -> Value {
    json!({
        "id": d.id,
        "company_id": d.company_id,
        "name_ru": d.name_ru,
        "name_en": d.name_en,
        "schedule": serde_json::from_str::<Value>(&d.schedule).unwrap_or(json!({})),
        "task_language": d.task_language,
        "support": serde_json::from_str::<Value>(&d.support).unwrap_or(json!({})),
        "sort_order": d.sort_order,
        "members_count": d.members_count,
        "version": d.version,
    })
}

fn hh_mm(value: &Value) -> Option<u32> {
    let text = value.as_str()?;
    let (h, m) = text.split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && text.len() == 5).then_some(h * 60 + m)
}

/// Checks a department's input: names, schedule, task language, support
/// settings and sort order, every problem at once.
pub fn parse_fields(input: &Value) -> Result<DepartmentFields, ServiceError> {
    let mut errors = Vec::new();
    let text = |name: &str| {
        input
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let name_ru = text("name_ru").to_string();
    let name_en = text("name_en").to_string();
    for (field, value) in [("name_ru", &name_ru), ("name_en", &name_en)] {
        if value.is_empty() {
            errors.push(FieldError::new(field, "required"));
        } else if value.chars().count() > 100 {
            errors.push(FieldError::new(field, "too_long"));
        }
    }
    let schedule = input.get("schedule").cloned().unwrap_or(json!({}));
    let mut clean_schedule = json!({});
    match schedule.as_object() {
        None => errors.push(FieldError::new("schedule", "schedule.invalid")),
        Some(object) => {
            if let Some(tz) = object.get("timezone").and_then(Value::as_str) {
                match Timezone::parse(tz) {
                    Ok(tz) => clean_schedule["timezone"] = json!(tz.as_str()),
                    Err(code) => errors.push(FieldError::new("schedule.timezone", code)),
                }
            }
            let mut days = serde_json::Map::new();
            if let Some(given) = object.get("days") {
                match given.as_object() {
                    None => errors.push(FieldError::new("schedule.days", "schedule.invalid")),
                    Some(given) => {
                        for (day, hours) in given {
                            let ok = DAYS.contains(&day.as_str())
                                && hours.as_array().is_some_and(|pair| {
                                    pair.len() == 2
                                        && matches!(
                                            (hh_mm(&pair[0]), hh_mm(&pair[1])),
                                            (Some(from), Some(to)) if from < to
                                        )
                                });
                            if ok {
                                days.insert(day.clone(), hours.clone());
                            } else {
                                errors.push(FieldError::new(
                                    format!("schedule.days.{day}"),
                                    "schedule.hours",
                                ));
                            }
                        }
                    }
                }
            }
            clean_schedule["days"] = Value::Object(days);
        }
    }
    let task_language = match text("task_language") {
        "" | "ru" => "ru",
        "en" => "en",
        _ => {
            errors.push(FieldError::new("task_language", "language.invalid"));
            "ru"
        }
    };
    let support = input.get("support").cloned().unwrap_or(json!({}));
    if !support.is_object() {
        errors.push(FieldError::new("support", "support.invalid"));
    } else {
        // B3: which companies' clients see the department, and its head.
        let ids_ok = match support.get("shown_to_company_ids") {
            None | Some(Value::Null) => true,
            Some(Value::Array(ids)) => ids.iter().all(|id| id.as_i64().is_some_and(|n| n > 0)),
            Some(_) => false,
        };
        if !ids_ok {
            errors.push(FieldError::new(
                "support.shown_to_company_ids",
                "support.ids",
            ));
        }
        let head_ok = match support.get("head_user_id") {
            None | Some(Value::Null) => true,
            Some(id) => id.as_i64().is_some_and(|n| n > 0),
        };
        if !head_ok {
            errors.push(FieldError::new("support.head_user_id", "number.invalid"));
        }
    }
    let sort_order = match input.get("sort_order") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().unwrap_or_else(|| {
            errors.push(FieldError::new("sort_order", "number.invalid"));
            0
        }),
    };
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(DepartmentFields {
        name_ru,
        name_en,
        schedule: clean_schedule.to_string(),
        task_language: task_language.to_string(),
        support: support.to_string(),
        sort_order,
    })
}

/// Reads right keys from input; unknown keys are field errors.
fn parse_keys(
    field: &str,
    keys: &[String],
    functions_only: bool,
) -> Result<Vec<String>, ServiceError> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for key in keys {
        let key = key.trim();
        let known = Function::from_key(key).is_some()
            || (!functions_only && Section::from_key(key).is_some());
        if known {
            if !out.iter().any(|k: &String| k == key) {
                out.push(key.to_string());
            }
        } else {
            errors.push(FieldError::new(field, "right.unknown"));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ServiceError::Validation(errors))
    }
}

/// Nobody grants more than they hold: every function granted must be one
/// the actor may use (full access may grant all).
fn check_grantable(actor: &Actor, functions: FunctionSet) -> Result<(), ServiceError> {
    match functions.iter().find(|f| !actor.grants.allows(*f)) {
        None => Ok(()),
        Some(function) => Err(ServiceError::Forbidden(function)),
    }
}

/// Where one of a person's rights comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RightSource {
    FullAccess,
    Department {
        id: i64,
        name_ru: String,
        name_en: String,
    },
    Extra,
}

/// A person's effective rights, each with its sources.
#[derive(Debug, Clone)]
pub struct EffectiveRights {
    pub full_access: bool,
    pub rights: Vec<(Function, Vec<RightSource>)>,
    pub extra: Vec<Function>,
}

/// The grants of a person from the database: full access, or the union of
/// their departments' rights and their extra rights (nothing for a client
/// user without the admin-cabinet flag).
pub(crate) async fn grants_of(
    conn: &mut AnyConnection,
    user: &users::UserRecord,
) -> Result<Grants, ServiceError> {
    let user_id = user.id;
    if user.full_access {
        return Ok(Grants::full());
    }
    // C7: a user of a client company (not the provider) without "may open
    // the admin cabinet" manages nothing but their own sign-in, whatever
    // else was granted. Account and group admins are admins by their kind.
    let in_client_company = !kabinet_domain::company::is_root_path(&user.company_path);
    if in_client_company && user.kind == "client_user" && !user.card.may_open_admin_cabinet {
        return Ok(Grants::default().with(Function::ApiTokensOwn));
    }
    let of_departments = departments::of_user(conn, user_id).await?;
    let rights: Vec<DepartmentRights> = of_departments
        .iter()
        .map(|(_, _, _, keys)| DepartmentRights::from_keys(keys.iter().map(String::as_str)))
        .collect();
    let extra = departments::extra_rights(conn, user_id).await?;
    let extra = FunctionSet::of(extra.iter().filter_map(|k| Function::from_key(k)));
    Ok(Grants::compose(&rights, extra).with(Function::ApiTokensOwn))
}

impl Services {
    pub async fn department_list(
        &self,
        actor: &Actor,
        company_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<DepartmentRecord>, i64), ServiceError> {
        actor.require(Function::DepartmentsView)?;
        let mut conn = self.store.reader().await?;
        Ok(departments::list(
            &mut conn,
            &actor.scope_path,
            actor.group_company_id,
            company_id,
            limit.clamp(1, 500),
            offset.max(0),
        )
        .await?)
    }

    pub async fn department_get(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<DepartmentRecord, ServiceError> {
        actor.require(Function::DepartmentsView)?;
        let mut conn = self.store.reader().await?;
        department_in_scope(&mut conn, actor, id).await
    }

    pub async fn department_create(
        &self,
        actor: &Actor,
        company_id: Option<i64>,
        input: &Value,
    ) -> Result<DepartmentRecord, ServiceError> {
        actor.require(Function::DepartmentsEdit)?;
        let fields = parse_fields(input)?;
        let mut tx = self.store.begin().await?;
        let company =
            company_in_scope(&mut tx, actor, company_id.unwrap_or(actor.company_id)).await?;
        if company.deleted_at.is_some() {
            return Err(ServiceError::NotFound);
        }
        let id = departments::insert(&mut tx, company.id, &fields, now_ms()).await?;
        let created = departments::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        record(
            &mut tx,
            actor,
            "department.create",
            "department",
            Some(id.to_string()),
            None,
            Some(&snapshot(&created)),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(created)
    }

    pub async fn department_update(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: i64,
        input: &Value,
    ) -> Result<DepartmentRecord, ServiceError> {
        actor.require(Function::DepartmentsEdit)?;
        let fields = parse_fields(input)?;
        let mut tx = self.store.begin().await?;
        let before = department_in_scope(&mut tx, actor, id).await?;
        if !departments::update(&mut tx, id, expected_version, &fields, now_ms()).await? {
            return Err(ServiceError::Stale);
        }
        let after = departments::get(&mut tx, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        record(
            &mut tx,
            actor,
            "department.update",
            "department",
            Some(id.to_string()),
            Some(&snapshot(&before)),
            Some(&snapshot(&after)),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(after)
    }

    pub async fn department_delete(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: Option<i64>,
    ) -> Result<(), ServiceError> {
        actor.require(Function::DepartmentsEdit)?;
        let mut tx = self.store.begin().await?;
        department_in_scope(&mut tx, actor, id).await?;
        // The row first, as every change of a department takes it: a
        // concurrent change finishes before (and is in the snapshot and the
        // version checked here) or waits and finds the department gone.
        if !departments::lock(&mut tx, id).await? {
            return Err(ServiceError::NotFound);
        }
        let before = department_in_scope(&mut tx, actor, id).await?;
        if expected_version.is_some_and(|v| v != before.version) {
            return Err(ServiceError::Stale);
        }
        let mut snapshot_before = snapshot(&before);
        snapshot_before["rights"] = json!(departments::rights(&mut tx, id).await?);
        snapshot_before["members"] = json!(departments::members(&mut tx, id).await?);
        departments::delete(&mut tx, id).await?;
        record(
            &mut tx,
            actor,
            "department.delete",
            "department",
            Some(id.to_string()),
            Some(&snapshot_before),
            None,
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// A department's rights: sections on and functions on.
    pub async fn department_rights(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(DepartmentRecord, DepartmentRights), ServiceError> {
        actor.require(Function::DepartmentsView)?;
        let mut conn = self.store.reader().await?;
        let department = department_in_scope(&mut conn, actor, id).await?;
        let keys = departments::rights(&mut conn, id).await?;
        Ok((
            department,
            DepartmentRights::from_keys(keys.iter().map(String::as_str)),
        ))
    }

    /// Replaces a department's rights. Only functions the actor holds can be
    /// switched on.
    pub async fn department_rights_set(
        &self,
        actor: &Actor,
        id: i64,
        keys: &[String],
    ) -> Result<DepartmentRights, ServiceError> {
        actor.require(Function::DepartmentsRights)?;
        actor.require_recent_sign_in()?;
        let keys = parse_keys("rights", keys, false)?;
        let rights = DepartmentRights::from_keys(keys.iter().map(String::as_str));
        check_grantable(actor, rights.functions)?;
        let mut tx = self.store.begin().await?;
        department_in_scope(&mut tx, actor, id).await?;
        // The department's row first: concurrent replacements wait for each
        // other, so `before` is what the previous one stored and no key is
        // inserted twice (a unique violation on PostgreSQL).
        if !departments::bump(&mut tx, id, now_ms()).await? {
            return Err(ServiceError::NotFound);
        }
        let before = departments::rights(&mut tx, id).await?;
        departments::set_rights(&mut tx, id, &rights.keys()).await?;
        record(
            &mut tx,
            actor,
            "department.rights",
            "department",
            Some(id.to_string()),
            Some(&json!({"rights": before})),
            Some(&json!({"rights": rights.keys()})),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(rights)
    }

    /// A department's members (user ids).
    pub async fn department_members(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<users::UserRecord>, ServiceError> {
        actor.require(Function::DepartmentsView)?;
        let mut conn = self.store.reader().await?;
        department_in_scope(&mut conn, actor, id).await?;
        let mut people = Vec::new();
        for user_id in departments::members(&mut conn, id).await? {
            if let Some(user) = users::get(&mut conn, user_id).await? {
                people.push(user);
            }
        }
        Ok(people)
    }

    /// Replaces a department's members: people of the department's company.
    pub async fn department_members_set(
        &self,
        actor: &Actor,
        id: i64,
        user_ids: &[i64],
    ) -> Result<Vec<i64>, ServiceError> {
        actor.require(Function::DepartmentsEdit)?;
        actor.require_recent_sign_in()?;
        let mut tx = self.store.begin().await?;
        let department = department_in_scope(&mut tx, actor, id).await?;
        // The department's row first, as for its rights.
        if !departments::bump(&mut tx, id, now_ms()).await? {
            return Err(ServiceError::NotFound);
        }
        let mut ids: Vec<i64> = Vec::new();
        let mut errors = Vec::new();
        for user_id in user_ids {
            match users::get(&mut tx, *user_id).await? {
                Some(user)
                    if actor.sees(&user.company_path)
                        && user.company_id == department.company_id
                        && user.deleted_at.is_none() =>
                {
                    if !ids.contains(user_id) {
                        ids.push(*user_id);
                    }
                }
                _ => errors.push(FieldError::new(
                    format!("members.{user_id}"),
                    "member.invalid",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::Validation(errors));
        }
        let before = departments::members(&mut tx, id).await?;
        departments::set_members(&mut tx, id, &ids).await?;
        record(
            &mut tx,
            actor,
            "department.members",
            "department",
            Some(id.to_string()),
            Some(&json!({"members": before})),
            Some(&json!({"members": ids})),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(ids)
    }

    /// A person's effective rights, each with where it comes from (B6).
    pub async fn user_rights(
        &self,
        actor: &Actor,
        user_id: i64,
    ) -> Result<EffectiveRights, ServiceError> {
        if user_id != actor.user_id {
            actor.require(Function::UsersView)?;
        }
        let mut conn = self.store.reader().await?;
        let user = user_in_scope(&mut conn, actor, user_id).await?;
        let extra_keys = departments::extra_rights(&mut conn, user_id).await?;
        let extra: Vec<Function> = extra_keys
            .iter()
            .filter_map(|k| Function::from_key(k))
            .collect();
        if user.full_access {
            return Ok(EffectiveRights {
                full_access: true,
                rights: Function::ALL
                    .into_iter()
                    .map(|f| (f, vec![RightSource::FullAccess]))
                    .collect(),
                extra,
            });
        }
        let of_departments = departments::of_user(&mut conn, user_id).await?;
        let mut rights: Vec<(Function, Vec<RightSource>)> = Vec::new();
        for function in Function::ALL {
            let mut sources = Vec::new();
            for (id, name_ru, name_en, keys) in &of_departments {
                let granted = DepartmentRights::from_keys(keys.iter().map(String::as_str))
                    .effective()
                    .contains(function);
                if granted {
                    sources.push(RightSource::Department {
                        id: *id,
                        name_ru: name_ru.clone(),
                        name_en: name_en.clone(),
                    });
                }
            }
            if extra.contains(&function) {
                sources.push(RightSource::Extra);
            }
            if !sources.is_empty() {
                rights.push((function, sources));
            }
        }
        Ok(EffectiveRights {
            full_access: false,
            rights,
            extra,
        })
    }

    /// Replaces a person's extra rights (functions only).
    pub async fn user_extra_rights_set(
        &self,
        actor: &Actor,
        user_id: i64,
        keys: &[String],
    ) -> Result<Vec<String>, ServiceError> {
        actor.require(Function::DepartmentsRights)?;
        actor.require_recent_sign_in()?;
        let keys = parse_keys("rights", keys, true)?;
        check_grantable(
            actor,
            FunctionSet::of(keys.iter().filter_map(|k| Function::from_key(k))),
        )?;
        let mut tx = self.store.begin().await?;
        user_in_scope(&mut tx, actor, user_id).await?;
        // The person's row first: concurrent replacements wait for each
        // other, so `before` is what the previous one stored and no key is
        // inserted twice (a unique violation on PostgreSQL).
        if !departments::lock_person(&mut tx, user_id).await? {
            return Err(ServiceError::NotFound);
        }
        let before = departments::extra_rights(&mut tx, user_id).await?;
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        departments::set_extra_rights(&mut tx, user_id, &refs).await?;
        record(
            &mut tx,
            actor,
            "user.extra_rights",
            "user",
            Some(user_id.to_string()),
            Some(&json!({"extra_rights": before})),
            Some(&json!({"extra_rights": keys})),
            None,
        )
        .await?;
        commit(tx).await?;
        Ok(keys)
    }
}

/// A department of a company in the actor's scope, or NotFound.
async fn department_in_scope(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: i64,
) -> Result<DepartmentRecord, ServiceError> {
    match departments::get(conn, id).await? {
        Some(d) if actor.sees(&d.company_path) => Ok(d),
        _ => Err(ServiceError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn department_input_is_checked_field_by_field() {
        let ok = parse_fields(&json!({
            "name_ru": "Бухгалтерия", "name_en": "Accounts",
            "schedule": {"timezone": "Europe/Moscow", "days": {"mon": ["09:00", "18:00"]}},
            "task_language": "en", "support": {"charged": true}, "sort_order": 3
        }))
        .unwrap();
        assert_eq!(ok.task_language, "en");
        assert!(ok.schedule.contains("Europe/Moscow"));
        let Err(ServiceError::Validation(errors)) = parse_fields(&json!({
            "name_ru": "", "name_en": "x".repeat(101),
            "schedule": {"timezone": "Mars/Olympus", "days": {"mon": ["18:00", "09:00"], "xyz": ["09:00", "10:00"]}},
            "task_language": "de", "support": [], "sort_order": "first"
        })) else {
            panic!("bad input must be refused");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "name_ru",
            "name_en",
            "schedule.timezone",
            "schedule.days.mon",
            "schedule.days.xyz",
            "task_language",
            "support",
            "sort_order",
        ] {
            assert!(fields.contains(&field), "{field} missing in {fields:?}");
        }
    }
}
