'use strict';
// The clients under test, each behind one small adapter: call(action, params, options) returns
// {raw, model} (raw: the response map as the SDK read it; model: the SDK's typed model when the
// client has one) or throws the SDK's own error, which errorOf() reads the way a caller would.
// params use the API's names; an EncryptionContext-like value is a JS object that the adapter
// sends in `contextStyle`: "flat" (EncryptionContext.<k>=<v>, what the SDK's request models
// produce) or "json" (one JSON string, the API reference's form).
const Kms = require('@alicloud/kms20160120');
const OpenApi = require('@alicloud/openapi-client');
const OpenApiUtil = require('@alicloud/openapi-util').default;
const PopCore = require('@alicloud/pop-core');

const API_VERSION = '2016-01-20';
const CONTEXT_PARAMS = ['EncryptionContext', 'SourceEncryptionContext', 'DestinationEncryptionContext'];

function versionOf(pkg) {
  return require(`${pkg}/package.json`).version;
}

function lowerFirst(s) {
  return s[0].toLowerCase() + s.slice(1);
}

// Contexts as one JSON string each (the style the generated SDKs' *ShrinkRequest produce).
function jsonContexts(params) {
  const out = { ...params };
  for (const name of CONTEXT_PARAMS) {
    if (out[name] !== undefined && typeof out[name] === 'object') {
      out[name] = OpenApiUtil.arrayToStringWithSpecifiedStyle(out[name], name, 'json');
    }
  }
  return out;
}

// "code: 400, <message> request id: <id>" is where the Tea clients put the HTTP status.
function statusFromMessage(message) {
  const m = /code: (\d+),/.exec(message || '');
  return m ? Number(m[1]) : undefined;
}

// @alicloud/kms20160120 (typed request/response models over @alicloud/rpc-client), V1.
class Kms20160120Client {
  constructor(host, creds) {
    const Base = Kms.default;
    // Observes the raw map the SDK parsed before it casts it to the model.
    class Observed extends Base {
      async doRequest(...args) {
        const res = await super.doRequest(...args);
        this.lastRaw = res;
        return res;
      }
    }
    this.sdk = new Observed({ ...creds, endpoint: host, protocol: 'http', regionId: 'cn-hangzhou' });
    this.id = 'kms20160120';
    this.packages = `@alicloud/kms20160120 ${versionOf('@alicloud/kms20160120')} ` +
      `(@alicloud/rpc-client ${versionOf('@alicloud/rpc-client')})`;
    this.signature = 'V1 HMAC-SHA1';
    this.contextStyles = ['flat'];
    this.contextStyle = 'flat (request models)';
    this.canXml = false;
    this.label = 'kms20160120 V1';
    this.variant = 'typed models (ReEncrypt: the client\'s doRequest, no model in 1.2.0)';
  }

  async call(action, params, options = {}) {
    const runtime = options.runtime || {};
    const method = this.sdk[`${lowerFirst(action)}Ex`];
    const Request = Kms[`${action}Request`];
    const known = Request && Object.values(Request.names());
    const typed = method && !options.untyped && Object.keys(params).every((k) => known.includes(k));
    if (!typed) {
      // No typed method for this action (or a parameter the model lacks): the client's own
      // signed transport, the call every typed method makes.
      const raw = await this.sdk.doRequest(action, 'HTTPS', 'POST', API_VERSION, 'AK', params, null, runtime);
      return { raw, model: null };
    }
    const fields = {};
    for (const [field, name] of Object.entries(Request.names())) {
      if (params[name] !== undefined) fields[field] = params[name];
    }
    const model = await method.call(this.sdk, new Request(fields), runtime);
    return { raw: this.sdk.lastRaw, model, Response: Kms[`${action}Response`] };
  }

  errorOf(e) {
    const data = e.data || {};
    return { code: e.code, kmsCode: String(e.code || '').replace(/Error$/, ''),
             status: statusFromMessage(e.message), requestId: data.RequestId, message: e.message };
  }
}

