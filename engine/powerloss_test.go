package engine

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqfast/nsq/queue/strictfs"
	"github.com/nsqfast/nsq/wire"
)

// TestPowerLoss runs concurrent publishers (PUB-like Put and MPUB-like
// PutBatch, each acknowledged the way the TCP layer acknowledges: after
// its Ticket is durable) on several topics, and a consumer that finishes
// what one channel delivers, over a file system that forgets everything
// unsynced (queue/strictfs). At a random moment the power is cut; the
// engine is started again on what the disk kept and each topic's channels
// are drained. It asserts, per topic:
//
//   - on the untouched channel "keep", every acknowledged message is found
//     exactly once, except at most SyncEvery-1 of them: the bound of the
//     --sync-every rule (so none with SyncEvery=1);
//   - on the consumed channel "fin", every acknowledged message was either
//     finished before the cut or is delivered again after it, except those
//     the log itself lost (at-least-once: a FIN's effect may be lost, a
//     message may not).
func TestPowerLoss(t *testing.T) {
	for _, every := range []int64{1, 64, 2500} {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("every=%d/seed=%d", every, seed), func(t *testing.T) {
				powerLoss(t, every, seed)
			})
		}
	}
}

// lockedSink is a Consumer that keeps what it is sent, for another
// goroutine to take.
type lockedSink struct {
	mu     sync.Mutex
	ids    []wire.MessageID
	bodies []string
}

func (s *lockedSink) SendMessage(id wire.MessageID, _ int64, _ uint16, body []byte) bool {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.bodies = append(s.bodies, string(body))
	s.mu.Unlock()
	return true
}
func (s *lockedSink) Flush(bool)  {}
func (s *lockedSink) Disconnect() {}

func (s *lockedSink) take() ([]wire.MessageID, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, bodies := s.ids, s.bodies
	s.ids, s.bodies = nil, nil
	return ids, bodies
}

const powerLossTopics = 3

