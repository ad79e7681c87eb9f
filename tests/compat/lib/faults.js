'use strict';
// The SDKs' own retry behaviour against `serve --inject-fault`: one fresh server per fault, so
// the access log counts exactly the attempts the SDK made.
const path = require('path');
const { check, eq } = require('./harness');
const { Server } = require('./server');
const { sameKind } = require('./clients');
const { creds } = require('./cases');

// The retry options each client offers (Tea runtime options; pop-core has none).
const RUNTIME = { autoretry: true, maxAttempts: 3, backoffPolicy: 'fixed', backoffPeriod: 20 };

async function faultCase(client, env, fault, code, status) {
  const dir = path.join(env.tmp, `fault-${client.id}-${code}`);
  const server = await Server.start(env.bin, env.home, dir, [`${code}:${status}:${fault}`]);
  let error = null;
  let laterCalls = 0;
  try {
    const sdk = sameKind(client, server.host, creds(0));
    try {
      await sdk.call('GenerateDataKey', { KeyId: env.setupKeyId }, { runtime: RUNTIME });
    } catch (e) {
      error = sdk.errorOf(e);
    }
    // Plain calls until the injected faults are used up: then the same client works again.
    for (let done = false; !done; laterCalls++) {
      check(laterCalls <= fault, `still failing after ${fault} injected faults`);
      done = await sdk.call('GenerateDataKey', { KeyId: env.setupKeyId }).then(() => true, () => false);
    }
  } finally {
    await server.stop();  // joins the workers: the access log is complete
  }
  const log = server.accessLog();
  eq(log.filter((e) => e.code === code).length, fault, `requests answered ${code}`);
  const attempts = log.length - laterCalls;
  if (error) {
    eq(error.kmsCode, code, 'surfaced code');
    eq(error.status, status, 'surfaced HTTP status');
    check(error.requestId, 'no RequestId on the injected fault');
    check(attempts <= RUNTIME.maxAttempts, `${attempts} attempts, maxAttempts ${RUNTIME.maxAttempts}`);
    return `no (${attempts} attempt${attempts > 1 ? 's' : ''})`;
  }
  eq(attempts, fault + 1, 'attempts of a call that succeeded after retrying');
  return `yes (${attempts} attempts)`;
}

async function retries(suite, client, env) {
  await suite.test(client, 'injected Throttling (400) and ServiceUnavailableTemporary (503): what the SDK retries',
                   ['GenerateDataKey'], async () => {
    client.retryNote = await faultCase(client, env, 2, 'Throttling', 400);
    client.retryNote503 = await faultCase(client, env, 1, 'ServiceUnavailableTemporary', 503);
  });
}

module.exports = { retries };
