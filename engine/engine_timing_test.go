package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/wire"
)

// sink is a Consumer that encodes each message as the TCP layer would and
// remembers its ID so the benchmark can FIN it.
type sink struct {
	ids []wire.MessageID
	buf []byte
}

func (s *sink) SendMessage(id wire.MessageID, ts int64, attempts uint16, body []byte) bool {
	s.buf = wire.AppendMessage(s.buf[:0], id, ts, attempts, body)
	s.ids = append(s.ids, id)
	return true
}
func (s *sink) Flush(bool)  {}
func (s *sink) Disconnect() {}

func newBenchEngine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := New(Options{DataPath: tb.TempDir(), SyncTimeout: time.Hour, SyncEvery: 1 << 40})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e
}

// subscribed returns a topic with one channel and one consumer at RDY n.
func subscribed(tb testing.TB, e *Engine, rdy int64) (*Topic, *sink, *Subscription) {
	s := &sink{}
	t, _, sub := subscribe(tb, e, "bench", "ch", s, rdy)
	return t, s, sub
}

// subscribe subscribes cons to topic/channel (creating them) at RDY n.
func subscribe(tb testing.TB, e *Engine, topic, channel string, cons Consumer, rdy int64) (*Topic, *Channel, *Subscription) {
	tb.Helper()
	t, err := e.GetTopic(topic)
	if err != nil {
		tb.Fatal(err)
	}
	ch, err := t.GetChannel(channel)
	if err != nil {
		tb.Fatal(err)
	}
	sub, err := ch.Subscribe(cons, SubscribeOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	sub.SetReady(rdy)
	return t, ch, sub
}

func finishAll(tb testing.TB, s *sink, sub *Subscription) {
	for i := range s.ids {
		if err := sub.Finish(s.ids[i][:]); err != nil {
			tb.Fatal(err)
		}
	}
	s.ids = s.ids[:0]
}

var benchSizes = []int{16, 200, 4096}

// BenchmarkPublish measures appending to a topic with one channel and no
// consumer (the durable write path alone).
func BenchmarkPublish(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			e := newBenchEngine(b)
			t, _ := e.GetTopic("bench")
			_, _ = t.GetChannel("ch")
			body := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := t.Publish(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPublishDeliverFinish measures one message's whole life through
// the engine: append, dispatch to a consumer (frame encoded), FIN.
func BenchmarkPublishDeliverFinish(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			e := newBenchEngine(b)
			t, s, sub := subscribed(b, e, 2500)
			body := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := t.Publish(body); err != nil {
					b.Fatal(err)
				}
				if len(s.ids) >= 100 {
					finishAll(b, s, sub)
				}
			}
		})
	}
}

// fanoutConsumer is one channel's consumer in the fanout benchmarks;
// next is the first of its messages not yet finished.
type fanoutConsumer struct {
	s    *sink
	sub  *Subscription
	next int
}

// fanout returns a topic with n channels, one consumer each at RDY 2500.
func fanout(b *testing.B, n int) (*Topic, []*fanoutConsumer) {
	e := newBenchEngine(b)
	t, _ := e.GetTopic("bench")
	var all []*fanoutConsumer
	for i := 0; i < n; i++ {
		ch, _ := t.GetChannel(fmt.Sprintf("ch%d", i))
		s := &sink{}
		sub, _ := ch.Subscribe(s, SubscribeOptions{})
		sub.SetReady(2500)
		all = append(all, &fanoutConsumer{s: s, sub: sub})
	}
	b.ReportAllocs()
	b.SetBytes(200)
	return t, all
}

// BenchmarkFanout4 delivers every message to four channels.
func BenchmarkFanout4(b *testing.B) {
	t, all := fanout(b, 4)
	body := make([]byte, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = t.Publish(body)
		if i%100 == 99 {
			for _, c := range all {
				finishAll(b, c.s, c.sub)
			}
		}
	}
}

// BenchmarkFanout4Deep is BenchmarkFanout4 with the in-flight depth of the
// fanout scenario (RDY 2500): each consumer finishes a message only once
// 2,000 are in flight, oldest first, so the in-flight index and the
// timeouts hold thousands of entries, as under real load.
func BenchmarkFanout4Deep(b *testing.B) { fanoutDeep(b, 1) }

