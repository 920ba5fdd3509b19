package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire"
)

// sink is a Consumer that encodes each message as the TCP layer would and
// remembers its ID so the benchmark can FIN it.
type sink struct {
	ids []wire.MessageID
	buf []byte
}

func (s *sink) SendMessage(id wire.MessageID, ts int64, attempts uint16, body []byte) {
	s.buf = wire.AppendMessage(s.buf[:0], id, ts, attempts, body)
	s.ids = append(s.ids, id)
}
func (s *sink) Flush()      {}
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
	t, err := e.GetTopic("bench")
	if err != nil {
		tb.Fatal(err)
	}
	ch, err := t.GetChannel("ch")
	if err != nil {
		tb.Fatal(err)
	}
	s := &sink{}
	sub, err := ch.Subscribe(s, SubscribeOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	sub.SetReady(rdy)
	return t, s, sub
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

// BenchmarkFanout4 delivers every message to four channels.
func BenchmarkFanout4(b *testing.B) {
	e := newBenchEngine(b)
	t, _ := e.GetTopic("bench")
	type cs struct {
		s   *sink
		sub *Subscription
	}
	var all []cs
	for i := 0; i < 4; i++ {
		ch, _ := t.GetChannel(fmt.Sprintf("ch%d", i))
		s := &sink{}
		sub, _ := ch.Subscribe(s, SubscribeOptions{})
		sub.SetReady(2500)
		all = append(all, cs{s, sub})
	}
	body := make([]byte, 200)
	b.ReportAllocs()
	b.SetBytes(200)
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
