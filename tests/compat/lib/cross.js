'use strict';
// Cross-checks: blobs an SDK made open through our RemoteKeyProvider (the CLI with
// --kms-endpoint, and the C API through c_datakey), and blobs those made open through the SDK.
const { execFileSync } = require('child_process');
const { check, eq, refused } = require('./harness');
const { ok, creds } = require('./cases');

// Runs a command with the admin's credentials in the environment; returns {status, json}.
function run(cmd, args, env) {
  const c = creds(0);
  try {
    const out = execFileSync(cmd, args, {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000,
      env: { ...process.env, ...env, ALIBABA_CLOUD_ACCESS_KEY_ID: c.accessKeyId,
             ALIBABA_CLOUD_ACCESS_KEY_SECRET: c.accessKeySecret },
    });
    return { status: 0, json: JSON.parse(out) };
  } catch (e) {
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

function cliDataKey(env, args, v3) {
  return run(env.bin, ['--kms-endpoint', env.server.url, 'datakey', ...args],
             { KMS_ENVELOPE_SIGNATURE_VERSION: v3 ? '3' : '1' });
}

function hex(b64) {
  return Buffer.from(b64, 'base64').toString('hex');
}

async function crossChecks(suite, client, env) {
  await suite.test(client, 'a blob made through this SDK opens through the CLI (RemoteKeyProvider) and the C API',
                   ['GenerateDataKey'], async () => {
    const { blob, plaintext, context } = env.blob;
    const ctx = JSON.stringify(context);
    const viaCli = cliDataKey(env, ['decrypt', '--ciphertext-blob', blob, '--encryption-context', ctx], client.v3);
    eq(viaCli.status, 0, `CLI decrypt exit status (${viaCli.stderr})`);
    eq(viaCli.json.Plaintext, plaintext, 'CLI Plaintext');
    const badCli = cliDataKey(env, ['decrypt', '--ciphertext-blob', blob, '--encryption-context', '{"app":"other"}']);
    check(badCli.status !== 0, 'CLI decrypt with another context succeeded');
    const viaC = run(env.cDataKey, ['decrypt', env.server.url, hex(blob), ctx]);
    eq(viaC.status, 0, `c_datakey exit status (${viaC.stderr})`);
    eq(viaC.json.Plaintext, hex(plaintext), 'C API Plaintext');
    const badC = run(env.cDataKey, ['decrypt', env.server.url, hex(blob), '{}']);
    eq(badC.status, 1, 'c_datakey with no context: exit status');
    eq(JSON.parse(badC.stdout).Status, 'KMSE_ERR_INVALID_CIPHERTEXT', 'c_datakey with no context: status');
  });
  await suite.test(client, 'blobs made by the CLI and the C API open through this SDK',
                   ['Decrypt'], async () => {
    const context = { made: 'elsewhere', by: client.id };
    const ctx = JSON.stringify(context);
    const fromCli = cliDataKey(env, ['generate', '--key-id', env.alias, '--encryption-context', ctx], client.v3);
    eq(fromCli.status, 0, `CLI generate exit status (${fromCli.stderr})`);
    const dec = await ok(client, 'Decrypt', { CiphertextBlob: fromCli.json.CiphertextBlob, EncryptionContext: context });
    eq(dec.raw.Plaintext, fromCli.json.Plaintext, 'SDK Plaintext of a CLI blob');
    await refused(client, () => client.call('Decrypt', { CiphertextBlob: fromCli.json.CiphertextBlob }),
                  'SDK Decrypt of a CLI blob without its context');
    const fromC = run(env.cDataKey, ['generate', env.server.url, env.alias, '24', ctx]);
    eq(fromC.status, 0, `c_datakey generate exit status (${fromC.stderr})`);
    const blob = Buffer.from(fromC.json.CiphertextBlob, 'hex').toString('base64');
    const decC = await ok(client, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: context });
    eq(hex(decC.raw.Plaintext), fromC.json.Plaintext, 'SDK Plaintext of a C API blob');
    eq(decC.raw.KeyId, env.keyId, 'KeyId of a C API blob');
  });
}

module.exports = { crossChecks };