func powerLoss(t *testing.T, every int64, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(every)))
	fs := strictfs.New()
	opts := Options{
		DataPath:        "/data",
		FS:              fs,
		SyncEvery:       every,
		SyncTimeout:     time.Duration(5+rng.IntN(30)) * time.Millisecond,
		MaxBytesPerFile: 16 << 10, // many segment rolls
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var topics [powerLossTopics]*Topic
	var finSubs [powerLossTopics]*Subscription
	var finSinks [powerLossTopics]*lockedSink
	for i := range topics {
		if topics[i], err = e.GetTopic(fmt.Sprint("t", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := topics[i].GetChannel("keep"); err != nil {
			t.Fatal(err)
		}
		fin, err := topics[i].GetChannel("fin")
		if err != nil {
			t.Fatal(err)
		}
		finSinks[i] = &lockedSink{}
		if finSubs[i], err = fin.Subscribe(finSinks[i], SubscribeOptions{}); err != nil {
			t.Fatal(err)
		}
		finSubs[i].SetReady(4096) // the newest, unsynced messages are delivered too
	}

	var stop atomic.Bool
	var wg sync.WaitGroup
	const publishers = 8
	acked := make([][powerLossTopics][]string, publishers)
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		prng := rand.New(rand.NewPCG(seed, uint64(p)))
		go func() {
			defer wg.Done()
			for n := 0; n < 20000 && !stop.Load(); {
				ti := prng.IntN(powerLossTopics)
				tp := topics[ti]
				var bodies []string
				var tk Ticket
				var err error
				if k := prng.IntN(6); k == 0 {
					bodies = []string{fmt.Sprintf("p%d-%d", p, n)}
					tk, err = tp.Put([]byte(bodies[0]), 0)
				} else {
					for j := 0; j < k; j++ {
						bodies = append(bodies, fmt.Sprintf("p%d-%d", p, n+j))
					}
					i := 0
					tk, err = tp.PutBatch(pullSource(func() ([]byte, bool) {
						if i == len(bodies) {
							return nil, false
						}
						i++
						return []byte(bodies[i-1]), true
					}))
				}
				n += len(bodies)
				tp.Notify()
				if err == nil {
					err = tp.WaitDurable(tk)
				}
				if err != nil {
					return // the machine is down
				}
				acked[p][ti] = append(acked[p][ti], bodies...)
			}
		}()
	}
	// The consumer of channel "fin": finishes what it is sent.
	var finished [powerLossTopics]map[string]bool
	for i := range finished {
		finished[i] = map[string]bool{}
	}
	// IDs delivered before the cut: a message lost with the cut may have
	// been delivered already, and the message that takes its sequence
	// number after the restart must not take its ID.
	var preCut [powerLossTopics][]idBody
	consumerDone := make(chan struct{})
	crng := rand.New(rand.NewPCG(seed, 99))
	go func() {
		defer close(consumerDone)
		for !stop.Load() {
			for i := range finSubs {
				ids, bodies := finSinks[i].take()
				for j, id := range ids {
					preCut[i] = append(preCut[i], idBody{id, bodies[j]})
					if finSubs[i].Finish(id[:]) == nil {
						finished[i][bodies[j]] = true
					}
				}
			}
			time.Sleep(time.Duration(crng.IntN(200)) * time.Microsecond)
		}
	}()

	time.Sleep(time.Duration(20+rng.IntN(150)) * time.Millisecond)
	syncs := fs.Stats()
	fs = fs.Crash()
	stop.Store(true)
	wg.Wait()
	<-consumerDone
	for i := range finSinks { // delivered, not yet taken by the consumer
		ids, bodies := finSinks[i].take()
		for j, id := range ids {
			preCut[i] = append(preCut[i], idBody{id, bodies[j]})
		}
	}
	_ = e.Close() // fails: the disk is gone

	opts.FS = fs
	e2, err := New(opts)
	if err != nil {
		t.Fatalf("start after the power cut: %v", err)
	}
	defer e2.Close()
	book := idBook{}
	for ti := range preCut {
		for _, ib := range preCut[ti] {
			book.note(t, ib.id, ib.body)
		}
	}
	var total, lostTotal int
	for ti := 0; ti < powerLossTopics; ti++ {
		tp, ok := e2.ExistingTopic(fmt.Sprint("t", ti))
		if !ok {
			t.Fatalf("topic t%d lost", ti)
		}
		keep := drainChannel(t, tp, "keep", book)
		again := drainChannel(t, tp, "fin", book)
		var lost []string
		for p := range acked {
			for _, b := range acked[p][ti] {
				total++
				switch n := keep[b]; {
				case n > 1:
					t.Errorf("t%d: %s delivered %d times on keep", ti, b, n)
				case n == 0:
					lost = append(lost, b)
				}
				if keep[b] > 0 && again[b] == 0 && !finished[ti][b] {
					t.Errorf("t%d: %s was in the log but neither finished before the cut nor delivered again", ti, b)
				}
			}
		}
		lostTotal += len(lost)
		if int64(len(lost)) > every-1 {
			t.Errorf("t%d: %d acknowledged messages lost, bound %d: %v", ti, len(lost), every-1, lost[:min(len(lost), 10)])
		}
	}
	// Publishes after the restart reuse the sequence numbers of what the
	// cut lost; their IDs are new.
	for ti := 0; ti < powerLossTopics; ti++ {
		tp, _ := e2.ExistingTopic(fmt.Sprint("t", ti))
		for k := range 50 {
			if err := tp.Publish(fmt.Appendf(nil, "after-%d-%d", ti, k)); err != nil {
				t.Fatal(err)
			}
		}
		if got := drainChannel(t, tp, "fin", book); len(got) != 50 {
			t.Errorf("t%d: %d published after the restart delivered, want 50", ti, len(got))
		}
	}
	t.Logf("%d acknowledged, %d lost (allowed %d per topic), %d IDs checked; %+v", total, lostTotal, every-1, len(book), syncs)
	if total == 0 {
		t.Fatal("nothing was acknowledged before the cut")
	}
}

// drainChannel subscribes to a channel and takes (and finishes) everything
// it delivers; it returns how many times each body came.
func drainChannel(t *testing.T, tp *Topic, name string, ids idBook) map[string]int {
	t.Helper()
	ch, ok := tp.ExistingChannel(name)
	if !ok {
		t.Fatalf("%s: channel %s lost", tp.Name(), name)
	}
	s := &lockedSink{}
	sub, err := ch.Subscribe(s, SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	book := ids
	got := map[string]int{}
	for {
		sub.SetReady(4096)
		ids, bodies := s.take()
		if len(ids) == 0 {
			return got
		}
		for i, id := range ids {
			got[bodies[i]]++
			book.note(t, id, bodies[i])
			if err := sub.Finish(id[:]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type idBody struct {
	id   wire.MessageID
	body string
}

// idBook remembers which message each ID was given to.
type idBook map[wire.MessageID]string

func (b idBook) note(t *testing.T, id wire.MessageID, body string) {
	t.Helper()
	if other, ok := b[id]; ok && other != body {
		t.Errorf("ID %s given to %s and to %s", id[:], other, body)
	}
	b[id] = body
}

// TestSyncTimeoutBoundsIdleWindow: --sync-timeout bounds the window in
// time: messages acknowledged without waiting (far fewer than SyncEvery)
// reach stable storage with no further publish, and survive a power cut
// taken after that. (How soon is not asserted: no timing in tests; the
// sync loop's ticker is SyncTimeout.)
func TestSyncTimeoutBoundsIdleWindow(t *testing.T) {
	fs := strictfs.New()
	opts := Options{DataPath: "/data", FS: fs, SyncEvery: 1 << 30, SyncTimeout: 20 * time.Millisecond}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := e.GetTopic("idle")
	if err != nil {
		t.Fatal(err)
	}
	// No channel: the topic holds everything for its first one, which
	// needs nothing but the log to be durable.
	for i := range 10 {
		tk, err := tp.Put(fmt.Appendf(nil, "m%d", i), 0)
		if err != nil || tk != 0 {
			t.Fatalf("put %d: ticket %d, %v: nothing should wait", i, tk, err)
		}
	}
	head := tp.log.Head().Seq
	deadline := time.Now().Add(30 * time.Second)
	for tp.log.Durable() < head {
		if time.Now().After(deadline) {
			t.Fatalf("durable %d, head %d: the idle topic was never synced", tp.log.Durable(), head)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fs = fs.Crash()
	_ = e.Close()
	opts.FS = fs
	e2, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	tp2, ok := e2.ExistingTopic("idle")
	if !ok {
		t.Fatal("topic lost")
	}
	if _, err := tp2.GetChannel("c"); err != nil {
		t.Fatal(err)
	}
	got := drainChannel(t, tp2, "c", idBook{})
	if len(got) != 10 {
		t.Fatalf("after the cut %d of the 10 messages, want all: %v", len(got), got)
	}
}
