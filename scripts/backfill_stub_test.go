// Tests of scripts/backfill.sh against a stand-in `aws` on PATH. The stand-in
// records every call's argv, answers the exact --query/--output text
// requests the script makes the way the real CLI would (tab-separated text,
// null as "None"), and refuses anything else, so a change to a query in the
// script fails here instead of silently reading the wrong field.
package scripts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

const (
	taskArn   = "arn:aws:ecs:eu-west-1:123456789012:task/tally-uptime-staging/0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	taskID    = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	taskDef   = "arn:aws:ecs:eu-west-1:123456789012:task-definition/TallyUptimestagingTask:7"
	container = "uptime-job"

	outputsQuery  = "Stacks[0].Outputs[].[OutputKey,OutputValue]"
	runTaskQuery  = "[tasks[0].taskArn, failures[0].reason]"
	statusQuery   = "tasks[0].lastStatus"
	resultQueryTp = "tasks[0].[lastStatus, stopCode, containers[?name=='%C'] | [0].exitCode, stoppedReason, containers[?name=='%C'] | [0].reason]"
)

var resultQuery = strings.ReplaceAll(resultQueryTp, "%C", container)

// stubPreamble starts every stand-in aws: it records the call's arguments in $STUB_LOG (one
// NUL-separated file per call, numbered) and reads its --query and --output.
const stubPreamble = `#!/usr/bin/env bash
set -euo pipefail
shopt -s nullglob
calls=("$STUB_LOG"/*)
printf '%s\0' "$@" >"$STUB_LOG/$(printf '%03d' $((${#calls[@]} + 1)))"
query='' output=''
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	--query) query=${args[i + 1]} ;;
	--output) output=${args[i + 1]} ;;
	esac
done
`

// stubAWS is the stand-in. Its behaviour comes from STUB_* variables.
const stubAWS = stubPreamble + `want() { # want QUERY: the call must carry exactly this query with --output text
	if [[ $query != "$1" || $output != text ]]; then
		printf 'stand-in aws: unexpected --query %q --output %q for %s %s\n' "$query" "$output" "$1" "$2" >&2
		exit 252
	fi
}
waits() { # how many "ecs wait" calls so far, this one included
	local c=0 f fields
	for f in "$STUB_LOG"/*; do
		mapfile -d '' -t fields <"$f"
		if [[ ${fields[1]:-} == wait ]]; then c=$((c + 1)); fi
	done
	echo "$c"
}

case "$1 $2" in
"cloudformation describe-stacks")
	if [[ $query == 'Stacks[0].EnableTerminationProtection' && $output == text ]]; then
		echo "${STUB_PROTECTED:-False}"
		exit 0
	fi
	if [[ -n ${STUB_STACK_MISSING:-} ]]; then
		printf '\nAn error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id %s does not exist\n' "$4" >&2
		exit 254
	fi
	want "$STUB_Q_OUTPUTS" outputs
	cat "$STUB_OUTPUTS"
	;;
"logs get-log-events")
	want 'events[].message' get-log-events
	printf '%b\n' "$STUB_LOG_MESSAGES"
	;;
"ecs run-task")
	want "$STUB_Q_RUN" run-task
	if [[ -n ${STUB_RUN_ERROR:-} ]]; then
		printf '\n%s\n' "$STUB_RUN_ERROR" >&2
		exit 254
	fi
	printf '%b\n' "$STUB_RUN_TASK"
	;;
"ecs wait")
	if (($(waits) <= ${STUB_WAIT_FAILS:-0})); then
		printf '\nWaiter TasksStopped failed: Max attempts exceeded\n' >&2
		exit 255
	fi
	;;
"ecs describe-tasks")
	if [[ $query == "$STUB_Q_STATUS" && $output == text ]]; then
		if (($(waits) <= ${STUB_WAIT_FAILS:-0})); then echo RUNNING; else echo STOPPED; fi
		exit 0
	fi
	want "$STUB_Q_RESULT" describe-tasks
	printf '%b\n' "$STUB_DESCRIBE"
	;;
*)
	printf 'stand-in aws: unexpected call: %s\n' "$*" >&2
	exit 252
	;;
esac
`

// defaultOutputs are the stack's outputs as describe-stacks' text output lists them.
var defaultOutputs = [][2]string{
	{"AlarmTopicArn", "arn:aws:sns:eu-west-1:123456789012:TallyUptime-staging-alarms"},
	{"AssignPublicIp", "ENABLED"},
	{"CapacityProvider", "FARGATE_SPOT"},
	{"ClusterName", "tally-uptime-staging"},
	{"ContainerName", container},
	{"LogGroupName", "/ecs/tally-uptime-staging"},
	{"LogStreamPrefix", "uptime"},
	{"RunTaskCommand", "aws ecs run-task --cluster tally-uptime-staging --task-definition " + taskDef + " ..."},
	{"SecurityGroupId", "sg-0a1b2c3d4e5f60718"},
	{"SubnetIds", "subnet-0aaa1111bbbb2222c,subnet-0ddd3333eeee4444f"},
	{"TaskDefinitionArn", taskDef},
	{"TaskFamily", "TallyUptimestagingTask"},
}

