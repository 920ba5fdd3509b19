package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// checkpointTemplate writes a data path whose channel t/c has a
// checkpoint worth mutating: 8 messages, 3 in flight at the close (one
// REQed for an hour, so also in the journal), 2 finished. It returns the
// data path and the checkpoint's path in it.
func checkpointTemplate(tb testing.TB) (dir, checkpoint string) {
	tb.Helper()
	dir = tb.TempDir()
	e, err := New(restoreOptions(dir))
	if err != nil {
		tb.Fatal(err)
	}
	s := &sink{}
	tp, _, sub := subscribe(tb, e, "t", "c", s, 5)
	for i := range 8 {
		if err := tp.Publish(fmt.Appendf(nil, "m%d", i)); err != nil {
			tb.Fatal(err)
		}
	}
	if len(s.ids) != 5 {
		tb.Fatalf("%d delivered, want 5", len(s.ids))
	}
	sub.SetReady(0)
	for _, id := range s.ids[:2] {
		if err := sub.Finish(id[:]); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sub.Requeue(s.ids[2][:], time.Hour); err != nil {
		tb.Fatal(err)
	}
	if err := e.Close(); err != nil {
		tb.Fatal(err)
	}
	return dir, checkpointFile(dir)
}

// checkpointFile is channel t/c's checkpoint in the data path dir.
func checkpointFile(dir string) string {
	return filepath.Join(dir, "topics", "t"+topicDirSuffix, channelsDir, "c"+channelFileSuffix)
}

// readCheckpoint returns channel t/c's checkpoint in dir, raw and decoded,
// and its path relative to dir.
func readCheckpoint(t *testing.T, dir string) (rel string, raw []byte, doc checkpointDoc) {
	t.Helper()
	raw, err := os.ReadFile(checkpointFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	rel, _ = filepath.Rel(dir, checkpointFile(dir))
	return rel, raw, doc
}

// restoreOptions are the engine's options for these tests: small
// segments, so that each start (thousands when fuzzing) does not allocate
// and prefault the default 100 MiB.
func restoreOptions(dir string) Options {
	return Options{DataPath: dir, MaxBytesPerFile: 64 << 10}
}

// copyTree copies the directory src into dst (which exists).
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
}

// FuzzRestoreCheckpoint: whatever a channel's checkpoint holds (damaged,
// hand-edited, from a bug), the engine starts, hands out no message twice
// at once, takes the FIN of everything it hands out, and closes. A
// checkpoint is only ever written by us, but a disk can garble it, and
// restoring it must not take the broker down.
func FuzzRestoreCheckpoint(f *testing.F) {
	tmpl, cpPath := checkpointTemplate(f)
	good, err := os.ReadFile(cpPath)
	if err != nil {
		f.Fatal(err)
	}
	rel, _ := filepath.Rel(tmpl, cpPath)
	f.Add(good)
	f.Add([]byte(""))
	f.Add([]byte("{"))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"cursor":{"Seq":99,"Seg":7,"Off":4000000000}}`))
	f.Add([]byte(`{"cursor":{"Seq":2},"pending":[{"pos":{"Seq":1},"attempts":2},{"pos":{"Seq":1},"attempts":3}]}`))
	f.Add([]byte(`{"cursor":{"Seq":3},"pending":[{"pos":{"Seq":0},"jpos":{"Seq":5,"Seg":9,"Off":77}},{"pos":{"Seq":0},"deliver_at":-1}]}`))
	f.Add([]byte(`{"cursor":{"Seq":8},"pending":[{"pos":{"Seq":18446744073709551615},"jpos":{"Seq":0}}],"journal_head":{"Seq":18446744073709551615}}`))
	f.Fuzz(func(t *testing.T, checkpoint []byte) {
		s := &sink{}
		e, _, sub := restart(t, tmpl, rel, checkpoint, s)
		seen := map[wire.MessageID]bool{}
		for _, id := range s.ids {
			if seen[id] {
				t.Fatalf("message %s handed out twice at once", id[:])
			}
			seen[id] = true
		}
		for _, id := range s.ids {
			if err := sub.Finish(id[:]); err != nil {
				t.Fatalf("FIN %s: %v", id[:], err)
			}
		}
		if n := sub.InFlightCount(); n != 0 {
			t.Fatalf("%d still in flight after every FIN", n)
		}
		if err := e.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	})
}

// bodySink keeps the bodies it is sent, and their IDs.
type bodySink struct {
	ids    []wire.MessageID
	bodies []string
}

func (s *bodySink) SendMessage(id wire.MessageID, _ int64, _ uint16, body []byte) bool {
	s.ids = append(s.ids, id)
	s.bodies = append(s.bodies, string(body))
	return true
}
func (s *bodySink) Flush(bool)  {}
func (s *bodySink) Disconnect() {}

// TestRestoreSettlesGarbledCheckpoint: a checkpoint whose positions keep
// their Seqs but lost their segments and offsets, or that lists a message
// twice, restores as the good one: the same messages ready, the REQed one
// still deferred with its body.
func TestRestoreSettlesGarbledCheckpoint(t *testing.T) {
	tmpl, _ := checkpointTemplate(t)
	rel, good, doc := readCheckpoint(t, tmpl)
	if len(doc.Pending) != 3 || doc.JournalHead == nil {
		t.Fatalf("template checkpoint %s", good)
	}
	garble := func(p queue.Pos) queue.Pos { return queue.Pos{Seq: p.Seq, Seg: p.Seg + 3, Off: p.Off + 8} }
	doc.Cursor = garble(doc.Cursor)
	for i := range doc.Pending {
		doc.Pending[i].Pos = garble(doc.Pending[i].Pos)
		if jp := doc.Pending[i].JPos; jp != nil {
			g := garble(*jp)
			doc.Pending[i].JPos = &g
		}
	}
	*doc.JournalHead = garble(*doc.JournalHead)
	doc.Pending = append(doc.Pending, doc.Pending...)
	garbled, _ := json.Marshal(doc)

	for _, tc := range []struct {
		name string
		cp   []byte
	}{{"good", good}, {"garbled", garbled}} {
		t.Run(tc.name, func(t *testing.T) {
			s := &bodySink{}
			_, _, sub := restart(t, tmpl, rel, tc.cp, s)
			ch := sub.Channel()
			if want := []string{"m3", "m4", "m5", "m6", "m7"}; !slices.Equal(s.bodies, want) {
				t.Fatalf("delivered %q, want %q", s.bodies, want)
			}
			st := ch.Stats(false)
			if st.DeferredCount != 1 || st.InFlightCount != 5 {
				t.Fatalf("deferred %d in flight %d, want 1 and 5", st.DeferredCount, st.InFlightCount)
			}
			// The deferred one keeps its body.
			if got := deferredBodies(t, ch); len(got) != 1 || got[2] != "m2" {
				t.Fatalf("deferred bodies by seq %v, want m2", got)
			}
		})
	}
}

// restart copies the data path src to a fresh directory, makes cp channel
// t/c's checkpoint there (rel is its path in src), starts an engine on it
// (closed when the test ends) and subscribes cons at RDY 100.
func restart(t *testing.T, src, rel string, cp []byte, cons Consumer) (*Engine, *Topic, *Subscription) {
	t.Helper()
	dir := t.TempDir()
	copyTree(t, src, dir)
	if err := os.WriteFile(filepath.Join(dir, rel), cp, 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := New(restoreOptions(dir))
	if err != nil {
		t.Fatalf("the engine does not start: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	tp, _, sub := subscribe(t, e, "t", "c", cons, 100)
	return e, tp, sub
}

// deferredBodies returns the body of each deferred entry of ch, by seq.
func deferredBodies(t *testing.T, ch *Channel) map[uint64]string {
	t.Helper()
	ch.mu.Lock()
	defer ch.mu.Unlock()
	out := map[uint64]string{}
	for i := range ch.mu.entries {
		if en := &ch.mu.entries[i]; en.state == stDeferred {
			payload, ok := ch.payloadLocked(en)
			_, _, body, hdrOK := decodeHeader(payload)
			if !ok || !hdrOK {
				t.Fatalf("deferred seq %d: no payload", en.pos.Seq)
			}
			out[en.pos.Seq] = string(body)
		}
	}
	return out
}

// TestRestoreJournalPositionsChecked: journal positions that name another
// message's journal record (swapped), or a message past the topic's head,
// neither lose a deferred message nor hide a new one, even once the
// topic's segments are gone.
func TestRestoreJournalPositionsChecked(t *testing.T) {
	dir := t.TempDir()
	e, err := New(restoreOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	tp, _, sub := subscribe(t, e, "t", "c", s, 1000)
	body := make([]byte, 1024)
	for i := range 300 { // five 64 KiB segments
		copy(body, fmt.Sprintf("m%03d", i))
		if err := tp.Publish(body); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.ids) != 300 {
		t.Fatalf("delivered %d", len(s.ids))
	}
	for i, id := range s.ids {
		if i < 2 {
			err = sub.Requeue(id[:], time.Hour)
		} else {
			err = sub.Finish(id[:])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tp.syncStep(true); err != nil {
		t.Fatal(err)
	}
	if first := tp.log.First().Seq; first < 2 {
		t.Fatalf("the deferred messages' segment is still there (first %d)", first)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	rel, good, doc := readCheckpoint(t, dir)
	if len(doc.Pending) != 2 || doc.Pending[0].JPos == nil || doc.Pending[1].JPos == nil {
		t.Fatalf("checkpoint %s", good)
	}

	t.Run("swapped", func(t *testing.T) {
		d := doc
		d.Pending = slices.Clone(doc.Pending)
		d.Pending[0].JPos, d.Pending[1].JPos = d.Pending[1].JPos, d.Pending[0].JPos
		cp, _ := json.Marshal(d)
		_, _, sub := restart(t, dir, rel, cp, &sink{})
		got := deferredBodies(t, sub.Channel())
		if len(got) != 2 || got[0][:4] != "m000" || got[1][:4] != "m001" {
			t.Fatalf("deferred bodies by seq %v, want m000 and m001", got)
		}
	})
	t.Run("past the head", func(t *testing.T) {
		d := doc
		d.Pending = slices.Clone(doc.Pending)
		d.Pending[1].Pos.Seq = 302 // the head is 300
		cp, _ := json.Marshal(d)
		s := &sink{}
		_, tp, sub := restart(t, dir, rel, cp, s)
		for range 5 {
			if err := tp.Publish([]byte("new")); err != nil {
				t.Fatal(err)
			}
		}
		if len(s.ids) != 5 {
			t.Fatalf("delivered %d of the 5 new messages", len(s.ids))
		}
		if got := deferredBodies(t, sub.Channel()); got[0][:4] != "m000" {
			t.Fatalf("deferred bodies by seq %v", got)
		}
	})
}
