// Command job is the uptime job's container entrypoint: it reads its flags and environment,
// runs the uptime generator in one transaction against DATABASE_URL, logs JSON, reports one
// CloudWatch EMF record, and exits with a code that ECS reports (command.go says how).
package main

import (
	"os"
	"strings"
	"time"
)

func main() {
	stdout, stderr := newBoundedWriter(os.Stdout), newBoundedWriter(os.Stderr)
	exitProcess = func(code int) {
		deadline := time.Now().Add(flushLimit)
		stdout.Flush(time.Until(deadline))
		stderr.Flush(time.Until(deadline))
		os.Exit(code)
	}
	exitProcess(run(os.Args[1:], environ(), stdout, stderr))
}

// exitProcess ends the process with code once the output has been written, or has had
// flushLimit to be.
var exitProcess = os.Exit

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}
