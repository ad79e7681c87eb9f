'use strict';
// Refusals as each SDK surfaces them (code, HTTP status, RequestId), context binding in every
// style the client sends, unknown parameters, credentials (wrong secret, unknown AccessKeyId,
// STS token), the access policy, and XML responses.
const TeaXml = require('@alicloud/tea-xml').default;
const { check, eq, refusedWith } = require('./harness');
const { sameKind } = require('./clients');
const { ok, bytesOf, creds } = require('./cases');

// The RequestId a caller got is the one the server logged for that refusal (the line may be
// written just after the answer: waits up to 2 s for it).
async function checkLogged(env, err, code) {
  let entry;
  for (let i = 0; i < 40 && !entry; i++) {
    entry = env.server.accessLog().find((e) => e.request_id === err.requestId);
    if (!entry) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  check(entry, `RequestId ${err.requestId} is not in the server's access log`);
  eq(entry.code, code, 'logged code');
  eq(entry.status, err.status, 'logged HTTP status');
}

async function contextBinding(suite, client, env) {
  for (const style of client.contextStyles) {
    const ctx = { app: 'compat', tenant: `t-${client.id}` };
    await suite.test(client, `EncryptionContext (${style}): same context decrypts; different, missing, extra or renamed is refused`,
                     ['GenerateDataKey', 'Decrypt'], async () => {
      const gen = await ok(client, 'GenerateDataKey', { KeyId: env.keyId, EncryptionContext: ctx }, ['CiphertextBlob'], { style });
      const blob = gen.raw.CiphertextBlob;
      const dec = await ok(client, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: ctx }, ['Plaintext'], { style });
      eq(dec.raw.Plaintext, gen.raw.Plaintext, 'Plaintext with the same context');
      const wrong = {
        'a different value': { app: 'compat', tenant: 'someone-else' },
        'no context': undefined,
        'an extra key': { ...ctx, extra: 'x' },
        'a missing key': { app: 'compat' },
        'a renamed key': { app: 'compat', Tenant: ctx.tenant },
      };
      for (const [what, other] of Object.entries(wrong)) {
        const params = { CiphertextBlob: blob };
        if (other) params.EncryptionContext = other;
        await refusedWith(client, () => client.call('Decrypt', params, { style }),
                          'InvalidCiphertext', 400, `Decrypt with ${what}`);
      }
      if (client.contextStyles.length > 1) {
        const otherStyle = client.contextStyles.find((s) => s !== style);
        const cross = await ok(client, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: ctx }, ['Plaintext'],
                               { style: otherStyle });
        eq(cross.raw.Plaintext, gen.raw.Plaintext, `the same context sent ${otherStyle}`);
      }
    });
  }
}

async function unknownParameters(suite, client, env) {
  await suite.test(client, 'a parameter the action does not define is refused (InvalidParameter naming it)',
                   ['GenerateDataKey', 'Decrypt'], async () => {
    for (const name of ['Foo', 'EncryptionContexts', 'Encryptioncontext']) {
      const err = await refusedWith(client, () => client.call('GenerateDataKey', { KeyId: env.keyId, [name]: 'x' }),
                                    'InvalidParameter', 400, `GenerateDataKey with ${name}`);
      check(err.message.includes(name), `the message does not name ${name}: ${err.message}`);
    }
    if (client.contextStyles.includes('flat') && client.contextStyles.includes('json')) {
      // Both styles in one request: refused, never merged.
      const gen = await ok(client, 'GenerateDataKey', { KeyId: env.keyId, EncryptionContext: { app: 'x' } });
      await refusedWith(client, () => client.call('Decrypt', {
        CiphertextBlob: gen.raw.CiphertextBlob, EncryptionContext: JSON.stringify({ app: 'x' }),
        'EncryptionContext.app': 'x',
      }, { style: 'flat' }), 'InvalidParameter', 400, 'Decrypt with both context styles');
    }
  });
}

