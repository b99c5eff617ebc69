// Package contract is what the uptime job and its infrastructure must agree on: the container's
// name, the variables the task passes, the metrics the job publishes and the alarms watch, and
// the exit codes the task reports and the failure mail explains, the run summary record, and the
// names an environment's stack, log group and GitHub roles take. The job (job/), the CDK app
// (infra/) and the operator tools (ops/) all read these values from here; a rename is one edit
// and the compiler finds every use.
package contract

import "strings"

// ContainerName is the job's container in the task definition: the name a RunTask override, the
// task-state rules and the log stream (<prefix>/<container>/<task id>) refer to.
const ContainerName = "uptime-job"

// DatabaseURLVariable carries the connection string, from the SSM SecureString parameter.
const DatabaseURLVariable = "DATABASE_URL"

// VariablePrefix starts every variable the job reads besides DATABASE_URL. The job refuses an
// unknown one, so that a misspelt UPTIME_DRYRUN=true cannot start a real run.
const VariablePrefix = "UPTIME_"

// EnvironmentVariable names the environment the job runs in: the value of the metrics'
// Environment dimension. It is the one UPTIME_ variable that is not a flag.
const EnvironmentVariable = VariablePrefix + "ENVIRONMENT"

// The job's flags. Each can also be set by its variable, Variable(flag); the job's flag table
// (job/config/flags.go) gives each its parser and help, the infra sets some as the task's defaults.
const (
	FlagDryRun   = "dry-run"
	FlagVerbose  = "verbose"
	FlagPoints   = "points"
	FlagForce    = "force"
	FlagFrom     = "from"
	FlagTo       = "to"
	FlagUser     = "user"
	FlagTimeout  = "timeout"
	FlagDBWait   = "db-wait"
	FlagLockWait = "lock-wait"
	FlagRunKind  = "run-kind"
	// FlagLockedBudget bounds how long a run holds the table locks Django's writes wait for.
	FlagLockedBudget = "locked-budget"
)

// Variable is the variable that stands in for a flag: UPTIME_ and the flag in upper snake case.
func Variable(flag string) string {
	return VariablePrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Run kinds, the values of --run-kind and of the RunKind dimension: the schedule sets
// RunScheduled, so that the duration alarm watches nightly runs and not a wide backfill.
const (
	RunScheduled = "scheduled"
	RunManual    = "manual"
)
