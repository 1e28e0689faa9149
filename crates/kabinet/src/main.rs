//! The `kabinet` command: the server and its administration tools.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use kabinet_server::{AppState, HttpSettings, Metrics};
use kabinet_service::demo::{DemoPhase, DemoPlan, DEMO_PASSWORD};
use kabinet_service::{ServiceSettings, Services};
use kabinet_store::Store;

#[derive(Parser)]
#[command(
    name = "kabinet",
    version,
    about = "Kabinet: a self-hosted back office for B2B service providers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives; every subcommand that touches data takes these.
#[derive(Args, Clone)]
struct DataArgs {
    /// Directory of the embedded SQLite database and other local data.
    #[arg(long, env = "KABINET_DATA_DIR", default_value = "./kabinet-data")]
    data_dir: PathBuf,
    /// A database URL (`postgres://user@host/db`); overrides the SQLite file in --data-dir.
    #[arg(long, env = "KABINET_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs migrations, creates the provider and `admin` on first start, and serves HTTP.
    Serve(Box<ServeArgs>),
    /// Applies database migrations and exits.
    Migrate {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Administration of people.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Prints the OpenAPI document of the REST API.
    Openapi,
    /// Writes a consistent copy of the live SQLite database.
    Backup {
        #[command(flatten)]
        data: DataArgs,
        /// File to write (must not exist).
        #[arg(long)]
        output: PathBuf,
    },
    /// Fills the database with realistic demo companies.
    Demo {
        #[command(flatten)]
        data: DataArgs,
        /// How many companies to add.
        #[arg(long, default_value_t = 1000)]
        companies: u64,
        /// Seed of the generator, for reproducible data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on.
    #[arg(long, env = "KABINET_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Name of the provider company created on first start.
    #[arg(long, default_value = "Provider")]
    provider_name: String,
    /// Mark cookies Secure (set when served over HTTPS).
    #[arg(long, env = "KABINET_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Proxy addresses whose X-Forwarded-For is trusted (comma-separated).
    #[arg(long, env = "KABINET_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The address people open the console at, used in e-mailed links
    /// (default: http:// and the listen address).
    #[arg(long, env = "KABINET_PUBLIC_URL")]
    public_url: Option<String>,
    /// Days a deleted company stays restorable before it is purged.
    #[arg(long, env = "KABINET_RETENTION_DAYS", default_value_t = 365)]
    retention_days: i64,
    /// Seconds requests in flight get to finish after SIGTERM or Ctrl-C;
    /// then the server stops without them (a client that never finishes its
    /// request cannot keep it running).
    #[arg(long, env = "KABINET_SHUTDOWN_GRACE", default_value_t = 25)]
    shutdown_grace: u64,
    #[command(flatten)]
    delivery: DeliveryArgs,
}

/// Where e-mail and SMS go. Without them messages stay in the outbox, where
/// admins read them on the Outbox page.
#[derive(Args, Clone)]
struct DeliveryArgs {
    /// SMTP server for e-mail.
    #[arg(long, env = "KABINET_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default: 465 for tls, 587 for starttls, 25 for none).
    #[arg(long, env = "KABINET_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// tls (from the first byte), starttls (required), or none (a local relay only).
    #[arg(long, env = "KABINET_SMTP_SECURITY", default_value = "starttls")]
    smtp_security: kabinet_delivery::SmtpSecurity,
    #[arg(long, env = "KABINET_SMTP_USER")]
    smtp_user: Option<String>,
    #[arg(long, env = "KABINET_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// The sender of e-mail.
    #[arg(
        long,
        env = "KABINET_SMTP_FROM",
        default_value = "Kabinet <noreply@localhost>"
    )]
    smtp_from: String,
    /// A PEM root certificate to trust besides the public ones (a private CA).
    #[arg(long, env = "KABINET_SMTP_CA_FILE")]
    smtp_ca_file: Option<PathBuf>,
    /// SMS gateway URL; `{to}` and `{text}` are replaced (percent-encoded).
    #[arg(long, env = "KABINET_SMS_GATEWAY_URL", hide_env_values = true)]
    sms_gateway_url: Option<String>,
    /// POST, GET or PUT.
    #[arg(long, env = "KABINET_SMS_GATEWAY_METHOD", default_value = "POST")]
    sms_gateway_method: String,
    /// A header sent to the gateway, `Name: value` (repeat the option; in the
    /// environment, one per line).
    #[arg(
        long = "sms-gateway-header",
        env = "KABINET_SMS_GATEWAY_HEADERS",
        value_delimiter = '\n',
        hide_env_values = true
    )]
    sms_gateway_headers: Vec<String>,
    /// Body template, for example `{"phone":"{to}","message":"{text}"}`.
    #[arg(long, env = "KABINET_SMS_GATEWAY_BODY")]
    sms_gateway_body: Option<String>,
    #[arg(
        long,
        env = "KABINET_SMS_GATEWAY_CONTENT_TYPE",
        default_value = "application/json"
    )]
    sms_gateway_content_type: String,
}

