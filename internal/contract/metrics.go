package contract

// Namespace holds the job's CloudWatch metrics. The job writes them as one Embedded Metric Format
// record per run on stdout; CloudWatch Logs turns the record into metrics, so the job needs no AWS
// API call.
const Namespace = "TallyUptime"

// Dimensions. Every metric is published by Environment; DurationSeconds also by Environment and
// RunKind, so that its alarm can watch scheduled runs only.
const (
	DimensionEnvironment = "Environment"
	DimensionRunKind     = "RunKind"
)

// Metric is one metric of the run record: its name and its CloudWatch unit.
type Metric struct {
	Name string
	Unit string
}

// The metrics of one run.
var (
	// RunSucceeded is 1 for a real (not dry) run that completed (Exit.Completed: exit 0, or exit 5
	// with some users held back): the missed-run alarm's metric. Exit 5 reports RunFailed 1 as
	// well: the failure mail and the dashboard want a look, the missed-run alarm does not.
	RunSucceeded = Metric{"RunSucceeded", "Count"}
	// RunFailed is 1 for a run that exited non-zero (exit 5 included).
	RunFailed = Metric{"RunFailed", "Count"}
	// DurationSeconds is the run's wall time: the slow-run alarm's metric.
	DurationSeconds = Metric{"DurationSeconds", "Seconds"}
	// ContributionsCreated counts the contributions a run committed (0 for a dry or failed run).
	ContributionsCreated = Metric{"ContributionsCreated", "Count"}
	// UsersProcessed counts the users with uptime that the run considered.
	UsersProcessed = Metric{"UsersProcessed", "Count"}
	// DuplicatesRemoved counts generated Uptime contributions a run removed from days that had
	// another (an app request that raced a run): above 0, the app's check-then-insert lost a race.
	DuplicatesRemoved = Metric{"DuplicatesRemoved", "Count"}
	// UsersHeldBack counts the users a real run gave nothing because some of their missing days
	// have no multiplier (exit 5); 0 for a dry run, which holds nobody back.
	UsersHeldBack = Metric{"UsersHeldBack", "Count"}
)

// RunMetrics are published by Environment, in this order.
var RunMetrics = []Metric{RunSucceeded, RunFailed, DurationSeconds, ContributionsCreated, UsersProcessed, DuplicatesRemoved,
	UsersHeldBack}

// RunKindMetrics are published by Environment and RunKind as well: one more metric per run kind
// for each, so only the one an alarm needs.
var RunKindMetrics = []Metric{DurationSeconds}

// Properties of the run record that are not metrics, for Logs Insights and the dashboard's
// query: a dimension per version or error class would be a new metric, billed monthly, for each
// value.
const (
	PropertyDryRun     = "DryRun"
	PropertyExitCode   = "ExitCode"
	PropertyErrorClass = "ErrorClass"
	PropertyVersion    = "Version"
	PropertyRevision   = "Revision"
)
