// The backfill command against fakeaws, a loopback server speaking ECS's, CloudFormation's and
// CloudWatch Logs' own protocols: the SDK clients are the real ones, pointed there by
// AWS_ENDPOINT_URL, so what these tests see is what an operator's terminal shows.
package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tally/uptime/ops/cloud"
	"github.com/tally/uptime/ops/fakeaws"
)

const (
	taskID    = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	taskDef   = "arn:aws:ecs:eu-west-1:123456789012:task-definition/TallyUptimestagingTask:7"
	logGroup  = "/tally/uptime/staging"
	logStream = "uptime/uptime-job/" + taskID
	// consoleLink is the CloudWatch console's link to the task's stream.
	consoleLink = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/" +
		"$252Ftally$252Fuptime$252Fstaging/log-events/uptime$252Fuptime-job$252F" + taskID
)

// stackOutputs are a deployed stack's outputs, with the task's UPTIME_ defaults in jobEnv.
func stackOutputs(jobEnv string) [][2]string {
	if jobEnv == "" {
		jobEnv = "UPTIME_ENVIRONMENT=staging UPTIME_VERBOSE=true"
	}
	return [][2]string{
		{"AlarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:TallyUptime-staging-alarms"},
		{"AssignPublicIp", "ENABLED"},
		{"CapacityProvider", "FARGATE_SPOT"},
		{"ClusterName", "tally-uptime-staging"},
		{"ContainerName", "uptime-job"},
		{"JobEnvironment", jobEnv},
		{"LogGroupName", logGroup},
		{"LogStreamPrefix", "uptime"},
		{"SecurityGroupId", "sg-0a1b2c3d4e5f60718"},
		{"SubnetIds", "subnet-0aaa1111bbbb2222c,subnet-0ddd3333eeee4444f"},
		{"TaskDefinitionArn", taskDef},
		{"TaskFamily", "TallyUptimestagingTask"},
	}
}

