package queue

import (
	"fmt"
	"math/bits"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var benchSizes = []int{64, 200, 1024, 16384}

// Benchmarks run a consumed queue's steady state: segments of 16 MiB, and
// whatever lies behind the head is deleted once more than 32 MiB is stored
// (checked every 64 KiB). Without that the benchmark measures the disk (the
// kernel throttles writers once gigabytes are dirty) or, in memory, the
// growth of the heap.
const (
	benchSegment = 16 << 20
	benchBacklog = 32 << 20
)

// consume deletes what lies behind the head when the backlog is too big.
func consume(b *testing.B, l *Log, i, size int) {
	if (i*size)&(64<<10-1) < size && l.Size() > benchBacklog {
		if err := l.DeleteBefore(l.Head()); err != nil {
			b.Fatal(err)
		}
	}
}

// waitPrefaulted waits until the background goroutine has prefaulted the
// first window of a fresh log (a page: it grows as the benchmark appends), so that short runs (-benchtime 2000x) measure
// the steady state rather than the first faults after Open.
func waitPrefaulted(b *testing.B, l *Log) {
	if l.wake == nil {
		return
	}
	s := l.table.Load().segs[0]
	deadline := time.Now().Add(5 * time.Second)
	for s.wakeAt.Load() <= 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
}

// benchAppend appends b.N records of size bytes (as three parts, like an
// engine writing header, body and trailer), committing each.
func benchAppend(b *testing.B, opts Options, size int) {
	opts.SegmentSize = benchSegment
	l, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	waitPrefaulted(b, l)
	p := make([]byte, size)
	x, y, z := p[:size/8], p[size/8:size/2], p[size/2:]
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(x, y, z); err != nil {
			b.Fatal(err)
		}
		l.Commit()
		consume(b, l, i, size)
	}
	b.StopTimer() // not the deferred Close
}

func BenchmarkAppend(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			benchAppend(b, Options{}, size)
		})
	}
}

func BenchmarkAppendInMemory(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			benchAppend(b, Options{InMemory: true}, size)
		})
	}
}

// BenchmarkAppendPrefault measures what the background prefaulter buys
// (see background.go): with it off, every new page costs the appender a
// write fault and every PrefaultBytes a fallocate.
func BenchmarkAppendPrefault(b *testing.B) {
	for _, size := range []int{200, 1024, 16384} {
		for _, off := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=%d/prefault=%s", size, onOff(!off)), func(b *testing.B) {
				benchAppend(b, Options{NoPrefault: off}, size)
			})
		}
	}
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// BenchmarkAppendLatency appends 1 KiB records paced at 256 MiB/s (a busy
// topic; unpaced, the appender writes ~6 GB/s, faster than the kernel can
// populate pages, and no prefaulter can keep up), timing every
// Append+Commit. It reports the page faults taken by the appending thread
// per GiB appended, how many ops per million took over 1 µs, the 99.9th
// percentile (as a power-of-two bound) and the worst op.
func BenchmarkAppendLatency(b *testing.B) {
	const size, rate = 1024, 256 << 20
	interval := time.Second * size / rate
	for _, off := range []bool{false, true} {
		b.Run("prefault="+onOff(!off), func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{NoPrefault: off, SegmentSize: benchSegment})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			waitPrefaulted(b, l)
			p := make([]byte, size)
			var hist [64]int // by bits.Len64(ns)
			var worst time.Duration
			// Count the page faults taken by the appending thread itself.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var ru0, ru1 unix.Rusage
			_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru0)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				for time.Since(start) < time.Duration(i)*interval {
				}
				t0 := time.Now()
				if _, err := l.Append(p); err != nil {
					b.Fatal(err)
				}
				l.Commit()
				d := time.Since(t0)
				hist[bits.Len64(uint64(d))]++
				worst = max(worst, d)
				consume(b, l, i, size)
			}
			b.StopTimer()
			_ = unix.Getrusage(unix.RUSAGE_THREAD, &ru1)
			b.ReportMetric(float64(ru1.Minflt-ru0.Minflt+ru1.Majflt-ru0.Majflt)*(1<<30)/float64(size*b.N), "faults/GiB")
			slow, seen, p999 := 0, 0, 0
			for k, n := range hist {
				if k > bits.Len64(1000) {
					slow += n
				}
				if seen += n; p999 == 0 && float64(seen) >= 0.999*float64(b.N) {
					p999 = 1<<k - 1
				}
			}
			b.ReportMetric(float64(p999), "p99.9-ns<")
			b.ReportMetric(float64(worst.Microseconds()), "max-µs")
			b.ReportMetric(float64(slow)*1e6/float64(b.N), "over1µs/Mop")
		})
	}
}

// BenchmarkAppendSync appends 200-byte records and syncs every 2500, like
// nsqd's default --sync-every (the Sync runs inline here; the engine runs it
// on a background goroutine).
func BenchmarkAppendSync(b *testing.B) {
	l, err := Open(b.TempDir(), Options{SegmentSize: benchSegment})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	waitPrefaulted(b, l)
	p := make([]byte, 200)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(p); err != nil {
			b.Fatal(err)
		}
		l.Commit()
		consume(b, l, i, 200)
		if i%2500 == 2499 {
			if err := l.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer() // not the deferred Close
}

// fillForRead appends n records of size bytes and returns the log.
func fillForRead(b *testing.B, opts Options, n, size int) *Log {
	l, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	p := make([]byte, size)
	for i := 0; i < n; i++ {
		if _, err := l.Append(p); err != nil {
			b.Fatal(err)
		}
	}
	l.Commit()
	return l
}

// BenchmarkRead reads 200-byte records sequentially, following Next (and
// starting over at First when it reaches the head).
func BenchmarkRead(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts Options
	}{
		{"file", Options{SegmentSize: 16 << 20}},
		{"file-verify", Options{SegmentSize: 16 << 20, VerifyReads: true}},
		{"mem", Options{InMemory: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			l := fillForRead(b, mode.opts, 200000, 200)
			b.SetBytes(200)
			b.ReportAllocs()
			b.ResetTimer()
			p := l.First()
			for i := 0; i < b.N; i++ {
				r, err := l.Read(p)
				if err != nil {
					p = l.First()
					continue
				}
				p = r.Next
			}
		})
	}
}

