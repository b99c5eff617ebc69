# shellcheck shell=bash
# Sourced by scripts/backfill.sh, whose globals it reads and sets:
# shellcheck disable=SC2154
# The job's own answers for scripts/backfill.sh: its flags are checked, and its exit codes
# explained, by the job binary built from this checkout (job/checkflags.go), so the script
# keeps no second copy of the job's rules or of its exit code table.

# build_job DIR: sets job_bin to the job binary, built into DIR once per run of the script
# (a second or so with Go's build cache), or BACKFILL_JOB_BIN when that is set.
build_job() {
	if [[ -n ${BACKFILL_JOB_BIN:-} ]]; then
		job_bin=$BACKFILL_JOB_BIN
		return
	fi
	command -v go >/dev/null 2>&1 ||
		die 2 "Go is not on PATH: the job's flags are checked by the job itself, built from this checkout; install Go (https://go.dev/dl) and try again."
	job_bin=$1/uptime-job
	(cd "$repo_root" && go build -o "$job_bin" ./job) >&2 ||
		die 1 "could not build the job from $repo_root/job to check its flags (go build's error is above)."
}

# check_flags VARS FLAGS...: the job's --check-flags with only VARS (NAME=VALUE lines, the
# task definition's environment) as its environment; prints the effective settings, or the
# job's one-sentence error and exits 2.
check_flags() {
	local vars=$1 out line
	shift
	local -a env_args=()
	while IFS= read -r line; do
		[[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && env_args+=("$line")
	done <<<"$vars"
	if ! out=$(env -i ${env_args[@]+"${env_args[@]}"} "$job_bin" --check-flags "$@" 2>&1); then
		die 2 "the job refuses these flags, so no task was started: ${out#uptime: }"
	fi
	printf '%s\n' "$out"
}

# explain_exit CODE: what the exit code means, in the job's words.
explain_exit() {
	"$job_bin" --explain-exit "$1" 2>/dev/null || echo "unknown"
}

# Fields of the job's "run summary" log record the script reports, in order.
summary_counts=(users_with_uptime users_touched contributions_created days_skipped
	leaderboard_entries_updated leaderboard_entries_created ranks_changed dry_run duration_seconds)

# report_summary RECORD: the job's error sentence, or its counts, from its run summary record.
report_summary() {
	local record=$1 field counts=''
	if [[ -z $record ]]; then
		printf 'summary:      no "run summary" record in the log stream (the job did not get that far, or the log is late)\n'
		return
	fi
	if [[ $record =~ \"error\":\"(([^\"\\]|\\.)*)\" ]]; then
		printf 'error:        %s\n' "$(json_unescape "${BASH_REMATCH[1]}")"
	fi
	for field in "${summary_counts[@]}"; do
		if [[ $record =~ \"$field\":([^,}]*) ]]; then
			counts+="${counts:+ }$field=${BASH_REMATCH[1]}"
		fi
	done
	printf 'summary:      %s\n' "$counts"
}
