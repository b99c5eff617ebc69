package main

import (
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

// DurationThresholdSeconds is how long a scheduled run may take before the on-call hears of it.
// A night's run takes seconds (docs/architecture.md); five minutes means the data grew past what
// one transaction should hold, or the database is slow or contended, and both want a look
// before the runs crowd each other.
const DurationThresholdSeconds = 300

// JobAlarms routes everything that needs a human to one topic: failed and
// unstartable tasks (EventBridge), slow runs, missed runs and undeliverable
// schedules (CloudWatch). Five in all; each alarm is billed every month.
type JobAlarms struct {
	constructs.Construct
	Topic           awssns.Topic
	FailedTaskRule  awsevents.Rule
	FailedStartRule awsevents.Rule
	DurationAlarm   awscloudwatch.Alarm
	MissedRunAlarm  awscloudwatch.Alarm
	DeadLetterAlarm awscloudwatch.Alarm
	// FailedTaskLog holds the event of every task the two rules mail (failedtasks.go).
	FailedTaskLog    awslogs.LogGroup
	RunSucceeded     awscloudwatch.Metric
	DurationSeconds  awscloudwatch.Metric
	metricDimensions map[string]*string
	// scheduledDimensions selects the nightly runs: a wide backfill started by
	// hand may rightly take long, a slow night may not.
	scheduledDimensions map[string]*string
	env                 Environment
}

// NewJobAlarms wires the alarms of one environment to a new TLS-only topic.
func NewJobAlarms(scope constructs.Construct, id string, env Environment, task *JobTask, schedule *NightlySchedule) *JobAlarms {
	c := constructs.NewConstruct(scope, jsii.String(id))
	a := &JobAlarms{Construct: c, env: env,
		metricDimensions: map[string]*string{contract.DimensionEnvironment: jsii.String(env.Name)},
		scheduledDimensions: map[string]*string{contract.DimensionEnvironment: jsii.String(env.Name),
			contract.DimensionRunKind: jsii.String(contract.RunScheduled)},
	}
	a.Topic = newAlarmTopic(c, env)
	a.addTaskRules(task)
	a.addDurationAlarm()
	a.addMissedRunAlarm()
	a.addDeadLetterAlarm(schedule)
	return a
}

// newAlarmTopic is the topic every alarm and failure mail goes to, with the deployer's addresses.
func newAlarmTopic(scope constructs.Construct, env Environment) awssns.Topic {
	topic := awssns.NewTopic(scope, jsii.String("Topic"), &awssns.TopicProps{
		TopicName:   jsii.String(env.TopicName()),
		DisplayName: jsii.String("tally-uptime " + env.Name),
		EnforceSSL:  jsii.Bool(true),
	})
	for _, addr := range env.AlarmEmails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(addr), nil))
	}
	exempt(topic, nagException{rule: "AwsSolutions-SNS2", reason: "No KMS encryption at rest: the AWS-managed aws/sns key " +
		"cannot let EventBridge or CloudWatch publish, and a customer-managed key costs $1/month, more than the rest of the " +
		"stack. The messages carry task ARNs, exit codes and alarm states, never data or secrets; publishing is TLS-only."})
	return topic
}

// addTaskRules mails the stops of this job's tasks that need a human: a container that exited
// non-zero, and a task that could not start. Both match scheduled runs and backfills of this
// family on this cluster, whatever the revision.
func (a *JobAlarms) addTaskRules(task *JobTask) {
	stack := awscdk.Stack_Of(a.Construct)
	// The rules publish through an imported reference to the topic, on which
	// CDK's grant adds nothing: the topic policy's allows are only those of
	// allowPublishers (topic_policy.go), each held to its source.
	target := awseventstargets.NewSnsTopic(awssns.Topic_FromTopicArn(a.Construct, jsii.String("TopicOfRules"), a.Topic.TopicArn()), nil)
	taskOfThisJob := map[string]interface{}{
		"clusterArn":        []interface{}{task.Cluster.ClusterArn()},
		"taskDefinitionArn": []interface{}{map[string]interface{}{"prefix": familyArn(stack, a.env) + ":"}},
		"lastStatus":        []interface{}{"STOPPED"},
	}
	failed := maps.Clone(taskOfThisJob)
	// A task that failed to start may report its container's exitCode as
	// null, which anything-but 0 can match: excluding that stop code keeps the
	// two rules disjoint, so one stop never mails twice.
	failed["stopCode"] = []interface{}{map[string]interface{}{"anything-but": "TaskFailedToStart"}}
	failed["containers"] = map[string]interface{}{
		"name": []interface{}{contract.ContainerName},
		// A missing exitCode (the container never ran) does not match; that
		// case is the failed-to-start rule's.
		"exitCode": []interface{}{map[string]interface{}{"anything-but": contract.ExitOK}},
	}
	a.FailedTaskRule = awsevents.NewRule(a.Construct, jsii.String("FailedTaskRule"), &awsevents.RuleProps{
		Description:  jsii.String(fmt.Sprintf("tally-uptime %s: the job exited non-zero", a.env.Name)),
		EventPattern: ecsTaskStateChange(failed),
		Targets:      &[]awsevents.IRuleTarget{target},
	})
	taskFailedMail(stack, a.env).applyTo(a.FailedTaskRule)

	notStarted := maps.Clone(taskOfThisJob)
	notStarted["stopCode"] = []interface{}{"TaskFailedToStart"}
	a.FailedStartRule = awsevents.NewRule(a.Construct, jsii.String("FailedToStartRule"), &awsevents.RuleProps{
		Description:  jsii.String(fmt.Sprintf("tally-uptime %s: the task could not start (image, secret, network)", a.env.Name)),
		EventPattern: ecsTaskStateChange(notStarted),
		Targets:      &[]awsevents.IRuleTarget{target},
	})
	notStartedMail(stack, a.env).applyTo(a.FailedStartRule)

	allowPublishers(a.Topic, a.env, a.FailedTaskRule, a.FailedStartRule)
	a.FailedTaskLog = newFailedTaskLog(a.Construct, a.env, a.FailedTaskRule, a.FailedStartRule)
}

