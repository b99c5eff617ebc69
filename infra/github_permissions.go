package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

type permission struct {
	props     *awsiam.PolicyStatementProps
	wildcards []string // the resources ending in a wildcard, as cdk-nag prints them
}

// arnIn builds ARNs in one account and region: with the stack's partition
// token for the policy, and with CloudFormation's names for cdk-nag's findings.
type arnIn struct{ partition, account, region string }

func newArnIn(stack awscdk.Stack, account, region string) arnIn {
	return arnIn{*stack.Partition(), account, region}
}

// of is the ARN of a regional resource; global (IAM) when regional is false.
func (a arnIn) of(service string, regional bool, resource string) (string, string) {
	region := ""
	if regional {
		region = a.region
	}
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.partition, service, region, a.account, resource),
		fmt.Sprintf("arn:<AWS::Partition>:%s:%s:%s:%s", service, region, a.account, resource)
}

// bootstrapRole is one of the CDK bootstrap roles of the account and region.
func (a arnIn) bootstrapRole(qualifier, kind string) string {
	r, _ := a.of("iam", false, fmt.Sprintf("role/cdk-%s-%s-role-%s-%s", qualifier, kind, a.account, a.region))
	return r
}

// environmentPermissions is everything one environment's GitHub role may
// do: deploy that environment's stack through its account's CDK bootstrap
// roles, and run, watch and stop that environment's task (a backfill).
func environmentPermissions(stack awscdk.Stack, qualifier string, e Environment) []permission {
	at := newArnIn(stack, e.Account, e.Region)
	var bootstrap []string
	for _, kind := range []string{"deploy", "file-publishing", "image-publishing", "lookup"} {
		bootstrap = append(bootstrap, at.bootstrapRole(qualifier, kind))
	}
	cluster, _ := at.of("ecs", true, "cluster/"+e.ClusterName())
	onCluster := &map[string]interface{}{"ArnEquals": map[string]interface{}{"ecs:cluster": cluster}}
	taskDef, nagTaskDef := at.of("ecs", true, "task-definition/"+e.Family()+":*")
	tasks, nagTasks := at.of("ecs", true, "task/"+e.ClusterName()+"/*")
	taskRole, _ := at.of("iam", false, "role/"+e.TaskRoleName())
	execRole, _ := at.of("iam", false, "role/"+e.ExecutionRoleName())
	stackArn, nagStack := at.of("cloudformation", true, "stack/"+contract.StackName(e.Name)+"/*")
	group, _ := at.of("logs", true, "log-group:"+e.LogGroupName())
	streams, nagStreams := at.of("logs", true, "log-group:"+e.LogGroupName()+":*")

	return []permission{
		// CDK deploys by assuming the bootstrap roles; this role never
		// touches CloudFormation, S3 or ECR itself.
		{props: statement("AssumeCdkBootstrapRoles", []string{"sts:AssumeRole"}, bootstrap, nil)},
		{props: statement("RunTask", []string{"ecs:RunTask"}, []string{taskDef}, onCluster), wildcards: []string{nagTaskDef}},
		{props: statement("WatchAndStopTasks", []string{"ecs:DescribeTasks", "ecs:StopTask"}, []string{tasks}, onCluster),
			wildcards: []string{nagTasks}},
		{props: statement("PassTaskRoles", []string{"iam:PassRole"}, []string{taskRole, execRole}, &map[string]interface{}{
			"StringEquals": map[string]interface{}{"iam:PassedToService": "ecs-tasks.amazonaws.com"},
		})},
		// scripts/backfill.sh reads the cluster, subnets and group from the outputs.
		{props: statement("ReadStackOutputs", []string{"cloudformation:DescribeStacks"}, []string{stackArn}, nil),
			wildcards: []string{nagStack}},
		{props: statement("ReadJobLogs", []string{"logs:GetLogEvents", "logs:FilterLogEvents"}, []string{group, streams}, nil),
			wildcards: []string{nagStreams}},
	}
}

// diffPermissions lets `cdk diff` read the deployed templates through the
// CDK lookup role of each region the account's environments use. The lookup
// role is read-only (ReadOnlyAccess, kms:Decrypt denied); the deploy and
// publishing roles stay out of reach.
func diffPermissions(stack awscdk.Stack, trust GitHubTrust) []permission {
	var lookup []string
	for _, e := range trust.Environments {
		r := newArnIn(stack, e.Account, e.Region).bootstrapRole(trust.BootstrapQualifier, "lookup")
		if !slices.Contains(lookup, r) {
			lookup = append(lookup, r)
		}
	}
	return []permission{{props: statement("AssumeCdkLookupRoles", []string{"sts:AssumeRole"}, lookup, nil)}}
}

func statement(sid string, actions, resources []string, conditions *map[string]interface{}) *awsiam.PolicyStatementProps {
	return &awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings(resources...),
		Conditions: conditions,
	}
}

// sidPart makes an environment name usable in a statement or logical id (alphanumeric only).
func sidPart(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			if up {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			up = true
		default:
			up = true
		}
	}
	return b.String()
}
