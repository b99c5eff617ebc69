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
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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

// stubAWS is the stand-in. Its behaviour comes from STUB_* variables.
const stubAWS = `#!/usr/bin/env bash
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
want() { # want QUERY: the call must carry exactly this query with --output text
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
	if [[ -n ${STUB_STACK_MISSING:-} ]]; then
		printf '\nAn error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id %s does not exist\n' "$4" >&2
		exit 254
	fi
	want "$STUB_Q_OUTPUTS" outputs
	cat "$STUB_OUTPUTS"
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
	outs := s.outputs
	if outs == nil {
		outs = defaultOutputs
	}
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
			strings.HasPrefix(k, "STUB_") || slices.Contains(s.withoutEnv, k) {
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
	)
	if s.stackGone {
		env = append(env, "STUB_STACK_MISSING=1")
	}
	if s.waitFails > 0 {
		env = append(env, "STUB_WAIT_FAILS="+itoa(s.waitFails))
	}
	env = append(env, s.extraEnv...)

	cmd := exec.Command(bash, append([]string{"backfill.sh"}, args...)...)
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

func TestBackfill(t *testing.T) {
	okDescribe := describe("STOPPED", "EssentialContainerExited", "0", "Essential container in task exited", "None")
	tests := []struct {
		name      string
		args      []string
		stub      stub
		wantCode  int
		wantOut   []string // substrings of stdout
		wantErr   []string // substrings of stderr
		wantCalls []string // "service op" of every call, in order; nil: not checked
		check     func(t *testing.T, r run)
	}{
		{
			name:     "exit 0",
			args:     []string{"staging", "--dry-run"},
			stub:     stub{describe: okDescribe},
			wantCode: 0,
			wantOut: []string{
				"exit code:    0",
				"group /ecs/tally-uptime-staging, stream uptime/uptime-job/" + taskID,
				"aws logs tail /ecs/tally-uptime-staging --log-stream-names uptime/uptime-job/" + taskID,
				"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Ftally-uptime-staging/log-events/uptime$252Fuptime-job$252F" + taskID,
			},
			wantCalls: []string{"cloudformation describe-stacks", "ecs run-task", "ecs wait", "ecs describe-tasks"},
			check: func(t *testing.T, r run) {
				want := []string{"cloudformation", "describe-stacks", "--stack-name", "TallyUptime-staging", "--query", outputsQuery, "--output", "text"}
				if len(r.calls) == 0 || !slices.Equal(r.calls[0], want) {
					t.Errorf("describe-stacks call %q, want %q", r.calls[0], want)
				}
				checkRunTask(t, r, []string{"--dry-run"}, "FARGATE_SPOT")
				w := slices.Concat(r.call("ecs", "wait")...)
				if !slices.Equal(w, []string{"ecs", "wait", "tasks-stopped", "--cluster", "tally-uptime-staging", "--tasks", taskArn}) {
					t.Errorf("wait call %q", w)
				}
			},
		},
		{
			name:     "exit 3 propagated",
			args:     []string{"staging", "--from", "2024-01-01"},
			stub:     stub{describe: describe("STOPPED", "EssentialContainerExited", "3", "Essential container in task exited", "None")},
			wantCode: 3,
			wantOut:  []string{"exit code:    3"},
		},
		{
			name:     "exit 4 propagated",
			args:     []string{"staging"},
			stub:     stub{describe: describe("STOPPED", "EssentialContainerExited", "4", "Essential container in task exited", "None")},
			wantCode: 4,
			check:    func(t *testing.T, r run) { checkRunTask(t, r, nil, "FARGATE_SPOT") },
		},
		{
			name: "task failed to start: no exit code",
			args: []string{"staging", "--dry-run"},
			stub: stub{describe: describe("STOPPED", "TaskFailedToStart", "None",
				"ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret from ssm",
				"None")},
			wantCode: 1,
			wantOut:  []string{"exit code:    none", "stream uptime/uptime-job/" + taskID},
			wantErr:  []string{"did not run to an exit code (stop code TaskFailedToStart): ResourceInitializationError: unable to pull secrets"},
		},
		{
			name:     "run-task returns a failure instead of a task",
			args:     []string{"staging"},
			stub:     stub{runTask: `None\tRESOURCE:FARGATE`},
			wantCode: 1,
			wantErr:  []string{"the task did not start: RESOURCE:FARGATE."},
			// nothing to wait for
			wantCalls: []string{"cloudformation describe-stacks", "ecs run-task"},
		},
		{
			name:      "run-task refused",
			args:      []string{"staging"},
			stub:      stub{runError: "An error occurred (AccessDeniedException) when calling the RunTask operation: not authorized"},
			wantCode:  1,
			wantErr:   []string{"AccessDeniedException", "the task did not start: ECS refused run-task"},
			wantCalls: []string{"cloudformation describe-stacks", "ecs run-task"},
		},
		{
			name:      "the waiter gives up after 10 minutes and is asked again",
			args:      []string{"staging", "--verbose"},
			stub:      stub{waitFails: 2, describe: okDescribe, extraEnv: []string{"BACKFILL_POLL=0"}},
			wantCode:  0,
			wantErr:   []string{"is RUNNING; still waiting"},
			wantCalls: []string{"cloudformation describe-stacks", "ecs run-task", "ecs wait", "ecs describe-tasks", "ecs wait", "ecs describe-tasks", "ecs wait", "ecs describe-tasks"},
		},
		{
			name:     "BACKFILL_TIMEOUT passes",
			args:     []string{"staging"},
			stub:     stub{waitFails: 1 << 20, extraEnv: []string{"BACKFILL_TIMEOUT=1s"}},
			wantCode: 1,
			wantErr:  []string{"had not stopped after 1s", "it keeps running"},
		},
		{
			name:     "flags reach the container exactly",
			args:     []string{"staging", "--user", `o'brien "the quick"@example.com`, "--user=a b\\c", "--from", "2024-01-01", "", "tab\there", "new\nline", "ünïcödé", "$HOME", "*"},
			stub:     stub{describe: okDescribe},
			wantCode: 0,
			check: func(t *testing.T, r run) {
				checkRunTask(t, r, []string{"--user", `o'brien "the quick"@example.com`, "--user=a b\\c", "--from", "2024-01-01", "", "tab\there", "new\nline", "ünïcödé", "$HOME", "*"}, "FARGATE_SPOT")
			},
		},
		{
			name:     "on-demand for this run",
			args:     []string{"staging", "--dry-run"},
			stub:     stub{describe: okDescribe, extraEnv: []string{"BACKFILL_CAPACITY_PROVIDER=FARGATE"}},
			wantCode: 0,
			check:    func(t *testing.T, r run) { checkRunTask(t, r, []string{"--dry-run"}, "FARGATE") },
		},
		{
			name:     "an earlier task definition revision",
			args:     []string{"staging", "--dry-run"},
			stub:     stub{describe: okDescribe, extraEnv: []string{"BACKFILL_TASK_DEFINITION=tally-uptime-staging:41"}},
			wantCode: 0,
			check: func(t *testing.T, r run) {
				if c := r.call("ecs", "run-task"); len(c) != 1 || flagValue(t, c[0], "--task-definition") != "tally-uptime-staging:41" {
					t.Errorf("run-task calls %q, want --task-definition tally-uptime-staging:41", c)
				}
			},
		},
		{
			name:      "a bad BACKFILL_TASK_DEFINITION",
			args:      []string{"staging"},
			stub:      stub{extraEnv: []string{"BACKFILL_TASK_DEFINITION=tally uptime"}},
			wantCode:  2,
			wantErr:   []string{"is not a task definition"},
			wantCalls: []string{"cloudformation describe-stacks"},
		},
		{
			name:      "no environment",
			args:      nil,
			wantCode:  2,
			wantErr:   []string{"no environment given"},
			wantCalls: []string{},
		},
		{
			name:      "flags where the environment belongs",
			args:      []string{"--dry-run"},
			wantCode:  2,
			wantErr:   []string{"unknown environment '--dry-run'"},
			wantCalls: []string{},
		},
		{
			name:      "unknown environment",
			args:      []string{"qa", "--dry-run"},
			stub:      stub{stackGone: true},
			wantCode:  2,
			wantErr:   []string{"unknown environment 'qa': there is no stack TallyUptime-qa"},
			wantCalls: []string{"cloudformation describe-stacks"},
		},
		{
			name:      "bad BACKFILL_TIMEOUT",
			args:      []string{"staging"},
			stub:      stub{extraEnv: []string{"BACKFILL_TIMEOUT=soon"}},
			wantCode:  2,
			wantErr:   []string{"BACKFILL_TIMEOUT='soon' is not a duration"},
			wantCalls: []string{},
		},
		{
			name:      "stack without the outputs",
			args:      []string{"staging"},
			stub:      stub{outputs: [][2]string{{"ClusterName", "c"}}},
			wantCode:  1,
			wantErr:   []string{"has no output TaskDefinitionArn"},
			wantCalls: []string{"cloudformation describe-stacks"},
		},
		{
			name:      "no aws CLI",
			args:      []string{"staging"},
			stub:      stub{noAWS: true},
			wantCode:  2,
			wantErr:   []string{"the AWS CLI ('aws') is not on PATH"},
			wantCalls: []string{},
		},
		{
			name:     "help",
			args:     []string{"--help"},
			wantCode: 0,
			wantOut:  []string{"Usage: backfill.sh ENV [job flags...]", "BACKFILL_TIMEOUT"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBackfill(t, tc.stub, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			for _, s := range tc.wantOut {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			if tc.wantCode == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("a usage error should be one sentence on one line, got:\n%s", r.stderr)
			}
			if tc.wantCalls != nil {
				got := []string{}
				for _, c := range r.calls {
					got = append(got, strings.Join(c[:min(2, len(c))], " "))
				}
				if !slices.Equal(got, tc.wantCalls) {
					t.Errorf("aws calls %q, want %q", got, tc.wantCalls)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
