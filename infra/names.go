package main

import (
	"fmt"

	"github.com/tally/uptime/internal/contract"
)

// The names derived from an environment's Name, all here: the runbook, the workflows, the
// backfill script and the GitHub roles' policies name these resources without a reference into
// the stack, so each is fixed and computed in one place.

// The stack's name is contract.StackName(e.Name): the operator tools derive it too.

// Family is the task definition family, also matched by the failure rules. The cluster, the
// schedule and the dashboard carry the same name.
func (e Environment) Family() string { return "tally-uptime-" + e.Name }

// ClusterName is the ECS cluster the schedule and backfills run the task on.
func (e Environment) ClusterName() string { return e.Family() }

// ScheduleName is the EventBridge Scheduler schedule in the default group.
func (e Environment) ScheduleName() string { return e.Family() }

// DashboardName is the CloudWatch dashboard.
func (e Environment) DashboardName() string { return e.Family() }

// TopicName is the SNS topic every alarm and failure mail goes to.
func (e Environment) TopicName() string { return e.Family() + "-alarms" }

// AlarmName is one of the environment's CloudWatch alarms, e.g. AlarmName("duration").
func (e Environment) AlarmName(what string) string { return e.Family() + "-" + what }

// TaskRoleName and ExecutionRoleName are the task's two IAM roles; fixed so
// that the GitHub deploy role may pass exactly them (github.go).
func (e Environment) TaskRoleName() string { return e.Family() + "-task" }

// ExecutionRoleName: see TaskRoleName.
func (e Environment) ExecutionRoleName() string { return e.Family() + "-execution" }

// GitHubRoleName is the role of the GitHub environment of the same name: its
// deploy and its backfills, nothing of any other environment.
func (e Environment) GitHubRoleName() string { return contract.GitHubRoleName(e.Name) }

// LogGroupName is fixed so the runbook can name it; the stack output repeats it.
func (e Environment) LogGroupName() string { return contract.LogGroupName(e.Name) }

// FailedTaskLogGroupName keeps the task-state event of every failed task, for the dashboard.
func (e Environment) FailedTaskLogGroupName() string { return e.LogGroupName() + "/failed-tasks" }

// DefaultDatabaseURLParameter is the SSM parameter path used when the environment names none.
func (e Environment) DefaultDatabaseURLParameter() string {
	return fmt.Sprintf("/tally/%s/database-url", e.Name)
}
