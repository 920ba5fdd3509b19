//go:build !race

package bench

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench/hist"
	"github.com/nsqfast/nsq/wire"
)

// loopConn is a net.Conn that discards writes and reads a frame pattern
// over and over, until limit bytes have been read (then io.EOF).
type loopConn struct {
	pattern []byte
	off     int
	left    int
}

func (l *loopConn) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && l.left > 0 {
		c := copy(p[n:min(len(p), n+l.left)], l.pattern[l.off:])
		n += c
		l.left -= c
		l.off = (l.off + c) % len(l.pattern)
	}
	return n, nil
}
func (l *loopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (l *loopConn) Close() error                     { return nil }
func (l *loopConn) LocalAddr() net.Addr              { return nil }
func (l *loopConn) RemoteAddr() net.Addr             { return nil }
func (l *loopConn) SetDeadline(time.Time) error      { return nil }
func (l *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (l *loopConn) SetWriteDeadline(time.Time) error { return nil }

func mallocs(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.Mallocs - a.Mallocs
}

// The publisher's loop allocates only its set-up (bodies, rings), nothing
// per message.
func TestPublisherAllocs(t *testing.T) {
	for _, tc := range []struct{ batch, window int }{{1, 1}, {1, 16}, {50, 2}} {
		var ok []byte
		for range 7 { // a pattern whose frames straddle reads
			ok = wire.AppendOK(ok)
		}
		ok = wire.AppendHeartbeat(ok)
		const msgs = 200000
		p := &Publisher{Topic: "allocs", Size: 200, Batch: tc.batch, Window: tc.window, Limit: msgs}
		c := newConn(&loopConn{pattern: ok, left: 1 << 40}, ConnOptions{BufferSize: 4096})
		var stop atomic.Bool
		n := mallocs(func() {
			if err := p.Run(c, &stop); err != nil {
				t.Fatal(err)
			}
		})
		if n > 20 {
			t.Errorf("batch %d window %d: %d allocations for %d messages", tc.batch, tc.window, n, msgs)
		}
	}
}

func TestConsumerAllocs(t *testing.T) {
	var msgs []byte
	body := NewBody(200)
	for i := range 9 {
		Stamp(body, int64(i), uint64(i))
		msgs = wire.AppendMessage(msgs, wire.IDFromUint64(uint64(i)), 0, 1, body)
	}
	msgs = wire.AppendHeartbeat(msgs)
	c := newConn(&loopConn{pattern: msgs, left: 200000 * 234}, ConnOptions{BufferSize: 4096})
	s := &Consumer{Topic: "t", Channel: "c", Seen: NewBitmap(16), Latency: hist.New()}
	var stop atomic.Bool
	stop.Store(true) // the final io.EOF ends Run cleanly
	n := mallocs(func() {
		if err := s.Run(c, &stop); err != nil {
			t.Fatal(err)
		}
	})
	if s.Received.Load() < 190000 {
		t.Fatalf("received %d", s.Received.Load())
	}
	// mallocs counts the whole process: a few background allocations on a
	// loaded machine are noise; one per message would be ~200,000.
	if n > 20 {
		t.Errorf("%d allocations for %d messages", n, s.Received.Load())
	}
}
