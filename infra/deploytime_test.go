package main

// Rules that CloudFormation or the service behind a resource applies only at
// deploy time, checked on every synthesized template: what cdk-nag, cfn-guard
// and cfn-lint let through but a real `cdk deploy` would roll back on.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// allResources is every resource of every synthesized stack, keyed
// "<stack>/<logical id>": the environments' stacks the tests configure, and every stack
// the example context builds (its environments and the GitHub trust of each account).
func allResources(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for name, s := range synth(t) {
		for id, r := range s.res {
			out["TallyUptime-"+name+"/"+id] = r
		}
	}
	example := synthScenario(t, "example")
	for name, s := range example.envs {
		for id, r := range s.res {
			out["example/TallyUptime-"+name+"/"+id] = r
		}
	}
	for account, s := range example.github {
		for id, r := range s.res {
			out["example/TallyUptime-github-"+account+"/"+id] = r
		}
	}
	return out
}

// ---- EventBridge input templates ---------------------------------------------

// predefinedInputVariables are the variables EventBridge defines itself. From
// "Amazon EventBridge input transformation" (EventBridge User Guide): "You can
// define up to 100 variables, assigning each a value from the input. Then you
// can use those variables in the Input Template as <variable-name>." and
// "There are pre-defined variables you can use without defining a JSON path.
// These variables are reserved, and you can't create variables with these
// names": aws.events.rule-arn, aws.events.rule-name,
// aws.events.event.ingestion-time, aws.events.event, aws.events.event.json.
// Any other <name> that is not a key of InputPathsMap makes PutTargets fail,
// and with it the stack.
var predefinedInputVariables = []string{
	"aws.events.rule-arn", "aws.events.rule-name", "aws.events.event.ingestion-time",
	"aws.events.event", "aws.events.event.json",
}

var placeholderPattern = regexp.MustCompile(`<([^<>]*)>`)

// undefinedPlaceholders lists the <name>s of an input template that neither
// its InputPathsMap nor EventBridge defines, in order of appearance.
func undefinedPlaceholders(template string, paths map[string]any) []string {
	var bad []string
	for _, m := range placeholderPattern.FindAllStringSubmatch(template, -1) {
		if _, ok := paths[m[1]]; !ok && !slices.Contains(predefinedInputVariables, m[1]) {
			bad = append(bad, "<"+m[1]+">")
		}
	}
	return bad
}

// inputTransformers finds every object holding an InputTemplate, wherever in a
// resource's properties it sits (rule targets today, pipes tomorrow).
func inputTransformers(v any, found func(it map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["InputTemplate"]; ok {
			found(x)
		}
		for _, child := range x {
			inputTransformers(child, found)
		}
	case []any:
		for _, child := range x {
			inputTransformers(child, found)
		}
	}
}

func TestInputTemplatesUseOnlyDefinedVariables(t *testing.T) {
	checked := 0
	for id, r := range allResources(t) {
		inputTransformers(props(r), func(it map[string]any) {
			checked++
			if bad := undefinedPlaceholders(renderJoin(it["InputTemplate"]), obj(it["InputPathsMap"])); len(bad) > 0 {
				t.Errorf("%s: input template uses %s, which is neither in its InputPathsMap nor predefined by EventBridge; "+
					"PutTargets would reject it and the stack roll back", id, strings.Join(bad, ", "))
			}
		})
	}
	// Two task-state rules per environment stack; fewer means the walk missed them.
	if want := 2 * len(synth(t)); checked < want {
		t.Errorf("checked %d input templates, want at least %d", checked, want)
	}
}

