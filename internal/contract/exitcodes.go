package contract

import "fmt"

// Exit is one exit code of the job's container as ECS reports it, with what it means to the
// operator who reads it in a failure mail, in --help, or from the backfill tool.
type Exit struct {
	Code int
	// Class is the run record's ErrorClass: the kind of failure, for Logs Insights. Empty for 0.
	Class string
	// Meaning is one sentence an operator acts on.
	Meaning string
	// Signal marks the codes a signal leaves (128 + its number): the job never chooses them.
	Signal bool
	// Completed marks the codes of a run that committed its work: a real run that ends with one
	// reports RunSucceeded 1, so the missed-run alarm counts it (metrics.go).
	Completed bool
}

// The job's own exit codes; the job maps every way a run can end to one of them in one switch
// (exitCode in job/run.go).
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
	ExitData    = 3
	ExitLocked  = 4
	// ExitHeldBack: the run completed for everyone else; some users got nothing (their missing
	// days are not all covered by a multiplier). One bad row gives the failure mail, not also the
	// missed-run alarm: the night's other users were filled.
	ExitHeldBack = 5
)

// Exits lists every exit code an operator may see, in order.
var Exits = []Exit{
	{Code: ExitOK, Completed: true, Meaning: "done; also nothing to do, and a dry run"},
	{Code: ExitRuntime, Class: "runtime", Meaning: "runtime failure: the database was unreachable after --db-wait, " +
		"a query failed, the deadline passed, SIGTERM or SIGINT, or a bug in the run (a panic, logged with its stack); " +
		"everything was rolled back"},
	{Code: ExitUsage, Class: "configuration", Meaning: "usage or configuration error: a bad flag, variable or " +
		"value, --from after --to, or a missing or refused DATABASE_URL; retrying will not help (unless the log has " +
		"no run summary: then the Go runtime crashed, out of memory or a bug, and stderr starts with fatal error or panic)"},
	{Code: ExitData, Class: "data", Meaning: "the data does not allow the run: no Uptime type, two Uptime multipliers valid from the same moment with " +
		"different values that decide a day of the window (a tie after its last day is only a warning), --force giving one " +
		"user more than ten years of days without --user naming them, points outside the type's range, an unknown --user or one that matches several users, a schema the job cannot write safely, or a " +
		"database role without a privilege the run needs; nothing was written"},
	{Code: ExitLocked, Class: "locked", Meaning: "another run still held the lock after --lock-wait; nothing was written"},
	{Code: ExitHeldBack, Class: "held_back", Completed: true, Meaning: "completed, N users held back, named in the log " +
		"(\"user held back\" records: id, e-mail, start day, first uncovered day): some of their missing days have no Uptime " +
		"multiplier in force, so they got nothing; every other user was filled and committed (a dry run: would be); fix each user's first " +
		"Uptime contribution in Tally's admin, or add a multiplier valid from the first uncovered day, and rerun"},
	{Code: 137, Class: "runtime", Signal: true, Meaning: "killed by SIGKILL: usually out of memory, or the task " +
		"was stopped and the rollback outlived the 120 s stop timeout"},
	{Code: 143, Class: "runtime", Signal: true, Meaning: "ended by SIGTERM before the job could handle it " +
		"(the task was stopped, or a Spot interruption)"},
}

// maxSignal is Linux's highest signal number (SIGRTMAX).
const maxSignal = 64

// Explain is what an exit code means; ok is false for a code outside 0-255.
func Explain(code int) (meaning string, ok bool) {
	if code < 0 || code > 255 {
		return "", false
	}
	for _, e := range Exits {
		if e.Code == code {
			return e.Meaning, true
		}
	}
	// 128 + the signal's number, for Linux's signals 1 to 64; a code above that (255 is exit(-1))
	// was chosen by a process, and not by this job.
	if code > 128 && code <= 128+maxSignal {
		return fmt.Sprintf("killed by signal %d", code-128), true
	}
	return "not one of the job's exit codes", true
}

// Completed reports whether a run that exited with code committed its work (Exit.Completed).
func Completed(code int) bool {
	for _, e := range Exits {
		if e.Code == code {
			return e.Completed
		}
	}
	return false
}

// ErrorClass is the run record's ErrorClass for an exit code: "" for success, and "runtime" for
// any code the table does not name (the job maps every unexpected end to exit 1).
func ErrorClass(code int) string {
	for _, e := range Exits {
		if e.Code == code {
			return e.Class
		}
	}
	return "runtime"
}
