package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

func TestAlarmTopic(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		_, policy := s.one(t, "AWS::SNS::TopicPolicy")
		statements := arr(obj(policy["PolicyDocument"])["Statement"])
		if !hasTLSDeny(statements) {
			t.Errorf("topic policy does not deny plain HTTP: %s", jsonOf(statements))
		}
		doc := jsonOf(statements)
		for _, publisher := range []string{"events.amazonaws.com", "cloudwatch.amazonaws.com"} {
			if !strings.Contains(doc, publisher) {
				t.Errorf("%s may not publish to the topic", publisher)
			}
		}
		subs := s.ofType("AWS::SNS::Subscription")
		if len(subs) != len(s.env.AlarmEmails) {
			t.Errorf("%d subscriptions, want %d", len(subs), len(s.env.AlarmEmails))
		}
		for _, sub := range subs {
			p := props(sub)
			eq(t, "protocol", p["Protocol"], "email")
			eq(t, "topic", p["TopicArn"], ref(topicID))
			if !slices.Contains(s.env.AlarmEmails, p["Endpoint"].(string)) {
				t.Errorf("subscription to %v, not a configured address", p["Endpoint"])
			}
		}
	})
}

func TestTaskStateRules(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		clusterID, _ := s.one(t, "AWS::ECS::Cluster")
		rules := s.ofType("AWS::Events::Rule")
		if len(rules) != 2 {
			t.Fatalf("%d event rules, want 2", len(rules))
		}
		var failed, notStarted map[string]any
		for _, r := range rules {
			p := props(r)
			if obj(obj(p["EventPattern"])["detail"])["containers"] != nil {
				failed = p
			} else {
				notStarted = p
			}
		}
		if failed == nil || notStarted == nil {
			t.Fatal("want one rule on the exit code and one on TaskFailedToStart")
		}
		for name, p := range map[string]map[string]any{"failed": failed, "not started": notStarted} {
			pat := obj(p["EventPattern"])
			eq(t, name+" source", pat["source"], []any{"aws.ecs"})
			eq(t, name+" detail-type", pat["detail-type"], []any{"ECS Task State Change"})
			d := obj(pat["detail"])
			eq(t, name+" lastStatus", d["lastStatus"], []any{"STOPPED"})
			eq(t, name+" cluster", d["clusterArn"], []any{getAtt(clusterID, "Arn")})
			if !regexp.MustCompile(`"prefix":.*:task-definition/` + s.env.Family() + `:"`).MatchString(jsonOf(d["taskDefinitionArn"])) {
				t.Errorf("%s matches task definitions %s, want the family %s", name, jsonOf(d["taskDefinitionArn"]), s.env.Family())
			}
			eq(t, name+" state", p["State"], "ENABLED")
			// The mail, and the event kept for the dashboard's last-failures table (failedtasks.go).
			targets := arr(p["Targets"])
			if len(targets) != 2 {
				t.Fatalf("%s: %d targets, want the topic and the failed-task log", name, len(targets))
			}
			eq(t, name+" log target", renderJoin(obj(targets[1])["Arn"]),
				"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${"+failedTaskLogID(t, s)+"}")
			if obj(targets[1])["InputTransformer"] != nil || obj(targets[1])["Input"] != nil || obj(targets[1])["RoleArn"] != nil {
				t.Errorf("%s: the log target changes the event or names a role: %v", name, targets[1])
			}
			tgt := obj(targets[0])
			eq(t, name+" target", tgt["Arn"], ref(topicID))
			it := obj(tgt["InputTransformer"])
			paths := jsonOf(it["InputPathsMap"])
			tmpl := renderJoin(it["InputTemplate"])
			for _, want := range []string{"$.detail.taskArn", "$.detail.stoppedReason"} {
				if !strings.Contains(paths, want) {
					t.Errorf("%s message lacks %s", name, want)
				}
			}
			if !strings.Contains(tmpl, "/tally/uptime/"+s.env.Name) || !strings.Contains(tmpl, "uptime/uptime-job/") {
				t.Errorf("%s message does not say where the logs are: %s", name, tmpl)
			}
		}
		eq(t, "exit code match", obj(obj(failed["EventPattern"])["detail"])["containers"],
			map[string]any{"name": []any{"uptime-job"}, "exitCode": []any{map[string]any{"anything-but": 0}}})
		if !strings.Contains(jsonOf(obj(failed["Targets"].([]any)[0])["InputTransformer"]), "$.detail.containers[0].exitCode") {
			t.Error("failure message lacks the exit code")
		}
		eq(t, "stop code", obj(obj(notStarted["EventPattern"])["detail"])["stopCode"], []any{"TaskFailedToStart"})
	})
}

