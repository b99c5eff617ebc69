package scripts_test

import (
	"slices"
	"strings"
	"testing"
)

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
			wantCalls: []string{"cloudformation describe-stacks", "cloudformation describe-stacks",
				"ecs run-task", "ecs wait", "ecs describe-tasks", "logs get-log-events"},
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
			wantCalls: []string{"cloudformation describe-stacks", "cloudformation describe-stacks", "ecs run-task"},
		},
		{
			name:      "run-task refused",
			args:      []string{"staging"},
			stub:      stub{runError: "An error occurred (AccessDeniedException) when calling the RunTask operation: not authorized"},
			wantCode:  1,
			wantErr:   []string{"AccessDeniedException", "the task did not start: ECS refused run-task"},
			wantCalls: []string{"cloudformation describe-stacks", "cloudformation describe-stacks", "ecs run-task"},
		},
		{
			name:     "the waiter gives up after 10 minutes and is asked again",
			args:     []string{"staging", "--verbose"},
			stub:     stub{waitFails: 2, describe: okDescribe, extraEnv: []string{"BACKFILL_POLL=0"}},
			wantCode: 0,
			wantErr:  []string{"is RUNNING; still waiting"},
			wantCalls: []string{"cloudformation describe-stacks", "cloudformation describe-stacks", "ecs run-task",
				"ecs wait", "ecs describe-tasks", "ecs wait", "ecs describe-tasks", "ecs wait", "ecs describe-tasks", "logs get-log-events"},
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
			args:     []string{"staging", "--user", "o'brien+$HOME*@example.com", "--user=ünïcödé@example.com", "--from", "2024-01-01", "--to=2024-01-31"},
			stub:     stub{describe: okDescribe},
			wantCode: 0,
			check: func(t *testing.T, r run) {
				checkRunTask(t, r, []string{"--user", "o'brien+$HOME*@example.com", "--user=ünïcödé@example.com", "--from", "2024-01-01", "--to=2024-01-31"}, "FARGATE_SPOT")
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
			wantOut:  []string{"Usage: backfill.sh ENV [--yes] [job flags...]", "BACKFILL_TIMEOUT"},
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
