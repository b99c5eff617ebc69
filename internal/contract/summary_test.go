package contract

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The record is written as the job writes it (slog's JSON handler, version and revision added to
// every record) and read back by the operator tools' parser: whatever the names, the two agree.
func TestSummaryReadsBackWhatTheJobWrites(t *testing.T) {
	for _, dry := range []bool{false, true} {
		want := Summary{ExitCode: ExitHeldBack, DryRun: dry, RunKind: RunManual, DurationSeconds: 2.5,
			Error: "completed, 1 user(s) held back", Version: "v1", Revision: "abc",
			Counts: Counts{UsersWithUptime: 9, UsersTouched: 3, ContributionsCreated: 10, DaysSkipped: 4, EntriesUpdated: 5,
				EntriesCreated: 6, RanksChanged: 7, DuplicatesRemoved: 8, MostDaysOneUser: 11, UsersHeldBack: 1}}
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).With("version", "v1", "revision", "abc").
			Info(SummaryMessage, SummaryFields(want)...)
		got, ok, err := ParseSummary(bytes.TrimSpace(buf.Bytes()))
		if err != nil || !ok || got != want {
			t.Fatalf("dry %v: read back %+v, %v, %v from %s; want %+v", dry, got, ok, err, buf.String(), want)
		}
		// A dry run's record never names a write as done.
		if hasDone := strings.Contains(buf.String(), `"contributions_created"`); hasDone == dry {
			t.Errorf("dry %v: record %s", dry, buf.String())
		}
	}
}

func TestParseSummaryTellsOtherRecordsApart(t *testing.T) {
	for _, line := range []string{`{"msg":"run started","dry_run":true}`, `uptime: refused`, ``} {
		if _, ok, err := ParseSummary([]byte(line)); ok || err != nil {
			t.Errorf("%q read as a summary (%v)", line, err)
		}
	}
	if _, ok, err := ParseSummary([]byte(`{"msg":"run summary","exit_code":"x"}`)); !ok || err == nil {
		t.Errorf("a summary with a malformed exit code: ok %v, err %v", ok, err)
	}
}

func TestCountsLineNamesWhatADryRunWouldDo(t *testing.T) {
	c := Counts{ContributionsCreated: 10, RanksChanged: 2}
	if got := c.Line(true); !strings.Contains(got, "contributions_would_create=10") || !strings.Contains(got, "ranks_would_change=2") {
		t.Errorf("dry: %s", got)
	}
	if got := c.Line(false); !strings.Contains(got, "contributions_created=10") {
		t.Errorf("real: %s", got)
	}
}
