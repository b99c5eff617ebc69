#!/usr/bin/env node
// Checks synthesized CloudFormation templates against the resource schemas
// that @aws-cdk/aws-service-spec ships (the package pinned in package.json;
// its db.json.gz holds every resource type with its properties and types).
// Fails on a resource type, property or nested field CloudFormation does not
// know, a value of the wrong JSON type, a missing required property, or an
// unknown resource attribute or DeletionPolicy. Intrinsic functions ({"Ref"},
// {"Fn::…"}) stand for any type anywhere: their value exists only at deploy.
//
// Usage: node scripts/check-schemas.mjs TEMPLATE.json...
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const RESOURCE_ATTRIBUTES = new Set(['Type', 'Properties', 'DependsOn', 'Metadata', 'Condition',
  'DeletionPolicy', 'UpdateReplacePolicy', 'CreationPolicy', 'UpdatePolicy']);
const POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
// Types CloudFormation accepts without a registry schema.
const SCHEMALESS = (type) => type === 'AWS::CDK::Metadata' || type.startsWith('Custom::');

/** Loads the resource types and property types of the pinned spec. */
export function loadSpec() {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve('@aws-cdk/aws-service-spec/package.json'));
  const db = JSON.parse(gunzipSync(readFileSync(path.join(dir, 'db.json.gz'))).toString('utf8'));
  const resources = new Map(db.schema.resource.entities.map((r) => [r.cloudFormationType, r]));
  const types = new Map(db.schema.typeDefinition.entities.map((t) => [t.$id, t]));
  if (resources.size < 1000 || types.size < 1000) {
    throw new Error(`${dir}/db.json.gz holds ${resources.size} resource types; the package layout changed`);
  }
  return { resources, types };
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isIntrinsic = (v) => isObject(v) && Object.keys(v).length === 1 &&
  (Object.keys(v)[0] === 'Ref' || Object.keys(v)[0].startsWith('Fn::'));
const show = (v) => { const s = JSON.stringify(v); return s.length > 60 ? `${s.slice(0, 57)}...` : s; };

/** Returns the problems of one value against a spec type, each "path: sentence". */
function checkValue(spec, value, type, where) {
  if (isIntrinsic(value)) return [];
  const wrong = (want) => [`${where}: want ${want}, got ${show(value)}`];
  switch (type.type) {
    case 'string': case 'date-time':
      return typeof value === 'string' ? [] : wrong('a string');
    case 'integer':
      return Number.isInteger(value) ? [] : wrong('an integer');
    case 'number':
      return typeof value === 'number' ? [] : wrong('a number');
    case 'boolean':
      return typeof value === 'boolean' ? [] : wrong('a boolean');
    case 'json':
      return isObject(value) || Array.isArray(value) || typeof value === 'string' ? [] : wrong('a JSON object');
    case 'tag':
      return checkFields(spec, value, { Key: { type: { type: 'string' }, required: true },
        Value: { type: { type: 'string' }, required: true } }, where, 'a tag');
    case 'array':
      if (!Array.isArray(value)) return wrong('an array');
      return value.flatMap((v, i) => checkValue(spec, v, type.element, `${where}[${i}]`));
    case 'map':
      if (!isObject(value)) return wrong('an object');
      return Object.entries(value).flatMap(([k, v]) => checkValue(spec, v, type.element, `${where}.${k}`));
    case 'union': {
      const results = type.types.map((t) => checkValue(spec, value, t, where));
      return results.some((r) => r.length === 0) ? [] : results.reduce((a, b) => (a.length <= b.length ? a : b));
    }
    case 'ref': {
      const def = spec.types.get(type.reference.$ref);
      if (!def) return [`${where}: the spec has no type ${type.reference.$ref}`];
      return checkFields(spec, value, def.properties, where, def.name);
    }
    default:
      return [`${where}: the spec's type ${show(type)} is not known to this checker`];
  }
}

/** Checks an object's fields against spec properties (resource or nested type). */
function checkFields(spec, value, properties, where, owner) {
  if (!isObject(value)) return [`${where}: want an object (${owner}), got ${show(value)}`];
  const problems = [];
  for (const [name, v] of Object.entries(value)) {
    const prop = properties[name];
    if (!prop) {
      problems.push(`${where}.${name}: ${owner} has no property ${name}`);
      continue;
    }
    // A property that changed type still accepts its previous types.
    const attempts = [prop.type, ...(prop.previousTypes || [])].map((t) => checkValue(spec, v, t, `${where}.${name}`));
    if (!attempts.some((a) => a.length === 0)) problems.push(...attempts[0]);
  }
  for (const [name, prop] of Object.entries(properties)) {
    if (prop.required && !(name in value)) problems.push(`${where}: ${owner} needs the property ${name}`);
  }
  return problems;
}

/** Returns every problem of a template, each as "Resources.<id>...: sentence". */
export function checkTemplate(spec, template) {
  const problems = [];
  for (const [id, resource] of Object.entries(template.Resources || {})) {
    const where = `Resources.${id}`;
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_ATTRIBUTES.has(key)) problems.push(`${where}.${key}: not a CloudFormation resource attribute`);
    }
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy']) {
      if (key in resource && !POLICIES.has(resource[key])) {
        problems.push(`${where}.${key}: ${show(resource[key])} is not Delete, Retain, RetainExceptOnCreate or Snapshot`);
      }
    }
    if (typeof resource.Type !== 'string' || SCHEMALESS(resource.Type)) continue;
    const type = spec.resources.get(resource.Type);
    if (!type) {
      problems.push(`${where}.Type: ${resource.Type} is not a CloudFormation resource type`);
      continue;
    }
    problems.push(...checkFields(spec, resource.Properties || {}, type.properties, `${where}.Properties`, resource.Type));
  }
  return problems;
}

function main(files) {
  if (files.length === 0) {
    console.error('usage: node scripts/check-schemas.mjs TEMPLATE.json...');
    process.exit(2);
  }
  const spec = loadSpec();
  let failed = 0;
  let resources = 0;
  for (const file of files) {
    const template = JSON.parse(readFileSync(file, 'utf8'));
    resources += Object.keys(template.Resources || {}).length;
    for (const p of checkTemplate(spec, template)) {
      failed++;
      console.log(`SCHEMA    ${path.basename(file)}  ${p}`);
    }
  }
  if (failed) {
    console.error(`check-schemas: ${failed} problem(s) against the CloudFormation resource schemas of @aws-cdk/aws-service-spec.`);
    process.exit(1);
  }
  console.log(`check-schemas: ${resources} resource(s) in ${files.length} template(s) match the CloudFormation resource schemas.`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
