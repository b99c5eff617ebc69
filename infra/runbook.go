package main

import (
	"fmt"

	"github.com/tally/uptime/internal/markdown"
)

// RunbookFile is the on-call's runbook in the repository.
const RunbookFile = "docs/runbook.md"

// The runbook sections the mails and the alarms link to: each is a heading of docs/runbook.md,
// written here once. TestRunbookHasTheLinkedSections renders the runbook's headings into
// GitHub's anchors, so a renamed heading fails the build, not the on-call at 3 a.m.
const (
	RunbookTaskFailed  = "Task failed: the job exited non-zero"
	RunbookNotStarted  = "Task failed to start"
	RunbookDuration    = "Duration: a run took more than 5 minutes"
	RunbookMissedRun   = "Missed run: no successful run in 48 hours"
	RunbookDeadLetters = "Scheduler dead-letter queue not empty"
)

// runbookSections lists every section linked, for the test.
var runbookSections = []string{RunbookTaskFailed, RunbookNotStarted, RunbookDuration, RunbookMissedRun, RunbookDeadLetters}

// runbookRef points to a section of the runbook: a link to it on GitHub when the context names
// the repository (the mail's reader may have no clone at hand), else the path and the heading.
func runbookRef(repository, section string) string {
	if repository == "" {
		return fmt.Sprintf("%s, section \"%s\"", RunbookFile, section)
	}
	return fmt.Sprintf("https://github.com/%s/blob/%s/%s#%s", repository, DefaultGitHubBranch, RunbookFile, markdown.Anchor(section))
}
