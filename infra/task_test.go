package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

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

func logGroupOf(t *testing.T, s *synthesized) string {
	for id, r := range s.ofType("AWS::Logs::LogGroup") {
		if props(r)["LogGroupName"] == "/tally/uptime/"+s.env.Name {
			return id
		}
	}
	t.Fatal("no job log group")
	return ""
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
