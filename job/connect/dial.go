package connect

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// Paths that cannot exist (/dev/null is not a directory), for the files lib/pq v1.12.3 would read
// otherwise: ~/.pgpass when the URL has no password (conn.go:270, internal/pgpass), and, with
// TLS, ~/.postgresql/postgresql.crt and .key when sslcert is empty (ssl.go:195-197); a missing
// sslcert is no client certificate (ssl.go:201-205), and the key is then never looked at. The
// job's credentials come from the URL only, and it presents no client certificate.
const (
	absentFile = "/dev/null/pgpass"
	absentCert = "/dev/null/postgresql.crt"
	absentKey  = "/dev/null/postgresql.key"
)

// abandonAfter is how long a connection may still take once the run's context has ended (to roll
// back, to send a cancel): past it every read and write fails, so a frozen network path cannot
// keep the job waiting for an answer that will never come.
const abandonAfter = 5 * time.Second

// Socket options for a network that may drop packets without a word: probe an idle connection
// after 15 s, give up after 3 probes 5 s apart, and abort when sent data stays unacknowledged 30 s.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}

const userTimeout = 30 * time.Second

// minAttempt is the least time one connection attempt gets, however little of --db-wait is left:
// a TLS handshake and the startup exchange with a busy server can take a few seconds.
const minAttempt = 5 * time.Second

// defaultStartupLimit bounds one connection attempt when the URL has no connect_timeout.
const defaultStartupLimit = 15 * time.Second

// startupLimit bounds one connection attempt, the TLS handshake and the startup exchange
// included: the URL's connect_timeout (defaultStartupLimit without one), but never longer than
// wait (--db-wait, how long the operator gives the database to answer) or shorter than
// minAttempt. A server that accepts and never answers held the job for the whole connect_timeout
// otherwise (lib/pq's startup does not watch the context), whatever --db-wait said. lib/pq sets it
// as the connection's deadline right after dialing (conn.go:435-456), so it bounds the SSLRequest,
// the handshake and the startup, and clears it once started (conn.go:302-304).
func startupLimit(connectTimeout, wait time.Duration) time.Duration {
	limit := connectTimeout
	if limit == 0 {
		limit = defaultStartupLimit // lib/pq waits forever for the startup exchange otherwise
	}
	return min(limit, max(wait, minAttempt))
}

// connector is how database/sql opens the job's sessions: lib/pq speaks the protocol and, for a
// TLS target, does the TLS itself against the job's roots; the job's dialer goes only to the
// target, with keepalives and TCP_USER_TIMEOUT.
type connector struct {
	target     Target
	life       context.Context
	cfg        pq.Config
	unregister func() // removes the TLS configuration lib/pq was given, if any
}

