#!/usr/bin/env bash
# Compares the Amazon RDS CA bundle the job embeds (job/connect/certs/rds-global-bundle.pem) with the
# one AWS publishes, and fails when they differ: the deploy workflow runs it before it deploys
# anything, and docs/deploy.md has it run by hand before a manual deploy.
#
# Usage: scripts/check-rds-bundle.sh [URL]
#   URL defaults to AWS's published global bundle; https:// and file:// only (file:// for a copy
#   obtained some other way, and for the tests). Line endings are ignored: the comparison is of
#   the bytes with carriage returns removed.
# Exit 0: the same bundle. 1: they differ (the roots only one side has are listed; then run
# scripts/refresh-rds-ca.sh, which checks the download, and commit). 2: no bundle to compare
# (download failed, or no certificate in it).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

url=${1:-https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem}
bundle=job/connect/certs/rds-global-bundle.pem

for tool in curl openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: install it and rerun." >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! curl --fail --silent --show-error --location --proto '=https,file' --proto-redir '=https' --tlsv1.2 \
  --max-time 60 -o "$work/published.pem" "$url"; then
  echo "could not get the published RDS bundle from $url" >&2
  exit 2
fi
tr -d '\r' <"$work/published.pem" >"$work/published.clean.pem"
tr -d '\r' <"$bundle" >"$work/embedded.clean.pem"

# subjects FILE: the subject of each certificate in FILE, sorted.
subjects() {
  openssl crl2pkcs7 -nocrl -certfile "$1" 2>/dev/null | openssl pkcs7 -print_certs -noout 2>/dev/null |
    sed -n 's/^subject=[[:space:]]*//p' | sort
}
subjects "$work/published.clean.pem" >"$work/published.txt"
if [ ! -s "$work/published.txt" ]; then
  echo "$url holds no certificate" >&2
  exit 2
fi

sum=$(sha256sum "$work/published.clean.pem" | cut -d' ' -f1)
if cmp -s "$work/published.clean.pem" "$work/embedded.clean.pem"; then
  echo "the embedded RDS bundle is the published one: $(wc -l <"$work/published.txt") certificates, sha256 $sum (line endings aside)"
  exit 0
fi

subjects "$work/embedded.clean.pem" >"$work/embedded.txt"
{
  echo "the embedded RDS bundle ($bundle) differs from the published one ($url, sha256 $sum)."
  echo "only published:"; comm -13 "$work/embedded.txt" "$work/published.txt" | sed 's/^/  /'
  echo "only embedded:"; comm -23 "$work/embedded.txt" "$work/published.txt" | sed 's/^/  /'
  echo "(when neither list names a root, the same roots differ in their bytes.) Refresh with"
  echo "scripts/refresh-rds-ca.sh, check its summary, and commit before deploying."
} >&2
exit 1
