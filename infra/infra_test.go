package main

// One jsii process serves this whole package: every stack is synthesized once
// (shipped environments plus the existing-VPC configuration, in one app) and
// the tests read the shared templates. TestMain closes jsii.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	if synthDir != "" {
		os.RemoveAll(synthDir)
	}
	os.Exit(code)
}

// existingVPC exercises every non-default path: an imported VPC and database
// security group, Spot, a paused schedule, a customer-managed key, an ECR
// image and job defaults. It never deploys; it only has to synthesize offline.
func existingVPC() Environment {
	return Environment{
		Name:           "legacy",
		Account:        "123456789012",
		Region:         "eu-west-1",
		Schedule:       "cron(30 3 * * ? *)",
		TimeZone:       "Europe/Berlin",
		SchedulePaused: true,
		Network: Network{
			VpcID:                   "vpc-0a1b2c3d4e5f60718",
			SubnetIDs:               []string{"subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"},
			AvailabilityZones:       []string{"eu-west-1a", "eu-west-1b"},
			DatabaseSecurityGroupID: "sg-0db0db0db0db0db00",
			DatabasePort:            6432,
		},
		DatabaseURLParameter: "/legacy/uptime/database-url",
		DatabaseURLKeyARN:    "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555",
		AlarmEmails:          []string{"a@acme-corp.io", "b@acme-corp.io"},
		LogRetention:         awslogs.RetentionDays_ONE_WEEK,
		CPU:                  512,
		MemoryMiB:            1024,
		Spot:                 true,
		Job:                  JobDefaults{Points: 2, Force: true, Timeout: 20 * time.Minute},
		ImageURI:             "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tally-uptime@sha256:" + strings.Repeat("ab", 32),
	}
}

// spotOnly is the shipped defaults with Spot on, in the private subnets Spot
// needs (validate.go): only the capacity provider changes; the task and its
// image stay ARM64.
func spotOnly() Environment {
	return Environment{Name: "spot", AlarmEmails: []string{"a@acme-corp.io"}, Spot: true,
		Network: Network{VpcID: "vpc-0a1b2c3d4e5f60718", SubnetIDs: []string{"subnet-0aaa1111bbbb2222c"},
			AvailabilityZones: []string{"eu-west-1a"}}}
}

type synthesized struct {
	env      Environment
	stack    *UptimeStack
	template assertions.Template
	res      map[string]map[string]any // logical id -> resource
	outputs  map[string]any
	assets   map[string]any // <stack>.assets.json
}

var (
	synthOnce sync.Once
	synthDir  string
	synthErr  error
	stacks    map[string]*synthesized
)

// synth builds and synthesizes the app once, on first use, so that `go test
// -run` of a single test still works.
func synth(t *testing.T) map[string]*synthesized {
	t.Helper()
	synthOnce.Do(func() {
		synthErr = func() error {
			dir, err := os.MkdirTemp("", "infra-test-cdk-out-")
			if err != nil {
				return err
			}
			synthDir = dir
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir)})
			built, err := NewStacks(app, append(Environments(), existingVPC(), spotOnly()))
			if err != nil {
				return err
			}
			for _, s := range built {
				awscdk.Aspects_Of(s.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)
			}
			app.Synth(nil)
			stacks = map[string]*synthesized{}
			for _, s := range built {
				tmpl := assertions.Template_FromStack(s.Stack, nil)
				raw, _ := json.Marshal(tmpl.ToJSON())
				var doc struct {
					Resources map[string]map[string]any
					Outputs   map[string]any
				}
				if err := json.Unmarshal(raw, &doc); err != nil {
					return err
				}
				assets := map[string]any{}
				b, err := os.ReadFile(filepath.Join(dir, s.Env.StackName()+".assets.json"))
				if err != nil {
					return err
				}
				if err := json.Unmarshal(b, &assets); err != nil {
					return err
				}
				stacks[s.Env.Name] = &synthesized{env: s.Env, stack: s, template: tmpl,
					res: doc.Resources, outputs: doc.Outputs, assets: assets}
			}
			return nil
		}()
	})
	if synthErr != nil {
		t.Fatalf("synth: %v", synthErr)
	}
	return stacks
}

// shipped runs fn once per environment in environments.go, as subtests.
func shipped(t *testing.T, fn func(t *testing.T, s *synthesized)) {
	all := synth(t)
	for _, e := range Environments() {
		t.Run(e.Name, func(t *testing.T) { fn(t, all[e.Name]) })
	}
}

// assert turns a failed CDK assertion (a panic from jsii) into a test error.
func assert(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	fn()
}

