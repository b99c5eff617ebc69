#!/usr/bin/env bash
# Run the uptime job once, now, in an environment's ECS cluster, with the job
# flags you give, wait for it to finish, and exit with the job's exit code.
# `scripts/backfill.sh --help` says how. Needs the AWS CLI (v2, or v1) and
# credentials for the environment's account; needs nothing else (no jq).
set -euo pipefail

prog=${0##*/}

usage() {
	cat <<EOF
Usage: $prog ENV [job flags...]

Starts one run of the uptime job in the ECS cluster of the stack TallyUptime-ENV,
with the given flags as the container's command, waits for the task to stop,
prints the job's exit code and where its logs are, and exits with that code.

  $prog staging --dry-run
  $prog prod --from 2024-01-01 --to 2024-01-31 --verbose
  $prog prod --user alice@example.com --user bob@example.com

The flags are the job's own (see the README): --dry-run, --verbose, --points N,
--force, --from YYYY-MM-DD, --to YYYY-MM-DD, --user EMAIL, --timeout D, --db-wait D.
They replace the schedule's default flags for this run only.

Environment:
  AWS_PROFILE, AWS_REGION    which account and region (the AWS CLI's usual rules)
  BACKFILL_TIMEOUT           how long to wait for the task to stop: seconds, or
                             with an s/m/h suffix (default 30m). The task itself
                             keeps running when this passes.
  BACKFILL_CAPACITY_PROVIDER FARGATE or FARGATE_SPOT; default: the stack's choice
  BACKFILL_TASK_DEFINITION   run this task definition (family:revision or ARN)
                             instead of the one the stack deployed, e.g. the
                             previous revision while rolling back a bad image
  BACKFILL_POLL              pause before asking again when the AWS CLI's waiter
                             gives up early, e.g. on throttling (default 5s)

Exit status: the job's exit code (0 done, 1 runtime failure, 2 usage or
configuration, 3 data does not allow the run, 4 another run holds the lock);
1 when the task did not start, did not report an exit code, or did not stop
within BACKFILL_TIMEOUT; 2 for a usage error of this script; 130 on Ctrl-C
(the task keeps running).
EOF
}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { # die CODE MESSAGE...
	local code=$1
	shift
	say "$*"
	exit "$code"
}

# json_string S: S as a JSON string literal, quotes included.
json_string() {
	local s=$1 code ch
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	for code in 1 2 3 4 5 6 7 8 11 12 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 127; do
		printf -v ch '%b' "\\0$(printf '%03o' "$code")"
		[[ $s == *"$ch"* ]] && s=${s//"$ch"/$(printf '\\u%04x' "$code")}
	done
	printf '"%s"' "$s"
}

# url_component S: S percent-encoded (every byte but A-Z a-z 0-9 - _ . ~).
url_component() {
	local LC_ALL=C s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# seconds_of D: D (N, Ns, Nm or Nh) in seconds.
seconds_of() {
	[[ $1 =~ ^([0-9]+)([smh]?)$ ]] || return 1
	local n=$((10#${BASH_REMATCH[1]}))
	case ${BASH_REMATCH[2]} in
	m) n=$((n * 60)) ;;
	h) n=$((n * 3600)) ;;
	esac
	printf '%s' "$n"
}

# ---- arguments --------------------------------------------------------------

if [[ $# -eq 0 ]]; then
	die 2 "no environment given: say which stack to run in, e.g. '$prog staging --dry-run' (see --help)."
fi
case $1 in
-h | --help | help)
	usage
	exit 0
	;;
esac
env_name=$1
shift
if [[ ! $env_name =~ ^[a-z0-9][a-z0-9-]*$ ]]; then
	die 2 "unknown environment '$env_name': an environment is a name like staging or prod, given before the job's flags."
fi
stack="TallyUptime-$env_name"

timeout_s=$(seconds_of "${BACKFILL_TIMEOUT:-30m}") ||
	die 2 "BACKFILL_TIMEOUT='${BACKFILL_TIMEOUT-}' is not a duration: use seconds, or a number with s, m or h (e.g. 45m)."
poll_s=$(seconds_of "${BACKFILL_POLL:-5}") ||
	die 2 "BACKFILL_POLL='${BACKFILL_POLL-}' is not a duration: use seconds, or a number with s, m or h (e.g. 10s)."

if ! command -v aws >/dev/null 2>&1; then
	die 2 "the AWS CLI ('aws') is not on PATH: install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html) and try again."
fi
export AWS_PAGER="" # never page the CLI's output

# ---- the stack's outputs ----------------------------------------------------

err=$(mktemp)
trap 'rm -f "$err"' EXIT

if ! outputs=$(aws cloudformation describe-stacks --stack-name "$stack" \
	--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text 2>"$err"); then
	if grep -q 'does not exist' "$err"; then
		die 2 "unknown environment '$env_name': there is no stack $stack in this account and region (AWS_PROFILE/AWS_REGION)."
	fi
	cat "$err" >&2
	die 1 "could not read the outputs of $stack (the AWS CLI's error is above)."
fi

# output KEY: the value of one stack output, empty when there is none.
# (A plain loop rather than an associative array: macOS still ships bash 3.2.)
output() {
	local key value
	while IFS=$'\t' read -r key value; do
		if [[ $key == "$1" ]]; then
			printf '%s' "$value"
			return 0
		fi
	done <<<"$outputs"
}

need() { # need OUTPUT PATTERN: the stack output, checked against PATTERN
	local v
	v=$(output "$1")
	[[ -n $v ]] || die 1 "the stack $stack has no output $1: is it deployed from this repository's current infra/?"
	[[ $v =~ $2 ]] || die 1 "the stack $stack's output $1='$v' does not look right."
	printf '%s' "$v"
}
cluster=$(need ClusterName '^[A-Za-z0-9_/:.-]+$')
task_def=$(need TaskDefinitionArn '^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]+:task-definition/[A-Za-z0-9_-]+(:[0-9]+)?$')
if [[ -n ${BACKFILL_TASK_DEFINITION:-} ]]; then
	[[ $BACKFILL_TASK_DEFINITION =~ ^(arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]+:task-definition/)?[A-Za-z0-9_-]+(:[0-9]+)?$ ]] ||
		die 2 "BACKFILL_TASK_DEFINITION='$BACKFILL_TASK_DEFINITION' is not a task definition: use family:revision (e.g. tally-uptime-$env_name:41) or its ARN."
	task_def=$BACKFILL_TASK_DEFINITION
fi
container=$(need ContainerName '^[A-Za-z0-9_-]+$')
subnet_list=$(need SubnetIds '^ *subnet-[0-9a-zA-Z]+( *, *subnet-[0-9a-zA-Z]+)* *$')
security_group=$(need SecurityGroupId '^sg-[0-9a-zA-Z]+$')
assign_public_ip=$(need AssignPublicIp '^(ENABLED|DISABLED)$')
log_group=$(need LogGroupName '^[A-Za-z0-9_/.#-]+$')
stream_prefix=$(output LogStreamPrefix)
stream_prefix=${stream_prefix:-uptime}
capacity=${BACKFILL_CAPACITY_PROVIDER:-$(output CapacityProvider)}
if [[ -n $capacity && ! $capacity =~ ^(FARGATE|FARGATE_SPOT)$ ]]; then
	die 2 "capacity provider '$capacity' is neither FARGATE nor FARGATE_SPOT."
fi

# ---- the request ------------------------------------------------------------

# Both JSON documents are built here in bash (no jq): the ids were checked
# against the patterns above, and every job flag goes through json_string,
# so each flag arrives in the container as exactly one argument, unchanged.
subnets_json=''
IFS=',' read -r -a subnets <<<"${subnet_list// /}"
for s in "${subnets[@]}"; do
	subnets_json+="${subnets_json:+,}\"$s\""
done
network="{\"awsvpcConfiguration\":{\"subnets\":[$subnets_json],\"securityGroups\":[\"$security_group\"],\"assignPublicIp\":\"$assign_public_ip\"}}"

command_json=''
for flag in "$@"; do
	command_json+="${command_json:+,}$(json_string "$flag")"
done
overrides="{\"containerOverrides\":[{\"name\":\"$container\",\"command\":[$command_json]}]}"

who=${USER:-$(id -un 2>/dev/null || echo unknown)}
who=${who//[^A-Za-z0-9_-]/_}
started_by="backfill-${who:0:100}"

placement=(--launch-type FARGATE)
if [[ -n $capacity ]]; then
	placement=(--capacity-provider-strategy "capacityProvider=$capacity,weight=1")
fi

say "starting $task_def in $stack (cluster $cluster) with: ${*:-no flags}"
if ! started=$(aws ecs run-task --cluster "$cluster" --task-definition "$task_def" --count 1 \
	"${placement[@]}" --network-configuration "$network" --overrides "$overrides" \
	--started-by "$started_by" \
	--query '[tasks[0].taskArn, failures[0].reason]' --output text 2>"$err"); then
	cat "$err" >&2
	die 1 "the task did not start: ECS refused run-task (the AWS CLI's error is above)."
fi
IFS=$'\t' read -r task_arn failure <<<"$started"
if [[ -z $task_arn || $task_arn == None ]]; then
	die 1 "the task did not start: ${failure:-ECS returned no task and no reason}."
fi
task_id=${task_arn##*/}
IFS=: read -r _ partition _ region _ <<<"$task_arn"
say "started task $task_id; stop it with: aws ecs stop-task --cluster $cluster --task $task_id"

trap 'say "interrupted: task $task_id keeps running; stop it with: aws ecs stop-task --cluster $cluster --task $task_id"; exit 130' INT TERM

# ---- waiting ----------------------------------------------------------------

# `aws ecs wait tasks-stopped` gives up after 100 polls of 6 s (10 minutes),
# so it runs in a loop until the task is really STOPPED or BACKFILL_TIMEOUT
# passes; with coreutils' timeout a single wait is also cut at the deadline.
deadline=$((SECONDS + timeout_s))
status=''
while :; do
	remaining=$((deadline - SECONDS))
	if ((remaining <= 0)); then
		die 1 "task $task_id had not stopped after ${BACKFILL_TIMEOUT:-30m} (last status ${status:-unknown}); it keeps running. Follow it with: aws logs tail $log_group --follow --log-stream-names $stream_prefix/$container/$task_id"
	fi
	waiter=(aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn")
	if command -v timeout >/dev/null 2>&1; then
		waiter=(timeout "$remaining" "${waiter[@]}")
	fi
	started_wait=$SECONDS
	if "${waiter[@]}" 2>"$err"; then
		break
	fi
	if status=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
		--query 'tasks[0].lastStatus' --output text 2>"$err"); then
		[[ $status == STOPPED ]] && break
		say "task $task_id is $status; still waiting"
	else
		say "could not ask ECS about task $task_id: $(tr '\n' ' ' <"$err")"
	fi
	# A waiter that gave up at once (throttling, a network error) is not retried in a tight loop.
	if ((SECONDS - started_wait < poll_s)); then
		remaining=$((deadline - SECONDS))
		sleep "$((remaining < poll_s ? (remaining > 0 ? remaining : 0) : poll_s))"
	fi
done

# ---- the result -------------------------------------------------------------

if ! result=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
	--query "tasks[0].[lastStatus, stopCode, containers[?name=='$container'] | [0].exitCode, stoppedReason, containers[?name=='$container'] | [0].reason]" \
	--output text 2>"$err"); then
	cat "$err" >&2
	die 1 "task $task_id stopped, but ECS would not describe it (the AWS CLI's error is above)."
fi
IFS=$'\t' read -r last_status stop_code exit_code stopped_reason container_reason <<<"$result"

stream="$stream_prefix/$container/$task_id"
printf 'task:         %s\n' "$task_arn"
printf 'stopped:      %s (%s): %s\n' "$last_status" "$stop_code" "$stopped_reason"
if [[ -n $container_reason && $container_reason != None ]]; then
	printf 'container:    %s\n' "$container_reason"
fi
printf 'logs:         group %s, stream %s\n' "$log_group" "$stream"
printf '              aws logs tail %s --log-stream-names %s --since 1d\n' "$log_group" "$stream"
if [[ $partition == aws ]]; then
	g=$(url_component "$log_group")
	st=$(url_component "$stream")
	printf '              https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s/log-events/%s\n' \
		"$region" "$region" "${g//%/\$25}" "${st//%/\$25}"
fi

if [[ ! $exit_code =~ ^[0-9]+$ ]]; then
	reason=$stopped_reason
	[[ -n $container_reason && $container_reason != None ]] && reason="$reason; $container_reason"
	printf 'exit code:    none\n'
	die 1 "the job did not run to an exit code (stop code $stop_code): $reason."
fi
printf 'exit code:    %s\n' "$exit_code"
exit "$exit_code"
