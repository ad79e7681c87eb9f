'use strict';
// The SDKs' own retry behaviour against `serve --inject-fault`: one fresh server per fault, so
// the access log counts exactly the attempts the SDK made.
const path = require('path');
const { check, eq } = require('./harness');
const { Server } = require('./server');
const { sameKind } = require('./clients');
const { ok, creds } = require('./cases');

// The retry options each client offers (Tea runtime options; pop-core has none).
const RUNTIME = { autoretry: true, maxAttempts: 3, backoffPolicy: 'fixed', backoffPeriod: 20 };

async function faultCase(client, env, fault, code, status) {
  const dir = path.join(env.tmp, `fault-${client.id}-${code}`);
  const server = await Server.start(env.bin, env.home, dir, [`${code}:${status}:${fault}`]);
  try {
    const sdk = sameKind(client, server.host, creds(0));
    let error = null;
    try {
      await sdk.call('GenerateDataKey', { KeyId: env.setupKeyId }, { runtime: RUNTIME });
    } catch (e) {
      error = sdk.errorOf(e);
    }
    const attempts = server.accessLog().length;
    if (error) {
      eq(error.kmsCode, code, 'surfaced code');
      eq(error.status, status, 'surfaced HTTP status');
      check(error.requestId, 'no RequestId on the injected fault');
    } else {
      eq(attempts, fault + 1, 'attempts of a call that succeeded after retrying');
    }
    // Once the fault is used up, the same client works again.
    while (server.accessLog().length < fault) {
      await sdk.call('GenerateDataKey', { KeyId: env.setupKeyId }).catch(() => {});
    }
    await ok(sdk, 'GenerateDataKey', { KeyId: env.setupKeyId }, ['Plaintext']);
    return error ? `no (${attempts} attempt${attempts > 1 ? 's' : ''})` : `yes (${attempts} attempts)`;
  } finally {
    await server.stop();
  }
}

async function retries(suite, client, env) {
  await suite.test(client, 'injected Throttling (400) and ServiceUnavailableTemporary (503): what the SDK retries',
                   ['GenerateDataKey'], async () => {
    client.retryNote = await faultCase(client, env, 2, 'Throttling', 400);
    client.retryNote503 = await faultCase(client, env, 1, 'ServiceUnavailableTemporary', 503);
  });
}

module.exports = { retries };