func (s *synthesized) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.res {
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// one returns the only resource of a type, failing the test otherwise.
func (s *synthesized) one(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	rs := s.ofType(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	for id, r := range rs {
		return id, props(r)
	}
	return "", nil
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

func ref(id string) map[string]any       { return map[string]any{"Ref": id} }
func getAtt(id, a string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, a}} }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func arr(v any) []any {
	switch a := v.(type) {
	case []any:
		return a
	case nil:
		return nil
	default:
		return []any{a}
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func eq(t *testing.T, what string, got, want any) {
	t.Helper()
	if jsonOf(got) != jsonOf(want) {
		t.Errorf("%s = %s, want %s", what, jsonOf(got), jsonOf(want))
	}
}

// ---- configuration, without jsii --------------------------------------------

func TestEnvironmentsShippedAreValid(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Environments() {
		d := e.WithDefaults()
		if err := d.Validate(); err != nil {
			t.Errorf("shipped %v", err)
		}
		if d.Account != "" || d.Region != "" {
			t.Errorf("%s pins account/region; the shipped config must synth without credentials", e.Name)
		}
		names[e.Name] = true
	}
	for _, want := range []string{"staging", "prod"} {
		if !names[want] {
			t.Errorf("no %q environment in environments.go", want)
		}
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	d := Environment{Name: "qa", AlarmEmails: []string{"x@y.example"}}.WithDefaults()
	eq(t, "schedule", d.Schedule, "cron(0 2 * * ? *)")
	eq(t, "time zone", d.TimeZone, "UTC")
	eq(t, "parameter", d.DatabaseURLParameter, "/tally/qa/database-url")
	eq(t, "cpu/memory", []int{d.CPU, d.MemoryMiB}, []int{256, 512})
	eq(t, "db port", d.Network.DatabasePort, 5432)
	eq(t, "spot", d.Spot, false)
	eq(t, "capacity", d.CapacityProvider(), "FARGATE")
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}

func TestEnvironmentValidate(t *testing.T) {
	ok := Environment{Name: "qa", AlarmEmails: []string{"x@y.example"}}
	cases := map[string]func(e *Environment){
		"bad name":            func(e *Environment) { e.Name = "QA_1" },
		"bad schedule":        func(e *Environment) { e.Schedule = "0 2 * * *" },
		"bad time zone":       func(e *Environment) { e.TimeZone = "Mars/Olympus" },
		"bad e-mail":          func(e *Environment) { e.AlarmEmails = []string{"nobody"} },
		"bad cpu":             func(e *Environment) { e.CPU = 300 },
		"memory too small":    func(e *Environment) { e.CPU, e.MemoryMiB = 1024, 512 },
		"relative parameter":  func(e *Environment) { e.DatabaseURLParameter = "tally/db" },
		"negative points":     func(e *Environment) { e.Job.Points = -1 },
		"subnets without vpc": func(e *Environment) { e.Network.SubnetIDs = []string{"subnet-1"} },
		"vpc without subnets": func(e *Environment) { e.Network.VpcID = "vpc-1" },
		"uneven subnets": func(e *Environment) {
			e.Network = Network{VpcID: "vpc-1", SubnetIDs: []string{"subnet-1"}, AvailabilityZones: []string{"a", "b"}}
		},
	}
	for name, mutate := range cases {
		e := ok
		mutate(&e)
		if err := e.WithDefaults().Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := existingVPC().WithDefaults().Validate(); err != nil {
		t.Errorf("existing-VPC config: %v", err)
	}
}

func TestJobDefaultsVariables(t *testing.T) {
	eq(t, "zero", JobDefaults{}.Variables(), map[string]string{})
	eq(t, "all", JobDefaults{Points: 3, Force: true, Verbose: true, Timeout: 15 * time.Minute, DBWait: 2 * time.Minute}.Variables(),
		map[string]string{"UPTIME_POINTS": "3", "UPTIME_FORCE": "true", "UPTIME_VERBOSE": "true",
			"UPTIME_TIMEOUT": "15m0s", "UPTIME_DB_WAIT": "2m0s"})
	// Every variable must be one the job knows (README's table), or it refuses to start.
	known := regexp.MustCompile(`^UPTIME_(POINTS|FORCE|VERBOSE|TIMEOUT|DB_WAIT|DRY_RUN|FROM|TO|USER|ENVIRONMENT)$`)
	for k := range (JobDefaults{Points: 1, Force: true, Verbose: true, Timeout: 1, DBWait: 1}).Variables() {
		if !known.MatchString(k) {
			t.Errorf("%s is not a variable the job reads", k)
		}
	}
}

func TestNewStacksRejectsDuplicates(t *testing.T) {
	e := Environment{Name: "qa", AlarmEmails: []string{"x@acme-corp.io"}}
	if _, err := NewStacks(nil, []Environment{e, e}); err == nil || !strings.Contains(err.Error(), "configured twice") {
		t.Errorf("two environments named qa: %v", err)
	}
}

// ---- the synthesized stacks -------------------------------------------------

func TestStackNamesAndOfflineSynth(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		eq(t, name+" stack name", *s.stack.StackName(), "TallyUptime-"+name)
	}
	// A lookup (Vpc.fromLookup, …) would leave "missing" context in the
	// manifest and need credentials; the app must need none.
	b, err := os.ReadFile(filepath.Join(synthDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]any
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	if m, ok := manifest["missing"]; ok {
		t.Errorf("synth needs context lookups (credentials): %s", jsonOf(m))
	}
}

func TestTaskDefinition(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		assert(t, "task definition", func() {
			s.template.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), map[string]any{
				"Family":                  "tally-uptime-" + s.env.Name,
				"RequiresCompatibilities": []any{"FARGATE"},
				"NetworkMode":             "awsvpc",
				"Cpu":                     "256",
				"Memory":                  "512",
				"RuntimePlatform":         map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
			})
		})
		_, td := s.one(t, "AWS::ECS::TaskDefinition")
		containers := arr(td["ContainerDefinitions"])
		if len(containers) != 1 {
			t.Fatalf("%d containers, want 1", len(containers))
		}
		c := obj(containers[0])
		eq(t, "container name", c["Name"], "uptime-job")
		eq(t, "read-only root", c["ReadonlyRootFilesystem"], true)
		eq(t, "user", c["User"], "65532:65532")
		eq(t, "memory hard limit", c["Memory"], 512)
		if _, ok := c["PortMappings"]; ok {
			t.Errorf("port mappings present: %s", jsonOf(c["PortMappings"]))
		}
		if st, _ := c["StopTimeout"].(float64); st < 60 || st > 120 {
			t.Errorf("stop timeout %v s, want 60-120 for the rollback", c["StopTimeout"])
		}

		env := map[string]any{}
		for _, kv := range arr(c["Environment"]) {
			env[obj(kv)["Name"].(string)] = obj(kv)["Value"]
		}
		eq(t, "UPTIME_ENVIRONMENT", env["UPTIME_ENVIRONMENT"], s.env.Name)
		for k, v := range s.env.Job.Variables() {
			eq(t, k, env[k], v)
		}
		for k := range env {
			if k == "DATABASE_URL" || !strings.HasPrefix(k, "UPTIME_") {
				t.Errorf("plain environment variable %s; only UPTIME_* settings belong there", k)
			}
		}

		secrets := arr(c["Secrets"])
		if len(secrets) != 1 || obj(secrets[0])["Name"] != "DATABASE_URL" {
			t.Fatalf("secrets = %s, want DATABASE_URL only", jsonOf(secrets))
		}
		wantParam := ":ssm:.*:parameter/tally/" + s.env.Name + "/database-url\"\\]\\]}$"
		if from := jsonOf(obj(secrets[0])["ValueFrom"]); !regexp.MustCompile(wantParam).MatchString(from) {
			t.Errorf("DATABASE_URL from %s, want the SSM parameter /tally/%s/database-url", from, s.env.Name)
		}

		logGroupID := logGroupOf(t, s)
		lg := props(s.res[logGroupID])
		eq(t, "log group name", lg["LogGroupName"], "/tally/uptime/"+s.env.Name)
		wantDays := map[awslogs.RetentionDays]float64{
			awslogs.RetentionDays_ONE_MONTH: 30, awslogs.RetentionDays_THREE_MONTHS: 90}[s.env.LogRetention]
		eq(t, "log retention", lg["RetentionInDays"], wantDays)
		logCfg := obj(c["LogConfiguration"])
		eq(t, "log driver", logCfg["LogDriver"], "awslogs")
		eq(t, "log group", obj(logCfg["Options"])["awslogs-group"], ref(logGroupID))
		eq(t, "stream prefix", obj(logCfg["Options"])["awslogs-stream-prefix"], "uptime")

		// The image: the repository's Dockerfile, built for linux/arm64.
		images := obj(s.assets["dockerImages"])
		if len(images) != 1 {
			t.Fatalf("%d image assets, want 1", len(images))
		}
		for _, img := range images {
			src := obj(obj(img)["source"])
			eq(t, "image platform", src["platform"], "linux/arm64")
			for _, dest := range obj(obj(img)["destinations"]) {
				if tag := obj(dest)["imageTag"].(string); !strings.HasSuffix(jsonOf(c["Image"]), ":"+tag+`"}`) {
					t.Errorf("container image %s is not the asset %s", jsonOf(c["Image"]), tag)
				}
			}
			dir := filepath.Join(synthDir, src["directory"].(string))
			for _, want := range []string{"Dockerfile", "go.mod", "job"} {
				if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
					t.Errorf("image context lacks %s", want)
				}
			}
			for _, never := range []string{"cdk.out", "node_modules", ".git", "infra"} {
				if _, err := os.Stat(filepath.Join(dir, never)); err == nil {
					t.Errorf("image context holds %s", never)
				}
			}
		}
	})
}

