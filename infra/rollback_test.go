package main

// The runbook's rollback ("Roll back a bad image") runs the previous task
// definition revision. That works only while the revision is ACTIVE: ECS's
// DeregisterTaskDefinition says "You can't use an INACTIVE task definition to
// run new tasks", and CloudFormation deregisters a replaced revision unless
// its UpdateReplacePolicy is Retain.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replacedRevisionsDeregistered lists the task definitions whose replaced
// revisions CloudFormation would deregister, and those whose deletion would
// outlive the stack.
func replacedRevisionsDeregistered(resources map[string]map[string]any) []string {
	var bad []string
	for id, r := range resources {
		if r["Type"] != "AWS::ECS::TaskDefinition" {
			continue
		}
		if r["UpdateReplacePolicy"] != "Retain" {
			bad = append(bad, id+": UpdateReplacePolicy "+jsonOf(r["UpdateReplacePolicy"])+", so a deploy deregisters the previous revision")
		}
		if d := r["DeletionPolicy"]; d != nil && d != "Delete" {
			bad = append(bad, id+": DeletionPolicy "+jsonOf(d)+", so deleting the stack would leave its task definition")
		}
	}
	return bad
}

func TestPreviousTaskDefinitionRevisionsStayActive(t *testing.T) {
	all := allResources(t)
	for _, b := range replacedRevisionsDeregistered(all) {
		t.Error(b)
	}
	eq(t, "a deregistering revision is caught", replacedRevisionsDeregistered(map[string]map[string]any{
		"TD": {"Type": "AWS::ECS::TaskDefinition", "DeletionPolicy": "Retain"},
	}), []any{"TD: UpdateReplacePolicy null, so a deploy deregisters the previous revision",
		`TD: DeletionPolicy "Retain", so deleting the stack would leave its task definition`})

	// The runbook says why the previous revision can be run, and runs it.
	b, err := os.ReadFile(filepath.Join(repoRoot(), "docs", "runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rollback, _ := strings.Cut(string(b), "### Roll back a bad image")
	rollback, _, _ = strings.Cut(rollback, "\n## ")
	for _, want := range []string{"UpdateReplacePolicy", "stay ACTIVE", "BACKFILL_TASK_DEFINITION=tally-uptime-$ENV:<previous revision>"} {
		if !strings.Contains(rollback, want) {
			t.Errorf("docs/runbook.md, Roll back a bad image, does not say %q", want)
		}
	}
}
