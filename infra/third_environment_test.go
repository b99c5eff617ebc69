package main

// An environment added to environments.go needs no other edit: its stack,
// its AWS names and the workflows' list of environments all follow from the
// one entry. One small app of its own (the shipped environments plus "qa"),
// on the package's one jsii process.

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestThirdEnvironmentFollows(t *testing.T) {
	envs := append(Environments(), Environment{Name: "qa", Schedule: "cron(0 0 * * ? *)"})
	// The workflows' matrices: `go run ./infra --list-environments` prints this list.
	eq(t, "environment names", EnvironmentNames(envs), []string{"staging", "prod", "qa"})

	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	built, err := NewStacks(app, envs)
	if err != nil {
		t.Fatal(err)
	}
	byStack := map[string]*UptimeStack{}
	for _, s := range built {
		byStack[*s.StackName()] = s
	}
	if len(byStack) != 3 {
		t.Errorf("stacks %v, want three distinct ones", keys(byStack))
	}
	if byStack["TallyUptime-qa"] == nil {
		t.Fatalf("no stack TallyUptime-qa among %v", keys(byStack))
	}

	// names[env][kind]: the AWS names each stack gives its resources, as synthesized.
	names := map[string]map[string]string{}
	for _, env := range []string{"staging", "prod", "qa"} {
		st := byStack["TallyUptime-"+env]
		if st == nil {
			t.Fatalf("no stack TallyUptime-%s", env)
		}
		s, err := templateOf(st.Stack)
		if err != nil {
			t.Fatal(err)
		}
		_, sched := s.one(t, "AWS::Scheduler::Schedule")
		_, cluster := s.one(t, "AWS::ECS::Cluster")
		_, td := s.one(t, "AWS::ECS::TaskDefinition")
		c := obj(arr(td["ContainerDefinitions"])[0])
		logGroup := obj(obj(obj(c["LogConfiguration"])["Options"])["awslogs-group"])["Ref"]
		logGroupID, _ := logGroup.(string)
		secrets := arr(c["Secrets"])
		if len(secrets) != 1 {
			t.Fatalf("%s: secrets %s, want DATABASE_URL only", env, jsonOf(secrets))
		}
		names[env] = map[string]string{
			"schedule":  str(sched["Name"]),
			"cluster":   str(cluster["ClusterName"]),
			"log group": str(props(s.res[logGroupID])["LogGroupName"]),
			"parameter": renderJoin(obj(secrets[0])["ValueFrom"]),
		}
		if env == "qa" {
			eq(t, "qa schedule expression", sched["ScheduleExpression"], "cron(0 0 * * ? *)")
		}
	}

	for kind, qa := range names["qa"] {
		if !strings.Contains(qa, "qa") {
			t.Errorf("qa %s %q does not name the environment", kind, qa)
		}
		for _, other := range []string{"staging", "prod"} {
			if got := names[other][kind]; got == "" || got == qa {
				t.Errorf("%s %s %q, qa's %q: want a name of its own", other, kind, got, qa)
			}
		}
	}
}

// str is v if it is a plain string, "" otherwise (a token or a missing property).
func str(v any) string { s, _ := v.(string); return s }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