impl DeliveryArgs {
    fn settings(&self) -> anyhow::Result<kabinet_delivery::DeliverySettings> {
        use kabinet_delivery::{SmsGatewaySettings, SmtpSecurity, SmtpSettings};
        let smtp = match &self.smtp_host {
            None => None,
            Some(host) => Some(SmtpSettings {
                host: host.clone(),
                port: self.smtp_port.unwrap_or(match self.smtp_security {
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::StartTls => 587,
                    SmtpSecurity::None => 25,
                }),
                security: self.smtp_security,
                user: self.smtp_user.clone(),
                password: self.smtp_password.clone(),
                from: self.smtp_from.clone(),
                extra_root_pem: match &self.smtp_ca_file {
                    Some(path) => Some(
                        std::fs::read(path)
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    ),
                    None => None,
                },
            }),
        };
        let sms = match &self.sms_gateway_url {
            None => None,
            Some(url) => Some(SmsGatewaySettings {
                url: url.clone(),
                method: self.sms_gateway_method.clone(),
                headers: self
                    .sms_gateway_headers
                    .iter()
                    .filter(|h| !h.trim().is_empty())
                    .map(|h| kabinet_delivery::parse_sms_header(h).map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<_>>()?,
                body_template: self.sms_gateway_body.clone(),
                content_type: self.sms_gateway_content_type.clone(),
            }),
        };
        Ok(kabinet_delivery::DeliverySettings {
            smtp,
            sms,
            ..Default::default()
        })
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Clears a person's address rules and session binding (for a lock-out).
    ResetIpRules {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
    },
    /// Sets a new password (generated unless KABINET_NEW_PASSWORD is set) and ends the person's sessions.
    ResetPassword {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, default_value = "admin")]
        login: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates an API token and prints it alone on stdout.
    Create {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
    },
}

impl DataArgs {
    fn url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        Ok(sqlite_url(&self.data_dir.join("kabinet.db")))
    }

    /// Connects and brings the schema up to date.
    async fn open(&self) -> anyhow::Result<Store> {
        let url = self.url()?;
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("cannot open the database ({})", redact(&url)))?;
        kabinet_store::migrate::run(&store, kabinet_service::now_ms())
            .await
            .context("migrations failed")?;
        Ok(store)
    }
}

/// Prints a line of the server's start-up report; a closed standard output
/// (a supervisor that does not read it) must not stop the server.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// mimalloc for Rust's allocations. A list page at a million companies
/// spent 30 % of its time in glibc's malloc and free (`perf`: the arena
/// locks, `malloc_consolidate`, `_int_malloc`); with mimalloc the same
/// server answered 26 % more list pages and 41 % more searches a second
/// (BENCHMARKS.md, run E). SQLite's own allocations stay with glibc,
/// tuned below.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// glibc's allocator (SQLite's page caches and statements) keeps freed
/// blocks for reuse: an argon2id hash was a
/// 19 MiB block, a search over a common fragment a few megabytes, and with
/// an arena per thread the server would hold hundreds of megabytes it no
/// longer uses. Blocks of 1 MiB and more are mapped and returned on free,
/// and four arenas serve the threads.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called first thing in
    // main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

