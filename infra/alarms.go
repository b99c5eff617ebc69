package main

import (
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The job's Embedded Metric Format record (README, "The job").
const (
	MetricNamespace = "TallyUptime"
	MetricDimension = "Environment"
	// DurationThresholdSeconds is the seed's five-minute warning.
	DurationThresholdSeconds = 300
	// The job's --run-kind (job/config.go): the schedule sets the variable,
	// and the job publishes DurationSeconds by Environment and RunKind too.
	RunKindDimension = "RunKind"
	RunKindVariable  = "UPTIME_RUN_KIND"
	RunKindScheduled = "scheduled"
)

// JobAlarms routes everything that needs a human to one topic: failed and
// unstartable tasks (EventBridge), slow runs, missed runs and undeliverable
// schedules (CloudWatch). Five in all; each alarm is billed every month.
type JobAlarms struct {
	constructs.Construct
	Topic            awssns.Topic
	FailedTaskRule   awsevents.Rule
	FailedStartRule  awsevents.Rule
	DurationAlarm    awscloudwatch.Alarm
	MissedRunAlarm   awscloudwatch.Alarm
	DeadLetterAlarm  awscloudwatch.Alarm
	RunSucceeded     awscloudwatch.Metric
	DurationSeconds  awscloudwatch.Metric
	metricDimensions map[string]*string
	// scheduledDimensions selects the nightly runs: a wide backfill started by
	// hand may rightly take long, a slow night may not.
	scheduledDimensions map[string]*string
}

// NewJobAlarms wires the alarms of one environment to a new TLS-only topic.
func NewJobAlarms(scope constructs.Construct, id string, env Environment, task *JobTask, schedule *NightlySchedule) *JobAlarms {
	c := constructs.NewConstruct(scope, jsii.String(id))
	a := &JobAlarms{Construct: c,
		metricDimensions:    map[string]*string{MetricDimension: jsii.String(env.Name)},
		scheduledDimensions: map[string]*string{MetricDimension: jsii.String(env.Name), RunKindDimension: jsii.String(RunKindScheduled)},
	}
	stack := awscdk.Stack_Of(c)

	a.Topic = awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:   jsii.String(env.Family() + "-alarms"),
		DisplayName: jsii.String("tally-uptime " + env.Name),
		EnforceSSL:  jsii.Bool(true),
	})
	for _, addr := range env.AlarmEmails {
		a.Topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(addr), nil))
	}
	// The rules publish through an imported reference to the topic, on which
	// CDK's grant adds nothing: the topic policy's allows are only those of
	// allowPublishers (topic_policy.go), each held to its source.
	ruleTarget := awssns.Topic_FromTopicArn(c, jsii.String("TopicOfRules"), a.Topic.TopicArn())
	cdknag.NagSuppressions_AddResourceSuppressions(a.Topic, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-SNS2"),
		Reason: jsii.String("No KMS encryption at rest: the AWS-managed aws/sns key cannot let EventBridge or CloudWatch publish, " +
			"and a customer-managed key costs $1/month, more than the rest of the stack. The messages carry task ARNs, " +
			"exit codes and alarm states, never data or secrets; publishing is TLS-only."),
	}}, jsii.Bool(false))

	// Matches both scheduled runs and backfills of this family on this
	// cluster, whatever the revision.
	taskOfThisJob := map[string]interface{}{
		"clusterArn":        []interface{}{task.Cluster.ClusterArn()},
		"taskDefinitionArn": []interface{}{map[string]interface{}{"prefix": familyArn(stack, env) + ":"}},
		"lastStatus":        []interface{}{"STOPPED"},
	}
	failed := maps.Clone(taskOfThisJob)
	// A task that failed to start may report its container's exitCode as
	// null, which anything-but 0 can match: excluding that stop code keeps the
	// two rules disjoint, so one stop never mails twice.
	failed["stopCode"] = []interface{}{map[string]interface{}{"anything-but": "TaskFailedToStart"}}
	failed["containers"] = map[string]interface{}{
		"name": []interface{}{ContainerName},
		// A missing exitCode (the container never ran) does not match; that
		// case is the failed-to-start rule's.
		"exitCode": []interface{}{map[string]interface{}{"anything-but": 0}},
	}
	a.FailedTaskRule = awsevents.NewRule(c, jsii.String("FailedTaskRule"), &awsevents.RuleProps{
		Description:  jsii.String(fmt.Sprintf("tally-uptime %s: the job exited non-zero", env.Name)),
		EventPattern: ecsTaskStateChange(failed),
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSnsTopic(ruleTarget, nil)},
	})
	taskFailedMail(stack, env).applyTo(a.FailedTaskRule)

	notStarted := maps.Clone(taskOfThisJob)
	notStarted["stopCode"] = []interface{}{"TaskFailedToStart"}
	a.FailedStartRule = awsevents.NewRule(c, jsii.String("FailedToStartRule"), &awsevents.RuleProps{
		Description:  jsii.String(fmt.Sprintf("tally-uptime %s: the task could not start (image, secret, network)", env.Name)),
		EventPattern: ecsTaskStateChange(notStarted),
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewSnsTopic(ruleTarget, nil)},
	})
	notStartedMail(stack, env).applyTo(a.FailedStartRule)

	allowPublishers(a.Topic, env, a.FailedTaskRule, a.FailedStartRule)

	a.DurationSeconds = a.ScheduledMetric("DurationSeconds", "Maximum", awscdk.Duration_Hours(jsii.Number(1)))
	a.DurationAlarm = a.DurationSeconds.CreateAlarm(c, jsii.String("DurationAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmName: jsii.String(env.Family() + "-duration"),
		AlarmDescription: jsii.String(fmt.Sprintf("A scheduled %s run took longer than %d seconds: the data grew, or the database is slow or contended.",
			env.Name, DurationThresholdSeconds)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(DurationThresholdSeconds),
		EvaluationPeriods:  jsii.Number(1),
		// No run in the hour is not slow.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	a.RunSucceeded = a.Metric("RunSucceeded", "Sum", awscdk.Duration_Days(jsii.Number(1)))
	a.MissedRunAlarm = a.RunSucceeded.CreateAlarm(c, jsii.String("MissedRunAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmName: jsii.String(env.Family() + "-missed-run"),
		AlarmDescription: jsii.String(fmt.Sprintf("No successful %s run in 48 hours: the schedule did not fire, the task did not start, "+
			"or every run failed.", env.Name)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(2),
		DatapointsToAlarm:  jsii.Number(2),
		// Silence is exactly what this alarm is for.
		TreatMissingData: awscloudwatch.TreatMissingData_BREACHING,
		// A paused schedule makes silence expected.
		ActionsEnabled: jsii.Bool(!env.SchedulePaused),
	})

	a.DeadLetterAlarm = schedule.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Statistic: jsii.String("Maximum"),
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
	}).CreateAlarm(c, jsii.String("DeadLetterAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmName: jsii.String(env.Family() + "-schedule-dead-letters"),
		AlarmDescription: jsii.String(fmt.Sprintf("The %s schedule could not start the task after all retries; "+
			"the message in the dead-letter queue says why.", env.Name)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})

	// The OK action tells whoever was paged that it is over, whether a fix or
	// the next good night cleared it.
	action := awscloudwatchactions.NewSnsAction(a.Topic)
	for _, alarm := range a.Alarms() {
		alarm.AddAlarmAction(action)
		alarm.AddOkAction(action)
	}
	return a
}

// Alarms lists the CloudWatch alarms (for a dashboard's alarm status widget).
func (a *JobAlarms) Alarms() []awscloudwatch.Alarm {
	return []awscloudwatch.Alarm{a.DurationAlarm, a.MissedRunAlarm, a.DeadLetterAlarm}
}

// Metric is one of the job's EMF metrics for this environment, every run.
func (a *JobAlarms) Metric(name, statistic string, period awscdk.Duration) awscloudwatch.Metric {
	return jobMetric(name, statistic, period, a.metricDimensions)
}

// ScheduledMetric is one of the job's metrics for the scheduled runs only
// (the job publishes only DurationSeconds by run kind).
func (a *JobAlarms) ScheduledMetric(name, statistic string, period awscdk.Duration) awscloudwatch.Metric {
	return jobMetric(name, statistic, period, a.scheduledDimensions)
}

func jobMetric(name, statistic string, period awscdk.Duration, dimensions map[string]*string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(MetricNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &dimensions,
		Statistic:     jsii.String(statistic),
		Period:        period,
	})
}

func ecsTaskStateChange(detail map[string]interface{}) *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.ecs"),
		DetailType: jsii.Strings("ECS Task State Change"),
		Detail:     &detail,
	}
}
