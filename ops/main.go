// Command ops is the operator tool of tally-uptime: one Go command for what on-call does by
// hand, built on the job's own flag table (job/config) and the contract (internal/contract).
//
//	go run ./ops backfill ENV [--yes] [--result-json FILE] [job flags]   one run of the job, now
//	go run ./ops runs ENV [N]                                            the last runs
//	go run ./ops target ENV deploy|diff                                  a workflow's region and role
//
// scripts/backfill.sh, scripts/runs.sh and scripts/aws-target.sh call it. This file only wires:
// each command is a package of its own.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tally/uptime/ops/backfill"
	"github.com/tally/uptime/ops/cloud"
	"github.com/tally/uptime/ops/runs"
	"github.com/tally/uptime/ops/target"
)

const usage = `Usage: go run ./ops COMMAND ARGS...

  backfill ENV [--yes] [--result-json FILE] [job flags]   run the job once, now (scripts/backfill.sh)
  runs ENV [N]                                            list the last runs (scripts/runs.sh)
  target ENV deploy|diff                                  a workflow's region and role (scripts/aws-target.sh)

go run ./ops COMMAND --help says more.
`

func main() {
	// Ctrl-C and SIGTERM end ctx: a command says what it leaves behind and exits 130.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func connect(ctx context.Context) (cloud.API, error) { return cloud.Load(ctx) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "backfill":
		return backfill.Run(ctx, args[1:], backfill.Deps{
			Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, AWS: connect, Terminal: backfill.TTY{},
		})
	case "runs":
		return runs.Run(ctx, args[1:], runs.Deps{Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, AWS: connect})
	case "target":
		return target.Run(args[1:], os.Getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "ops: unknown command %q\n%s", args[0], usage)
	return 2
}
