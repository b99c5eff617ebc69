package main

// Tests of the per-environment dashboard (dashboard.go).

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// dashboardBody parses the dashboard's JSON body, references written as ${id}.
func dashboardBody(t *testing.T, s *synthesized) (string, map[string]any) {
	t.Helper()
	id, p := s.one(t, "AWS::CloudWatch::Dashboard")
	var body map[string]any
	text := renderJoin(p["DashboardBody"])
	if err := json.Unmarshal([]byte(text), &body); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, text)
	}
	eq(t, "dashboard name", p["DashboardName"], "tally-uptime-"+s.env.Name)
	return id, body
}

// widgets of one type ("metric", "alarm", "log", "text").
func widgets(body map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, w := range arr(body["widgets"]) {
		if obj(w)["type"] == typ {
			out = append(out, obj(obj(w)["properties"]))
		}
	}
	return out
}

// metricLine is one line of a graph: namespace, name, dimensions and options.
type metricLine struct {
	namespace, name string
	dims            map[string]string
	stat            string
	period          float64
}

func metricLines(w map[string]any) []metricLine {
	var out []metricLine
	for _, m := range arr(w["metrics"]) {
		parts := arr(m)
		l := metricLine{dims: map[string]string{}}
		l.namespace, _ = parts[0].(string)
		l.name, _ = parts[1].(string)
		i := 2
		for ; i+1 < len(parts); i += 2 {
			k, ok1 := parts[i].(string)
			v, ok2 := parts[i+1].(string)
			if !ok1 || !ok2 {
				break
			}
			l.dims[k] = v
		}
		if i < len(parts) {
			opts := obj(parts[i])
			l.stat, _ = opts["stat"].(string)
			l.period, _ = opts["period"].(float64)
		}
		out = append(out, l)
	}
	return out
}

func TestDashboardMetrics(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		_, body := dashboardBody(t, s)
		got := map[string]metricLine{}
		for _, w := range widgets(body, "metric") {
			for _, l := range metricLines(w) {
				eq(t, l.name+" namespace", l.namespace, "TallyUptime")
				if l.dims["RunKind"] == "scheduled" && l.name == "DurationSeconds" {
					// The alarm's own series, beside every run's.
					eq(t, l.name+" dimensions", l.dims, map[string]string{"Environment": s.env.Name, "RunKind": "scheduled"})
					got["scheduled "+l.name] = l
					continue
				}
				eq(t, l.name+" dimensions", l.dims, map[string]string{"Environment": s.env.Name})
				got[l.name] = l
			}
		}
		want := map[string][2]any{
			"RunSucceeded":              {"Sum", float64(86400)},
			"RunFailed":                 {"Sum", float64(86400)},
			"DurationSeconds":           {"Maximum", float64(3600)},
			"scheduled DurationSeconds": {"Maximum", float64(3600)},
			"ContributionsCreated":      {"Sum", float64(3600)},
			"UsersProcessed":            {"Maximum", float64(3600)},
			"UsersHeldBack":             {"Maximum", float64(3600)},
		}
		for name, w := range want {
			l, ok := got[name]
			if !ok {
				t.Errorf("no %s graph", name)
				continue
			}
			eq(t, name+" stat/period", [2]any{l.stat, l.period}, w)
		}
		eq(t, "metrics graphed", len(got), len(want))
	})
}

func TestDashboardDurationLine(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		_, body := dashboardBody(t, s)
		found := false
		for _, w := range widgets(body, "metric") {
			lines := metricLines(w)
			if len(lines) == 0 || lines[0].name != "DurationSeconds" {
				continue
			}
			for _, a := range arr(obj(w["annotations"])["horizontal"]) {
				if obj(a)["value"] == float64(300) {
					found = true
				}
			}
		}
		if !found {
			t.Error("the duration graph has no horizontal annotation at 300 s")
		}
	})
}

func TestDashboardAlarmWidget(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		_, body := dashboardBody(t, s)
		ws := widgets(body, "alarm")
		if len(ws) != 1 {
			t.Fatalf("%d alarm widgets, want 1", len(ws))
		}
		var listed []string
		for _, a := range arr(ws[0]["alarms"]) {
			listed = append(listed, a.(string))
		}
		var every []string
		for id := range s.ofType("AWS::CloudWatch::Alarm") {
			every = append(every, "${"+id+".Arn}")
		}
		slices.Sort(listed)
		slices.Sort(every)
		if len(every) == 0 {
			t.Fatal("the stack has no alarm")
		}
		eq(t, "alarms on the dashboard", listed, every)
	})
}

func TestDashboardLastRunsQuery(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		_, body := dashboardBody(t, s)
		ws := widgets(body, "log")
		if len(ws) != 2 {
			t.Fatalf("%d Logs Insights widgets, want 2 (last failures, last runs)", len(ws))
		}
		for i, c := range []struct {
			logGroup string
			wants    []string
		}{
			// Every failed task, from its task-state event: 137, 143 and failed-to-start write no run summary.
			{failedTaskLogID(t, s), []string{"detail.containers.0.exitCode", "detail.stopCode", "detail.stoppedReason",
				"detail.taskArn", "sort @timestamp desc"}},
			{logGroupOf(t, s), []string{`filter msg = "run summary"`, "@timestamp", "exit_code", "contributions_created",
				"duration_seconds", "error", "version", "sort @timestamp desc"}},
		} {
			eq(t, "view", ws[i]["view"], "table")
			q, _ := ws[i]["query"].(string)
			if !strings.HasPrefix(q, "SOURCE '${"+c.logGroup+"}' |") {
				t.Errorf("the query does not read the log group %s: %q", c.logGroup, q)
			}
			for _, want := range c.wants {
				if !strings.Contains(q, want) {
					t.Errorf("the query lacks %q: %q", want, q)
				}
			}
		}
		if q, _ := ws[0]["query"].(string); strings.Contains(q, "filter") {
			t.Errorf("the last-failures table filters the failed tasks: %q", q)
		}
	})
}

func TestDashboardURLOutput(t *testing.T) {
	shipped(t, func(t *testing.T, s *synthesized) {
		url := renderJoin(obj(s.outputs["DashboardUrl"])["Value"])
		eq(t, "DashboardUrl", url, "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}"+
			"#dashboards/dashboard/tally-uptime-"+s.env.Name)
		assert(t, "one dashboard", func() { s.template.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1)) })
	})
}
