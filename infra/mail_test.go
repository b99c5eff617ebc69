package main

// The failure mails as the on-call reads them: each rule's input transformer
// applied to a sample "ECS Task State Change" event the way EventBridge
// applies it to a plain-text template.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

var pathStep = regexp.MustCompile(`^([A-Za-z0-9_-]+)(?:\[(\d+)\])?$`)

// eventPath evaluates the JSON paths EventBridge input paths use here:
// $.a.b, with array indices (containers[0]).
func eventPath(event any, path string) (any, bool) {
	v := event
	for _, step := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m := pathStep.FindStringSubmatch(step)
		if m == nil {
			return nil, false
		}
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[m[1]]; !ok {
			return nil, false
		}
		if m[2] != "" {
			i, _ := strconv.Atoi(m[2])
			a, ok := v.([]any)
			if !ok || i >= len(a) {
				return nil, false
			}
			v = a[i]
		}
	}
	return v, true
}

// renderMail fills a plain-text input template: a string value goes in as
// it is, any other value as its JSON, and a variable whose path the event
// lacks is not created ("that variable isn't created and will not appear in
// the output", EventBridge User Guide, transforming input).
func renderMail(t *testing.T, template string, paths map[string]any, event any) string {
	t.Helper()
	return placeholderPattern.ReplaceAllStringFunc(template, func(ph string) string {
		name := ph[1 : len(ph)-1]
		path, ok := paths[name].(string)
		if !ok {
			t.Errorf("template uses %s, which its InputPathsMap does not define", ph)
			return ph
		}
		v, found := eventPath(event, path)
		if !found {
			return ""
		}
		if s, isString := v.(string); isString {
			return s
		}
		b, _ := json.Marshal(v)
		return string(b)
	})
}

// mailFor renders the mail of the only rule that fires on the event.
func mailFor(t *testing.T, s *synthesized, event any) string {
	t.Helper()
	fired := firingRules(t, s, event)
	if len(fired) != 1 {
		t.Fatalf("rules %v fired, want exactly one", fired)
	}
	clusterIDs := map[string]string{}
	for id, c := range s.ofType("AWS::ECS::Cluster") {
		clusterIDs[id], _ = props(c)["ClusterName"].(string)
	}
	// The first target is the topic; the second keeps the event for the dashboard (failedtasks.go).
	targets := arr(props(s.res[fired[0]])["Targets"])
	if len(targets) != 2 {
		t.Fatalf("%s has %d targets, want 2 (the mail and the failed-task log)", fired[0], len(targets))
	}
	it := obj(obj(targets[0])["InputTransformer"])
	if obj(targets[0])["Input"] != nil {
		t.Errorf("%s has both Input and InputTransformer", fired[0])
	}
	template, ok := resolveIntrinsics(it["InputTemplate"], clusterIDs).(string)
	if !ok {
		t.Fatalf("%s: the input template does not resolve to text: %v", fired[0], it["InputTemplate"])
	}
	return renderMail(t, template, obj(it["InputPathsMap"]), event)
}

// insightsQuery digs the query out of a Logs Insights console link.
func insightsQuery(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("not a URL: %s: %v", link, err)
	}
	m := regexp.MustCompile(`editorString~'([^~]*)~`).FindStringSubmatch(u.Fragment)
	if m == nil {
		t.Fatalf("no editorString in %s", u.Fragment)
	}
	q, err := url.PathUnescape(strings.ReplaceAll(m[1], "*", "%"))
	if err != nil {
		t.Fatalf("editorString %q: %v", m[1], err)
	}
	return q
}

