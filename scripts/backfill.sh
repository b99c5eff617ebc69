#!/usr/bin/env bash
# Run the uptime job once, now, in an environment's ECS cluster, with the job
# flags you give, wait for it to finish, and exit with the job's exit code.
# `scripts/backfill.sh --help` says how. Needs the AWS CLI v2 with credentials
# for the environment's account, and Go (the job's flags are checked by the job
# built from this checkout); nothing else (no jq).
set -euo pipefail

prog=${0##*/}
script_dir=${BASH_SOURCE[0]%/*}
[[ $script_dir == "${BASH_SOURCE[0]}" ]] && script_dir=.
repo_root=$(cd "$script_dir/.." && pwd)
# shellcheck source=scripts/lib/backfill-util.sh
source "$repo_root/scripts/lib/backfill-util.sh"
# shellcheck source=scripts/lib/backfill-job.sh
source "$repo_root/scripts/lib/backfill-job.sh"
# shellcheck source=scripts/lib/backfill-aws.sh
source "$repo_root/scripts/lib/backfill-aws.sh"
# shellcheck source=scripts/lib/backfill-usage.sh
source "$repo_root/scripts/lib/backfill-usage.sh"

# ---- arguments: --help anywhere wins; --yes is this script's, the rest the job's ----

yes=''
flags=()
for arg in "$@"; do
	case $arg in
	-h | --h | -help | --help | -h=* | --h=* | -help=* | --help=*)
		usage
		exit 0
		;;
	--yes) yes=1 ;;
	*) flags+=("$arg") ;;
	esac
done
[[ ${flags[0]-} == help ]] && { usage; exit 0; }
if ((${#flags[@]} == 0)); then
	die 2 "no environment given: say which stack to run in, e.g. '$prog staging --dry-run' (see --help)."
fi
env_name=${flags[0]}
flags=("${flags[@]:1}")
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

tmp=$(mktemp -d)
err=$tmp/aws-error
trap 'rm -rf "$tmp"' EXIT

# A typo fails here, before any AWS call; the check is repeated below with the task's defaults.
build_job "$tmp"
check_flags '' ${flags[@]+"${flags[@]}"} >/dev/null

# ---- the stack ----------------------------------------------------------------

read_outputs
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
capacity=${BACKFILL_CAPACITY_PROVIDER:-$(output CapacityProvider)}
if [[ -n $capacity && ! $capacity =~ ^(FARGATE|FARGATE_SPOT)$ ]]; then
	die 2 "capacity provider '$capacity' is neither FARGATE nor FARGATE_SPOT."
fi

# ---- the effective settings, and confirmation where the stack is protected --------

# The container's UPTIME_* defaults (the JobEnvironment output: those of the deployed revision,
# also when BACKFILL_TASK_DEFINITION names another) are what a flag not given falls back on.
job_environment=$(need JobEnvironment '^UPTIME_[A-Z_]+=[^ ]*( UPTIME_[A-Z_]+=[^ ]*)*$')
settings=$(check_flags "${job_environment// /$'\n'}" ${flags[@]+"${flags[@]}"})
printf 'environment:  %s (stack %s, task definition %s)\n' "$env_name" "$stack" "$task_def"
printf 'flags given:  %s\n' "${flags[*]:-none}"
printf 'settings:     (a flag given, else the task'"'"'s UPTIME_ variable, else the job'"'"'s default)\n'
while IFS=$'\t' read -r setting source; do
	printf '              %-34s %s\n' "$setting" "$source"
done <<<"$settings"

# Termination protection is how infra/environments.go marks production (TerminationProtection),
# so any protected environment asks first. The name check stays as a fail-safe, not a list of
# environments: prod keeps its prompt even while someone has switched its stack's protection off
# (docs/deploy.md says to, before removing it).
if [[ $env_name == prod || $(protected) == True ]]; then
	if [[ -n $yes ]]; then
		say "$stack is protected; confirmed with --yes"
	elif [[ -t 0 ]] && { : </dev/tty; } 2>/dev/null; then
		printf '%s: start this run in %s with the settings above? Type %s to confirm: ' "$prog" "$env_name" "$env_name" >/dev/tty
		IFS= read -r answer </dev/tty || answer=''
		[[ $answer == "$env_name" ]] || die 1 "not confirmed: no task was started."
	else
		die 2 "$stack is production and there is no terminal to confirm on: run this in a terminal and answer the prompt, or pass --yes to confirm."
	fi
fi

# ---- the run -------------------------------------------------------------------

# Both JSON documents are built here in bash (no jq): the ids were checked against the
# patterns above, and every job flag goes through json_string, so each flag arrives in the
# container as exactly one argument, unchanged.
subnets_json=''
IFS=',' read -r -a subnets <<<"${subnet_list// /}"
for s in "${subnets[@]}"; do
	subnets_json+="${subnets_json:+,}\"$s\""
done
network="{\"awsvpcConfiguration\":{\"subnets\":[$subnets_json],\"securityGroups\":[\"$security_group\"],\"assignPublicIp\":\"$assign_public_ip\"}}"
command_json=''
for flag in ${flags[@]+"${flags[@]}"}; do
	command_json+="${command_json:+,}$(json_string "$flag")"
done
overrides="{\"containerOverrides\":[{\"name\":\"$container\",\"command\":[$command_json]}]}"

who=${USER:-$(id -un 2>/dev/null || echo unknown)}
who=${who//[^A-Za-z0-9_-]/_}
placement=(--launch-type FARGATE)
[[ -n $capacity ]] && placement=(--capacity-provider-strategy "capacityProvider=$capacity,weight=1")

if ! started=$(aws ecs run-task --cluster "$cluster" --task-definition "$task_def" --count 1 \
	"${placement[@]}" --network-configuration "$network" --overrides "$overrides" \
	--started-by "backfill-${who:0:100}" \
	--query '[tasks[0].taskArn, failures[0].reason]' --output text 2>"$err"); then
	cat "$err" >&2
	die 1 "the task did not start: ECS refused run-task (the AWS CLI's error is above)."
fi
IFS=$'\t' read -r task_arn failure <<<"$started"
[[ -n $task_arn && $task_arn != None ]] || die 1 "the task did not start: ${failure:-ECS returned no task and no reason}."
task_id=${task_arn##*/}
IFS=: read -r _ partition _ region _ <<<"$task_arn"
stream="${stream_prefix:-uptime}/$container/$task_id"
say "started task $task_id; stop it with: aws ecs stop-task --cluster $cluster --task $task_id"
trap 'say "interrupted: task $task_id keeps running; stop it with: aws ecs stop-task --cluster $cluster --task $task_id"; exit 130' INT TERM

wait_stopped "$timeout_s" "$poll_s"

# ---- the result ----------------------------------------------------------------

if ! result=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
	--query "tasks[0].[lastStatus, stopCode, containers[?name=='$container'] | [0].exitCode, stoppedReason, containers[?name=='$container'] | [0].reason]" \
	--output text 2>"$err"); then
	cat "$err" >&2
	die 1 "task $task_id stopped, but ECS would not describe it (the AWS CLI's error is above)."
fi
IFS=$'\t' read -r last_status stop_code exit_code stopped_reason container_reason <<<"$result"
[[ $container_reason == None ]] && container_reason=''

printf 'task:         %s\n' "$task_arn"
printf 'stopped:      %s (%s): %s\n' "$last_status" "$stop_code" "$stopped_reason"
[[ -n $container_reason ]] && printf 'container:    %s\n' "$container_reason"
printf 'logs:         group %s, stream %s\n' "$log_group" "$stream"
printf '              aws logs tail %s --log-stream-names %s --since 1d\n' "$log_group" "$stream"
if [[ $partition == aws ]]; then
	g=$(url_component "$log_group") st=$(url_component "$stream")
	printf '              https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s/log-events/%s\n' \
		"$region" "$region" "${g//%/\$25}" "${st//%/\$25}"
fi
if [[ ! $exit_code =~ ^[0-9]+$ ]]; then
	printf 'exit code:    none\n'
	die 1 "the job did not run to an exit code (stop code $stop_code): $stopped_reason${container_reason:+; $container_reason}."
fi
printf 'exit code:    %s: %s\n' "$exit_code" "$(explain_exit "$exit_code")"
report_summary "$(last_summary "$log_group" "$stream")"
exit "$exit_code"
