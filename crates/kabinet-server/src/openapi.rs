//! The OpenAPI 3.1 document of the REST API, built from the route table
//! below and from the API types themselves (field names come from
//! serialising them), so that the document and the code cannot drift: a
//! test checks every `/api/v1` route of the router is described here.

use kabinet_api::{CompanyDto, CompanyInput};
use kabinet_store::companies::{CompanyFields, CompanyRecord};
use serde_json::{json, Map, Value};

/// One documented operation.
/// The operations anyone may call: the steps of signing in and of setting
/// a password by link. Everything else needs a session or a token.
pub const PUBLIC_PATHS: &[&str] = &[
    "/auth/login",
    "/auth/recover",
    "/auth/password",
    "/auth/second-factor",
    "/auth/second-factor/resend",
    "/auth/passkey/options",
    "/auth/passkey",
    "/auth/pin",
    "/register",
];

pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub request: Option<&'static str>,
    pub response: Option<&'static str>,
    pub status: u16,
}

/// Every REST operation. Paths are relative to `/api/v1`.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "post",
        path: "/auth/login",
        summary:
            "Sign in with login and password; sets the session cookie and returns the CSRF token",
        request: Some("LoginRequest"),
        response: Some("LoginResponse"),
        status: 200,
    },
    Operation {
        method: "post",
        path: "/auth/logout",
        summary: "Sign out: the session ends on the server",
        request: None,
        response: None,
        status: 204,
    },
    Operation {
        method: "get",
        path: "/me",
        summary: "The signed-in person and the functions they may use",
        request: None,
        response: Some("Me"),
        status: 200,
    },
    Operation { method: "post", path: "/auth/second-factor", summary: "Complete a sign-in that answered with a challenge: send it with the SMS code, or a TOTP or recovery code (as `methods` of the login answer say)", request: Some("SecondFactor"), response: Some("LoginResponse"), status: 200 },
    Operation { method: "delete", path: "/me/sessions/{id}", summary: "End one of one's own sessions (its `id` from GET /me/sessions)", request: None, response: None, status: 204 },
    Operation { method: "post", path: "/companies/{id}/enter", summary: "Enter a client's cabinet (reason required, minutes 5-480, default 30, optional read_only): returns an act-as Bearer token bound to that company; inside, one's rights are intersected with a client admin's", request: Some("EnterInput"), response: None, status: 201 },
    Operation { method: "delete", path: "/acting", summary: "Leave the client's cabinet: the act-as token sent as Bearer stops working", request: None, response: None, status: 204 },
    Operation { method: "get", path: "/permissions", summary: "The permission catalog: sections and the functions inside each (`section.function`), in Russian and English", request: None, response: Some("Catalog"), status: 200 },
    Operation { method: "get", path: "/departments", summary: "Departments of the companies in one's scope (company_id filter, paging)", request: None, response: Some("DepartmentPage"), status: 200 },
    Operation { method: "post", path: "/departments", summary: "Create a department (in one's own company unless company_id is given); it has no rights", request: Some("DepartmentInput"), response: Some("Department"), status: 201 },
    Operation { method: "get", path: "/departments/{id}", summary: "A department card (ETag is its version)", request: None, response: Some("Department"), status: 200 },
    Operation { method: "patch", path: "/departments/{id}", summary: "Change a department (JSON merge patch, If-Match required)", request: Some("DepartmentInput"), response: Some("Department"), status: 200 },
    Operation { method: "delete", path: "/departments/{id}", summary: "Delete a department, its rights and memberships (If-Match optional)", request: None, response: None, status: 204 },
    Operation { method: "get", path: "/departments/{id}/rights", summary: "Sections and functions switched on, and the functions in effect", request: None, response: Some("DepartmentRights"), status: 200 },
    Operation { method: "put", path: "/departments/{id}/rights", summary: "Replace a department's rights; one may grant only functions one holds", request: Some("RightsInput"), response: Some("DepartmentRights"), status: 200 },
    Operation { method: "get", path: "/departments/{id}/members", summary: "The department's members", request: None, response: None, status: 200 },
    Operation { method: "put", path: "/departments/{id}/members", summary: "Replace the members (people of the department's company)", request: Some("MembersInput"), response: None, status: 200 },
    Operation { method: "get", path: "/users/{id}/rights", summary: "A person's effective rights, each with its sources (departments, extra, full access)", request: None, response: Some("EffectiveRights"), status: 200 },
    Operation { method: "put", path: "/users/{id}/extra-rights", summary: "Replace a person's extra rights (function keys)", request: Some("RightsInput"), response: Some("EffectiveRights"), status: 200 },
    Operation { method: "get", path: "/me/passkeys", summary: "The signed-in person's passkeys", request: None, response: None, status: 200 },
    Operation { method: "post", path: "/me/passkeys/options", summary: "Start adding a passkey (password again): options for navigator.credentials.create() and a ceremony id", request: Some("PasswordConfirm"), response: None, status: 200 },
    Operation { method: "post", path: "/me/passkeys", summary: "Finish adding a passkey with the authenticator's answer (base64url clientDataJSON and attestationObject)", request: Some("PasskeyRegistration"), response: None, status: 201 },
    Operation { method: "delete", path: "/me/passkeys/{id}", summary: "Remove one of one's passkeys (the person is told by e-mail)", request: None, response: None, status: 204 },
    Operation { method: "get", path: "/me/devices", summary: "Devices trusted for quick sign-in with a PIN", request: None, response: None, status: 200 },
    Operation { method: "post", path: "/me/devices", summary: "Trust this device: a 4-digit PIN will sign in on it (sets an HttpOnly device cookie)", request: Some("DeviceTrust"), response: None, status: 201 },
    Operation { method: "delete", path: "/me/devices/{id}", summary: "Stop trusting a device", request: None, response: None, status: 204 },
    Operation { method: "post", path: "/auth/passkey/options", summary: "Start a sign-in with a passkey: options for navigator.credentials.get() and a ceremony id", request: None, response: None, status: 200 },
    Operation { method: "post", path: "/auth/passkey", summary: "Sign in with a passkey (user verification required): the authenticator's answer, base64url", request: Some("PasskeyAssertion"), response: Some("LoginResponse"), status: 200 },
    Operation { method: "post", path: "/auth/pin", summary: "Quick sign-in on a trusted device with its PIN (the device cookie must come along); 5 wrong PINs end the trust", request: Some("Pin"), response: Some("LoginResponse"), status: 200 },
    Operation { method: "post", path: "/auth/second-factor/resend", summary: "Send a new SMS code for a pending sign-in (once a minute, three per sign-in); the old code stops working", request: Some("Resend"), response: None, status: 202 },
    Operation { method: "get", path: "/me/totp", summary: "Whether TOTP is on and how many recovery codes are left", request: None, response: None, status: 200 },
    Operation { method: "post", path: "/me/totp", summary: "Start TOTP enrolment: secret, otpauth URI and QR code (SVG)", request: None, response: None, status: 200 },
    Operation { method: "post", path: "/me/totp/confirm", summary: "Confirm TOTP with a code; returns ten single-use recovery codes once", request: Some("Code"), response: None, status: 200 },
    Operation { method: "post", path: "/me/totp/disable", summary: "Turn TOTP off (password required)", request: Some("PasswordConfirm"), response: None, status: 204 },
    Operation { method: "post", path: "/auth/recover", summary: "Start password recovery by login or e-mail; always 202, whether or not the account exists", request: Some("RecoverRequest"), response: None, status: 202 },
    Operation { method: "post", path: "/auth/password", summary: "Set a password with the secret of a one-time link (from the fragment of the e-mailed link)", request: Some("LinkPassword"), response: None, status: 204 },
    Operation { method: "get", path: "/outbox", summary: "Messages and events waiting for or done with delivery, newest first (topic filter)", request: None, response: Some("OutboxPage"), status: 200 },
    Operation { method: "post", path: "/outbox/{id}/retry", summary: "Queue a message again after its delivery gave up (failed); 409 if it did not fail", request: None, response: Some("OutboxEntry"), status: 200 },
    Operation {
        method: "post",
        path: "/me/password",
        summary: "Change one's own password (current and new); other sessions and tokens end",
        request: Some("PasswordChange"),
        response: None,
        status: 204,
    },
    Operation {
        method: "get",
        path: "/me/sessions",
        summary: "One's own live sessions",
        request: None,
        response: Some("SessionPage"),
        status: 200,
    },
    Operation {
        method: "get",
        path: "/companies",
        summary: "Companies in the caller's scope: search (q), filters, sort and paging",
        request: None,
        response: Some("CompanyPage"),
        status: 200,
    },
    Operation {
        method: "post",
        path: "/companies",
        summary: "Create a company",
        request: Some("CompanyInput"),
        response: Some("Company"),
        status: 201,
    },
    Operation {
        method: "get",
        path: "/companies/{id}",
        summary: "One company; ETag carries its version",
        request: None,
        response: Some("Company"),
        status: 200,
    },
    Operation {
        method: "patch",
        path: "/companies/{id}",
        summary: "Change a company by JSON merge patch (RFC 7396); requires If-Match",
        request: Some("CompanyInput"),
        response: Some("Company"),
        status: 200,
    },
    Operation {
        method: "delete",
        path: "/companies/{id}",
        summary: "Soft-delete a company (cascade=true to include its children)",
        request: None,
        response: Some("Deleted"),
        status: 200,
    },
    Operation {
        method: "post",
        path: "/companies/{id}/restore",
        summary: "Restore exactly what one deletion removed",
        request: None,
        response: Some("Restored"),
        status: 200,
    },
    Operation { method: "get", path: "/companies/{id}/links", summary: "The client companies linked to a group company (M5), with the company list's search (q), filters (region, macroregion), sort and paging", request: None, response: Some("CompanyPage"), status: 200 },
    Operation { method: "post", path: "/companies/{id}/links", summary: "Link a client to a group company by its multichannel number; refused with the reason (422 with errors[].code link.client_not_found, link.inn_mismatch, link.self, link.ambiguous; 409 link.not_group_company or link.exists) unless one of the client's INNs is one of the group's", request: Some("GroupLinkInput"), response: Some("GroupLink"), status: 201 },
    Operation { method: "delete", path: "/companies/{id}/links/{client_id}", summary: "Unlink a client from a group company (404 when not linked)", request: None, response: None, status: 204 },
    Operation { method: "get", path: "/companies/{id}/registration-link", summary: "Whether a reseller's registration link (T8) is active and when it was made; never its secret", request: None, response: Some("RegistrationLink"), status: 200 },
    Operation { method: "post", path: "/companies/{id}/registration-link", summary: "Make a reseller's registration link, or a new one (the old one stops working at once); the answer's url ({public_url}/register#<secret>) is shown this once. 409 registration.not_reseller for a company that is not a reseller", request: None, response: Some("RegistrationLinkCreated"), status: 201 },
    Operation { method: "delete", path: "/companies/{id}/registration-link", summary: "Disable a reseller's registration link", request: None, response: None, status: 204 },
    Operation { method: "post", path: "/register", summary: "A new company registers itself through a reseller's link (public): it becomes the reseller's affiliate, its first admin (login = e-mail) gets an e-mail to set a password. 422 names each bad field; 409 registration.link_invalid for an unknown or disabled link; 429 with Retry-After after 10 registrations per address an hour", request: Some("Registration"), response: Some("Registered"), status: 201 },
    Operation { method: "get", path: "/users", summary: "People in the caller's scope: search (q), filters (company_id, kind, status, deleted), sort and paging", request: None, response: Some("UserPage"), status: 200 },
    Operation { method: "post", path: "/users", summary: "Create a person; password is write-only, generate_password returns one once; without either, an e-mail with a one-time link is queued, or, where the company has password_in_email, an e-mail with the login and a generated password to change at first sign-in. Where the company has email_is_login, e-mail is required and the login is the e-mail (omit login or repeat the e-mail)", request: Some("UserInput"), response: Some("User"), status: 201 },
    Operation { method: "get", path: "/users/{id}", summary: "One person; ETag carries the version", request: None, response: Some("User"), status: 200 },
    Operation { method: "patch", path: "/users/{id}", summary: "Change a person by JSON merge patch; requires If-Match; blocking ends their sessions", request: Some("UserInput"), response: Some("User"), status: 200 },
    Operation { method: "delete", path: "/users/{id}", summary: "Soft-delete a person; their sessions and tokens end at once", request: None, response: None, status: 204 },
    Operation { method: "post", path: "/users/{id}/restore", summary: "Restore a deleted person", request: None, response: Some("User"), status: 200 },
    Operation { method: "put", path: "/users/{id}/avatar", summary: "Set a person's avatar: the body is a JPEG, PNG or GIF picture (checked by content), at most 64 KB, 80×80 pixels", request: None, response: None, status: 204 },
    Operation { method: "get", path: "/users/{id}/avatar", summary: "A person's avatar (image/jpeg, image/png or image/gif)", request: None, response: None, status: 200 },
    Operation { method: "delete", path: "/users/{id}/avatar", summary: "Remove a person's avatar", request: None, response: None, status: 204 },
    Operation { method: "put", path: "/users/{id}/ip-rules", summary: "Set the addresses and CIDR networks a person may act from (empty: any) and session binding (off, log, strict); rules that exclude your own address are refused", request: Some("IpRules"), response: Some("User"), status: 200 },
    Operation { method: "get", path: "/users/{id}/sessions", summary: "A person's live sessions (never their secrets)", request: None, response: Some("SessionPage"), status: 200 },
    Operation { method: "delete", path: "/users/{id}/sessions", summary: "End every session and token of a person", request: None, response: None, status: 204 },
    Operation {
        method: "get",
        path: "/tokens",
        summary: "The caller's API tokens (never their secrets)",
        request: None,
        response: Some("TokenPage"),
        status: 200,
    },
    Operation {
        method: "post",
        path: "/tokens",
        summary: "Create an API token; the secret is returned once",
        request: Some("TokenCreateRequest"),
        response: Some("TokenCreated"),
        status: 201,
    },
    Operation {
        method: "delete",
        path: "/tokens/{id}",
        summary: "Revoke an API token",
        request: None,
        response: None,
        status: 204,
    },
    Operation { method: "get", path: "/audit/export", summary: "The audit log as CSV (same filters as the list; at most 50,000 rows, X-Kabinet-Truncated when cut); formulas are defused", request: None, response: None, status: 200 },
    Operation {
        method: "get",
        path: "/audit",
        summary: "The audit log, newest first, with filters",
        request: None,
        response: Some("AuditPage"),
        status: 200,
    },
];

