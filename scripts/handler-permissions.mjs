#!/usr/bin/env node
// Writes infra/handler-permissions.json: for each CloudFormation resource type
// the stacks use, the `handlers` permission lists of its registry schema (the
// IAM actions CloudFormation's create, read, update, delete and list handlers
// call under the execution role). infra/bootstrap_policy_test.go holds
// infra/bootstrap-execution-policy.json to them.
//
// Usage: node scripts/handler-permissions.mjs OUT DATE LABEL=DIR... [-- TYPE...]
// Each DIR holds registry schema files (*.json, any names; AWS publishes them
// as CloudformationSchema.zip per region). A type is taken from the first DIR
// that has it, and its entry names that DIR's LABEL. The types are those OUT
// already lists plus any TYPE given; a type no DIR has is an error.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const HANDLERS = ['create', 'read', 'update', 'delete', 'list'];

function readSchemas(label, dir) {
  const byType = new Map();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    let schema;
    try {
      schema = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    } catch (err) {
      throw new Error(`${dir}/${name}: not JSON (${err.message}); is it a Git LFS pointer?`);
    }
    if (typeof schema.typeName === 'string') byType.set(schema.typeName, { label, schema });
  }
  if (byType.size === 0) throw new Error(`${dir} holds no resource schema`);
  return byType;
}

function entry({ label, schema }) {
  const out = { schema: label };
  for (const h of HANDLERS) {
    const perms = schema.handlers?.[h]?.permissions;
    if (perms) out[h] = [...new Set(perms)].sort();
  }
  return out;
}

function main(argv) {
  const dash = argv.indexOf('--');
  const [out, date, ...sources] = dash < 0 ? argv : argv.slice(0, dash);
  const extra = dash < 0 ? [] : argv.slice(dash + 1);
  if (!out || !/^\d{4}-\d{2}-\d{2}$/.test(date ?? '') || sources.length === 0) {
    throw new Error('usage: node scripts/handler-permissions.mjs OUT YYYY-MM-DD LABEL=DIR... [-- TYPE...]');
  }
  const dirs = sources.map((s) => {
    const i = s.lastIndexOf('=');
    if (i <= 0) throw new Error(`${s}: want LABEL=DIR`);
    return readSchemas(s.slice(0, i), s.slice(i + 1));
  });
  const current = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : { types: {} };
  const types = [...new Set([...Object.keys(current.types ?? {}), ...extra])].sort();
  const result = {
    about: 'The handlers permission lists of the CloudFormation registry schemas of the resource types the ' +
      'stacks use. Written by scripts/refresh-handler-permissions.sh; edit nothing by hand.',
    retrieved: date,
    sources: sources.map((s) => s.slice(0, s.lastIndexOf('='))),
    types: {},
  };
  for (const t of types) {
    const found = dirs.map((d) => d.get(t)).find(Boolean);
    if (!found) throw new Error(`no schema of ${t} in ${sources.join(', ')}`);
    result.types[t] = entry(found);
  }
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`${out}: ${types.length} resource types, retrieved ${date}`);
}

try {
  main(process.argv.slice(2));
} catch (err) {
  console.error(`handler-permissions: ${err.message}`);
  process.exit(1);
}
