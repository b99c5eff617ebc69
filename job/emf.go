package main

import (
	"encoding/json"
	"io"
	"time"
)

// The job's CloudWatch metrics travel as one Embedded Metric Format record per run on stdout:
// CloudWatch Logs turns the record into metrics, so the job needs no AWS API and no permission.
const (
	metricNamespace = "TallyUptime"
	metricDimension = "Environment"
)

// runMetrics is what one run reports to CloudWatch.
type runMetrics struct {
	Environment string
	Succeeded   bool // a real (not dry) run finished with exit 0
	Failed      bool // the run exited non-zero
	DryRun      bool
	ExitCode    int
	Duration    time.Duration
	Created     int64 // contributions committed; 0 for a dry or failed run
	Users       int64 // users with uptime that the run considered
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
	RunSucceeded         int         `json:"RunSucceeded"`
	RunFailed            int         `json:"RunFailed"`
	DurationSeconds      float64     `json:"DurationSeconds"`
	ContributionsCreated int64       `json:"ContributionsCreated"`
	UsersProcessed       int64       `json:"UsersProcessed"`
	// Properties for Logs Insights, not metrics.
	DryRun   bool `json:"DryRun"`
	ExitCode int  `json:"ExitCode"`
}

// writeEMF writes m as one EMF record line.
func writeEMF(w io.Writer, m runMetrics, at time.Time) error {
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
			}},
		},
		Environment:          m.Environment,
		RunSucceeded:         boolInt(m.Succeeded),
		RunFailed:            boolInt(m.Failed),
		DurationSeconds:      m.Duration.Seconds(),
		ContributionsCreated: m.Created,
		UsersProcessed:       m.Users,
		DryRun:               m.DryRun,
		ExitCode:             m.ExitCode,
	}
	return json.NewEncoder(w).Encode(rec)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
