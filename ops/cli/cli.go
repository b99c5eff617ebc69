// Package cli is what the operator tool's commands share: how a command fails (an exit status
// and one sentence), and durations and counts read from the environment.
package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"
)

// Error ends a command: its message is one sentence for stderr, Code the tool's exit status.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf is an *Error with a formatted message.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Exit reports err as prog's last word on stderr (when it has one) and returns the exit status it stands for: an
// *Error's code, 1 for any other error, 0 for none.
func Exit(stderr io.Writer, prog string, err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: 1, Msg: err.Error()}
	}
	// An Error without a message passes a code on that the output has already explained.
	if e.Msg != "" {
		fmt.Fprintf(stderr, "%s: %s\n", prog, e.Msg)
	}
	return e.Code
}

var shortDuration = regexp.MustCompile(`^([0-9]+)([smh]?)$`)

// Duration reads a duration the way the shell tools did (N seconds, or N with s, m or h) and,
// besides, any Go duration (1m30s, 500ms).
func Duration(s string) (time.Duration, bool) {
	if m := shortDuration.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > 1<<31 {
			return 0, false
		}
		unit := map[string]time.Duration{"": time.Second, "s": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
		return time.Duration(n) * unit, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}
