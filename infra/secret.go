package main

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

// useDatabaseURL hands the container DATABASE_URL from the SSM SecureString
// through the task's secrets, so the URL and its password never appear in the
// task definition, the console or describe-tasks, and lets the execution role
// read exactly that parameter.
//
// The parameter is referenced, never created: CloudFormation cannot create
// SecureStrings. CDK's own path (ecs.Secret.fromSsmParameter) would grant
// the parameter's grantRead, which adds ssm:GetParameter,
// ssm:GetParameterHistory and ssm:DescribeParameters; ECS needs only
// ssm:GetParameters, so the secret and the statement are written here.
func useDatabaseURL(scope constructs.Construct, env Environment, td awsecs.FargateTaskDefinition) {
	executionRole := td.ExecutionRole()
	stack := awscdk.Stack_Of(scope)
	parameterArn := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ssm"),
		Resource:     jsii.String("parameter"),
		ResourceName: jsii.String(strings.TrimPrefix(env.DatabaseURLParameter, "/")),
	})
	td.Node().DefaultChild().(awsecs.CfnTaskDefinition).AddPropertyOverride(jsii.String("ContainerDefinitions.0.Secrets"),
		[]map[string]interface{}{{"Name": contract.DatabaseURLVariable, "ValueFrom": parameterArn}})

	executionRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadDatabaseURL"),
		Actions:   jsii.Strings("ssm:GetParameters"),
		Resources: &[]*string{parameterArn},
	}))
	if env.DatabaseURLKeyARN == "" {
		// The AWS-managed aws/ssm key needs no grant of the caller.
		return
	}
	// A customer-managed key: Decrypt on that key, and only when SSM asks
	// for it on the role's behalf.
	executionRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("DecryptDatabaseURL"),
		Actions:   jsii.Strings("kms:Decrypt"),
		Resources: jsii.Strings(env.DatabaseURLKeyARN),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"kms:ViaService": fmt.Sprintf("ssm.%s.amazonaws.com", *stack.Region())},
		},
	}))
}
