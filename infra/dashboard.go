package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

// SummaryQuery is the Logs Insights query of the dashboard's last-runs table:
// the job's "run summary" records, newest first. The field names are the
// job's (README, "The job").
var SummaryQuery = []string{
	"fields @timestamp, exit_code, run_kind, dry_run, contributions_created, contributions_would_create, duration_seconds, users_touched, days_skipped, error, version, @logStream",
	`filter msg = "run summary"`,
	"sort @timestamp desc",
	"limit 30",
}

// JobDashboard is the environment's CloudWatch dashboard "tally-uptime-<env>":
// did last night run, how long did it take, what did it do, and is any alarm
// firing. One dashboard costs $3 a month beyond the three free ones of an
// account (docs/deploy.md).
type JobDashboard struct {
	constructs.Construct
	Dashboard awscloudwatch.Dashboard
	Name      string
}

// NewJobDashboard builds the dashboard from the alarms' metrics and the task's log group.
func NewJobDashboard(scope constructs.Construct, id string, env Environment, task *JobTask, alarms *JobAlarms) *JobDashboard {
	c := constructs.NewConstruct(scope, jsii.String(id))
	d := &JobDashboard{Construct: c, Name: env.DashboardName()}
	d.Dashboard = awscloudwatch.NewDashboard(c, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   jsii.String(d.Name),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(14)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{headerWidget(env)},
			{runsWidget(alarms), durationWidget(alarms), workWidget(alarms)},
			{alarmStatusWidget(alarms)},
			{logTableWidget(failedTaskTitle(env), alarms.FailedTaskLog, FailedTaskQuery, 6)},
			{logTableWidget(fmt.Sprintf("Last runs: the job's run summary records in %s, newest first", env.LogGroupName()),
				task.LogGroup, SummaryQuery, 8)},
		},
	})
	return d
}

// hourly is the period of the per-run graphs: runs are hours apart (a night's run, the odd
// backfill), so an hour holds one run and two weeks fit in 336 points.
func hourly() awscdk.Duration { return awscdk.Duration_Hours(jsii.Number(1)) }

func headerWidget(env Environment) awscloudwatch.IWidget {
	return awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: jsii.String(strings.Join([]string{
			fmt.Sprintf("# tally-uptime %s", env.Name),
			fmt.Sprintf("Schedule `%s` (%s)%s. Metrics: namespace `%s`, `%s=%s`. Logs: `%s`. "+
				"Exit codes and what to do when an alarm fires: docs/runbook.md in the repository.",
				env.Schedule, env.TimeZone, pausedNote(env), contract.Namespace, contract.DimensionEnvironment, env.Name, env.LogGroupName()),
		}, "\n\n")),
		Width:  jsii.Number(24),
		Height: jsii.Number(2),
	})
}

func runsWidget(alarms *JobAlarms) awscloudwatch.IWidget {
	day := awscdk.Duration_Days(jsii.Number(1))
	return awscloudwatch.NewGraphWidget(graph("Runs per day (UTC): succeeded and failed", []awscloudwatch.IMetric{
		withLabel(alarms.Metric(contract.RunSucceeded, "Sum", day), "succeeded (exit 0 or 5; dry runs count 0)", "#2ca02c"),
		withLabel(alarms.Metric(contract.RunFailed, "Sum", day), "failed", "#d62728"),
	}, nil))
}

func durationWidget(alarms *JobAlarms) awscloudwatch.IWidget {
	props := graph("Duration per run (seconds): the alarm watches scheduled runs", []awscloudwatch.IMetric{
		withLabel(alarms.ScheduledMetric(contract.DurationSeconds, "Maximum", hourly()), "scheduled runs", ""),
		withLabel(alarms.Metric(contract.DurationSeconds, "Maximum", hourly()), "every run (backfills too)", "#7f7f7f"),
	}, nil)
	props.LeftAnnotations = &[]*awscloudwatch.HorizontalAnnotation{{
		Value: jsii.Number(DurationThresholdSeconds),
		Label: jsii.String(fmt.Sprintf("%d s: the duration alarm", DurationThresholdSeconds)),
		Color: jsii.String("#d62728"),
	}}
	return awscloudwatch.NewGraphWidget(props)
}

func workWidget(alarms *JobAlarms) awscloudwatch.IWidget {
	return awscloudwatch.NewGraphWidget(graph("What each run did",
		[]awscloudwatch.IMetric{withLabel(alarms.Metric(contract.ContributionsCreated, "Sum", hourly()), "contributions created", "")},
		[]awscloudwatch.IMetric{withLabel(alarms.Metric(contract.UsersProcessed, "Maximum", hourly()), "users processed", ""),
			// Above 0: exit 5, users whose days no multiplier covers got nothing (docs/runbook.md).
			withLabel(alarms.Metric(contract.UsersHeldBack, "Maximum", hourly()), "users held back", "#d62728")}))
}

// graph is a third of the dashboard's width; its axes start at zero, because a count or a
// duration drawn from its minimum makes a small change look like a collapse.
func graph(title string, left, right []awscloudwatch.IMetric) *awscloudwatch.GraphWidgetProps {
	props := &awscloudwatch.GraphWidgetProps{
		Title:     jsii.String(title),
		Left:      &left,
		LeftYAxis: &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)},
		Width:     jsii.Number(8),
		Height:    jsii.Number(6),
	}
	if right != nil {
		props.Right = &right
		props.RightYAxis = &awscloudwatch.YAxisProps{Min: jsii.Number(0), ShowUnits: jsii.Bool(false)}
	}
	return props
}

func alarmStatusWidget(alarms *JobAlarms) awscloudwatch.IWidget {
	refs := []interfacesawscloudwatch.IAlarmRef{}
	for _, a := range alarms.Alarms() {
		refs = append(refs, a)
	}
	return awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title:  jsii.String("Alarms (failed and failed-to-start tasks mail the topic directly; see docs/runbook.md)"),
		Alarms: &refs,
		Width:  jsii.Number(24),
		Height: jsii.Number(3),
	})
}

func logTableWidget(title string, group awslogs.ILogGroup, query []string, height float64) awscloudwatch.IWidget {
	return awscloudwatch.NewLogQueryWidget(&awscloudwatch.LogQueryWidgetProps{
		Title:         jsii.String(title),
		LogGroupNames: &[]*string{group.LogGroupName()},
		QueryLines:    jsii.Strings(query...),
		View:          awscloudwatch.LogQueryVisualizationType_TABLE,
		Width:         jsii.Number(24),
		Height:        jsii.Number(height),
	})
}

// URL is the dashboard in the CloudWatch console of the stack's region.
func (d *JobDashboard) URL() string {
	region := *awscdk.Stack_Of(d.Construct).Region()
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards/dashboard/%s", region, region, d.Name)
}

func withLabel(m awscloudwatch.Metric, label, color string) awscloudwatch.IMetric {
	opts := &awscloudwatch.MetricOptions{Label: jsii.String(label)}
	if color != "" {
		opts.Color = jsii.String(color)
	}
	return m.With(opts)
}

func pausedNote(env Environment) string {
	if env.SchedulePaused {
		return ", PAUSED"
	}
	return ""
}
