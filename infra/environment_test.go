package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// ---- configuration, without jsii --------------------------------------------

func TestEnvironmentsShippedAreValid(t *testing.T) {
	names := map[string]bool{}
	for _, e := range Environments() {
		d := e.WithDefaults()
		if err := d.Validate(); err != nil {
			t.Errorf("shipped %v", err)
		}
		if d.Account != "" || d.Region != "" {
			t.Errorf("%s pins account/region; the shipped config must synth without credentials", e.Name)
		}
		names[e.Name] = true
	}
	for _, want := range []string{"staging", "prod"} {
		if !names[want] {
			t.Errorf("no %q environment in environments.go", want)
		}
	}
}

func TestEnvironmentDefaults(t *testing.T) {
	d := Environment{Name: "qa", AlarmEmails: []string{"x@y.example"}}.WithDefaults()
	eq(t, "schedule", d.Schedule, "cron(0 2 * * ? *)")
	eq(t, "time zone", d.TimeZone, "UTC")
	eq(t, "parameter", d.DatabaseURLParameter, "/tally/qa/database-url")
	eq(t, "cpu/memory", []int{d.CPU, d.MemoryMiB}, []int{256, 512})
	eq(t, "db port", d.Network.DatabasePort, 5432)
	eq(t, "spot", d.Spot, false)
	eq(t, "capacity", d.CapacityProvider(), "FARGATE")
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}

func TestEnvironmentValidate(t *testing.T) {
	ok := Environment{Name: "qa", AlarmEmails: []string{"x@y.example"}}
	cases := map[string]func(e *Environment){
		"bad name":            func(e *Environment) { e.Name = "QA_1" },
		"bad schedule":        func(e *Environment) { e.Schedule = "0 2 * * *" },
		"bad time zone":       func(e *Environment) { e.TimeZone = "Mars/Olympus" },
		"bad e-mail":          func(e *Environment) { e.AlarmEmails = []string{"nobody"} },
		"bad cpu":             func(e *Environment) { e.CPU = 300 },
		"memory too small":    func(e *Environment) { e.CPU, e.MemoryMiB = 1024, 512 },
		"relative parameter":  func(e *Environment) { e.DatabaseURLParameter = "tally/db" },
		"negative points":     func(e *Environment) { e.Job.Points = -1 },
		"subnets without vpc": func(e *Environment) { e.Network.SubnetIDs = []string{"subnet-1"} },
		"vpc without subnets": func(e *Environment) { e.Network.VpcID = "vpc-1" },
		"uneven subnets": func(e *Environment) {
			e.Network = Network{VpcID: "vpc-1", SubnetIDs: []string{"subnet-1"}, AvailabilityZones: []string{"a", "b"}}
		},
	}
	for name, mutate := range cases {
		e := ok
		mutate(&e)
		if err := e.WithDefaults().Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := existingVPC().WithDefaults().Validate(); err != nil {
		t.Errorf("existing-VPC config: %v", err)
	}
}

func TestJobDefaultsVariables(t *testing.T) {
	eq(t, "zero", JobDefaults{}.Variables(), map[string]string{})
	eq(t, "all", JobDefaults{Points: 3, Force: true, Verbose: true, Timeout: 15 * time.Minute, DBWait: 2 * time.Minute}.Variables(),
		map[string]string{"UPTIME_POINTS": "3", "UPTIME_FORCE": "true", "UPTIME_VERBOSE": "true",
			"UPTIME_TIMEOUT": "15m0s", "UPTIME_DB_WAIT": "2m0s"})
	// Every variable must be one the job knows (README's table), or it refuses to start.
	known := regexp.MustCompile(`^UPTIME_(POINTS|FORCE|VERBOSE|TIMEOUT|DB_WAIT|DRY_RUN|FROM|TO|USER|ENVIRONMENT)$`)
	for k := range (JobDefaults{Points: 1, Force: true, Verbose: true, Timeout: 1, DBWait: 1}).Variables() {
		if !known.MatchString(k) {
			t.Errorf("%s is not a variable the job reads", k)
		}
	}
}

func TestNewStacksRejectsDuplicates(t *testing.T) {
	e := Environment{Name: "qa", AlarmEmails: []string{"x@acme-corp.io"}}
	if _, err := NewStacks(nil, []Environment{e, e}); err == nil || !strings.Contains(err.Error(), "configured twice") {
		t.Errorf("two environments named qa: %v", err)
	}
}

// ---- the synthesized stacks -------------------------------------------------

func TestStackNamesAndOfflineSynth(t *testing.T) {
	all := synth(t)
	for name, s := range all {
		eq(t, name+" stack name", *s.stack.StackName(), "TallyUptime-"+name)
	}
	// A lookup (Vpc.fromLookup, …) would leave "missing" context in the
	// manifest and need credentials; the app must need none.
	b, err := os.ReadFile(filepath.Join(synthDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest map[string]any
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	if m, ok := manifest["missing"]; ok {
		t.Errorf("synth needs context lookups (credentials): %s", jsonOf(m))
	}
}
