package connect

import (
	"context"
	"database/sql"
	"testing"

	"github.com/lib/pq"
)

// lib/pq's registry of TLS configurations is global: each connector adds one, and closing the
// sql.DB (which closes its connector) removes it, so that a process opening many does not keep
// every set of roots. pq.NewConfig refuses a pqgo- sslmode that names no registered configuration
// (connector.go:884).
func TestClosingForgetsTheTLSConfiguration(t *testing.T) {
	target := Target{Host: "db.example.com", Port: 5432, Database: "tally", User: "tally", TLS: true}
	c, err := target.Connector(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	mode := string(c.(*connector).cfg.SSLMode)
	if _, err := pq.NewConfig("sslmode=" + mode); err != nil {
		t.Fatalf("sslmode=%s while the connector is open: %v", mode, err)
	}
	if err := sql.OpenDB(c).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pq.NewConfig("sslmode=" + mode); err == nil {
		t.Errorf("sslmode=%s is still registered after Close", mode)
	}
}
