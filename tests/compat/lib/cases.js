'use strict';
// The cases every client runs against one `kms-envelope serve`: each action the server
// implements, response shapes against the SDK's models, errors as the SDK surfaces them,
// context binding in every style the client sends, aliases, bounds, pagination, STS, XML.
const { check, eq, refused, refusedWith } = require('./harness');
const { responseProblems } = require('./schema');
const { sameKind } = require('./clients');
const { ACCESS } = require('./server');

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function bytesOf(b64, what) {
  check(typeof b64 === 'string' && BASE64.test(b64), `${what}: not base64: ${JSON.stringify(b64)}`);
  return Buffer.from(b64, 'base64');
}

// Calls `action` and checks the response map against the SDK's model and `required` fields.
async function ok(client, action, params, required = [], options = {}) {
  const res = await client.call(action, params, options);
  const problems = responseProblems(action, res.raw, ['RequestId', ...required]);
  check(problems.length === 0, problems.join('; '));
  if (res.model) {
    // The typed model as a caller reads it: the same values under lowerCamel names.
    eq(res.model.requestId, res.raw.RequestId, `${action}: model.requestId`);
  }
  return res;
}

// Credentials of access-file entry `index` (0 admin, 1 app, 2 STS), with its SecurityToken.
function creds(index) {
  const k = ACCESS.AccessKeys[index];
  const c = { accessKeyId: k.AccessKeyId, accessKeySecret: k.AccessKeySecret };
  if (k.SecurityToken) c.securityToken = k.SecurityToken;
  return c;
}

// Walks every page of ListKeys / ListAliases with `pageSize`; returns the items.
async function allPages(client, action, pageSize) {
  const listName = action === 'ListKeys' ? ['Keys', 'Key'] : ['Aliases', 'Alias'];
  const items = [];
  let total = null;
  for (let page = 1; page < 1000; page++) {
    const res = await ok(client, action, { PageNumber: page, PageSize: pageSize },
                         ['TotalCount', 'PageNumber', 'PageSize']);
    const raw = res.raw;
    eq(raw.PageNumber, page, `${action} PageNumber`);
    eq(raw.PageSize, pageSize, `${action} PageSize`);
    if (total === null) total = raw.TotalCount;
    eq(raw.TotalCount, total, `${action} TotalCount stable across pages`);
    const list = raw[listName[0]] ? raw[listName[0]][listName[1]] : [];
    check(Array.isArray(list), `${action}: ${listName.join('.')} is not an array`);
    check(list.length <= pageSize, `${action}: ${list.length} items on a page of ${pageSize}`);
    if (res.model) {
      const modelList = res.model[listName[0].toLowerCase()][listName[1].toLowerCase()];
      eq(modelList.length, list.length, `${action}: model list length`);
    }
    items.push(...list);
    if (items.length >= total || list.length === 0) break;
  }
  eq(items.length, total, `${action}: items over all pages vs TotalCount`);
  return items;
}

