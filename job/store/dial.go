package store

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"time"

	"github.com/lib/pq"
)

// absentFile is a path that cannot exist (/dev/null is not a directory): lib/pq reads ~/.pgpass
// or $PGPASSFILE when the URL has no password, and the job's credentials come from the URL only.
const absentFile = "/dev/null/pgpass"

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

// startupLimit bounds one connection attempt, the TLS handshake and the startup exchange
// included: the URL's connect_timeout (handshakeTimeout without one), but never longer than wait
// (--db-wait, how long the operator gives the database to answer) or shorter than minAttempt. A
// server that accepts and never answers held the job for the whole connect_timeout otherwise
// (lib/pq's startup does not watch the context), whatever --db-wait said.
func startupLimit(connectTimeout, wait time.Duration) time.Duration {
	limit := connectTimeout
	if limit == 0 {
		limit = handshakeTimeout // lib/pq waits forever for the startup exchange otherwise
	}
	return min(limit, max(wait, minAttempt))
}

// connector builds lib/pq's configuration field by field (lib/pq's own DSN parsing would read PG*
// variables and service files) and gives it a dialer that goes only to t, verifying TLS itself.
// life is the run: once it ends, connections have abandonAfter left. wait is --db-wait.
func (t Target) connector(life context.Context, wait time.Duration) (*pq.Connector, error) {
	d := &dialer{target: t, life: life}
	if t.TLS {
		cfg, err := t.tlsConfig()
		if err != nil {
			return nil, err
		}
		d.tls = cfg
	}
	c, err := pq.NewConnectorConfig(pq.Config{
		Host: t.Host, Port: t.Port, Database: t.Database, User: t.User, Password: t.password,
		Passfile: absentFile,
		// A run of the job is known by its application_name (lock.go ends only such sessions).
		ApplicationName: cmp.Or(t.ApplicationName, ApplicationName),
		// TLS is the dialer's: lib/pq speaks the protocol over a connection already verified.
		SSLMode:            pq.SSLModeDisable,
		ConnectTimeout:     startupLimit(t.ConnectTimeout, wait),
		ClientEncoding:     "UTF8",
		Datestyle:          "ISO, MDY",
		MinProtocolVersion: "3.0",
		MaxProtocolVersion: "3.0",
	})
	if err != nil {
		return nil, fmt.Errorf("configure the driver: %w", err)
	}
	c.Dialer(d)
	return c, nil
}

type dialer struct {
	target Target
	tls    *tls.Config
	life   context.Context
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
	if d.tls != nil {
		if conn, err = startTLS(ctx, conn, d.tls); err != nil {
			return nil, err
		}
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
	if d.tls != nil {
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
