package main

// Least privilege in the environment stacks: the execution role's exact
// policy, and the resource policies that grant to AWS services.

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// allStacks is every environment stack of every synthesized app, by a readable name.
func allStacks(t *testing.T) map[string]*synthesized {
	out := map[string]*synthesized{}
	for name, s := range synth(t) {
		out["shared/"+name] = s
	}
	for _, sc := range []string{"none", "example"} {
		for name, s := range synthScenario(t, sc).envs {
			out[sc+"/"+name] = s
		}
		for account, s := range synthScenario(t, sc).github {
			out[sc+"/github-"+account] = s
		}
	}
	return out
}

func TestExecutionRolePolicyExactly(t *testing.T) {
	for name, s := range map[string]*synthesized{"example staging": synthScenario(t, "example").envs["staging"], "legacy": synth(t)["legacy"]} {
		_, td := s.one(t, "AWS::ECS::TaskDefinition")
		role := obj(td["ExecutionRoleArn"])["Fn::GetAtt"].([]any)[0].(string)
		var statements []any
		for _, p := range s.ofType("AWS::IAM::Policy") {
			if jsonOf(props(p)["Roles"]) == jsonOf([]any{ref(role)}) {
				statements = append(statements, rendered(arr(obj(props(p)["PolicyDocument"])["Statement"])).([]any)...)
			}
		}
		secret := rendered(obj(arr(obj(arr(td["ContainerDefinitions"])[0])["Secrets"])[0])["ValueFrom"])
		var ssm, kms []any
		for _, st := range statements {
			text := jsonOf(st)
			if strings.Contains(text, `"ssm:`) {
				ssm = append(ssm, st)
			}
			if strings.Contains(text, `"kms:`) {
				kms = append(kms, st)
			}
		}
		eq(t, name+" SSM", ssm, []any{map[string]any{"Sid": "ReadDatabaseURL", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": secret}})
		if s.env.DatabaseURLKeyARN == "" {
			eq(t, name+" KMS", kms, []any(nil))
			continue
		}
		eq(t, name+" KMS", kms, []any{map[string]any{"Sid": "DecryptDatabaseURL", "Effect": "Allow", "Action": "kms:Decrypt",
			"Resource": s.env.DatabaseURLKeyARN, "Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": "ssm.eu-west-1.amazonaws.com"}}}})
	}
}

// TestServiceGrantsHeldToTheirSource: every resource policy that allows an
// AWS service carries aws:SourceArn or aws:SourceAccount.
func TestServiceGrantsHeldToTheirSource(t *testing.T) {
	for stack, s := range allStacks(t) {
		for id, r := range s.res {
			p := props(r)
			typ := r["Type"].(string)
			if p["PolicyDocument"] == nil || typ == "AWS::IAM::Policy" || typ == "AWS::IAM::ManagedPolicy" {
				continue
			}
			for _, st := range arr(obj(p["PolicyDocument"])["Statement"]) {
				st := obj(st)
				if st["Effect"] != "Allow" || obj(st["Principal"])["Service"] == nil {
					continue
				}
				cond := jsonOf(st["Condition"])
				if !strings.Contains(cond, `"aws:SourceArn"`) && !strings.Contains(cond, `"aws:SourceAccount"`) {
					t.Errorf("%s %s (%s) grants %v with no source condition: %s", stack, id, typ, obj(st["Principal"])["Service"], jsonOf(st))
				}
			}
		}
	}
}

func TestTopicPolicyExactly(t *testing.T) {
	s := synthScenario(t, "example").envs["staging"]
	topicID, _ := s.one(t, "AWS::SNS::Topic")
	_, policy := s.one(t, "AWS::SNS::TopicPolicy")
	var rules []any
	for id := range s.ofType("AWS::Events::Rule") {
		rules = append(rules, "${"+id+".Arn}")
	}
	if len(rules) != 2 {
		t.Fatalf("%d rules", len(rules))
	}
	got := rendered(arr(obj(policy["PolicyDocument"])["Statement"])).([]any)
	topic := "${" + topicID + "}"
	publish := func(sid, service string, cond map[string]any) map[string]any {
		cond["StringEquals"] = map[string]any{"aws:SourceAccount": "111111111111"}
		return map[string]any{"Sid": sid, "Effect": "Allow", "Action": "sns:Publish", "Principal": map[string]any{"Service": service},
			"Resource": topic, "Condition": cond}
	}
	var ruleArns []any
	for _, st := range got {
		if obj(st)["Sid"] == "EventBridgeRulesOfThisStack" {
			ruleArns = arr(obj(obj(obj(st)["Condition"])["ArnEquals"])["aws:SourceArn"])
		}
	}
	if len(ruleArns) != 2 || !containsAll(ruleArns, rules) {
		t.Errorf("EventBridge may publish for %v, want exactly the rules %v", ruleArns, rules)
	}
	eq(t, "topic policy", got, []any{
		map[string]any{"Sid": "AllowPublishThroughSSLOnly", "Effect": "Deny", "Action": "sns:Publish", "Principal": "*", "Resource": topic,
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
		publish("EventBridgeRulesOfThisStack", "events.amazonaws.com", map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": ruleArns}}),
		publish("CloudWatchAlarmsOfThisEnvironment", "cloudwatch.amazonaws.com",
			map[string]any{"ArnLike": map[string]any{"aws:SourceArn": "arn:${AWS::Partition}:cloudwatch:eu-west-1:111111111111:alarm:tally-uptime-staging-*"}}),
	})
	// Every alarm of the stack is one the condition admits.
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		if !strings.HasPrefix(props(a)["AlarmName"].(string), "tally-uptime-staging-") {
			t.Errorf("alarm %v cannot publish to the topic", props(a)["AlarmName"])
		}
	}
}

func containsAll(have, want []any) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || jsonOf(h) == jsonOf(w)
		}
		if !found {
			return false
		}
	}
	return true
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