// BenchmarkReadParallel has every goroutine follow the log independently,
// like channels of one topic.
func BenchmarkReadParallel(b *testing.B) {
	l := fillForRead(b, Options{SegmentSize: 16 << 20}, 200000, 200)
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p := l.First()
		for pb.Next() {
			r, err := l.Read(p)
			if err != nil {
				p = l.First()
				continue
			}
			p = r.Next
		}
	})
}

func BenchmarkHead(b *testing.B) {
	l := fillForRead(b, Options{InMemory: true}, 10, 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = l.Head()
	}
}

func BenchmarkRingPushPop(b *testing.B) {
	r := NewRing[uint64](1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r.Push(uint64(i))
		if r.Len() > 512 {
			r.Pop()
		}
	}
}

// BenchmarkHeapPushPop keeps 10000 timeouts in the heap, as in-flight
// messages would be: one push, one fix and one pop per op.
func BenchmarkHeapPushPop(b *testing.B) {
	h := NewHeap[uint64](10001)
	handles := make([]int, 0, 10000)
	for i := 0; i < 10000; i++ {
		handles = append(handles, h.Push(uint64(i), int64(i*7919%10000)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		hd := h.Push(uint64(i), int64(10000+i))
		h.Fix(hd, int64(i))
		h.PopMin()
	}
}

// BenchmarkReadWhileAppending reads 200-byte records, following the log,
// while another goroutine appends and commits as fast as it can (deleting
// what lies behind once 32 MiB is stored): what a channel's delivery costs
// while its topic is being published to. In memory, so that a reader that
// falls behind a deletion reads garbage-collected memory, not an unmapped
// file.
func BenchmarkReadWhileAppending(b *testing.B) {
	l := fillForRead(b, Options{InMemory: true}, 100000, 200)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p := make([]byte, 200)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for j := 0; j < 100; j++ {
				if _, err := l.Append(p); err != nil {
					panic(err)
				}
				l.Commit()
			}
			if l.Size() > benchBacklog {
				if err := l.DeleteBefore(l.Head()); err != nil {
					panic(err)
				}
			}
		}
	}()
	b.SetBytes(200)
	b.ReportAllocs()
	b.ResetTimer()
	p := l.First()
	for i := 0; i < b.N; i++ {
		r, err := l.Read(p)
		if err != nil {
			p = l.First()
			continue
		}
		p = r.Next
	}
	b.StopTimer()
	close(stop)
	<-done
}

// BenchmarkSeqIndex and BenchmarkSeqIndexGoMap run the in-flight index's
// workload: a sliding window of depth keys, each inserted when delivered,
// looked up and deleted when finished, oldest first.
func BenchmarkSeqIndex(b *testing.B) {
	for _, depth := range []int{100, 2500} {
		b.Run(fmt.Sprint(depth), func(b *testing.B) {
			var x SeqIndex
			for i := 0; i < depth; i++ {
				x.Put(uint64(i), int32(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := uint64(i + depth)
				x.Put(k, int32(i))
				if _, ok := x.Get(uint64(i)); !ok {
					b.Fatal("missing")
				}
				x.Delete(uint64(i))
			}
		})
	}
}

func BenchmarkSeqIndexGoMap(b *testing.B) {
	for _, depth := range []int{100, 2500} {
		b.Run(fmt.Sprint(depth), func(b *testing.B) {
			x := map[uint64]int32{}
			for i := 0; i < depth; i++ {
				x[uint64(i)] = int32(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := uint64(i + depth)
				x[k] = int32(i)
				if _, ok := x[uint64(i)]; !ok {
					b.Fatal("missing")
				}
				delete(x, uint64(i))
			}
		})
	}
}

// BenchmarkAppendAfterIdle: publishing to a topic whose log went idle
// (ReleasePages dropped its pages and its prefault window, and its
// background goroutine exited) costs what publishing to a busy one does,
// after its first message. Each op is one 200-byte Append+Commit; "idle"
// makes the log dormant before the timer starts, then appends b.N records
// (the first one pays the page fault the window no longer covers).
func BenchmarkAppendAfterIdle(b *testing.B) {
	payload := make([]byte, 200)
	for _, idle := range []bool{false, true} {
		name := "busy"
		if idle {
			name = "idle"
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(b.TempDir(), Options{SegmentSize: benchSegment, NoLock: true})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			for range 20000 { // the window grows with traffic
				if _, err := l.Append(payload); err != nil {
					b.Fatal(err)
				}
				l.Commit()
			}
			if idle {
				l.ReleasePages()
				for l.rel.sweep.Load() {
					time.Sleep(time.Millisecond)
				}
				l.ReleasePages() // nothing appended since: dormant
				for l.rel.sweep.Load() || l.bg.running.Load() {
					time.Sleep(time.Millisecond)
				}
			}
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := l.Append(payload); err != nil {
					b.Fatal(err)
				}
				l.Commit()
			}
		})
	}
}