func TestCluster(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		_, cluster := s.one(t, "AWS::ECS::Cluster")
		eq(t, "cluster settings", cluster["ClusterSettings"], []any{map[string]any{"Name": "containerInsights", "Value": "disabled"}})
		_, assoc := s.one(t, "AWS::ECS::ClusterCapacityProviderAssociations")
		providers := arr(assoc["CapacityProviders"])
		if !slices.Contains(providers, any("FARGATE")) || !slices.Contains(providers, any("FARGATE_SPOT")) {
			t.Errorf("capacity providers %s, want FARGATE and FARGATE_SPOT", jsonOf(providers))
		}
	})
}

func TestIAMLeastPrivilege(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			// No wildcard action anywhere, and no managed policies.
			for id, r := range s.res {
				switch r["Type"] {
				case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
					for _, st := range arr(obj(props(r)["PolicyDocument"])["Statement"]) {
						for _, a := range arr(obj(st)["Action"]) {
							if strings.Contains(a.(string), "*") {
								t.Errorf("%s allows wildcard action %s", id, a)
							}
						}
					}
				case "AWS::IAM::Role":
					if p := props(r); p["ManagedPolicyArns"] != nil || p["Policies"] != nil {
						t.Errorf("%s has managed or inline policies: %s", id, jsonOf(p))
					}
				}
			}

			_, td := s.one(t, "AWS::ECS::TaskDefinition")
			taskRole := obj(td["TaskRoleArn"])["Fn::GetAtt"].([]any)[0].(string)
			execRole := obj(td["ExecutionRoleArn"])["Fn::GetAtt"].([]any)[0].(string)
			policiesOf := func(role string) [][]any {
				var out [][]any
				for _, r := range s.ofType("AWS::IAM::Policy") {
					if slices.ContainsFunc(arr(props(r)["Roles"]), func(x any) bool { return jsonOf(x) == jsonOf(ref(role)) }) {
						out = append(out, arr(obj(props(r)["PolicyDocument"])["Statement"]))
					}
				}
				return out
			}
			if p := policiesOf(taskRole); len(p) != 0 {
				t.Errorf("the task role grants something: %s", jsonOf(p))
			}

			// Execution role: SSM read of the one parameter, KMS only for a
			// customer-managed key, the log group, the image.
			ep := policiesOf(execRole)
			if len(ep) != 1 {
				t.Fatalf("execution role has %d policies", len(ep))
			}
			param := regexp.MustCompile(`:parameter` + regexp.QuoteMeta(s.env.DatabaseURLParameter) + `"\]\]}$`)
			sawSSM := false
			for _, st := range ep[0] {
				st := obj(st)
				actions := jsonOf(st["Action"])
				switch {
				case strings.Contains(actions, "ssm:"):
					sawSSM = true
					if !strings.Contains(actions, "ssm:GetParameters") || !param.MatchString(jsonOf(st["Resource"])) {
						t.Errorf("SSM statement %s is not ssm:GetParameters on %s", jsonOf(st), s.env.DatabaseURLParameter)
					}
				case strings.Contains(actions, "kms:"):
					if s.env.DatabaseURLKeyARN == "" {
						t.Errorf("kms grant without a customer-managed key: %s", jsonOf(st))
					} else {
						eq(t, "kms resource", st["Resource"], s.env.DatabaseURLKeyARN)
					}
				case strings.Contains(actions, "logs:"):
					eq(t, "logs resource", st["Resource"], getAtt(logGroupOf(t, s), "Arn"))
				case actions == `"ecr:GetAuthorizationToken"`:
					eq(t, "ecr token resource", st["Resource"], "*")
				case strings.Contains(actions, "ecr:BatchGetImage"):
					if jsonOf(st["Resource"]) == `"*"` {
						t.Errorf("image pull on every repository")
					}
				default:
					t.Errorf("unexpected execution-role statement %s", jsonOf(st))
				}
			}
			if !sawSSM {
				t.Error("the execution role cannot read the database URL parameter")
			}
			if s.env.DatabaseURLKeyARN != "" && !strings.Contains(jsonOf(ep), "kms:Decrypt") {
				t.Error("no kms:Decrypt for the customer-managed key")
			}
		})
	}
}

