package connect_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/tally/uptime/internal/testdb"
)

// urlShape is a DATABASE_URL with PW where the password goes, as written (not encoded).
type urlShape struct {
	name string
	url  string
	// wantErr is a part of the refusal; "" means the URL is accepted.
	wantErr  string
	password string // the decoded password an accepted URL must yield for pw1
	tls      bool
	unix     bool
}

const (
	pw1 = "Zq8wXv3Lp"
	pw2 = "Hk2rTm9Ys" // the same shape: a message that changes with it depends on the password
)

var urlShapes = []urlShape{
	{name: "plain", url: "postgres://tally:PW@db.example.com:5432/tally", password: pw1, tls: true},
	{name: "postgresql scheme, default port", url: "postgresql://tally:PW@db.example.com/tally", password: pw1, tls: true},
	{name: "verify-full", url: "postgres://tally:PW@db.example.com/tally?sslmode=verify-full", password: pw1, tls: true},
	{name: "sslrootcert", url: "postgres://tally:PW@10.1.2.3/tally?sslrootcert=/etc/ca.pem", password: pw1, tls: true},
	{name: "encoded specials", url: "postgres://tally:PW%40%2F%3F%23%3A@db.example.com/tally", password: pw1 + "@/?#:", tls: true},
	{name: "unencoded @ in the password", url: "postgres://tally:PW@x@db.example.com/tally", password: pw1 + "@x", tls: true},
	{name: "unencoded : in the password", url: "postgres://tally:PW:x@db.example.com/tally", password: pw1 + ":x", tls: true},
	{name: "unencoded / in the password", url: "postgres://tally:PW/x@db.example.com/tally", wantErr: "percent-encode"},
	{name: "unencoded ? in the password", url: "postgres://tally:12?PW@db.example.com/tally", wantErr: "percent-encode"},
	{name: "unencoded # in the password", url: "postgres://tally:PW#x@db.example.com/tally", wantErr: "percent-encode"},
	{name: "password starting with /", url: "postgres://tally:/PW@db.example.com/tally", wantErr: "percent-encode"},
	{name: "password as a parameter", url: "postgres://tally@db.example.com/tally?password=PW", password: pw1, tls: true},
	{name: "password twice", url: "postgres://tally:PW@db.example.com/tally?password=PW", wantErr: "both"},
	{name: "key=value DSN", url: "host=db.example.com user=tally password=PW dbname=tally", wantErr: "key=value"},
	{name: "not postgres", url: "mysql://tally:PW@db.example.com/tally", wantErr: "is not a"},
	{name: "bad port", url: "postgres://tally:PW@db.example.com:port/tally", wantErr: "not a valid"},
	{name: "port out of range", url: "postgres://tally:PW@db.example.com:70000/tally", wantErr: "port"},
	{name: "bad escape", url: "postgres://tally:PW%zz@db.example.com/tally", wantErr: "not a valid"},
	{name: "unclosed IPv6", url: "postgres://tally:PW@[::1/tally", wantErr: "not a valid"},
	{name: "no host", url: "postgres://tally:PW@/tally", wantErr: "no host"},
	{name: "no database", url: "postgres://tally:PW@db.example.com", wantErr: "no database"},
	{name: "no user", url: "postgres://db.example.com/tally", wantErr: "no user"},
	{name: "two hosts", url: "postgres://tally:PW@db1.example.com,db2.example.com/tally", wantErr: "several hosts"},
	{name: "sslmode=require", url: "postgres://tally:PW@db.example.com/tally?sslmode=require", wantErr: "verify-full"},
	{name: "sslmode=prefer", url: "postgres://tally:PW@db.example.com/tally?sslmode=prefer", wantErr: "verify-full"},
	{name: "sslmode=allow", url: "postgres://tally:PW@db.example.com/tally?sslmode=allow", wantErr: "verify-full"},
	{name: "sslmode=verify-ca", url: "postgres://tally:PW@db.example.com/tally?sslmode=verify-ca", wantErr: "verify-full"},
	{name: "sslmode unknown", url: "postgres://tally:PW@db.example.com/tally?sslmode=maybe", wantErr: "unknown sslmode"},
	{name: "disable off loopback", url: "postgres://tally:PW@db.example.com/tally?sslmode=disable", wantErr: "not loopback"},
	{name: "disable on a private address", url: "postgres://tally:PW@10.0.0.5/tally?sslmode=disable", wantErr: "not loopback"},
	{name: "disable on 127.0.0.1", url: "postgres://tally:PW@127.0.0.1:5433/tally?sslmode=disable", password: pw1},
	{name: "disable on 127.8.9.10", url: "postgres://tally:PW@127.8.9.10/tally?sslmode=disable", password: pw1},
	{name: "disable on localhost", url: "postgres://tally:PW@localhost/tally?sslmode=disable", password: pw1},
	{name: "disable on ::1", url: "postgres://tally:PW@[::1]:5433/tally?sslmode=disable", password: pw1},
	{name: "Unix socket", url: "postgres://tally:PW@/tally?host=/var/run/postgresql", password: pw1, unix: true},
	{name: "host parameter elsewhere", url: "postgres://tally:PW@db.example.com/tally?host=evil.example.net", wantErr: "differs"},
	{name: "host parameter the same", url: "postgres://tally:PW@db.example.com/tally?host=db.example.com", password: pw1, tls: true},
	{name: "hostaddr elsewhere", url: "postgres://tally:PW@db.example.com/tally?hostaddr=192.0.2.7", wantErr: "differs"},
	{name: "port parameter elsewhere", url: "postgres://tally:PW@db.example.com/tally?port=6543", wantErr: "differs"},
	{name: "dbname parameter elsewhere", url: "postgres://tally:PW@db.example.com/tally?dbname=other", wantErr: "differs"},
	{name: "service parameter", url: "postgres://tally:PW@db.example.com/tally?service=evil", wantErr: "service"},
	{name: "options parameter", url: "postgres://tally:PW@db.example.com/tally?options=-csearch_path%3Devil", wantErr: "options"},
	{name: "parameter given twice", url: "postgres://tally:PW@db.example.com/tally?sslmode=verify-full&sslmode=disable", wantErr: "more than once"},
	{name: "fragment", url: "postgres://tally:PW@db.example.com/tally#x", wantErr: "not a valid"},
}

