package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/tally/uptime/internal/contract"
)

const (
	// LogStreamPrefix starts the job's log streams: <prefix>/<container>/<task id>, where the
	// runbook, the failure mail and scripts/backfill.sh look for a run's log.
	LogStreamPrefix = "uptime"
	// nonRootUser is distroless's "nonroot"; numeric so ECS can tell it is not root.
	nonRootUser = "65532:65532"
)

// JobTask is the cluster and the task definition the schedule and backfills run.
type JobTask struct {
	constructs.Construct
	Cluster        awsecs.Cluster
	TaskDefinition awsecs.FargateTaskDefinition
	Container      awsecs.ContainerDefinition
	LogGroup       awslogs.LogGroup
	Architecture   awsecs.CpuArchitecture
	// Variables is the container's plain environment: the environment's name and the job's defaults.
	Variables map[string]string
}

// NewJobTask defines the one-container Fargate task of the nightly job.
func NewJobTask(scope constructs.Construct, id string, env Environment, network *JobNetwork) *JobTask {
	c := constructs.NewConstruct(scope, jsii.String(id))
	// Fargate Spot runs ARM64 tasks too (platform version 1.4.0 and later, which LATEST is), so
	// the Spot switch changes only the capacity provider, never the image.
	t := &JobTask{Construct: c, Architecture: awsecs.CpuArchitecture_ARM64()}
	t.Cluster = newCluster(c, env, network)
	t.TaskDefinition = t.newTaskDefinition(env)
	t.LogGroup = newLogGroup(c, env)
	t.Variables = map[string]string{contract.EnvironmentVariable: env.Name}
	maps.Copy(t.Variables, env.Job.Variables())
	t.Container = t.addContainer(env)
	useDatabaseURL(c, env, t.TaskDefinition)
	exempt(t.TaskDefinition, nagException{rule: "AwsSolutions-ECS2", reason: "The plain environment holds only " +
		"non-secret settings: " + contract.EnvironmentVariable + " (the metrics' dimension) and the job's default flags. " +
		contract.DatabaseURLVariable + ", the only secret, comes from SSM through the container's secrets."})
	exempt(t.TaskDefinition.ExecutionRole(), nagException{rule: "AwsSolutions-IAM5", withChildren: true,
		reason: "ecr:GetAuthorizationToken has no resource-level permissions (AWS requires Resource \"*\"); " +
			"the image pull actions themselves are limited to the one repository holding the image.",
		appliesTo: []interface{}{"Resource::*"}})
	return t
}

func newCluster(scope constructs.Construct, env Environment, network *JobNetwork) awsecs.Cluster {
	cluster := awsecs.NewCluster(scope, jsii.String("Cluster"), &awsecs.ClusterProps{
		ClusterName: jsii.String(env.ClusterName()),
		Vpc:         network.Vpc,
		// Both Fargate providers are associated so the Spot switch is a
		// change of the run's capacity provider strategy only.
		EnableFargateCapacityProviders: jsii.Bool(true),
		// Off on cost: the job's own EMF metrics answer "did it run, how long,
		// what did it do"; Container Insights would add per-task and
		// per-cluster custom metrics that cost more than the rest of the stack.
		ContainerInsightsV2: awsecs.ContainerInsights_DISABLED,
	})
	exempt(cluster, nagException{rule: "AwsSolutions-ECS4", reason: "Container Insights is off on purpose: one short " +
		"task a night is watched through the job's own EMF metrics and alarms; Container Insights' metrics would cost " +
		"more than the whole stack (docs/architecture.md)."})
	return cluster
}

// newTaskDefinition is the task with its two roles. Both roles have fixed names so that the
// GitHub deploy role (github.go) can pass exactly these two to ECS without a reference into
// this stack.
func (t *JobTask) newTaskDefinition(env Environment) awsecs.FargateTaskDefinition {
	ecsTasks := awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)
	taskRole := awsiam.NewRole(t.Construct, jsii.String("TaskRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(env.TaskRoleName()),
		AssumedBy:   ecsTasks,
		Description: jsii.String(fmt.Sprintf("tally-uptime %s: the job's task role; grants nothing (the job calls no AWS API)", env.Name)),
	})
	executionRole := awsiam.NewRole(t.Construct, jsii.String("ExecutionRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(env.ExecutionRoleName()),
		AssumedBy:   ecsTasks,
		Description: jsii.String(fmt.Sprintf("tally-uptime %s: ECS pulls the image, reads the database URL, writes the log group", env.Name)),
	})
	td := awsecs.NewFargateTaskDefinition(t.Construct, jsii.String("TaskDefinition"), &awsecs.FargateTaskDefinitionProps{
		Family:         jsii.String(env.Family()),
		TaskRole:       taskRole,
		ExecutionRole:  executionRole,
		Cpu:            jsii.Number(float64(env.CPU)),
		MemoryLimitMiB: jsii.Number(float64(env.MemoryMiB)),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       t.Architecture,
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	// Every image change replaces the task definition, and CloudFormation deletes (deregisters)
	// the replaced revision: "You can't use an INACTIVE task definition to run new tasks". The
	// runbook's rollback runs the previous revision, so a replaced one is kept ACTIVE; deleting
	// the stack still deregisters the current one (DeletionPolicy stays Delete).
	td.Node().DefaultChild().(awsecs.CfnTaskDefinition).CfnOptions().SetUpdateReplacePolicy(awscdk.CfnDeletionPolicy_RETAIN)
	awscdk.Validations_Of(td).Acknowledge(&awscdk.Acknowledgment{
		Id: jsii.String("CloudFormation-Validate::W3011"),
		Reason: jsii.String("Only replaced revisions are kept, for the runbook's rollback; " +
			"deleting the stack is meant to deregister the task definition"),
	})
	return td
}

func newLogGroup(scope constructs.Construct, env Environment) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		LogGroupName: jsii.String(env.LogGroupName()),
		Retention:    env.LogRetention,
		// The run history outlives the stack; delete by hand if it must go.
		// Not plain RETAIN: the name is fixed, so a log group kept after a
		// failed first create would make every retry fail with "already exists".
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE,
	})
}

