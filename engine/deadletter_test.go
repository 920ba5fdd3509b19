package engine

import (
	"fmt"
	"testing"
	"time"
)

// lockedIDs returns a copy of the IDs a sink got, under the channel's lock
// (the scan loop delivers on its own goroutine).
func lockedLen(c *Channel, s *sink) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(s.ids)
}

// waitClock waits until the engine's coarse clock (the delivery path's
// "now", up to a tick behind) has passed the present.
func waitClock(t *testing.T, e *Engine) {
	t.Helper()
	now := time.Now().UnixNano()
	pollUntil(t, "the engine clock", func() bool { return e.now() > now })
}

func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestMessageTTL: a message older than its topic's TTL is not delivered
// but counted; one deferred past its TTL expires at once; an idle channel
// passes its expired head by itself; the topic's setting survives a
// restart. TTLs of 1ns and 1h keep the outcomes exact without waiting.
func TestMessageTTL(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	tp, err := e.GetTopic("t")
	if err != nil {
		t.Fatal(err)
	}
	live, _ := tp.GetChannel("live")
	idle, _ := tp.GetChannel("idle")
	for i := 0; i < 3; i++ {
		_ = tp.Publish([]byte(fmt.Sprint("old", i)))
	}
	if d, own := tp.TTL(); d != 0 || own {
		t.Fatalf("default TTL %s %v", d, own)
	}
	tp.SetTTL(time.Nanosecond) // everything stored is older than that
	waitClock(t, e)
	// the idle channel passes them by itself (scan loop)
	pollUntil(t, "the idle channel to expire its head", func() bool { return idle.Stats(false).ExpiredCount == 3 })
	if st := idle.Stats(false); st.Depth != 0 {
		t.Fatalf("idle channel after expiry: %+v", st)
	}
	s := &sink{}
	sub, err := live.Subscribe(s, SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tp.SetTTL(time.Hour)
	_ = tp.Publish([]byte("new"))
	_ = tp.PublishDeferred([]byte("due after its TTL"), 2*time.Hour)
	_ = tp.PublishDeferred([]byte("due within its TTL"), 30*time.Minute)
	sub.SetReady(10)
	// the three old ones were at the live channel's cursor: they expired
	// there when it delivered (or before, by the scan loop)
	pollUntil(t, "the live channel's counts", func() bool {
		st := live.Stats(false)
		return st.ExpiredCount == 4 && st.DeferredCount == 1 && st.InFlightCount == 1
	})
	if n := lockedLen(live, s); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if ts := tp.Stats("", false); ts.ExpiredCount != 3+4 {
		t.Fatalf("topic expired_count %d", ts.ExpiredCount)
	}
	// a requeued message that expires meanwhile is not delivered again
	tp.SetTTL(time.Nanosecond)
	waitClock(t, e)
	live.mu.Lock()
	id := s.ids[0]
	live.mu.Unlock()
	if err := sub.Requeue(id[:], 0); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the requeued message to expire", func() bool { return live.Stats(false).ExpiredCount == 5 })
	if n := lockedLen(live, s); n != 1 {
		t.Fatalf("an expired message was delivered again (%d deliveries)", n)
	}

	tp.SetTTL(10 * time.Minute)
	if _, err := tp.GetChannel("later"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_ = tp.Publish([]byte(fmt.Sprint("kept", i)))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, _ := e2.ExistingTopic("t")
	if d, own := tp2.TTL(); d != 10*time.Minute || !own {
		t.Fatalf("TTL after restart %s %v", d, own)
	}
	// a channel kept its two within the TTL across the restart; they
	// expire, exactly those, once the TTL is shorter than their age
	idle2, _ := tp2.ExistingChannel("later")
	if st := idle2.Stats(false); st.Depth != 2 || st.ExpiredCount != 0 {
		t.Fatalf("idle channel after restart: %+v", st)
	}
	tp2.SetTTL(time.Nanosecond)
	pollUntil(t, "the kept messages to expire", func() bool { return idle2.Stats(false).ExpiredCount == 2 })
	if st := idle2.Stats(false); st.Depth != 0 {
		t.Fatalf("idle channel after expiry: %+v", st)
	}
	tp2.ResetTTL()
	if d, own := tp2.TTL(); d != 0 || own {
		t.Fatalf("TTL after reset %s %v", d, own)
	}
}

// TestDeadLetter: a message requeued (with or without a delay) or timed
// out after max attempts goes to the dead-letter topic exactly once, with
// its body and publish time, a fresh ID, and its former ID and attempts
// recorded; the channel forgets it; the setting survives a restart.
func TestDeadLetter(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	tp, _ := e.GetTopic("orders")
	ch, _ := tp.GetChannel("billing")
	if err := ch.SetDeadLetter(3, "orders"); err != ErrDeadLetterTopic {
		t.Fatalf("own topic as dead-letter topic: %v", err)
	}
	if err := ch.SetDeadLetter(3, ""); err != nil {
		t.Fatal(err)
	}
	if m, topic, own := ch.DeadLetter(); m != 3 || topic != "orders.billing.dead" || !own {
		t.Fatalf("setting %d %q %v", m, topic, own)
	}
	s := &bodySink{}
	sub, _ := ch.Subscribe(s, SubscribeOptions{})
	_ = tp.Publish([]byte("req"))
	_ = tp.Publish([]byte("req-delay"))
	sub.SetReady(2)
	// Every delivery happens inside Publish, SetReady or Requeue, on this
	// goroutine: REQ each one as it comes, the second with a delay on its
	// last attempt (dead-lettered at once all the same).
	for i := 0; i < len(s.ids); i++ {
		var delay time.Duration
		if s.bodies[i] == "req-delay" && i >= 4 {
			delay = time.Hour
		}
		if err := sub.Requeue(s.ids[i][:], delay); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.ids) != 6 {
		t.Fatalf("%d deliveries, want 6: %v", len(s.ids), s.bodies)
	}
	// A channel whose consumer lets every message time out.
	jobs, _ := e.GetTopic("jobs")
	slow, _ := jobs.GetChannel("slow")
	if err := slow.SetDeadLetter(2, "graveyard"); err != nil {
		t.Fatal(err)
	}
	s2 := &bodySink{}
	sub2, _ := slow.Subscribe(s2, SubscribeOptions{MsgTimeout: 5 * time.Millisecond})
	_ = jobs.Publish([]byte("timeout"))
	sub2.SetReady(1)

	pollUntil(t, "the dead letters", func() bool {
		return ch.Stats(false).DeadLetterCount == 2 && slow.Stats(false).DeadLetterCount == 1
	})
	for _, c := range []*Channel{ch, slow} {
		if st := c.Stats(false); st.Depth != 0 || st.InFlightCount != 0 || st.DeferredCount != 0 {
			t.Fatalf("channel %s still holds them: %+v", c.name, st)
		}
	}
	if st := slow.Stats(false); st.TimeoutCount != 2 {
		t.Fatalf("slow channel: %+v", st)
	}
	check := func(topic string, want int, attempts uint16, bodies ...string) {
		t.Helper()
		dt, ok := e.ExistingTopic(topic)
		if !ok {
			t.Fatalf("no dead-letter topic %s", topic)
		}
		got, err := dt.Peek(PeekOptions{N: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != want {
			t.Fatalf("%s holds %d, want %d", topic, len(got), want)
		}
		for i, m := range got {
			if string(m.Body) != bodies[i] || m.DeadLetter == nil || m.DeadLetter.Attempts != attempts || m.DeadLetter.ID == m.ID {
				t.Fatalf("%s: dead letter %q: %+v (id %s)", topic, m.Body, m.DeadLetter, m.ID)
			}
		}
	}
	check("orders.billing.dead", 2, 3, "req", "req-delay")
	check("graveyard", 1, 2, "timeout")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, _ := e2.ExistingTopic("orders")
	ch2, _ := tp2.ExistingChannel("billing")
	if m, topic, own := ch2.DeadLetter(); m != 3 || topic != "orders.billing.dead" || !own {
		t.Fatalf("after restart %d %q %v", m, topic, own)
	}
	if st := ch2.Stats(false); st.Depth != 0 || st.DeferredCount != 0 {
		t.Fatalf("billing after restart: %+v", st)
	}
	dt2, _ := e2.ExistingTopic("orders.billing.dead")
	if d := dt2.Depth(); d != 2 {
		t.Fatalf("dead-letter topic depth after restart %d", d)
	}
}

func TestDeadLetterTopicName(t *testing.T) {
	long := fmt.Sprintf("%060d", 0)
	for _, c := range []struct{ topic, channel, want string }{
		{"t", "c", "t.c.dead"},
		{"t#ephemeral", "c#ephemeral", "t.c.dead"},
		{"t", long, "t.dead"},
		{long + "abcd", "c", "dead"},
	} {
		if got := DeadLetterTopicName(c.topic, c.channel); got != c.want {
			t.Errorf("%s/%s: %s, want %s", c.topic, c.channel, got, c.want)
		}
	}
}
