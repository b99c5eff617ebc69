// Package connect is how the job reaches its PostgreSQL server: DATABASE_URL read into explicit
// fields (dsn.go), the roots the server is verified against (the Amazon RDS bundle and the
// system's, from fixed paths), and a connector on which lib/pq does verify-full TLS over a dialer
// that goes only to that server, with keepalives and TCP_USER_TIMEOUT. Nothing else (PG*
// variables, service, password or certificate files) changes where or how it connects.
package connect

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Target is where and how the job connects, read from DATABASE_URL alone: every field is explicit
// so that nothing else (PG* variables, service or password files) can change it. Its String is
// what may be printed: host, port and database, never the password.
type Target struct {
	Host     string // a DNS name or an IP address; for a Unix socket, the socket's directory
	Port     uint16
	Database string
	User     string
	// TLS is false only for a Unix socket or a loopback host with sslmode=disable; otherwise the
	// server must present a certificate for Host that chains to RootCert's CAs.
	TLS bool
	// RootCert is the sslrootcert file; "" means the Amazon RDS bundle plus the system roots,
	// "system" the system roots alone.
	RootCert        string
	ApplicationName string
	ConnectTimeout  time.Duration
	password        string
}

// String names the server without the password, for messages.
func (t Target) String() string {
	if t.Unix() {
		return fmt.Sprintf("Unix socket in %s port %d database %s", t.Host, t.Port, t.Database)
	}
	return fmt.Sprintf("host %s port %d database %s", t.Host, t.Port, t.Database)
}

// GoString keeps %#v from printing the password field.
func (t Target) GoString() string { return "connect.Target{" + t.String() + "}" }

// Unix reports whether the target is a Unix-domain socket.
func (t Target) Unix() bool { return filepath.IsAbs(t.Host) }

// Password is the password sent to the server, for the driver's configuration only.
func (t Target) Password() string { return t.password }

// URLError is a DATABASE_URL the job will not use. Its message never repeats any part of the
// URL's text: with an unencoded special character in the password, any part could be a piece of it.
type URLError struct{ msg string }

func (e *URLError) Error() string { return e.msg }

const urlForm = "postgres://user:password@host:port/dbname"

func urlErrorf(format string, args ...any) error {
	return &URLError{msg: "DATABASE_URL " + fmt.Sprintf(format, args...)}
}

// ParseURL reads DATABASE_URL into a Target, refusing any shape whose meaning is in doubt.
func ParseURL(raw string) (Target, error) {
	switch {
	case raw == "":
		return Target{}, &URLError{msg: "DATABASE_URL is not set: give it a " + urlForm + " URL"}
	case !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://"):
		if strings.Contains(raw, "=") && !strings.Contains(raw, "://") {
			return Target{}, urlErrorf("is a key=value connection string; the job takes only a %s URL", urlForm)
		}
		return Target{}, urlErrorf("is not a %s URL", urlForm)
	}
	_, rest, _ := strings.Cut(raw, "://")
	if end := strings.IndexAny(rest, "/?#"); end >= 0 && strings.Contains(rest[end:], "@") {
		// net/url would take the part of the password before the / ? or # for the host.
		return Target{}, urlErrorf("has an @ after its host: percent-encode @ / ? # and : in the password (%%40 %%2F %%3F %%23 %%3A)")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || u.Opaque != "" {
		return Target{}, urlErrorf("is not a valid %s URL (percent-encode special characters in the password)", urlForm)
	}
	t := Target{Host: u.Hostname(), Port: 5432, Database: strings.TrimPrefix(u.Path, "/")}
	if u.User != nil {
		t.User = u.User.Username()
		t.password, _ = u.User.Password()
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return Target{}, urlErrorf("has a port that is not a number from 1 to 65535")
		}
		t.Port = uint16(n)
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Target{}, urlErrorf("has a query string that does not parse")
	}
	sslmode, err := t.applyQuery(query)
	if err != nil {
		return Target{}, err
	}
	if err := t.check(); err != nil {
		return Target{}, err
	}
	return t, t.chooseTLS(sslmode)
}

