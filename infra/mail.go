package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

// mailLookBackSecond is the logs link's window: a mail read a week late still finds the run.
const mailLookBackSecond = 7 * 24 * 3600

// mailTemplate is an EventBridge input transformer whose template is plain
// text. The EventBridge API reference (InputTransformer) shows the form:
//
//	"InputPathsMap": {"instance": "$.detail.instance","status": "$.detail.status"},
//	"InputTemplate": "<instance> is in state <status>"
//
// A template that is itself a JSON string ("\"...\"", what CDK's
// RuleTargetInput.fromText and fromMultilineText produce) is delivered with
// its quotes, one quoted line each; plain text is delivered as written, each
// <name> replaced by the value at its path.
type mailTemplate struct {
	paths map[string]string // variable -> JSON path in the event
	lines []string
}

// applyTo sets the template on the only target of rule, replacing the
// input CDK would render.
func (m mailTemplate) applyTo(rule awsevents.Rule) {
	cfn := rule.Node().DefaultChild().(awsevents.CfnRule)
	paths := map[string]interface{}{}
	for k, v := range m.paths {
		paths[k] = v
	}
	cfn.AddPropertyOverride(jsii.String("Targets.0.InputTransformer"), map[string]interface{}{
		"InputPathsMap": paths,
		"InputTemplate": strings.Join(m.lines, "\n"),
	})
}

// taskFailedMail is the mail of a task whose container exited non-zero.
func taskFailedMail(stack awscdk.Stack, env Environment) mailTemplate {
	// An input template cannot branch on a value, so the mail names the code and lists every
	// failing one with its meaning.
	meanings := []string{}
	for _, e := range contract.Exits {
		if e.Code != contract.ExitOK {
			meanings = append(meanings, fmt.Sprintf("  %d = %s", e.Code, e.Meaning))
		}
	}
	lines := []string{
		fmt.Sprintf("tally-uptime %s: the job failed with exit code <exitCode>.", env.Name),
		"",
		"Environment: " + env.Name,
		"Exit code: <exitCode>, where",
	}
	lines = append(lines, meanings...)
	lines = append(lines,
		"Stopped reason: <stoppedReason>",
		"Task: <taskArn>",
		"Time: <time>",
		"",
		"The run's log, with the job's error sentence (the \"run failed\" record), one click:",
		runLogURL(stack, env, "<taskArn>"),
		streamLine(env),
		"",
		"Runbook: "+runbookRef(env.GitHubRepository, RunbookTaskFailed),
		"First check: the exit code above, then the error sentence in the log.",
	)
	return mailTemplate{paths: map[string]string{
		"exitCode":      "$.detail.containers[0].exitCode",
		"stoppedReason": "$.detail.stoppedReason",
		"taskArn":       "$.detail.taskArn",
		"time":          "$.time",
	}, lines: lines}
}

// notStartedMail is the mail of a task that stopped before its container ran.
func notStartedMail(stack awscdk.Stack, env Environment) mailTemplate {
	return mailTemplate{paths: map[string]string{
		"stoppedReason": "$.detail.stoppedReason",
		"taskArn":       "$.detail.taskArn",
		"time":          "$.time",
	}, lines: []string{
		fmt.Sprintf("tally-uptime %s: the task failed to start; the job did not run.", env.Name),
		"",
		"Environment: " + env.Name,
		"Stopped reason: <stoppedReason>",
		"Task: <taskArn>",
		"Time: <time>",
		fmt.Sprintf("Usual causes: the image could not be pulled, the %s parameter could not be read, no route to ECR/SSM.",
			env.DatabaseURLParameter),
		"The container never ran, so there is usually no log; this link shows it if there is one:",
		runLogURL(stack, env, "<taskArn>"),
		streamLine(env),
		"",
		"Runbook: " + runbookRef(env.GitHubRepository, RunbookNotStarted),
		"First check: the stopped reason above.",
	}}
}

// streamLine says where the run's log is for someone without the link.
func streamLine(env Environment) string {
	return fmt.Sprintf("(log group %s, stream %s/%s/ followed by the last part of the task ARN)",
		env.LogGroupName(), LogStreamPrefix, contract.ContainerName)
}

// runLogURL is a CloudWatch Logs Insights console link that shows the records
// of one task's log stream. The stream is <prefix>/<container>/<task id> and
// the task id is the ARN's last part, which an input path cannot cut out; so
// the query keeps the stream whose id the task ARN contains, and the ARN is
// pasted into the query by EventBridge (arnVariable, left unencoded: an ARN is
// letters, digits, ':', '/' and '-', all of which a URL fragment may hold).
func runLogURL(stack awscdk.Stack, env Environment, arnVariable string) string {
	const marker = "TASKARN"
	query := strings.Join([]string{
		"fields @timestamp, level, msg, exit_code, error, version",
		fmt.Sprintf(`| filter strcontains("%s", replace(@logStream, "%s/%s/", ""))`, marker, LogStreamPrefix, contract.ContainerName),
		"| sort @timestamp asc",
	}, "\n")
	editor := strings.Replace(consoleEscape(query), marker, arnVariable, 1)
	region := *stack.Region()
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:logs-insights"+
		"$3FqueryDetail$3D~(end~0~start~-%d~timeType~'RELATIVE~unit~'seconds~editorString~'%s~source~(~'%s))",
		region, region, mailLookBackSecond, editor, consoleEscape(env.LogGroupName()))
}

// consoleEscape is the CloudWatch console's escaping inside a queryDetail:
// URL percent-encoding with '*' in place of '%'.
func consoleEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%", "*")
}
