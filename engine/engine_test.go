package engine

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"
)

func openEngine(t *testing.T, dir string) *Engine {
	t.Helper()
	e, err := New(Options{DataPath: dir, QueueScanInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCleanRestartRedeliversOnlyInFlight: after Close and reopen, a channel
// delivers what was in flight and everything it had not reached, but
// nothing it had finished; paused state and channels come back.
func TestCleanRestartRedeliversOnlyInFlight(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	tp, s, sub := subscribed(t, e, 3)
	other, _ := tp.GetChannel("paused")
	for i := 0; i < 10; i++ {
		if err := tp.Publish([]byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.ids) != 3 {
		t.Fatalf("delivered %d, want 3 (RDY 3)", len(s.ids))
	}
	// Finish the first two; the third stays in flight.
	for _, id := range s.ids[:2] {
		if err := sub.Finish(id[:]); err != nil {
			t.Fatal(err)
		}
	}
	_ = other.Pause()
	_ = tp.Pause()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, ok := e2.ExistingTopic("bench")
	if !ok {
		t.Fatal("topic not restored")
	}
	if !tp2.IsPaused() {
		t.Fatal("topic pause not restored")
	}
	_ = tp2.Unpause()
	p2, ok := tp2.ExistingChannel("paused")
	if !ok || !p2.IsPaused() {
		t.Fatal("paused channel not restored")
	}
	ch2, ok := tp2.ExistingChannel("ch")
	if !ok {
		t.Fatal("channel not restored")
	}
	s2 := &sink{}
	sub2, _ := ch2.Subscribe(s2, SubscribeOptions{})
	sub2.SetReady(100)
	// Messages 2 (was in flight) and 3..9 (never delivered): 8 in all.
	if len(s2.ids) != 8 {
		t.Fatalf("after restart delivered %d, want 8", len(s2.ids))
	}
	st := ch2.Stats(false)
	if st.InFlightCount != 8 || st.Depth != 0 {
		t.Fatalf("stats after restart: %+v", st)
	}
	// The paused channel kept all 10 for later.
	if d := p2.Depth(); d != 10 {
		t.Fatalf("paused channel depth %d, want 10", d)
	}
}

// TestDeferredSurvivesRestart: a REQ with a delay keeps its delivery time
// across a clean restart.
func TestDeferredSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	tp, s, sub := subscribed(t, e, 1)
	_ = tp.Publish([]byte("x"))
	start := time.Now() // the delay counts from the REQ (which may create the journal)
	if err := sub.Requeue(s.ids[0][:], 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_ = e.Close()
	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, _ := e2.ExistingTopic("bench")
	ch2, _ := tp2.ExistingChannel("ch")
	if st := ch2.Stats(false); st.DeferredCount != 1 {
		t.Fatalf("deferred after restart: %+v", st)
	}
	s2 := &sink{}
	sub2, _ := ch2.Subscribe(s2, SubscribeOptions{})
	sub2.SetReady(1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		ch2.mu.Lock()
		n := len(s2.ids)
		ch2.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deferred message never delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("delivered after %s, before its delay", el)
	}
}

// TestSegmentsReclaimed: once every channel has finished a segment's
// messages, the segment is deleted.
func TestSegmentsReclaimed(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), MaxBytesPerFile: 4096, SyncTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, s, sub := subscribed(t, e, 2500)
	body := make([]byte, 500)
	for i := 0; i < 100; i++ {
		_ = tp.Publish(body)
	}
	if tp.log.Size() < 40000 {
		t.Fatalf("log size %d", tp.log.Size())
	}
	finishAll(t, s, sub)
	deadline := time.Now().Add(5 * time.Second)
	for tp.log.Size() > 8192 {
		if time.Now().After(deadline) {
			t.Fatalf("segments not reclaimed: %d bytes", tp.log.Size())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCorruptRecordSkipped: a damaged record in the middle of the log is
// skipped (with what follows it in its segment), counted and logged; the
// channel delivers everything else instead of stalling.
func TestCorruptRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	e, err := New(Options{DataPath: dir, MaxBytesPerFile: 4096})
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := e.GetTopic("bench")
	_, _ = tp.GetChannel("ch")
	for i := 0; i < 300; i++ {
		if err := tp.Publish([]byte(fmt.Sprintf("message-%04d-padding-padding-padding", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "topics", "bench.topic", "*.seg"))
	sort.Strings(segs)
	if len(segs) < 4 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	b, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("message-"))
	copy(b[i+200:], "CORRUPTION") // inside some record's payload
	if err := os.WriteFile(segs[1], b, 0o644); err != nil {
		t.Fatal(err)
	}

	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, _ := e2.ExistingTopic("bench")
	ch2, _ := tp2.ExistingChannel("ch")
	s := &sink{}
	sub, _ := ch2.Subscribe(s, SubscribeOptions{})
	sub.SetReady(1000)
	got := len(s.ids)
	st := tp2.Stats("", false)
	if st.CorruptCount == 0 || st.CorruptCount > 60 || got+int(st.CorruptCount) != 300 {
		t.Fatalf("delivered %d, corrupt %d, want them to add up to 300", got, st.CorruptCount)
	}
}

// TestLongDeferralDoesNotPinLog: a message deferred for hours is kept in
// the channel's journal, so the topic's consumed segments are still
// reclaimed; it keeps its delivery time across a restart.
func TestLongDeferralDoesNotPinLog(t *testing.T) {
	dir := t.TempDir()
	e, err := New(Options{DataPath: dir, MaxBytesPerFile: 4096, SyncTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tp, s, sub := subscribed(t, e, 2500)
	ch, _ := tp.ExistingChannel("ch")
	if err := tp.PublishDeferred([]byte("in two hours"), 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 500)
	for i := 0; i < 100; i++ {
		_ = tp.Publish(body)
	}
	finishAll(t, s, sub)
	deadline := time.Now().Add(5 * time.Second)
	for tp.log.Size() > 8192 {
		if time.Now().After(deadline) {
			t.Fatalf("a deferred message pins the log: %d bytes", tp.log.Size())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := ch.Stats(false); st.DeferredCount != 1 {
		t.Fatalf("deferred %d", st.DeferredCount)
	}
	_ = e.Close()
	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, _ := e2.ExistingTopic("bench")
	ch2, _ := tp2.ExistingChannel("ch")
	if st := ch2.Stats(false); st.DeferredCount != 1 || st.Depth != 0 {
		t.Fatalf("after restart: %+v", st)
	}
	ch2.mu.Lock()
	var at int64
	for i := range ch2.mu.entries {
		if en := &ch2.mu.entries[i]; en.state == stDeferred {
			at = ch2.mu.deferred.Key(en.heap)
			p, ok := ch2.payloadLocked(en)
			if !ok || string(p[recordHeaderLen:]) != "in two hours" {
				t.Errorf("payload %q %v", p, ok)
			}
		}
	}
	ch2.mu.Unlock()
	if left := time.Until(time.Unix(0, at)); left < time.Hour || left > 2*time.Hour {
		t.Fatalf("deferred until %s from now, want about 2h", left)
	}
}

// TestRetentionAndRewind: with retention, consumed segments stay; a channel
// rewinds to the oldest stored message or to a point in time, and delivers
// from there again. Size retention bounds what stays.
func TestRetentionAndRewind(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), MaxBytesPerFile: 4096, SyncTimeout: 10 * time.Millisecond,
		RetentionAge: time.Hour, RetentionBytes: 60000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, s, sub := subscribed(t, e, 2500)
	ch, _ := tp.ExistingChannel("ch")
	body := make([]byte, 400)
	for i := 0; i < 50; i++ {
		copy(body, fmt.Sprintf("m%03d", i))
		_ = tp.Publish(body)
	}
	mid := time.Now()
	for i := 50; i < 100; i++ {
		copy(body, fmt.Sprintf("m%03d", i))
		_ = tp.Publish(body)
	}
	finishAll(t, s, sub)
	// A sync step keeps the consumed segments (age), under the size limit.
	if err := tp.syncStep(true); err != nil {
		t.Fatal(err)
	}
	if tp.log.First().Seq != 0 {
		t.Fatalf("retention did not keep consumed messages: first seq %d", tp.log.First().Seq)
	}
	seq, err := ch.Rewind(time.Time{})
	if err != nil || seq != 0 {
		t.Fatalf("rewind to oldest: %d %v", seq, err)
	}
	if len(s.ids) != 100 {
		t.Fatalf("after rewind to oldest delivered %d, want 100", len(s.ids))
	}
	finishAll(t, s, sub)
	seq, _ = ch.Rewind(mid)
	if seq < 45 || seq > 50 || len(s.ids) != int(100-seq) {
		t.Fatalf("rewind to a time: seq %d, delivered %d", seq, len(s.ids))
	}
	finishAll(t, s, sub)
	// Past the size limit, the oldest consumed segments go.
	for i := 0; i < 200; i++ {
		_ = tp.Publish(body)
	}
	finishAll(t, s, sub)
	deadline := time.Now().Add(5 * time.Second)
	for tp.log.Size() > 60000+4096 {
		if time.Now().After(deadline) {
			t.Fatalf("size retention not applied: %d bytes", tp.log.Size())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRewindKeepsHeldMessagesOnce: a rewind delivers again what was
// finished, but a message the channel still holds (in flight, deferred)
// keeps its one entry: its ID is never out twice at once.
func TestRewindKeepsHeldMessagesOnce(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), RetentionAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, s, sub := subscribed(t, e, 2500)
	ch, _ := tp.ExistingChannel("ch")
	for i := range 10 {
		_ = tp.Publish([]byte{byte(i)})
	}
	if len(s.ids) != 10 {
		t.Fatalf("delivered %d, want 10", len(s.ids))
	}
	held := s.ids[5:]
	var finished []uint64
	for _, id := range s.ids[:5] {
		finished = append(finished, mustID(t, id[:]))
		if err := sub.Finish(id[:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sub.Requeue(held[0][:], time.Hour); err != nil {
		t.Fatal(err)
	}
	s.ids = s.ids[:0]
	sub.SetReady(0)
	if seq, err := ch.Rewind(time.Time{}); err != nil || seq != 0 {
		t.Fatalf("rewind: %d %v", seq, err)
	}
	if st := ch.Stats(false); st.Depth != 5 {
		t.Fatalf("depth %d after the rewind, want the 5 finished ones", st.Depth)
	}
	sub.SetReady(2500)
	var again []uint64
	for _, id := range s.ids {
		again = append(again, mustID(t, id[:]))
	}
	if !slices.Equal(again, finished) {
		t.Fatalf("delivered again %v, want the five finished ones %v with their IDs", again, finished)
	}
	if st := ch.Stats(false); st.InFlightCount != 9 || st.DeferredCount != 1 {
		t.Fatalf("in flight %d deferred %d, want 9 and 1", st.InFlightCount, st.DeferredCount)
	}
	// Each held message is still FINed by its one ID.
	for _, id := range append(s.ids, held[1:]...) {
		if err := sub.Finish(id[:]); err != nil {
			t.Fatalf("FIN %s: %v", id[:], err)
		}
	}
}

// TestDamagedMetadataRebuilt: garbage in topic.json and a channel's
// checkpoint does not stop the engine: the topic is rebuilt from its
// segments and the channel delivers everything stored again.
func TestDamagedMetadataRebuilt(t *testing.T) {
	dir := t.TempDir()
	e := openEngine(t, dir)
	tp, _ := e.GetTopic("bench")
	_, _ = tp.GetChannel("ch")
	for i := 0; i < 20; i++ {
		_ = tp.Publish([]byte(fmt.Sprint(i)))
	}
	_ = e.Close()
	tdir := filepath.Join(dir, "topics", "bench.topic")
	for _, f := range []string{filepath.Join(tdir, "topic.json"), filepath.Join(tdir, "channels", "ch.json")} {
		if err := os.WriteFile(f, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e2 := openEngine(t, dir)
	defer e2.Close()
	tp2, ok := e2.ExistingTopic("bench")
	if !ok {
		t.Fatal("topic lost")
	}
	ch2, ok := tp2.ExistingChannel("ch")
	if !ok {
		t.Fatal("channel lost")
	}
	s := &sink{}
	sub, _ := ch2.Subscribe(s, SubscribeOptions{})
	sub.SetReady(100)
	if len(s.ids) != 20 {
		t.Fatalf("delivered %d after rebuilding, want 20", len(s.ids))
	}
}