async function keyLifecycle(suite, client, env) {
  await suite.test(client, 'CreateKey and DescribeKey: KeyMetadata as the SDK models it',
                   ['CreateKey', 'DescribeKey'], async () => {
    const created = await ok(client, 'CreateKey', { Description: `compat ${client.label}` },
                             ['KeyMetadata.KeyId', 'KeyMetadata.Arn', 'KeyMetadata.KeyState']);
    const md = created.raw.KeyMetadata;
    check(GUID.test(md.KeyId), `KeyId ${md.KeyId} is not a GUID`);
    eq(md.KeyState, 'Enabled', 'KeyState');
    env.keyId = md.KeyId;
    const described = await ok(client, 'DescribeKey', { KeyId: md.KeyId },
                               ['KeyMetadata.KeyId', 'KeyMetadata.PrimaryKeyVersion']);
    eq(described.raw.KeyMetadata.KeyId, md.KeyId, 'DescribeKey KeyId');
    eq(described.raw.KeyMetadata.Description, `compat ${client.label}`, 'Description');
    if (described.model) eq(described.model.keyMetadata.keyId, md.KeyId, 'model.keyMetadata.keyId');
  });
  await suite.test(client, 'CreateAlias, then the alias resolves in GenerateDataKey',
                   ['CreateAlias', 'GenerateDataKey'], async () => {
    env.alias = `alias/compat-${client.id}`;
    await ok(client, 'CreateAlias', { AliasName: env.alias, KeyId: env.keyId });
    const res = await ok(client, 'GenerateDataKey', { KeyId: env.alias },
                         ['KeyId', 'KeyVersionId', 'CiphertextBlob', 'Plaintext']);
    eq(res.raw.KeyId, env.keyId, 'KeyId of a call through the alias');
    eq(bytesOf(res.raw.Plaintext, 'Plaintext').length, 32, 'default data key length');
    await refusedWith(client, () => client.call('CreateAlias', { AliasName: env.alias, KeyId: env.keyId }),
                      'Rejected.AliasAlreadyExists', 409, 'CreateAlias of an existing alias');
  });
  await suite.test(client, 'ListKeys pages (PageSize 2) add up to TotalCount; PageSize bounds',
                   ['ListKeys'], async () => {
    const keys = await allPages(client, 'ListKeys', 2);
    check(keys.some((k) => k.KeyId === env.keyId), 'the new key is not listed');
    eq(new Set(keys.map((k) => k.KeyId)).size, keys.length, 'distinct keys over pages');
    for (const size of [0, 101]) {
      await refusedWith(client, () => client.call('ListKeys', { PageSize: size }),
                        'InvalidParameter', 400, `ListKeys PageSize=${size}`);
    }
  });
  await suite.test(client, 'ListAliases pages (PageSize 1) add up to TotalCount',
                   ['ListAliases'], async () => {
    const aliases = await allPages(client, 'ListAliases', 1);
    const mine = aliases.find((a) => a.AliasName === env.alias);
    check(mine, `${env.alias} is not listed`);
    eq(mine.KeyId, env.keyId, 'alias KeyId');
  });
}