func TestParseURLShapes(t *testing.T) {
	for _, s := range urlShapes {
		t.Run(s.name, func(t *testing.T) {
			one, err1 := ParseURL(strings.ReplaceAll(s.url, "PW", pw1))
			two, err2 := ParseURL(strings.ReplaceAll(s.url, "PW", pw2))
			if s.wantErr != "" {
				if err1 == nil || err2 == nil {
					t.Fatalf("accepted: %v / %v", one, two)
				}
				t.Log(err1)
				if !strings.Contains(err1.Error(), s.wantErr) || !strings.HasPrefix(err1.Error(), "DATABASE_URL ") {
					t.Errorf("error %q does not say %q", err1, s.wantErr)
				}
				// The message must not depend on the password at all: not even on a piece of it.
				if err1.Error() != err2.Error() {
					t.Errorf("the message changes with the password:\n%s\n%s", err1, err2)
				}
				return
			}
			if err1 != nil || err2 != nil {
				t.Fatalf("refused: %v", err1)
			}
			if one.Password() != s.password || one.TLS != s.tls || one.Unix() != s.unix {
				t.Errorf("password %q tls %v unix %v, want %q %v %v", one.Password(), one.TLS, one.Unix(), s.password, s.tls, s.unix)
			}
			for _, shown := range []string{one.String(), one.GoString(), two.String()} {
				if strings.Contains(shown, pw1) || strings.Contains(shown, pw2) || !strings.Contains(shown, "database tally") {
					t.Errorf("printed as %q", shown)
				}
			}
			if one.String() != two.String() {
				t.Errorf("the printed form changes with the password: %s / %s", one, two)
			}
		})
	}
}

// Passwords of one or two characters cannot be scrubbed from text; the refusal of each must be
// the same sentence as for another password of the same shape.
func TestParseURLShortPasswords(t *testing.T) {
	for _, pair := range [][2]string{{"a", "b"}, {"x9", "k2"}, {"/", "#"}, {"@", "c"}, {"%2F", "%3A"}, {"?", "/"}} {
		at := func(pw string) error {
			_, err := ParseURL("postgres://tally:" + pw + "@db.example.com:6432/tally?sslmode=require")
			return err
		}
		one, two := at(pair[0]), at(pair[1])
		if one == nil || two == nil {
			t.Fatalf("sslmode=require accepted with password %q or %q", pair[0], pair[1])
		}
		if one.Error() != two.Error() {
			t.Errorf("passwords %q and %q: %q differs from %q", pair[0], pair[1], one, two)
		}
	}
}

// localhost may resolve to ::1 first while the server listens on 127.0.0.1 only: the plaintext
// dialer tries every loopback address.
func TestLocalhostWithoutTLS(t *testing.T) {
	db := testdb.New(t)
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "localhost:" + u.Port()
	conn, err := Open(context.Background(), u.String(), 0, quiet)
	if err != nil {
		t.Fatalf("sslmode=disable to localhost: %v", err)
	}
	conn.Close()
}
