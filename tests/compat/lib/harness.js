'use strict';
// Cases, assertions, the per-client tally (the compatibility table) and a JUnit report that
// scripts/count_tests.py counts case by case.
const fs = require('fs');

class AssertionFailed extends Error {}

function check(cond, message) {
  if (!cond) throw new AssertionFailed(message);
}

function eq(got, want, what) {
  check(got === want, `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// Runs `fn`, which must throw an SDK error; returns the normalized error of `client`.
async function refused(client, fn, what) {
  let result;
  try {
    result = await fn();
  } catch (e) {
    if (e instanceof AssertionFailed) throw e;
    return client.errorOf(e);
  }
  throw new AssertionFailed(`${what}: succeeded (${JSON.stringify(result && result.raw).slice(0, 200)})`);
}

// Asserts a refusal with KMS code `code` and HTTP `status`, surfaced with a RequestId.
async function refusedWith(client, fn, code, status, what) {
  const err = await refused(client, fn, what);
  eq(err.kmsCode, code, `${what}: code (message: ${err.message})`);
  if (status !== undefined) eq(err.status, status, `${what}: HTTP status`);
  check(typeof err.requestId === 'string' && err.requestId.length > 0, `${what}: no RequestId`);
  return err;
}

class Suite {
  constructor() {
    this.results = [];
    this.clients = new Map();  // client label -> {info, actions: Map(action -> {tried, failed})}
  }

  // One case of `client` exercising `actions`; a failure is recorded, never thrown.
  async test(client, name, actions, fn) {
    const started = Date.now();
    const label = client ? client.label : 'cross-checks';
    let error = null;
    try {
      await fn();
    } catch (e) {
      error = e instanceof AssertionFailed ? e.message : `${e.name}: ${e.message}\n${e.stack}`;
    }
    const seconds = (Date.now() - started) / 1000;
    this.results.push({ label, name, error, seconds });
    if (client) {
      const entry = this.clientEntry(client);
      for (const action of actions) {
        const a = entry.actions.get(action) || { failed: false };
        a.failed = a.failed || error !== null;
        entry.actions.set(action, a);
      }
      if (error) entry.failedCases.push(name);
    }
    console.log(`${error ? 'FAIL' : 'ok  '} [${label}] ${name}${error ? `\n       ${error}` : ''}`);
  }

  clientEntry(client) {
    if (!this.clients.has(client.label)) {
      this.clients.set(client.label, { client, actions: new Map(), failedCases: [] });
    }
    return this.clients.get(client.label);
  }

  failures() {
    return this.results.filter((r) => r.error !== null);
  }

  // The compatibility table of docs/remote.md, in Markdown.
  table() {
    const rows = [
      '| Client (npm, exact version) | Variant | Signature | Context style | Actions passed / tried | ' +
        'Cases passed / tried | Own retry on Throttling 400 / 503 | Result |',
      '|---|---|---|---|---|---|---|---|',
    ];
    for (const { client, actions } of this.clients.values()) {
      const tried = [...actions.keys()].filter((a) => /^[A-Z]/.test(a));
      const passed = tried.filter((a) => !actions.get(a).failed);
      const cases = this.results.filter((r) => r.label === client.label);
      const ok = cases.filter((r) => !r.error).length;
      const failedActions = tried.filter((a) => actions.get(a).failed);
      const result = ok === cases.length ? 'pass' : `FAIL (${failedActions.join(', ') || 'see log'})`;
      rows.push(`| ${client.packages} | ${client.variant} | ${client.signature} | ${client.contextStyle} | ` +
                `${passed.length} / ${tried.length} | ${ok} / ${cases.length} | ` +
                `${client.retryNote || '?'} / ${client.retryNote503 || '?'} | ${result} |`);
    }
    return rows.join('\n');
  }

  writeJUnit(path) {
    const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;')
      .replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    const cases = this.results.map((r) =>
      `  <testcase classname="compat.${esc(r.label)}" name="${esc(r.name)}" time="${r.seconds}">` +
      (r.error ? `<failure message="${esc(r.error.split('\n')[0])}">${esc(r.error)}</failure>` : '') +
      '</testcase>');
    const xml = '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<testsuites><testsuite name="sdk_compat" tests="${this.results.length}" ` +
      `failures="${this.failures().length}">\n${cases.join('\n')}\n</testsuite></testsuites>\n`;
    fs.writeFileSync(path, xml);
  }
}

module.exports = { Suite, AssertionFailed, check, eq, refused, refusedWith };
