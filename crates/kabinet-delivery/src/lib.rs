//! Delivery of the outbox's e-mail and SMS: a background worker that sends
//! what is due, retries with growing delays, and gives up only on a
//! permanent error or after [`MAX_ATTEMPTS`].
//!
//! Messages are written to the outbox in the same transaction as the change
//! that causes them, so a stopped server loses nothing: the next start sends
//! what is left. A message is claimed for one attempt with a lease, so two
//! nodes never send it at the same time; a node that dies mid-send leaves the
//! lease to expire and the message is sent again (at least once).
//!
//! Without SMTP or an SMS gateway configured (the embedded default), that
//! kind of message stays in the outbox and admins read it on the Outbox page.

mod email;
mod sms;

use std::time::Duration;

use kabinet_store::outbox::{self, OutboxEntry};
use kabinet_store::{commit, Store};
use tokio::sync::watch;

pub use email::{SmtpSecurity, SmtpSettings};
pub use sms::{parse_header as parse_sms_header, SmsGatewaySettings};

/// After this many failed attempts a message is given up.
pub const MAX_ATTEMPTS: i64 = 12;
/// How long one attempt may hold a message.
const LEASE_MS: i64 = 120_000;
/// How many messages one round takes per kind.
const BATCH: i64 = 20;

/// What the worker delivers, and how often it looks.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub smtp: Option<SmtpSettings>,
    pub sms: Option<SmsGatewaySettings>,
    /// How often the outbox is polled.
    pub poll_interval: Duration,
    /// The first retry waits this long; each next one twice as long, up to an hour.
    pub first_retry: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            smtp: None,
            sms: None,
            poll_interval: Duration::from_secs(1),
            first_retry: Duration::from_secs(30),
        }
    }
}

impl DeliverySettings {
    pub fn is_enabled(&self) -> bool {
        self.smtp.is_some() || self.sms.is_some()
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another try later (a network error, a 4xx SMTP reply, a 5xx HTTP reply).
    Transient(String),
    /// Will fail again the same way (a rejected address, a malformed message).
    Permanent(String),
}

impl SendError {
    fn text(&self) -> &str {
        match self {
            SendError::Transient(t) | SendError::Permanent(t) => t,
        }
    }
}

/// The senders built once from the settings.
pub struct Deliverer {
    email: Option<email::EmailSender>,
    sms: Option<sms::SmsSender>,
    first_retry_ms: i64,
}

impl Deliverer {
    pub fn new(settings: &DeliverySettings) -> Result<Self, String> {
        Ok(Self {
            email: settings
                .smtp
                .as_ref()
                .map(email::EmailSender::new)
                .transpose()?,
            sms: settings.sms.as_ref().map(sms::SmsSender::new).transpose()?,
            first_retry_ms: settings.first_retry.as_millis() as i64,
        })
    }

    /// One round: sends everything due now. Returns how many messages were
    /// attempted.
    pub async fn run_once(&self, store: &Store) -> Result<usize, kabinet_store::StoreError> {
        let mut attempted = 0;
        if self.email.is_some() {
            attempted += self.deliver_topic(store, "email").await?;
        }
        if self.sms.is_some() {
            attempted += self.deliver_topic(store, "sms").await?;
        }
        Ok(attempted)
    }

    async fn deliver_topic(
        &self,
        store: &Store,
        topic: &str,
    ) -> Result<usize, kabinet_store::StoreError> {
        let due = {
            let mut conn = store.reader().await?;
            outbox::due(&mut conn, topic, now_ms(), BATCH).await?
        };
        let mut attempted = 0;
        for entry in due {
            let now = now_ms();
            {
                let mut tx = store.begin().await?;
                let claimed = outbox::claim(&mut tx, entry.id, now, now + LEASE_MS).await?;
                commit(tx).await?;
                if !claimed {
                    continue;
                }
            }
            attempted += 1;
            let outcome = self.send(&entry).await;
            let mut tx = store.begin().await?;
            match outcome {
                Ok(()) => {
                    outbox::mark_delivered(&mut tx, entry.id, now_ms()).await?;
                    if let Some(redacted) = redacted_payload(&entry.payload) {
                        outbox::redact(&mut tx, entry.id, &redacted).await?;
                    }
                    tracing::info!(id = entry.id, topic, "message delivered");
                }
                Err(error) => {
                    let attempts = entry.attempts + 1;
                    let give_up =
                        matches!(error, SendError::Permanent(_)) || attempts >= MAX_ATTEMPTS;
                    tracing::warn!(
                        id = entry.id,
                        topic,
                        attempts,
                        give_up,
                        error = error.text(),
                        "delivery failed"
                    );
                    if give_up {
                        outbox::mark_failed(&mut tx, entry.id, now_ms(), error.text()).await?;
                    } else {
                        let next = now_ms() + backoff_ms(self.first_retry_ms, attempts);
                        outbox::mark_retry(&mut tx, entry.id, next, error.text()).await?;
                    }
                }
            }
            commit(tx).await?;
        }
        Ok(attempted)
    }

    async fn send(&self, entry: &OutboxEntry) -> Result<(), SendError> {
        let payload: serde_json::Value = serde_json::from_str(&entry.payload)
            .map_err(|e| SendError::Permanent(format!("payload is not JSON: {e}")))?;
        let field = |name: &str| {
            payload
                .get(name)
                .and_then(|v| v.as_str())
                .ok_or_else(|| SendError::Permanent(format!("payload has no {name}")))
        };
        match entry.topic.as_str() {
            "email" => match &self.email {
                Some(sender) => {
                    sender
                        .send(field("to")?, field("subject")?, field("text")?)
                        .await
                }
                None => Err(SendError::Transient("SMTP is not configured".into())),
            },
            "sms" => match &self.sms {
                Some(sender) => sender.send(field("to")?, field("text")?).await,
                None => Err(SendError::Transient("no SMS gateway is configured".into())),
            },
            other => Err(SendError::Permanent(format!(
                "no delivery for topic {other}"
            ))),
        }
    }
}

/// A message marked `"sensitive": true` (a sign-in code) keeps only its
/// recipient once delivered: admins reading the outbox never see the code.
fn redacted_payload(payload: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(payload).ok()?;
    if value.get("sensitive") != Some(&serde_json::Value::Bool(true)) {
        return None;
    }
    value["text"] = serde_json::Value::String(
        "(текст удалён после доставки: в нём был секрет / text removed after delivery: it held a secret)".to_string(),
    );
    Some(value.to_string())
}

/// The wait before attempt `attempts + 1`: the first retry, doubled for each
/// further failure, at most an hour.
pub fn backoff_ms(first_retry_ms: i64, attempts: i64) -> i64 {
    let doublings = (attempts - 1).clamp(0, 20) as u32;
    first_retry_ms
        .saturating_mul(1_i64 << doublings)
        .min(3_600_000)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Starts the worker. It stops after its current message when `shutdown`
/// turns true.
pub fn spawn(
    store: Store,
    settings: DeliverySettings,
    mut shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let deliverer = Deliverer::new(&settings)?;
    Ok(tokio::spawn(async move {
        if !settings.is_enabled() {
            return;
        }
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(error) = deliverer.run_once(&store).await {
                tracing::error!(%error, "outbox delivery round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(settings.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_at_an_hour() {
        assert_eq!(backoff_ms(30_000, 1), 30_000);
        assert_eq!(backoff_ms(30_000, 2), 60_000);
        assert_eq!(backoff_ms(30_000, 3), 120_000);
        assert_eq!(backoff_ms(30_000, 8), 3_600_000);
        assert_eq!(backoff_ms(30_000, 1000), 3_600_000);
    }
}
