package main

// The runbook links of the mails and the alarm descriptions (runbook.go): each goes to a
// heading that docs/runbook.md has today, in GitHub's anchor form.

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/markdown"
)

// runbookAnchors renders the runbook's headings (outside code fences) into GitHub's anchors,
// with GitHub's -1, -2 suffix on a repeated one.
func runbookAnchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), RunbookFile))
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^#{1,6} +(.+?) *#*$`)
	anchors, seen, fenced := map[string]bool{}, map[string]int{}, false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		m := heading.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		a := markdown.Anchor(m[1])
		if n := seen[a]; n > 0 {
			seen[a]++
			a += "-" + strconv.Itoa(n)
		} else {
			seen[a] = 1
		}
		anchors[a] = true
	}
	return anchors
}

func TestRunbookHasTheLinkedSections(t *testing.T) {
	anchors := runbookAnchors(t)
	seen := map[string]string{}
	for _, heading := range runbookSections {
		a := markdown.Anchor(heading)
		if !anchors[a] {
			t.Errorf("%s has no heading %q (anchor #%s), which a mail or an alarm links to", RunbookFile, heading, a)
		}
		if other, dup := seen[a]; dup {
			t.Errorf("sections %q and %q share the anchor #%s", other, heading, a)
		}
		seen[a] = heading
	}
}

var runbookLink = regexp.MustCompile(`https://github\.com/([^/\s]+/[^/\s]+)/blob/main/docs/runbook\.md#([a-z0-9_-]+)`)

// With githubRepository in the context, the two mails and the three alarm descriptions each
// link their own section on GitHub, and every link in the stacks lands on a runbook heading.
func TestMailsAndAlarmsLinkTheRunbook(t *testing.T) {
	anchors := runbookAnchors(t)
	for name, s := range synthScenario(t, "example").envs {
		want := map[string]string{ // where the text is -> the section it links
			"FailedTaskRule": RunbookTaskFailed, "FailedToStartRule": RunbookNotStarted,
			name + "-duration": RunbookDuration, name + "-missed-run": RunbookMissedRun,
			name + "-schedule-dead-letters": RunbookDeadLetters,
		}
		texts := map[string]string{}
		for id, r := range s.ofType("AWS::Events::Rule") {
			for key := range want {
				if strings.Contains(id, key) {
					texts[key] = renderJoin(obj(obj(arr(props(r)["Targets"])[0])["InputTransformer"])["InputTemplate"])
				}
			}
		}
		for _, r := range s.ofType("AWS::CloudWatch::Alarm") {
			alarm, _ := props(r)["AlarmName"].(string)
			d, _ := props(r)["AlarmDescription"].(string)
			texts[strings.TrimPrefix(alarm, "tally-uptime-")] = d
			if len(d) > maxAlarmDescription {
				t.Errorf("%s: description of %d characters, CloudWatch takes %d", alarm, len(d), maxAlarmDescription)
			}
		}
		for key, heading := range want {
			link := "https://github.com/" + exampleRepository + "/blob/main/docs/runbook.md#" + markdown.Anchor(heading)
			if !strings.Contains(texts[key], "Runbook: "+link) {
				t.Errorf("%s %s does not link %s:\n%s", name, key, link, texts[key])
			}
		}
		for _, m := range runbookLink.FindAllStringSubmatch(jsonOf(s.res), -1) {
			if m[1] != exampleRepository || !anchors[m[2]] {
				t.Errorf("%s links %s, not a heading of the runbook in %s", name, m[0], exampleRepository)
			}
		}
	}
}

// Without a repository the text names the runbook's path and the heading, as the mails did.
func TestAlarmDescriptionsNameTheSectionWithoutARepository(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		for what, heading := range map[string]string{"duration": RunbookDuration, "missed-run": RunbookMissedRun,
			"schedule-dead-letters": RunbookDeadLetters} {
			d, _ := alarmNamed(t, s, s.env.AlarmName(what))["AlarmDescription"].(string)
			if want := `Runbook: docs/runbook.md, section "` + heading + `"`; !strings.HasSuffix(d, want) {
				t.Errorf("%s: %q does not end with %q", what, d, want)
			}
			if strings.Contains(d, "https://") {
				t.Errorf("%s links without a repository: %s", what, d)
			}
		}
	})
}
