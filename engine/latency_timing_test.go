package engine

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLatencyRecord is the cost the FIN path pays per message with
// percentiles configured: one bucket increment, min/max checks, lifetime
// count and sum.
func BenchmarkLatencyRecord(b *testing.B) {
	rec := newLatencyRecorder(time.Minute, 0)
	now := time.Now().UnixNano()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.record(now-int64(i&0xfffff), now)
	}
}

// BenchmarkLatencyRecordParallel records from every P into one recorder:
// the worst case, as a channel's FINs are serialised by its lock anyway.
func BenchmarkLatencyRecordParallel(b *testing.B) {
	rec := newLatencyRecorder(time.Minute, 0)
	now := time.Now().UnixNano()
	var seed atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := seed.Add(1) << 20
		for pb.Next() {
			rec.record(now-i&0xfffff, now)
			i++
		}
	})
}

// BenchmarkLatencyStats is the cost of one channel's summary in /stats.
func BenchmarkLatencyStats(b *testing.B) {
	rec := newLatencyRecorder(time.Minute, 0)
	for i := range int64(100000) {
		rec.record(0, i*997)
	}
	qs := []float64{1, 0.99, 0.95, 0.5}
	b.ReportAllocs()
	for b.Loop() {
		_ = latencyStats(qs, rec)
	}
}

// BenchmarkFinishE2E compares publish+deliver+FIN with and without
// latency percentiles.
func BenchmarkFinishE2E(b *testing.B) {
	for _, pcts := range [][]float64{nil, {1, 0.99, 0.5}} {
		b.Run(fmt.Sprintf("percentiles=%d", len(pcts)), func(b *testing.B) {
			e, err := New(Options{DataPath: b.TempDir(), SyncTimeout: time.Hour, SyncEvery: 1 << 40, E2EPercentiles: pcts})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = e.Close() })
			t, s, sub := subscribed(b, e, 2500)
			body := make([]byte, 200)
			b.ReportAllocs()
			for b.Loop() {
				if err := t.Publish(body); err != nil {
					b.Fatal(err)
				}
				if len(s.ids) >= 100 {
					finishAll(b, s, sub)
				}
			}
			runtime.KeepAlive(e)
		})
	}
}
