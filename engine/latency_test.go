package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestLatBucketsCoverEveryValue(t *testing.T) {
	prevHi := int64(-1)
	for i := range latBuckets {
		lo, hi := latBucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d,%d], previous ended at %d", i, lo, hi, prevHi)
		}
		if latBucket(lo) != i || latBucket(hi) != i {
			t.Fatalf("bucket %d = [%d,%d] maps back to %d, %d", i, lo, hi, latBucket(lo), latBucket(hi))
		}
		if lo >= latSub && float64(hi-lo+1) > float64(lo)/latSub {
			t.Fatalf("bucket %d = [%d,%d] is wider than 1/%d of its start", i, lo, hi, latSub)
		}
		prevHi = hi
	}
	if prevHi != 1<<latMaxExp-1 {
		t.Fatalf("last bucket ends at %d", prevHi)
	}
	for _, v := range []int64{-5, math.MaxInt64, 1 << latMaxExp} {
		want := 0
		if v > 0 {
			want = latBuckets - 1
		}
		if got := latBucket(v); got != want {
			t.Errorf("latBucket(%d) = %d, want %d", v, got, want)
		}
	}
}

// TestLatencyQuantilesWithinBucketError compares the recorder with exact
// nearest-rank percentiles of random latencies.
func TestLatencyQuantilesWithinBucketError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 100, 10000} {
		rec := newLatencyRecorder(time.Minute, 0)
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = int64(r.ExpFloat64() * float64(time.Millisecond))
			rec.record(1000, 1000+vals[i])
		}
		slices.Sort(vals)
		qs := []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1}
		st := latencyStats(qs, rec)
		if st.Count != n || st.Total != uint64(n) {
			t.Fatalf("n=%d: count %d total %d", n, st.Count, st.Total)
		}
		var sum int64
		for _, v := range vals {
			sum += v
		}
		if st.Sum != time.Duration(sum) {
			t.Fatalf("n=%d: sum %v, want %v", n, st.Sum, time.Duration(sum))
		}
		for i, q := range qs {
			want := vals[max(int(math.Ceil(q*float64(n))), 1)-1]
			got := st.Percentiles[i]
			if got.Quantile != q {
				t.Fatalf("quantile %v reported as %v", q, got.Quantile)
			}
			if math.Abs(got.Value-float64(want)) > float64(want)/(2*latSub)+1 {
				t.Errorf("n=%d q=%v: %v, want %d within 1/%d", n, q, got.Value, want, 2*latSub)
			}
		}
		if st.Percentiles[len(qs)-1].Value != float64(vals[n-1]) {
			t.Errorf("n=%d: p100 %v, want the exact maximum %d", n, st.Percentiles[len(qs)-1].Value, vals[n-1])
		}
	}
}

func TestLatencyEmptyAndDisabled(t *testing.T) {
	st := latencyStats([]float64{0.5, 0.99}, newLatencyRecorder(time.Minute, 0))
	if st.Count != 0 || len(st.Percentiles) != 2 || st.Percentiles[0] != (Percentile{0.5, 0}) || st.Percentiles[1] != (Percentile{0.99, 0}) {
		t.Fatalf("empty window: %+v", st)
	}
	if st := latencyStats(nil, newLatencyRecorder(time.Minute, 0)); st.Percentiles != nil || st.Count != 0 {
		t.Fatalf("no percentiles configured: %+v", st)
	}
	// a clock that went backwards records 0, not a negative latency
	rec := newLatencyRecorder(time.Minute, 0)
	rec.record(5000, 4000)
	if st := latencyStats([]float64{1}, rec); st.Count != 1 || st.Percentiles[0].Value != 0 {
		t.Fatalf("negative latency: %+v", st)
	}
}

// TestLatencyWindowRotation: a value stays visible for at least half the
// window and at most the whole window, as upstream's two streams.
func TestLatencyWindowRotation(t *testing.T) {
	const half = int64(5 * time.Second)
	rec := newLatencyRecorder(2*time.Duration(half), 0)
	count := func() int { return latencyStats([]float64{1}, rec).Count }
	rec.record(0, 100)
	rec.rotate(half - 1)
	if count() != 1 {
		t.Fatal("rotated early")
	}
	rec.rotate(half) // first half over: the value is in the previous half
	rec.record(0, 200)
	if count() != 2 {
		t.Fatalf("after one rotation: %d, want 2", count())
	}
	rec.rotate(2 * half) // the first value leaves the window
	if got := latencyStats([]float64{1}, rec); got.Count != 1 || got.Percentiles[0].Value != 200 {
		t.Fatalf("after two rotations: %+v", got)
	}
	rec.rotate(3 * half)
	if count() != 0 {
		t.Fatalf("after three rotations: %d, want 0", count())
	}
	// a long stall empties the window and keeps the rotation schedule
	rec.record(0, 300)
	rec.rotate(100 * half)
	if count() != 0 || rec.next != 101*half {
		t.Fatalf("after a stall: count %d next %d", count(), rec.next)
	}
	if st := latencyStats([]float64{1}, rec); st.Total != 3 || st.Sum != 600 {
		t.Fatalf("lifetime total/sum lost by rotation: %+v", st)
	}
}

