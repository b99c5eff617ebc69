package main

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// cloudWatchUnits are the units CloudWatch accepts for a metric.
var cloudWatchUnits = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
	"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
	"Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}

// checkEMF checks one record against the CloudWatch Embedded Metric Format specification and the
// job's own contract (namespace, dimension, metric names), and returns its metric values.
func checkEMF(t *testing.T, rec map[string]any, environment string) map[string]float64 {
	t.Helper()
	aws, ok := rec["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("EMF record has no _aws object: %v", rec)
	}
	ts, ok := aws["Timestamp"].(float64)
	if !ok || ts != math.Trunc(ts) {
		t.Fatalf("_aws.Timestamp is not a whole number: %v", aws["Timestamp"])
	}
	// Milliseconds since the epoch: within a day of now (seconds would be ~1000 times smaller).
	if now := float64(time.Now().UnixMilli()); math.Abs(ts-now) > float64(24*time.Hour/time.Millisecond) {
		t.Errorf("_aws.Timestamp %v is not now in milliseconds (%v)", ts, now)
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(directives) != 2 {
		t.Fatalf("_aws.CloudWatchMetrics is not two directives: %v", aws["CloudWatchMetrics"])
	}
	d := directives[0].(map[string]any)
	for i, want := range []string{`[["Environment"]]`, `[["Environment","RunKind"]]`} {
		d := directives[i].(map[string]any)
		if d["Namespace"] != "TallyUptime" {
			t.Errorf("directive %d: Namespace = %v, want TallyUptime", i, d["Namespace"])
		}
		if dims, _ := json.Marshal(d["Dimensions"]); string(dims) != want {
			t.Errorf("directive %d: Dimensions = %s, want %s", i, dims, want)
		}
	}
	// The run kind splits only the duration: one metric more per kind, not five.
	if by, _ := json.Marshal(directives[1].(map[string]any)["Metrics"]); string(by) != `[{"Name":"DurationSeconds","Unit":"Seconds"}]` {
		t.Errorf("metrics by run kind = %s, want DurationSeconds only", by)
	}
	if k := rec["RunKind"]; k != "scheduled" && k != "manual" {
		t.Errorf("RunKind = %v, want scheduled or manual", k)
	}
	if rec["Environment"] != environment {
		t.Errorf("Environment = %v, want %q", rec["Environment"], environment)
	}
	metrics, ok := d["Metrics"].([]any)
	if !ok || len(metrics) == 0 || len(metrics) > 100 {
		t.Fatalf("Metrics = %v", d["Metrics"])
	}
	values := map[string]float64{}
	for _, m := range metrics {
		m := m.(map[string]any)
		name, _ := m["Name"].(string)
		if name == "" || len(name) > 255 {
			t.Errorf("metric name %q", name)
		}
		if unit, ok := m["Unit"]; ok && !slices.Contains(cloudWatchUnits, unit.(string)) {
			t.Errorf("metric %s has unit %v, which CloudWatch does not know", name, unit)
		}
		v, ok := rec[name].(float64)
		if !ok {
			t.Errorf("metric %s is not a top-level number: %v", name, rec[name])
		}
		values[name] = v
	}
	for _, want := range []string{"RunSucceeded", "RunFailed", "DurationSeconds", "ContributionsCreated", "UsersProcessed", "UsersHeldBack"} {
		if _, ok := values[want]; !ok {
			t.Errorf("metric %s is missing from the directive", want)
		}
	}
	return values
}

func TestWriteEMF(t *testing.T) {
	at := time.Date(2026, 6, 15, 3, 4, 5, 678_000_000, time.UTC)
	tests := []struct {
		name string
		m    runMetrics
		want map[string]float64
	}{
		{
			name: "success",
			m: runMetrics{Environment: "production", RunKind: contract.RunScheduled, Succeeded: true, Duration: 1500 * time.Millisecond,
				Created: 3650, Users: 10, Version: "1.4.0", Revision: "0123abcd"},
			want: map[string]float64{"RunSucceeded": 1, "RunFailed": 0, "DurationSeconds": 1.5,
				"ContributionsCreated": 3650, "UsersProcessed": 10},
		},
		{
			name: "failure",
			m:    runMetrics{Environment: "staging", RunKind: contract.RunManual, Failed: true, ExitCode: 3, Duration: 250 * time.Millisecond},
			want: map[string]float64{"RunSucceeded": 0, "RunFailed": 1, "DurationSeconds": 0.25,
				"ContributionsCreated": 0, "UsersProcessed": 0},
		},
		{
			// Exit 5: completed for everyone else, so the missed-run alarm counts it, and failed
			// for the failure views.
			name: "held back",
			m: runMetrics{Environment: "production", RunKind: contract.RunScheduled, Succeeded: true, Failed: true, ExitCode: 5,
				Duration: time.Second, Created: 9, Users: 3, HeldBack: 1},
			want: map[string]float64{"RunSucceeded": 1, "RunFailed": 1, "DurationSeconds": 1,
				"ContributionsCreated": 9, "UsersProcessed": 3, "UsersHeldBack": 1},
		},
		{
			name: "dry run",
			m:    runMetrics{Environment: "local", DryRun: true, Duration: time.Second, Users: 4},
			want: map[string]float64{"RunSucceeded": 0, "RunFailed": 0, "DurationSeconds": 1,
				"ContributionsCreated": 0, "UsersProcessed": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeEMF(&buf, tt.m, at); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("not one line: %q", out)
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %v: %s", err, out)
			}
			ts := rec["_aws"].(map[string]any)["Timestamp"]
			if ts != float64(at.UnixMilli()) {
				t.Errorf("Timestamp = %v, want %d (milliseconds)", ts, at.UnixMilli())
			}
			// checkEMF wants a recent timestamp; this one is fixed, so check the rest on a fresh record.
			buf.Reset()
			if err := writeEMF(&buf, tt.m, time.Now()); err != nil {
				t.Fatal(err)
			}
			rec = nil
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatal(err)
			}
			got := checkEMF(t, rec, tt.m.Environment)
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s = %v, want %v", name, got[name], want)
				}
			}
			if rec["DryRun"] != tt.m.DryRun || rec["ExitCode"] != float64(tt.m.ExitCode) {
				t.Errorf("DryRun, ExitCode = %v, %v; want %v, %d", rec["DryRun"], rec["ExitCode"], tt.m.DryRun, tt.m.ExitCode)
			}
			wantKind := tt.m.RunKind
			if wantKind == "" {
				wantKind = "manual"
			}
			if rec["RunKind"] != wantKind || rec["Version"] != tt.m.Version || rec["Revision"] != tt.m.Revision ||
				rec["ErrorClass"] != contract.ErrorClass(tt.m.ExitCode) {
				t.Errorf("RunKind, Version, Revision, ErrorClass = %v, %v, %v, %v; want %s, %s, %s, %q",
					rec["RunKind"], rec["Version"], rec["Revision"], rec["ErrorClass"],
					wantKind, tt.m.Version, tt.m.Revision, contract.ErrorClass(tt.m.ExitCode))
			}
		})
	}
}

// Each documented exit code has its class, and success has none.
func TestErrorClassFollowsTheExitCode(t *testing.T) {
	want := map[int]string{contract.ExitOK: "", contract.ExitRuntime: "runtime", contract.ExitUsage: "configuration", contract.ExitData: "data",
		contract.ExitLocked: "locked", contract.ExitHeldBack: "held_back", 137: "runtime"}
	for code, class := range want {
		if got := contract.ErrorClass(code); got != class {
			t.Errorf("contract.ErrorClass(%d) = %q, want %q", code, got, class)
		}
	}
}
