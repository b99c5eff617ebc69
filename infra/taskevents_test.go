package main

// The synthesized task-state rules against sample "ECS Task State Change"
// events: every stop of the job that needs a human fires exactly one rule,
// and nothing else fires any.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

const (
	sampleAccount = "123456789012"
	sampleRegion  = "eu-west-1"
	sampleTaskID  = "0b69d5c0d6a54e0fa3d2f8c1e2b0a7f1"
)

// taskEvent is a Fargate "ECS Task State Change" event, shaped after the
// sample in the Amazon ECS Developer Guide ("Amazon ECS task state change
// events"). exitCode: a number, nil for JSON null, or absent when omitted.
type taskEvent struct {
	family, cluster, lastStatus, stopCode, stoppedReason string
	exitCode                                             any
	omitExitCode                                         bool
}

func (e taskEvent) json(t *testing.T) any {
	t.Helper()
	arn := func(resource string) string {
		return fmt.Sprintf("arn:aws:ecs:%s:%s:%s", sampleRegion, sampleAccount, resource)
	}
	taskArn := arn("task/" + e.cluster + "/" + sampleTaskID)
	container := map[string]any{
		"containerArn": arn("container/" + e.cluster + "/" + sampleTaskID + "/5f8a3b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
		"lastStatus":   e.lastStatus,
		"name":         contract.ContainerName,
		"image":        sampleAccount + ".dkr.ecr." + sampleRegion + ".amazonaws.com/tally-uptime:latest",
		"taskArn":      taskArn,
		"cpu":          "0",
		"networkInterfaces": []any{map[string]any{
			"attachmentId": "a1b2c3d4-5678-90ab-cdef-111111111111", "privateIpv4Address": "10.42.0.17"}},
	}
	if !e.omitExitCode {
		container["exitCode"] = e.exitCode
	}
	detail := map[string]any{
		"attachments": []any{map[string]any{"id": "a1b2c3d4-5678-90ab-cdef-111111111111", "type": "eni", "status": "DELETED",
			"details": []any{map[string]any{"name": "subnetId", "value": "subnet-0aaa1111bbbb2222c"}}}},
		"attributes":           []any{map[string]any{"name": "ecs.cpu-architecture", "value": "arm64"}},
		"availabilityZone":     sampleRegion + "a",
		"capacityProviderName": "FARGATE",
		"clusterArn":           arn("cluster/" + e.cluster),
		"containers":           []any{container},
		"cpu":                  "256",
		"createdAt":            "2026-12-04T02:00:03.118Z",
		"desiredStatus":        "STOPPED",
		"group":                "family:" + e.family,
		"launchType":           "FARGATE",
		"lastStatus":           e.lastStatus,
		"memory":               "512",
		"overrides":            map[string]any{"containerOverrides": []any{map[string]any{"name": contract.ContainerName}}},
		"platformVersion":      "1.4.0",
		"startedBy":            "chronos",
		"taskArn":              taskArn,
		"taskDefinitionArn":    arn("task-definition/" + e.family + ":7"),
		"updatedAt":            "2026-12-04T02:04:41.512Z",
		"version":              5,
	}
	if e.stopCode != "" {
		detail["stopCode"] = e.stopCode
		detail["stoppedReason"] = e.stoppedReason
		detail["stoppedAt"] = "2026-12-04T02:04:41.512Z"
	}
	raw, err := json.Marshal(map[string]any{
		"version": "0", "id": "3317b2af-7005-947d-b652-f55e762e571a",
		"detail-type": "ECS Task State Change", "source": "aws.ecs",
		"account": sampleAccount, "time": "2026-12-04T02:04:41Z", "region": sampleRegion,
		"resources": []any{taskArn}, "detail": detail,
	})
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, string(raw))
}

