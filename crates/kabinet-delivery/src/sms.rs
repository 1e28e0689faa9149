//! SMS through a generic HTTP gateway: the address, method, headers and body
//! template come from configuration, so most gateways need no code.
//!
//! The template placeholders `{to}` (E.164, with `+`) and `{text}` are
//! replaced in the URL (percent-encoded) and in the body (escaped for its
//! content type: JSON string content, form encoding, or as is).

use std::time::Duration;

use reqwest::Method;

use crate::SendError;

#[derive(Clone)]
pub struct SmsGatewaySettings {
    /// For example `https://sms.example.com/send?to={to}`.
    pub url: String,
    /// `POST` (default), `GET` or `PUT`.
    pub method: String,
    /// Extra headers, for example `Authorization: Bearer …`.
    pub headers: Vec<(String, String)>,
    /// The body, for example `{"phone":"{to}","message":"{text}"}`; none for GET.
    pub body_template: Option<String>,
    /// The body's content type (default `application/json`).
    pub content_type: String,
}

impl std::fmt::Debug for SmsGatewaySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values hold credentials: only their names are shown.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("SmsGatewaySettings")
            .field("url", &self.url.split('?').next().unwrap_or(""))
            .field("method", &self.method)
            .field("headers", &names)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// Parses a `Name: value` header line from configuration.
pub fn parse_header(line: &str) -> Result<(String, String), String> {
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| "an SMS gateway header must look like `Name: value`".to_string())?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("SMS gateway header name {name:?} is not valid"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

pub(crate) struct SmsSender {
    client: reqwest::Client,
    settings: SmsGatewaySettings,
    method: Method,
}

impl SmsSender {
    pub(crate) fn new(settings: &SmsGatewaySettings) -> Result<Self, String> {
        let method = match settings.method.to_ascii_uppercase().as_str() {
            "POST" => Method::POST,
            "GET" => Method::GET,
            "PUT" => Method::PUT,
            other => {
                return Err(format!(
                    "SMS gateway method {other:?}: use POST, GET or PUT"
                ))
            }
        };
        if !(settings.url.starts_with("http://") || settings.url.starts_with("https://")) {
            return Err("the SMS gateway URL must start with http:// or https://".into());
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("SMS gateway client: {e}"))?;
        Ok(Self {
            client,
            settings: settings.clone(),
            method,
        })
    }

    pub(crate) async fn send(&self, to: &str, text: &str) -> Result<(), SendError> {
        let url = fill(&self.settings.url, to, text, percent_encode);
        let mut request = self.client.request(self.method.clone(), &url);
        for (name, value) in &self.settings.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(template) = &self.settings.body_template {
            let content_type = self.settings.content_type.to_ascii_lowercase();
            let body = if content_type.contains("json") {
                fill(template, to, text, json_escape)
            } else if content_type.contains("x-www-form-urlencoded") {
                fill(template, to, text, percent_encode)
            } else {
                fill(template, to, text, str::to_string)
            };
            request = request
                .header("Content-Type", self.settings.content_type.as_str())
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("SMS gateway: {}", without_url(&e))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let detail = format!("SMS gateway answered {status}");
        if status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429 {
            Err(SendError::Permanent(detail))
        } else {
            Err(SendError::Transient(detail))
        }
    }
}

/// The error without the URL, which may carry a gateway key in its query.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "(gateway)");
    }
    text
}

fn fill(template: &str, to: &str, text: &str, escape: fn(&str) -> String) -> String {
    template
        .replace("{to}", &escape(to))
        .replace("{text}", &escape(text))
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_escaped_for_where_they_go() {
        let text = "Код: 123 \"ok\" & done";
        assert_eq!(
            fill("https://g/send?to={to}&m={text}", "+79001234567", text, percent_encode),
            "https://g/send?to=%2B79001234567&m=%D0%9A%D0%BE%D0%B4%3A%20123%20%22ok%22%20%26%20done"
        );
        assert_eq!(
            fill(
                r#"{"to":"{to}","text":"{text}"}"#,
                "+7900",
                text,
                json_escape
            ),
            r#"{"to":"+7900","text":"Код: 123 \"ok\" & done"}"#
        );
    }

    #[test]
    fn headers_are_parsed_and_checked() {
        assert_eq!(
            parse_header("Authorization: Bearer abc:def").unwrap(),
            ("Authorization".to_string(), "Bearer abc:def".to_string())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
    }

    #[test]
    fn debug_output_hides_credentials() {
        let settings = SmsGatewaySettings {
            url: "https://g/send?key=SECRET".into(),
            method: "POST".into(),
            headers: vec![("Authorization".into(), "Bearer SECRET".into())],
            body_template: None,
            content_type: "application/json".into(),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("Authorization"));
    }
}
