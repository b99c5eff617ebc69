package main

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
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
	if !ok || len(directives) != 1 {
		t.Fatalf("_aws.CloudWatchMetrics is not one directive: %v", aws["CloudWatchMetrics"])
	}
	d := directives[0].(map[string]any)
	if d["Namespace"] != "TallyUptime" {
		t.Errorf("Namespace = %v, want TallyUptime", d["Namespace"])
	}
	dims, _ := json.Marshal(d["Dimensions"])
	if string(dims) != `[["Environment"]]` {
		t.Errorf("Dimensions = %s, want [[\"Environment\"]]", dims)
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
	for _, want := range []string{"RunSucceeded", "RunFailed", "DurationSeconds", "ContributionsCreated", "UsersProcessed"} {
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
			m: runMetrics{Environment: "production", Succeeded: true, Duration: 1500 * time.Millisecond,
				Created: 3650, Users: 10},
			want: map[string]float64{"RunSucceeded": 1, "RunFailed": 0, "DurationSeconds": 1.5,
				"ContributionsCreated": 3650, "UsersProcessed": 10},
		},
		{
			name: "failure",
			m:    runMetrics{Environment: "staging", Failed: true, ExitCode: 3, Duration: 250 * time.Millisecond},
			want: map[string]float64{"RunSucceeded": 0, "RunFailed": 1, "DurationSeconds": 0.25,
				"ContributionsCreated": 0, "UsersProcessed": 0},
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
		})
	}
}
