# shellcheck shell=bash
# The --help text of scripts/backfill.sh.
# shellcheck disable=SC2154 # prog is the script's

usage() {
	cat <<USAGE
Usage: $prog ENV [--yes] [job flags...]

Checks the job flags with the job's own rules, prints the run's effective settings
(the flags given, over the task definition's UPTIME_* defaults, over the job's
defaults), starts one run of the uptime job in the ECS cluster of the stack
TallyUptime-ENV, waits for the task to stop, prints its exit code and what it
means, the job's error or its counts and a link to its log stream, and exits
with that code. Against a stack with termination protection (prod) it first asks
for the environment's name on the terminal; --yes confirms without asking.

  $prog staging --dry-run
  $prog prod --from 2024-01-01 --to 2024-01-31 --verbose
  $prog prod --yes --user alice@example.com --user bob@example.com
  $prog prod --force=false    # switch off a default the schedule switches on

The flags are the job's own: go run ./job --help. A flag not given keeps the
schedule's default for that environment.

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
  BACKFILL_JOB_BIN           a job binary to check the flags with, instead of
                             building one from this checkout

Exit status: the job's exit code (printed with its meaning); 1 when the task did
not start, did not report an exit code, or did not stop within BACKFILL_TIMEOUT,
or when the prompt was not confirmed; 2 for a flag the job refuses or a usage
error of this script; 130 on Ctrl-C (the task keeps running).
USAGE
}
