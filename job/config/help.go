package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/tally/uptime/internal/contract"
)

// Help is --help: the flags from the flag table and the exit codes from the contract, so that the
// help can describe nothing the job does not do.
func Help() string { return helpText }

var helpText = buildHelp()

const helpIntro = `Usage: job [flags]

Gives every Tally user one Uptime contribution for each UTC day, from the day of their first
Uptime contribution to today, that does not have one yet; then refreshes the global and
category leaderboards of the users who got new contributions and re-ranks every board.
Everything happens in one transaction: a failure or a stop leaves the database as it was.
`

const helpWidth = 100

func buildHelp() string {
	var b strings.Builder
	b.WriteString(helpIntro)
	b.WriteString("\nFlags (each can also be set by its variable; a flag wins):\n")
	defaults := defaults(nil, time.Time{})
	fs := defaults.flagSet()
	for _, f := range flagTable {
		use := strings.TrimSpace("--" + f.name + " " + f.arg)
		variable := ""
		if !f.command {
			variable = contract.Variable(f.name)
		}
		text := f.help
		if d := fs.Lookup(f.name).DefValue; f.arg != "" && d != "" { // a switch is off by default
			text += " (default " + shortDuration(d) + ")"
		}
		writeItem(&b, fmt.Sprintf("  %-21s %-17s", use, variable), text)
	}
	writeItem(&b, fmt.Sprintf("  %-39s", "--help"), "this text")
	b.WriteString("\nEnvironment:\n")
	writeItem(&b, fmt.Sprintf("  %-21s", contract.DatabaseURLVariable), "required: postgres://user:password@host:port/dbname "+
		"(TLS verify-full; see docs/deploy.md for sslrootcert and sslmode=disable)")
	writeItem(&b, fmt.Sprintf("  %-21s", contract.EnvironmentVariable), "the "+contract.DimensionEnvironment+
		" dimension of the CloudWatch metrics (default "+DefaultEnvironment+")")
	fmt.Fprintf(&b, "  Any other %s variable is refused as a likely typo.\n", contract.VariablePrefix)
	writeExits(&b)
	fmt.Fprintf(&b, "\nOutput: JSON log records on stdout, one \"run summary\" record, and one CloudWatch Embedded\n"+
		"Metric Format record (namespace %s, dimension %s; %s also by\n%s and %s) that carries the version, "+
		"revision and error class of the run.\n", contract.Namespace, contract.DimensionEnvironment,
		contract.DurationSeconds.Name, contract.DimensionEnvironment, contract.DimensionRunKind)
	fmt.Fprintf(&b, "\nExample: backfill January for one user, first as a dry run:\n"+
		"  %s='postgres://tally:secret@localhost:5432/tally?sslmode=disable' \\\n"+
		"    job --%s 2026-01-01 --%s 2026-01-31 --%s ada@example.com --%s\n",
		contract.DatabaseURLVariable, contract.FlagFrom, contract.FlagTo, contract.FlagUser, contract.FlagDryRun)
	return b.String()
}

// writeExits lists the job's own exit codes, then those the container runtime reports when a
// signal ended the process.
func writeExits(b *strings.Builder) {
	b.WriteString("\nExit codes:\n")
	for _, e := range contract.Exits {
		if !e.Signal {
			writeItem(b, fmt.Sprintf("  %-3d", e.Code), e.Meaning)
		}
	}
	b.WriteString("Exit codes the container runtime reports when a signal ended the job:\n")
	for _, e := range contract.Exits {
		if e.Signal {
			writeItem(b, fmt.Sprintf("  %-3d", e.Code), e.Meaning)
		}
	}
}

// writeItem writes head, then text wrapped to helpWidth with its continuation lines indented
// under the text's first line.
func writeItem(b *strings.Builder, head, text string) {
	indent := strings.Repeat(" ", len(head)+1)
	line := head
	for i, word := range strings.Fields(text) {
		if i > 0 && len(line)+1+len(word) > helpWidth {
			b.WriteString(line + "\n")
			line = indent[:len(indent)-1]
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
}
