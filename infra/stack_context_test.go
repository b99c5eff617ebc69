package main

// The environment stacks as the CDK context shapes them: pinned or agnostic,
// subscribed or not, with exactly one path to the database, warned about
// what is missing; termination protection and the optional dashboard.

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

var missingValueWarnings = []string{"noAccount", "noAlarmEmails", "noDatabasePath", "noGitHubRepository"}

func TestNoContextSynthesizesAgnosticStacksWithWarnings(t *testing.T) {
	s := synthScenario(t, "none")
	if len(s.envs) != len(Environments()) {
		t.Fatalf("%d environment stacks, want %d", len(s.envs), len(Environments()))
	}
	for name, e := range s.envs {
		if !strings.HasPrefix(*e.stack.Account(), "${Token[") || !strings.HasPrefix(*e.stack.Region(), "${Token[") {
			t.Errorf("%s is pinned to %s/%s without a context", name, *e.stack.Account(), *e.stack.Region())
		}
		if n := len(e.ofType("AWS::SNS::Subscription")); n != 0 {
			t.Errorf("%s: %d e-mail subscriptions without a context", name, n)
		}
		warnings := strings.Join(s.warningsOf(e.stack.Stack), "\n")
		for _, id := range missingValueWarnings {
			if !strings.Contains(warnings, "tally-uptime:"+id) {
				t.Errorf("%s: no %s warning in %s", name, id, warnings)
			}
		}
		if !strings.Contains(warnings, "environments."+name+".alarmEmails") {
			t.Errorf("%s: the warnings do not name the context key to set: %s", name, warnings)
		}
		eq(t, name+" egress", taskEgress(t, e), []string{"tcp 443-443 0.0.0.0/0"})
	}
}

func TestExampleContextPinsAndSubscribes(t *testing.T) {
	s := synthScenario(t, "example")
	want := map[string][]string{"staging": {"oncall-staging@acme-corp.io"}, "prod": {"oncall@acme-corp.io"}}
	for name, e := range s.envs {
		eq(t, name+" pinned", []string{*e.stack.Account(), *e.stack.Region()}, []string{exampleAccounts[name], "eu-west-1"})
		var got []string
		for _, sub := range e.ofType("AWS::SNS::Subscription") {
			eq(t, "protocol", props(sub)["Protocol"], "email")
			got = append(got, props(sub)["Endpoint"].(string))
		}
		eq(t, name+" subscriptions", got, want[name])
		// Every value given; staging's database is one public address (new-VPC mode), which moves.
		w := s.warningsOf(e.stack.Stack)
		if name == "staging" && (len(w) != 1 || !strings.Contains(w[0], "tally-uptime:databaseAddressMoves") ||
			!strings.Contains(w[0], "52.95.110.7/32") || !strings.Contains(w[0], "existing-VPC mode")) {
			t.Errorf("staging: want only the warning that 52.95.110.7/32 moves, got %v", w)
		}
		if name != "staging" && len(w) != 0 {
			t.Errorf("%s warns with every value given: %v", name, w)
		}
		eq(t, name+" termination protection", *e.stack.TerminationProtection(), name == "prod")
		if n := len(e.ofType("AWS::CloudWatch::Dashboard")); n != 1 {
			t.Errorf("%s: %d dashboards, want 1 by default", name, n)
		}
	}

	// New-VPC staging: PostgreSQL to the database's own address only.
	eq(t, "staging egress", taskEgress(t, s.envs["staging"]), []string{"tcp 443-443 0.0.0.0/0", "tcp 5432-5432 52.95.110.7/32"})

	// Existing-VPC prod: PostgreSQL to the database's group, which lets the task in.
	prod := s.envs["prod"]
	eq(t, "prod egress", taskEgress(t, prod), []string{"tcp 443-443 0.0.0.0/0", "tcp 5432-5432 sg-0123456789abcdef0"})
	_, ingress := prod.one(t, "AWS::EC2::SecurityGroupIngress")
	eq(t, "ingress on the database's group", []any{ingress["GroupId"], ingress["FromPort"], ingress["ToPort"]},
		[]any{"sg-0123456789abcdef0", 5432, 5432})
	_, sched := prod.one(t, "AWS::Scheduler::Schedule")
	vpcCfg := obj(obj(obj(obj(sched["Target"])["EcsParameters"])["NetworkConfiguration"])["AwsvpcConfiguration"])
	eq(t, "prod subnets", vpcCfg["Subnets"], []any{"subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"})
	eq(t, "prod public ip", vpcCfg["AssignPublicIp"], "DISABLED")
	if n := len(prod.ofType("AWS::EC2::VPC")); n != 0 {
		t.Errorf("prod creates %d VPCs next to the given one", n)
	}
}