func TestUndefinedPlaceholdersCatchesBrokenTemplates(t *testing.T) {
	paths := map[string]any{"detail-taskArn": "$.detail.taskArn"}
	cases := []struct {
		template string
		want     []string
	}{
		{`"Task <detail-taskArn> of rule <aws.events.rule-name> at <aws.events.event.ingestion-time>"`, nil},
		{`"stream uptime/uptime-job/<task id, the last part of the task ARN>"`, []string{"<task id, the last part of the task ARN>"}},
		{`"<detail-taskArn> exited <exitCode>"`, []string{"<exitCode>"}},
		{`{"event": <aws.events.event.json>, "rule": "<aws.events.rule-arn>"}`, nil},
		{`"<aws.events.not-a-variable>"`, []string{"<aws.events.not-a-variable>"}},
	}
	for _, c := range cases {
		eq(t, c.template, undefinedPlaceholders(c.template, paths), c.want)
	}
}

// ---- fixed physical names and retention ---------------------------------------

// nameProperties is, per resource type these stacks create, the property that
// fixes its physical name. Other *Name properties are not physical names
// (a display name, a metric's name, an inline policy's name).
var nameProperties = map[string]string{
	"AWS::Logs::LogGroup":           "LogGroupName",
	"AWS::SNS::Topic":               "TopicName",
	"AWS::SQS::Queue":               "QueueName",
	"AWS::Scheduler::Schedule":      "Name",
	"AWS::Scheduler::ScheduleGroup": "Name",
	"AWS::CloudWatch::Dashboard":    "DashboardName",
	"AWS::CloudWatch::Alarm":        "AlarmName",
	"AWS::IAM::Role":                "RoleName",
	"AWS::IAM::ManagedPolicy":       "ManagedPolicyName",
	"AWS::ECS::Cluster":             "ClusterName",
	"AWS::Events::Rule":             "Name",
	"AWS::ECR::Repository":          "RepositoryName",
	"AWS::Logs::ResourcePolicy":     "PolicyName",
}

// notNames are *Name properties that name nothing in the account.
var notNames = map[string]bool{
	"AWS::SNS::Topic DisplayName":         true,
	"AWS::CloudWatch::Alarm MetricName":   true,
	"AWS::IAM::Policy PolicyName":         true,
	"AWS::ECS::Cluster CapacityProviders": true,
}

// retainedNamedResources lists the resources whose fixed name would survive a
// failed first deploy. CloudFormation's DeletionPolicy "Retain" keeps the
// resource when a stack that was being created rolls back, so the retry fails
// with "already exists"; "RetainExceptOnCreate" (CDK's
// RETAIN_ON_UPDATE_OR_DELETE) deletes it in that one case and keeps it
// otherwise; "Delete" always deletes.
func retainedNamedResources(resources map[string]map[string]any) (bad, unknown []string) {
	for id, r := range resources {
		typ, _ := r["Type"].(string)
		p := props(r)
		nameProp, known := nameProperties[typ]
		if !known {
			for k, v := range p {
				if _, isString := v.(string); isString && strings.HasSuffix(k, "Name") && !notNames[typ+" "+k] {
					unknown = append(unknown, fmt.Sprintf("%s (%s has %s)", id, typ, k))
				}
			}
			continue
		}
		if p[nameProp] == nil {
			continue
		}
		if r["DeletionPolicy"] == "Retain" || r["DeletionPolicy"] == "Snapshot" {
			bad = append(bad, fmt.Sprintf("%s (%s %s=%v)", id, typ, nameProp, renderJoin(p[nameProp])))
		}
	}
	sort.Strings(bad)
	sort.Strings(unknown)
	return bad, unknown
}

func TestNamedResourcesAreNotLeftBehindByAFailedCreate(t *testing.T) {
	all := allResources(t)
	bad, unknown := retainedNamedResources(all)
	for _, b := range bad {
		t.Errorf("%s has a fixed name and DeletionPolicy Retain: a rolled-back first deploy leaves it behind and "+
			"every retry fails with \"already exists\"; use RETAIN_ON_UPDATE_OR_DELETE or DESTROY", b)
	}
	for _, u := range unknown {
		t.Errorf("%s: add the type's name property to nameProperties, or the property to notNames", u)
	}
	named := 0
	for _, r := range all {
		if n, ok := nameProperties[r["Type"].(string)]; ok && props(r)[n] != nil {
			named++
		}
	}
	if named < 10 {
		t.Errorf("only %d named resources found; the walk is broken", named)
	}
}

