package main

// The scoped CloudFormation execution policy for `cdk bootstrap`
// (bootstrap-execution-policy.json) against what the stacks really create.

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// createdWith is, for each resource type the stacks may create, the action
// CloudFormation cannot create it without, and the one it cannot delete it
// without. A new resource type fails TestBootstrapPolicyCoversEveryResourceType
// until it is added here and to the policy.
var createdWith = map[string][2]string{
	"AWS::CloudWatch::Alarm":                        {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"},
	"AWS::CloudWatch::Dashboard":                    {"cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"},
	"AWS::EC2::FlowLog":                             {"ec2:CreateFlowLogs", "ec2:DeleteFlowLogs"},
	"AWS::EC2::InternetGateway":                     {"ec2:CreateInternetGateway", "ec2:DeleteInternetGateway"},
	"AWS::EC2::Route":                               {"ec2:CreateRoute", "ec2:DeleteRoute"},
	"AWS::EC2::RouteTable":                          {"ec2:CreateRouteTable", "ec2:DeleteRouteTable"},
	"AWS::EC2::SecurityGroup":                       {"ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup"},
	"AWS::EC2::SecurityGroupEgress":                 {"ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"},
	"AWS::EC2::SecurityGroupIngress":                {"ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"},
	"AWS::EC2::Subnet":                              {"ec2:CreateSubnet", "ec2:DeleteSubnet"},
	"AWS::EC2::SubnetRouteTableAssociation":         {"ec2:AssociateRouteTable", "ec2:DisassociateRouteTable"},
	"AWS::EC2::VPC":                                 {"ec2:CreateVpc", "ec2:DeleteVpc"},
	"AWS::EC2::VPCGatewayAttachment":                {"ec2:AttachInternetGateway", "ec2:DetachInternetGateway"},
	"AWS::ECS::Cluster":                             {"ecs:CreateCluster", "ecs:DeleteCluster"},
	"AWS::ECS::ClusterCapacityProviderAssociations": {"ecs:PutClusterCapacityProviders", "ecs:PutClusterCapacityProviders"},
	"AWS::ECS::TaskDefinition":                      {"ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"},
	"AWS::Events::Rule":                             {"events:PutRule", "events:DeleteRule"},
	"AWS::IAM::OIDCProvider":                        {"iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider"},
	"AWS::IAM::Policy":                              {"iam:PutRolePolicy", "iam:DeleteRolePolicy"},
	"AWS::IAM::Role":                                {"iam:CreateRole", "iam:DeleteRole"},
	"AWS::Logs::LogGroup":                           {"logs:CreateLogGroup", "logs:DeleteLogGroup"},
	"AWS::SNS::Subscription":                        {"sns:Subscribe", "sns:Unsubscribe"},
	"AWS::SNS::Topic":                               {"sns:CreateTopic", "sns:DeleteTopic"},
	"AWS::SNS::TopicPolicy":                         {"sns:SetTopicAttributes", "sns:SetTopicAttributes"},
	"AWS::SQS::Queue":                               {"sqs:CreateQueue", "sqs:DeleteQueue"},
	"AWS::SQS::QueuePolicy":                         {"sqs:SetQueueAttributes", "sqs:SetQueueAttributes"},
	"AWS::Scheduler::Schedule":                      {"scheduler:CreateSchedule", "scheduler:DeleteSchedule"},
}

type policyStatement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  any
	Condition map[string]any
}

type policyDocument struct {
	Version   string
	Statement []policyStatement
}

func readBootstrapPolicy(t *testing.T) (policyDocument, []byte) {
	t.Helper()
	b, err := os.ReadFile("bootstrap-execution-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc policyDocument
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("bootstrap-execution-policy.json: %v", err)
	}
	return doc, b
}

func TestBootstrapPolicyCoversEveryResourceType(t *testing.T) {
	doc, raw := readBootstrapPolicy(t)
	allowed := map[string]bool{}
	services := map[string]bool{}
	for _, st := range doc.Statement {
		if st.Effect != "Allow" || st.Sid == "" {
			t.Errorf("statement %q: want a named Allow", st.Sid)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s allows the wildcard action %s", st.Sid, a)
			}
			allowed[a] = true
			services[strings.SplitN(a, ":", 2)[0]] = true
		}
		if strings.HasPrefix(st.Action[0], "iam:") && jsonOf(st.Resource) == `"*"` {
			t.Errorf("statement %s allows IAM on every resource", st.Sid)
		}
	}
	// IAM's limit for a managed policy, whitespace not counted.
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	if n := compact.Len(); n > 6144 {
		t.Errorf("the policy is %d characters; a managed policy holds 6,144", n)
	}

	used := map[string]bool{}
	for name, s := range allStacks(t) {
		for _, r := range s.res {
			typ := r["Type"].(string)
			if _, ok := createdWith[typ]; !ok && !used[typ] {
				t.Errorf("%s now creates %s; add its actions to bootstrap-execution-policy.json and to createdWith", name, typ)
			}
			used[typ] = true
		}
	}
	for typ := range used {
		for _, a := range createdWith[typ] {
			if !allowed[a] {
				t.Errorf("%s needs %s, which bootstrap-execution-policy.json does not allow", typ, a)
			}
		}
	}
	// Nothing in the policy or the table that no stack creates.
	usedServices := map[string]bool{}
	for typ := range createdWith {
		if !used[typ] {
			t.Errorf("no stack creates %s any more; remove it from createdWith and its actions from the policy", typ)
		}
		usedServices[strings.SplitN(createdWith[typ][0], ":", 2)[0]] = true
	}
	for s := range services {
		// IAM also passes the stacks' roles and creates ECS's service-linked role; SSM is the
		// stacks' BootstrapVersion parameter, which CloudFormation resolves.
		if !usedServices[s] && s != "iam" && s != "ssm" {
			t.Errorf("the policy allows %s actions, but no stack creates a %s resource", s, s)
		}
	}
	if !slices.ContainsFunc(doc.Statement, func(st policyStatement) bool {
		return slices.Contains(st.Action, "iam:PassRole") && st.Condition != nil
	}) {
		t.Error("iam:PassRole without an iam:PassedToService condition")
	}
}
