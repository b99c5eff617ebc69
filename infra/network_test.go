package main

import (
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// taskSecurityGroup is the task's own group (the only one the stack creates).
func taskSecurityGroup(t *testing.T, s *synthesized) string {
	id, _ := s.one(t, "AWS::EC2::SecurityGroup")
	return id
}

func TestNetworkShipped(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		assert(t, "no NAT gateway", func() {
			s.template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(0))
		})
		assert(t, "one VPC", func() { s.template.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1)) })
		subnets := s.ofType("AWS::EC2::Subnet")
		if len(subnets) != 2 {
			t.Errorf("%d subnets, want 2 public ones", len(subnets))
		}
		for id, sn := range subnets {
			if props(sn)["MapPublicIpOnLaunch"] != false {
				t.Errorf("subnet %s hands out public IPs to everything", id)
			}
		}
		routes := s.ofType("AWS::EC2::Route")
		for id, r := range routes {
			if props(r)["GatewayId"] == nil {
				t.Errorf("route %s does not go to the internet gateway: %s", id, jsonOf(r))
			}
		}
		_, sg := s.one(t, "AWS::EC2::SecurityGroup")
		if sg["SecurityGroupIngress"] != nil || len(s.ofType("AWS::EC2::SecurityGroupIngress")) != 0 {
			t.Errorf("the task's group has inbound rules")
		}
		eq(t, "egress", sg["SecurityGroupEgress"], []any{
			// No database address without the CDK context: no PostgreSQL egress at all.
			map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTPS to ECR, SSM and CloudWatch Logs", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443},
		})
		_, fl := s.one(t, "AWS::EC2::FlowLog")
		eq(t, "flow log traffic", fl["TrafficType"], "REJECT")
	})
}

func TestExistingVPC(t *testing.T) {
	s := synth(t)["legacy"]
	n := s.env.Network
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::FlowLog"} {
		if len(s.ofType(typ)) != 0 {
			t.Errorf("an existing VPC must not create %s", typ)
		}
	}
	sgID := taskSecurityGroup(t, s)
	_, sg := s.one(t, "AWS::EC2::SecurityGroup")
	eq(t, "task group VPC", sg["VpcId"], n.VpcID)
	eq(t, "task group inline egress", sg["SecurityGroupEgress"], []any{
		map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTPS to ECR, SSM and CloudWatch Logs", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}})
	_, egress := s.one(t, "AWS::EC2::SecurityGroupEgress")
	eq(t, "egress to the database", egress, map[string]any{
		"GroupId": getAtt(sgID, "GroupId"), "DestinationSecurityGroupId": n.DatabaseSecurityGroupID,
		"IpProtocol": "tcp", "FromPort": 6432, "ToPort": 6432, "Description": "PostgreSQL to the database security group"})
	_, ingress := s.one(t, "AWS::EC2::SecurityGroupIngress")
	eq(t, "ingress on the database's group", ingress, map[string]any{
		"GroupId": n.DatabaseSecurityGroupID, "SourceSecurityGroupId": getAtt(sgID, "GroupId"),
		"IpProtocol": "tcp", "FromPort": 6432, "ToPort": 6432, "Description": "tally-uptime legacy nightly job"})

	_, td := s.one(t, "AWS::ECS::TaskDefinition")
	eq(t, "spot architecture", td["RuntimePlatform"], map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"})
	eq(t, "size", []any{td["Cpu"], td["Memory"]}, []any{"512", "1024"})
	c := obj(arr(td["ContainerDefinitions"])[0])
	if img := jsonOf(c["Image"]); !strings.Contains(img, "dkr.ecr.eu-west-1.") || !strings.Contains(img, "tally-uptime@sha256:abab") {
		t.Errorf("image %s, want the configured ECR digest", img)
	}
	env := map[string]any{}
	for _, kv := range arr(c["Environment"]) {
		env[obj(kv)["Name"].(string)] = obj(kv)["Value"]
	}
	eq(t, "environment", env, map[string]any{"UPTIME_ENVIRONMENT": "legacy", "UPTIME_POINTS": "2", "UPTIME_FORCE": "true", "UPTIME_TIMEOUT": "20m0s"})
	if len(obj(s.assets["dockerImages"])) != 0 {
		t.Error("an image URI must not build the Dockerfile")
	}

	missed := alarmNamed(t, s, "tally-uptime-legacy-missed-run")
	eq(t, "missed-run alarm muted while paused", missed["ActionsEnabled"], false)
	eq(t, "subscriptions", len(s.ofType("AWS::SNS::Subscription")), 2)
	eq(t, "outputs", []any{s.outputs["AssignPublicIp"].(map[string]any)["Value"], s.outputs["CapacityProvider"].(map[string]any)["Value"],
		s.outputs["SubnetIds"].(map[string]any)["Value"]},
		[]any{"DISABLED", "FARGATE_SPOT", strings.Join(n.SubnetIDs, ",")})
	if cmd := jsonOf(s.outputs["RunTaskCommand"]); !strings.Contains(cmd, "--capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1") {
		t.Errorf("run-task command ignores Spot: %s", cmd)
	}
}

// The flow-log role trusts the flow-log service only for this account's flow logs, as the VPC
// User Guide recommends: "We recommend that you use the aws:SourceAccount and aws:SourceArn
// condition keys to protect yourself against the confused deputy problem."
func TestFlowLogRoleTrustHeldToThisAccount(t *testing.T) {
	checked := 0
	for name, s := range allStacks(t) {
		for _, fl := range s.ofType("AWS::EC2::FlowLog") {
			role := obj(props(fl)["DeliverLogsPermissionArn"])["Fn::GetAtt"]
			if role == nil {
				t.Errorf("%s: the flow log's role is not the stack's own: %s", name, jsonOf(props(fl)))
				continue
			}
			trust := rendered(obj(props(s.res[arr(role)[0].(string)])["AssumeRolePolicyDocument"]))
			account, region := s.env.Account, s.env.Region
			if account == "" {
				account, region = "${AWS::AccountId}", "${AWS::Region}"
			}
			eq(t, name+" flow-log role trust", obj(trust)["Statement"], []any{map[string]any{
				"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "vpc-flow-logs.amazonaws.com"},
				"Condition": map[string]any{
					"StringEquals": map[string]any{"aws:SourceAccount": account},
					"ArnLike":      map[string]any{"aws:SourceArn": "arn:${AWS::Partition}:ec2:" + region + ":" + account + ":vpc-flow-log/*"},
				},
			}})
			checked++
		}
	}
	if checked < 2 {
		t.Errorf("%d flow logs checked; the shipped stacks have one each", checked)
	}
}