// @alicloud/openapi-client callApi: V1 (signatureAlgorithm "v2" -> doRPCRequest) or V3
// (the default in this version: doRequest, ACS3-HMAC-SHA256).
class OpenApiClient {
  // `algorithm` overrides the V3 signature algorithm (the client also offers ACS3-HMAC-SM3).
  constructor(host, creds, v3, algorithm) {
    this.sdk = new OpenApi.default(new OpenApi.Config({
      ...creds, endpoint: host, protocol: 'http', regionId: 'cn-hangzhou',
      signatureAlgorithm: algorithm || (v3 ? 'ACS3-HMAC-SHA256' : 'v2'),
    }));
    this.v3 = v3;
    this.id = `openapi-${v3 ? 'v3' : 'v1'}`;
    this.packages = `@alicloud/openapi-client ${versionOf('@alicloud/openapi-client')}`;
    this.signature = v3 ? 'V3 ACS3-HMAC-SHA256 (its ACS3-HMAC-SM3: refused)' : 'V1 HMAC-SHA1';
    this.contextStyles = ['json', 'flat'];
    this.contextStyle = 'json and flat (OpenApiUtil)';
    this.canXml = true;
    this.label = `openapi-client ${v3 ? 'V3' : 'V1'}`;
    this.variant = v3 ? 'callApi (default: doRequest)' : 'callApi, signatureAlgorithm "v2" (doRPCRequest)';
  }

  // options.style: "json" (default) | "flat"; options.xml: Format=XML, body returned as text;
  // options.body: parameters in a form body instead of the query.
  async call(action, params, options = {}) {
    const style = options.style || 'json';
    const sent = style === 'json' ? jsonContexts(params) : params;
    const flat = OpenApiUtil.query(sent);
    if (options.xml) flat.Format = 'XML';
    const request = new OpenApi.OpenApiRequest(options.body ? { body: flat } : { query: flat });
    const apiParams = new OpenApi.Params({
      action, version: API_VERSION, protocol: 'HTTP', pathname: '/', method: 'POST',
      authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: options.xml ? 'string' : 'json',
    });
    const res = await this.sdk.callApi(apiParams, request, options.runtime || {});
    return { raw: res.body, status: res.statusCode, headers: res.headers, model: null };
  }

  errorOf(e) {
    const data = e.data || {};
    return { code: e.code, kmsCode: e.code, status: data.statusCode, requestId: data.RequestId,
             message: e.message };
  }
}

// @alicloud/pop-core RPCClient, V1: GET (parameters in the URL) or POST (form body).
class PopCoreClient {
  constructor(host, creds, post) {
    this.sdk = new PopCore.RPCClient({
      endpoint: `http://${host}`, apiVersion: API_VERSION, accessKeyId: creds.accessKeyId,
      accessKeySecret: creds.accessKeySecret, securityToken: creds.securityToken,
    });
    this.post = post;
    this.id = `pop-core-${post ? 'post' : 'get'}`;
    this.packages = `@alicloud/pop-core ${versionOf('@alicloud/pop-core')}`;
    this.signature = 'V1 HMAC-SHA1';
    this.contextStyles = ['json'];
    this.contextStyle = 'json';
    this.canXml = false;
    this.label = `pop-core V1 ${post ? 'POST' : 'GET'}`;
    this.variant = post ? 'RPCClient, POST (form body)' : 'RPCClient, GET (query)';
  }

  async call(action, params, options = {}) {
    const opts = { method: this.post ? 'POST' : 'GET', timeout: 10000, formatParams: false };
    const raw = await this.sdk.request(action, jsonContexts(params), opts);
    return { raw, model: null };
  }

  errorOf(e) {
    const data = e.data || {};
    const status = e.entry && e.entry.response ? e.entry.response.statusCode : undefined;
    return { code: e.code, kmsCode: e.code, status, requestId: data.RequestId, message: e.message };
  }
}

// Every client variant, each with its own credentials ({accessKeyId, accessKeySecret,
// securityToken?}).
function allClients(host, creds) {
  return [
    new Kms20160120Client(host, creds),
    new OpenApiClient(host, creds, false),
    new OpenApiClient(host, creds, true),
    new PopCoreClient(host, creds, false),
    new PopCoreClient(host, creds, true),
  ];
}

// The same variant as `client`, with other credentials (and for V3, another `algorithm`).
function sameKind(client, host, creds, algorithm) {
  if (client instanceof Kms20160120Client) return new Kms20160120Client(host, creds);
  if (client instanceof OpenApiClient) return new OpenApiClient(host, creds, client.v3, algorithm);
  return new PopCoreClient(host, creds, client.post);
}

module.exports = { allClients, sameKind, versionOf, jsonContexts };
