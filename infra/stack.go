package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

// UptimeStack is one environment of the nightly job: network, task, schedule
// and alarms, plus the outputs that ad-hoc runs and scripts/backfill.sh read.
type UptimeStack struct {
	awscdk.Stack
	Env       Environment
	Network   *JobNetwork
	Task      *JobTask
	Schedule  *NightlySchedule
	Alarms    *JobAlarms
	Dashboard *JobDashboard
}

// NewUptimeStack builds the stack of one environment; env must have passed
// WithDefaults and Validate.
func NewUptimeStack(scope constructs.Construct, env Environment) *UptimeStack {
	props := &awscdk.StackProps{
		StackName:             jsii.String(contract.StackName(env.Name)),
		Description:           jsii.String(fmt.Sprintf("tally-uptime %s: the nightly Uptime contributions job on ECS Fargate", env.Name)),
		TerminationProtection: jsii.Bool(env.TerminationProtection),
	}
	if env.Account != "" || env.Region != "" {
		props.Env = &awscdk.Environment{}
		if env.Account != "" {
			props.Env.Account = jsii.String(env.Account)
		}
		if env.Region != "" {
			props.Env.Region = jsii.String(env.Region)
		}
	}
	stack := awscdk.NewStack(scope, jsii.String(contract.StackName(env.Name)), props)
	// For cost allocation: the monthly bill of each environment by tag.
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("tally-uptime"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("environment"), jsii.String(env.Name), nil)

	s := &UptimeStack{Stack: stack, Env: env}
	s.Network = NewJobNetwork(stack, "Network", env)
	s.Task = NewJobTask(stack, "Task", env, s.Network)
	s.Schedule = NewNightlySchedule(stack, "Schedule", env, s.Task, s.Network)
	s.Alarms = NewJobAlarms(stack, "Alarms", env, s.Task, s.Schedule)
	if !env.NoDashboard {
		s.Dashboard = NewJobDashboard(stack, "Dashboard", env, s.Task, s.Alarms)
	}
	s.addOutputs()
	s.warnAboutMissingValues()
	return s
}

// warnAboutMissingValues names, as synth warnings, each deployer value the
// environment lacks and what the stack does without it.
func (s *UptimeStack) warnAboutMissingValues() {
	e := s.Env
	key := ContextEnvironments + "." + e.Name
	var warnings [][2]string
	if e.Account == "" || e.Region == "" {
		warnings = append(warnings, [2]string{"noAccount", fmt.Sprintf("No account and region for %s (context %s.account and .region): "+
			"the stack is environment-agnostic and deploys wherever the credentials point.", e.Name, key)})
	}
	if len(e.AlarmEmails) == 0 {
		warnings = append(warnings, [2]string{"noAlarmEmails", fmt.Sprintf("No alarm e-mail for %s (context %s.alarmEmails): "+
			"the alarm topic has no subscription and nobody hears of a failed run.", e.Name, key)})
	}
	if e.Network.DatabaseCIDR == "" && e.Network.DatabaseSecurityGroupID == "" {
		warnings = append(warnings, [2]string{"noDatabasePath", fmt.Sprintf("No database address for %s (context %s.databaseCidr, "+
			"or vpcId with databaseSecurityGroupId): the task has no PostgreSQL egress and every run fails to connect.", e.Name, key)})
	}
	if cidr := e.Network.DatabaseCIDR; singlePublicAddress(cidr) {
		warnings = append(warnings, [2]string{"databaseAddressMoves", fmt.Sprintf("The PostgreSQL egress of %s is the single public "+
			"address %s (context %s.databaseCidr): a managed database's public address changes on a Multi-AZ failover or maintenance, "+
			"and every run then times out until a redeploy; prefer the existing-VPC mode with databaseSecurityGroupId (docs/deploy.md).",
			e.Name, cidr, key)})
	}
	for _, w := range warnings {
		awscdk.Annotations_Of(s.Stack).AddWarningV2(jsii.String("tally-uptime:"+w[0]), jsii.String(w[1]), nil)
	}
}

// singlePublicAddress reports whether cidr is one public IPv4 address (a /32 outside the
// private ranges): the kind of address a managed database's endpoint resolves to today.
func singlePublicAddress(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == 32 && p.Addr().IsGlobalUnicast() && !p.Addr().IsPrivate()
}

// BackfillExample is the command override the RunTaskCommand output shows.
var BackfillExample = []string{"--dry-run", "--from", "2026-01-01", "--to", "2026-01-31"}