// describe builds describe-tasks' text answer for the script's result query.
func describe(lastStatus, stopCode, exitCode, stoppedReason, containerReason string) string {
	return strings.Join([]string{lastStatus, stopCode, exitCode, stoppedReason, containerReason}, `\t`)
}

type run struct {
	code           int
	stdout, stderr string
	calls          [][]string
}

// call returns the recorded calls whose first two words are service and op.
func (r run) call(service, op string) [][]string {
	var out [][]string
	for _, c := range r.calls {
		if len(c) >= 2 && c[0] == service && c[1] == op {
			out = append(out, c)
		}
	}
	return out
}

// flagValue returns the value after flag in argv.
func flagValue(t *testing.T, argv []string, flag string) string {
	t.Helper()
	i := slices.Index(argv, flag)
	if i < 0 || i+1 >= len(argv) {
		t.Fatalf("%s missing from %q", flag, argv)
	}
	return argv[i+1]
}

type stub struct {
	outputs    [][2]string
	stackGone  bool
	runTask    string // run-task's text answer; default: taskArn and None
	runError   string // run-task fails with this error text
	waitFails  int    // the first N waits give up like the real one after 10 minutes
	describe   string // describe-tasks' text answer for the result query
	noAWS      bool   // no aws on PATH at all
	protected  bool   // the stack has termination protection
	taskEnv    string // the JobEnvironment output; default: UPTIME_ENVIRONMENT only
	logLines   string // get-log-events' text answer: the stream's messages, tab-separated
	buildJob   bool   // let the script build the job itself (no BACKFILL_JOB_BIN)
	tty        string // run on a pseudo-terminal (util-linux script) and type this
	extraEnv   []string
	withoutEnv []string
}

