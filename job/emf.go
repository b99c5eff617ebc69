package main

import (
	"encoding/json"
	"io"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// runMetrics is what one run reports to CloudWatch.
type runMetrics struct {
	Environment string
	RunKind     string
	Succeeded   bool // a real (not dry) run completed: exit 0, or 5 (contract.Completed)
	Failed      bool // the run exited non-zero
	DryRun      bool
	ExitCode    int
	Duration    time.Duration
	Created     int64 // contributions committed; 0 for a dry or failed run
	Users       int64 // users with uptime that the run considered
	Duplicates  int64 // doubled days' generated rows removed; 0 for a dry or failed run
	HeldBack    int64 // users who got nothing for want of a multiplier; 0 for a dry or failed run
	Version     string
	Revision    string
}

// writeEMF writes m as one EMF record line. Every metric is published by Environment (the
// alarms on success and failure see every run); contract.RunKindMetrics also by Environment and
// RunKind, so that the duration alarm can watch scheduled runs only, at the price of one more
// metric per run kind rather than one per metric.
func writeEMF(w io.Writer, m runMetrics, at time.Time) error {
	kind := m.RunKind
	if kind == "" {
		kind = contract.RunManual // a CloudWatch dimension value cannot be empty
	}
	values := map[contract.Metric]any{
		contract.RunSucceeded:         boolInt(m.Succeeded),
		contract.RunFailed:            boolInt(m.Failed),
		contract.DurationSeconds:      m.Duration.Seconds(),
		contract.ContributionsCreated: m.Created,
		contract.UsersProcessed:       m.Users,
		contract.DuplicatesRemoved:    m.Duplicates,
		contract.UsersHeldBack:        m.HeldBack,
	}
	rec := map[string]any{
		"_aws": map[string]any{
			"Timestamp": at.UnixMilli(),
			"CloudWatchMetrics": []any{
				emfDirective([]string{contract.DimensionEnvironment}, contract.RunMetrics),
				emfDirective([]string{contract.DimensionEnvironment, contract.DimensionRunKind}, contract.RunKindMetrics),
			},
		},
		contract.DimensionEnvironment: m.Environment,
		contract.DimensionRunKind:     kind,
		contract.PropertyDryRun:       m.DryRun,
		contract.PropertyExitCode:     m.ExitCode,
		contract.PropertyErrorClass:   contract.ErrorClass(m.ExitCode),
		contract.PropertyVersion:      m.Version,
		contract.PropertyRevision:     m.Revision,
	}
	for _, metric := range contract.RunMetrics {
		rec[metric.Name] = values[metric]
	}
	return json.NewEncoder(w).Encode(rec)
}

// emfDirective publishes metrics by one set of dimensions.
func emfDirective(dimensions []string, metrics []contract.Metric) map[string]any {
	list := make([]map[string]string, 0, len(metrics))
	for _, m := range metrics {
		list = append(list, map[string]string{"Name": m.Name, "Unit": m.Unit})
	}
	return map[string]any{
		"Namespace":  contract.Namespace,
		"Dimensions": [][]string{dimensions},
		"Metrics":    list,
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