// addOutputs publishes what an ad-hoc `aws ecs run-task` needs. The names are
// an interface: scripts/backfill.sh and the docs read them.
func (s *UptimeStack) addOutputs() {
	env := s.Env
	subnetIDs := awscdk.Fn_Join(jsii.String(","), s.Network.Vpc.SelectSubnets(s.Network.Subnets).SubnetIds)
	assignPublicIP := "DISABLED"
	if s.Network.AssignPublicIP {
		assignPublicIP = "ENABLED"
	}
	capacity := "--launch-type FARGATE"
	if env.Spot {
		capacity = "--capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1"
	}
	quoted := make([]string, len(BackfillExample))
	for i, a := range BackfillExample {
		quoted[i] = `"` + a + `"`
	}
	runTask := fmt.Sprintf("aws ecs run-task --region %s --cluster %s --task-definition %s %s "+
		"--network-configuration 'awsvpcConfiguration={subnets=[%s],securityGroups=[%s],assignPublicIp=%s}' "+
		`--overrides '{"containerOverrides":[{"name":"%s","command":[%s]}]}'`,
		*s.Region(), *s.Task.Cluster.ClusterName(), env.Family(), capacity,
		*subnetIDs, *s.Network.SecurityGroup.SecurityGroupId(), assignPublicIP,
		contract.ContainerName, strings.Join(quoted, ","))

	outputs := []struct{ name, value, description string }{
		{contract.OutputClusterName, *s.Task.Cluster.ClusterName(), "ECS cluster the job runs in"},
		{contract.OutputTaskDefinitionArn, *s.Task.TaskDefinition.TaskDefinitionArn(), "Task definition revision this deploy registered"},
		{contract.OutputTaskFamily, env.Family(), "Task definition family (run-task takes its latest ACTIVE revision)"},
		{contract.OutputContainerName, contract.ContainerName, "Container to name in --overrides"},
		{contract.OutputSubnetIDs, *subnetIDs, "Subnets for run-task, comma-separated"},
		{contract.OutputSecurityGroupID, *s.Network.SecurityGroup.SecurityGroupId(), "Security group of the task"},
		{contract.OutputAssignPublicIP, assignPublicIP, "assignPublicIp for run-task"},
		{contract.OutputLogGroupName, *s.Task.LogGroup.LogGroupName(), "Log group of the job"},
		{contract.OutputLogStreamPrefix, LogStreamPrefix, "Streams are <prefix>/" + contract.ContainerName + "/<task id>"},
		{"AlarmTopicArn", *s.Alarms.Topic.TopicArn(), "SNS topic of every alarm"},
		{"Image", *s.Task.Container.ImageName(), "Image the task definition runs; for a built image, its tag is the asset hash"},
		{"ImageRevision", imageRevision(env), "Commit the image was built from (its OCI label org.opencontainers.image.revision)"},
		{contract.OutputCapacityProvider, env.CapacityProvider(), "FARGATE or FARGATE_SPOT"},
		{contract.OutputJobEnvironment, jobEnvironment(s.Task.Variables), "The container's UPTIME_* variables (NAME=VALUE, space-separated): " +
			"the defaults every run starts from; scripts/backfill.sh checks a backfill's flags against them"},
		{"RunTaskCommand", runTask, "A dry-run backfill of January 2026, ready to paste; change the command to taste"},
	}
	if s.Dashboard != nil {
		outputs = append(outputs, struct{ name, value, description string }{"DashboardUrl", s.Dashboard.URL(),
			"CloudWatch dashboard " + s.Dashboard.Name + ": runs, duration, work done, alarms, last run summaries"})
	}
	for _, o := range outputs {
		awscdk.NewCfnOutput(s.Stack, jsii.String(o.name), &awscdk.CfnOutputProps{
			Value:       jsii.String(o.value),
			Description: jsii.String(o.description),
		})
	}
}

// imageRevision is the commit the stack's image is built from, or says why it
// is not known.
func imageRevision(env Environment) string {
	if env.ImageURI != "" {
		return "not built here: see the image's org.opencontainers.image.revision label"
	}
	if r := imageBuildArgs()["REVISION"]; r != nil {
		return *r
	}
	return "unknown (built without git or GITHUB_SHA)"
}

// jobEnvironment is the task's variables as sorted NAME=VALUE words; none of the job's
// defaults (numbers, true, durations) holds a space.
func jobEnvironment(vars map[string]string) string {
	words := make([]string, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		words = append(words, k+"="+vars[k])
	}
	return strings.Join(words, " ")
}
