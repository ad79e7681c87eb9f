'use strict';
// A response map checked against the response model of @alicloud/kms20160120 (Alibaba's own
// description of the API): every field the server sends is a field of the model, with the JSON
// type the model declares (strictly: the SDK's cast would turn "5" into 5, the real service
// sends numbers), nested models and arrays included.
const Kms = require('@alicloud/kms20160120');

function isModel(t) {
  return typeof t === 'function' && typeof t.names === 'function';
}

function typeProblems(value, type, where) {
  if (isModel(type)) return modelProblems(value, type, where);
  if (type && type.type === 'array') {
    if (!Array.isArray(value)) return [`${where}: not an array`];
    return value.flatMap((v, i) => typeProblems(v, type.itemType, `${where}[${i}]`));
  }
  if (type && type.type === 'map') {
    return value && typeof value === 'object' ? [] : [`${where}: not an object`];
  }
  if (type === 'any') return [];
  return typeof value === type ? [] : [`${where}: ${typeof value} ${JSON.stringify(value)}, model says ${type}`];
}

function modelProblems(value, Model, where) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: not an object`];
  const names = Model.names();
  const types = Model.types();
  const byWire = Object.fromEntries(Object.entries(names).map(([field, wire]) => [wire, field]));
  const problems = [];
  for (const [wire, v] of Object.entries(value)) {
    const field = byWire[wire];
    if (field === undefined) {
      problems.push(`${where}.${wire}: not a field of ${Model.name}`);
    } else {
      problems.push(...typeProblems(v, types[field], `${where}.${wire}`));
    }
  }
  return problems;
}

// Problems of `raw` as the response of `action`; `required` lists dotted paths that must be
// present (e.g. "KeyMetadata.KeyId"). An action the SDK has no model for (ReEncrypt in 1.2.0)
// is checked against `fallback`'s model when given, else for `required` only.
function responseProblems(action, raw, required = [], fallback) {
  const Model = Kms[`${action}Response`] || (fallback && Kms[`${fallback}Response`]);
  const problems = Model ? modelProblems(raw, Model, action) : [];
  for (const p of required) {
    let v = raw;
    for (const part of p.split('.')) v = v == null ? undefined : v[part];
    if (v === undefined || v === null || v === '') problems.push(`${action}: ${p} missing`);
  }
  return problems;
}

module.exports = { responseProblems };