func TestFailureMailRendersPlainLines(t *testing.T) {
	s := synth(t)["prod"]
	family := s.env.Family()
	taskArn := fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", sampleRegion, sampleAccount, family, sampleTaskID)
	event := taskEvent{family: family, cluster: family, lastStatus: "STOPPED", stopCode: "EssentialContainerExited",
		stoppedReason: "Essential container in task exited", exitCode: 137}.json(t)
	mail := mailFor(t, s, event)
	t.Logf("the task-failed mail:\n%s", mail)

	for _, want := range []string{
		"tally-uptime prod: the job failed with exit code 137.\n",
		"\nEnvironment: prod\n",
		"\nExit code: 137, where\n",
		"137 = killed by SIGKILL: usually out of memory",
		"\nStopped reason: Essential container in task exited\n",
		"\nTask: " + taskArn + "\n",
		"\nTime: 2026-12-04T02:04:41Z\n",
		"\nRunbook: docs/runbook.md, section \"" + RunbookTaskFailed + "\"\n",
	} {
		if !strings.Contains(mail, want) {
			t.Errorf("the mail lacks %q", want)
		}
	}
	for i, line := range strings.Split(mail, "\n") {
		if strings.HasPrefix(line, `"`) && strings.HasSuffix(line, `"`) || strings.Contains(line, `\n`) {
			t.Errorf("line %d is JSON-quoted or escaped: %s", i+1, line)
		}
		if strings.ContainsAny(line, "<>") {
			t.Errorf("line %d keeps a placeholder: %s", i+1, line)
		}
	}
	link := regexp.MustCompile(`https://\S+`).FindString(mail)
	if !strings.HasPrefix(link, "https://"+sampleRegion+".console.aws.amazon.com/cloudwatch/home?region="+sampleRegion+"#logsV2:logs-insights") {
		t.Errorf("no Logs Insights link in the stack's region: %q", link)
	}
	q := insightsQuery(t, link)
	// The query keeps the stream <prefix>/<container>/<task id> of this task only.
	stream := LogStreamPrefix + "/" + contract.ContainerName + "/" + sampleTaskID
	if !strings.Contains(q, `strcontains("`+taskArn+`", replace(@logStream, "uptime/uptime-job/", ""))`) ||
		!strings.Contains(taskArn, strings.TrimPrefix(stream, "uptime/uptime-job/")) {
		t.Errorf("the query does not select the task's stream %s:\n%s", stream, q)
	}
	if !strings.Contains(q, "error") || !strings.Contains(link, "~source~(~'*2Ftally*2Fuptime*2Fprod)") {
		t.Errorf("the link does not show the error field of the prod log group: %s", link)
	}
}

func TestNotStartedMailRendersWithoutExitCode(t *testing.T) {
	s := synth(t)["staging"]
	family := s.env.Family()
	event := taskEvent{family: family, cluster: family, lastStatus: "STOPPED", stopCode: "TaskFailedToStart",
		stoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s)", omitExitCode: true}.json(t)
	mail := mailFor(t, s, event)
	for _, want := range []string{
		"tally-uptime staging: the task failed to start",
		"\nStopped reason: CannotPullContainerError: pull image manifest has been retried 5 time(s)\n",
		"section \"" + RunbookNotStarted + "\"",
	} {
		if !strings.Contains(mail, want) {
			t.Errorf("the mail lacks %q:\n%s", want, mail)
		}
	}
	if strings.Contains(mail, "exit code") {
		t.Errorf("a task that never ran has no exit code to report:\n%s", mail)
	}
}

func TestRunbookHasTheMailedSections(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), RunbookFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{RunbookTaskFailed, RunbookNotStarted} {
		if !strings.Contains(string(b), "\n### "+section+"\n") {
			t.Errorf("%s has no section %q, which the mails name", RunbookFile, section)
		}
	}
	for _, e := range contract.Exits {
		code := strconv.Itoa(e.Code)
		if e.Code != contract.ExitOK && !strings.Contains(string(b), "| "+code+" |") && !strings.Contains(string(b), " "+code+" (") {
			t.Errorf("%s does not explain exit code %s, which the mail lists", RunbookFile, code)
		}
	}
}
