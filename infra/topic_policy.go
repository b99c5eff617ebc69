package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// allowPublishers is the alarm topic's whole allow list: the stack's
// EventBridge rules and the environment's CloudWatch alarms. A service
// principal alone would let that service publish on behalf of any account's
// rule or alarm that names this topic; aws:SourceArn and aws:SourceAccount
// hold each grant to this environment's own (AWS's confused-deputy guard).
func allowPublishers(topic awssns.Topic, env Environment, rules ...awsevents.Rule) {
	stack := awscdk.Stack_Of(topic)
	ruleArns := make([]interface{}, len(rules))
	for i, r := range rules {
		ruleArns[i] = r.RuleArn()
	}
	alarms := stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("cloudwatch"),
		Resource:     jsii.String("alarm"),
		ResourceName: jsii.String(env.AlarmName("*")),
		ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	for _, p := range []struct {
		sid, service string
		condition    map[string]interface{}
	}{
		{"EventBridgeRulesOfThisStack", "events.amazonaws.com", map[string]interface{}{"ArnEquals": map[string]interface{}{"aws:SourceArn": ruleArns}}},
		{"CloudWatchAlarmsOfThisEnvironment", "cloudwatch.amazonaws.com", map[string]interface{}{"ArnLike": map[string]interface{}{"aws:SourceArn": alarms}}},
	} {
		p.condition["StringEquals"] = map[string]interface{}{"aws:SourceAccount": stack.Account()}
		topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(p.sid),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(p.service), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{topic.TopicArn()},
			Conditions: &p.condition,
		}))
	}
}
