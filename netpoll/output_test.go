package netpoll

import (
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

func outputClient(t *testing.T, size int, timeout time.Duration) *Client {
	t.Helper()
	eng, err := engine.New(engine.Options{DataPath: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	c := &Client{srv: New(Options{}, eng), id: 1}
	c.settings = wire.DefaultClientSettings(time.Minute, timeout, time.Minute)
	c.settings.OutputBufferSize = size
	c.applyOutputSettings()
	return c
}

// makeBusy records busyWrites delivery rounds at one instant.
func makeBusy(f *outFlusher, now int64) {
	for i := 0; i < 2*busyWrites; i++ {
		f.demand(now)
	}
}

// TestGatherDelayBounded: the gather delay grows while writes carry little
// and a consumer is written to back to back, never past the negotiated
// output_buffer_timeout less two flusher ticks, and shrinks when writes
// carry more than the buffer.
func TestGatherDelayBounded(t *testing.T) {
	const timeout = 250 * time.Millisecond
	c := outputClient(t, wire.DefaultOutputBufferSize, timeout)
	now := int64(1 << 40)
	makeBusy(&c.srv.out, now)
	if !c.srv.out.busy(now) {
		t.Fatal("not busy after a burst of delivery rounds")
	}
	if !c.gathering(now) {
		t.Fatal("a busy consumer with buffering does not gather")
	}
	if at := c.o.flushAt.Load(); at != now+int64(gatherTick) {
		t.Fatalf("first deadline %d, want now + one tick", at-now)
	}
	c.o.lastWrite = now
	maxG := int64(timeout) - 2*int64(gatherTick)
	for i := 0; i < 20; i++ {
		g := c.o.gather.Load()
		now += g
		makeBusy(&c.srv.out, now) // deliveries keep coming
		c.wrote(now, 100, true)
		if got := c.o.gather.Load(); got != min(2*g, maxG) {
			t.Fatalf("step %d: delay %v after %v, want %v", i, time.Duration(got), time.Duration(g), time.Duration(min(2*g, maxG)))
		}
	}
	if g := c.o.gather.Load(); g != maxG || g+int64(gatherTick) >= int64(timeout) {
		t.Fatalf("delay settled at %v, want %v (within the %v timeout by more than a tick)", time.Duration(g), time.Duration(maxG), timeout)
	}
	c.wrote(now, wire.DefaultOutputBufferSize+1, true)
	if g := c.o.gather.Load(); g != maxG/2 {
		t.Fatalf("after a write of more than the buffer: %v, want %v", time.Duration(g), time.Duration(maxG/2))
	}
}

// TestNoGatherWithoutBuffering: output_buffer_size -1 (size 1), a timeout
// of -1 (0) or one too short to gather in, and an idle nsqd, all write at
// once.
func TestNoGatherWithoutBuffering(t *testing.T) {
	now := int64(1 << 40)
	for _, tc := range []struct {
		size    int
		timeout time.Duration
	}{{1, 250 * time.Millisecond}, {wire.DefaultOutputBufferSize, 0}, {wire.DefaultOutputBufferSize, 2 * time.Millisecond}} {
		c := outputClient(t, tc.size, tc.timeout)
		makeBusy(&c.srv.out, now)
		if c.gathering(now) {
			t.Errorf("size %d timeout %v: gathers", tc.size, tc.timeout)
		}
	}
	c := outputClient(t, wire.DefaultOutputBufferSize, 250*time.Millisecond)
	if c.gathering(now) {
		t.Error("gathers while nsqd is idle")
	}
}

// TestHighWaterMark: the mark is four buffers, at least twice
// --max-output-buffer-size; SendMessage says stop at the delivery that
// passes it, and not before.
func TestHighWaterMark(t *testing.T) {
	for _, tc := range []struct {
		size int
		want int64
	}{{wire.DefaultOutputBufferSize, 128 << 10}, {64 << 10, 256 << 10}, {1, 128 << 10}} {
		c := outputClient(t, tc.size, 250*time.Millisecond)
		if h := c.o.high.Load(); h != tc.want {
			t.Fatalf("size %d: high-water mark %d, want %d", tc.size, h, tc.want)
		}
		body := make([]byte, 1000)
		frame := int64(len(wire.AppendMessage(nil, wire.MessageID{}, 0, 1, body)))
		sent := int64(0)
		for c.SendMessage(wire.MessageID{}, 0, 1, body) {
			sent += frame
			if sent > tc.want {
				t.Fatalf("size %d: still accepting at %d bytes pending", tc.size, sent)
			}
		}
		sent += frame
		if sent < tc.want || !c.o.stalled || !c.o.writeNow.Load() {
			t.Fatalf("size %d: stopped at %d bytes (mark %d), stalled %v", tc.size, sent, tc.want, c.o.stalled)
		}
		if bb := c.takeOut(); bb != nil {
			outPool.Put(bb)
		}
	}
}
