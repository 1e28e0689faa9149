//! E-mail over SMTP: implicit TLS, STARTTLS, or plain (for a local relay),
//! with optional authentication and an extra trusted root certificate.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::SendError;

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (usually port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    StartTls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tls" | "ssl" | "smtps" => Ok(SmtpSecurity::Tls),
            "starttls" => Ok(SmtpSecurity::StartTls),
            "none" | "plain" => Ok(SmtpSecurity::None),
            other => Err(format!(
                "unknown SMTP security {other:?}: use tls, starttls or none"
            )),
        }
    }
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The sender, for example `Kabinet <noreply@example.com>`.
    pub from: String,
    /// PEM of an extra root certificate to trust (a private CA).
    pub extra_root_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

pub(crate) struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl EmailSender {
    pub(crate) fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("SMTP sender {:?} is not an address: {e}", settings.from))?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .timeout(Some(Duration::from_secs(20)));
        if settings.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(settings.host.clone());
            if let Some(pem) = &settings.extra_root_pem {
                let certificate = Certificate::from_pem(pem)
                    .map_err(|e| format!("SMTP root certificate: {e}"))?;
                tls = tls.add_root_certificate(certificate);
            }
            let tls = tls
                .build_rustls()
                .map_err(|e| format!("SMTP TLS settings: {e}"))?;
            builder = builder.tls(match settings.security {
                SmtpSecurity::Tls => Tls::Wrapper(tls),
                _ => Tls::Required(tls),
            });
        }
        if let (Some(user), Some(password)) = (&settings.user, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    pub(crate) async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Permanent(format!("recipient {to:?}: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_string())
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => {
                Err(SendError::Permanent(format!("SMTP: {error}")))
            }
            Err(error) => Err(SendError::Transient(format!("SMTP: {error}"))),
        }
    }
}