fn main() -> anyhow::Result<()> {
    tune_allocator();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KABINET_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate { data } => {
            let url = data.url()?;
            let store = Store::connect(&url)
                .await
                .with_context(|| format!("cannot open the database ({})", redact(&url)))?;
            let applied = kabinet_store::migrate::run(&store, kabinet_service::now_ms()).await?;
            println!("migrations applied: {applied}");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ResetPassword { data, login },
        } => {
            let services = Services::new(data.open().await?, ServiceSettings::default());
            let wanted = std::env::var("KABINET_NEW_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let given = wanted.is_some();
            let password = services
                .reset_password(&login, wanted)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if given {
                println!("password of {login} changed; their sessions and tokens were ended");
            } else {
                println!("new password of {login}: {password}");
            }
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ResetIpRules { data, login },
        } => {
            let services = Services::new(data.open().await?, ServiceSettings::default());
            services
                .reset_ip_rules(&login)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("address rules of {login} cleared: any address, no session binding");
            Ok(())
        }
        Command::Token {
            command: TokenCommand::Create { data, login, name },
        } => {
            let services = Services::new(data.open().await?, ServiceSettings::default());
            let token = services
                .token_create_for_login(&login, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&kabinet_server::openapi())?
            );
            Ok(())
        }
        Command::Backup { data, output } => {
            let url = data.url()?;
            if !url.starts_with("sqlite:") {
                bail!(
                    "backup copies the embedded SQLite database; back up PostgreSQL with pg_dump"
                );
            }
            if output.exists() {
                bail!("{} already exists; choose a new file", output.display());
            }
            // The copy is of the database as it is: no migrations.
            let store = Store::connect(&url)
                .await
                .with_context(|| format!("cannot open the database ({})", redact(&url)))?;
            let target = output
                .to_str()
                .context("the output path must be valid UTF-8")?;
            store.backup_sqlite(target).await?;
            let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
            println!("backup written to {} ({} bytes)", output.display(), size);
            Ok(())
        }
        Command::Demo {
            data,
            companies,
            seed,
        } => {
            let services = Services::new(data.open().await?, ServiceSettings::default());
            services
                .bootstrap("Provider", std::env::var("KABINET_ADMIN_PASSWORD").ok())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let bar = indicatif::ProgressBar::new(companies);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} {msg}, {per_sec}, ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let started = std::time::Instant::now();
            let phase = std::cell::Cell::new(None);
            let phase_started = std::cell::Cell::new(std::time::Instant::now());
            let report = services
                .demo_fill(DemoPlan { companies, seed }, |now, done, total| {
                    if phase.get() != Some(now) {
                        if let Some(previous) = phase.get() {
                            bar.suspend(|| {
                                println!(
                                    "{previous:?}: {:.1} s",
                                    phase_started.get().elapsed().as_secs_f64()
                                )
                            });
                        }
                        phase_started.set(std::time::Instant::now());
                        phase.set(Some(now));
                        bar.reset();
                        bar.set_length(total);
                        bar.set_message(match now {
                            DemoPhase::Companies => "companies",
                            DemoPhase::People => "companies given people and departments",
                            DemoPhase::Search => "search index",
                        });
                    }
                    bar.set_position(done);
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            bar.finish();
            println!(
                "{:?}: {:.1} s",
                DemoPhase::Search,
                phase_started.get().elapsed().as_secs_f64()
            );
            println!(
                "{} companies, {} people and {} departments written in {:.1} s; \
                 benchsubtree and benchsignin sign in with {DEMO_PASSWORD}",
                report.companies,
                report.people,
                report.departments,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        data,
        listen,
        provider_name,
        secure_cookies,
        trusted_proxies,
        public_url,
        retention_days,
        shutdown_grace,
        delivery,
    } = args;
    let delivery = delivery.settings()?;
    let store = data.open().await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    let public_url = public_url.unwrap_or_else(|| format!("http://{address}"));
    let settings = ServiceSettings {
        retention_days,
        public_url,
        ..ServiceSettings::default()
    };
    let services = Services::new(store, settings);
    let admin_password = std::env::var("KABINET_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let boot = services
        .bootstrap(&provider_name, admin_password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    say!("Kabinet is running at http://{address}/");
    if boot.created {
        match &boot.generated_admin_password {
            Some(password) => {
                say!("Sign in as: admin / {password}");
                say!(
                    "(this password is shown once; change it with `kabinet admin reset-password`)"
                );
            }
            None => say!("Sign in as: admin / the password in KABINET_ADMIN_PASSWORD"),
        }
    } else {
        say!("Sign in as an existing user (forgot the admin password? `kabinet admin reset-password`)");
    }

    let purger = services.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match purger.purge_expired(kabinet_service::now_ms()).await {
                Ok(purged) if !purged.is_empty() => {
                    tracing::info!(count = purged.len(), "purged companies past retention")
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "purge failed"),
            }
        }
    });

    let (stop, stopped) = tokio::sync::watch::channel(false);
    match (&delivery.smtp, &delivery.sms) {
        (None, None) => {
            say!("E-mail and SMS stay in the outbox (no SMTP or SMS gateway configured)")
        }
        (smtp, sms) => say!(
            "Delivering {}",
            [
                smtp.as_ref()
                    .map(|s| format!("e-mail through {}:{}", s.host, s.port)),
                sms.as_ref().map(|_| "SMS through the gateway".to_string())
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ")
        ),
    }
    let worker = kabinet_delivery::spawn(services.store.clone(), delivery, stopped)
        .map_err(anyhow::Error::msg)?;

    let state = AppState::new(
        services.clone(),
        Arc::new(HttpSettings {
            secure_cookies,
            trusted_proxies,
        }),
        Arc::new(Metrics::default()),
    );
    let app = kabinet_server::router(state);
    let (signalled, mut signal_seen) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new connections; finishing the requests in flight");
        let _ = signalled.send(true);
    });
    let grace = Duration::from_secs(shutdown_grace);
    tokio::select! {
        served = async { server.await } => served?,
        _ = async {
            if signal_seen.wait_for(|seen| *seen).await.is_err() {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(grace).await;
        } => tracing::warn!(
            seconds = shutdown_grace,
            "requests still open at the end of the shutdown grace; stopping without them"
        ),
    }
    // Let the worker finish its current round, within the same grace: a
    // message it was sending is sent again after its lease (at least once).
    let _ = stop.send(true);
    if tokio::time::timeout(grace, worker).await.is_err() {
        tracing::warn!("the delivery worker was still sending at the end of the shutdown grace");
    }
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish what is in flight.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact("postgres://kab:secret@db:5432/kabinet"),
            "postgres://kab:***@db:5432/kabinet"
        );
        assert_eq!(
            redact("sqlite://./kabinet-data/kabinet.db"),
            "sqlite://./kabinet-data/kabinet.db"
        );
    }
}
