#!/usr/bin/env bash
# Everything CI runs: vet, the Go tests (the job against a real PostgreSQL, the image, the
# operator tool (ops/), the CDK stacks with cdk-nag and their deploy-time rules), then the synth of every
# stack with the resource-schema check and cfn-guard.
# Uses TEST_DATABASE_URL when set; otherwise starts a throwaway PostgreSQL and always stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh

# shellcheck source=scripts/lib/node.sh
source scripts/lib/node.sh

command -v go >/dev/null 2>&1 || { echo "Go is missing: install Go 1.26 (https://go.dev/dl) and rerun." >&2; exit 1; }

command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are missing: install Node.js $(cat .nvmrc) (the current LTS, see .nvmrc) with npm and rerun." >&2; exit 1; }
# The LTS line of .nvmrc, fetched once from the npm registry when this machine has another.
use_lts_node
echo "== node $(node --version), npm $(npm --version)"
# jsii-runtime-go 1.142 lists Node.js 22 and 24 as tested; 26 is the LTS, and this suite tests it.
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1
# The npm packages first: the infra tests check every synthesized stack against the CloudFormation
# resource schemas in node_modules/, and node_modules/ sits inside the Go module, so everything
# below must work beside it as it does for a developer (go.mod's ignore directive keeps it out of ./...).
if ! npm ls --depth=0 >/dev/null 2>&1; then
  echo "== npm ci (CDK CLI, cfn-guard rules, CloudFormation resource schemas)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The attacker tests put a fake server in a network namespace of their own: unshare (util-linux)
# and ip (iproute2). Without them those tests skip, saying why.
if ! command -v ip >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l job internal infra ops scripts ./*.go 2>/dev/null || true)
[ -z "$unformatted" ] || { echo "gofmt would change: $unformatted" >&2; exit 1; }

echo "== go vet"
go vet ./...

echo "== lint: golangci-lint, shellcheck, actionlint (pinned; installed when missing)"
scripts/lint.sh

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  echo "== starting a throwaway PostgreSQL"
  # Durability settings off: the tests need a real server, not a crash-safe one.
  start_throwaway_postgres fsync=off synchronous_commit=off full_page_writes=off
  export TEST_DATABASE_URL="$PG_URL"
fi

echo "== go test"
# The job's own package last and alone: its tests time what the app waits on the job and how
# soon the job gives way, on two cores; run beside the CDK synths and the operator tools'
# builds, they measured the neighbours (timeouts and multi-second waits no idle run shows).
mapfile -t packages < <(go list ./... | grep -vx 'github.com/tally/uptime/job')
go test -count=1 -timeout 20m "${packages[@]}"
go test -count=1 -timeout 20m ./job

echo "== CDK_OUTDIR=... go run ./infra (the app synthesizes without the CLI too)"
# With no CDK context: the environments' stacks only (check-infra.sh synthesizes the example
# context of docs/deploy.md, with a GitHub trust stack per account).
synth_dir=$(mktemp -d)
CDK_OUTDIR="$synth_dir" go run ./infra
# The environments as infra/environments.go lists them (one JSON array of names).
environments=$(go run ./infra --list-environments | tr -d '[]"' | tr ',' ' ')
[ -n "$environments" ] || { echo "go run ./infra --list-environments printed no environment" >&2; exit 1; }
for env_name in $environments; do
  stack="TallyUptime-$env_name"
  [ -s "$synth_dir/$stack.template.json" ] || { echo "go run ./infra wrote no $stack template" >&2; exit 1; }
done
rm -rf "$synth_dir"

echo "== cdk synth of every stack, the resource-schema check and cfn-guard"
scripts/check-infra.sh
