// Real peers for message delivery in the browser tests: the SMTP server of
// the Rust tests (Python's aiosmtpd, crates/kabinet-testkit/python) and a
// small HTTP server standing in for an SMS gateway.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SINK = path.resolve(here, '..', '..', 'crates', 'kabinet-testkit', 'python', 'smtp_sink.py');

async function waitFor(list, predicate, what, timeoutMs = 20_000) {
  const started = Date.now();
  for (;;) {
    const found = list.find(predicate);
    if (found) return found;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} did not arrive in ${timeoutMs} ms; got ${JSON.stringify(list)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts the SMTP test server (plain, on loopback); resolves with its port. */
export function startSmtpSink() {
  const python = process.env.KABINET_TEST_PYTHON || 'python3';
  const child = spawn(python, [SINK, '--security', 'none', '--ca-out', '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const messages = [];
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    let port;
    lines.on('line', (line) => {
      if (!port) {
        const match = /^READY (\d+)/.exec(line);
        if (!match) { reject(new Error(`SMTP test server said: ${line}`)); return; }
        port = Number(match[1]);
        resolve({
          port,
          messages,
          waitFor: (predicate, what) => waitFor(messages, predicate, what),
          stop: () => { child.stdin.end(); child.kill('SIGTERM'); },
        });
      } else {
        messages.push(JSON.parse(line));
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => { if (!port) reject(new Error(`SMTP test server exited (${code}): is aiosmtpd installed? (.ci/run installs it)`)); });
  });
}

/** An SMS gateway on loopback: records every JSON body it receives. */
export function startSmsGateway() {
  const calls = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      calls.push({ method: request.method, url: request.url, body: JSON.parse(body || '{}') });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"status":"queued"}');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}/send`,
        calls,
        waitFor: (predicate, what) => waitFor(calls, predicate, what),
        stop: () => new Promise((done) => server.close(done)),
      });
    });
  });
}
