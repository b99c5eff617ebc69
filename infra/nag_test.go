package main

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

func TestCdkNag(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			a := assertions.Annotations_FromStack(s.stack.Stack)
			for _, e := range *a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
				t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data)
			}
			// Warnings were reviewed; any new one needs the same review.
			for _, w := range *a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
				t.Errorf("cdk-nag warning at %s: %v", *w.Id, w.Entry.Data)
			}
		})
	}
	// The suppressions must be the reviewed ones, each with a real reason.
	for _, s := range all {
		for id, r := range s.res {
			md := obj(r["Metadata"])
			for _, sup := range arr(obj(md["cdk_nag"])["rules_to_suppress"]) {
				reason, _ := obj(sup)["reason"].(string)
				if len(reason) < 60 {
					t.Errorf("%s: suppression %v has no real reason", id, obj(sup)["id"])
				}
			}
		}
	}
	got := map[string]bool{}
	for _, s := range all {
		for _, r := range s.res {
			for _, sup := range arr(obj(obj(r["Metadata"])["cdk_nag"])["rules_to_suppress"]) {
				got[fmt.Sprint(obj(r)["Type"], " ", obj(sup)["id"])] = true
			}
		}
	}
	want := map[string]bool{
		"AWS::ECS::Cluster AwsSolutions-ECS4":        true,
		"AWS::ECS::TaskDefinition AwsSolutions-ECS2": true,
		"AWS::IAM::Role AwsSolutions-IAM5":           true,
		"AWS::IAM::Policy AwsSolutions-IAM5":         true,
		"AWS::SQS::Queue AwsSolutions-SQS3":          true,
		"AWS::SNS::Topic AwsSolutions-SNS2":          true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("suppressions %v, want the reviewed set %v", got, want)
	}
}
