#!/usr/bin/env bash
# Synthesizes every stack of the CDK app with the pinned CDK CLI (package.json),
# offline and with no AWS credentials, checks every template against the
# CloudFormation resource schemas of @aws-cdk/aws-service-spec
# (scripts/check-schemas.mjs, tested first by its own broken templates), then
# runs AWS Control Tower's proactive-control rules through the cfn-guard binary
# that @cdklabs/cdk-validator-cfnguard ships, on every template. Fails on any
# schema problem and on any cfn-guard finding that infra/guard-accepted.txt
# does not accept (docs/architecture.md gives the reasons).
#
# Usage: scripts/check-infra.sh            (CHECK_INFRA_KEEP=dir keeps the cloud assembly in dir)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
	echo "check-infra: Node.js and npm are missing; install Node.js $(cat .nvmrc) (the current LTS, see .nvmrc) with npm and rerun." >&2
	exit 1
fi
# shellcheck source=scripts/lib/node.sh
source scripts/lib/node.sh
use_lts_node
# jsii-runtime-go 1.142 lists Node.js 22 and 24 as tested; 26 is the LTS (scripts/test.sh tests it).
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
command -v go >/dev/null 2>&1 || { echo "check-infra: Go is missing; the CDK app is Go (cdk.json runs go run ./infra)." >&2; exit 1; }

# The pinned CLI and rules, installed from package-lock.json when missing or not
# the locked versions.
if ! npm ls --depth=0 >/dev/null 2>&1; then
	echo "== npm ci (aws-cdk CLI, cfn-guard rules, CloudFormation resource schemas)"
	npm ci --no-audit --no-fund --loglevel=error
fi

guard_pkg=node_modules/@cdklabs/cdk-validator-cfnguard
case "$(uname -s)/$(uname -m)" in
Linux/x86_64 | Linux/amd64) guard=$guard_pkg/bin/ubuntu/x86_64/cfn-guard ;;
Linux/aarch64 | Linux/arm64) guard=$guard_pkg/bin/ubuntu/aarch64/cfn-guard ;;
Darwin/x86_64) guard=$guard_pkg/bin/macos/x86_64/cfn-guard ;;
Darwin/arm64) guard=$guard_pkg/bin/macos/aarch64/cfn-guard ;;
*) echo "check-infra: $guard_pkg ships no cfn-guard for $(uname -s)/$(uname -m)." >&2; exit 1 ;;
esac
rules=$guard_pkg/rules/control-tower/cfn-guard
[[ -x $guard && -d $rules ]] || { echo "check-infra: $guard or $rules is missing; delete node_modules and rerun." >&2; exit 1; }

if [[ -n ${CHECK_INFRA_KEEP:-} ]]; then
	out=$CHECK_INFRA_KEEP
	rm -rf "$out" && mkdir -p "$out"
else
	out=$(mktemp -d)
fi

example_out=$(mktemp -d)
trap 'rm -rf "$example_out"; [[ -n ${CHECK_INFRA_KEEP:-} ]] || rm -rf "$out"' EXIT

# No credentials and no way to find any: the shipped configuration must not
# need them. Notices, telemetry and the version check would reach the network.
offline_synth() {
	env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
		-u AWS_DEFAULT_PROFILE -u AWS_REGION -u AWS_DEFAULT_REGION -u CDK_DEFAULT_ACCOUNT -u CDK_DEFAULT_REGION \
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
		CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=1 \
		npx --no-install cdk synth --quiet --no-notices "$@"
}
echo "== cdk synth (offline, no AWS credentials, no context) into $out"
offline_synth --output "$out"
# The example context of docs/deploy.md (CDK_CONTEXT_JSON is how the CLI hands context to the
# app). Straight through the app: with an account and region, the new VPC's availability zones
# are a lookup that the CLI would make with the deployer's credentials, and there are none here.
echo "== go run ./infra with infra/example-context.json into $example_out"
CDK_CONTEXT_JSON=$(cat infra/example-context.json) CDK_OUTDIR="$example_out" \
	go run ./infra

