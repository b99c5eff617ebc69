//go:build !linux

package connect

import "syscall"

// setUserTimeout has no portable equivalent outside Linux; keepalives still apply there.
func setUserTimeout(string, string, syscall.RawConn) error { return nil }
