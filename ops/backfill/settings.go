package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tally/uptime/job/config"
	"github.com/tally/uptime/ops/cli"
	"golang.org/x/term"
)

// checkFlags is the job's own check of a run's flags over the task's UPTIME_ variables: a flag
// the task would refuse is refused here, before anything starts.
func checkFlags(effective func([]string, map[string]string) ([]config.Setting, error), flags []string, env map[string]string) ([]config.Setting, error) {
	settings, err := effective(flags, env)
	if err != nil {
		return nil, cli.Errorf(2, "the job refuses these flags, so no task was started: %v", err)
	}
	return settings, nil
}

// printSettings shows what the run will do before anyone confirms it.
func printSettings(w io.Writer, o options, t target, settings []config.Setting) {
	given := strings.Join(o.flags, " ")
	if given == "" {
		given = "none"
	}
	fmt.Fprintf(w, "environment:  %s (stack %s, task definition %s)\n", o.env, t.stack, t.taskDef)
	fmt.Fprintf(w, "flags given:  %s\n", given)
	fmt.Fprintf(w, "settings:     (a flag given, else the task's UPTIME_ variable, else the job's default)\n")
	for _, s := range settings {
		fmt.Fprintf(w, "              %-34s %s\n", "--"+s.Flag+"="+s.Value, s.Source)
	}
}

// Terminal asks the operator a question; ErrNoTerminal when there is no one to ask.
type Terminal interface {
	// Available tells, before anything is read from AWS, whether Ask can ask at all.
	Available() bool
	Ask(ctx context.Context, question string) (string, error)
}

// ErrNoTerminal is Terminal.Ask's answer when standard input is not a terminal.
var ErrNoTerminal = errors.New("no terminal")

// TTY is the controlling terminal, used only when standard input is one: a run piped or
// scheduled has no one at the keyboard, even if a terminal is open elsewhere.
type TTY struct{}

// Available implements Terminal.
func (TTY) Available() bool {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return false
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	_ = tty.Close()
	return true
}

// Ask implements Terminal on /dev/tty.
func (t TTY) Ask(ctx context.Context, question string) (string, error) {
	if !t.Available() {
		return "", ErrNoTerminal
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", ErrNoTerminal
	}
	defer func() { _ = tty.Close() }() // read only: nothing to lose
	if _, err := fmt.Fprint(tty, question); err != nil {
		return "", fmt.Errorf("write the question to the terminal: %w", err)
	}
	answer := make(chan string, 1)
	go func() {
		var line string
		_, _ = fmt.Fscanln(tty, &line)
		answer <- line
	}()
	select {
	case a := <-answer:
		return a, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// confirm asks for the environment's name where the stack is production. Termination
// protection is how infra marks production, so any protected stack asks; the name prod asks
// too, as a fail-safe while its protection is switched off (docs/deploy.md, before removing it).
func confirm(ctx context.Context, d Deps, o options, t target) error {
	if o.env != "prod" && !t.protected {
		return nil
	}
	if o.yes {
		fmt.Fprintf(d.Stderr, "backfill: %s is protected; confirmed with --yes\n", t.stack)
		return nil
	}
	if !d.Terminal.Available() {
		return noTerminal(t.stack)
	}
	answer, err := d.Terminal.Ask(ctx, fmt.Sprintf("backfill: start this run in %s with the settings above? Type %s to confirm: ", o.env, o.env))
	switch {
	case errors.Is(err, ErrNoTerminal):
		return noTerminal(t.stack)
	case ctx.Err() != nil:
		return cli.Errorf(130, "interrupted: no task was started.")
	case err != nil:
		return cli.Errorf(1, "could not ask for confirmation: %v", err)
	case strings.TrimSpace(answer) != o.env:
		return cli.Errorf(1, "not confirmed: no task was started.")
	}
	return nil
}

func noTerminal(stack string) error {
	return cli.Errorf(2, "%s is production and there is no terminal to confirm on: run this in a terminal and answer the prompt, or pass --yes to confirm.", stack)
}
