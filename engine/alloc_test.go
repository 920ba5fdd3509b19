//go:build !race

package engine

import (
	"testing"
	"time"
)

// TestSteadyStateAllocs proves that publishing a message, delivering it to
// a consumer and finishing it allocates nothing once warmed up.
func TestSteadyStateAllocs(t *testing.T) {
	checkSteadyStateAllocs(t, newBenchEngine(t))
}

// TestFinishWithE2ELatencyAllocs: recording the end-to-end latency of each
// FIN allocates nothing either.
func TestFinishWithE2ELatencyAllocs(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), SyncTimeout: time.Hour, SyncEvery: 1 << 40,
		E2EPercentiles: []float64{1, 0.99, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	tp := checkSteadyStateAllocs(t, e)
	if st := tp.Stats("", false); st.E2E.Total != 50*(200+101) {
		t.Fatalf("recorded %d latencies", st.E2E.Total)
	}
}

// checkSteadyStateAllocs publishes, delivers and finishes batches of 50
// messages through e, 200 times to warm up, then 101 times measured
// (AllocsPerRun's extra warm-up run included).
func checkSteadyStateAllocs(t *testing.T, e *Engine) *Topic {
	t.Helper()
	tp, s, sub := subscribed(t, e, 2500)
	body := make([]byte, 200)
	step := func() {
		for i := 0; i < 50; i++ {
			if err := tp.Publish(body); err != nil {
				t.Fatal(err)
			}
		}
		finishAll(t, s, sub)
	}
	for i := 0; i < 200; i++ {
		step() // warm up: grow slabs, maps and buffers
	}
	// AllocsPerRun counts the whole process's allocations, so the log's
	// background goroutine (which prefaults and prepares segments while
	// the test publishes megabytes) can add one now and then on a loaded
	// machine; a per-message allocation would show in every attempt.
	var n float64
	for attempt := 0; attempt < 3; attempt++ {
		if n = testing.AllocsPerRun(100, step); n == 0 {
			return tp
		}
	}
	t.Fatalf("publish+deliver+finish of 50 messages: %v allocations, want 0", n)
	return tp
}

// TestGroupCommitAllocs: with SyncEvery=1 every publish waits for a sync of
// the log (the committer goroutine's msync, then the wake-up); neither the
// wait nor the sync allocates once warmed up.
func TestGroupCommitAllocs(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), SyncTimeout: time.Hour, SyncEvery: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, err := e.GetTopic("durable")
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 100)
	var w SyncWaiter
	woken := make(chan struct{}, 1)
	w.Wake = func() { woken <- struct{}{} }
	publish := func() {
		if err := tp.Publish(body); err != nil {
			t.Fatal(err)
		}
		tk, err := tp.Put(body, 0) // as the TCP layer: Await, woken later
		if err != nil || tk == 0 {
			t.Fatalf("Put with SyncEvery=1: ticket %d, %v", tk, err)
		}
		if tp.Await(tk, &w) {
			<-woken
		}
		if w.Err() != nil {
			t.Fatal(w.Err())
		}
	}
	for i := 0; i < 100; i++ {
		publish()
	}
	if n := testing.AllocsPerRun(200, publish); n != 0 {
		t.Fatalf("%.1f allocs per publish waiting for its sync, want 0", n)
	}
}
