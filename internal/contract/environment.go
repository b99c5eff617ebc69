package contract

import (
	"fmt"
	"regexp"
)

// An environment's name is the one thing the CDK app, the workflows and the operator tools all
// derive the stack from; the rule for it lives here.
var environmentName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// CheckEnvironmentName refuses a name that could not be an environment: it is part of the stack
// name, resource names and IAM role names, whose length and alphabet it bounds.
func CheckEnvironmentName(name string) error {
	if !environmentName.MatchString(name) {
		return fmt.Errorf("%q is not an environment name: 1-20 lower-case letters, digits or dashes, starting with a letter", name)
	}
	return nil
}

// StackName is the CloudFormation stack of an environment.
func StackName(environment string) string { return "TallyUptime-" + environment }

// The outputs of each environment's stack that operator tools read: a backfill runs the task
// with exactly the stack's cluster, network and container, and reads its log group.
const (
	OutputClusterName       = "ClusterName"
	OutputTaskDefinitionArn = "TaskDefinitionArn"
	OutputTaskFamily        = "TaskFamily"
	OutputContainerName     = "ContainerName"
	OutputSubnetIDs         = "SubnetIds"
	OutputSecurityGroupID   = "SecurityGroupId"
	OutputAssignPublicIP    = "AssignPublicIp"
	OutputLogGroupName      = "LogGroupName"
	OutputLogStreamPrefix   = "LogStreamPrefix"
	OutputCapacityProvider  = "CapacityProvider"
	OutputJobEnvironment    = "JobEnvironment"
)

// LogGroupName is the job's log group in an environment: fixed, so that the runbook, the
// dashboard and the operator tools name it without reading the stack.
func LogGroupName(environment string) string { return "/tally/uptime/" + environment }

// GitHubRoleName is the role a GitHub workflow of the environment of the same name assumes: its
// deploy and its backfills.
func GitHubRoleName(environment string) string { return "tally-uptime-github-" + environment }

// GitHubDiffRoleName is the read-only role of `cdk diff`, one per account.
const GitHubDiffRoleName = "tally-uptime-github-diff"
