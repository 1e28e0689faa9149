#!/usr/bin/env python3
"""Schemathesis against a running Kabinet: the API fuzzing of issue 7.

One command (see apifuzz/README.md):

    apifuzz/run [--profile ci|full] [--backend sqlite|postgres] [--bin PATH]

It starts `kabinet serve` on a fresh database, makes two client companies
(tenant A and tenant B) each with an administrator holding every right of the
catalog, and runs schemathesis twice: as the provider's admin and as tenant
A's admin. Every check is on (`--checks all`, stateful phase included), and
the hook in apifuzz/hooks.py replays every successful request on one object
with tenant B's token: it must get 403 or 404, every time.

Exit status 0 only when both passes report no failure and no error.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = ROOT / "target" / "apifuzz-venv"

# Cases per operation and time budget. The coverage phase adds its own
# boundary cases on top of --max-examples; the figures printed at the end are
# what ran.
PROFILES = {
    "ci": {"max_examples": 4, "seed": 20261124},
    "full": {"max_examples": 60, "seed": None},
}


def log(message):
    print(f"apifuzz: {message}", flush=True)


def ensure_venv():
    requirements = HERE / "requirements.txt"
    stamp = VENV / ".requirements"
    wanted = requirements.read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    log(f"installing schemathesis into {VENV}")
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         "-r", str(requirements)],
        check=True,
    )
    stamp.write_text(wanted)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, token=None, body=None, headers=None, check=True):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        if not check:
            return error.code, text
        raise SystemExit(f"apifuzz: set-up call {method} {path} answered {error.code}: {text}")


class Server:
    def __init__(self, binary, data_dir, database_url, password):
        self.binary = binary
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, KABINET_ADMIN_PASSWORD=password, RUST_LOG="warn")
        args = [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir)]
        if database_url:
            args += ["--database-url", database_url]
        self.log_path = Path(data_dir) / "server.log"
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(args, env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"apifuzz: the server exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("apifuzz: the server did not become ready in 60 s")

    def data_args(self):
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def token(self, login):
        out = subprocess.run(
            [self.binary, "token", "create", *self.data_args(), "--login", login,
             "--name", f"apifuzz-{login}"],
            check=True, capture_output=True, text=True,
        )
        return out.stdout.strip()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log_file.close()


def make_tenant(server, admin_token, letter, all_rights):
    """A client company with one administrator holding every right."""
    base = server.base
    inn = {"A": "7707083893", "B": "7736207543"}[letter]
    _, company = call(base, "POST", "/api/v1/companies", admin_token, {
        "name": f"Tenant {letter} LLC", "inns": [inn],
    })
    login = f"tenant{letter.lower()}admin"
    _, user = call(base, "POST", "/api/v1/users", admin_token, {
        "company_id": company["id"], "login": login, "first_name": "Tenant",
        "last_name": letter, "kind": "account_admin", "status": "active",
        "password": secrets.token_urlsafe(24),
    })
    call(base, "PUT", f"/api/v1/users/{user['id']}/extra-rights", admin_token,
         {"rights": all_rights})
    _, other = call(base, "POST", "/api/v1/users", admin_token, {
        "company_id": company["id"], "login": f"tenant{letter.lower()}clerk",
        "first_name": "Clerk", "last_name": letter, "kind": "client_user", "status": "active",
    })
    token = server.token(login)
    return {
        "company_id": company["id"], "user_id": user["id"], "other_user_id": other["id"],
        "token": token, "token_id": token_id(base, token, login),
    }


def token_id(base, token, login):
    """The id of the token named apifuzz-<login>, so that the run spares it."""
    _, page = call(base, "GET", "/api/v1/tokens", token)
    ids = [t["id"] for t in page["items"] if t["name"] == f"apifuzz-{login}"]
    return ids[-1] if ids else None


def run_pass(name, server, token, actor, tenant_b, profile, report_dir, workers):
    env = dict(
        os.environ,
        PYTHONPATH=str(HERE),
        SCHEMATHESIS_HOOKS="hooks",
        KABINET_FUZZ_ACTOR=json.dumps({k: v for k, v in actor.items() if k != "token"}),
        KABINET_FUZZ_OTHER=json.dumps(tenant_b),
        KABINET_FUZZ_BASE=server.base,
        KABINET_FUZZ_COUNT_DIR=str(report_dir / name),
    )
    (report_dir / name).mkdir(parents=True, exist_ok=True)
    settings = PROFILES[profile]
    args = [
        str(VENV / "bin" / "schemathesis"), "--config-file", str(HERE / "schemathesis.toml"),
        "run", server.base + "/api/openapi.json",
        "--url", server.base,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(settings["max_examples"]),
        "--workers", str(workers),
        "--continue-on-failure",
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--report", "json,junit",
        "--report-dir", str(report_dir / name),
        "--output-truncate", "true",
    ]
    if settings["seed"] is not None:
        args += ["--seed", str(settings["seed"])]
    log(f"pass {name}: schemathesis, profile {profile}, as user {actor['user_id']}")
    started = time.time()
    result = subprocess.run(args, env=env)
    return result.returncode, time.time() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--bin", default=os.environ.get("KABINET_BIN", str(ROOT / "target/debug/kabinet")))
    parser.add_argument("--database-url", default=os.environ.get("KABINET_APIFUZZ_DATABASE_URL"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    options = parser.parse_args()

    if options.backend == "postgres" and not options.database_url:
        raise SystemExit("apifuzz: --backend postgres needs --database-url (a fresh, empty database)")
    ensure_venv()
    data_dir = Path(tempfile.mkdtemp(prefix="kabinet-apifuzz-"))
    report_dir = ROOT / "apifuzz" / "results" / options.backend
    shutil.rmtree(report_dir, ignore_errors=True)
    report_dir.mkdir(parents=True)
    password = secrets.token_urlsafe(24)
    server = Server(options.bin, data_dir, options.database_url if options.backend == "postgres" else None, password)
    failed = False
    try:
        admin_token = server.token("admin")
        _, me = call(server.base, "GET", "/api/v1/me", admin_token)
        _, catalog = call(server.base, "GET", "/api/v1/permissions", admin_token)
        all_rights = [f["key"] for s in catalog["sections"] for f in s["functions"]]
        tenant_a = make_tenant(server, admin_token, "A", all_rights)
        tenant_b = make_tenant(server, admin_token, "B", all_rights)
        passes = [
            ("tenant-a-admin", tenant_a["token"], tenant_a),
            ("provider-admin", admin_token, {"user_id": me["user_id"], "company_id": me.get("company_id"),
                                             "token_id": token_id(server.base, admin_token, "admin")}),
        ]
        summary = []
        for name, token, actor in passes:
            code, seconds = run_pass(name, server, token, actor, tenant_b, options.profile,
                                     report_dir, options.workers)
            # The actor's token must still work: a run that locked itself out tested nothing.
            status, answer = call(server.base, "GET", "/api/v1/me", token, check=False)
            if status != 200:
                log(f"pass {name}: the actor's token no longer works after the run ({status}: {answer})")
                code = code or 1
            counts = read_counts(report_dir / name)
            summary.append((name, code, seconds, counts))
            failed |= code != 0
        write_summary(report_dir, options, summary)
        if server.process.poll() is not None:
            log("the server died during the run")
            failed = True
    finally:
        server.stop()
        if options.keep or failed:
            log(f"data and server log kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    sys.exit(1 if failed else 0)


def read_counts(directory):
    """Cases, failures and errors from schemathesis's JUnit report."""
    import xml.etree.ElementTree as ET

    reports = list(Path(directory).glob("*.xml"))
    if not reports:
        return {"cases": 0, "failures": 0, "errors": 0, "operations": 0}
    root = ET.parse(reports[0]).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    counts = {"operations": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        counts["operations"] += int(suite.get("tests", 0))
        counts["failures"] += int(suite.get("failures", 0))
        counts["errors"] += int(suite.get("errors", 0))
        counts["skipped"] += int(suite.get("skipped", 0))
    cases_file = Path(directory) / "cases.txt"
    counts["cases"] = int(cases_file.read_text()) if cases_file.exists() else 0
    replays_file = Path(directory) / "replays.txt"
    counts["replays"] = int(replays_file.read_text()) if replays_file.exists() else 0
    return counts


def write_summary(report_dir, options, summary):
    lines = [f"# apifuzz, profile {options.profile}, backend {options.backend}", "",
             "| pass | exit | seconds | operations | cases | cross-tenant replays | failures | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for name, code, seconds, c in summary:
        lines.append(f"| {name} | {code} | {seconds:.0f} | {c['operations']} | {c['cases']} | "
                     f"{c['replays']} | {c['failures']} | {c['errors']} |")
    text = "\n".join(lines) + "\n"
    (report_dir / "summary.md").write_text(text)
    print(text, flush=True)


if __name__ == "__main__":
    main()