// Connector builds lib/pq's configuration field by field: lib/pq's own DSN parsing (pq.NewConfig)
// would read PG* variables and service files; pq.NewConnectorConfig reads nothing
// (connector.go:205-207). life is the
// run: once it ends, connections have abandonAfter left. wait is --db-wait. The sql.DB opened with
// it must be closed, which removes the TLS configuration registered with lib/pq.
func (t Target) Connector(life context.Context, wait time.Duration) (driver.Connector, error) {
	c := &connector{target: t, life: life, cfg: pq.Config{
		Host: t.Host, Port: t.Port, Database: t.Database, User: t.User, Password: t.password,
		Passfile: absentFile, SSLCert: absentCert, SSLKey: absentKey,
		ApplicationName: t.ApplicationName,
		// Without TLS the dialer has checked that the path stays on this machine.
		SSLMode:        pq.SSLModeDisable,
		SSLNegotiation: pq.SSLNegotiationPostgres, // SSLRequest first: every PostgreSQL version answers it
		// lib/pq sets the handshake's lowest version from here (ssl.go:121). SSLSNI stays false:
		// the registered ServerName, the URL's host, is the name both sent and verified (ssl.go:127).
		SSLMinProtocolVersion: pq.SSLProtocolVersionTLS12,
		ConnectTimeout:        startupLimit(t.ConnectTimeout, wait),
		ClientEncoding:        "UTF8",
		Datestyle:             "ISO, MDY",
		MinProtocolVersion:    "3.0",
		MaxProtocolVersion:    "3.0",
	}}
	if t.TLS {
		// SSLRootCert stays empty: lib/pq then leaves the registered roots alone (ssl.go:237-239)
		// and, in a pqgo- mode, does not look for ~/.postgresql/root.crt (ssl.go:75 and
		// connector.go:74-79: useSSL is false for it). The URL's sslrootcert is read by rootPool.
		cfg, err := t.tlsConfig()
		if err != nil {
			return nil, err
		}
		if c.cfg.SSLMode, c.unregister, err = registerTLS(cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Connect opens one session. Each gets a dialer of its own, which keeps what the connection saw
// of the server's answer to the SSLRequest for the error.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	d := &dialer{target: c.target, tls: c.target.TLS, life: c.life}
	pc, err := pq.NewConnectorConfig(c.cfg)
	if err != nil {
		return nil, fmt.Errorf("configure the driver: %w", err)
	}
	pc.Dialer(d)
	conn, err := pc.Connect(ctx)
	if err != nil {
		return nil, d.last.Load().reword(err)
	}
	return conn, nil
}

func (c *connector) Driver() driver.Driver { return &pq.Driver{} }

// Close is called by sql.DB's Close.
func (c *connector) Close() error {
	if c.unregister != nil {
		c.unregister()
	}
	return nil
}

type dialer struct {
	target Target
	tls    bool // lib/pq sends an SSLRequest first
	life   context.Context
	// last is what the last connection made saw of the answer to the SSLRequest: Connect's own
	// until it returns, after which lib/pq may dial again to send a cancel request.
	last atomic.Pointer[answer]
}

func (d *dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext ignores the network and address lib/pq computed: the job dials only its Target.
func (d *dialer) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	conn, err := d.dialTarget(ctx)
	if err != nil {
		return nil, err
	}
	if d.tls {
		a := &answer{}
		d.last.Store(a)
		conn = &answerConn{Conn: conn, answer: a}
	}
	return watch(d.life, conn), nil
}

func (d *dialer) dialTarget(ctx context.Context) (net.Conn, error) {
	nd := net.Dialer{KeepAliveConfig: keepAlive, Control: setUserTimeout}
	t := d.target
	port := strconv.Itoa(int(t.Port))
	if t.Unix() {
		return nd.DialContext(ctx, "unix", filepath.Join(t.Host, ".s.PGSQL."+port))
	}
	if d.tls {
		return nd.DialContext(ctx, "tcp", net.JoinHostPort(t.Host, port))
	}
	// Without TLS, only to loopback: decide on the addresses the name resolves to, not on the name.
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", t.Host, err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return nil, fmt.Errorf("%s resolves to %s, which is not loopback: the job connects without TLS only to loopback", t.Host, a)
		}
	}
	err = fmt.Errorf("resolve %s: no address", t.Host)
	for _, a := range addrs { // localhost is often ::1 and 127.0.0.1, and a server may listen on one
		var conn net.Conn
		if conn, err = nd.DialContext(ctx, "tcp", netip.AddrPortFrom(a.Unmap(), t.Port).String()); err == nil {
			return conn, nil
		}
	}
	return nil, err
}

// watchedConn gets a deadline abandonAfter from the moment the run's context ends.
type watchedConn struct {
	net.Conn
	stop func() bool
}

func watch(life context.Context, c net.Conn) net.Conn {
	if life == nil {
		return c
	}
	w := &watchedConn{Conn: c}
	w.stop = context.AfterFunc(life, func() { _ = c.SetDeadline(time.Now().Add(abandonAfter)) })
	return w
}

func (w *watchedConn) Close() error {
	w.stop()
	return w.Conn.Close()
}
