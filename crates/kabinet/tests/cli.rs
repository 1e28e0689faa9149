//! The `kabinet` command itself: start-up output, subcommands and their
//! effects, run as a separate process like an operator would.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_kabinet");

/// A fresh data directory, removed afterwards.
struct DataDir(PathBuf);

impl DataDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "kabinet-cli-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        DataDir(dir)
    }

    fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (std::process::id() as u64) << 20
}

fn kabinet(args: &[&str], data: &DataDir) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).arg("--data-dir").arg(data.arg());
    command
        .env_remove("KABINET_DATABASE_URL")
        .env_remove("KABINET_ADMIN_PASSWORD")
        .env_remove("KABINET_NEW_PASSWORD");
    command
}

fn run(mut command: Command) -> (String, String) {
    let output = command.output().expect("run kabinet");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(
        output.status.success(),
        "kabinet failed: {stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// Starts `serve` on a free port; returns the process, its address and what it printed.
fn serve(data: &DataDir, admin_password: Option<&str>) -> (Child, String, Vec<String>) {
    let mut command = kabinet(&["serve", "--listen", "127.0.0.1:0"], data);
    if let Some(password) = admin_password {
        command.env("KABINET_ADMIN_PASSWORD", password);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let mut address = String::new();
    for _ in 0..4 {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.strip_prefix("Kabinet is running at ") {
            address = rest.trim_end_matches('/').to_string();
        }
        printed.push(line);
        if printed.iter().any(|l| l.starts_with("Sign in as")) {
            break;
        }
    }
    assert!(!address.is_empty(), "no address printed: {printed:?}");
    // Keep reading what the server prints, so it never writes into a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, address, printed)
}

async fn login(address: &str, password: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn first_start_prints_a_generated_password_that_signs_in() {
    let data = DataDir::new();
    let (mut child, address, printed) = serve(&data, None);
    let line = printed
        .iter()
        .find(|l| l.starts_with("Sign in as: admin / "))
        .expect("sign-in line");
    let password = line
        .trim_start_matches("Sign in as: admin / ")
        .trim()
        .to_string();
    assert!(
        password.len() >= 16,
        "a strong generated password: {password}"
    );
    assert!(
        data.0.join("kabinet.db").exists(),
        "the SQLite database is created in --data-dir"
    );
    assert_eq!(login(&address, &password).await, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    // A second start keeps the admin and prints no password.
    let (mut child, _, printed) = serve(&data, None);
    assert!(
        printed.iter().all(|l| !l.contains(&password)),
        "{printed:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn reset_password_token_create_backup_demo_and_migrate() {
    let data = DataDir::new();
    let (migrate_out, _) = run(kabinet(&["migrate"], &data));
    assert_eq!(migrate_out.trim(), "migrations applied: 22");
    let (again, _) = run(kabinet(&["migrate"], &data));
    assert_eq!(
        again.trim(),
        "migrations applied: 0",
        "migrations are idempotent"
    );

    let (mut child, address, _) = serve(&data, Some("first password 1"));
    assert_eq!(login(&address, "first password 1").await, 200);

    // The token is the only thing on stdout, so scripts can capture it.
    let (token_out, _) = run(kabinet(
        &["token", "create", "--login", "admin", "--name", "ci"],
        &data,
    ));
    let token = token_out.trim();
    assert_eq!(token_out.lines().count(), 1);
    assert!(token.starts_with("kab_"));
    let me = reqwest::Client::new()
        .get(format!("{address}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let (demo_out, _) = run(kabinet(&["demo", "--companies", "300"], &data));
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!("{address}/api/v1/companies?limit=1&reseller=true"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 3, "about 1% resellers");
    let all: serde_json::Value = reqwest::Client::new()
        .get(format!("{address}/api/v1/companies?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 301);

    // Three people per company, two departments per reseller, and the named
    // benchmark people: benchsubtree sees exactly its reseller's subtree.
    assert!(
        demo_out.contains("300 companies, 900 people and 6 departments"),
        "{demo_out}"
    );
    let people: serde_json::Value = reqwest::Client::new()
        .get(format!("{address}/api/v1/users?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        people["total"], 903,
        "admin, 900 demo people, 2 bench people"
    );
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signed = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({"login": "benchsubtree", "password": "kabinet-demo-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    let me: serde_json::Value = client
        .get(format!("{address}/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reseller = me["company_id"].as_i64().expect("company_id in /me");
    let seen: serde_json::Value = client
        .get(format!("{address}/api/v1/companies?limit=500"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let children: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{address}/api/v1/companies?limit=1&parent_id={reseller}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subtree = children["total"].as_i64().unwrap() + 1;
    assert!(subtree > 1, "the first reseller has affiliates");
    assert_eq!(seen["total"].as_i64().unwrap(), subtree);
    let outside = client
        .get(format!("{address}/api/v1/companies/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), 404, "the provider is outside the subtree");

    let backup = data.0.join("copy.db");
    let (backup_out, _) = run(kabinet(
        &["backup", "--output", backup.to_str().unwrap()],
        &data,
    ));
    assert!(backup_out.starts_with("backup written to"), "{backup_out}");
    let copy = DataDir::new();
    std::fs::copy(&backup, copy.0.join("kabinet.db")).unwrap();
    let (copy_token, _) = run(kabinet(
        &["token", "create", "--login", "admin", "--name", "copy"],
        &copy,
    ));
    assert!(
        copy_token.trim().starts_with("kab_"),
        "the backup opens as a complete database"
    );
    let refused = kabinet(&["backup", "--output", backup.to_str().unwrap()], &data)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "an existing backup file is never overwritten"
    );

    let (ip_out, _) = run(kabinet(
        &["admin", "reset-ip-rules", "--login", "admin"],
        &data,
    ));
    assert!(
        ip_out.contains("address rules of admin cleared"),
        "{ip_out}"
    );
    let (reset_out, _) = run(kabinet(
        &["admin", "reset-password", "--login", "admin"],
        &data,
    ));
    let new_password = reset_out.trim().rsplit(' ').next().unwrap().to_string();
    assert_eq!(login(&address, "first password 1").await, 401);
    assert_eq!(login(&address, &new_password).await, 200);
    let me = reqwest::Client::new()
        .get(format!("{address}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        401,
        "a password reset ends the person's tokens too"
    );

    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn openapi_prints_the_document() {
    let output = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(output.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/companies"]["get"].is_object());
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let data = DataDir::new();
    let output = kabinet(
        &["migrate", "--database-url", "mysql://user:secret@host/db"],
        &data,
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mysql"), "{stderr}");
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
}
