package nsqd

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"testing"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/wire"
)

// dialSmallWindow connects with a 4 KiB receive buffer, set before the
// handshake so the window stays small: a consumer that does not read then
// stops nsqd's sends after a few KiB instead of the megabytes loopback
// autotuning would take into kernel buffers.
func dialSmallWindow(t testing.TB, n *NSQD) *rawConn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", n.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, conn: c, r: bufio.NewReader(c)}
	rc.write([]byte(wire.MagicV2))
	return rc
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestStalledConsumersBounded: 100 consumers subscribe (each on its own
// channel, so each is offered every message) with RDY 2500 and never read,
// under a publisher of 1 MiB messages. Each holds at most its output's
// high-water mark plus one message frame in nsqd's heap; without the
// bound each would hold every message its socket did not take (here
// about 100 × 6 MiB). Meanwhile a go-nsq consumer on another channel of
// the same topic receives every message, and none of the stalled
// channels' messages is lost: each is in flight or still queued.
func TestStalledConsumersBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 6 MiB to 101 channels")
	}
	n := startNSQD(t, nil)
	const (
		topic   = "bounded"
		stalled = 100
		msgs    = 6
		size    = 1 << 20
	)
	// The high-water mark of a consumer with the default output buffer
	// (twice --max-output-buffer-size), plus one message frame.
	perConn := uint64(2*NewOptions().MaxOutputBufferSize) + size + 64
	const constant = 32 << 20 // the test's own clients and buffers, GC slack

	// One publish first creates the topic; the channels made after it
	// start at its end, as SUB's do.
	p := newProducer(t, n)
	if err := p.Publish(topic+"_warm", []byte("x")); err != nil {
		t.Fatal(err)
	}
	base := liveHeap()

	for i := 0; i < stalled; i++ {
		c := dialSmallWindow(t, n)
		c.identify(map[string]any{"feature_negotiation": false})
		c.subscribe(topic, fmt.Sprintf("stalled%d", i), 2500)
	}
	good := newCounter()
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 2
	newConsumer(t, n, topic, "good", cfg, good)

	body := make([]byte, size)
	for i := 0; i < msgs; i++ {
		body[0] = byte(i) // counter tells them apart by body
		if err := p.Publish(topic, body); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	waitFor(t, "the well-behaved consumer's messages", func() bool { return good.total.Load() >= msgs })
	// Every message of every stalled channel is accounted for: in flight
	// (given to the consumer) or queued (held back by the bound).
	var inFlight, queued int64
	waitFor(t, "the stalled channels' messages", func() bool {
		inFlight, queued = 0, 0
		for i := 0; i < stalled; i++ {
			d, f, _, _, _ := channelStat(t, n, topic, fmt.Sprintf("stalled%d", i))
			inFlight += int64(f)
			queued += d
		}
		return inFlight+queued == stalled*msgs
	})
	grown := int64(liveHeap()) - int64(base)
	t.Logf("heap grew %.1f MiB; stalled consumers hold %d messages in flight, %d queued", float64(grown)/(1<<20), inFlight, queued)
	if limit := int64(stalled*perConn + constant); grown > limit {
		t.Errorf("heap grew by %d bytes, more than %d (100 × %d + %d)", grown, limit, perConn, constant)
	}
	if got := good.total.Load(); got != msgs || good.distinct() != msgs {
		t.Errorf("well-behaved consumer got %d messages (%d distinct), want %d", got, good.distinct(), msgs)
	}
}