// BenchmarkFanout4DeepPut64 is BenchmarkFanout4Deep with the messages put
// 64 at a time and the channels notified once per 64, as the TCP layer
// does for the PUBs of one read.
func BenchmarkFanout4DeepPut64(b *testing.B) { fanoutDeep(b, 64) }

func fanoutDeep(b *testing.B, per int) {
	const depth = 2000
	t, all := fanout(b, 4)
	body := make([]byte, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if per == 1 {
			_ = t.Publish(body)
		} else {
			_, _ = t.Put(body, 0)
			if i%per != per-1 {
				continue
			}
			t.Notify()
		}
		for _, c := range all {
			for len(c.s.ids)-c.next > depth {
				if err := c.sub.Finish(c.s.ids[c.next][:]); err != nil {
					b.Fatal(err)
				}
				c.next++
			}
			if c.next >= 1<<16 {
				c.s.ids = append(c.s.ids[:0], c.s.ids[c.next:]...)
				c.next = 0
			}
		}
	}
}

// BenchmarkFinish64 delivers and finishes messages 64 at a time, as a
// consumer's FINs arrive in one read: one Finish per message ("each") or
// one FinishAll for the 64 ("all").
func BenchmarkFinish64(b *testing.B) {
	for _, mode := range []string{"each", "all"} {
		b.Run(mode, func(b *testing.B) {
			e := newBenchEngine(b)
			t, s, sub := subscribed(b, e, 2500)
			body := make([]byte, 200)
			errs := make([]error, 64)
			b.ReportAllocs()
			b.SetBytes(200)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := t.Publish(body); err != nil {
					b.Fatal(err)
				}
				if len(s.ids) < 64 {
					continue
				}
				if mode == "all" {
					sub.FinishAll(s.ids, errs)
				} else {
					for j := range s.ids {
						_ = sub.Finish(s.ids[j][:])
					}
				}
				s.ids = s.ids[:0]
			}
		})
	}
}

// BenchmarkTouchRequeueFinish takes each message through the other lookups
// by ID: delivered, touched, requeued at once (delivered again with its
// ID), then finished; 100 in flight at a time.
func BenchmarkTouchRequeueFinish(b *testing.B) {
	e := newBenchEngine(b)
	t, s, sub := subscribed(b, e, 2500)
	body := make([]byte, 200)
	held := make([]wire.MessageID, 0, 100)
	b.ReportAllocs()
	b.SetBytes(200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := t.Publish(body); err != nil {
			b.Fatal(err)
		}
		if len(s.ids) < 100 {
			continue
		}
		held = append(held[:0], s.ids...)
		s.ids = s.ids[:0]
		for j := range held {
			if err := sub.Touch(held[j][:]); err != nil {
				b.Fatal(err)
			}
			if err := sub.Requeue(held[j][:], 0); err != nil {
				b.Fatal(err)
			}
		}
		finishAll(b, s, sub)
	}
}

// countingFS is the real file system, counting msyncs.
type countingFS struct {
	queue.FS
	msyncs atomic.Int64
}

func (f *countingFS) Msync(b []byte) error {
	f.msyncs.Add(1)
	return f.FS.Msync(b)
}

// BenchmarkGroupCommit: P goroutines publish 100-byte messages to one
// topic with SyncEvery=1, each waiting until its message is on stable
// storage (as a connection with one PUB in flight does), on the real disk
// of the test's temporary directory. syncs/op is msyncs per message: group
// commit makes it about 1/P.
func BenchmarkGroupCommit(b *testing.B) {
	for _, p := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("publishers=%d", p), func(b *testing.B) {
			fs := &countingFS{FS: queue.OS()}
			e, err := New(Options{DataPath: b.TempDir(), SyncTimeout: time.Hour, SyncEvery: 1, FS: fs})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			tp, err := e.GetTopic("durable")
			if err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 100)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			start := fs.msyncs.Load()
			var wg sync.WaitGroup
			for g := 0; g < p; g++ {
				n := b.N / p
				if g < b.N%p {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < n; i++ {
						if err := tp.Publish(body); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(fs.msyncs.Load()-start)/float64(b.N), "syncs/op")
		})
	}
}
