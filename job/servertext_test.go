package main

// Text the job does not control reaches its output: a server's error message, and through a
// trigger's RAISE, a user's name. CloudWatch splits the container's output into records at line
// breaks, so a line break in that text must not start a record of its own: a forged EMF success
// would silence the missed-run alarm.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/tally/uptime/internal/contract"
)

// forgedRecord is what an attacker would like CloudWatch to read as the job's metrics.
const forgedRecord = `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"TallyUptime","Dimensions":[["Environment"]],` +
	`"Metrics":[{"Name":"RunSucceeded","Unit":"Count"}]}]},"Environment":"test","RunSucceeded":1}`

// injected is server text that, written raw, puts forgedRecord on a line of its own.
const injected = "so it goes\n" + forgedRecord + "\r\nand on"

// oneRecordPerLine checks the job's whole output as CloudWatch would read it (stdout and stderr
// in one stream, split at line breaks): every stdout line is one JSON record (wait checks that),
// stderr is one line, and the only EMF record is the job's own, a failure.
func oneRecordPerLine(t *testing.T, r result) {
	t.Helper()
	r.oneStderrLine(t, `\n`) // the line break is there, escaped
	var emf int
	for _, line := range strings.Split(r.Stdout+r.Stderr, "\n") {
		if strings.ContainsRune(line, '\r') {
			t.Errorf("a carriage return in the output: %q", line)
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["_aws"] != nil {
			emf++
		}
	}
	if emf != 1 {
		t.Errorf("%d lines of the output read as EMF records, want the job's 1\nstdout:\n%s\nstderr:\n%s", emf, r.Stdout, r.Stderr)
	}
	if m := r.metrics(t); m["RunSucceeded"] != 0.0 || m["RunFailed"] != 1.0 {
		t.Errorf("EMF %v, want a failure", m)
	}
}

// fatalServer accepts connections on loopback, reads the startup message and answers with a
// FATAL ErrorResponse whose message is msg, as a server (or whatever answers in its place) may.
func fatalServer(t *testing.T, msg string) (port int) {
	t.Helper()
	return serveLoopback(t, func(c net.Conn) {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))-4); err != nil {
			return
		}
		_, _ = c.Write(errorResponse("FATAL", "28P01", msg))
	})
}

// serveLoopback answers every connection to a new loopback port with serve, each on its own
// goroutine, and closes the connection after it; all of it ends with the test.
func serveLoopback(t *testing.T, serve func(net.Conn)) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { _ = c.Close() }()
				serve(c)
			})
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// errorResponse is a protocol 3 ErrorResponse message.
func errorResponse(severity, code, msg string) []byte {
	var fields []byte
	for _, f := range [][2]string{{"S", severity}, {"V", severity}, {"C", code}, {"M", msg}} {
		fields = append(append(append(fields, f[0]...), f[1]...), 0)
	}
	fields = append(fields, 0)
	out := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(4+len(fields))) //nolint:gosec // a few hundred bytes
	return append(out, fields...)
}

// A server's FATAL message with line breaks in it stays on the job's one stderr line.
func TestServerFatalCannotForgeARecord(t *testing.T) {
	t.Parallel()
	port := fatalServer(t, "password authentication failed, "+injected)
	r := runJob(t, jobEnv(fmt.Sprintf("postgres://tally:secret@127.0.0.1:%d/tally?sslmode=disable", port)))
	r.expect(t, contract.ExitRuntime)
	oneRecordPerLine(t, r)
	r.oneStderrLine(t, "password authentication failed", `"RunSucceeded":1}\r\nand on`)
}

// A trigger that quotes a user's name in its RAISE: the name is the user's to choose.
func TestTriggerRaiseCannotForgeARecord(t *testing.T) {
	t.Parallel()
	db := sampleDB(t)
	mustExec(t, db, `UPDATE users_user SET name = $1 WHERE email = 'ada@example.com'`, "Ada "+injected)
	mustExec(t, db, `
		CREATE FUNCTION public.refuse_uptime() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		    RAISE EXCEPTION 'no uptime for %', (SELECT name FROM public.users_user WHERE id = NEW.user_id);
		END $$;
		CREATE TRIGGER refuse_uptime BEFORE INSERT ON contributions_contribution
		    FOR EACH ROW EXECUTE FUNCTION public.refuse_uptime();`)
	before := snapshot(t, db)
	r := runJob(t, jobEnv(db.URL), "--user", "ada@example.com")
	r.expect(t, contract.ExitRuntime)
	oneRecordPerLine(t, r)
	r.oneStderrLine(t, "no uptime for Ada so it goes", `"RunSucceeded":1}\r\nand on`)
	unchanged(t, db, before)
}
