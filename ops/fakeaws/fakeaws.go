// Package fakeaws is a stand-in for the AWS services the operator tool calls, on loopback: ECS
// and CloudWatch Logs speak awsJson1_1 (an X-Amz-Target header names the operation), and
// CloudFormation the query protocol (a form in, XML out). The tool's SDK clients reach it
// through AWS_ENDPOINT_URL, so a test runs the same code as an operator, down to the wire.
// It answers only the operations the tool makes and fails the test on any other.
package fakeaws

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Scenario is what the fake account holds and how its task ends.
type Scenario struct {
	// Outputs are the stack's outputs, in the order DescribeStacks lists them.
	Outputs      [][2]string
	Protected    bool
	StackMissing bool
	// RunFailure makes RunTask answer a failure (e.g. RESOURCE:FARGATE) and no task.
	RunFailure string
	// RunError makes RunTask answer an AccessDeniedException with this message.
	RunError string
	// DescribeErrors is how many DescribeTasks calls fail (ThrottlingException) first.
	DescribeErrors int
	// Running is how many DescribeTasks calls see the task RUNNING before it is STOPPED.
	Running int
	// Stopped is the stopped task; its LastStatus is STOPPED.
	Stopped Stopped
	// Messages are the task's log stream, oldest first.
	Messages []string
	// QueryStatuses are GetQueryResults' statuses in turn; the last one repeats.
	QueryStatuses []string
	// QueryRows are the rows of a complete query: field and value pairs.
	QueryRows [][][2]string
	// OnDescribe, when set, is called before each DescribeTasks answer with its count (from 1).
	OnDescribe func(n int)
}

// Stopped is how the task stopped.
type Stopped struct {
	StopCode, StoppedReason, ContainerReason string
	ExitCode                                 *int
}

// Call is one request the fake answered: the service's operation, and its input.
type Call struct {
	Op   string         // e.g. "ecs.RunTask", "cloudformation.DescribeStacks"
	JSON map[string]any // awsJson1_1 input
	Form url.Values     // query-protocol input
}

// Server is a running fake.
type Server struct {
	URL string
	t   testing.TB
	sc  Scenario

	mu        sync.Mutex
	calls     []Call
	describes int
	polls     int
}

// TaskARN is the ARN of the one task the fake starts.
const TaskARN = "arn:aws:ecs:eu-west-1:123456789012:task/tally-uptime-staging/0f1e2d3c4b5a69788796a5b4c3d2e1f0"

// Start serves sc on loopback until the test ends, and points the SDK at it: fixed
// credentials and region, no shared configuration files, no instance metadata.
func Start(t testing.TB, sc Scenario) *Server {
	t.Helper()
	s := &Server{t: t, sc: sc}
	hs := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": hs.URL, "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
	return s
}

// Calls are the requests answered so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Ops are the operations of Calls, in order.
func (s *Server) Ops() []string {
	ops := []string{}
	for _, c := range s.Calls() {
		ops = append(ops, c.Op)
	}
	return ops
}

// Call is the only call of op; the test fails unless there is exactly one.
func (s *Server) Call(op string) Call {
	s.t.Helper()
	var found []Call
	for _, c := range s.Calls() {
		if c.Op == op {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		s.t.Fatalf("%d %s calls, want 1; calls: %v", len(found), op, s.Ops())
		return Call{}
	}
	return found[0]
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveJSON(w, target, body)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") == "" {
		s.t.Errorf("fake AWS: a request that is neither awsJson nor query protocol: %s %s %q", r.Method, r.URL, body)
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	s.record(Call{Op: "cloudformation." + form.Get("Action"), Form: form})
	s.serveCloudFormation(w, form)
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// serveJSON answers the awsJson1_1 operations of ECS and CloudWatch Logs.
func (s *Server) serveJSON(w http.ResponseWriter, target string, body []byte) {
	service, op, _ := strings.Cut(target, ".")
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		s.t.Errorf("fake AWS: %s body is not JSON: %v", target, err)
	}
	prefix := map[string]string{"AmazonEC2ContainerServiceV20141113": "ecs", "Logs_20140328": "logs"}[service]
	s.record(Call{Op: prefix + "." + op, JSON: in})
	var out any
	switch prefix + "." + op {
	case "ecs.RunTask":
		if s.sc.RunError != "" {
			jsonError(w, "AccessDeniedException", s.sc.RunError)
			return
		}
		out = s.runTask()
	case "ecs.DescribeTasks":
		if s.throttled() {
			jsonError(w, "ThrottlingException", "Rate exceeded")
			return
		}
		out = s.describeTasks()
	case "logs.GetLogEvents":
		out = s.logEvents(false)
	case "logs.FilterLogEvents":
		out = s.logEvents(true)
	case "logs.StartQuery":
		out = map[string]any{"queryId": "9f1c-query"}
	case "logs.GetQueryResults":
		out = s.queryResults()
	default:
		s.t.Errorf("fake AWS: unexpected operation %s", target)
		jsonError(w, "UnknownOperationException", "the fake does not answer "+target)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		s.t.Errorf("fake AWS: write %s: %v", target, err)
	}
}

// throttled counts a DescribeTasks call among the first DescribeErrors, which fail.
func (s *Server) throttled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sc.DescribeErrors > 0 {
		s.sc.DescribeErrors--
		return true
	}
	return false
}

func jsonError(w http.ResponseWriter, kind, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", kind)
	w.WriteHeader(http.StatusBadRequest)
	b, _ := json.Marshal(map[string]string{"__type": kind, "message": message})
	_, _ = w.Write(b)
}