func logGroupOf(t *testing.T, s *synthesized) string {
	for id, r := range s.ofType("AWS::Logs::LogGroup") {
		if props(r)["LogGroupName"] == "/tally/uptime/"+s.env.Name {
			return id
		}
	}
	t.Fatal("no job log group")
	return ""
}

func TestSchedule(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			clusterID, _ := s.one(t, "AWS::ECS::Cluster")
			tdID, _ := s.one(t, "AWS::ECS::TaskDefinition")
			dlqID, dlq := s.one(t, "AWS::SQS::Queue")
			sgID := taskSecurityGroup(t, s)
			_, sched := s.one(t, "AWS::Scheduler::Schedule")

			state := "ENABLED"
			if s.env.SchedulePaused {
				state = "DISABLED"
			}
			eq(t, "expression", sched["ScheduleExpression"], s.env.Schedule)
			eq(t, "time zone", sched["ScheduleExpressionTimezone"], s.env.TimeZone)
			eq(t, "state", sched["State"], state)
			target := obj(sched["Target"])
			eq(t, "target", target["Arn"], getAtt(clusterID, "Arn"))
			eq(t, "retry policy", target["RetryPolicy"], map[string]any{"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 5})
			eq(t, "dead-letter queue", target["DeadLetterConfig"], map[string]any{"Arn": getAtt(dlqID, "Arn")})
			ecs := obj(target["EcsParameters"])
			eq(t, "task definition", ecs["TaskDefinitionArn"], ref(tdID))
			// The schedule's runs, and only they, say they are scheduled.
			input, _ := target["Input"].(string)
			var overrides any
			if err := json.Unmarshal([]byte(input), &overrides); err != nil {
				t.Errorf("the target input is not JSON: %q", input)
			}
			eq(t, "run kind override", overrides, map[string]any{"containerOverrides": []any{map[string]any{
				"name": "uptime-job", "environment": []any{map[string]any{"name": "UPTIME_RUN_KIND", "value": "scheduled"}}}}})
			if s.env.Spot {
				eq(t, "capacity", ecs["CapacityProviderStrategy"], []any{map[string]any{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}})
				eq(t, "launch type", ecs["LaunchType"], nil)
			} else {
				eq(t, "launch type", ecs["LaunchType"], "FARGATE")
			}
			vpcCfg := obj(obj(ecs["NetworkConfiguration"])["AwsvpcConfiguration"])
			eq(t, "security groups", vpcCfg["SecurityGroups"], []any{getAtt(sgID, "GroupId")})
			if s.env.NewVPC() {
				eq(t, "public ip", vpcCfg["AssignPublicIp"], "ENABLED")
				eq(t, "subnets", len(arr(vpcCfg["Subnets"])), 2)
			} else {
				eq(t, "public ip", vpcCfg["AssignPublicIp"], "DISABLED")
				eq(t, "subnets", vpcCfg["Subnets"], s.env.Network.SubnetIDs)
			}

			// The dead-letter queue: encrypted, TLS only.
			eq(t, "DLQ SSE", dlq["SqsManagedSseEnabled"], true)
			_, qp := s.one(t, "AWS::SQS::QueuePolicy")
			if !hasTLSDeny(arr(obj(qp["PolicyDocument"])["Statement"])) {
				t.Errorf("DLQ policy does not deny plain HTTP: %s", jsonOf(qp))
			}

			// The scheduler's role: RunTask on this family (any revision) on
			// this cluster, PassRole of exactly the two task roles, the DLQ.
			roleArn := obj(target["RoleArn"])["Fn::GetAtt"].([]any)[0].(string)
			role := props(s.res[roleArn])
			trust := jsonOf(role["AssumeRolePolicyDocument"])
			for _, want := range []string{`"Service":"scheduler.amazonaws.com"`, `"aws:SourceAccount"`, `schedule-group/default`} {
				if !strings.Contains(trust, want) {
					t.Errorf("scheduler trust policy lacks %s: %s", want, trust)
				}
			}
			var stmts []any
			for _, r := range s.ofType("AWS::IAM::Policy") {
				if jsonOf(props(r)["Roles"]) == jsonOf([]any{ref(roleArn)}) {
					stmts = append(stmts, arr(obj(props(r)["PolicyDocument"])["Statement"])...)
				}
			}
			_, td := s.one(t, "AWS::ECS::TaskDefinition")
			got := map[string]map[string]any{}
			for _, st := range stmts {
				got[jsonOf(obj(st)["Action"])] = obj(st)
			}
			if len(got) != 3 {
				t.Errorf("scheduler role statements %s, want RunTask, PassRole, SendMessage", jsonOf(stmts))
			}
			run := got[`"ecs:RunTask"`]
			if !regexp.MustCompile(`:task-definition/tally-uptime-` + s.env.Name + `:\*"\]\]}$`).MatchString(jsonOf(run["Resource"])) {
				t.Errorf("RunTask on %s, want the family %s with any revision", jsonOf(run["Resource"]), s.env.Family())
			}
			eq(t, "RunTask cluster condition", run["Condition"], map[string]any{"ArnEquals": map[string]any{"ecs:cluster": getAtt(clusterID, "Arn")}})
			pass := got[`"iam:PassRole"`]
			eq(t, "PassRole roles", pass["Resource"], []any{td["TaskRoleArn"], td["ExecutionRoleArn"]})
			eq(t, "PassRole service", pass["Condition"], map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}})
			eq(t, "SendMessage queue", got[`"sqs:SendMessage"`]["Resource"], getAtt(dlqID, "Arn"))
		})
	}
}