func runBackfill(t *testing.T, s stub, args ...string) run {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to run backfill.sh: %v", err)
	}
	dir := t.TempDir()
	bin, log := filepath.Join(dir, "bin"), filepath.Join(dir, "calls")
	for _, d := range []string{bin, log} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	path := bin + string(os.PathListSeparator) + os.Getenv("PATH")
	if s.noAWS {
		path = bin // an empty directory: nothing, not even coreutils
	} else if err := os.WriteFile(filepath.Join(bin, "aws"), []byte(stubAWS), 0o755); err != nil {
		t.Fatal(err)
	}
	if s.taskEnv == "" {
		s.taskEnv = "UPTIME_ENVIRONMENT=staging"
	}
	if s.outputs == nil {
		s.outputs = append(slices.Clone(defaultOutputs), [2]string{"JobEnvironment", s.taskEnv})
	}
	outs := s.outputs
	var ob strings.Builder
	for _, kv := range outs {
		ob.WriteString(kv[0] + "\t" + kv[1] + "\n")
	}
	outputsFile := filepath.Join(dir, "outputs.txt")
	if err := os.WriteFile(outputsFile, []byte(ob.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.runTask == "" {
		s.runTask = taskArn + `\tNone`
	}

	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "PATH" || k == "USER" || strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "BACKFILL_") ||
			strings.HasPrefix(k, "STUB_") || strings.HasPrefix(k, "UPTIME_") || slices.Contains(s.withoutEnv, k) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"PATH="+path, "USER=tester", "AWS_REGION=eu-west-1",
		"STUB_LOG="+log, "STUB_OUTPUTS="+outputsFile,
		"STUB_RUN_TASK="+s.runTask, "STUB_RUN_ERROR="+s.runError, "STUB_DESCRIBE="+s.describe,
		"STUB_Q_OUTPUTS="+outputsQuery, "STUB_Q_RUN="+runTaskQuery,
		"STUB_Q_STATUS="+statusQuery, "STUB_Q_RESULT="+resultQuery,
		"STUB_LOG_MESSAGES="+s.logLines,
	)
	if s.protected {
		env = append(env, "STUB_PROTECTED=True")
	}
	if !s.buildJob {
		env = append(env, "BACKFILL_JOB_BIN="+jobBinary(t))
	}
	if s.stackGone {
		env = append(env, "STUB_STACK_MISSING=1")
	}
	if s.waitFails > 0 {
		env = append(env, "STUB_WAIT_FAILS="+itoa(s.waitFails))
	}
	env = append(env, s.extraEnv...)

	cmd := exec.Command(bash, append([]string{"backfill.sh"}, args...)...)
	if s.tty != "" {
		// script(1) gives the run a terminal: stdin, stdout and stderr all become the pty.
		if _, err := exec.LookPath("script"); err != nil {
			t.Skip("util-linux script is needed for a terminal")
		}
		cmd = exec.Command("script", "-qec", "bash backfill.sh "+strings.Join(args, " "), "/dev/null")
		cmd.Stdin = strings.NewReader(s.tty)
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run backfill.sh: %v", err)
	}

	files, _ := filepath.Glob(filepath.Join(log, "*"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r.calls = append(r.calls, strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
	}
	if strings.Contains(r.stderr, "stand-in aws: unexpected") {
		t.Errorf("the script asked the stand-in something it does not answer:\n%s", r.stderr)
	}
	return r
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

type networkConfig struct {
	AwsvpcConfiguration struct {
		Subnets        []string `json:"subnets"`
		SecurityGroups []string `json:"securityGroups"`
		AssignPublicIP string   `json:"assignPublicIp"`
	} `json:"awsvpcConfiguration"`
}

type overrides struct {
	ContainerOverrides []struct {
		Name    string   `json:"name"`
		Command []string `json:"command"`
	} `json:"containerOverrides"`
}

func strictUnmarshal(t *testing.T, what, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s is not the JSON the AWS CLI expects: %v\n%s", what, err, s)
	}
}

// checkRunTask checks the run-task call against the stack's outputs and the flags.
func checkRunTask(t *testing.T, r run, flags []string, capacity string) {
	t.Helper()
	calls := r.call("ecs", "run-task")
	if len(calls) != 1 {
		t.Fatalf("want one run-task call, got %d: %q", len(calls), r.calls)
	}
	c := calls[0]
	if got := flagValue(t, c, "--cluster"); got != "tally-uptime-staging" {
		t.Errorf("--cluster %q", got)
	}
	if got := flagValue(t, c, "--task-definition"); got != taskDef {
		t.Errorf("--task-definition %q", got)
	}
	if got := flagValue(t, c, "--count"); got != "1" {
		t.Errorf("--count %q", got)
	}
	if got, want := flagValue(t, c, "--capacity-provider-strategy"), "capacityProvider="+capacity+",weight=1"; got != want {
		t.Errorf("--capacity-provider-strategy %q, want %q", got, want)
	}
	if slices.Contains(c, "--launch-type") {
		t.Error("--launch-type together with a capacity provider strategy: ECS refuses that")
	}
	if got := flagValue(t, c, "--started-by"); got != "backfill-tester" {
		t.Errorf("--started-by %q, want backfill-tester", got)
	}

	var nc networkConfig
	strictUnmarshal(t, "--network-configuration", flagValue(t, c, "--network-configuration"), &nc)
	if v := nc.AwsvpcConfiguration; !slices.Equal(v.Subnets, []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"}) ||
		!slices.Equal(v.SecurityGroups, []string{"sg-0a1b2c3d4e5f60718"}) || v.AssignPublicIP != "ENABLED" {
		t.Errorf("network configuration %+v does not match the stack's outputs", v)
	}

	var ov overrides
	strictUnmarshal(t, "--overrides", flagValue(t, c, "--overrides"), &ov)
	if len(ov.ContainerOverrides) != 1 || ov.ContainerOverrides[0].Name != container {
		t.Fatalf("overrides %+v: want one override for container %s", ov, container)
	}
	got := ov.ContainerOverrides[0].Command
	if got == nil {
		got = []string{}
	}
	if flags == nil {
		flags = []string{}
	}
	if !slices.Equal(got, flags) {
		t.Errorf("the container's command is %q, want the flags exactly: %q", got, flags)
	}
}

var (
	jobOnce sync.Once
	jobDir  string
	jobBin  string
	jobErr  error
)

// jobBinary is the job built once for all the script's runs (BACKFILL_JOB_BIN), so that each
// run checks its flags with the real job without building it again.
func jobBinary(t *testing.T) string {
	t.Helper()
	jobOnce.Do(func() {
		if jobDir, jobErr = os.MkdirTemp("", "backfill-job-"); jobErr != nil {
			return
		}
		jobBin = filepath.Join(jobDir, "uptime-job")
		out, err := exec.Command("go", "build", "-o", jobBin, "../job").CombinedOutput()
		if err != nil {
			jobErr = fmt.Errorf("go build ../job: %w\n%s", err, out)
		}
	})
	if jobErr != nil {
		t.Fatal(jobErr)
	}
	return jobBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if jobDir != "" {
		_ = os.RemoveAll(jobDir)
	}
	os.Exit(code)
}
