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
	stack := awscdk.Stack_Of(c)

	s.DeadLetterQueue = awssqs.NewQueue(c, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		// SQS-managed keys: encrypted at rest with no KMS key to pay for or grant.
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.DeadLetterQueue, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is itself the dead-letter queue of the schedule; a DLQ of a DLQ has nothing to catch."),
	}}, jsii.Bool(false))

	// Only schedules in this account's default group may assume the role
	// (confused-deputy guard, as AWS recommends for Scheduler roles).
	s.Role = awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
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
	s.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("ecs:RunTask"),
		Resources: jsii.Strings(familyArn(stack, env) + ":*"),
		Conditions: &map[string]interface{}{
			"ArnEquals": map[string]interface{}{"ecs:cluster": task.Cluster.ClusterArn()},
		},
	}))
	s.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("iam:PassRole"),
		Resources: &[]*string{task.TaskDefinition.TaskRole().RoleArn(), task.TaskDefinition.ExecutionRole().RoleArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
		},
	}))
	s.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("sqs:SendMessage"),
		Resources: &[]*string{s.DeadLetterQueue.QueueArn()},
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(s.Role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("ecs:RunTask on every revision of this stack's own task family (so a rollback to an earlier " +
			"revision still runs), further limited to this cluster by the ecs:cluster condition."),
		// Region and account are tokens or literals depending on the environment.
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(fmt.Sprintf(
			`/^Resource::arn:<AWS::Partition>:ecs:.+:task-definition\/%s:\*$/`, env.Family()))}},
	}}, jsii.Bool(true))

	var strategies *[]*awsecs.CapacityProviderStrategy
	if env.Spot {
		strategies = &[]*awsecs.CapacityProviderStrategy{{
			CapacityProvider: jsii.String("FARGATE_SPOT"),
			Weight:           jsii.Number(1),
		}}
	}
	target := awsschedulertargets.NewEcsRunFargateTask(task.Cluster, &awsschedulertargets.FargateTaskProps{
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
				"name":        ContainerName,
				"environment": []interface{}{map[string]interface{}{"name": RunKindVariable, "value": RunKindScheduled}},
			}},
		}),
	})

	s.Schedule = awsscheduler.NewSchedule(c, jsii.String("Schedule"), &awsscheduler.ScheduleProps{
		ScheduleName: jsii.String(env.Family()),
		Description:  jsii.String(fmt.Sprintf("Nightly Uptime contributions for %s", env.Name)),
		Schedule: awsscheduler.ScheduleExpression_Expression(jsii.String(env.Schedule),
			awscdk.TimeZone_Of(jsii.String(env.TimeZone))),
		Target:  target,
		Enabled: jsii.Bool(!env.SchedulePaused),
	})
	return s
}

// familyArn is the task definition family's ARN without a revision.
func familyArn(stack awscdk.Stack, env Environment) string {
	return *stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ecs"),
		Resource:     jsii.String("task-definition"),
		ResourceName: jsii.String(env.Family()),
	})
}