func TestRetainedNamedResourcesCatchesRetain(t *testing.T) {
	resources := map[string]map[string]any{
		"Kept": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
			"Properties": map[string]any{"LogGroupName": "/tally/uptime/x"}},
		"KeptExceptOnCreate": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate",
			"Properties": map[string]any{"LogGroupName": "/tally/uptime/y"}},
		"Unnamed": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
		"Topic":   {"Type": "AWS::SNS::Topic", "Properties": map[string]any{"TopicName": "t", "DisplayName": "d"}},
		"Odd":     {"Type": "AWS::Foo::Bar", "Properties": map[string]any{"BarName": "b"}},
	}
	bad, unknown := retainedNamedResources(resources)
	eq(t, "retained", bad, []string{"Kept (AWS::Logs::LogGroup LogGroupName=/tally/uptime/x)"})
	eq(t, "unknown", unknown, []string{"Odd (AWS::Foo::Bar has BarName)"})
}

// ---- the schedule's network configuration --------------------------------------

// EventBridge Scheduler's AwsVpcConfiguration: "You can specify ENABLED only
// when LaunchType in EcsParameters is set to FARGATE." A capacity provider
// strategy (Spot) replaces the launch type, so it must come without a public IP.
func publicIPWithoutFargateLaunchType(resources map[string]map[string]any) []string {
	var bad []string
	for id, r := range resources {
		if r["Type"] != "AWS::Scheduler::Schedule" {
			continue
		}
		ecs := obj(obj(props(r)["Target"])["EcsParameters"])
		vpc := obj(obj(ecs["NetworkConfiguration"])["AwsvpcConfiguration"])
		if vpc["AssignPublicIp"] == "ENABLED" && ecs["LaunchType"] != "FARGATE" {
			bad = append(bad, id)
		}
	}
	sort.Strings(bad)
	return bad
}

func TestSchedulesAssignPublicIPOnlyWithLaunchTypeFargate(t *testing.T) {
	for _, id := range publicIPWithoutFargateLaunchType(allResources(t)) {
		t.Errorf("%s: AssignPublicIp ENABLED without LaunchType FARGATE; CreateSchedule rejects it", id)
	}
	spotWithPublicIP := map[string]map[string]any{"S": {"Type": "AWS::Scheduler::Schedule", "Properties": map[string]any{
		"Target": map[string]any{"EcsParameters": map[string]any{
			"CapacityProviderStrategy": []any{map[string]any{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}},
			"NetworkConfiguration":     map[string]any{"AwsvpcConfiguration": map[string]any{"AssignPublicIp": "ENABLED"}},
		}}}}}
	eq(t, "broken schedule", publicIPWithoutFargateLaunchType(spotWithPublicIP), []string{"S"})
}

// ---- CloudFormation resource schemas -----------------------------------------

// TestTemplatesMatchResourceSchemas runs scripts/check-schemas.mjs on every
// stack the tests synthesize, the test-only configurations (existing VPC,
// Spot) included; scripts/check-infra.sh runs it on what `cdk synth` writes.
// It needs the npm packages (scripts/test.sh installs them first).
func TestTemplatesMatchResourceSchemas(t *testing.T) {
	root := repoRoot()
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@aws-cdk", "aws-service-spec", "db.json.gz")); err != nil {
		t.Skip("node_modules lacks @aws-cdk/aws-service-spec; run npm ci (scripts/test.sh does) to check the resource schemas")
	}
	synth(t)
	templates, err := filepath.Glob(filepath.Join(synthDir, "*.template.json"))
	if err != nil || len(templates) < len(stacks) {
		t.Fatalf("%d templates in %s (%v), want one per stack", len(templates), synthDir, err)
	}
	cmd := exec.Command("node", append([]string{filepath.Join(root, "scripts", "check-schemas.mjs")}, templates...)...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("check-schemas: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}
