package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

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
