#!/usr/bin/env bash
# Refreshes infra/handler-permissions.json, the IAM actions CloudFormation's resource handlers call
# for each resource type the stacks use, from the registry schemas AWS publishes
# (https://schema.cloudformation.us-east-1.amazonaws.com/CloudformationSchema.zip, per the
# CloudFormation User Guide, "Resource type schemas"). Run it when a stack starts using a new type
# (TYPES="AWS::X::Y" scripts/refresh-handler-permissions.sh) or every few months, then run
# `go test ./infra -run TestBootstrapPolicy` and commit the file with what changed.
#
# Usage: scripts/refresh-handler-permissions.sh                 download AWS's schemas of us-east-1
#        scripts/refresh-handler-permissions.sh LABEL=DIR...    schema files already on disk, e.g. an
#                                                                unzipped CloudformationSchema.zip
# The file records each source's label and the date; each type names the source it came from.
set -euo pipefail
cd "$(dirname "$0")/.."

out=infra/handler-permissions.json
url=https://schema.cloudformation.us-east-1.amazonaws.com/CloudformationSchema.zip
command -v node >/dev/null 2>&1 || { echo "node is missing: install Node.js (see .nvmrc) and rerun." >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sources=("$@")
if ((${#sources[@]} == 0)); then
  for tool in curl unzip; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: install it and rerun." >&2; exit 1; }
  done
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --max-time 120 -o "$work/schemas.zip" "$url"
  unzip -q "$work/schemas.zip" -d "$work/schemas"
  sources=("$url=$work/schemas")
fi

read -ra extra <<<"${TYPES:-}"
node scripts/handler-permissions.mjs "$out" "$(date -u +%F)" "${sources[@]}" -- "${extra[@]}"