// resolveIntrinsics turns a pattern's Ref, Fn::GetAtt and Fn::Join into the
// values a deployed stack in sampleAccount/sampleRegion would have.
func resolveIntrinsics(v any, clusterIDs map[string]string) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolveIntrinsics(e, clusterIDs)
		}
		return out
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			return map[string]string{"AWS::Partition": "aws", "AWS::Region": sampleRegion, "AWS::AccountId": sampleAccount}[ref]
		}
		if att, ok := x["Fn::GetAtt"].([]any); ok && len(att) == 2 && att[1] == "Arn" {
			return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", sampleRegion, sampleAccount, clusterIDs[att[0].(string)])
		}
		if join, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range arr(join[1]) {
				parts = append(parts, fmt.Sprint(resolveIntrinsics(p, clusterIDs)))
			}
			return strings.Join(parts, join[0].(string))
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolveIntrinsics(e, clusterIDs)
		}
		return out
	}
	return v
}

// firingRules lists the logical ids of the stack's rules that match the event.
func firingRules(t *testing.T, s *synthesized, event any) []string {
	t.Helper()
	clusterIDs := map[string]string{}
	for id, c := range s.ofType("AWS::ECS::Cluster") {
		clusterIDs[id], _ = props(c)["ClusterName"].(string)
	}
	var fired []string
	for id, r := range s.ofType("AWS::Events::Rule") {
		pattern, _ := resolveIntrinsics(props(r)["EventPattern"], clusterIDs).(map[string]any)
		ok, err := matchPattern(pattern, event)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if ok {
			fired = append(fired, id)
		}
	}
	sort.Strings(fired)
	return fired
}

func TestTaskStateRulesFireOncePerStop(t *testing.T) {
	for name, s := range synth(t) {
		family := s.env.Family()
		stopped := func(stopCode string, exit any) taskEvent {
			return taskEvent{family: family, cluster: family, lastStatus: "STOPPED", stopCode: stopCode,
				stoppedReason: "Essential container in task exited", exitCode: exit}
		}
		notStarted := stopped("TaskFailedToStart", nil)
		notStarted.stoppedReason = "ResourceInitializationError: unable to pull secrets or registry auth"
		notStartedNoCode := notStarted
		notStartedNoCode.omitExitCode = true
		otherFamily := stopped("EssentialContainerExited", 1)
		otherFamily.family = family + "2" // shares the family name as a prefix
		otherCluster := stopped("EssentialContainerExited", 1)
		otherCluster.cluster = "some-other-cluster"
		running := taskEvent{family: family, cluster: family, lastStatus: "RUNNING", omitExitCode: true}

		cases := map[string]struct {
			event taskEvent
			fires int
		}{
			"exit 0":                            {stopped("EssentialContainerExited", 0), 0},
			"exit 1":                            {stopped("EssentialContainerExited", 1), 1},
			"exit 2":                            {stopped("EssentialContainerExited", 2), 1},
			"exit 3":                            {stopped("EssentialContainerExited", 3), 1},
			"exit 4":                            {stopped("EssentialContainerExited", 4), 1},
			"exit 5 (users held back)":          {stopped("EssentialContainerExited", 5), 1},
			"exit 137 (killed)":                 {stopped("EssentialContainerExited", 137), 1},
			"Spot interruption, exit 143":       {stopped("SpotInterruption", 143), 1},
			"failed to start, exitCode null":    {notStarted, 1},
			"failed to start, no exitCode":      {notStartedNoCode, 1},
			"another family, exit 1":            {otherFamily, 0},
			"another cluster, exit 1":           {otherCluster, 0},
			"RUNNING":                           {running, 0},
			"stopped by a user before any exit": {taskEvent{family: family, cluster: family, lastStatus: "STOPPED", stopCode: "UserInitiated", omitExitCode: true}, 0},
		}
		for what, c := range cases {
			if fired := firingRules(t, s, c.event.json(t)); len(fired) != c.fires {
				t.Errorf("%s, %s: rules %v fired, want %d", name, what, fired, c.fires)
			}
		}
	}
}
