package main

import (
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/tally/uptime/internal/contract"
)

// Defaults for the fields of Environment that are left zero.
const (
	DefaultSchedule     = "cron(0 2 * * ? *)" // every day at 02:00
	DefaultTimeZone     = "UTC"
	DefaultCPU          = 256 // 0.25 vCPU: the job is one set-based SQL statement per user batch, CPU-light
	DefaultMemoryMiB    = 512 // the smallest Fargate size for 0.25 vCPU
	DefaultDatabasePort = 5432
	DefaultLogRetention = awslogs.RetentionDays_ONE_MONTH
)

// Environment is one deployment of the job: one stack, one schedule, one database.
type Environment struct {
	// Name is used in the stack name, resource names, the metrics' Environment
	// dimension and the default parameter name. Lower case letters, digits and dashes.
	Name string

	// Account and Region pin the stack to one AWS environment. Empty means the
	// stack is environment-agnostic and takes both from the deploying credentials.
	Account string
	Region  string

	// Schedule is an EventBridge Scheduler expression, e.g. "cron(0 2 * * ? *)".
	// Default DefaultSchedule, evaluated in TimeZone (IANA name, default UTC).
	Schedule string
	TimeZone string
	// SchedulePaused is the schedule's on/off switch: true deploys it DISABLED
	// (everything else stays; ad-hoc runs still work) and mutes the missed-run alarm.
	SchedulePaused bool

	// Network: zero means a new VPC with public subnets only and no NAT gateway.
	Network Network

	// DatabaseURLParameter is the SSM SecureString holding DATABASE_URL.
	// Default "/tally/<Name>/database-url". CloudFormation cannot create
	// SecureStrings, so it must exist before the first run (docs/deploy.md).
	DatabaseURLParameter string
	// DatabaseURLKeyARN is the customer-managed KMS key the parameter is
	// encrypted with, if any. Empty means the AWS-managed aws/ssm key, which
	// needs no kms:Decrypt grant.
	DatabaseURLKeyARN string

	// AlarmEmails subscribe to the alarm topic. Empty means no subscription
	// (and a synth warning); the CDK context fills it in (context.go).
	AlarmEmails []string
	// LogRetention of the job's log group. Default one month.
	LogRetention awslogs.RetentionDays

	// CPU units and memory of the task. Default 256 / 512 MiB.
	CPU       int
	MemoryMiB int

	// Spot runs the task on FARGATE_SPOT, still on ARM64 (docs/architecture.md
	// weighs it).
	Spot bool

	// Job holds the defaults of the job's own flags, passed as UPTIME_* variables.
	Job JobDefaults

	// TerminationProtection refuses `cdk destroy` and stack deletion until it is turned off.
	TerminationProtection bool

	// NoDashboard leaves out the CloudWatch dashboard: an account's first three
	// are free, each further one costs $3 a month (docs/deploy.md).
	NoDashboard bool

	// GitHubOIDCProviderARN is the account's existing GitHub OIDC provider, to
	// import instead of creating a second one (IAM allows one per URL).
	GitHubOIDCProviderARN string

	// GitHubRepository is "owner/name" of the repository that deploys the stack (context
	// githubRepository): the mails and alarm descriptions link to its runbook on GitHub.
	// Empty means they name the runbook's path instead.
	GitHubRepository string

	// ImageURI replaces the image built from the repository's Dockerfile, e.g.
	// "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tally-uptime@sha256:…".
	ImageURI string
}

// Network places the task in an existing VPC next to the database.
type Network struct {
	VpcID string
	// SubnetIDs are private subnets with a route to ECR, SSM and CloudWatch
	// Logs (a NAT gateway or VPC endpoints) and to the database.
	SubnetIDs []string
	// AvailabilityZones of the subnets, in order: CDK pairs SubnetIDs with
	// them round-robin (subnet i is in zone i mod len(AvailabilityZones)).
	AvailabilityZones []string
	// DatabaseSecurityGroupID, when set, gets one inbound rule from the task
	// on DatabasePort, and the task's only PostgreSQL egress goes to it.
	DatabaseSecurityGroupID string
	// DatabaseCIDR is the database's own address (new-VPC mode): the task's
	// only PostgreSQL egress. With neither, the task cannot reach a database.
	DatabaseCIDR string
	// DatabasePort the task may connect to. Default 5432.
	DatabasePort int
}

// JobDefaults are the job's flags for every scheduled run (README, "The job"),
// passed as the variables contract.Variable names. A typed struct rather than a
// free map because the job refuses unknown UPTIME_* variables: a typo here must
// fail at compile time, not at 02:00.
type JobDefaults struct {
	Points  int           // --points; 0 leaves the job's default (1)
	Force   bool          // --force
	Verbose bool          // --verbose
	Timeout time.Duration // --timeout; 0 leaves the job's default (10m)
	DBWait  time.Duration // --db-wait; 0 leaves the job's default (60s)
}

// Variables renders the defaults as the job's environment variables.
func (j JobDefaults) Variables() map[string]string {
	v := map[string]string{}
	if j.Points != 0 {
		v[contract.Variable(contract.FlagPoints)] = strconv.Itoa(j.Points)
	}
	if j.Force {
		v[contract.Variable(contract.FlagForce)] = "true"
	}
	if j.Verbose {
		v[contract.Variable(contract.FlagVerbose)] = "true"
	}
	if j.Timeout != 0 {
		v[contract.Variable(contract.FlagTimeout)] = j.Timeout.String()
	}
	if j.DBWait != 0 {
		v[contract.Variable(contract.FlagDBWait)] = j.DBWait.String()
	}
	return v
}

// NewVPC reports whether the stack creates its own public-subnet VPC.
func (e Environment) NewVPC() bool { return e.Network.VpcID == "" }

// WithDefaults fills every zero field that has a default.
func (e Environment) WithDefaults() Environment {
	if e.Schedule == "" {
		e.Schedule = DefaultSchedule
	}
	if e.TimeZone == "" {
		e.TimeZone = DefaultTimeZone
	}
	if e.DatabaseURLParameter == "" {
		e.DatabaseURLParameter = e.DefaultDatabaseURLParameter()
	}
	if e.LogRetention == "" {
		e.LogRetention = DefaultLogRetention
	}
	if e.CPU == 0 {
		e.CPU = DefaultCPU
	}
	if e.MemoryMiB == 0 {
		e.MemoryMiB = DefaultMemoryMiB
	}
	if e.Network.DatabasePort == 0 {
		e.Network.DatabasePort = DefaultDatabasePort
	}
	return e
}
