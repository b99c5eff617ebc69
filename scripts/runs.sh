#!/usr/bin/env bash
# List the last runs of the uptime job in an environment, newest first, from the
# job's "run summary" log records (CloudWatch Logs Insights). Needs AWS CLI v2 and
# credentials that may read the environment's log group; nothing else (no jq).
set -euo pipefail

prog=${0##*/}

usage() {
	cat <<EOF
Usage: $prog ENV [N]

Lists the last N runs (default 10, at most 1000) of the job in the log group
/tally/uptime/ENV: start (UTC), duration in seconds, exit code, run kind
(scheduled or manual), dry run, contributions created, users touched, the job's
version and revision, and the error sentence of a failed run.

  $prog prod
  $prog staging 30

Environment:
  AWS_PROFILE, AWS_REGION   which account and region (the AWS CLI's usual rules)
  RUNS_DAYS                 how far back to look, in days (default 14)
  RUNS_WAIT                 how long to wait for the query, in seconds (default 60)
EOF
}

for a in "$@"; do
	case $a in -h | --help) usage; exit 0 ;; esac
done
if (($# < 1 || $# > 2)); then
	echo "$prog: give an environment and, optionally, how many runs; see --help" >&2
	exit 2
fi
env_name=$1 count=${2:-10} days=${RUNS_DAYS:-14} wait_s=${RUNS_WAIT:-60}
if [[ ! $env_name =~ ^[a-z][a-z0-9-]*$ ]]; then
	echo "$prog: $env_name is not an environment name (e.g. staging or prod)" >&2
	exit 2
fi
for pair in "N:$count" "RUNS_DAYS:$days" "RUNS_WAIT:$wait_s"; do
	if [[ ! ${pair#*:} =~ ^[1-9][0-9]{0,3}$ ]] || ((${pair#*:} > 1000)); then
		echo "$prog: ${pair%%:*} must be a whole number from 1 to 1000, not ${pair#*:}" >&2
		exit 2
	fi
done

group=/tally/uptime/$env_name
# The summary is the run's last record; its time less the duration is the start.
query="filter msg = \"run summary\"
| fields fromMillis(@timestamp - duration_seconds * 1000) as started, @logStream as stream
| sort @timestamp desc
| limit $count"
now=$(date +%s)
id=$(aws logs start-query --log-group-name "$group" --start-time $((now - days * 86400)) --end-time "$now" \
	--query-string "$query" --query queryId --output text)

status=Scheduled
for ((i = 0; i < wait_s; i++)); do
	status=$(aws logs get-query-results --query-id "$id" --query status --output text)
	case $status in Scheduled | Running) sleep 1 ;; *) break ;; esac
done
if [[ $status != Complete ]]; then
	echo "$prog: the Logs Insights query on $group ended $status; try again, or raise RUNS_WAIT" >&2
	exit 1
fi

columns=(started duration_seconds exit_code run_kind dry_run contributions_created users_touched version revision error)
fields=""
for c in "${columns[@]}"; do fields+="${fields:+, }[?field=='$c'].value | [0]"; done
rows=$(aws logs get-query-results --query-id "$id" --query "results[].[$fields]" --output text)
if [[ -z $rows ]]; then
	echo "No run summary in $group in the last $days days."
	exit 0
fi
fmt='%-23s %9s %4s %-9s %-5s %7s %6s %-12s %-12s %s\n'
# shellcheck disable=SC2059 # the format is this script's own
printf "$fmt" started seconds exit kind dry created users version revision error
while IFS=$'\t' read -r started secs code kind dry created users version revision error; do
	[[ $error == None ]] && error=""
	[[ $secs == None ]] || secs=$(printf '%.1f' "$secs")
	# shellcheck disable=SC2059
	printf "$fmt" "${started%.*}" "$secs" "$code" "$kind" "$dry" "$created" "$users" "$version" "${revision:0:12}" "$error"
done <<<"$rows"
