'use strict';
// Alibaba Cloud's official Node SDKs against a real `kms-envelope serve` on loopback.
//   node suite.js --bin KMS_ENVELOPE --c-datakey C_DATAKEY --tmp DIR [--junit FILE]
// Prints one line per case, then the compatibility table of docs/remote.md; exits 1 if any
// case failed. Run by //tests/compat:sdk_compat_test.
const fs = require('fs');
const path = require('path');
const { Suite } = require('./lib/harness');
const { Server, cli } = require('./lib/server');
const { allClients } = require('./lib/clients');
const cases = require('./lib/cases');
const refusals = require('./lib/cases_refusals');
const { crossChecks } = require('./lib/cross');
const { retries } = require('./lib/faults');

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i + 1 < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const need of ['bin', 'c-datakey', 'tmp']) {
    if (!out[need]) throw new Error(`missing --${need}`);
  }
  return out;
}

// The installed packages are exactly those package-lock.json pins.
function installedMismatches() {
  const lock = JSON.parse(fs.readFileSync(path.join(__dirname, 'package-lock.json'), 'utf8'));
  const bad = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (!where) continue;
    const file = path.join(__dirname, where, 'package.json');
    const got = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).version : 'missing';
    if (got !== entry.version) bad.push(`${where}: installed ${got}, lock ${entry.version}`);
  }
  return bad;
}

async function main() {
  const a = args();
  const mismatches = installedMismatches();
  if (mismatches.length) {
    console.error(`FAIL: node_modules does not match package-lock.json (run npm ci):\n${mismatches.join('\n')}`);
    process.exit(1);
  }
  const home = path.join(a.tmp, 'store');
  const setupKeyId = JSON.parse(cli(a.bin, home, ['key', 'create', '--description', 'compat setup'])).KeyMetadata.KeyId;
  cli(a.bin, home, ['alias', 'create', '--alias-name', 'alias/compat-app', '--key-id', setupKeyId]);
  const server = await Server.start(a.bin, home, path.join(a.tmp, 'main'));
  const suite = new Suite();
  const started = Date.now();
  try {
    const c = cases.creds(0);
    for (const client of allClients(server.host, c)) {
      const env = { server, bin: a.bin, cDataKey: a['c-datakey'], home, tmp: a.tmp, setupKeyId };
      suite.clientEntry(client);
      await cases.keyLifecycle(suite, client, env);
      await cases.dataKeys(suite, client, env);
      await crossChecks(suite, client, env);
      await refusals.contextBinding(suite, client, env);
      await refusals.unknownParameters(suite, client, env);
      await refusals.credentialsAndPolicy(suite, client, env);
      await refusals.xmlFormat(suite, client, env);
      await cases.keyAdministration(suite, client, env);
      await retries(suite, client, env);
    }
  } finally {
    await server.stop();
  }
  const failed = suite.failures().length;
  console.log(`\nnode ${process.version}, ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  console.log(suite.table());
  console.log(`\n${suite.results.length - failed} passed, ${failed} failed`);
  if (a.junit) suite.writeJUnit(a.junit);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack}`);
  process.exit(1);
});