/// A company with every field filled, so that serialising it shows every
/// field with its JSON type.
fn sample_record() -> CompanyRecord {
    let text = |v: &str| Some(v.to_string());
    CompanyRecord {
        id: 2,
        path: "/1/2/".into(),
        fields: CompanyFields {
            parent_id: Some(1),
            is_provider: false,
            name: "New Ways Company".into(),
            name_sort: "new ways company".into(),
            short_id: text("newways"),
            account_number: text("LS-0001"),
            pbx_number: text("1001"),
            multichannel_number: text("+78001234567"),
            phones: vec!["+74951234567".into()],
            region: text("Москва"),
            macroregion: text("Центральный"),
            inns: vec!["7707083893".into()],
            kpp: text("773601001"),
            ogrn: text("1027700132195"),
            bik: text("044525225"),
            bank: text("ПАО Сбербанк"),
            correspondent_account: text("30101810400000000225"),
            settlement_account: text("40702810938000000001"),
            legal_address: text("Москва, ул. Вавилова, 19"),
            postal_address: text("Москва, ул. Вавилова, 19"),
            email: text("info@example.ru"),
            phone: text("+74951234567"),
            timezone: text("Europe/Moscow"),
            max_dialogs_per_operator: 3000,
            tariff: text("Бизнес"),
            is_reseller: false,
            credit_limit: Some(100_000),
            balance_threshold: Some(50_000),
            fz230_enabled: true,
            sms_second_factor: true,
            email_is_login: true,
            password_in_email: true,
            is_group_company: true,
            search_text: String::new(),
        },
        version: 1,
        created_at: 0,
        updated_at: 0,
        deleted_at: Some(0),
        deletion_id: None,
        children_count: 0,
    }
}

