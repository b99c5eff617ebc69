package backfill

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/ops/cli"
)

// options are a backfill's arguments and BACKFILL_ variables, all checked before any AWS call.
type options struct {
	env        string
	yes        bool
	resultJSON string   // --result-json: where to write the result for a workflow
	flags      []string // the job's flags, passed to the container unchanged
	timeout    time.Duration
	poll       time.Duration
	capacity   string // BACKFILL_CAPACITY_PROVIDER
	taskDef    string // BACKFILL_TASK_DEFINITION
}

var taskDefinition = regexp.MustCompile(`^(arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]+:task-definition/)?[A-Za-z0-9_-]+(:[0-9]+)?$`)

// isHelp matches what the job's flag package takes for a request for help, so that --help
// anywhere among the job's flags prints this tool's usage and starts nothing.
func isHelp(arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return strings.HasPrefix(arg, "-") && (name == "h" || name == "help")
}

// parseArgs splits the tool's own arguments (--yes, --result-json) from the job's flags. help
// is true when the usage was asked for.
func parseArgs(args []string, getenv func(string) string) (o options, help bool, err error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case isHelp(a):
			return o, true, nil
		case a == "--yes":
			o.yes = true
		case a == "--result-json" || strings.HasPrefix(a, "--result-json="):
			if o.resultJSON, i = resultFile(args, i); o.resultJSON == "" {
				err = cli.Errorf(2, "--result-json needs a file to write the result to, e.g. --result-json result.json.")
			}
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) > 0 && rest[0] == "help" {
		return o, true, nil
	}
	if err != nil {
		return o, false, err
	}
	if len(rest) == 0 {
		return o, false, cli.Errorf(2, "no environment given: say which stack to run in, e.g. 'backfill staging --dry-run' (see --help).")
	}
	o.env, o.flags = rest[0], rest[1:]
	if err := contract.CheckEnvironmentName(o.env); err != nil {
		return o, false, cli.Errorf(2, "unknown environment: %v; it comes before the job's flags, e.g. 'backfill staging --dry-run'.", err)
	}
	return o, false, o.readVariables(getenv)
}

// resultFile is the file of the --result-json at args[i], and the index of its last word.
func resultFile(args []string, i int) (string, int) {
	if file, ok := strings.CutPrefix(args[i], "--result-json="); ok {
		return file, i
	}
	if i+1 < len(args) {
		return args[i+1], i + 1
	}
	return "", i
}

// readVariables reads the BACKFILL_ variables.
func (o *options) readVariables(getenv func(string) string) error {
	var ok bool
	for _, v := range []struct {
		name, def, example string
		to                 *time.Duration
	}{{"BACKFILL_TIMEOUT", "30m", "45m", &o.timeout}, {"BACKFILL_POLL", "5s", "10s", &o.poll}} {
		value := getenv(v.name)
		if value == "" {
			value = v.def
		}
		if *v.to, ok = cli.Duration(value); !ok {
			return cli.Errorf(2, "%s='%s' is not a duration: use seconds, or a number with s, m or h (e.g. %s).", v.name, value, v.example)
		}
	}
	o.capacity = getenv("BACKFILL_CAPACITY_PROVIDER")
	if o.capacity != "" && o.capacity != "FARGATE" && o.capacity != "FARGATE_SPOT" {
		return cli.Errorf(2, "BACKFILL_CAPACITY_PROVIDER='%s' is neither FARGATE nor FARGATE_SPOT.", o.capacity)
	}
	o.taskDef = getenv("BACKFILL_TASK_DEFINITION")
	if o.taskDef != "" && !taskDefinition.MatchString(o.taskDef) {
		return cli.Errorf(2, "BACKFILL_TASK_DEFINITION='%s' is not a task definition: use family:revision (e.g. tally-uptime-%s:41) or its ARN.",
			o.taskDef, o.env)
	}
	return nil
}

// Usage is the backfill command's --help.
func Usage() string {
	return fmt.Sprintf(`Usage: scripts/backfill.sh ENV [--yes] [--result-json FILE] [job flags...]
       (the same as: go run ./ops backfill ENV ...)

Checks the job flags with the job's own rules, prints the run's effective settings
(the flags given, over the task definition's UPTIME_* defaults, over the job's
defaults), starts one run of the uptime job in the ECS cluster of the stack
%s, waits for the task to stop, prints its exit code and what it
means, the job's error or its counts (a dry run's: what it would write) and a
link to its log stream, and exits with that code. Against a stack with
termination protection (prod) it first asks for the environment's name on the
terminal; --yes confirms without asking. --result-json FILE also writes the
result as JSON (task, log group and stream, exit code, meaning, the run summary).

  backfill.sh staging --dry-run
  backfill.sh prod --from 2024-01-01 --to 2024-01-31 --verbose
  backfill.sh prod --yes --user alice@example.com --user bob@example.com
  backfill.sh prod --force=false    # switch off a default the schedule switches on

The flags are the job's own: go run ./job --help. A flag not given keeps the
schedule's default for that environment.

Environment:
  AWS_PROFILE, AWS_REGION    which account and region (the AWS CLI's usual rules)
  BACKFILL_TIMEOUT           how long to wait for the task to stop: seconds, or
                             with an s/m/h suffix (default 30m). The task itself
                             keeps running when this passes.
  BACKFILL_CAPACITY_PROVIDER FARGATE or FARGATE_SPOT; default: the stack's choice
  BACKFILL_TASK_DEFINITION   run this task definition (family:revision or ARN)
                             instead of the one the stack deployed, e.g. the
                             previous revision while rolling back a bad image
  BACKFILL_POLL              how often to ask ECS whether the task has stopped
                             (default 5s)

Exit status: the job's exit code (printed with its meaning); 1 when the task did
not start, did not report an exit code, or did not stop within BACKFILL_TIMEOUT,
or when the prompt was not confirmed; 2 for a flag the job refuses or a usage
error of this tool; 130 on Ctrl-C (the task keeps running: the stop command is
printed).
`, contract.StackName("ENV"))
}