func (a *JobAlarms) addDurationAlarm() {
	a.DurationSeconds = a.ScheduledMetric(contract.DurationSeconds, "Maximum", awscdk.Duration_Hours(jsii.Number(1)))
	a.DurationAlarm = a.alarm(a.DurationSeconds, "DurationAlarm", &awscloudwatch.CreateAlarmOptions{
		AlarmName: jsii.String(a.env.AlarmName("duration")),
		AlarmDescription: a.description(RunbookDuration, fmt.Sprintf("A scheduled %s run took longer than %d seconds: "+
			"the data grew, or the database is slow or contended.", a.env.Name, DurationThresholdSeconds)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(DurationThresholdSeconds),
		EvaluationPeriods:  jsii.Number(1),
		// No run in the hour is not slow.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

func (a *JobAlarms) addMissedRunAlarm() {
	a.RunSucceeded = a.Metric(contract.RunSucceeded, "Sum", awscdk.Duration_Days(jsii.Number(1)))
	a.MissedRunAlarm = a.alarm(a.RunSucceeded, "MissedRunAlarm", &awscloudwatch.CreateAlarmOptions{
		AlarmName: jsii.String(a.env.AlarmName("missed-run")),
		AlarmDescription: a.description(RunbookMissedRun, fmt.Sprintf("No successful %s run in 48 hours: the schedule did not fire, "+
			"the task did not start, or every run failed.", a.env.Name)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(2),
		DatapointsToAlarm:  jsii.Number(2),
		// Silence is exactly what this alarm is for.
		TreatMissingData: awscloudwatch.TreatMissingData_BREACHING,
		// A paused schedule makes silence expected.
		ActionsEnabled: jsii.Bool(!a.env.SchedulePaused),
	})
}

func (a *JobAlarms) addDeadLetterAlarm(schedule *NightlySchedule) {
	visible := schedule.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
		Statistic: jsii.String("Maximum"),
		Period:    awscdk.Duration_Minutes(jsii.Number(5)),
	})
	a.DeadLetterAlarm = a.alarm(visible, "DeadLetterAlarm", &awscloudwatch.CreateAlarmOptions{
		AlarmName: jsii.String(a.env.AlarmName("schedule-dead-letters")),
		AlarmDescription: a.description(RunbookDeadLetters, fmt.Sprintf("The %s schedule could not start the task after all retries; "+
			"the message in the dead-letter queue says why.", a.env.Name)),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
}

// maxAlarmDescription is CloudWatch's limit: PutMetricAlarm's AlarmDescription has
// "Length Constraints: Minimum length of 0. Maximum length of 1024." (CloudWatch API Reference).
const maxAlarmDescription = 1024

// description is an alarm's AlarmDescription, which CloudWatch puts in the alarm's mail: what the
// alarm means, then its runbook section. A meaning too long to leave room for the link panics at
// synth, so no deploy fails on it.
func (a *JobAlarms) description(section, meaning string) *string {
	d := meaning + " Runbook: " + runbookRef(a.env.GitHubRepository, section)
	if len(d) > maxAlarmDescription {
		panic(fmt.Sprintf("alarm description of %d characters, CloudWatch takes %d: %s", len(d), maxAlarmDescription, d))
	}
	return jsii.String(d)
}

// alarm creates an alarm on metric that mails the topic when it fires and again when it clears:
// the OK mail tells whoever was paged that it is over, whether a fix or the next good night
// cleared it.
func (a *JobAlarms) alarm(metric awscloudwatch.Metric, id string, opts *awscloudwatch.CreateAlarmOptions) awscloudwatch.Alarm {
	alarm := metric.CreateAlarm(a.Construct, jsii.String(id), opts)
	action := awscloudwatchactions.NewSnsAction(a.Topic)
	alarm.AddAlarmAction(action)
	alarm.AddOkAction(action)
	return alarm
}

// Alarms lists the CloudWatch alarms (for a dashboard's alarm status widget).
func (a *JobAlarms) Alarms() []awscloudwatch.Alarm {
	return []awscloudwatch.Alarm{a.DurationAlarm, a.MissedRunAlarm, a.DeadLetterAlarm}
}

// Metric is one of the job's EMF metrics for this environment, every run.
func (a *JobAlarms) Metric(m contract.Metric, statistic string, period awscdk.Duration) awscloudwatch.Metric {
	return jobMetric(m.Name, statistic, period, a.metricDimensions)
}

// ScheduledMetric is one of the job's metrics for the scheduled runs only
// (the job publishes only DurationSeconds by run kind).
func (a *JobAlarms) ScheduledMetric(m contract.Metric, statistic string, period awscdk.Duration) awscloudwatch.Metric {
	return jobMetric(m.Name, statistic, period, a.scheduledDimensions)
}

func jobMetric(name, statistic string, period awscdk.Duration, dimensions map[string]*string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(contract.Namespace),
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