/// A person with every field filled.
fn sample_user() -> kabinet_store::users::UserRecord {
    let text = |v: &str| Some(v.to_string());
    kabinet_store::users::UserRecord {
        id: 7,
        company_id: 2,
        login: "ipetrov".into(),
        first_name: "Иван".into(),
        last_name: "Петров".into(),
        email: text("ivan@example.ru"),
        kind: "account_admin".into(),
        full_access: false,
        password_hash: text("x"),
        status: "active".into(),
        version: 1,
        card: kabinet_store::users::UserCard {
            patronymic: text("Сергеевич"),
            full_name_ru: text("Петров Иван Сергеевич"),
            full_name_en: text("Ivan Petrov"),
            phone: text("+74951234567"),
            mobile_phone: text("+79161234567"),
            position: text("Директор"),
            may_open_admin_cabinet: true,
            chat_enabled: true,
            must_change_password: false,
            ip_rules: vec!["203.0.113.0/24".into()],
            session_binding: "strict".into(),
            has_avatar: true,
        },
        company_name: "New Ways Company".into(),
        company_path: "/1/2/".into(),
        created_at: 0,
        updated_at: 0,
        deleted_at: Some(0),
        deletion_id: None,
    }
}

/// What a company's flag means, where the name alone does not say it.
fn flag_description(key: &str) -> Option<&'static str> {
    Some(match key {
        "sms_second_factor" => "People of this company confirm sign-in with an SMS code",
        "email_is_login" => "People of this company sign in with their e-mail as the login",
        "is_group_company" => "A group company links client companies that share its INN by their multichannel number (POST /companies/{id}/links); its group admins act on the linked clients",
        "password_in_email" => "New people get their login and a generated password by e-mail, changed at first sign-in, instead of a link to set a password",
        _ => return None,
    })
}

