package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FailedTaskQuery is the dashboard's last-failures table: every task of the job that failed,
// from the "ECS Task State Change" events the failure rules also mail. The job's own "run
// summary" cannot be the source: a task killed by SIGKILL (137) or SIGTERM (143), or one that
// never started, writes none. Logs Insights flattens the event's JSON, array indices included.
var FailedTaskQuery = []string{
	"fields @timestamp, detail.containers.0.exitCode as exit_code, detail.stopCode as stop_code, " +
		"detail.stoppedReason as stopped_reason, detail.startedBy as started_by, detail.taskArn as task",
	"sort @timestamp desc",
	"limit 20",
}

// newFailedTaskLog keeps the event of every failed task in a log group of its own: each
// failure rule (alarms.go) gets it as a second target, beside the mail, so the table and
// the mails agree on what a failed task is.
func newFailedTaskLog(scope constructs.Construct, env Environment, rules ...awsevents.Rule) awslogs.LogGroup {
	group := awslogs.NewLogGroup(scope, jsii.String("FailedTaskLog"), &awslogs.LogGroupProps{
		LogGroupName: jsii.String(env.FailedTaskLogGroupName()),
		Retention:    env.LogRetention,
		// Like the job's log group: the history outlives the stack, and the fixed name must
		// not make a retried first create fail with "already exists".
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
	// EventBridge writes to CloudWatch Logs under the log group's resource policy, never a role
	// (EventBridge User Guide, "Using resource-based policies": for CloudWatch Logs targets "do
	// not specify a RoleArn"). CDK's CloudWatchLogGroup target would put this policy through a
	// Lambda-backed custom resource; AWS::Logs::ResourcePolicy does it natively. Only rules in
	// this account can target this log group, and the policy names no other.
	policy := group.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgeWritesFailedTasks"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
		Resources:  &[]*string{group.LogGroupArn()},
	}))
	target := &logGroupTarget{arn: awscdk.Stack_Of(scope).FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("logs"),
		Resource:     jsii.String("log-group"),
		ResourceName: group.LogGroupName(),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})}
	for _, r := range rules {
		r.AddTarget(target)
		// A failure in the minutes of the first deploy still lands: the rule waits for the policy.
		r.Node().AddDependency(policy.PolicyDependable)
	}
	return group
}

// logGroupTarget is a rule target that delivers the whole event to a log group. A target's
// ARN is the log group's without the ":*" of its logGroupArn, as EventBridge expects.
type logGroupTarget struct{ arn *string }

// Bind implements awsevents.IRuleTarget.
func (t *logGroupTarget) Bind(_ interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	return &awsevents.RuleTargetConfig{Arn: t.arn}
}

// failedTaskTitle names the table's source for the on-call who wonders why a run is missing.
func failedTaskTitle(env Environment) string {
	return fmt.Sprintf("Last failures: every task that exited non-zero or failed to start (%s), newest first; "+
		"the job's error sentence is in the run's log and in Last runs", env.FailedTaskLogGroupName())
}