func hasTLSDeny(statements []any) bool {
	for _, st := range statements {
		st := obj(st)
		if st["Effect"] == "Deny" && jsonOf(st["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
			return true
		}
	}
	return false
}

// taskSecurityGroup is the task's own group (the only one the stack creates).
func taskSecurityGroup(t *testing.T, s *synthesized) string {
	id, _ := s.one(t, "AWS::EC2::SecurityGroup")
	return id
}

func TestNetworkShipped(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		assert(t, "no NAT gateway", func() {
			s.template.ResourceCountIs(jsii.String("AWS::EC2::NatGateway"), jsii.Number(0))
		})
		assert(t, "one VPC", func() { s.template.ResourceCountIs(jsii.String("AWS::EC2::VPC"), jsii.Number(1)) })
		subnets := s.ofType("AWS::EC2::Subnet")
		if len(subnets) != 2 {
			t.Errorf("%d subnets, want 2 public ones", len(subnets))
		}
		for id, sn := range subnets {
			if props(sn)["MapPublicIpOnLaunch"] != false {
				t.Errorf("subnet %s hands out public IPs to everything", id)
			}
		}
		routes := s.ofType("AWS::EC2::Route")
		for id, r := range routes {
			if props(r)["GatewayId"] == nil {
				t.Errorf("route %s does not go to the internet gateway: %s", id, jsonOf(r))
			}
		}
		_, sg := s.one(t, "AWS::EC2::SecurityGroup")
		if sg["SecurityGroupIngress"] != nil || len(s.ofType("AWS::EC2::SecurityGroupIngress")) != 0 {
			t.Errorf("the task's group has inbound rules")
		}
		eq(t, "egress", sg["SecurityGroupEgress"], []any{
			// No database address without the CDK context: no PostgreSQL egress at all.
			map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTPS to ECR, SSM and CloudWatch Logs", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443},
		})
		_, fl := s.one(t, "AWS::EC2::FlowLog")
		eq(t, "flow log traffic", fl["TrafficType"], "REJECT")
	})
}

