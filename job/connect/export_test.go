package connect

// What the tests of package connect_test look at inside the package (see open_test.go).

type BeforeTLSError = beforeTLSError

var (
	ErrNotPostgreSQL = errNotPostgreSQL
	SystemRoots      = systemRoots
)