// exited is a task whose container exited with code.
func exited(code int) fakeaws.Stopped {
	return fakeaws.Stopped{StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited", ExitCode: &code}
}

// summaryRecord is a "run summary" line as the job's slog JSON handler writes it; counts are
// the record's own field names (a dry run's would-names included) with their values.
func summaryRecord(code int, dry bool, counts, errorJSON string) string {
	rec := `{"time":"2026-03-02T02:00:04.1Z","level":"INFO","msg":"run summary","version":"1.4.0","revision":"0a1b2c3",` +
		`"exit_code":` + itoa(code) + `,"dry_run":` + itoa(dry) + `,"run_kind":"manual"`
	if counts != "" {
		rec += "," + counts
	}
	rec += `,"duration_seconds":0.42`
	if errorJSON != "" {
		rec += `,"error":` + errorJSON
	}
	return rec + "}"
}

func itoa(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

const emfRecord = `{"_aws":{"Timestamp":1772416804100,"CloudWatchMetrics":[]},"Environment":"staging","RunFailed":1}`

// terminal is the operator at the keyboard: none, or one who types answer.
type terminal struct {
	present bool
	answer  string
	asked   []string
}

func (t *terminal) Available() bool { return t.present }

func (t *terminal) Ask(_ context.Context, q string) (string, error) {
	if !t.present {
		return "", ErrNoTerminal
	}
	t.asked = append(t.asked, q)
	return t.answer, nil
}

// outcome is one run of the command.
type outcome struct {
	code           int
	stdout, stderr string
	srv            *fakeaws.Server
	tty            *terminal
}

// setup is a test's fake account, operator and environment.
type setup struct {
	sc  fakeaws.Scenario
	tty *terminal
	env map[string]string // BACKFILL_ variables and USER
	ctx context.Context
}

func runBackfill(t *testing.T, s setup, args ...string) outcome {
	t.Helper()
	if s.sc.Outputs == nil {
		s.sc.Outputs = stackOutputs("")
	}
	srv := fakeaws.Start(t, s.sc)
	if s.tty == nil {
		s.tty = &terminal{}
	}
	env := map[string]string{"USER": "tester"}
	for k, v := range s.env {
		env[k] = v
	}
	if _, ok := env["BACKFILL_POLL"]; !ok {
		env["BACKFILL_POLL"] = "10ms"
	}
	ctx := s.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, Deps{
		Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }, Terminal: s.tty,
		AWS: func(ctx context.Context) (cloud.API, error) { return cloud.Load(ctx) },
	})
	t.Logf("backfill %s → exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return outcome{code: code, stdout: stdout.String(), stderr: stderr.String(), srv: srv, tty: s.tty}
}

// runTask is the RunTask input as ECS received it.
type runTask struct {
	Cluster                  string
	TaskDefinition           string
	Count                    int
	LaunchType               string
	StartedBy                string
	CapacityProviderStrategy []struct {
		CapacityProvider string
		Weight           int
	}
	NetworkConfiguration struct {
		AwsvpcConfiguration struct {
			Subnets        []string
			SecurityGroups []string
			AssignPublicIP string `json:"assignPublicIp"`
		}
	}
	Overrides struct {
		ContainerOverrides []struct {
			Name    string
			Command []string
		}
	}
}

// checkRunTask checks the one RunTask call against the stack's outputs and the flags.
func checkRunTask(t *testing.T, o outcome, flags []string, capacity string) runTask {
	t.Helper()
	rt := checkRunTaskBy(t, o)
	nc := rt.NetworkConfiguration.AwsvpcConfiguration
	if rt.Cluster != "tally-uptime-staging" || rt.Count != 1 || rt.StartedBy != "backfill-tester" ||
		!slices.Equal(nc.Subnets, []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}) ||
		!slices.Equal(nc.SecurityGroups, []string{"sg-0a1b2c3d4e5f60718"}) || nc.AssignPublicIP != "ENABLED" {
		t.Errorf("RunTask %+v does not match the stack's outputs", rt)
	}
	if len(rt.CapacityProviderStrategy) != 1 || rt.CapacityProviderStrategy[0].CapacityProvider != capacity ||
		rt.CapacityProviderStrategy[0].Weight != 1 || rt.LaunchType != "" {
		t.Errorf("placement %+v, launch type %q; want %s alone (ECS refuses both)", rt.CapacityProviderStrategy, rt.LaunchType, capacity)
	}
	ov := rt.Overrides.ContainerOverrides
	if len(ov) != 1 || ov[0].Name != "uptime-job" {
		t.Fatalf("overrides %+v: want one, for the container uptime-job", ov)
	}
	if flags == nil {
		flags = []string{}
	}
	if got := ov[0].Command; got == nil || !slices.Equal(got, flags) {
		t.Errorf("the container's command is %q, want exactly the flags %q", got, flags)
	}
	return rt
}

// checkRunTaskBy is the one RunTask call's input.
func checkRunTaskBy(t *testing.T, o outcome) runTask {
	t.Helper()
	var rt runTask
	b, _ := json.Marshal(o.srv.Call("ecs.RunTask").JSON)
	if err := json.Unmarshal(b, &rt); err != nil {
		t.Fatal(err)
	}
	return rt
}

// has fails the test for each want that out lacks.
func has(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// hasLine reports whether out has a line whose words, after any label, are those of want.
func hasLine(out, want string) bool {
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasSuffix(strings.Join(strings.Fields(line), " "), strings.Join(strings.Fields(want), " ")) {
			return true
		}
	}
	return false
}

// oneSentence checks the tool's last word: one line on stderr, prefixed with its name.
func oneSentence(t *testing.T, o outcome, want string) {
	t.Helper()
	if !strings.HasPrefix(o.stderr, "backfill: ") || strings.Count(strings.TrimSpace(o.stderr), "\n") != 0 ||
		!strings.Contains(o.stderr, want) {
		t.Errorf("stderr %q; want one line saying %q", o.stderr, want)
	}
}
