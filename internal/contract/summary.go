package contract

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SummaryMessage is the msg of the run's last log record, the one operator tools, the dashboard
// and the runbook's queries read.
const SummaryMessage = "run summary"

// Counts are what a run did, or in a dry run what it would have done.
type Counts struct {
	UsersWithUptime      int64
	UsersTouched         int64
	ContributionsCreated int64
	DaysSkipped          int64
	EntriesUpdated       int64
	EntriesCreated       int64
	RanksChanged         int64
	DuplicatesRemoved    int64
	MostDaysOneUser      int64
	UsersHeldBack        int64
}

// countFields names each count in the record. A count of writes has a second name for a dry
// run, which wrote nothing: a person reading the raw log must not take "contributions_created"
// in a dry run's record for something that happened.
var countFields = []countField{
	{"users_with_uptime", "", func(c *Counts) *int64 { return &c.UsersWithUptime }},
	{"users_touched", "", func(c *Counts) *int64 { return &c.UsersTouched }},
	{"contributions_created", "contributions_would_create", func(c *Counts) *int64 { return &c.ContributionsCreated }},
	{"days_skipped", "", func(c *Counts) *int64 { return &c.DaysSkipped }},
	{"leaderboard_entries_updated", "leaderboard_entries_would_update", func(c *Counts) *int64 { return &c.EntriesUpdated }},
	{"leaderboard_entries_created", "leaderboard_entries_would_create", func(c *Counts) *int64 { return &c.EntriesCreated }},
	{"ranks_changed", "ranks_would_change", func(c *Counts) *int64 { return &c.RanksChanged }},
	{"duplicates_removed", "", func(c *Counts) *int64 { return &c.DuplicatesRemoved }},
	{"most_days_one_user", "", func(c *Counts) *int64 { return &c.MostDaysOneUser }},
	{"users_held_back", "", func(c *Counts) *int64 { return &c.UsersHeldBack }},
}

type countField struct {
	did, would string
	count      func(*Counts) *int64
}

func (f countField) name(dryRun bool) string {
	if dryRun && f.would != "" {
		return f.would
	}
	return f.did
}

// Summary is the job's "run summary" record: the job writes it (SummaryFields) and the operator
// tools read it back (ParseSummary), so a field renamed is renamed for both.
type Summary struct {
	ExitCode        int     `json:"exit_code"`
	DryRun          bool    `json:"dry_run"`
	RunKind         string  `json:"run_kind"`
	DurationSeconds float64 `json:"duration_seconds"`
	Error           string  `json:"error,omitempty"`
	Version         string  `json:"version,omitempty"`
	Revision        string  `json:"revision,omitempty"`
	Counts
}

// SummaryFields are the record's key-value pairs after its msg, in the order the log shows them.
// Version and revision are not among them: the job's logger adds them to every record.
func SummaryFields(s Summary) []any {
	kv := []any{"exit_code", s.ExitCode, "dry_run", s.DryRun, "run_kind", s.RunKind}
	for _, f := range countFields {
		kv = append(kv, f.name(s.DryRun), *f.count(&s.Counts))
	}
	kv = append(kv, "duration_seconds", s.DurationSeconds)
	if s.Error != "" {
		kv = append(kv, "error", s.Error)
	}
	return kv
}

// ParseSummary reads one log line of the job. ok is false when the line is some other record;
// an error means it is the summary but does not parse.
func ParseSummary(line []byte) (s Summary, ok bool, err error) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(line, &raw) != nil {
		return Summary{}, false, nil // not JSON: the job wrote it to stderr, or it is not the job's
	}
	var msg string
	if json.Unmarshal(raw["msg"], &msg) != nil || msg != SummaryMessage {
		return Summary{}, false, nil
	}
	if err := json.Unmarshal(line, &s); err != nil {
		return Summary{}, true, fmt.Errorf("read the job's %q record: %w", SummaryMessage, err)
	}
	for _, f := range countFields {
		name := f.name(s.DryRun)
		if v, found := raw[name]; found {
			if err := json.Unmarshal(v, f.count(&s.Counts)); err != nil {
				return Summary{}, true, fmt.Errorf("read %s of the job's %q record: %w", name, SummaryMessage, err)
			}
		}
	}
	return s, true, nil
}

// Line is the counts in one line as the record names them, as the operator tools print them.
func (c Counts) Line(dryRun bool) string {
	parts := make([]string, 0, len(countFields))
	for _, f := range countFields {
		parts = append(parts, fmt.Sprintf("%s=%d", f.name(dryRun), *f.count(&c)))
	}
	return strings.Join(parts, " ")
}