func TestExistingVPC(t *testing.T) {
	s := synth(t)["legacy"]
	n := s.env.Network
	for _, typ := range []string{"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::FlowLog"} {
		if len(s.ofType(typ)) != 0 {
			t.Errorf("an existing VPC must not create %s", typ)
		}
	}
	sgID := taskSecurityGroup(t, s)
	_, sg := s.one(t, "AWS::EC2::SecurityGroup")
	eq(t, "task group VPC", sg["VpcId"], n.VpcID)
	eq(t, "task group inline egress", sg["SecurityGroupEgress"], []any{
		map[string]any{"CidrIp": "0.0.0.0/0", "Description": "HTTPS to ECR, SSM and CloudWatch Logs", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}})
	_, egress := s.one(t, "AWS::EC2::SecurityGroupEgress")
	eq(t, "egress to the database", egress, map[string]any{
		"GroupId": getAtt(sgID, "GroupId"), "DestinationSecurityGroupId": n.DatabaseSecurityGroupID,
		"IpProtocol": "tcp", "FromPort": 6432, "ToPort": 6432, "Description": "PostgreSQL to the database's security group"})
	_, ingress := s.one(t, "AWS::EC2::SecurityGroupIngress")
	eq(t, "ingress on the database's group", ingress, map[string]any{
		"GroupId": n.DatabaseSecurityGroupID, "SourceSecurityGroupId": getAtt(sgID, "GroupId"),
		"IpProtocol": "tcp", "FromPort": 6432, "ToPort": 6432, "Description": "tally-uptime legacy nightly job"})

	_, td := s.one(t, "AWS::ECS::TaskDefinition")
	eq(t, "spot architecture", td["RuntimePlatform"], map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"})
	eq(t, "size", []any{td["Cpu"], td["Memory"]}, []any{"512", "1024"})
	c := obj(arr(td["ContainerDefinitions"])[0])
	if img := jsonOf(c["Image"]); !strings.Contains(img, "dkr.ecr.eu-west-1.") || !strings.Contains(img, "tally-uptime@sha256:abab") {
		t.Errorf("image %s, want the configured ECR digest", img)
	}
	env := map[string]any{}
	for _, kv := range arr(c["Environment"]) {
		env[obj(kv)["Name"].(string)] = obj(kv)["Value"]
	}
	eq(t, "environment", env, map[string]any{"UPTIME_ENVIRONMENT": "legacy", "UPTIME_POINTS": "2", "UPTIME_FORCE": "true", "UPTIME_TIMEOUT": "20m0s"})
	if len(obj(s.assets["dockerImages"])) != 0 {
		t.Error("an image URI must not build the Dockerfile")
	}

	missed := alarmNamed(t, s, "tally-uptime-legacy-missed-run")
	eq(t, "missed-run alarm muted while paused", missed["ActionsEnabled"], false)
	eq(t, "subscriptions", len(s.ofType("AWS::SNS::Subscription")), 2)
	eq(t, "outputs", []any{s.outputs["AssignPublicIp"].(map[string]any)["Value"], s.outputs["CapacityProvider"].(map[string]any)["Value"],
		s.outputs["SubnetIds"].(map[string]any)["Value"]},
		[]any{"DISABLED", "FARGATE_SPOT", strings.Join(n.SubnetIDs, ",")})
	if cmd := jsonOf(s.outputs["RunTaskCommand"]); !strings.Contains(cmd, "--capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1") {
		t.Errorf("run-task command ignores Spot: %s", cmd)
	}
}

func TestSpotStaysOnARM64(t *testing.T) {
	s := synth(t)["spot"]
	_, td := s.one(t, "AWS::ECS::TaskDefinition")
	eq(t, "architecture", obj(td["RuntimePlatform"])["CpuArchitecture"], "ARM64")
	images := obj(s.assets["dockerImages"])
	if len(images) != 1 {
		t.Fatalf("%d image assets, want 1", len(images))
	}
	for _, img := range images {
		eq(t, "image platform", obj(obj(img)["source"])["platform"], "linux/arm64")
	}
	_, sched := s.one(t, "AWS::Scheduler::Schedule")
	eq(t, "capacity", obj(obj(sched["Target"])["EcsParameters"])["CapacityProviderStrategy"],
		[]any{map[string]any{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}})
	eq(t, "output", obj(s.outputs["CapacityProvider"])["Value"], "FARGATE_SPOT")
}

func TestAlarmTopic(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		_, policy := s.one(t, "AWS::SNS::TopicPolicy")
		statements := arr(obj(policy["PolicyDocument"])["Statement"])
		if !hasTLSDeny(statements) {
			t.Errorf("topic policy does not deny plain HTTP: %s", jsonOf(statements))
		}
		doc := jsonOf(statements)
		for _, publisher := range []string{"events.amazonaws.com", "cloudwatch.amazonaws.com"} {
			if !strings.Contains(doc, publisher) {
				t.Errorf("%s may not publish to the topic", publisher)
			}
		}
		subs := s.ofType("AWS::SNS::Subscription")
		if len(subs) != len(s.env.AlarmEmails) {
			t.Errorf("%d subscriptions, want %d", len(subs), len(s.env.AlarmEmails))
		}
		for _, sub := range subs {
			p := props(sub)
			eq(t, "protocol", p["Protocol"], "email")
			eq(t, "topic", p["TopicArn"], ref(topicID))
			if !slices.Contains(s.env.AlarmEmails, p["Endpoint"].(string)) {
				t.Errorf("subscription to %v, not a configured address", p["Endpoint"])
			}
		}
	})
}

