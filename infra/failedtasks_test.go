package main

// The failed-task log (failedtasks.go): every task the failure rules mail is also kept as its
// event, which EventBridge may write, for the dashboard's last-failures table.

import (
	"encoding/json"
	"strings"
	"testing"
)

// failedTaskLogID is the logical id of the failed-task log group.
func failedTaskLogID(t *testing.T, s *synthesized) string {
	t.Helper()
	for id, r := range s.ofType("AWS::Logs::LogGroup") {
		if props(r)["LogGroupName"] == s.env.FailedTaskLogGroupName() {
			return id
		}
	}
	t.Fatal("no failed-task log group")
	return ""
}

func TestFailedTaskLogAndItsPolicy(t *testing.T) {
	for name, s := range synth(t) {
		id := failedTaskLogID(t, s)
		group := s.res[id]
		eq(t, name+" log group name", props(group)["LogGroupName"], "/tally/uptime/"+name+"/failed-tasks")
		eq(t, name+" retention", props(group)["RetentionInDays"], props(s.res[logGroupOf(t, s)])["RetentionInDays"])
		eq(t, name+" deletion policy", group["DeletionPolicy"], "RetainExceptOnCreate")

		_, p := s.one(t, "AWS::Logs::ResourcePolicy")
		var doc struct{ Statement []map[string]any }
		if err := json.Unmarshal([]byte(renderJoin(p["PolicyDocument"])), &doc); err != nil {
			t.Fatalf("%s: policy document: %v", name, err)
		}
		if len(doc.Statement) != 1 {
			t.Fatalf("%s: %d statements, want 1", name, len(doc.Statement))
		}
		st := doc.Statement[0]
		eq(t, name+" policy", []any{st["Effect"], st["Principal"], st["Action"], st["Resource"]},
			[]any{"Allow", map[string]any{"Service": "events.amazonaws.com"}, []any{"logs:CreateLogStream", "logs:PutLogEvents"},
				"${" + id + ".Arn}"})
	}
}

// Each way a task fails fires one rule, and that rule keeps the event in the failed-task log:
// the kills (137, 143) and a task that never started, which write no run summary, included.
func TestEveryFailedTaskReachesTheTable(t *testing.T) {
	s := synth(t)["prod"]
	family, logID := s.env.Family(), failedTaskLogID(t, s)
	stopped := func(stopCode string, exit any) taskEvent {
		return taskEvent{family: family, cluster: family, lastStatus: "STOPPED", stopCode: stopCode,
			stoppedReason: "Essential container in task exited", exitCode: exit}
	}
	notStarted := stopped("TaskFailedToStart", nil)
	notStarted.omitExitCode = true
	for what, e := range map[string]taskEvent{
		"exit 1": stopped("EssentialContainerExited", 1), "exit 5": stopped("EssentialContainerExited", 5),
		"exit 137": stopped("EssentialContainerExited", 137), "exit 143": stopped("SpotInterruption", 143),
		"failed to start, exitCode null": stopped("TaskFailedToStart", nil), "failed to start, no exitCode": notStarted,
	} {
		fired := firingRules(t, s, e.json(t))
		if len(fired) != 1 {
			t.Errorf("%s: rules %v fired, want 1", what, fired)
			continue
		}
		if targets := jsonOf(props(s.res[fired[0]])["Targets"]); !strings.Contains(targets, `{"Ref":"`+logID+`"}`) {
			t.Errorf("%s: rule %s does not keep the event in %s: %s", what, fired[0], logID, targets)
		}
	}
	if fired := firingRules(t, s, stopped("EssentialContainerExited", 0).json(t)); len(fired) != 0 {
		t.Errorf("exit 0 fired %v: a good run is no failure", fired)
	}
}
