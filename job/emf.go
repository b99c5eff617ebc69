package main

import (
	"encoding/json"
	"io"
	"time"
)

// The job's CloudWatch metrics travel as one Embedded Metric Format record per run on stdout:
// CloudWatch Logs turns the record into metrics, so the job needs no AWS API and no permission.
const (
	metricNamespace  = "TallyUptime"
	metricDimension  = "Environment"
	runKindDimension = "RunKind"
)

// runMetrics is what one run reports to CloudWatch.
type runMetrics struct {
	Environment string
	RunKind     runKind
	Succeeded   bool // a real (not dry) run finished with exit 0
	Failed      bool // the run exited non-zero
	DryRun      bool
	ExitCode    int
	Duration    time.Duration
	Created     int64 // contributions committed; 0 for a dry or failed run
	Users       int64 // users with uptime that the run considered
	Version     string
	Revision    string
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetadata struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfRecord struct {
	AWS                  emfMetadata `json:"_aws"`
	Environment          string      `json:"Environment"`
	RunKind              runKind     `json:"RunKind"`
	RunSucceeded         int         `json:"RunSucceeded"`
	RunFailed            int         `json:"RunFailed"`
	DurationSeconds      float64     `json:"DurationSeconds"`
	ContributionsCreated int64       `json:"ContributionsCreated"`
	UsersProcessed       int64       `json:"UsersProcessed"`
	// Properties for Logs Insights, not metrics: a dimension per version or
	// error class would be a new metric, billed monthly, for each value.
	DryRun     bool   `json:"DryRun"`
	ExitCode   int    `json:"ExitCode"`
	ErrorClass string `json:"ErrorClass"`
	Version    string `json:"Version"`
	Revision   string `json:"Revision"`
}

// errorClass names the kind of failure an exit code stands for; the codes are
// chosen in one place (exitCode in main.go), so the class follows from them.
func errorClass(code int) string {
	switch code {
	case exitOK:
		return ""
	case exitUsage:
		return "configuration"
	case exitData:
		return "data"
	case exitLocked:
		return "locked"
	default:
		return "runtime"
	}
}

// writeEMF writes m as one EMF record line. Every metric is published by
// Environment (the alarms on success and failure see every run); the duration
// also by Environment and RunKind, so that its alarm can watch scheduled runs
// only, at the price of one more metric per run kind rather than five.
func writeEMF(w io.Writer, m runMetrics, at time.Time) error {
	kind := m.RunKind
	if kind == "" {
		kind = runManual // a CloudWatch dimension value cannot be empty
	}
	rec := emfRecord{
		AWS: emfMetadata{
			Timestamp: at.UnixMilli(),
			CloudWatchMetrics: []emfDirective{{
				Namespace:  metricNamespace,
				Dimensions: [][]string{{metricDimension}},
				Metrics: []emfMetric{
					{Name: "RunSucceeded", Unit: "Count"},
					{Name: "RunFailed", Unit: "Count"},
					{Name: "DurationSeconds", Unit: "Seconds"},
					{Name: "ContributionsCreated", Unit: "Count"},
					{Name: "UsersProcessed", Unit: "Count"},
				},
			}, {
				Namespace:  metricNamespace,
				Dimensions: [][]string{{metricDimension, runKindDimension}},
				Metrics:    []emfMetric{{Name: "DurationSeconds", Unit: "Seconds"}},
			}},
		},
		Environment:          m.Environment,
		RunKind:              kind,
		RunSucceeded:         boolInt(m.Succeeded),
		RunFailed:            boolInt(m.Failed),
		DurationSeconds:      m.Duration.Seconds(),
		ContributionsCreated: m.Created,
		UsersProcessed:       m.Users,
		DryRun:               m.DryRun,
		ExitCode:             m.ExitCode,
		ErrorClass:           errorClass(m.ExitCode),
		Version:              m.Version,
		Revision:             m.Revision,
	}
	return json.NewEncoder(w).Encode(rec)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
