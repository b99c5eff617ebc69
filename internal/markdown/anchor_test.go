package markdown

import "testing"

// The anchors GitHub gives these headings, as its rendered pages show them: a bug here would
// otherwise agree with itself on both sides of every link check.
func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Users held back (exit 5)":                   "users-held-back-exit-5",
		"Task failed: the job exited non-zero":       "task-failed-the-job-exited-non-zero",
		"Duration: a run took more than 5 minutes":   "duration-a-run-took-more-than-5-minutes",
		"Missed run: no successful run in 48 hours":  "missed-run-no-successful-run-in-48-hours",
		"  Exit 137 or 143 ":                         "exit-137-or-143",
		"snake_case and `code`, with a dash - in it": "snake_case-and-code-with-a-dash---in-it",
	} {
		if got := Anchor(heading); got != want {
			t.Errorf("Anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}
