// What an operator meets before any task starts: --help, usage errors, refused flags, the
// stack's outputs, and the settings the run will have.
package backfill

import (
	"slices"
	"strings"
	"testing"

	"github.com/tally/uptime/ops/fakeaws"
)

func TestRefusedBeforeAnyAWSCall(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no environment", nil, nil, "no environment given: say which stack to run in"},
		{"flags where the environment belongs", []string{"--dry-run"}, nil, `unknown environment: "--dry-run" is not an environment name`},
		{"an environment with a leading digit (the shell tool let it through)", []string{"1prod"}, nil, `"1prod" is not an environment name`},
		{"an upper-case environment", []string{"Prod", "--yes"}, nil, `"Prod" is not an environment name`},
		{"misspelt flag", []string{"prod", "--dryrun"}, nil, "the job refuses these flags, so no task was started: unknown flag: --dryrun"},
		{"malformed points", []string{"staging", "--points", "x"}, nil, `--points`},
		{"points 0", []string{"staging", "--points", "0"}, nil, "points must be a whole number of at least 1"},
		{"malformed date", []string{"staging", "--from", "2024-13-01"}, nil, `--from`},
		{"a stray argument", []string{"staging", "--force", "false"}, nil, `"false"`},
		{"bad BACKFILL_TIMEOUT", []string{"staging"}, map[string]string{"BACKFILL_TIMEOUT": "soon"}, "BACKFILL_TIMEOUT='soon' is not a duration"},
		{"bad BACKFILL_POLL", []string{"staging"}, map[string]string{"BACKFILL_POLL": "-1s"}, "BACKFILL_POLL='-1s' is not a duration"},
		{"bad BACKFILL_TASK_DEFINITION", []string{"staging"}, map[string]string{"BACKFILL_TASK_DEFINITION": "tally uptime"}, "is not a task definition"},
		{"bad BACKFILL_CAPACITY_PROVIDER", []string{"staging"}, map[string]string{"BACKFILL_CAPACITY_PROVIDER": "EC2"}, "neither FARGATE nor FARGATE_SPOT"},
		{"--result-json without a file", []string{"staging", "--result-json"}, nil, "--result-json needs a file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := runBackfill(t, setup{env: tc.env}, tc.args...)
			if o.code != 2 || len(o.srv.Ops()) != 0 {
				t.Errorf("exit %d after AWS calls %q; want 2 and none", o.code, o.srv.Ops())
			}
			oneSentence(t, o, tc.want)
		})
	}
}

func TestRefusedByTheStack(t *testing.T) {
	t.Run("unknown environment: no such stack", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{StackMissing: true}}, "qa", "--dry-run")
		if o.code != 2 || len(o.srv.Ops()) != 1 {
			t.Errorf("exit %d, calls %q", o.code, o.srv.Ops())
		}
		oneSentence(t, o, "unknown environment 'qa': there is no stack TallyUptime-qa in this account and region (AWS_PROFILE/AWS_REGION).")
	})
	t.Run("a stack without the outputs", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Outputs: [][2]string{{"ClusterName", "c"}}}}, "staging")
		if o.code != 1 || len(o.srv.Ops()) != 1 {
			t.Errorf("exit %d, calls %q", o.code, o.srv.Ops())
		}
		oneSentence(t, o, "the stack TallyUptime-staging has no output TaskDefinitionArn: is it deployed from this repository's current infra/?")
	})
	t.Run("an output that does not look right", func(t *testing.T) {
		outs := stackOutputs("")
		for i := range outs {
			if outs[i][0] == "SecurityGroupId" {
				outs[i][1] = "sg-1; rm -rf /"
			}
		}
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Outputs: outs}}, "staging")
		if o.code != 1 || slices.Contains(o.srv.Ops(), "ecs.RunTask") {
			t.Errorf("exit %d, calls %q", o.code, o.srv.Ops())
		}
		oneSentence(t, o, "output SecurityGroupId='sg-1; rm -rf /' does not look right.")
	})
	t.Run("the task's own defaults refuse the flags", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Outputs: stackOutputs("UPTIME_ENVIRONMENT=staging UPTIME_FROM=2024-02-01")}},
			"staging", "--to", "2024-01-01")
		if o.code != 2 || slices.Contains(o.srv.Ops(), "ecs.RunTask") {
			t.Errorf("exit %d, calls %q", o.code, o.srv.Ops())
		}
		oneSentence(t, o, "the job refuses these flags, so no task was started: ")
	})
}

func TestHelpAnywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"prod", "--help"}, {"prod", "--from", "2024-01-01", "-h"}, {"help"}, {"prod", "--dryrun", "-help"}, {"staging", "--help=true"}} {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Protected: true}}, args...)
		if o.code != 0 || !strings.HasPrefix(o.stdout, "Usage: scripts/backfill.sh ENV [--yes]") || len(o.srv.Ops()) != 0 || o.stderr != "" {
			t.Errorf("%q: exit %d, calls %q, stdout %q; want the usage, exit 0, no AWS call", args, o.code, o.srv.Ops(), o.stdout)
		}
	}
}

func TestSettingsOverTheScheduleDefaults(t *testing.T) {
	o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0),
		Outputs: stackOutputs("UPTIME_ENVIRONMENT=staging UPTIME_FORCE=true UPTIME_POINTS=2 UPTIME_TIMEOUT=20m0s UPTIME_VERBOSE=true")}},
		"staging", "--points", "3", "--force=false", "--timeout", "45m")
	if o.code != 0 {
		t.Fatalf("exit %d", o.code)
	}
	for _, want := range []string{"--points=3 flag", "--force=false flag", "--timeout=45m0s flag",
		"--verbose=true UPTIME_VERBOSE", "--db-wait=1m0s default", "flags given:  --points 3 --force=false --timeout 45m"} {
		if !hasLine(o.stdout, want) {
			t.Errorf("the effective settings lack %q:\n%s", want, o.stdout)
		}
	}
	if i, j := strings.Index(o.stdout, "settings:"), strings.Index(o.stdout, "task:"); i < 0 || j < i {
		t.Errorf("the settings are not printed before the run:\n%s", o.stdout)
	}
	checkRunTask(t, o, []string{"--points", "3", "--force=false", "--timeout", "45m"}, "FARGATE_SPOT")
}

func TestWhatRunTaskIsGiven(t *testing.T) {
	t.Run("flags reach the container exactly", func(t *testing.T) {
		flags := []string{"--user", "o'brien+$HOME*@example.com", "--user=ünïcödé@example.com", "--from", "2024-01-01", "--to=2024-01-31"}
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0)}}, append([]string{"staging"}, flags...)...)
		if o.code != 0 {
			t.Fatalf("exit %d", o.code)
		}
		checkRunTask(t, o, flags, "FARGATE_SPOT")
	})
	t.Run("on-demand for this run", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0)}, env: map[string]string{"BACKFILL_CAPACITY_PROVIDER": "FARGATE"}}, "staging")
		checkRunTask(t, o, nil, "FARGATE")
	})
	t.Run("an earlier task definition revision", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0)}, env: map[string]string{"BACKFILL_TASK_DEFINITION": "tally-uptime-staging:41"}},
			"staging", "--dry-run")
		if rt := checkRunTask(t, o, []string{"--dry-run"}, "FARGATE_SPOT"); rt.TaskDefinition != "tally-uptime-staging:41" {
			t.Errorf("task definition %q, want tally-uptime-staging:41", rt.TaskDefinition)
		}
	})
	t.Run("the stack's task definition, and who started it", func(t *testing.T) {
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0)}, env: map[string]string{"USER": "github-o'brien.x"}}, "staging")
		if rt := checkRunTaskBy(t, o); rt.TaskDefinition != taskDef || rt.StartedBy != "backfill-github-o_brien_x" {
			t.Errorf("task definition %q, started by %q", rt.TaskDefinition, rt.StartedBy)
		}
	})
	t.Run("no capacity provider: the FARGATE launch type", func(t *testing.T) {
		outs := slices.DeleteFunc(stackOutputs(""), func(kv [2]string) bool { return kv[0] == "CapacityProvider" })
		o := runBackfill(t, setup{sc: fakeaws.Scenario{Stopped: exited(0), Outputs: outs}}, "staging")
		if rt := checkRunTaskBy(t, o); rt.LaunchType != "FARGATE" || len(rt.CapacityProviderStrategy) != 0 {
			t.Errorf("launch type %q, strategy %+v", rt.LaunchType, rt.CapacityProviderStrategy)
		}
	})
}