async function dataKeys(suite, client, env) {
  const context = { app: 'compat', client: client.id };
  await suite.test(client, 'GenerateDataKey / Decrypt round trip with an EncryptionContext',
                   ['GenerateDataKey', 'Decrypt'], async () => {
    const gen = await ok(client, 'GenerateDataKey', { KeyId: env.keyId, EncryptionContext: context },
                         ['KeyId', 'KeyVersionId', 'CiphertextBlob', 'Plaintext']);
    const key = bytesOf(gen.raw.Plaintext, 'Plaintext');
    eq(key.length, 32, 'Plaintext bytes');
    bytesOf(gen.raw.CiphertextBlob, 'CiphertextBlob');
    if (gen.model) eq(gen.model.ciphertextBlob, gen.raw.CiphertextBlob, 'model.ciphertextBlob');
    const dec = await ok(client, 'Decrypt', { CiphertextBlob: gen.raw.CiphertextBlob, EncryptionContext: context },
                         ['KeyId', 'KeyVersionId', 'Plaintext']);
    eq(dec.raw.Plaintext, gen.raw.Plaintext, 'Decrypt Plaintext');
    eq(dec.raw.KeyId, env.keyId, 'Decrypt KeyId');
    eq(dec.raw.KeyVersionId, gen.raw.KeyVersionId, 'Decrypt KeyVersionId');
    env.blob = { blob: gen.raw.CiphertextBlob, plaintext: gen.raw.Plaintext, context,
                 version: gen.raw.KeyVersionId };
  });
  await suite.test(client, 'KeySpec and NumberOfBytes: sizes honoured, out-of-range refused',
                   ['GenerateDataKey'], async () => {
    const sizes = [[{ KeySpec: 'AES_128' }, 16], [{ KeySpec: 'AES_256' }, 32],
                   [{ NumberOfBytes: 1 }, 1], [{ NumberOfBytes: 1024 }, 1024]];
    for (const [extra, want] of sizes) {
      const res = await ok(client, 'GenerateDataKey', { KeyId: env.keyId, ...extra }, ['Plaintext']);
      eq(bytesOf(res.raw.Plaintext, 'Plaintext').length, want, `Plaintext bytes for ${JSON.stringify(extra)}`);
    }
    for (const bad of [{ NumberOfBytes: 0 }, { NumberOfBytes: 1025 }, { KeySpec: 'AES_512' }]) {
      await refusedWith(client, () => client.call('GenerateDataKey', { KeyId: env.keyId, ...bad }),
                        'InvalidParameter', 400, `GenerateDataKey ${JSON.stringify(bad)}`);
    }
  });
  await suite.test(client, 'GenerateDataKeyWithoutPlaintext: no Plaintext; Decrypt recovers 32 bytes',
                   ['GenerateDataKeyWithoutPlaintext', 'Decrypt'], async () => {
    const res = await ok(client, 'GenerateDataKeyWithoutPlaintext', { KeyId: env.alias, EncryptionContext: context },
                         ['KeyId', 'KeyVersionId', 'CiphertextBlob']);
    check(!('Plaintext' in res.raw), 'a Plaintext came back');
    eq(res.raw.KeyId, env.keyId, 'KeyId through the alias');
    const dec = await ok(client, 'Decrypt', { CiphertextBlob: res.raw.CiphertextBlob, EncryptionContext: context });
    eq(bytesOf(dec.raw.Plaintext, 'Plaintext').length, 32, 'Plaintext bytes');
  });
  await suite.test(client, 'Encrypt / Decrypt round trip of arbitrary bytes (base64 Plaintext)',
                   ['Encrypt', 'Decrypt'], async () => {
    const data = Buffer.from([0, 1, 2, 255, 254, 0x2b, 0x2f, 0x3d]).toString('base64');
    const enc = await ok(client, 'Encrypt', { KeyId: env.alias, Plaintext: data, EncryptionContext: context },
                         ['KeyId', 'KeyVersionId', 'CiphertextBlob']);
    eq(enc.raw.KeyId, env.keyId, 'Encrypt KeyId');
    const dec = await ok(client, 'Decrypt', { CiphertextBlob: enc.raw.CiphertextBlob, EncryptionContext: context });
    eq(dec.raw.Plaintext, data, 'Decrypt of Encrypt');
  });
  await suite.test(client, 'ReEncrypt to another key and context; the old context no longer opens it',
                   ['ReEncrypt', 'Decrypt'], async () => {
    const src = { from: client.id };
    const dst = { to: client.id };
    const gen = await ok(client, 'GenerateDataKey', { KeyId: env.setupKeyId, EncryptionContext: src });
    const re = await ok(client, 'ReEncrypt', {
      CiphertextBlob: gen.raw.CiphertextBlob, DestinationKeyId: env.alias,
      SourceEncryptionContext: src, DestinationEncryptionContext: dst,
    }, ['KeyId', 'KeyVersionId', 'SourceKeyId', 'SourceKeyVersionId', 'CiphertextBlob']);
    eq(re.raw.SourceKeyId, env.setupKeyId, 'SourceKeyId');
    eq(re.raw.KeyId, env.keyId, 'KeyId (destination alias resolved)');
    const dec = await ok(client, 'Decrypt', { CiphertextBlob: re.raw.CiphertextBlob, EncryptionContext: dst });
    eq(dec.raw.Plaintext, gen.raw.Plaintext, 'Decrypt after ReEncrypt');
    await refusedWith(client, () => client.call('Decrypt', { CiphertextBlob: re.raw.CiphertextBlob, EncryptionContext: src }),
                      'InvalidCiphertext', 400, 'Decrypt with the source context');
    await refusedWith(client, () => client.call('ReEncrypt', {
      CiphertextBlob: gen.raw.CiphertextBlob, DestinationKeyId: env.keyId,
      SourceEncryptionContext: { from: 'someone else' }, DestinationEncryptionContext: dst,
    }), 'InvalidCiphertext', 400, 'ReEncrypt with a wrong source context');
  });
}

