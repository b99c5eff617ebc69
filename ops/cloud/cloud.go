// Package cloud is the operator tool's view of AWS: the few calls its commands make, behind one
// small interface, so that a command reads as the workflow it runs and a test can answer it
// with a fake. The SDK implementation is in sdk.go.
package cloud

import (
	"context"
	"errors"
	"time"
)

// API is every AWS call the operator tool makes.
type API interface {
	// DescribeStack reads a stack's outputs and termination protection; ErrNoStack when the
	// account and region have no stack of that name.
	DescribeStack(ctx context.Context, name string) (Stack, error)
	// RunTask starts one task. A task ECS could not place is no error: Started.Failure says why.
	RunTask(ctx context.Context, spec TaskSpec) (Started, error)
	// DescribeTask reads a task's status and, once it stopped, how, for one container of it.
	DescribeTask(ctx context.Context, cluster, taskARN, container string) (Task, error)
	// LatestMessages are the last messages of a log stream, oldest first (at most limit).
	LatestMessages(ctx context.Context, group, stream string, limit int32) ([]string, error)
	// FilterMessages are a stream's messages that match a filter pattern, oldest first.
	FilterMessages(ctx context.Context, group, stream, pattern string) ([]string, error)
	// StartQuery starts a Logs Insights query on one log group.
	StartQuery(ctx context.Context, group, query string, from, to time.Time) (id string, err error)
	// QueryResults reads a query's status and, once Complete, its rows (field to value).
	QueryResults(ctx context.Context, id string) (status string, rows []map[string]string, err error)
}

// ErrNoStack is DescribeStack's answer for a stack that does not exist.
var ErrNoStack = errors.New("no such stack")

// Stack is what the operator tool reads of an environment's stack.
type Stack struct {
	Outputs map[string]string
	// Protected is termination protection, which is how infra marks production.
	Protected bool
}

// TaskSpec is one RunTask: the stack's cluster, network and container, and the job's flags as
// the container's command.
type TaskSpec struct {
	Cluster          string
	TaskDefinition   string
	Container        string
	Command          []string
	Subnets          []string
	SecurityGroup    string
	AssignPublicIP   string
	CapacityProvider string // empty: the FARGATE launch type
	StartedBy        string
}

// Started is RunTask's answer: a task, or ECS's reason for not starting one.
type Started struct {
	TaskARN string
	Failure string
}

// Task is a task's state; the container fields are those of TaskSpec.Container.
type Task struct {
	LastStatus    string
	StopCode      string
	StoppedReason string
	// ExitCode is nil while the container runs, and when it never ran to an exit.
	ExitCode        *int
	ContainerReason string
}
