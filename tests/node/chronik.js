// Runs the release `chronik` binary for the Node SDK suite and provisions it through /admin/v1,
// the way tests/sdk/chronik_harness.py does for the Python suite: one server per test file on
// 127.0.0.1 port 0 in a fresh temp data directory (SQLite), its admin token passed with
// --admin-token, accounts, private apps, apps, installs and authorization codes made through
// /admin/v1. The tests themselves talk to the server only through HubSpot's official Node SDK
// (`@hubspot/api-client`), or its raw `client.apiRequest` where the SDK has no method or drops
// the field a test looks at.

'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { after, before } = require('node:test');

const hubspot = require('@hubspot/api-client');

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** How long the server may take to print its address (migrations on a busy 2-core machine). */
const STARTUP_TIMEOUT_MS = 60_000;
/** How long a SIGTERM'd server may take to exit. */
const SHUTDOWN_TIMEOUT_MS = 30_000;
/** The access-token lifetime the suite's servers run with (not the default, 1800). */
const ACCESS_TOKEN_TTL_SECS = 900;

const LISTENING_PREFIX = 'chronik listening on ';
const CORRELATION_HEADER = 'x-hubspot-correlation-id';

/** HubSpot's timestamp format: RFC 3339 in UTC with exactly three fraction digits. */
const MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The binary under test: `$CHRONIK_BIN`, else target/release/chronik in the repo. */
function chronikBin() {
  const raw = process.env.CHRONIK_BIN;
  const bin = raw ? path.resolve(REPO_ROOT, raw) : path.join(REPO_ROOT, 'target', 'release', 'chronik');
  if (!fs.existsSync(bin)) {
    throw new Error(
      `chronik binary not found at ${bin}; run \`cargo build --release -p chronik\` or set CHRONIK_BIN`,
    );
  }
  return bin;
}