// Parameters the job reads from the query string. The connection's identity (host, hostaddr,
// port, dbname, user) belongs in the URL's own parts; as parameters they are accepted only when
// they say the same, because a parameter pointing elsewhere is how a URL is made to lie.
var (
	queryParams    = []string{"sslmode", "sslrootcert", "application_name", "connect_timeout", "password"}
	identityParams = []string{"host", "hostaddr", "port", "dbname", "user"}
)

func (t *Target) applyQuery(query url.Values) (sslmode string, err error) {
	for _, key := range slices.Sorted(maps.Keys(query)) {
		values := query[key]
		if len(values) != 1 {
			return "", urlErrorf("gives the parameter %s more than once", safeKey(key))
		}
		v := values[0]
		switch key {
		case "sslmode":
			sslmode = v
		case "sslrootcert":
			t.RootCert = v
		case "application_name":
			t.ApplicationName = v
		case "connect_timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return "", urlErrorf("has a connect_timeout that is not a whole number of seconds")
			}
			t.ConnectTimeout = time.Duration(n) * time.Second
		case "password":
			if t.password != "" {
				return "", urlErrorf("has a password both in its user part and in a parameter; keep one")
			}
			t.password = v
		default:
			if err := t.sameIdentity(key, v); err != nil {
				return "", err
			}
		}
	}
	return sslmode, nil
}

// sameIdentity accepts an identity parameter only when it agrees with the URL, except that a URL
// without a host may name a Unix socket directory with host=/path, libpq's way of writing one.
func (t *Target) sameIdentity(key, v string) error {
	if !slices.Contains(identityParams, key) {
		return urlErrorf("has the parameter %s, which the job does not use; it reads only %s",
			safeKey(key), strings.Join(queryParams, ", "))
	}
	same := false
	switch key {
	case "host":
		if t.Host == "" && filepath.IsAbs(v) {
			t.Host = v
			return nil
		}
		same = v == t.Host
	case "hostaddr":
		a, err := netip.ParseAddr(v)
		h, herr := netip.ParseAddr(t.Host)
		same = err == nil && herr == nil && a == h
	case "port":
		same = v == strconv.Itoa(int(t.Port))
	case "dbname":
		same = v == t.Database
	case "user":
		same = v == t.User
	}
	if !same {
		return urlErrorf("has a %s parameter that differs from the URL's own %s: put the server's address, port, database and user only in the URL's parts", key, key)
	}
	return nil
}

// safeKey is a parameter name fit to print: names are not secret, but an odd one is not repeated.
func safeKey(key string) string {
	if len(key) <= 40 && strings.Trim(key, "abcdefghijklmnopqrstuvwxyz_") == "" && key != "" {
		return key
	}
	return "(a name that is not shown)"
}

func (t *Target) check() error {
	switch {
	case t.Host == "":
		return urlErrorf("names no host: give it a %s URL", urlForm)
	case strings.Contains(t.Host, ","):
		return urlErrorf("names several hosts; the job connects to exactly one")
	case t.Database == "" || strings.Contains(t.Database, "/"):
		return urlErrorf("names no database, or more than one path segment: end it with /dbname")
	case t.User == "":
		return urlErrorf("names no user: give it a %s URL", urlForm)
	}
	return nil
}

// chooseTLS turns sslmode into verify-full or, where the bytes never leave the machine, none.
func (t *Target) chooseTLS(sslmode string) error {
	if t.Unix() {
		return nil // PostgreSQL has no TLS on Unix sockets; the kernel is the only path
	}
	switch sslmode {
	case "", "verify-full":
		t.TLS = true
		return nil
	case "disable":
		if !loopbackHost(t.Host) {
			return urlErrorf("has sslmode=disable for a host that is not loopback: remove sslmode so that the job verifies the server (verify-full)")
		}
		return nil
	case "require", "prefer", "allow", "verify-ca":
		return urlErrorf("has sslmode=%s, which does not verify the server's name; remove sslmode or use sslmode=verify-full", sslmode)
	default:
		return urlErrorf("has an unknown sslmode; use verify-full (the default) or, for a loopback host, disable")
	}
}

// loopbackHost reports a host whose traffic stays on this machine: a loopback address, or the
// name localhost (which the dialer also checks resolves to loopback only).
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
