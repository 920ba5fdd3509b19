package engine

import (
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// timeoutEngine is an engine whose scan goroutine stays out of the way
// (the test fires the timers itself) and whose default msg timeout is 1s.
func timeoutEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := New(Options{DataPath: t.TempDir(), QueueScanInterval: time.Hour, MsgTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// TestTimeoutQueueStaysBounded: one message stuck in flight while
// thousands behind it are delivered and finished. The consumer's timeout
// queue stays within twice its largest in-flight count (2 here) plus the
// compaction floor,
// nothing else times out, and the stuck message times out exactly at its
// deadline and is delivered again.
func TestTimeoutQueueStaysBounded(t *testing.T) {
	e := timeoutEngine(t)
	tp, s, sub := subscribed(t, e, 10)
	c := sub.Channel()
	if err := tp.Publish([]byte("stuck")); err != nil {
		t.Fatal(err)
	}
	stuck := s.ids[0]
	c.mu.Lock()
	slot, _ := c.mu.inflight.Get(mustID(t, stuck[:]))
	deadline := c.mu.entries[slot].deadline
	c.mu.Unlock()
	for i := 0; i < 20000; i++ {
		if err := tp.Publish([]byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, id := range s.ids[1:] {
			if err := sub.Finish(id[:]); err != nil {
				t.Fatal(err)
			}
		}
		s.ids = s.ids[:1]
		c.mu.Lock()
		n, inflight := sub.timeouts.Len(), sub.inflight
		c.mu.Unlock()
		if n > 2*2+minTimeoutCompact {
			t.Fatalf("after %d messages: %d timeout items for %d in flight", i, n, inflight)
		}
	}
	c.processTimers(deadline - 1)
	if got := c.timeoutCount.Load(); got != 0 {
		t.Fatalf("%d timed out before the deadline", got)
	}
	c.processTimers(deadline)
	if got := c.timeoutCount.Load(); got != 1 {
		t.Fatalf("timeout_count %d at the deadline, want 1", got)
	}
	if len(s.ids) != 2 || s.ids[1] != stuck {
		t.Fatalf("redelivered %v, want the stuck message %s again", s.ids[1:], stuck)
	}
}

// TestTimeoutPerConsumerAndTouch: two consumers of one channel with
// different msg timeouts; each message times out after its own consumer's
// timeout, a TOUCHed one after its new deadline, a finished one never.
func TestTimeoutPerConsumerAndTouch(t *testing.T) {
	e := timeoutEngine(t)
	tp, err := e.GetTopic("t")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := tp.GetChannel("c")
	fast, slow := &sink{}, &sink{}
	subFast, _ := c.Subscribe(fast, SubscribeOptions{MsgTimeout: time.Second})
	subSlow, _ := c.Subscribe(slow, SubscribeOptions{MsgTimeout: 3 * time.Second})
	subFast.SetReady(2)
	subSlow.SetReady(2)
	for i := 0; i < 4; i++ {
		if err := tp.Publish([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(fast.ids) != 2 || len(slow.ids) != 2 {
		t.Fatalf("delivered %d and %d, want 2 each", len(fast.ids), len(slow.ids))
	}
	deadlineOf := func(id []byte) int64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		slot, ok := c.mu.inflight.Get(mustID(t, id))
		if !ok {
			t.Fatalf("%s not in flight", id)
		}
		return c.mu.entries[slot].deadline
	}
	f0, s0 := deadlineOf(fast.ids[0][:]), deadlineOf(slow.ids[0][:])
	deliveredAt := func(id []byte) int64 {
		c.mu.Lock()
		defer c.mu.Unlock()
		slot, _ := c.mu.inflight.Get(mustID(t, id))
		return c.mu.entries[slot].deliveredAt
	}
	if d := f0 - deliveredAt(fast.ids[0][:]); d != int64(time.Second) {
		t.Fatalf("fast's deadline %d after delivery, want its 1s", d)
	}
	if d := s0 - deliveredAt(slow.ids[0][:]); d != 3*int64(time.Second) {
		t.Fatalf("slow's deadline %d after delivery, want its 3s", d)
	}
	// Finish fast's second message; TOUCH slow's first once the clock
	// has moved past both of slow's deliveries (the clock may tick
	// between them), so that its deadline moves past both.
	if err := subFast.Finish(fast.ids[1][:]); err != nil {
		t.Fatal(err)
	}
	for e.now() <= max(s0, deadlineOf(slow.ids[1][:]))-3*int64(time.Second) {
		time.Sleep(time.Millisecond) // the coarse clock ticks every 1ms
	}
	if err := subSlow.Touch(slow.ids[0][:]); err != nil {
		t.Fatal(err)
	}
	touched := deadlineOf(slow.ids[0][:])
	if touched <= s0 {
		t.Fatalf("TOUCH left the deadline at %d (was %d)", touched, s0)
	}
	subFast.SetReady(0) // timed-out messages stay queued, countable
	subSlow.SetReady(0)
	c.processTimers(f0)
	if got := c.timeoutCount.Load(); got != 1 {
		t.Fatalf("at fast's deadline: %d timed out, want 1 (its unfinished message)", got)
	}
	s1 := deadlineOf(slow.ids[1][:])
	c.processTimers(s1)
	if got := c.timeoutCount.Load(); got != 2 {
		t.Fatalf("at slow's deadline: %d timed out, want 2 (the TOUCHed one waits)", got)
	}
	c.processTimers(touched - 1)
	if got := c.timeoutCount.Load(); got != 2 {
		t.Fatalf("before the TOUCHed deadline: %d timed out, want 2", got)
	}
	c.processTimers(touched)
	if got := c.timeoutCount.Load(); got != 3 {
		t.Fatalf("at the TOUCHed deadline: %d timed out, want 3", got)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.inflight.Len() != 0 || subFast.inflight != 0 || subSlow.inflight != 0 || c.mu.ready.Len() != 3 {
		t.Fatalf("in flight %d (%d, %d), ready %d; want 0 and 3 ready", c.mu.inflight.Len(), subFast.inflight, subSlow.inflight, c.mu.ready.Len())
	}
}

func mustID(t *testing.T, id []byte) uint64 {
	t.Helper()
	seq, ok := wire.Uint64FromID(id)
	if !ok {
		t.Fatalf("bad id %q", id)
	}
	return seq
}
