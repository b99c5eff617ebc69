package connect_test

// These tests were written in package store, whose Open then read DATABASE_URL itself, and they
// test what the job does end to end: connect.ParseURL, then store.Open's attempts with this
// package's connector. So they live in package connect_test (store imports connect; a test in
// package connect could not import store), and the names below let every test read and assert
// exactly as it did.

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/tally/uptime/job/connect"
	"github.com/tally/uptime/job/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Open is store.Open given DATABASE_URL's text, read as the job's configuration reads it.
func Open(ctx context.Context, databaseURL string, wait time.Duration, log *slog.Logger) (*sqlx.DB, error) {
	target, err := connect.ParseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, target, wait, log)
}

var (
	ParseURL         = connect.ParseURL
	ErrNoTLS         = connect.ErrNoTLS
	errNotPostgreSQL = connect.ErrNotPostgreSQL
	systemRoots      = connect.SystemRoots
	untrusted        = connect.Untrusted
)

type beforeTLSError = connect.BeforeTLSError

// sslRequest is PostgreSQL's SSLRequest message (length 8, code 80877103), which lib/pq sends
// first on a connection with TLS to come.
var sslRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
