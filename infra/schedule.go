package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/tally/uptime/internal/contract"
)

// CapacityProvider is the Fargate capacity provider runs use: FARGATE_SPOT or FARGATE.
func (e Environment) CapacityProvider() string {
	if e.Spot {
		return "FARGATE_SPOT"
	}
	return "FARGATE"
}

// Retry policy of the schedule. RunTask can fail for reasons that pass
// (throttling, no Spot or Fargate capacity in the AZ right now); a few tries
// over two hours still finish long before the next night's run.
const (
	scheduleRetryAttempts = 5
	scheduleMaxEventAge   = 2 // hours
)

// NightlySchedule starts the task through EventBridge Scheduler.
type NightlySchedule struct {
	constructs.Construct
	Schedule        awsscheduler.Schedule
	DeadLetterQueue awssqs.Queue
	Role            awsiam.Role
}

// NewNightlySchedule creates the schedule, its dead-letter queue and a role
// that can start this task family on this cluster and nothing else.
func NewNightlySchedule(scope constructs.Construct, id string, env Environment, task *JobTask, network *JobNetwork) *NightlySchedule {
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &NightlySchedule{Construct: c}
	s.DeadLetterQueue = newDeadLetterQueue(c)
	s.Role = newSchedulerRole(c, env, task, s.DeadLetterQueue)
	s.Schedule = awsscheduler.NewSchedule(c, jsii.String("Schedule"), &awsscheduler.ScheduleProps{
		ScheduleName: jsii.String(env.ScheduleName()),
		Description:  jsii.String(fmt.Sprintf("Nightly Uptime contributions for %s", env.Name)),
		Schedule: awsscheduler.ScheduleExpression_Expression(jsii.String(env.Schedule),
			awscdk.TimeZone_Of(jsii.String(env.TimeZone))),
		Target:  s.runTaskTarget(env, task, network),
		Enabled: jsii.Bool(!env.SchedulePaused),
	})
	return s
}

// newDeadLetterQueue keeps the schedule's invocations that failed every retry, with the reason.
func newDeadLetterQueue(scope constructs.Construct) awssqs.Queue {
	queue := awssqs.NewQueue(scope, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		// SQS-managed keys: encrypted at rest with no KMS key to pay for or grant.
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	exempt(queue, nagException{rule: "AwsSolutions-SQS3",
		reason: "This queue is itself the dead-letter queue of the schedule; a DLQ of a DLQ has nothing to catch."})
	return queue
}

// newSchedulerRole is the role the schedule runs the task with. Only schedules in this account's
// default group may assume it (confused-deputy guard, as AWS recommends for Scheduler roles).
func newSchedulerRole(scope constructs.Construct, env Environment, task *JobTask, deadLetters awssqs.Queue) awsiam.Role {
	stack := awscdk.Stack_Of(scope)
	role := awsiam.NewRole(scope, jsii.String("Role"), &awsiam.RoleProps{
		Description: jsii.String(fmt.Sprintf("EventBridge Scheduler starts the tally-uptime %s task", env.Name)),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{
					"aws:SourceAccount": stack.Account(),
					"aws:SourceArn": stack.FormatArn(&awscdk.ArnComponents{
						Service:      jsii.String("scheduler"),
						Resource:     jsii.String("schedule-group"),
						ResourceName: jsii.String("default"),
					}),
				},
			},
		}),
	})
	// The family ARN with any revision, not the one revision deployed: a
	// rollback that points the schedule at the previous revision, or a deploy
	// that registers a new one before CloudFormation updates this policy,
	// still runs. The family belongs to this stack alone, and the ecs:cluster
	// condition keeps it to this cluster.
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ecs:RunTask"),
		Resources: jsii.Strings(familyArn(stack, env) + ":*"),
		Conditions: &map[string]interface{}{
			"ArnEquals": map[string]interface{}{"ecs:cluster": task.Cluster.ClusterArn()},
		},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iam:PassRole"),
		Resources: &[]*string{task.TaskDefinition.TaskRole().RoleArn(), task.TaskDefinition.ExecutionRole().RoleArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
		},
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{deadLetters.QueueArn()},
	}))
	exempt(role, nagException{rule: "AwsSolutions-IAM5", withChildren: true,
		reason: "ecs:RunTask on every revision of this stack's own task family (so a rollback to an earlier " +
			"revision still runs), further limited to this cluster by the ecs:cluster condition.",
		// Region and account are tokens or literals depending on the environment.
		appliesTo: []interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(fmt.Sprintf(
			`/^Resource::arn:<AWS::Partition>:ecs:.+:task-definition\/%s:\*$/`, env.Family()))}}})
	return role
}

// runTaskTarget is the RunTask call the schedule makes: the task in the job's network, marked as
// a scheduled run.
func (s *NightlySchedule) runTaskTarget(env Environment, task *JobTask, network *JobNetwork) awsscheduler.IScheduleTarget {
	var strategies *[]*awsecs.CapacityProviderStrategy
	if env.Spot {
		strategies = &[]*awsecs.CapacityProviderStrategy{{
			CapacityProvider: jsii.String(env.CapacityProvider()),
			Weight:           jsii.Number(1),
		}}
	}
	return awsschedulertargets.NewEcsRunFargateTask(task.Cluster, &awsschedulertargets.FargateTaskProps{
		TaskDefinition: task.TaskDefinition,
		// The grants the target would add name the one revision deployed;
		// the role above already holds the family-wide, cluster-bound grant.
		Role:                       s.Role.WithoutPolicyUpdates(nil),
		DeadLetterQueue:            s.DeadLetterQueue,
		RetryAttempts:              jsii.Number(scheduleRetryAttempts),
		MaxEventAge:                awscdk.Duration_Hours(jsii.Number(scheduleMaxEventAge)),
		VpcSubnets:                 network.Subnets,
		SecurityGroups:             &[]awsec2.ISecurityGroup{network.SecurityGroup},
		AssignPublicIp:             jsii.Bool(network.AssignPublicIP),
		CapacityProviderStrategies: strategies,
		PlatformVersion:            awsecs.FargatePlatformVersion_LATEST,
		// Scheduler reads an ECS target's input as the RunTask overrides (a
		// CreateSchedule with other input fails "Unable to convert target
		// input to TaskOverride"). Only the schedule's runs say "scheduled",
		// so the duration alarm ignores backfills and runs by hand.
		Input: awsscheduler.ScheduleTargetInput_FromObject(map[string]interface{}{
			"containerOverrides": []interface{}{map[string]interface{}{
				"name": contract.ContainerName,
				"environment": []interface{}{map[string]interface{}{
					"name": contract.Variable(contract.FlagRunKind), "value": contract.RunScheduled}},
			}},
		}),
	})
}

// familyArn is the task definition family's ARN without a revision.
func familyArn(stack awscdk.Stack, env Environment) string {
	return *stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ecs"),
		Resource:     jsii.String("task-definition"),
		ResourceName: jsii.String(env.Family()),
	})
}