func alarmNamed(t *testing.T, s *synthesized, name string) map[string]any {
	t.Helper()
	for _, r := range s.ofType("AWS::CloudWatch::Alarm") {
		if props(r)["AlarmName"] == name {
			return props(r)
		}
	}
	t.Fatalf("no alarm %s", name)
	return nil
}

func TestAlarms(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		dlqID, _ := s.one(t, "AWS::SQS::Queue")
		alarms := s.ofType("AWS::CloudWatch::Alarm")
		// Five notifications in all: these three and the two event rules.
		if len(alarms) != 3 {
			t.Errorf("%d alarms, want 3 (each costs money every month)", len(alarms))
		}
		for _, a := range alarms {
			eq(t, "alarm actions", props(a)["AlarmActions"], []any{ref(topicID)})
			// Whoever was paged also hears that it is over.
			eq(t, "OK actions", props(a)["OKActions"], []any{ref(topicID)})
		}
		dims := []any{map[string]any{"Name": "Environment", "Value": s.env.Name}}
		f := s.env.Family()

		// Scheduled runs only: a backfill by hand may take long.
		scheduled := []any{map[string]any{"Name": "Environment", "Value": s.env.Name}, map[string]any{"Name": "RunKind", "Value": "scheduled"}}
		d := alarmNamed(t, s, f+"-duration")
		eq(t, "duration", []any{d["Namespace"], d["MetricName"], d["Dimensions"], d["Statistic"], d["ComparisonOperator"], d["Threshold"], d["EvaluationPeriods"], d["TreatMissingData"]},
			[]any{"TallyUptime", "DurationSeconds", scheduled, "Maximum", "GreaterThanThreshold", 300, 1, "notBreaching"})

		m := alarmNamed(t, s, f+"-missed-run")
		eq(t, "missed run", []any{m["Namespace"], m["MetricName"], m["Dimensions"], m["Statistic"], m["Period"], m["ComparisonOperator"], m["Threshold"], m["EvaluationPeriods"], m["DatapointsToAlarm"], m["TreatMissingData"], m["ActionsEnabled"]},
			[]any{"TallyUptime", "RunSucceeded", dims, "Sum", 86400, "LessThanThreshold", 1, 2, 2, "breaching", true})

		q := alarmNamed(t, s, f+"-schedule-dead-letters")
		eq(t, "dead letters", []any{q["Namespace"], q["MetricName"], q["Dimensions"], q["Statistic"], q["ComparisonOperator"], q["Threshold"], q["EvaluationPeriods"], q["TreatMissingData"]},
			[]any{"AWS/SQS", "ApproximateNumberOfMessagesVisible", []any{map[string]any{"Name": "QueueName", "Value": getAtt(dlqID, "QueueName")}},
				"Maximum", "GreaterThanThreshold", 0, 1, "notBreaching"})
	})
}

// Exit 5 (users held back, everyone else filled) mails the failure, naming the code's meaning
// and the log records to read, but does not add the missed-run alarm: the alarm sums
// RunSucceeded, which the job reports as 1 for every code the contract marks Completed.
func TestHeldBackMailsOnceAndCountsAsARun(t *testing.T) {
	s := synth(t)["prod"]
	family := s.env.Family()
	event := taskEvent{family: family, cluster: family, lastStatus: "STOPPED", stopCode: "EssentialContainerExited",
		stoppedReason: "Essential container in task exited", exitCode: contract.ExitHeldBack}.json(t)
	mail := mailFor(t, s, event)
	for _, want := range []string{"failed with exit code 5.", "5 = completed, N users held back, named in the log",
		`"user held back" records`, "Runbook: docs/runbook.md"} {
		if !strings.Contains(mail, want) {
			t.Errorf("the exit-5 mail lacks %q", want)
		}
	}
	m := alarmNamed(t, s, family+"-missed-run")
	if m["MetricName"] != contract.RunSucceeded.Name || !contract.Completed(contract.ExitHeldBack) {
		t.Errorf("the missed-run alarm watches %v; exit 5 completed = %v: a held-back user would page twice",
			m["MetricName"], contract.Completed(contract.ExitHeldBack))
	}
	for _, code := range []int{contract.ExitRuntime, contract.ExitUsage, contract.ExitData, contract.ExitLocked} {
		if contract.Completed(code) {
			t.Errorf("exit %d counts as a completed run: the missed-run alarm would not see a night of them", code)
		}
	}
}
