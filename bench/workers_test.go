package bench_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/fake"
	"github.com/nsqfast/nsq/bench/hist"
)

func startFake(t *testing.T, o fake.Options) *fake.Server {
	t.Helper()
	s, err := fake.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func dial(t *testing.T, addr string) *bench.Conn {
	t.Helper()
	c, err := bench.Dial(context.Background(), addr, bench.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPublisherLimitAndWindow(t *testing.T) {
	s := startFake(t, fake.Options{Generate: 100})
	for _, tc := range []struct{ batch, window int }{{1, 1}, {1, 8}, {7, 3}} {
		p := &bench.Publisher{Topic: "t", Size: 100, Batch: tc.batch, Window: tc.window, Limit: 100, Acks: hist.New()}
		before := s.Published.Load()
		var stop atomic.Bool
		if err := p.Run(dial(t, s.Addr()), &stop); err != nil {
			t.Fatal(err)
		}
		if got := p.Published.Load(); got != 100 {
			t.Errorf("batch %d window %d: published %d", tc.batch, tc.window, got)
		}
		if got := s.Published.Load() - before; got != 100 {
			t.Errorf("batch %d window %d: server got %d", tc.batch, tc.window, got)
		}
		if want := uint64((100 + tc.batch - 1) / tc.batch); p.Acks.Count() != want {
			t.Errorf("acks %d, want %d", p.Acks.Count(), want)
		}
	}
}

func TestPublisherRate(t *testing.T) {
	s := startFake(t, fake.Options{Generate: 100})
	p := &bench.Publisher{Topic: "t", Size: 32, Window: 64, Rate: 1000}
	var stop atomic.Bool
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Run(dial(t, s.Addr()), &stop) }()
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	el := time.Since(start).Seconds()
	got := float64(p.Published.Load())
	// 1000/s for ~0.3s: generous bounds, the machine is shared.
	if got > 1000*el+2 || got < 100 {
		t.Fatalf("published %v in %.2fs at a 1000/s rate", got, el)
	}
}

func TestConsumerGenerated(t *testing.T) {
	s := startFake(t, fake.Options{Generate: 64})
	c := dial(t, s.Addr())
	lat := hist.New()
	cons := &bench.Consumer{Topic: "t", Channel: "c", RDY: 100, Latency: lat}
	if err := cons.Subscribe(c); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() { defer wg.Done(); runErr = cons.Run(c, &stop) }()
	deadline := time.Now().Add(10 * time.Second)
	for cons.Received.Load() < 5000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	bench.Interrupt(c)
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	if cons.Received.Load() < 5000 || lat.Count() != uint64(cons.Received.Load()) {
		t.Fatalf("received %d, latency samples %d", cons.Received.Load(), lat.Count())
	}
}

func TestDelayedDelivery(t *testing.T) {
	const delay = 20 * time.Millisecond
	s := startFake(t, fake.Options{Delay: delay})
	sub := dial(t, s.Addr())
	lat := hist.New()
	seen := bench.NewBitmap(50)
	cons := &bench.Consumer{Topic: "t", Channel: "c", RDY: 10, Latency: lat, Seen: seen}
	if err := cons.Subscribe(sub); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	go func() { _ = cons.Run(sub, &stop) }()
	p := &bench.Publisher{Topic: "t", Size: 64, Limit: 50}
	if err := p.Run(dial(t, s.Addr()), &stop); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cons.Received.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	bench.Interrupt(sub)
	if seen.Missing() != 0 || seen.Duplicates() != 0 {
		t.Fatalf("missing %d duplicates %d", seen.Missing(), seen.Duplicates())
	}
	if p50 := time.Duration(lat.ValueAt(0.5)); p50 < delay || p50 > delay+200*time.Millisecond {
		t.Fatalf("p50 %v for a %v delay", p50, delay)
	}
}