/** One `chronik serve` process; `stop()` sends SIGTERM and resolves with the exit code. */
class Server {
  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'chronik-node-'));
    this.adminToken = `chronik-test-admin-${crypto.randomBytes(16).toString('hex')}`;
    this.accessTokenTtl = ACCESS_TOKEN_TTL_SECS;
    this.logPath = path.join(this.root, 'chronik.log');
    this.baseUrl = null;
    this.proc = null;
  }

  async start() {
    const args = [
      'serve',
      '--addr', '127.0.0.1:0',
      '--data', path.join(this.root, 'data'),
      '--admin-token', this.adminToken,
      '--access-token-ttl', String(this.accessTokenTtl),
    ];
    // The server reads CHRONIK_* variables as flag defaults (CHRONIK_DATABASE_URL would switch
    // the backend); keep the caller's environment out of it.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('CHRONIK_')),
    );
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(chronikBin(), args, { env, stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    // A test process that dies (timeout, crash) takes its server with it.
    this.onExit = () => this.proc && this.proc.kill('SIGKILL');
    process.once('exit', this.onExit);

    this.baseUrl = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        reject(new Error(`chronik printed no address within ${STARTUP_TIMEOUT_MS} ms\n${this.logTail()}`));
      }, STARTUP_TIMEOUT_MS);
      const lines = readline.createInterface({ input: this.proc.stdout });
      lines.on('line', (line) => {
        const text = line.trim();
        if (text.startsWith(LISTENING_PREFIX)) {
          clearTimeout(timer);
          resolve(text.slice(LISTENING_PREFIX.length));
        }
      });
      this.proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`chronik exited with ${code} before listening\n${this.logTail()}`));
      });
    });
    assert.match(this.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    return this;
  }

  /** SIGTERM, wait for a graceful exit; resolves with the exit code. */
  async stop() {
    const proc = this.proc;
    if (!proc) return null;
    this.proc = null;
    process.removeListener('exit', this.onExit);
    if (proc.exitCode !== null) return proc.exitCode;
    const code = await new Promise((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
      proc.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
      proc.kill('SIGTERM');
    });
    return code;
  }

  logTail(lines = 40) {
    try {
      const text = fs.readFileSync(this.logPath, 'utf8').split('\n');
      return `--- chronik stderr (tail) ---\n${text.slice(-lines).join('\n')}`;
    } catch {
      return '(no server log)';
    }
  }

  // -- admin API ---------------------------------------------------------------------------

  /** Calls /admin/v1 with the admin token; asserts `expect` and returns the JSON (null for 204). */
  async admin(method, urlPath, body, expect = 200) {
    const response = await fetch(this.baseUrl + urlPath, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    assert.equal(response.status, expect, `${method} ${urlPath}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  createAccount(name = `Test account ${unique()}`) {
    return this.admin('POST', '/admin/v1/accounts', { name }, 201);
  }

  createApp(name = `Test app ${unique()}`) {
    return this.admin('POST', '/admin/v1/apps', { name }, 201);
  }

  /** A fresh account and an SDK client whose private-app token has `scopes`. */
  async accountWith(scopes) {
    const { portalId } = await this.createAccount();
    const app = await this.admin(
      'POST',
      `/admin/v1/accounts/${portalId}/private-apps`,
      { name: 'node-sdk', scopes },
      201,
    );
    return { portalId, token: app.token, client: this.client({ accessToken: app.token }) };
  }

  /** An SDK client pointed at this server (no credentials unless given). */
  client(config = {}) {
    return new hubspot.Client({ ...config, basePath: this.baseUrl });
  }
}

/** Starts a server for one test file; `after` stops it and checks the graceful exit. */
function serverFor() {
  const server = new Server();
  before(() => server.start());
  after(async () => {
    const code = await server.stop();
    assert.equal(code, 0, `chronik exited with ${code} after SIGTERM\n${server.logTail()}`);
  });
  return server;
}

function unique() {
  return crypto.randomBytes(5).toString('hex');
}

/**
 * Runs `call`, expects it to throw the SDK's ApiException with HTTP `code`, checks that the
 * parsed body's correlationId equals the X-HubSpot-Correlation-Id header, and returns the body
 * as the SDK parsed it: plain JSON, so fields keep their wire names (`errors[].in`, `status`).
 */
async function sdkError(call, code) {
  let caught;
  try {
    await call();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected an ApiException with ${code}, got a result`);
  assert.equal(caught.code, code, `status of ${caught.message}`);
  assert.equal(typeof caught.body, 'object', `the SDK parsed a JSON body: ${caught.message}`);
  const header = caught.headers[CORRELATION_HEADER];
  assert.match(header, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(caught.body.correlationId, header);
  assert.ok(caught.body.message, 'an error has a message');
  return caught.body;
}

/** `client.apiRequest` (the SDK's raw request): the status and the JSON body as sent. */
async function raw(client, method, urlPath, body) {
  const options = { method, path: urlPath };
  if (body !== undefined) options.body = body;
  const response = await client.apiRequest(options);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : null,
  };
}

/**
 * Asserts that every string in `value` that looks like a date-time is HubSpot's
 * `2026-12-04T03:44:12.000Z`, and that there is at least one; returns how many.
 */
function assertMillisTimestamps(value, what) {
  const found = [];
  const walk = (v, at) => {
    if (typeof v === 'string') {
      if (/^\d{4}-\d{2}-\d{2}T/.test(v)) found.push([at, v]);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${at}[${i}]`));
    } else if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) walk(item, `${at}.${k}`);
    }
  };
  walk(value, what);
  assert.ok(found.length > 0, `${what}: no timestamps in ${JSON.stringify(value)}`);
  for (const [at, text] of found) {
    assert.match(text, MILLIS, `${at} is not HubSpot's millisecond format`);
  }
  return found.length;
}

module.exports = {
  ACCESS_TOKEN_TTL_SECS,
  CORRELATION_HEADER,
  Server,
  assertMillisTimestamps,
  hubspot,
  raw,
  sdkError,
  serverFor,
  unique,
};
