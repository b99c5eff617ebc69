#!/usr/bin/env bash
# Refreshes job/connect/certs/rds-global-bundle.pem, the Amazon RDS CA bundle the job embeds to verify
# RDS servers (verify-full), from the URL AWS publishes it at. Run it when AWS announces new roots
# (a new region, a CA rotation), then commit the file with the script's summary in the message.
#
# The download is refused unless every block is a certificate, and unless every root that the
# current bundle and the download both name has the same SHA-256 fingerprint in both: a changed
# root is a reason to stop and check, never to overwrite. Added and removed roots are listed.
#
# Where the current copy came from, and how every deploy compares it with AWS's
# (scripts/check-rds-bundle.sh): job/connect/certs/README.md.
set -euo pipefail
export LC_ALL=C # sort, join and comm must agree on the order
cd "$(dirname "$0")/.."

url=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
bundle=job/connect/certs/rds-global-bundle.pem

for tool in curl openssl awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is missing: install it and rerun." >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --max-time 60 -o "$work/new.pem" "$url"
tr -d '\r' <"$work/new.pem" >"$work/new.clean.pem"

# fingerprints FILE prints "SHA256-fingerprint<TAB>subject" for each certificate, sorted by subject.
fingerprints() {
  local dir n=0
  dir=$(mktemp -d "$work/split.XXXXXX")
  awk -v dir="$dir" '/-----BEGIN /{n++} n{print > (dir "/" n ".pem")}' "$1"
  for cert in "$dir"/*.pem; do
    [ -e "$cert" ] || continue
    n=$((n + 1))
    head -1 "$cert" | grep -q -- '-----BEGIN CERTIFICATE-----' || { echo "$1: block $n is not a certificate" >&2; return 1; }
    openssl x509 -in "$cert" -noout -checkend 0 >/dev/null || { echo "$1: certificate $n has expired or does not parse" >&2; return 1; }
    printf '%s\t%s\n' \
      "$(openssl x509 -in "$cert" -noout -fingerprint -sha256 | cut -d= -f2)" \
      "$(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"
  done | sort -t "$(printf '\t')" -k2
}

fingerprints "$bundle" >"$work/old.txt"
fingerprints "$work/new.clean.pem" >"$work/new.txt"
[ -s "$work/new.txt" ] || { echo "the download holds no certificate" >&2; exit 1; }

changed=$(join -t "$(printf '\t')" -1 2 -2 2 "$work/old.txt" "$work/new.txt" | awk -F '\t' '$2 != $3 {print $1}')
if [ -n "$changed" ]; then
  echo "refused: these roots have a different fingerprint than in the current bundle:" >&2
  echo "$changed" >&2
  exit 1
fi

echo "added:";   comm -13 <(cut -f2 "$work/old.txt") <(cut -f2 "$work/new.txt") | sed 's/^/  /'
echo "removed:"; comm -23 <(cut -f2 "$work/old.txt") <(cut -f2 "$work/new.txt") | sed 's/^/  /'
cp "$work/new.clean.pem" "$bundle"
echo "$(wc -l <"$work/new.txt") roots; sha256 $(sha256sum "$bundle" | cut -d' ' -f1). Now run: go test -run TestRDSBundle ./job/connect"
