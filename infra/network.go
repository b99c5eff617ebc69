package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FlowLogsService is the principal of VPC flow logs: the flow-log role trusts it, and the
// bootstrap execution policy passes roles and creates the service-linked role for it.
const FlowLogsService = "vpc-flow-logs.amazonaws.com"

// JobNetwork is where the task's network interface lives and what it may reach.
type JobNetwork struct {
	constructs.Construct
	Vpc           awsec2.IVpc
	Subnets       *awsec2.SubnetSelection
	SecurityGroup awsec2.SecurityGroup
	// AssignPublicIP is true only in the VPC this stack creates: without a NAT
	// gateway, a public IP is the task's only way to ECR, SSM, Logs and the database.
	AssignPublicIP bool
}

// NewJobNetwork either imports the configured VPC (no lookups, so synth stays
// offline) or creates a small one with public subnets and no NAT gateway.
func NewJobNetwork(scope constructs.Construct, id string, env Environment) *JobNetwork {
	c := constructs.NewConstruct(scope, jsii.String(id))
	n := &JobNetwork{Construct: c}
	port := float64(env.Network.DatabasePort)

	if env.NewVPC() {
		n.Vpc = newPublicOnlyVPC(c, env)
		n.Subnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}
		n.AssignPublicIP = true
	} else {
		n.Vpc = awsec2.Vpc_FromVpcAttributes(c, jsii.String("Vpc"), &awsec2.VpcAttributes{
			VpcId:             jsii.String(env.Network.VpcID),
			AvailabilityZones: jsii.Strings(env.Network.AvailabilityZones...),
			PrivateSubnetIds:  jsii.Strings(env.Network.SubnetIDs...),
		})
		// The imported VPC's "private" subnets are exactly the configured ones.
		n.Subnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
	}

	// The job serves nothing, so no inbound rule at all; outbound is only what
	// a run needs: HTTPS for ECR, SSM and CloudWatch Logs, and the database.
	n.SecurityGroup = awsec2.NewSecurityGroup(c, jsii.String("TaskSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              n.Vpc,
		Description:      jsii.String(fmt.Sprintf("tally-uptime %s task: no inbound; HTTPS and PostgreSQL out", env.Name)),
		AllowAllOutbound: jsii.Bool(false),
	})
	n.SecurityGroup.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
		jsii.String("HTTPS to ECR, SSM and CloudWatch Logs"), jsii.Bool(false))

	if env.Network.DatabaseSecurityGroupID != "" {
		// Mutable so the rule below lands in this stack as a separate
		// AWS::EC2::SecurityGroupIngress; the group itself stays the database's.
		db := awsec2.SecurityGroup_FromSecurityGroupId(c, jsii.String("DatabaseSecurityGroup"),
			jsii.String(env.Network.DatabaseSecurityGroupID), &awsec2.SecurityGroupImportOptions{
				Mutable:          jsii.Bool(true),
				AllowAllOutbound: jsii.Bool(false),
			})
		// EC2 refuses a rule description with an apostrophe (deploytime_ec2_test.go).
		n.SecurityGroup.AddEgressRule(db, awsec2.Port_Tcp(jsii.Number(port)),
			jsii.String("PostgreSQL to the database security group"), jsii.Bool(false))
		db.AddIngressRule(n.SecurityGroup, awsec2.Port_Tcp(jsii.Number(port)),
			jsii.String(fmt.Sprintf("tally-uptime %s nightly job", env.Name)), jsii.Bool(false))
	} else if cidr := env.Network.DatabaseCIDR; cidr != "" {
		// The database's own address (a managed PostgreSQL's endpoint), and
		// nothing wider: the job's TLS verification is the other half.
		n.SecurityGroup.AddEgressRule(awsec2.Peer_Ipv4(jsii.String(cidr)), awsec2.Port_Tcp(jsii.Number(port)),
			jsii.String("PostgreSQL to the database at "+cidr), jsii.Bool(false))
	}
	// With neither, no PostgreSQL egress at all; the stack warns (stack.go).
	return n
}

// newPublicOnlyVPC is the no-NAT network: two public subnets, an internet
// gateway, and nothing that costs money by the hour.
func newPublicOnlyVPC(scope constructs.Construct, env Environment) awsec2.Vpc {
	vpc := awsec2.NewVpc(scope, jsii.String("Vpc"), &awsec2.VpcProps{
		IpAddresses: awsec2.IpAddresses_Cidr(jsii.String("10.42.0.0/24")),
		MaxAzs:      jsii.Number(2),
		NatGateways: jsii.Number(0),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{{
			Name:       jsii.String("public"),
			SubnetType: awsec2.SubnetType_PUBLIC,
			CidrMask:   jsii.Number(26),
			// RunTask asks for the public IP explicitly (assignPublicIp
			// ENABLED); nothing else should get one by accident.
			MapPublicIpOnLaunch: jsii.Bool(false),
		}},
		// CDK would restrict the default group through a custom-resource
		// Lambda; nothing here uses that group (the task has its own), so the
		// Lambda, its role and its runtime upgrades are not worth having.
		RestrictDefaultSecurityGroup: jsii.Bool(false),
	})

	// Flow logs of rejected traffic only: enough to see a blocked connection
	// to the database, and a few KB a month in a VPC used once a night.
	flowLogs := awslogs.NewLogGroup(scope, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention:     env.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	vpc.AddFlowLog(jsii.String("RejectedTraffic"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, newFlowLogRole(scope)),
		TrafficType: awsec2.FlowLogTrafficType_REJECT,
	})
	return vpc
}

// newFlowLogRole is the role the flow-log service writes to the log group with, trusted only
// for this account's flow logs: without aws:SourceAccount and aws:SourceArn any account's flow
// log could name the role (the confused deputy the VPC User Guide warns of). The flow log's id
// exists only once it is created, so the ARN ends in a wildcard, as the guide allows.
func newFlowLogRole(scope constructs.Construct) awsiam.Role {
	stack := awscdk.Stack_Of(scope)
	sourceArn := fmt.Sprintf("arn:%s:ec2:%s:%s:vpc-flow-log/*", *stack.Partition(), *stack.Region(), *stack.Account())
	return awsiam.NewRole(scope, jsii.String("FlowLogRole"), &awsiam.RoleProps{
		Description: jsii.String("VPC flow logs of this stack write rejected traffic to its flow-log group"),
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String(FlowLogsService), nil), &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": *stack.Account()},
			"ArnLike":      map[string]interface{}{"aws:SourceArn": sourceArn},
		}),
	})
}
