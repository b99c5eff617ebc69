#!/usr/bin/env bash
# Where one environment lives and which role of its account's GitHub trust stack a workflow job
# assumes there, read from the CDK context JSON in CDK_ENVIRONMENTS (the repository variable of
# that name, the "environments" object of docs/deploy.md). Prints GitHub step outputs:
#   region=<the environment's region>
#   role=arn:aws:iam::<account>:role/tally-uptime-github-<ENV>   (deploy: its deploy and backfills)
#   role=arn:aws:iam::<account>:role/tally-uptime-github-diff    (diff: read-only cdk diff)
#
# Usage: scripts/aws-target.sh ENV deploy|diff >>"$GITHUB_OUTPUT"
# Exit status: 0, or 2 with one sentence on stderr when the arguments or the variable are wrong.
set -euo pipefail

fail() {
	echo "aws-target: $*" >&2
	exit 2
}

[[ $# -eq 2 ]] || fail "usage: scripts/aws-target.sh ENV deploy|diff"
env_name=$1 kind=$2
[[ $env_name =~ ^[a-z][a-z0-9-]{0,19}$ ]] || fail "environment \"$env_name\" is not an environment name."
case $kind in
deploy) role_name=tally-uptime-github-$env_name ;;
diff) role_name=tally-uptime-github-diff ;;
*) fail "the role kind must be deploy or diff, not \"$kind\"." ;;
esac
[[ -n ${CDK_ENVIRONMENTS:-} ]] || fail "the repository variable CDK_ENVIRONMENTS is empty; docs/deploy.md says what it holds."
command -v jq >/dev/null 2>&1 || fail "jq is missing."

# The partition and account of the role come from the same entry as the region; IAM role ARNs
# in the aws partition only (GovCloud and China are not covered).
if ! fields=$(jq -er --arg e "$env_name" '.[$e] | [.account, .region] | map(strings) | select(length == 2) | @tsv' <<<"$CDK_ENVIRONMENTS" 2>/dev/null); then
	fail "CDK_ENVIRONMENTS has no \"$env_name\" entry with an account and a region."
fi
IFS=$'\t' read -r account region <<<"$fields"
[[ $account =~ ^[0-9]{12}$ ]] || fail "the account of \"$env_name\" in CDK_ENVIRONMENTS is not a 12-digit account id."
[[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$ ]] || fail "the region of \"$env_name\" in CDK_ENVIRONMENTS is not an AWS region."

echo "region=$region"
echo "role=arn:aws:iam::$account:role/$role_name"
