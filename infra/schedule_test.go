package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestSchedule(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			clusterID, _ := s.one(t, "AWS::ECS::Cluster")
			tdID, _ := s.one(t, "AWS::ECS::TaskDefinition")
			dlqID, dlq := s.one(t, "AWS::SQS::Queue")
			sgID := taskSecurityGroup(t, s)
			_, sched := s.one(t, "AWS::Scheduler::Schedule")

			state := "ENABLED"
			if s.env.SchedulePaused {
				state = "DISABLED"
			}
			eq(t, "expression", sched["ScheduleExpression"], s.env.Schedule)
			eq(t, "time zone", sched["ScheduleExpressionTimezone"], s.env.TimeZone)
			eq(t, "state", sched["State"], state)
			target := obj(sched["Target"])
			eq(t, "target", target["Arn"], getAtt(clusterID, "Arn"))
			eq(t, "retry policy", target["RetryPolicy"], map[string]any{"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 5})
			eq(t, "dead-letter queue", target["DeadLetterConfig"], map[string]any{"Arn": getAtt(dlqID, "Arn")})
			ecs := obj(target["EcsParameters"])
			eq(t, "task definition", ecs["TaskDefinitionArn"], ref(tdID))
			// The schedule's runs, and only they, say they are scheduled.
			input, _ := target["Input"].(string)
			var overrides any
			if err := json.Unmarshal([]byte(input), &overrides); err != nil {
				t.Errorf("the target input is not JSON: %q", input)
			}
			eq(t, "run kind override", overrides, map[string]any{"containerOverrides": []any{map[string]any{
				"name": "uptime-job", "environment": []any{map[string]any{"name": "UPTIME_RUN_KIND", "value": "scheduled"}}}}})
			if s.env.Spot {
				eq(t, "capacity", ecs["CapacityProviderStrategy"], []any{map[string]any{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}})
				eq(t, "launch type", ecs["LaunchType"], nil)
			} else {
				eq(t, "launch type", ecs["LaunchType"], "FARGATE")
			}
			vpcCfg := obj(obj(ecs["NetworkConfiguration"])["AwsvpcConfiguration"])
			eq(t, "security groups", vpcCfg["SecurityGroups"], []any{getAtt(sgID, "GroupId")})
			if s.env.NewVPC() {
				eq(t, "public ip", vpcCfg["AssignPublicIp"], "ENABLED")
				eq(t, "subnets", len(arr(vpcCfg["Subnets"])), 2)
			} else {
				eq(t, "public ip", vpcCfg["AssignPublicIp"], "DISABLED")
				eq(t, "subnets", vpcCfg["Subnets"], s.env.Network.SubnetIDs)
			}

			// The dead-letter queue: encrypted, TLS only.
			eq(t, "DLQ SSE", dlq["SqsManagedSseEnabled"], true)
			_, qp := s.one(t, "AWS::SQS::QueuePolicy")
			if !hasTLSDeny(arr(obj(qp["PolicyDocument"])["Statement"])) {
				t.Errorf("DLQ policy does not deny plain HTTP: %s", jsonOf(qp))
			}

			// The scheduler's role: RunTask on this family (any revision) on
			// this cluster, PassRole of exactly the two task roles, the DLQ.
			roleArn := obj(target["RoleArn"])["Fn::GetAtt"].([]any)[0].(string)
			role := props(s.res[roleArn])
			trust := jsonOf(role["AssumeRolePolicyDocument"])
			for _, want := range []string{`"Service":"scheduler.amazonaws.com"`, `"aws:SourceAccount"`, `schedule-group/default`} {
				if !strings.Contains(trust, want) {
					t.Errorf("scheduler trust policy lacks %s: %s", want, trust)
				}
			}
			var stmts []any
			for _, r := range s.ofType("AWS::IAM::Policy") {
				if jsonOf(props(r)["Roles"]) == jsonOf([]any{ref(roleArn)}) {
					stmts = append(stmts, arr(obj(props(r)["PolicyDocument"])["Statement"])...)
				}
			}
			_, td := s.one(t, "AWS::ECS::TaskDefinition")
			got := map[string]map[string]any{}
			for _, st := range stmts {
				got[jsonOf(obj(st)["Action"])] = obj(st)
			}
			if len(got) != 3 {
				t.Errorf("scheduler role statements %s, want RunTask, PassRole, SendMessage", jsonOf(stmts))
			}
			run := got[`"ecs:RunTask"`]
			if !regexp.MustCompile(`:task-definition/tally-uptime-` + s.env.Name + `:\*"\]\]}$`).MatchString(jsonOf(run["Resource"])) {
				t.Errorf("RunTask on %s, want the family %s with any revision", jsonOf(run["Resource"]), s.env.Family())
			}
			eq(t, "RunTask cluster condition", run["Condition"], map[string]any{"ArnEquals": map[string]any{"ecs:cluster": getAtt(clusterID, "Arn")}})
			pass := got[`"iam:PassRole"`]
			eq(t, "PassRole roles", pass["Resource"], []any{td["TaskRoleArn"], td["ExecutionRoleArn"]})
			eq(t, "PassRole service", pass["Condition"], map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
			eq(t, "SendMessage queue", got[`"sqs:SendMessage"`]["Resource"], getAtt(dlqID, "Arn"))
		})
	}
}

func hasTLSDeny(statements []any) bool {
	for _, st := range statements {
		st := obj(st)
		if st["Effect"] == "Deny" && jsonOf(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
			return true
		}
	}
	return false
}