func TestTaskStateRules(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		clusterID, _ := s.one(t, "AWS::ECS::Cluster")
		rules := s.ofType("AWS::Events::Rule")
		if len(rules) != 2 {
			t.Fatalf("%d event rules, want 2", len(rules))
		}
		var failed, notStarted map[string]any
		for _, r := range rules {
			p := props(r)
			if obj(obj(p["EventPattern"])["detail"])["containers"] != nil {
				failed = p
			} else {
				notStarted = p
			}
		}
		if failed == nil || notStarted == nil {
			t.Fatal("want one rule on the exit code and one on TaskFailedToStart")
		}
		for name, p := range map[string]map[string]any{"failed": failed, "not started": notStarted} {
			pat := obj(p["EventPattern"])
			eq(t, name+" source", pat["source"], []any{"aws.ecs"})
			eq(t, name+" detail-type", pat["detail-type"], []any{"ECS Task State Change"})
			d := obj(pat["detail"])
			eq(t, name+" lastStatus", d["lastStatus"], []any{"STOPPED"})
			eq(t, name+" cluster", d["clusterArn"], []any{getAtt(clusterID, "Arn")})
			if !regexp.MustCompile(`"prefix":.*:task-definition/` + s.env.Family() + `:"`).MatchString(jsonOf(d["taskDefinitionArn"])) {
				t.Errorf("%s matches task definitions %s, want the family %s", name, jsonOf(d["taskDefinitionArn"]), s.env.Family())
			}
			eq(t, name+" state", p["State"], "ENABLED")
			targets := arr(p["Targets"])
			if len(targets) != 1 {
				t.Fatalf("%s: %d targets", name, len(targets))
			}
			tgt := obj(targets[0])
			eq(t, name+" target", tgt["Arn"], ref(topicID))
			it := obj(tgt["InputTransformer"])
			paths := jsonOf(it["InputPathsMap"])
			tmpl := renderJoin(it["InputTemplate"])
			for _, want := range []string{"$.detail.taskArn", "$.detail.stoppedReason"} {
				if !strings.Contains(paths, want) {
					t.Errorf("%s message lacks %s", name, want)
				}
			}
			if !strings.Contains(tmpl, "/tally/uptime/"+s.env.Name) || !strings.Contains(tmpl, "uptime/uptime-job/") {
				t.Errorf("%s message does not say where the logs are: %s", name, tmpl)
			}
		}
		eq(t, "exit code match", obj(obj(failed["EventPattern"])["detail"])["containers"],
			map[string]any{"name": []any{"uptime-job"}, "exitCode": []any{map[string]any{"anything-but": 0}}})
		if !strings.Contains(jsonOf(obj(failed["Targets"].([]any)[0])["InputTransformer"]), "$.detail.containers[0].exitCode") {
			t.Error("failure message lacks the exit code")
		}
		eq(t, "stop code", obj(obj(notStarted["EventPattern"])["detail"])["stopCode"], []any{"TaskFailedToStart"})
	})
}

func alarmNamed(t *testing.T, s *synthesized, name string) map[string]any {
	t.Helper()
	for _, r := range s.ofType("AWS::CloudWatch::Alarm") {
		if props(r)["AlarmName"] == name {
			return props(r)
		}
	}
	t.Fatalf("no alarm %s", name)
	return nil
}

func TestAlarms(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		dlqID, _ := s.one(t, "AWS::SQS::Queue")
		alarms := s.ofType("AWS::CloudWatch::Alarm")
		// Five notifications in all: these three and the two event rules.
		if len(alarms) != 3 {
			t.Errorf("%d alarms, want 3 (each costs money every month)", len(alarms))
		}
		for _, a := range alarms {
			eq(t, "alarm actions", props(a)["AlarmActions"], []any{ref(topicID)})
			// Whoever was paged also hears that it is over.
			eq(t, "OK actions", props(a)["OKActions"], []any{ref(topicID)})
		}
		dims := []any{map[string]any{"Name": "Environment", "Value": s.env.Name}}
		f := s.env.Family()

		// Scheduled runs only: a backfill by hand may take long.
		scheduled := []any{map[string]any{"Name": "Environment", "Value": s.env.Name}, map[string]any{"Name": "RunKind", "Value": "scheduled"}}
		d := alarmNamed(t, s, f+"-duration")
		eq(t, "duration", []any{d["Namespace"], d["MetricName"], d["Dimensions"], d["Statistic"], d["ComparisonOperator"], d["Threshold"], d["EvaluationPeriods"], d["TreatMissingData"]},
			[]any{"TallyUptime", "DurationSeconds", scheduled, "Maximum", "GreaterThanThreshold", 300, 1, "notBreaching"})

		m := alarmNamed(t, s, f+"-missed-run")
		eq(t, "missed run", []any{m["Namespace"], m["MetricName"], m["Dimensions"], m["Statistic"], m["Period"], m["ComparisonOperator"], m["Threshold"], m["EvaluationPeriods"], m["DatapointsToAlarm"], m["TreatMissingData"], m["ActionsEnabled"]},
			[]any{"TallyUptime", "RunSucceeded", dims, "Sum", 86400, "LessThanThreshold", 1, 2, 2, "breaching", true})

		q := alarmNamed(t, s, f+"-schedule-dead-letters")
		eq(t, "dead letters", []any{q["Namespace"], q["MetricName"], q["Dimensions"], q["Statistic"], q["ComparisonOperator"], q["Threshold"], q["EvaluationPeriods"], q["TreatMissingData"]},
			[]any{"AWS/SQS", "ApproximateNumberOfMessagesVisible", []any{map[string]any{"Name": "QueueName", "Value": getAtt(dlqID, "QueueName")}},
				"Maximum", "GreaterThanThreshold", 0, 1, "notBreaching"})
	})
}

