//! Request context: cookies, client address, language, and the signed-in
//! actor for the API and for the console.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kabinet_service::{Actor, Origin, ServiceError};

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::AppState;

pub const SESSION_COOKIE: &str = "kabinet_session";
pub const LANG_COOKIE: &str = "kabinet_lang";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The console's act-as credential while inside a client's cabinet (M4).
pub const ACT_COOKIE: &str = "kabinet_act";

/// The value of a cookie from the request, if present.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|header| {
            header.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                (key == name).then(|| value.to_string())
            })
        })
}

/// The cookies that carry a credential (the session, the act-as grant, a
/// trusted device). Behind TLS they travel as `__Host-…` (ASVS 3.4.4):
/// browsers keep such a cookie only with `Secure`, `Path=/` and no
/// `Domain`, so no other host (a sibling subdomain, a plain-HTTP page)
/// can set or shadow it.
const CREDENTIAL_COOKIES: [&str; 3] = [
    SESSION_COOKIE,
    ACT_COOKIE,
    crate::api_factors::DEVICE_COOKIE,
];

/// The name a cookie travels under: see [`CREDENTIAL_COOKIES`].
pub fn cookie_name(name: &str, secure: bool) -> String {
    if secure && CREDENTIAL_COOKIES.contains(&name) {
        format!("__Host-{name}")
    } else {
        name.to_string()
    }
}

/// The value of a credential cookie, under the name it has with the
/// server's settings (only the `__Host-` one behind TLS).
pub fn credential_cookie(parts: &Parts, state: &AppState, name: &str) -> Option<String> {
    cookie(parts, &cookie_name(name, state.http.secure_cookies))
}

/// A `Set-Cookie` value. Session cookies are `HttpOnly` and `SameSite=Lax`,
/// and `Secure` (with the `__Host-` prefix for credentials) when the server
/// is configured as running behind TLS.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_seconds: Option<i64>,
    http_only: bool,
    secure: bool,
) -> String {
    let name = cookie_name(name, secure);
    let mut cookie = format!("{name}={value}; Path=/; SameSite=Lax");
    if let Some(age) = max_age_seconds {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The client's address: the socket peer, or the last `X-Forwarded-For`
/// hop when the peer is a configured trusted proxy.
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if state.http.trusted_proxies.contains(&peer) {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return Some(ip);
        }
    }
    Some(peer)
}

pub fn origin(parts: &Parts, state: &AppState) -> Origin {
    Origin {
        ip: client_ip(parts, state).map(|ip| ip.to_string()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(300).collect()),
    }
}

pub fn lang_of(parts: &Parts) -> Lang {
    cookie(parts, LANG_COOKIE)
        .and_then(|c| Lang::parse(&c))
        .or_else(|| {
            parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or_default()
}

/// Compares secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The reader's language, for handlers that need nothing else.
pub struct Language(pub Lang);

impl FromRequestParts<AppState> for Language {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Language(lang_of(parts)))
    }
}

/// Where the request came from.
pub struct RequestOrigin(pub Origin);

impl FromRequestParts<AppState> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin(origin(parts, state)))
    }
}

/// An API caller: a bearer token, or a session cookie. Requests that change
/// state with a session cookie must carry the session's CSRF token in
/// `X-CSRF-Token`; bearer tokens are not sent by browsers on their own, so
/// they need none.
#[derive(Clone)]
pub struct ApiCtx {
    pub actor: Actor,
    pub lang: Lang,
    pub session_secret: Option<String>,
}