// TestLatencyConcurrentRecordRotateRead runs writers, the rotating
// goroutine and readers at once (for the race detector) and checks that
// nothing is lost while no rotation can drop it.
func TestLatencyConcurrentRecordRotateRead(t *testing.T) {
	rec := newLatencyRecorder(time.Hour, 0)
	var wg sync.WaitGroup
	const writers, each = 4, 5000
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				rec.record(0, int64(w*each+i))
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = latencyStats([]float64{0.5, 1}, rec)
				rec.rotate(1) // not due: a no-op that reads the schedule
			}
		}
	})
	wg.Wait()
	close(stop)
	readers.Wait()
	st := latencyStats([]float64{1}, rec)
	if st.Count != writers*each || st.Percentiles[0].Value != writers*each-1 {
		t.Fatalf("%+v", st)
	}
}

// TestE2ELatencyThroughEngine publishes, delivers and finishes messages
// through a real engine and checks channel and topic summaries.
func TestE2ELatencyThroughEngine(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), E2EPercentiles: []float64{1, 0.5}, E2EWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, s, sub := subscribed(t, e, 100)
	other, _ := tp.GetChannel("other") // never consumed
	if st := tp.Stats("", false); st.E2E.Count != 0 || len(st.E2E.Percentiles) != 2 {
		t.Fatalf("before any FIN: %+v", st.E2E)
	}
	before := time.Now()
	for range 10 {
		if err := tp.Publish([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Millisecond) // a measurable latency
	finishAll(t, s, sub)
	elapsed := time.Since(before)

	st := tp.Stats("", false)
	var ch ChannelStats
	for _, c := range st.Channels {
		if c.Name == "ch" {
			ch = c
		}
	}
	if ch.FinishCount != 10 || ch.E2E.Count != 10 || ch.E2E.Total != 10 {
		t.Fatalf("channel: %+v", ch)
	}
	for _, p := range ch.E2E.Percentiles {
		if p.Value < float64(2*time.Millisecond) || p.Value > float64(elapsed) {
			t.Fatalf("channel percentile %+v outside [2ms, %v]", p, elapsed)
		}
	}
	// the topic aggregates every channel, whatever the filter
	if st := tp.Stats(other.Name(), false); st.E2E.Count != 10 || st.E2E.Percentiles[0] != ch.E2E.Percentiles[0] {
		t.Fatalf("topic: %+v, channel %+v", st.E2E, ch.E2E)
	}
	if oc := other.Stats(false); oc.E2E.Count != 0 || len(oc.E2E.Percentiles) != 2 || oc.FinishCount != 0 {
		t.Fatalf("unconsumed channel: %+v", oc)
	}

	// without percentiles: nothing recorded, finishes still counted
	e2 := newBenchEngine(t)
	tp2, s2, sub2 := subscribed(t, e2, 10)
	_ = tp2.Publish([]byte("y"))
	finishAll(t, s2, sub2)
	st2 := tp2.Stats("", false)
	if st2.E2E.Percentiles != nil || st2.Channels[0].E2E.Percentiles != nil || st2.Channels[0].FinishCount != 1 {
		t.Fatalf("disabled: %+v", st2)
	}
	if _, err := New(Options{DataPath: t.TempDir(), E2EPercentiles: []float64{0}}); err == nil {
		t.Fatal("percentile 0 accepted")
	}
}

// TestE2ELatencyTopicWithoutChannels: upstream's null percentiles.
func TestE2ELatencyTopicWithoutChannels(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), E2EPercentiles: []float64{0.99}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, _ := e.GetTopic("lonely")
	if st := tp.Stats("", false); st.E2E.Percentiles != nil || st.E2E.Count != 0 {
		t.Fatalf("%+v", st.E2E)
	}
}

// TestE2ELatencyRotatedByScanLoop: the engine's scan goroutine moves the
// window, so old latencies leave it without any FIN or read.
func TestE2ELatencyRotatedByScanLoop(t *testing.T) {
	e, err := New(Options{DataPath: t.TempDir(), E2EPercentiles: []float64{0.5},
		E2EWindow: time.Second, QueueScanInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tp, s, sub := subscribed(t, e, 10)
	_ = tp.Publish([]byte("z"))
	finishAll(t, s, sub)
	if st := tp.Stats("", false); st.E2E.Count != 1 {
		t.Fatalf("%+v", st.E2E)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tp.Stats("", false).E2E.Count != 0 {
		if time.Now().After(deadline) {
			t.Fatal("latency never left the window")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