// addContainer is the job's only container: read-only, not root, logging to the log group.
func (t *JobTask) addContainer(env Environment) awsecs.ContainerDefinition {
	environment := map[string]*string{}
	for k, v := range t.Variables {
		environment[k] = jsii.String(v)
	}
	return t.TaskDefinition.AddContainer(jsii.String(contract.ContainerName), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(contract.ContainerName),
		Image:         jobImage(t.Construct, env, awsecrassets.Platform_LINUX_ARM64()),
		Essential:     jsii.Bool(true),
		// The task's whole memory as the container's hard limit: the only
		// container may use it all, and the limit is explicit (CT.ECS.PR.7).
		MemoryLimitMiB:         jsii.Number(float64(env.MemoryMiB)),
		Environment:            &environment,
		ReadonlyRootFilesystem: jsii.Bool(true),
		User:                   jsii.String(nonRootUser),
		// SIGTERM (a manual stop, a Spot interruption) makes the job roll back
		// its transaction; a rollback can take as long as the work it undoes.
		// 120 s is Fargate's maximum and costs nothing unless it is used.
		StopTimeout: awscdk.Duration_Seconds(jsii.Number(120)),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     t.LogGroup,
			StreamPrefix: jsii.String(LogStreamPrefix),
			// Blocking: the run's last line is the EMF record the success and
			// missed-run alarms depend on; losing it to a full buffer would page.
			Mode: awsecs.AwsLogDriverMode_BLOCKING,
		}),
	})
}

// ecrImagePattern splits a private ECR image URI into what an imported repository needs.
var ecrImagePattern = regexp.MustCompile(`^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)(?:[:@](.+))?$`)

// jobImage is the repository's Dockerfile built for the task's platform, or the
// configured image. A private ECR image is imported as a repository so the
// execution role gets pull rights on that repository only.
func jobImage(scope constructs.Construct, env Environment, platform awsecrassets.Platform) awsecs.ContainerImage {
	if env.ImageURI == "" {
		buildArgs := imageBuildArgs()
		return awsecs.ContainerImage_FromAsset(jsii.String(repoRoot()), &awsecs.AssetImageProps{
			Platform:  platform,
			BuildArgs: &buildArgs,
			// .dockerignore is an allow-list already; these are the big
			// directories that must never reach the asset staging copy.
			Exclude: jsii.Strings("cdk.out", "node_modules", ".git", ".pgdata"),
		})
	}
	m := ecrImagePattern.FindStringSubmatch(env.ImageURI)
	if m == nil {
		return awsecs.ContainerImage_FromRegistry(jsii.String(env.ImageURI), nil)
	}
	account, region, name, ref := m[1], m[2], m[3], m[4]
	if ref == "" {
		ref = "latest"
	}
	partition := "aws"
	if strings.HasPrefix(region, "cn-") {
		partition = "aws-cn"
	}
	repo := awsecr.Repository_FromRepositoryAttributes(scope, jsii.String("ImageRepository"), &awsecr.RepositoryAttributes{
		RepositoryName: jsii.String(name),
		RepositoryArn:  jsii.String(fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, region, account, name)),
	})
	return awsecs.ContainerImage_FromEcrRepository(repo, jsii.String(ref))
}

// repoRoot is the directory holding go.mod and the Dockerfile: the current
// directory under `cdk synth` (cdk.json runs `go run ./infra` from the root),
// its parent under `go test ./infra`.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) && fileExists(filepath.Join(d, "infra")) {
			return d
		}
		if filepath.Dir(d) == d {
			panic(fmt.Sprintf("no repository root (go.mod beside infra/) above %s", dir))
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