shopt -s nullglob
templates=("$out"/*.template.json "$example_out"/*.template.json)
shopt -u nullglob
((${#templates[@]} > 0)) || { echo "check-infra: cdk synth wrote no template into $out." >&2; exit 1; }

spec_version=$(node -p 'require("@aws-cdk/aws-service-spec/package.json").version')
echo "== CloudFormation resource schemas (@aws-cdk/aws-service-spec $spec_version) on ${#templates[@]} template(s)"
node --test --test-reporter=dot scripts/check-schemas.test.mjs
node scripts/check-schemas.mjs "${templates[@]}"

echo "== cfn-guard $("$guard" --version | awk '{print $2}'), AWS Control Tower proactive controls, on ${#templates[@]} template(s)"
data_args=()
for t in "${templates[@]}"; do data_args+=(--data "$t"); done
report=$out/cfn-guard.json
# Exit status 19 means "some rule failed"; the report says which, so it is
# judged below. Any other non-zero status is cfn-guard itself failing.
set +e
"$guard" validate --rules "$rules" "${data_args[@]}" --output-format json --show-summary none --structured >"$report"
status=$?
set -e
if ((status != 0 && status != 19)); then
	echo "check-infra: cfn-guard failed (exit $status)." >&2
	exit 1
fi

node - "$report" infra/guard-accepted.txt <<'EOF'
// Lists every (rule, template, resource) finding and fails on the ones that
// infra/guard-accepted.txt does not accept.
const fs = require('fs');
const path = require('path');
const [report, acceptedFile] = process.argv.slice(2);

const accepted = fs.readFileSync(acceptedFile, 'utf8').split('\n')
  .map((line, i) => ({ line: line.trim(), n: i + 1 }))
  .filter(({ line }) => line && !line.startsWith('#'))
  .map(({ line, n }) => {
    const [rule, resource, ...reason] = line.split(/\s+/);
    if (!resource || reason.length === 0) {
      console.error(`check-infra: ${acceptedFile}:${n}: want RULE RESOURCE REASON`);
      process.exit(1);
    }
    const glob = new RegExp('^' + resource.split('*').map(s => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return { rule, resource, glob, reason: reason.join(' '), used: false };
  });

const findings = [];
for (const file of JSON.parse(fs.readFileSync(report, 'utf8'))) {
  const stack = path.basename(file.name).replace(/\.template\.json$/, '');
  for (const nc of file.not_compliant || []) {
    const rule = nc.Rule ? nc.Rule : nc;
    const resources = new Set();
    let control = '';
    (function walk(o) {
      if (!o || typeof o !== 'object') return;
      for (const [k, v] of Object.entries(o)) {
        if (k === 'path' && typeof v === 'string') {
          const m = v.match(/^\/Resources\/([^/]+)/);
          if (m) resources.add(m[1]);
        }
        if (k === 'custom_message' && typeof v === 'string' && !control) {
          const m = v.match(/\[(CT\.[A-Z0-9]+\.PR\.\d+)\]:\s*([^\n]*)/);
          if (m) control = `${m[1]} ${m[2].trim()}`;
        }
        walk(v);
      }
    })(rule);
    if (resources.size === 0) resources.add('(template)');
    for (const resource of resources) findings.push({ stack, rule: rule.name, control, resource });
  }
}

let failed = 0;
for (const f of findings) {
  const a = accepted.find(a => a.rule === f.rule && a.glob.test(f.resource));
  if (a) {
    a.used = true;
    console.log(`accepted  ${f.stack}  ${f.resource}  ${f.rule}`);
  } else {
    failed++;
    console.log(`FINDING   ${f.stack}  ${f.resource}  ${f.rule}\n          ${f.control}`);
  }
}
for (const a of accepted.filter(a => !a.used)) {
  console.log(`note: accepted entry "${a.rule} ${a.resource}" matched nothing; remove it from ${acceptedFile} if the finding is gone for good.`);
}
if (failed) {
  console.error(`check-infra: ${failed} cfn-guard finding(s) are neither fixed nor accepted in ${acceptedFile} (with the reason in docs/architecture.md).`);
  process.exit(1);
}
console.log(`check-infra: ${findings.length} cfn-guard finding(s), all accepted in ${acceptedFile}.`);
EOF
