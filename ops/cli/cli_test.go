package cli

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"0": 0, "45": 45 * time.Second, "10s": 10 * time.Second, "30m": 30 * time.Minute,
		"2h": 2 * time.Hour, "1m30s": 90 * time.Second, "500ms": 500 * time.Millisecond} {
		if got, ok := Duration(in); !ok || got != want {
			t.Errorf("Duration(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-1s", "5d", "99999999999h", " 5"} {
		if got, ok := Duration(in); ok {
			t.Errorf("Duration(%q) = %v; want it refused", in, got)
		}
	}
}

func TestExit(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		says string
	}{
		{nil, 0, ""},
		{Errorf(2, "no environment given."), 2, "ops: no environment given.\n"},
		{&Error{Code: 137}, 137, ""}, // the job's code, explained on stdout already
		{errors.New("boom"), 1, "ops: boom\n"},
	} {
		var stderr bytes.Buffer
		if code := Exit(&stderr, "ops", c.err); code != c.code || stderr.String() != c.says {
			t.Errorf("Exit(%v) = %d, %q; want %d, %q", c.err, code, stderr.String(), c.code, c.says)
		}
	}
}