/// A JSON schema for an object, with property types read off a sample value.
fn schema_of(sample: &Value, required: &[&str]) -> Value {
    let mut properties = Map::new();
    if let Some(object) = sample.as_object() {
        for (key, value) in object {
            let schema = match value {
                Value::Bool(_) => match flag_description(key) {
                    Some(description) => json!({"type": "boolean", "description": description}),
                    None => json!({"type": "boolean"}),
                },
                Value::Number(_) if required.contains(&key.as_str()) => json!({"type": "integer"}),
                Value::Number(_) => json!({"type": ["integer", "null"]}),
                Value::String(_) if key == "credit_limit" || key == "balance_threshold" => {
                    json!({"type": ["string", "number", "null"], "description": "Money in roubles: \"1500.50\" or 1500.5"})
                }
                Value::Array(_) => json!({"type": "array", "items": {"type": "string"}}),
                Value::Object(_) => json!({"type": "object"}),
                _ => json!({"type": ["string", "null"]}),
            };
            properties.insert(key.clone(), schema);
        }
    }
    json!({"type": "object", "properties": properties, "required": required})
}

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "total", "total_exact", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
            "total": {"type": "integer", "description": "The number of matches; at least this many where total_exact is false (company lists count up to 1,000)"},
            "total_exact": {"type": "boolean"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "next": {"type": "string", "description": "Company lists: the cursor of the page after this one (pass it as `after`); absent when this page is not full"},
            "sort": {"type": "string", "description": "Company lists: the sort key the page is listed by; the one asked for, except for a search matching more than 2,000 companies (300 for digits only) with no sort chosen, of which the list's scope and filters leave more than 1,000 (300): listed by `id` (the order added)"},
            "dir": {"type": "string", "enum": ["asc", "desc"], "description": "Company lists: the direction the page is listed in"}
        }
    })
}

