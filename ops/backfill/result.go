package backfill

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/tally/uptime/internal/contract"
)

// result is --result-json: what a workflow reports of the run, read with jq rather than
// scraped from the text an operator reads. Fields are empty as far as the run did not get.
type result struct {
	Environment     string            `json:"environment"`
	Stack           string            `json:"stack,omitempty"`
	Flags           []string          `json:"flags"`
	Status          int               `json:"status"`            // the tool's exit status
	Message         string            `json:"message,omitempty"` // the tool's last sentence, when it has one
	Cluster         string            `json:"cluster,omitempty"`
	TaskARN         string            `json:"task_arn,omitempty"`
	LogGroup        string            `json:"log_group,omitempty"`
	LogStream       string            `json:"log_stream,omitempty"`
	ConsoleURL      string            `json:"console_url,omitempty"`
	LastStatus      string            `json:"last_status,omitempty"`
	StopCode        string            `json:"stop_code,omitempty"`
	StoppedReason   string            `json:"stopped_reason,omitempty"`
	ContainerReason string            `json:"container_reason,omitempty"`
	ExitCode        *int              `json:"exit_code"` // the task's; null when it ran to none
	Meaning         string            `json:"meaning,omitempty"`
	Summary         *contract.Summary `json:"-"`
}

// MarshalJSON adds the run summary as the job's record names its fields, in the record's
// order: a dry run's contributions_would_create, not a count the run did not make.
func (r result) MarshalJSON() ([]byte, error) {
	type plain result
	head, err := json.Marshal(plain(r))
	if err != nil {
		return nil, err
	}
	summary := []byte("null")
	if r.Summary != nil {
		if summary, err = summaryJSON(*r.Summary); err != nil {
			return nil, err
		}
	}
	out := append(bytes.TrimSuffix(head, []byte("}")), `,"summary":`...)
	return append(append(out, summary...), '}'), nil
}

func summaryJSON(s contract.Summary) ([]byte, error) {
	kv := contract.SummaryFields(s)
	if s.Version != "" {
		kv = append(kv, "version", s.Version)
	}
	if s.Revision != "" {
		kv = append(kv, "revision", s.Revision)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		k, err := json.Marshal(kv[i])
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv[i+1])
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (r *result) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the result: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the result to --result-json %s: %w", path, err)
	}
	return nil
}
