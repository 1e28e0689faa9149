//! Real peers for message delivery: an SMTP server process (Python's
//! aiosmtpd, installed on first use from `python/requirements.txt`) and an
//! HTTP server standing in for an SMS gateway. Tests assert on what they
//! received.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use kabinet_delivery::{SmsGatewaySettings, SmtpSecurity, SmtpSettings};
use serde_json::Value;

const SMTP_SINK: &str = include_str!("../python/smtp_sink.py");
const REQUIREMENTS: &str = include_str!("../python/requirements.txt");

fn python() -> String {
    std::env::var("KABINET_TEST_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// Makes sure aiosmtpd and trustme are importable, installing them with pip
/// once if not (the test set-up installs what it needs).
fn ensure_python_tools() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let importable = || {
            Command::new(python())
                .args(["-c", "import aiosmtpd, trustme"])
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if importable() {
            return;
        }
        let requirements = std::env::temp_dir().join("kabinet-test-requirements.txt");
        std::fs::write(&requirements, REQUIREMENTS).expect("write requirements");
        let status = Command::new(python())
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements)
            .status()
            .expect("run pip");
        assert!(
            status.success() && importable(),
            "cannot install the Python test servers (aiosmtpd, trustme) with {} -m pip",
            python()
        );
    });
}

/// A message the SMTP server accepted, decoded.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub subject: String,
    pub text: String,
    /// The login the client authenticated with, if any.
    pub auth_login: Option<String>,
    /// Whether the session was encrypted.
    pub tls: bool,
}

/// How the test SMTP server is set up.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    pub security: SmtpSecurity,
    pub credentials: Option<(String, String)>,
    /// The first this many messages get a temporary failure (451).
    pub fail_first: usize,
}

impl Default for SinkOptions {
    fn default() -> Self {
        Self {
            security: SmtpSecurity::None,
            credentials: None,
            fail_first: 0,
        }
    }
}

/// A running aiosmtpd process on a loopback port.
pub struct SmtpSink {
    pub port: u16,
    options: SinkOptions,
    ca_pem: Option<Vec<u8>>,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    child: Child,
    stdin: Option<ChildStdin>,
    dir: std::path::PathBuf,
}

impl SmtpSink {
    pub fn start(options: SinkOptions) -> SmtpSink {
        ensure_python_tools();
        let dir = std::env::temp_dir().join(format!("kabinet-smtp-{}", crate::random_suffix()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let script = dir.join("smtp_sink.py");
        std::fs::write(&script, SMTP_SINK).expect("write smtp_sink.py");
        let ca_out = dir.join("ca.pem");
        let mut command = Command::new(python());
        command
            .arg(&script)
            .arg("--security")
            .arg(match options.security {
                SmtpSecurity::None => "none",
                SmtpSecurity::StartTls => "starttls",
                SmtpSecurity::Tls => "tls",
            })
            .arg("--ca-out")
            .arg(&ca_out)
            .arg("--fail-first")
            .arg(options.fail_first.to_string());
        if let Some((user, password)) = &options.credentials {
            command.args(["--user", user, "--password", password]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP test server");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines
            .next()
            .expect("the SMTP test server said nothing")
            .expect("read");
        let port: u16 = first
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the SMTP test server said {first:?}"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).expect("a JSON line");
                let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                sink.lock().unwrap().push(ReceivedMail {
                    mail_from: text("mail_from"),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                    subject: text("subject"),
                    text: text("text"),
                    auth_login: v["auth_login"].as_str().map(String::from),
                    tls: v["tls"].as_bool().unwrap_or(false),
                });
            }
        });
        let ca_pem = (options.security != SmtpSecurity::None)
            .then(|| std::fs::read(&ca_out).expect("the test CA"));
        SmtpSink {
            port,
            options,
            ca_pem,
            received,
            child,
            stdin,
            dir,
        }
    }

    /// SMTP settings that reach this server and trust its CA.
    pub fn settings(&self) -> SmtpSettings {
        SmtpSettings {
            host: "localhost".to_string(),
            port: self.port,
            security: self.options.security,
            user: self.options.credentials.as_ref().map(|c| c.0.clone()),
            password: self.options.credentials.as_ref().map(|c| c.1.clone()),
            from: "Kabinet <noreply@kabinet.test>".to_string(),
            extra_root_pem: self.ca_pem.clone(),
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` messages arrived (or panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<ReceivedMail> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            assert!(
                started.elapsed() < within,
                "expected {count} messages at the SMTP server within {within:?}, got {}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One request the SMS gateway received.
#[derive(Debug, Clone)]
pub struct GatewayCall {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl GatewayCall {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on a loopback port standing in for an SMS gateway: it
/// records every call and answers 503 to the first `fail_first`, 200 after.
pub struct SmsGatewayStub {
    pub base: String,
    calls: Arc<Mutex<Vec<GatewayCall>>>,
    server: tokio::task::JoinHandle<()>,
}

impl SmsGatewayStub {
    pub async fn start(fail_first: usize) -> SmsGatewayStub {
        use axum::http::{Request, StatusCode};
        let calls = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(fail_first));
        let recorded = Arc::clone(&calls);
        let app = axum::Router::new().fallback(move |request: Request<axum::body::Body>| {
            let recorded = Arc::clone(&recorded);
            let failures = Arc::clone(&failures);
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                recorded.lock().unwrap().push(GatewayCall {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    headers: parts
                        .headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect(),
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                let mut left = failures.lock().unwrap();
                if *left > 0 {
                    *left -= 1;
                    (StatusCode::SERVICE_UNAVAILABLE, "busy")
                } else {
                    (StatusCode::OK, "{\"status\":\"queued\"}")
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SmsGatewayStub {
            base: format!("http://{address}"),
            calls,
            server,
        }
    }

    /// Gateway settings in the style of a typical JSON gateway.
    pub fn settings(&self) -> SmsGatewaySettings {
        SmsGatewaySettings {
            url: format!("{}/send?sender=Kabinet", self.base),
            method: "POST".to_string(),
            headers: vec![(
                "Authorization".to_string(),
                "Bearer gateway-key".to_string(),
            )],
            body_template: Some(r#"{"phone":"{to}","message":"{text}"}"#.to_string()),
            content_type: "application/json".to_string(),
        }
    }

    pub fn calls(&self) -> Vec<GatewayCall> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until `count` calls arrived (or panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<GatewayCall> {
        let started = Instant::now();
        loop {
            let got = self.calls();
            if got.len() >= count {
                return got;
            }
            assert!(
                started.elapsed() < within,
                "expected {count} calls at the SMS gateway within {within:?}, got {}: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmsGatewayStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}