fn list_parameters() -> Value {
    let sort_keys: Vec<&str> = kabinet_store::companies::CompanySort::ALL
        .iter()
        .map(|(key, _)| *key)
        .collect();
    let text = |name: &str, description: &str| json!({"name": name, "in": "query", "required": false, "description": description, "schema": {"type": "string"}});
    json!([
        text("q", "Words of the name (any fragment), id, account number, INN, or phone digits in any formatting"),
        text("region", "Exact region"),
        text("macroregion", "Exact macroregion"),
        {"name": "reseller", "in": "query", "schema": {"type": "boolean"}},
        {"name": "parent_id", "in": "query", "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX}},
        {"name": "deleted", "in": "query", "schema": {"type": "string", "enum": ["hide", "show", "only"]}},
        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": sort_keys}},
        {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": i64::MAX}},
        {"name": "after", "in": "query", "required": false, "description": "Keyset paging: the `next` of the previous page (same filters and sort); not with offset or page. Every page then costs what the first one does", "schema": {"type": "string", "maxLength": 2048}}
    ])
}

/// The whole document.
pub fn document() -> Value {
    let record = sample_record();
    let company_sample = serde_json::to_value(CompanyDto::from(&record)).unwrap_or_default();
    let input_sample = serde_json::to_value(CompanyInput::from_record(&record)).unwrap_or_default();
    let user = sample_user();
    let user_sample = serde_json::to_value(kabinet_api::UserDto::from(&user)).unwrap_or_default();
    let user_input_sample =
        serde_json::to_value(kabinet_api::UserInput::from_record(&user)).unwrap_or_default();
    let mut paths = Map::new();
    for op in OPERATIONS {
        let mut operation = json!({
            "summary": op.summary,
            "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}'], "_")),
            "responses": {
                op.status.to_string(): match op.response {
                    Some(schema) => json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}}),
                    None => json!({"description": "No content"}),
                },
                "default": {"description": "A problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        if let Some(schema) = op.request {
            let media = if op.method == "patch" {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            operation["requestBody"] = json!({"required": true, "content": {media: {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}});
        }
        let mut parameters = Vec::new();
        let id_schema =
            json!({"type": "integer", "format": "int64", "minimum": 1, "maximum": i64::MAX});
        if op.path.contains("{id}") {
            parameters
                .push(json!({"name": "id", "in": "path", "required": true, "schema": id_schema}));
        }
        if op.path.contains("{client_id}") {
            parameters.push(
                json!({"name": "client_id", "in": "path", "required": true, "schema": id_schema}),
            );
        }
        if op.method == "patch" {
            parameters.push(json!({"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string", "pattern": "^(W/)?\"?[0-9]{1,18}\"?$"}, "description": "The ETag of the version being changed; without it the answer is 428"}));
        }
        if (op.path == "/companies" || op.path == "/companies/{id}/links") && op.method == "get" {
            parameters.extend(list_parameters().as_array().cloned().unwrap_or_default());
        }
        if op.path == "/companies/{id}" && op.method == "delete" {
            parameters
                .push(json!({"name": "cascade", "in": "query", "schema": {"type": "boolean"}}));
        }
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if !PUBLIC_PATHS.contains(&op.path) {
            operation["security"] = json!([{"bearer": []}, {"session": []}]);
        }
        let full = format!("/api/v1{}", op.path);
        paths.entry(full).or_insert_with(|| json!({}))[op.method] = operation;
    }
    add_links(&mut paths);
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {"title": "Kabinet API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "REST API of Kabinet. Authenticate with `Authorization: Bearer <token>` (create tokens in the console or with `kabinet token create`), or with the session cookie plus `X-CSRF-Token` on changes."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "kabinet_session"}
            },
            "schemas": {
                "Company": schema_of(&company_sample, &["id", "name", "version"]),
                "CompanyInput": schema_of(&input_sample, &[]),
                "CompanyPage": page_of("Company"),
                "RegistrationLink": {"type": "object", "properties": {"active": {"type": "boolean"}, "created_at": {"type": ["string", "null"]}, "created_by": {"type": ["integer", "null"]}}},
                "RegistrationLinkCreated": {"type": "object", "properties": {"active": {"type": "boolean"}, "created_at": {"type": "string"}, "created_by": {"type": ["integer", "null"]}, "url": {"type": "string", "description": "The link to hand out; its secret is in the fragment"}}},
                "Registration": {"type": "object", "required": ["secret", "company_name", "inn", "first_name", "last_name", "email"], "properties": {"secret": {"type": "string", "writeOnly": true, "description": "The fragment of the registration link"}, "company_name": {"type": "string", "maxLength": 300}, "inn": {"type": "string", "description": "10 digits (organisation) or 12 (individual), checked by its control digits"}, "first_name": {"type": "string", "maxLength": 100}, "last_name": {"type": "string", "maxLength": 100}, "email": {"type": "string", "format": "email", "description": "The first admin's e-mail: their login, and where the invitation goes"}}},
                "Registered": {"type": "object", "properties": {"company_id": {"type": "integer"}, "company_name": {"type": "string"}, "login": {"type": "string"}, "email": {"type": "string"}}},
                "GroupLinkInput": {"type": "object", "required": ["multichannel_number"], "properties": {"multichannel_number": {"type": "string", "description": "The client's multichannel number, written any usual way (+7 (495) 123-45-67, 8 495 …)"}}},
                "GroupLink": {"type": "object", "properties": {"group_company_id": {"type": "integer"}, "client_company_id": {"type": "integer"}, "created_at": {"type": "string"}, "created_by": {"type": ["integer", "null"]}, "client": {"$ref": "#/components/schemas/Company"}}},
                "User": schema_of(&user_sample, &["id", "login", "first_name", "last_name", "version"]),
                "UserInput": user_input_schema(&user_input_sample),
                "UserPage": page_of("User"),
                "Session": {"type": "object", "properties": {"id": {"type": "string"}, "current": {"type": "boolean"}, "created_at": {"type": "string"}, "last_seen_at": {"type": "string"}, "expires_at": {"type": "string"}, "ip": {"type": ["string", "null"]}, "user_agent": {"type": ["string", "null"]}}},
                "SessionPage": page_of("Session"),
                "RecoverRequest": {"type": "object", "required": ["login"], "properties": {"login": {"type": "string", "description": "Login or e-mail"}}},
                "LinkPassword": {"type": "object", "required": ["token", "new_password"], "properties": {"token": {"type": "string", "writeOnly": true}, "new_password": {"type": "string", "format": "password", "writeOnly": true}}},
                "OutboxEntry": {"type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": "string"}, "topic": {"type": "string"}, "entity_type": {"type": "string"}, "entity_id": {"type": "string"}, "payload": {}, "delivered_at": {"type": ["string", "null"]}, "status": {"type": "string", "enum": ["delivered", "pending", "failed", "recorded"]}, "attempts": {"type": "integer"}, "next_attempt_at": {"type": ["string", "null"]}, "last_error": {"type": ["string", "null"]}, "failed_at": {"type": ["string", "null"]}}},
                "OutboxPage": page_of("OutboxEntry"),
                "IpRules": {"type": "object", "required": ["ip_rules"], "properties": {"ip_rules": {"type": "array", "items": {"type": "string"}, "examples": [["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]]}, "session_binding": {"type": "string", "enum": ["off", "log", "strict"]}}},
                "EnterInput": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 5, "maxLength": 500}, "minutes": {"type": "integer", "minimum": 5, "maximum": 480}, "read_only": {"type": "boolean"}}},
                "Catalog": {"type": "object", "properties": {"sections": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "name_ru": {"type": "string"}, "name_en": {"type": "string"}, "functions": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "name_ru": {"type": "string"}, "name_en": {"type": "string"}}}}}}}}},
                "Department": {"type": "object", "properties": {"id": {"type": "integer"}, "company_id": {"type": "integer"}, "name_ru": {"type": "string"}, "name_en": {"type": "string"}, "schedule": {"type": "object", "properties": {"timezone": {"type": "string"}, "days": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}, "minItems": 2, "maxItems": 2}}}}, "task_language": {"type": "string", "enum": ["ru", "en"]}, "support": {"type": "object"}, "sort_order": {"type": "integer"}, "members_count": {"type": "integer"}, "version": {"type": "integer"}}},
                "DepartmentPage": page_of("Department"),
                "DepartmentInput": {"type": "object", "properties": {"company_id": {"type": "integer"}, "name_ru": {"type": "string", "maxLength": 100}, "name_en": {"type": "string", "maxLength": 100}, "schedule": {"type": "object"}, "task_language": {"type": "string", "enum": ["ru", "en"]}, "support": {"type": "object"}, "sort_order": {"type": "integer"}}},
                "DepartmentRights": {"type": "object", "properties": {"sections": {"type": "array", "items": {"type": "string"}}, "functions": {"type": "array", "items": {"type": "string"}}, "effective": {"type": "array", "items": {"type": "string"}}}},
                "RightsInput": {"type": "object", "required": ["rights"], "properties": {"rights": {"type": "array", "items": {"type": "string"}}}},
                "MembersInput": {"type": "object", "required": ["user_ids"], "properties": {"user_ids": {"type": "array", "items": {"type": "integer"}}}},
                "EffectiveRights": {"type": "object", "properties": {"full_access": {"type": "boolean"}, "rights": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "sources": {"type": "array", "items": {"type": "object"}}}}}, "extra_rights": {"type": "array", "items": {"type": "string"}}}},
                "PasskeyRegistration": {"type": "object", "required": ["ceremony_id", "name", "client_data_json", "attestation_object"], "properties": {"ceremony_id": {"type": "string"}, "name": {"type": "string", "maxLength": 60}, "client_data_json": {"type": "string"}, "attestation_object": {"type": "string"}}},
                "PasskeyAssertion": {"type": "object", "required": ["ceremony_id", "credential_id", "client_data_json", "authenticator_data", "signature"], "properties": {"ceremony_id": {"type": "string"}, "credential_id": {"type": "string"}, "client_data_json": {"type": "string"}, "authenticator_data": {"type": "string"}, "signature": {"type": "string"}, "user_handle": {"type": ["string", "null"]}}},
                "DeviceTrust": {"type": "object", "required": ["pin"], "properties": {"pin": {"type": "string", "pattern": "^[0-9]{4}$", "writeOnly": true}, "name": {"type": "string"}}},
                "Pin": {"type": "object", "required": ["pin"], "properties": {"pin": {"type": "string", "writeOnly": true}}},
                "Resend": {"type": "object", "required": ["challenge"], "properties": {"challenge": {"type": "string", "writeOnly": true}}},
                "SecondFactor": {"type": "object", "required": ["challenge", "code"], "properties": {"challenge": {"type": "string", "writeOnly": true}, "code": {"type": "string", "writeOnly": true}}},
                "Code": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
                "PasswordConfirm": {"type": "object", "required": ["password"], "properties": {"password": {"type": "string", "format": "password", "writeOnly": true}}},
                "PasswordChange": {"type": "object", "required": ["current_password", "new_password"], "properties": {"current_password": {"type": "string", "format": "password", "writeOnly": true}, "new_password": {"type": "string", "format": "password", "writeOnly": true}}},
                "LoginRequest": {"type": "object", "required": ["login", "password"], "properties": {"login": {"type": "string"}, "password": {"type": "string", "format": "password"}}},
                "LoginResponse": {"type": "object", "properties": {"user_id": {"type": "integer"}, "login": {"type": "string"}, "csrf_token": {"type": "string"}}},
                "Me": {"type": "object", "properties": {"user_id": {"type": "integer"}, "login": {"type": "string"}, "name": {"type": "string"}, "company_id": {"type": "integer"}, "company_name": {"type": "string"}, "full_access": {"type": "boolean"}, "functions": {"type": "array", "items": {"type": "string"}}}},
                "Deleted": {"type": "object", "properties": {"deleted_ids": {"type": "array", "items": {"type": "integer"}}}},
                "Restored": {"type": "object", "properties": {"restored_ids": {"type": "array", "items": {"type": "integer"}}}},
                "TokenCreateRequest": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                "Token": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "prefix": {"type": "string"}, "created_at": {"type": "string"}, "last_used_at": {"type": ["string", "null"]}}},
                "TokenPage": page_of("Token"),
                "TokenCreated": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "token": {"type": "string"}}},
                "AuditEntry": {"type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": "string"}, "actor_login": {"type": ["string", "null"]}, "on_behalf_of": {"type": ["string", "null"]}, "action": {"type": "string"}, "entity_type": {"type": "string"}, "entity_id": {"type": ["string", "null"]}, "before": {}, "after": {}, "ip": {"type": ["string", "null"]}, "details": {"type": ["string", "null"]}}},
                "AuditPage": page_of("AuditEntry"),
                "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "code": {"type": "string"}, "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}}}, "current": {}}}
            }
        }
    });
    close_request_schemas(&mut document);
    document
}

