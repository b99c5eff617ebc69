package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

func (s *Server) runTask() any {
	if s.sc.RunFailure != "" {
		return map[string]any{"tasks": []any{}, "failures": []any{map[string]any{"reason": s.sc.RunFailure}}}
	}
	return map[string]any{"tasks": []any{map[string]any{"taskArn": TaskARN, "lastStatus": "PROVISIONING"}}, "failures": []any{}}
}

func (s *Server) describeTasks() any {
	s.mu.Lock()
	s.describes++
	n := s.describes
	s.mu.Unlock()
	if s.sc.OnDescribe != nil {
		s.sc.OnDescribe(n)
	}
	container := map[string]any{"name": "uptime-job", "lastStatus": "RUNNING"}
	task := map[string]any{"taskArn": TaskARN, "lastStatus": "RUNNING", "containers": []any{container}}
	if n > s.sc.Running {
		st := s.sc.Stopped
		task["lastStatus"], task["stopCode"], task["stoppedReason"] = "STOPPED", st.StopCode, st.StoppedReason
		container["lastStatus"] = "STOPPED"
		if st.ExitCode != nil {
			container["exitCode"] = *st.ExitCode
		}
		if st.ContainerReason != "" {
			container["reason"] = st.ContainerReason
		}
	}
	return map[string]any{"tasks": []any{task}, "failures": []any{}}
}

// logEvents answers GetLogEvents (the stream's messages) and FilterLogEvents (those that hold
// the summary's msg: the only pattern the tool filters on).
func (s *Server) logEvents(filter bool) any {
	events := []any{}
	for i, m := range s.sc.Messages {
		if filter && !strings.Contains(m, `"msg":"run summary"`) {
			continue
		}
		events = append(events, map[string]any{"timestamp": 1772416800000 + i, "message": m, "ingestionTime": 1772416801000 + i})
	}
	if filter {
		return map[string]any{"events": events}
	}
	return map[string]any{"events": events, "nextForwardToken": "f/1", "nextBackwardToken": "b/1"}
}

func (s *Server) queryResults() any {
	s.mu.Lock()
	s.polls++
	n := s.polls
	s.mu.Unlock()
	status := "Complete"
	if k := len(s.sc.QueryStatuses); k > 0 {
		status = s.sc.QueryStatuses[min(n, k)-1]
	}
	rows := []any{}
	if status == "Complete" {
		for _, r := range s.sc.QueryRows {
			fields := []any{}
			for _, kv := range r {
				fields = append(fields, map[string]string{"field": kv[0], "value": kv[1]})
			}
			rows = append(rows, fields)
		}
	}
	return map[string]any{"status": status, "results": rows}
}

type cfnOutput struct {
	Key   string `xml:"OutputKey"`
	Value string `xml:"OutputValue"`
}

type cfnStack struct {
	StackName                   string      `xml:"StackName"`
	StackID                     string      `xml:"StackId"`
	StackStatus                 string      `xml:"StackStatus"`
	CreationTime                string      `xml:"CreationTime"`
	EnableTerminationProtection bool        `xml:"EnableTerminationProtection"`
	Outputs                     []cfnOutput `xml:"Outputs>member"`
}

type describeStacksResponse struct {
	XMLName   xml.Name   `xml:"http://cloudformation.amazonaws.com/doc/2010-05-15/ DescribeStacksResponse"`
	Stacks    []cfnStack `xml:"DescribeStacksResult>Stacks>member"`
	RequestID string     `xml:"ResponseMetadata>RequestId"`
}

func (s *Server) serveCloudFormation(w http.ResponseWriter, form url.Values) {
	w.Header().Set("Content-Type", "text/xml")
	name := form.Get("StackName")
	if form.Get("Action") != "DescribeStacks" {
		s.t.Errorf("fake AWS: unexpected CloudFormation action %q", form.Get("Action"))
		cfnError(w, "InvalidAction", "the fake answers DescribeStacks only")
		return
	}
	if s.sc.StackMissing {
		cfnError(w, "ValidationError", fmt.Sprintf("Stack with id %s does not exist", name))
		return
	}
	st := cfnStack{StackName: name, StackID: "arn:aws:cloudformation:eu-west-1:123456789012:stack/" + name + "/1",
		StackStatus: "UPDATE_COMPLETE", CreationTime: "2026-01-05T10:00:00Z", EnableTerminationProtection: s.sc.Protected}
	for _, kv := range s.sc.Outputs {
		st.Outputs = append(st.Outputs, cfnOutput{kv[0], kv[1]})
	}
	b, err := xml.Marshal(describeStacksResponse{Stacks: []cfnStack{st}, RequestID: "fake-request"})
	if err != nil {
		s.t.Errorf("fake AWS: %v", err)
	}
	_, _ = w.Write(b)
}

func cfnError(w http.ResponseWriter, code, message string) {
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>`+
		`<Code>%s</Code><Message>%s</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>`, code, message)
}