impl FromRequestParts<AppState> for ApiCtx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The access guard authenticated this request already: taken, not
        // copied (a handler extracts it once; a second extraction would
        // authenticate again).
        if let Some(ctx) = parts.extensions.remove::<ApiCtx>() {
            return Ok(ctx);
        }
        let lang = lang_of(parts);
        let origin = origin(parts, state);
        let services = &state.services;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|v| v.trim().to_string());
        if let Some(token) = bearer {
            let actor = services
                .authenticate_token(&token, &origin)
                .await
                .map_err(|e| ApiError::from_service(e, lang))?;
            return Ok(ApiCtx {
                actor,
                lang,
                session_secret: None,
            });
        }
        let Some(secret) = credential_cookie(parts, state, SESSION_COOKIE) else {
            return Err(ApiError::from_service(ServiceError::Unauthenticated, lang));
        };
        let (mut actor, csrf) = services
            .authenticate_session(&secret, &origin)
            .await
            .map_err(|e| ApiError::from_service(e, lang))?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            actor.read_epochs = None;
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_secret(sent, &csrf) {
                let mut error = ApiError::new(StatusCode::FORBIDDEN, "csrf");
                error.lang = lang;
                return Err(error);
            }
        }
        Ok(ApiCtx {
            actor,
            lang,
            session_secret: Some(secret),
        })
    }
}

/// A signed-in console user. Without a session the browser is sent to the
/// sign-in page and comes back afterwards.
#[derive(Clone)]
pub struct ConsoleCtx {
    pub actor: Actor,
    pub lang: Lang,
    pub csrf: String,
    pub session_secret: String,
    pub path: String,
}

/// Why a console page is not shown: no session (to the sign-in page, and
/// back afterwards), or the person's landing page is another one.
pub enum ToLogin {
    SignIn(String),
    Landing(&'static str),
}

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        match self {
            ToLogin::SignIn(path) => {
                Redirect::to(&format!("/login?next={}", url_encode(&path))).into_response()
            }
            ToLogin::Landing(path) => Redirect::to(path).into_response(),
        }
    }
}

/// A group admin lands on their linked clients (M1): the plain company
/// list, where sign-in and `/` lead, sends them to `/group` (which shows
/// the same clients with the link form). With any parameter the company
/// list itself is shown.
const GROUP_LANDING: &str = "/group";

impl FromRequestParts<AppState> for ConsoleCtx {
    type Rejection = ToLogin;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The console's access guard authenticated this request already.
        if let Some(ctx) = parts.extensions.get::<ConsoleCtx>() {
            return Ok(ctx.clone());
        }
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let lang = lang_of(parts);
        let origin = origin(parts, state);
        let Some(secret) = credential_cookie(parts, state, SESSION_COOKIE) else {
            return Err(ToLogin::SignIn(path));
        };
        match state.services.authenticate_session(&secret, &origin).await {
            Ok((actor, _))
                if actor.group_company_id.is_some()
                    && parts.method == Method::GET
                    && path == "/companies" =>
            {
                Err(ToLogin::Landing(GROUP_LANDING))
            }
            Ok((mut actor, csrf)) => {
                // Only a page that writes nothing answers from memory at the
                // epochs read with the session (see `authenticate_session`).
                if !matches!(parts.method, Method::GET | Method::HEAD) {
                    actor.read_epochs = None;
                }
                // Inside a client's cabinet (M4): the act-as cookie narrows
                // the actor; an expired or ended one is simply ignored.
                let actor = match credential_cookie(parts, state, ACT_COOKIE) {
                    Some(act) => match state.services.act_as(actor.clone(), &act).await {
                        Ok(inside) => inside,
                        Err(_) => actor,
                    },
                    None => actor,
                };
                Ok(ConsoleCtx {
                    actor,
                    lang,
                    csrf,
                    session_secret: secret,
                    path,
                })
            }
            Err(_) => Err(ToLogin::SignIn(path)),
        }
    }
}

/// A query parameter as a filter value: control characters (a NUL byte,
/// which PostgreSQL refuses in text) become U+FFFD, which no stored value
/// holds, so such a filter matches nothing instead of failing.
pub fn filter_text(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Percent-encodes a query parameter value.
pub fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A local path to return to after sign-in; anything else becomes `/`, so
/// the sign-in page cannot be used to send people to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/companies".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_kept_local() {
        assert_eq!(safe_next(Some("/companies?q=a")), "/companies?q=a");
        assert_eq!(safe_next(Some("//evil.example")), "/companies");
        assert_eq!(safe_next(Some("https://evil.example")), "/companies");
        assert_eq!(safe_next(Some("/\\evil.example")), "/companies");
        assert_eq!(safe_next(None), "/companies");
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