/// OpenAPI links from each create (POST on a collection) to the operations
/// on what it made (`/collection/{id}…`), so clients and fuzzers can follow
/// the id in the answer.
fn add_links(paths: &mut Map<String, Value>) {
    let operation_id =
        |method: &str, path: &str| format!("{}{}", method, path.replace(['/', '{', '}'], "_"));
    for create in OPERATIONS
        .iter()
        .filter(|op| op.method == "post" && op.status == 201)
    {
        let (id_expr, prefix, extra) = if create.path.ends_with("/{id}/links") {
            (
                "$response.body#/client_company_id",
                format!("{}/{{client_id}}", create.path),
                Some(("id", "$request.path.id")),
            )
        } else {
            (
                "$response.body#/id",
                format!("{}/{{id}}", create.path),
                None,
            )
        };
        let mut links = Map::new();
        for target in OPERATIONS
            .iter()
            .filter(|op| op.path == prefix || op.path.starts_with(&format!("{prefix}/")))
        {
            let mut parameters = Map::new();
            let name = if extra.is_some() { "client_id" } else { "id" };
            parameters.insert(name.into(), json!(id_expr));
            if let Some((key, expr)) = extra {
                parameters.insert(key.into(), json!(expr));
            }
            let target_id = operation_id(target.method, target.path);
            links.insert(
                target_id.clone(),
                json!({"operationId": target_id, "parameters": parameters}),
            );
        }
        if links.is_empty() {
            continue;
        }
        let full = format!("/api/v1{}", create.path);
        if let Some(response) = paths
            .get_mut(&full)
            .and_then(|p| p.get_mut(create.method))
            .and_then(|o| o.get_mut("responses"))
            .and_then(|r| r.get_mut("201"))
        {
            response["links"] = Value::Object(links);
        }
    }
}

