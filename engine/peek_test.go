package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

func peekBodies(ms []PeekedMessage) []string {
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s:%s:%d", m.Body, m.State, m.Attempts))
	}
	return out
}

func peekEqual(t *testing.T, what string, got []PeekedMessage, want ...string) {
	t.Helper()
	g := peekBodies(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Fatalf("%s: got %v, want %v", what, g, want)
	}
}

// TestPeekChangesNothing: Peek lists what the channel would deliver next,
// in that order (requeued first, then the log from the cursor), and the held
// ones on request; afterwards the channel delivers exactly what it listed,
// with the same IDs, and its counts are as if nobody had looked.
func TestPeekChangesNothing(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()
	tp, s, sub := subscribed(t, e, 0)
	ch, _ := tp.ExistingChannel("ch")
	for i := 0; i < 6; i++ {
		if err := tp.Publish([]byte(fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.PublishDeferred([]byte("later"), time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := ch.Peek(PeekOptions{N: 3})
	if err != nil {
		t.Fatal(err)
	}
	peekEqual(t, "first 3", got, "m0:ready:0", "m1:ready:0", "m2:ready:0")
	got, _ = ch.Peek(PeekOptions{N: 10, Skip: 4})
	peekEqual(t, "skip 4", got, "m4:ready:0", "m5:ready:0")
	got, _ = ch.Peek(PeekOptions{N: 10, Skip: 4, Held: true})
	peekEqual(t, "skip 4, held", got, "m4:ready:0", "m5:ready:0", "later:deferred:0")
	if got[2].DueAt <= time.Now().Add(59*time.Minute).UnixNano() {
		t.Fatalf("deferred due at %d", got[2].DueAt)
	}

	// Deliver two, requeue the first (now ready again, before the log).
	sub.SetReady(2)
	if len(s.ids) != 2 {
		t.Fatalf("delivered %d", len(s.ids))
	}
	sub.SetReady(0)
	if err := sub.Requeue(s.ids[0][:], 0); err != nil {
		t.Fatal(err)
	}
	got, _ = ch.Peek(PeekOptions{N: 10, Held: true})
	peekEqual(t, "after requeue", got, "m0:ready:1", "m2:ready:0", "m3:ready:0", "m4:ready:0", "m5:ready:0", "later:deferred:0", "m1:in_flight:1")
	if got[6].DueAt == 0 || got[6].ID != s.ids[1] {
		t.Fatalf("in flight: %+v, delivered id %s", got[6], s.ids[1])
	}
	ids := make([]wire.MessageID, 0, 5)
	for _, m := range got[:5] {
		ids = append(ids, m.ID)
	}
	before := ch.Stats(false)
	for i := 0; i < 3; i++ {
		_, _ = ch.Peek(PeekOptions{N: 100, Held: true})
		_, _ = tp.Peek(PeekOptions{N: 100})
	}
	if after := ch.Stats(false); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("stats changed by peeking:\n%+v\n%+v", before, after)
	}
	// The channel delivers what Peek listed, in that order, with those IDs.
	s.ids = s.ids[:0]
	sub.SetReady(10)
	if fmt.Sprint(s.ids) != fmt.Sprint(ids) {
		t.Fatalf("delivered %v, peeked %v", s.ids, ids)
	}
	if _, err := ch.Peek(PeekOptions{N: MaxPeek + 1}); err != ErrPeekRange {
		t.Fatalf("n past the bound: %v", err)
	}
}

// TestTopicPeek: a topic lists what its slowest channel has not reached,
// or with no channel what the first channel will get; bodies are cut at
// MaxBody with Size whole.
func TestTopicPeek(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()
	tp, err := e.GetTopic("t")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"alpha", "beta", "gamma"} {
		if err := tp.Publish([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := tp.Peek(PeekOptions{N: 5, MaxBody: 3})
	peekEqual(t, "no channel", got, "alp:ready:0", "bet:ready:0", "gam:ready:0")
	if got[0].Size != 5 || got[2].Size != 5 {
		t.Fatalf("sizes %d %d", got[0].Size, got[2].Size)
	}
	// The first channel starts with what the topic held; a second one
	// starts at the head: publish after both exist.
	if _, err := tp.GetChannel("slow"); err != nil {
		t.Fatal(err)
	}
	got, _ = tp.Peek(PeekOptions{N: 5})
	peekEqual(t, "first channel", got, "alpha:ready:0", "beta:ready:0", "gamma:ready:0")
	s := &sink{}
	_, fast, sub := subscribe(t, e, "t", "fast", s, 0)
	for _, b := range []string{"delta", "epsilon"} {
		if err := tp.Publish([]byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	sub.SetReady(1)
	sub.SetReady(0)
	for i := range s.ids {
		_ = sub.Finish(s.ids[i][:])
	}
	got, _ = tp.Peek(PeekOptions{N: 5})
	peekEqual(t, "slow channel holds all", got, "alpha:ready:0", "beta:ready:0", "gamma:ready:0", "delta:ready:0", "epsilon:ready:0")
	got, _ = fast.Peek(PeekOptions{N: 5})
	peekEqual(t, "fast channel", got, "epsilon:ready:0")
	if err := tp.DeleteChannel("slow"); err != nil {
		t.Fatal(err)
	}
	got, _ = tp.Peek(PeekOptions{N: 5})
	peekEqual(t, "only the fast channel", got, "epsilon:ready:0")
}
