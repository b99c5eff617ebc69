package backfill

import (
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/tally/uptime/internal/contract"
	"github.com/tally/uptime/ops/cli"
	"github.com/tally/uptime/ops/cloud"
)

// target is where the task runs: the stack's outputs, checked, with the BACKFILL_ overrides.
type target struct {
	stack      string
	protected  bool
	cluster    string
	taskDef    string
	container  string
	subnets    []string
	group      string // the security group
	publicIP   string
	logGroup   string
	prefix     string // the log stream prefix
	capacity   string
	jobEnviron map[string]string // the task's UPTIME_ defaults (the JobEnvironment output)
}

// The shape of each output the run depends on: a stack deployed from an older infra/ or edited
// by hand fails here, with the output named, rather than as a puzzling RunTask error.
var outputShapes = map[string]*regexp.Regexp{
	contract.OutputClusterName:       regexp.MustCompile(`^[A-Za-z0-9_/:.-]+$`),
	contract.OutputTaskDefinitionArn: regexp.MustCompile(`^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]+:task-definition/[A-Za-z0-9_-]+(:[0-9]+)?$`),
	contract.OutputContainerName:     regexp.MustCompile(`^[A-Za-z0-9_-]+$`),
	contract.OutputSubnetIDs:         regexp.MustCompile(`^ *subnet-[0-9a-zA-Z]+( *, *subnet-[0-9a-zA-Z]+)* *$`),
	contract.OutputSecurityGroupID:   regexp.MustCompile(`^sg-[0-9a-zA-Z]+$`),
	contract.OutputAssignPublicIP:    regexp.MustCompile(`^(ENABLED|DISABLED)$`),
	contract.OutputLogGroupName:      regexp.MustCompile(`^[A-Za-z0-9_/.#-]+$`),
	contract.OutputJobEnvironment:    regexp.MustCompile(`^UPTIME_[A-Z_]+=[^ ]*( UPTIME_[A-Z_]+=[^ ]*)*$`),
}

// readTarget reads the environment's stack and checks the outputs a run needs.
func readTarget(ctx context.Context, api cloud.API, o options) (target, error) {
	name := contract.StackName(o.env)
	st, err := api.DescribeStack(ctx, name)
	if errors.Is(err, cloud.ErrNoStack) {
		return target{}, cli.Errorf(2, "unknown environment '%s': there is no stack %s in this account and region (AWS_PROFILE/AWS_REGION).", o.env, name)
	}
	if err != nil {
		return target{}, cli.Errorf(1, "could not read the outputs of %s: %v", name, err)
	}
	var missing error
	need := func(key string) string {
		v := st.Outputs[key]
		switch {
		case missing != nil:
		case v == "":
			missing = cli.Errorf(1, "the stack %s has no output %s: is it deployed from this repository's current infra/?", name, key)
		case !outputShapes[key].MatchString(v):
			missing = cli.Errorf(1, "the stack %s's output %s='%s' does not look right.", name, key, v)
		}
		return v
	}
	t := target{
		stack: name, protected: st.Protected,
		cluster: need(contract.OutputClusterName), taskDef: need(contract.OutputTaskDefinitionArn),
		container: need(contract.OutputContainerName), group: need(contract.OutputSecurityGroupID),
		publicIP: need(contract.OutputAssignPublicIP), logGroup: need(contract.OutputLogGroupName),
		prefix: st.Outputs[contract.OutputLogStreamPrefix], capacity: st.Outputs[contract.OutputCapacityProvider],
	}
	for _, s := range strings.Split(need(contract.OutputSubnetIDs), ",") {
		t.subnets = append(t.subnets, strings.TrimSpace(s))
	}
	t.jobEnviron = jobEnvironment(need(contract.OutputJobEnvironment))
	if missing != nil {
		return target{}, missing
	}
	return t.override(o)
}

// override applies BACKFILL_TASK_DEFINITION and BACKFILL_CAPACITY_PROVIDER.
func (t target) override(o options) (target, error) {
	if o.taskDef != "" {
		t.taskDef = o.taskDef
	}
	if o.capacity != "" {
		t.capacity = o.capacity
	}
	if t.capacity != "" && t.capacity != "FARGATE" && t.capacity != "FARGATE_SPOT" {
		return target{}, cli.Errorf(2, "capacity provider '%s' is neither FARGATE nor FARGATE_SPOT.", t.capacity)
	}
	if t.prefix == "" {
		t.prefix = "uptime"
	}
	return t, nil
}

// jobEnvironment reads the JobEnvironment output: the container's UPTIME_ variables, NAME=VALUE
// separated by spaces (the values hold none). They are the deployed revision's, also when
// BACKFILL_TASK_DEFINITION names another.
func jobEnvironment(out string) map[string]string {
	env := map[string]string{}
	for _, kv := range strings.Fields(out) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// stream is the task's log stream: the awslogs driver names it prefix/container/task id.
func (t target) stream(taskID string) string {
	return t.prefix + "/" + t.container + "/" + taskID
}