// taskEgress is every egress rule of the task's group as "proto from-to peer", sorted.
func taskEgress(t *testing.T, s *synthesized) []string {
	t.Helper()
	sgID := taskSecurityGroup(t, s)
	var rules []map[string]any
	for _, r := range arr(props(s.res[sgID])["SecurityGroupEgress"]) {
		rules = append(rules, obj(r))
	}
	for _, r := range s.ofType("AWS::EC2::SecurityGroupEgress") {
		if jsonOf(props(r)["GroupId"]) == jsonOf(getAtt(sgID, "GroupId")) {
			rules = append(rules, props(r))
		}
	}
	var out []string
	for _, r := range rules {
		peer, _ := r["CidrIp"].(string)
		if id, ok := r["DestinationSecurityGroupId"].(string); ok {
			peer = id
		}
		out = append(out, strings.Join([]string{r["IpProtocol"].(string), jsonOf(r["FromPort"]) + "-" + jsonOf(r["ToPort"]), peer}, " "))
	}
	slices.Sort(out)
	return out
}

// No template opens PostgreSQL or every port to the internet.
func TestNoEgressToTheInternetButHTTPS(t *testing.T) {
	for _, name := range []string{"none", "example"} {
		for env, e := range synthScenario(t, name).envs {
			for _, rule := range taskEgress(t, e) {
				if strings.HasSuffix(rule, " 0.0.0.0/0") && rule != "tcp 443-443 0.0.0.0/0" {
					t.Errorf("%s/%s: egress %s", name, env, rule)
				}
			}
		}
	}
	for env, e := range synth(t) {
		for _, rule := range taskEgress(t, e) {
			if strings.HasSuffix(rule, " 0.0.0.0/0") && rule != "tcp 443-443 0.0.0.0/0" {
				t.Errorf("%s: egress %s", env, rule)
			}
		}
	}
}

func TestDashboardOptional(t *testing.T) {
	synthScenario(t, "none") // jsii is up; a small app of its own
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	built, err := NewStacks(app, []Environment{{Name: "nodash", NoDashboard: true}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := templateOf(built[0].Stack)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.ofType("AWS::CloudWatch::Dashboard")); n != 0 {
		t.Errorf("%d dashboards with the dashboard off", n)
	}
	if _, ok := s.outputs["DashboardUrl"]; ok {
		t.Error("a DashboardUrl output without a dashboard")
	}
	if n := len(s.ofType("AWS::CloudWatch::Alarm")); n != 3 {
		t.Errorf("%d alarms; the dashboard switch must not touch them", n)
	}
}

// A managed database's public address moves on a failover; a private address or a range is the
// deployer's own choice and draws no warning.
func TestSinglePublicAddress(t *testing.T) {
	for cidr, want := range map[string]bool{
		"52.95.110.7/32": true, "3.120.0.9/32": true,
		"10.0.3.7/32": false, "192.168.1.10/32": false, "172.16.0.5/32": false,
		"52.95.110.0/28": false, "": false, "not a cidr": false,
	} {
		if got := singlePublicAddress(cidr); got != want {
			t.Errorf("singlePublicAddress(%q) = %v, want %v", cidr, got, want)
		}
	}
}
