package scenario_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/bench/fake"
	"github.com/nsqfast/nsq/bench/scenario"
	"github.com/nsqfast/nsq/engine/nsqd"
	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
)

// inproc is our nsqd running in the test process, restartable on its data
// path and addresses. PID is 0: the test process's memory is not the
// broker's alone.
type inproc struct {
	t  testing.TB
	mu sync.Mutex
	o  *nsqd.Options
	n  *nsqd.NSQD
}

func startInproc(t testing.TB) *inproc {
	t.Helper()
	b := &inproc{t: t, o: nsqdtest.Options(t)}
	if err := b.start(); err != nil {
		t.Fatal(err)
	}
	// Later starts keep the addresses.
	b.o.TCPAddress, b.o.HTTPAddress = b.n.TCPAddr().String(), b.n.HTTPAddr().String()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.n != nil {
			b.n.Exit()
		}
	})
	return b
}

func (b *inproc) start() error {
	n, err := nsqdtest.Run(b.o)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.n = n
	b.mu.Unlock()
	return nil
}

func (b *inproc) TCPAddr() string { b.mu.Lock(); defer b.mu.Unlock(); return b.n.TCPAddr().String() }
func (b *inproc) HTTPAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n.HTTPAddr().String()
}
func (b *inproc) PID() int         { return 0 }
func (b *inproc) CanRestart() bool { return true }

func (b *inproc) Restart(ctx context.Context, kill bool) (broker.Restart, error) {
	var r broker.Restart
	t0 := time.Now()
	b.mu.Lock()
	b.n.Exit()
	b.n = nil
	b.mu.Unlock()
	r.Stop = time.Since(t0)
	t0 = time.Now()
	var err error
	for range 100 { // the ports may take a moment to be free again
		if err = b.start(); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Start = time.Since(t0)
	return r, err
}

// tiny are parameters small enough for -race on a shared machine.
func tiny(name string) scenario.Params {
	p := scenario.Params{
		Duration:  300 * time.Millisecond,
		Backlog:   3000,
		DiskBytes: 1 << 20,
		Timeout:   30 * time.Second,
	}
	switch name {
	case "latency":
		p.Rate = 2000
	case "conns":
		p.Conns = 40
	case "pub", "pubsub", "fanout":
		p.Window = 4
	}
	return p
}

func TestEveryScenarioAgainstOurNSQD(t *testing.T) {
	b := startInproc(t)
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			r, err := scenario.Run(context.Background(), name, scenario.Env{Target: b, Params: tiny(name)})
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, r)
			switch name {
			case "restart", "backlog":
				if f, _ := r.Figure("lost"); f.Value != 0 {
					t.Errorf("lost %v messages across a restart", f.Value)
				}
			case "sub", "disk":
				if len(r.Series) == 0 {
					t.Errorf("no throughput series")
				}
			case "latency", "pubsub", "fanout":
				if r.Latency["delivery"] == nil {
					t.Errorf("no delivery latency")
				}
			case "conns":
				// The broker runs in this test's process: the client's own
				// garbage can make the heap shrink across the connections,
				// and then the scenario says so instead of a figure.
				if _, ok := r.Figure("heap_per_conn_bytes"); !ok && !strings.Contains(strings.Join(r.Notes, " "), "the heap shrank") {
					t.Errorf("no heap per connection: %v", r.Notes)
				}
			}
		})
	}
}

// checkResult checks that r has figures and survives a JSON round trip.
func checkResult(t *testing.T, r *bench.Result) {
	t.Helper()
	if len(r.Figures) == 0 {
		t.Fatal("no figures")
	}
	for _, f := range r.Figures {
		if f.Value < 0 || f.Unit == "" {
			t.Errorf("figure %+v", f)
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("result does not parse back: %v", err)
	}
	if len(back.Figures) != len(r.Figures) {
		t.Fatalf("figures lost in JSON")
	}
	t.Logf("%s: %+v %v", r.Scenario, r.Figures, r.Notes)
}

func TestRestartNeedsControl(t *testing.T) {
	s, err := fake.Start(fake.Options{Generate: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = scenario.Run(context.Background(), "restart", scenario.Env{Target: broker.Remote{TCP: s.Addr()}, Params: tiny("restart")})
	if !errors.Is(err, scenario.ErrSkipped) {
		t.Fatalf("restart against a remote broker: %v", err)
	}
	_, err = scenario.Run(context.Background(), "conns", scenario.Env{Target: broker.Remote{TCP: s.Addr()}, Params: tiny("conns")})
	if !errors.Is(err, scenario.ErrSkipped) {
		t.Fatalf("conns without HTTP or process: %v", err)
	}
}

func TestUnknownScenario(t *testing.T) {
	if _, err := scenario.Run(context.Background(), "nope", scenario.Env{Target: broker.Remote{}}); err == nil {
		t.Fatal("no error")
	}
	if _, err := scenario.Run(context.Background(), "pub", scenario.Env{Target: broker.Remote{}, Params: scenario.Params{Size: 8}}); err == nil {
		t.Fatal("size 8 accepted")
	}
}

// TestLatencyAgainstKnownDelay checks the latency tool: a fake broker
// delivers every message 20ms after it reads the PUB, so no latency can be
// below 20ms, and the median must be close above it.
func TestLatencyAgainstKnownDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	s, err := fake.Start(fake.Options{Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := scenario.Run(context.Background(), "latency", scenario.Env{
		Target: broker.Remote{TCP: s.Addr()},
		Params: scenario.Params{Duration: 500 * time.Millisecond, Rate: 1000},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r)
	h := r.Latency["delivery"]
	if h == nil || h.Count() < 50 { // 500 at the rate asked; fewer on a starved machine
		t.Fatalf("delivery histogram: %v", h)
	}
	if min := time.Duration(h.Min()); min < delay {
		t.Errorf("a message arrived %v after its publish, before the %v delay", min, delay)
	}
	// Not a speed check: the bound catches a wrong unit or clock (a
	// median 1000× off), not a slow machine under the race detector.
	const tolerance = time.Second
	p50, _ := r.Figure("delivery_p50_ms")
	if got := time.Duration(p50.Value * float64(time.Millisecond)); got < delay || got > delay+tolerance {
		t.Errorf("p50 %v, want within [%v, %v]", got, delay, delay+tolerance)
	}
}
