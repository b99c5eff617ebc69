# shellcheck shell=bash
# Sourced by scripts/backfill.sh, whose globals it reads and sets:
# shellcheck disable=SC2154
# The AWS CLI calls of scripts/backfill.sh (AWS CLI v2). Each reads or sets the globals the
# script documents: stack, outputs, cluster, task_def, container, task_arn, err.

# read_outputs: the stack's outputs as "key<TAB>value" lines into outputs.
read_outputs() {
	if ! outputs=$(aws cloudformation describe-stacks --stack-name "$stack" \
		--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text 2>"$err"); then
		if grep -q 'does not exist' "$err"; then
			die 2 "unknown environment '$env_name': there is no stack $stack in this account and region (AWS_PROFILE/AWS_REGION)."
		fi
		cat "$err" >&2
		die 1 "could not read the outputs of $stack (the AWS CLI's error is above)."
	fi
}

# output KEY: the value of one stack output, empty when there is none.
# (A plain loop rather than an associative array, and ${a[@]+"${a[@]}"} for arrays that may be
# empty: macOS still ships bash 3.2.)
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

# protected: whether the stack has termination protection (True or False).
protected() {
	aws cloudformation describe-stacks --stack-name "$stack" \
		--query 'Stacks[0].EnableTerminationProtection' --output text 2>"$err" || {
		cat "$err" >&2
		die 1 "could not read whether $stack has termination protection (the AWS CLI's error is above)."
	}
}

# last_summary GROUP STREAM: the job's last "run summary" record in the stream, or nothing.
# get-log-events without --start-from-head returns the stream's latest events; the summary
# and the EMF record are the job's last two lines.
last_summary() {
	local messages record='' m
	messages=$(aws logs get-log-events --log-group-name "$1" --log-stream-name "$2" --limit 50 \
		--query 'events[].message' --output text 2>"$err") || {
		say "could not read the log stream: $(tr '\n' ' ' <"$err")"
		return 0
	}
	# Text output joins the messages with tabs; the job's JSON lines hold no raw tab.
	local -a list
	IFS=$'\t' read -r -a list <<<"$messages"
	for m in "${list[@]}"; do
		[[ $m == *'"msg":"run summary"'* ]] && record=$m
	done
	printf '%s' "$record"
}

# wait_stopped TIMEOUT_S POLL_S: waits until the task is STOPPED or TIMEOUT_S passes.
# `aws ecs wait tasks-stopped` gives up after 100 polls of 6 s (10 minutes), so it runs in a
# loop; with coreutils' timeout a single wait is also cut at the deadline.
wait_stopped() {
	local deadline=$((SECONDS + $1)) poll_s=$2 status='' remaining started_wait
	while :; do
		remaining=$((deadline - SECONDS))
		if ((remaining <= 0)); then
			die 1 "task $task_id had not stopped after ${BACKFILL_TIMEOUT:-30m} (last status ${status:-unknown}); it keeps running. Follow it with: aws logs tail $log_group --follow --log-stream-names $stream"
		fi
		local -a waiter=(aws ecs wait tasks-stopped --cluster "$cluster" --tasks "$task_arn")
		if command -v timeout >/dev/null 2>&1; then
			waiter=(timeout "$remaining" "${waiter[@]}")
		fi
		started_wait=$SECONDS
		"${waiter[@]}" 2>"$err" && return 0
		if status=$(aws ecs describe-tasks --cluster "$cluster" --tasks "$task_arn" \
			--query 'tasks[0].lastStatus' --output text 2>"$err"); then
			[[ $status == STOPPED ]] && return 0
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
}
