// Starts a Kabinet server for one test file: a free port, a fresh data
// directory, and a clean stop afterwards.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const READY = /Kabinet is running at (http:\/\/\S+?)\/?\s*$/m;

export const ADMIN_LOGIN = 'admin';

/** The kabinet binary: KABINET_BIN, or the debug build of this repository. */
export function kabinetBin() {
  return process.env.KABINET_BIN || path.resolve(here, '..', '..', 'target', 'debug', 'kabinet');
}

/**
 * Starts `kabinet serve` on 127.0.0.1:0 and resolves once it prints its
 * address. KABINET_DATABASE_URL, when set, is passed through so the same
 * tests run on PostgreSQL.
 */
/**
 * The admin password. `serve` sets it only when it creates `admin`, so on a
 * kept PostgreSQL database every run must use the same one.
 */
function defaultPassword() {
  if (process.env.KABINET_ADMIN_PASSWORD) return process.env.KABINET_ADMIN_PASSWORD;
  if (process.env.KABINET_DATABASE_URL) return 'kabinet-browser-tests';
  return 'browser-' + Math.random().toString(36).slice(2, 12);
}

export async function startServer({
  password = defaultPassword(),
  providerName = 'Browser Test Provider',
  timeoutMs = 30_000,
  extraArgs = [],
} = {}) {
  const bin = kabinetBin();
  if (!existsSync(bin)) {
    throw new Error(`kabinet binary not found at ${bin}: build it (cargo build -p kabinet) or set KABINET_BIN`);
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'kabinet-browser-data-'));
  const env = { ...process.env, KABINET_ADMIN_PASSWORD: password };
  // Use the same defaults whatever the calling shell has set for the app.
  delete env.KABINET_LISTEN;
  delete env.KABINET_DATA_DIR;
  delete env.KABINET_SECURE_COOKIES;
  if (!env.RUST_LOG) env.RUST_LOG = 'warn';
  const child = spawn(bin, [
    'serve',
    '--listen', '127.0.0.1:0',
    '--data-dir', dataDir,
    '--provider-name', providerName,
    ...extraArgs,
  ], { env, stdio: ['ignore', 'pipe', 'pipe'] });

  let log = '';
  const keep = (chunk) => {
    log += chunk.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stderr.on('data', keep);

  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const killOnExit = () => { try { child.kill('SIGKILL'); } catch { /* already gone */ } };
  process.once('exit', killOnExit);

  const baseUrl = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kabinet did not report readiness within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${log}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      keep(chunk);
      const match = READY.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('error', (error) => { clearTimeout(timer); reject(error); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`kabinet exited early (code ${code}, signal ${signal})\nstdout:\n${out}\nstderr:\n${log}`));
    });
  });

  return {
    baseUrl,
    password,
    providerName,
    dataDir,
    log: () => log,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