async function keyAdministration(suite, client, env) {
  await suite.test(client, 'CreateKeyVersion: new primary version; old blobs still decrypt',
                   ['CreateKeyVersion', 'DescribeKey', 'GenerateDataKey', 'Decrypt'], async () => {
    const res = await ok(client, 'CreateKeyVersion', { KeyId: env.keyId },
                         ['KeyVersion.KeyId', 'KeyVersion.KeyVersionId', 'KeyVersion.CreationDate']);
    const version = res.raw.KeyVersion.KeyVersionId;
    check(version !== env.blob.version, 'the version did not change');
    const md = (await ok(client, 'DescribeKey', { KeyId: env.keyId })).raw.KeyMetadata;
    eq(md.PrimaryKeyVersion, version, 'PrimaryKeyVersion');
    const gen = await ok(client, 'GenerateDataKey', { KeyId: env.keyId });
    eq(gen.raw.KeyVersionId, version, 'GenerateDataKey KeyVersionId after rotation');
    const dec = await ok(client, 'Decrypt', { CiphertextBlob: env.blob.blob, EncryptionContext: env.blob.context });
    eq(dec.raw.Plaintext, env.blob.plaintext, 'old blob after rotation');
    eq(dec.raw.KeyVersionId, env.blob.version, 'old blob names its version');
  });
  await suite.test(client, 'DisableKey refuses data keys (Rejected.Disabled); EnableKey restores',
                   ['DisableKey', 'EnableKey', 'DescribeKey', 'GenerateDataKey'], async () => {
    await ok(client, 'DisableKey', { KeyId: env.keyId });
    eq((await ok(client, 'DescribeKey', { KeyId: env.keyId })).raw.KeyMetadata.KeyState, 'Disabled', 'KeyState');
    await refusedWith(client, () => client.call('GenerateDataKey', { KeyId: env.alias }),
                      'Rejected.Disabled', 409, 'GenerateDataKey on a disabled key');
    await ok(client, 'EnableKey', { KeyId: env.keyId });
    await ok(client, 'GenerateDataKey', { KeyId: env.alias }, ['Plaintext']);
  });
  await suite.test(client, 'ScheduleKeyDeletion (PendingWindowInDays 7..30) and CancelKeyDeletion',
                   ['ScheduleKeyDeletion', 'CancelKeyDeletion', 'DescribeKey', 'GenerateDataKey'], async () => {
    for (const days of [6, 31]) {
      await refusedWith(client, () => client.call('ScheduleKeyDeletion', { KeyId: env.keyId, PendingWindowInDays: days }),
                        'InvalidParameter', 400, `PendingWindowInDays=${days}`);
    }
    await ok(client, 'ScheduleKeyDeletion', { KeyId: env.keyId, PendingWindowInDays: 7 });
    const md = (await ok(client, 'DescribeKey', { KeyId: env.keyId }, ['KeyMetadata.DeleteDate'])).raw.KeyMetadata;
    eq(md.KeyState, 'PendingDeletion', 'KeyState');
    await refusedWith(client, () => client.call('GenerateDataKey', { KeyId: env.keyId }),
                      'Rejected.PendingDeletion', 409, 'GenerateDataKey on a key pending deletion');
    await ok(client, 'CancelKeyDeletion', { KeyId: env.keyId });
    const after = (await ok(client, 'DescribeKey', { KeyId: env.keyId })).raw.KeyMetadata.KeyState;
    check(after !== 'PendingDeletion', `KeyState after CancelKeyDeletion: ${after}`);
  });
}

module.exports = { ok, bytesOf, creds, keyLifecycle, dataKeys, keyAdministration, GUID };
