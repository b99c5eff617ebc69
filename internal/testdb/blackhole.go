package testdb

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BlackHole is a TCP proxy on loopback that forwards until it freezes, then neither reads nor
// writes in either direction and closes nothing: a network path that silently drops every packet
// (no RST, no FIN). Connections accepted after the freeze are held open and never forwarded.
type BlackHole struct {
	ln       net.Listener
	target   string
	freezeAt int64 // freeze once this many bytes went from the server to the client; 0: never
	down     atomic.Int64
	frozen   chan struct{}
	once     sync.Once
	stop     chan struct{}
	mu       sync.Mutex
	conns    []net.Conn
	frozeAt  time.Time
}

// NewBlackHole forwards a loopback port to target (host:port) until freezeAt bytes have come
// back from target, or until Freeze; the test's cleanup closes everything.
func NewBlackHole(t testing.TB, target string, freezeAt int64) *BlackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &BlackHole{ln: ln, target: target, freezeAt: freezeAt, frozen: make(chan struct{}), stop: make(chan struct{})}
	go b.accept()
	t.Cleanup(func() {
		close(b.stop)
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			_ = c.Close()
		}
	})
	return b
}

// Port is the loopback port to connect to instead of the target's.
func (b *BlackHole) Port() int { return b.ln.Addr().(*net.TCPAddr).Port }

// Down is how many bytes went from the target to clients.
func (b *BlackHole) Down() int64 { return b.down.Load() }

// Frozen is closed when the path freezes.
func (b *BlackHole) Frozen() <-chan struct{} { return b.frozen }

// FrozeAt is when the path froze (zero before).
func (b *BlackHole) FrozeAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.frozeAt
}

// Freeze stops all traffic now.
func (b *BlackHole) Freeze() {
	b.once.Do(func() {
		b.mu.Lock()
		b.frozeAt = time.Now()
		b.mu.Unlock()
		close(b.frozen)
	})
}

func (b *BlackHole) isFrozen() bool {
	select {
	case <-b.frozen:
		return true
	default:
		return false
	}
}

func (b *BlackHole) accept() {
	for {
		client, err := b.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", b.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		// A small receive window: once the proxy stops reading, the server soon blocks sending.
		_ = server.(*net.TCPConn).SetReadBuffer(4096)
		b.mu.Lock()
		b.conns = append(b.conns, client, server)
		b.mu.Unlock()
		go b.pipe(server, client, nil)
		go b.pipe(client, server, &b.down)
	}
}

// pipe copies src to dst until the path freezes; then it parks until the test ends.
func (b *BlackHole) pipe(dst, src net.Conn, count *atomic.Int64) {
	buf := make([]byte, 1024)
	for !b.isFrozen() {
		n, err := src.Read(buf)
		if b.isFrozen() {
			break // what arrived after the freeze is dropped
		}
		if _, werr := dst.Write(buf[:n]); werr != nil || err != nil {
			return
		}
		if count != nil && count.Add(int64(n)) >= b.freezeAt && b.freezeAt > 0 {
			b.Freeze()
		}
	}
	<-b.stop
}