func TestOutputs(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		clusterID, _ := s.one(t, "AWS::ECS::Cluster")
		tdID, _ := s.one(t, "AWS::ECS::TaskDefinition")
		topicID, _ := s.one(t, "AWS::SNS::Topic")
		sgID := taskSecurityGroup(t, s)
		want := map[string]any{
			"ClusterName":       ref(clusterID),
			"TaskDefinitionArn": ref(tdID),
			"TaskFamily":        s.env.Family(),
			"ContainerName":     "uptime-job",
			"SecurityGroupId":   getAtt(sgID, "GroupId"),
			"AssignPublicIp":    "ENABLED",
			"LogGroupName":      ref(logGroupOf(t, s)),
			"LogStreamPrefix":   "uptime",
			"AlarmTopicArn":     ref(topicID),
			"CapacityProvider":  "FARGATE",
		}
		for name, v := range want {
			assert(t, "output "+name, func() {
				s.template.HasOutput(jsii.String(name), map[string]any{"Value": v})
			})
		}
		names := make([]string, 0, len(s.outputs))
		for k := range s.outputs {
			names = append(names, k)
		}
		sort.Strings(names)
		eq(t, "output names", names, []string{"AlarmTopicArn", "AssignPublicIp", "CapacityProvider", "ClusterName", "ContainerName",
			"DashboardUrl", "Image", "ImageRevision", "JobEnvironment", "LogGroupName", "LogStreamPrefix", "RunTaskCommand", "SecurityGroupId", "SubnetIds", "TaskDefinitionArn", "TaskFamily"})
		// The output is exactly the container's environment, as NAME=VALUE words.
		_, td := s.one(t, "AWS::ECS::TaskDefinition")
		var words []string
		for _, kv := range arr(obj(arr(td["ContainerDefinitions"])[0])["Environment"]) {
			words = append(words, obj(kv)["Name"].(string)+"="+obj(kv)["Value"].(string))
		}
		sort.Strings(words)
		eq(t, "JobEnvironment", obj(s.outputs["JobEnvironment"])["Value"], strings.Join(words, " "))
		subnets := jsonOf(obj(s.outputs["SubnetIds"])["Value"])
		if !strings.Contains(subnets, `"Fn::Join":[",",[{"Ref":`) {
			t.Errorf("SubnetIds is not the comma-joined subnets: %s", subnets)
		}

		cmd := renderJoin(obj(s.outputs["RunTaskCommand"])["Value"])
		for _, want := range []string{
			"aws ecs run-task --region ${AWS::Region} --cluster ${" + clusterID + "}",
			"--task-definition " + s.env.Family() + " --launch-type FARGATE",
			"--network-configuration 'awsvpcConfiguration={subnets=[${",
			"securityGroups=[${" + sgID + ".GroupId}],assignPublicIp=ENABLED}'",
			`--overrides '{"containerOverrides":[{"name":"uptime-job","command":["--dry-run","--from","2026-01-01","--to","2026-01-31"]}]}'`,
		} {
			if !strings.Contains(cmd, want) {
				t.Errorf("RunTaskCommand lacks %q:\n%s", want, cmd)
			}
		}
		var overrides map[string]any
		if m := regexp.MustCompile(`--overrides '([^']*)'`).FindStringSubmatch(cmd); m == nil || json.Unmarshal([]byte(m[1]), &overrides) != nil {
			t.Errorf("the --overrides of RunTaskCommand is not JSON: %s", cmd)
		}
	})
}

// renderJoin flattens an Fn::Join into text, writing references as ${id}.
func renderJoin(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok {
			parts := []string{}
			for _, p := range arr(j[1]) {
				parts = append(parts, renderJoin(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if r, ok := x["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok {
			return fmt.Sprintf("${%s.%s}", g[0], g[1])
		}
	}
	return jsonOf(v)
}

func TestCdkNag(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		t.Run(name, func(t *testing.T) {
			a := assertions.Annotations_FromStack(s.stack.Stack)
			for _, e := range *a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
				t.Errorf("cdk-nag error at %s: %v", *e.Id, e.Entry.Data)
			}
			// Warnings were reviewed; any new one needs the same review.
			for _, w := range *a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
				t.Errorf("cdk-nag warning at %s: %v", *w.Id, w.Entry.Data)
			}
		})
	}
	// The suppressions must be the reviewed ones, each with a real reason.
	for _, s := range all {
		for id, r := range s.res {
			md := obj(r["Metadata"])
			for _, sup := range arr(obj(md["cdk_nag"])["rules_to_suppress"]) {
				reason, _ := obj(sup)["reason"].(string)
				if len(reason) < 60 {
					t.Errorf("%s: suppression %v has no real reason", id, obj(sup)["id"])
				}
			}
		}
	}
	got := map[string]bool{}
	for _, s := range all {
		for _, r := range s.res {
			for _, sup := range arr(obj(obj(r["Metadata"])["cdk_nag"])["rules_to_suppress"]) {
				got[fmt.Sprint(obj(r)["Type"], " ", obj(sup)["id"])] = true
			}
		}
	}
	want := map[string]bool{
		"AWS::ECS::Cluster AwsSolutions-ECS4":        true,
		"AWS::ECS::TaskDefinition AwsSolutions-ECS2": true,
		"AWS::IAM::Role AwsSolutions-IAM5":           true,
		"AWS::IAM::Policy AwsSolutions-IAM5":         true,
		"AWS::SQS::Queue AwsSolutions-SQS3":          true,
		"AWS::SNS::Topic AwsSolutions-SNS2":          true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("suppressions %v, want the reviewed set %v", got, want)
	}
}