async function credentialsAndPolicy(suite, client, env) {
  const host = env.server.host;
  await suite.test(client, 'errors as the SDK surfaces them: code, HTTP status, RequestId (as logged)',
                   ['DescribeKey', 'GenerateDataKey', 'Decrypt'], async () => {
    const cases = [
      [() => client.call('DescribeKey', { KeyId: '00000000-0000-4000-8000-000000000000' }), 'Forbidden.KeyNotFound', 404],
      [() => client.call('GenerateDataKey', { KeyId: 'alias/compat-nonexistent' }), 'Forbidden.AliasNotFound', 404],
      [() => client.call('Decrypt', { CiphertextBlob: Buffer.alloc(80, 7).toString('base64') }), 'InvalidCiphertext', 400],
      [() => client.call('GenerateDataKey', {}), 'MissingParameter', 400],
      [() => sameKind(client, host, { ...creds(0), accessKeySecret: 'wrong' }).call('DescribeKey', { KeyId: env.keyId }),
       'SignatureDoesNotMatch', 400],
      [() => sameKind(client, host, { ...creds(0), accessKeyId: 'compat-nobody' }).call('DescribeKey', { KeyId: env.keyId }),
       'InvalidAccessKeyId.NotFound', 404],
    ];
    if (client.v3) {
      // The other HMAC algorithm this client offers is refused, not half-verified.
      cases.push([() => sameKind(client, host, creds(0), 'ACS3-HMAC-SM3').call('DescribeKey', { KeyId: env.keyId }),
                  'IncompleteSignature', 400]);
    }
    for (const [fn, code, status] of cases) {
      await checkLogged(env, await refusedWith(client, fn, code, status, code), code);
    }
  });
  await suite.test(client, 'access policy: allowed through its alias only; other keys and actions Forbidden.NoPermission',
                   ['GenerateDataKey', 'Decrypt', 'DescribeKey'], async () => {
    const app = sameKind(client, host, creds(1));
    const gen = await ok(app, 'GenerateDataKey', { KeyId: 'alias/compat-app' }, ['Plaintext']);
    const dec = await ok(app, 'Decrypt', { CiphertextBlob: gen.raw.CiphertextBlob });
    eq(dec.raw.Plaintext, gen.raw.Plaintext, 'Decrypt by the app');
    await refusedWith(app, () => app.call('GenerateDataKey', { KeyId: env.keyId }), 'Forbidden.NoPermission', 403,
                      'GenerateDataKey on a key outside the policy');
    await refusedWith(app, () => app.call('DescribeKey', { KeyId: env.setupKeyId }), 'Forbidden.NoPermission', 403,
                      'an action outside the policy');
  });
  await suite.test(client, 'STS: the SecurityToken bound to the key is accepted; a wrong, missing or unexpected one refused',
                   ['GenerateDataKey', 'Decrypt'], async () => {
    const sts = sameKind(client, host, creds(2));
    const gen = await ok(sts, 'GenerateDataKey', { KeyId: env.keyId }, ['Plaintext']);
    const dec = await ok(sts, 'Decrypt', { CiphertextBlob: gen.raw.CiphertextBlob });
    eq(dec.raw.Plaintext, gen.raw.Plaintext, 'Decrypt with STS credentials');
    const tokens = [['a wrong token', { ...creds(2), securityToken: 'compat-sts-other' }],
                    ['no token for a key that has one', { ...creds(2), securityToken: undefined }],
                    ['a token for a key that has none', { ...creds(0), securityToken: 'compat-sts-token' }]];
    for (const [what, c] of tokens) {
      await refusedWith(sts, () => sameKind(client, host, c).call('GenerateDataKey', { KeyId: env.keyId }),
                        'InvalidSecurityToken.MismatchWithAccessKey', 400, what);
    }
  });
}

async function xmlFormat(suite, client, env) {
  if (!client.canXml) return;
  await suite.test(client, 'Format=XML: the response document carries the JSON fields; XML errors parse',
                   ['GenerateDataKey', 'DescribeKey'], async () => {
    const res = await client.call('GenerateDataKey', { KeyId: env.keyId }, { xml: true });
    check(typeof res.raw === 'string', 'XML body is not text');
    const doc = TeaXml.parseXml(res.raw, null);
    const roots = Object.keys(doc);
    eq(roots.join(), 'KMS', 'XML root (the API reference\'s sample document)');
    const body = doc[roots[0]];
    for (const f of ['CiphertextBlob', 'KeyId', 'KeyVersionId', 'Plaintext', 'RequestId']) {
      check(typeof body[f] === 'string' && body[f].length > 0, `XML element ${f} missing in ${res.raw.slice(0, 300)}`);
    }
    eq(body.KeyId, env.keyId, 'XML KeyId');
    eq(bytesOf(body.Plaintext, 'XML Plaintext').length, 32, 'XML Plaintext bytes');
    if (client.v3) {
      // This client reads an XML error body when the content-type says XML.
      await refusedWith(client, () => client.call('DescribeKey', { KeyId: '00000000-0000-4000-8000-000000000000' }, { xml: true }),
                        'Forbidden.KeyNotFound', 404, 'an XML error');
    }
  });
}

module.exports = { contextBinding, unknownParameters, credentialsAndPolicy, xmlFormat };