/// A person's input: the card's fields plus the write-only password ones.
fn user_input_schema(sample: &Value) -> Value {
    let mut schema = schema_of(sample, &[]);
    schema["properties"]["password"] = json!({"type": "string", "format": "password", "writeOnly": true, "minLength": kabinet_domain::user::PASSWORD_MIN, "maxLength": kabinet_domain::user::PASSWORD_MAX});
    schema["properties"]["generate_password"] = json!({"type": "boolean", "writeOnly": true});
    schema
}

/// Request bodies are read strictly (an unknown field is refused, ASVS
/// 5.1.2), so their schemas say so; new passwords carry their length limits.
fn close_request_schemas(document: &mut Value) {
    let mut names: Vec<&str> = OPERATIONS.iter().filter_map(|op| op.request).collect();
    names.sort_unstable();
    names.dedup();
    let schemas = &mut document["components"]["schemas"];
    for name in names {
        let schema = &mut schemas[name];
        if schema.get("type").and_then(Value::as_str) == Some("object") {
            schema["additionalProperties"] = Value::Bool(false);
        }
        for field in ["new_password"] {
            if let Some(property) = schema["properties"].get_mut(field) {
                property["minLength"] = json!(kabinet_domain::user::PASSWORD_MIN);
                property["maxLength"] = json!(kabinet_domain::user::PASSWORD_MAX);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_schema_has_every_field() {
        let doc = document();
        let properties = &doc["components"]["schemas"]["Company"]["properties"];
        for field in [
            "name",
            "inns",
            "kpp",
            "ogrn",
            "bik",
            "correspondent_account",
            "settlement_account",
            "phones",
            "is_reseller",
            "sms_second_factor",
            "email_is_login",
            "password_in_email",
            "version",
        ] {
            assert!(properties.get(field).is_some(), "{field} missing");
        }
        assert_eq!(properties["email_is_login"]["type"], "boolean");
        assert!(properties["password_in_email"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("generated password")));
        let input = &doc["components"]["schemas"]["CompanyInput"]["properties"];
        assert!(input.get("sms_second_factor").is_some());
        assert_eq!(properties["inns"]["type"], "array");
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
