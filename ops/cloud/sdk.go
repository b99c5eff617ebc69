package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	logs "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// SDK is API on the AWS SDK for Go v2.
type SDK struct {
	cfn  *cfn.Client
	ecs  *ecs.Client
	logs *logs.Client
}

// Load configures the clients the way the AWS CLI would: AWS_PROFILE, AWS_REGION, the shared
// files, and AWS_ENDPOINT_URL (which the tests point at a server of their own).
func Load(ctx context.Context) (*SDK, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration (AWS_PROFILE, AWS_REGION): %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set AWS_REGION, or a region in the AWS_PROFILE's configuration")
	}
	return &SDK{cfn: cfn.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg), logs: logs.NewFromConfig(cfg)}, nil
}

// DescribeStack implements API.
func (s *SDK) DescribeStack(ctx context.Context, name string) (Stack, error) {
	out, err := s.cfn.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: &name})
	if err != nil {
		var api smithy.APIError
		// CloudFormation says a missing stack only in its message: a ValidationError "does not exist".
		if errors.As(err, &api) && api.ErrorCode() == "ValidationError" && strings.Contains(api.ErrorMessage(), "does not exist") {
			return Stack{}, ErrNoStack
		}
		return Stack{}, err
	}
	if len(out.Stacks) == 0 {
		return Stack{}, ErrNoStack
	}
	st := out.Stacks[0]
	stack := Stack{Outputs: map[string]string{}, Protected: aws.ToBool(st.EnableTerminationProtection)}
	for _, o := range st.Outputs {
		stack.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return stack, nil
}

// RunTask implements API.
func (s *SDK) RunTask(ctx context.Context, spec TaskSpec) (Started, error) {
	in := &ecs.RunTaskInput{
		Cluster:        &spec.Cluster,
		TaskDefinition: &spec.TaskDefinition,
		Count:          aws.Int32(1),
		StartedBy:      &spec.StartedBy,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets:        spec.Subnets,
			SecurityGroups: []string{spec.SecurityGroup},
			AssignPublicIp: ecstypes.AssignPublicIp(spec.AssignPublicIP),
		}},
		// An empty command list still overrides: the container gets the flags given, no others.
		Overrides: &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{
			{Name: &spec.Container, Command: append([]string{}, spec.Command...)},
		}},
	}
	// ECS refuses a launch type together with a capacity provider strategy.
	if spec.CapacityProvider != "" {
		in.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{
			{CapacityProvider: &spec.CapacityProvider, Weight: 1},
		}
	} else {
		in.LaunchType = ecstypes.LaunchTypeFargate
	}
	out, err := s.ecs.RunTask(ctx, in)
	if err != nil {
		return Started{}, err
	}
	var started Started
	if len(out.Tasks) > 0 {
		started.TaskARN = aws.ToString(out.Tasks[0].TaskArn)
	}
	if len(out.Failures) > 0 {
		started.Failure = aws.ToString(out.Failures[0].Reason)
		if d := aws.ToString(out.Failures[0].Detail); d != "" {
			started.Failure += " (" + d + ")"
		}
	}
	return started, nil
}

// DescribeTask implements API.
func (s *SDK) DescribeTask(ctx context.Context, cluster, taskARN, container string) (Task, error) {
	out, err := s.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: []string{taskARN}})
	if err != nil {
		return Task{}, err
	}
	if len(out.Tasks) == 0 {
		reason := "no such task"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason)
		}
		return Task{}, fmt.Errorf("ECS describes no task %s: %s", taskARN, reason)
	}
	t := out.Tasks[0]
	task := Task{LastStatus: aws.ToString(t.LastStatus), StopCode: string(t.StopCode), StoppedReason: aws.ToString(t.StoppedReason)}
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == container {
			if c.ExitCode != nil {
				code := int(*c.ExitCode)
				task.ExitCode = &code
			}
			task.ContainerReason = aws.ToString(c.Reason)
		}
	}
	return task, nil
}

// LatestMessages implements API: without StartFromHead, GetLogEvents returns a stream's latest
// events, and the job's summary is among its last lines.
func (s *SDK) LatestMessages(ctx context.Context, group, stream string, limit int32) ([]string, error) {
	out, err := s.logs.GetLogEvents(ctx, &logs.GetLogEventsInput{
		LogGroupName: &group, LogStreamName: &stream, Limit: &limit, StartFromHead: aws.Bool(false),
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]string, 0, len(out.Events))
	for _, e := range out.Events {
		msgs = append(msgs, aws.ToString(e.Message))
	}
	return msgs, nil
}

// FilterMessages implements API, following the pages up to a bound: a run writes a few
// hundred lines at most, and a pattern that matches more is not one the tool asks.
func (s *SDK) FilterMessages(ctx context.Context, group, stream, pattern string) ([]string, error) {
	in := &logs.FilterLogEventsInput{LogGroupName: &group, LogStreamNames: []string{stream}, FilterPattern: &pattern}
	var msgs []string
	for page := 0; page < 20; page++ {
		out, err := s.logs.FilterLogEvents(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, e := range out.Events {
			msgs = append(msgs, aws.ToString(e.Message))
		}
		if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
			break
		}
		in.NextToken = out.NextToken
	}
	return msgs, nil
}

// StartQuery implements API.
func (s *SDK) StartQuery(ctx context.Context, group, query string, from, to time.Time) (string, error) {
	out, err := s.logs.StartQuery(ctx, &logs.StartQueryInput{
		LogGroupName: &group, QueryString: &query, StartTime: aws.Int64(from.Unix()), EndTime: aws.Int64(to.Unix()),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.QueryId), nil
}

// QueryResults implements API.
func (s *SDK) QueryResults(ctx context.Context, id string) (string, []map[string]string, error) {
	out, err := s.logs.GetQueryResults(ctx, &logs.GetQueryResultsInput{QueryId: &id})
	if err != nil {
		return "", nil, err
	}
	rows := make([]map[string]string, 0, len(out.Results))
	for _, fields := range out.Results {
		row := map[string]string{}
		for _, f := range fields {
			row[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		rows = append(rows, row)
	}
	return string(out.Status), rows, nil
}
