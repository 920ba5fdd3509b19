package nsqtool

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func picks(p *HostPool, n int, fail map[string]bool) []string {
	var out []string
	for range n {
		pk := p.Get()
		out = append(out, pk.Host())
		var err error
		if fail[pk.Host()] {
			err = errors.New("down")
		}
		pk.Mark(err)
	}
	return out
}

func eq(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// In turn over the live hosts; a failed host is skipped for 30s, then
// tried once, then skipped for 60s, 120s...; with every host down, all
// are tried again from the first.
func TestHostPoolInTurn(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := newHostPool([]string{"a", "b", "c"}, false, c.now, func() float64 { return 0 })
	if got := picks(p, 4, nil); !eq(got, []string{"a", "b", "c", "a"}) {
		t.Fatalf("in turn: %v", got)
	}
	if got := picks(p, 5, map[string]bool{"b": true}); !eq(got, []string{"b", "c", "a", "c", "a"}) {
		t.Fatalf("b failing: %v", got)
	}
	c.t = c.t.Add(31 * time.Second)
	// b is due: tried (and fails again), then left alone for 60s.
	if got := picks(p, 3, map[string]bool{"b": true}); !eq(got, []string{"b", "c", "a"}) {
		t.Fatalf("retry: %v", got)
	}
	c.t = c.t.Add(31 * time.Second)
	if got := picks(p, 2, nil); got[0] == "b" || got[1] == "b" {
		t.Fatalf("b retried after 31s, its delay is 60s: %v", got)
	}
	c.t = c.t.Add(30 * time.Second)
	if got := picks(p, 3, nil); !eq(got, []string{"b", "c", "a"}) { // recovered
		t.Fatalf("recovered: %v", got)
	}
	// All down: reset, start from the first.
	picks(p, 3, map[string]bool{"a": true, "b": true, "c": true})
	// After the reset the turn restarts at the first host, and goes on
	// from it.
	if got := picks(p, 3, nil); !eq(got, []string{"a", "a", "b"}) {
		t.Fatalf("after all failed: %v", got)
	}
}

// Mark counts once per pick.
func TestPickMarkOnce(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	p := newHostPool([]string{"a", "b"}, false, c.now, nil)
	pk := p.Get()
	pk.Mark(errors.New("x"))
	pk.Mark(nil) // ignored: a stays down
	if got := picks(p, 2, nil); !eq(got, []string{"b", "b"}) {
		t.Fatalf("%v", got)
	}
}

// The epsilon-greedy pool favours the faster host, explores less and
// less, and forgets response times older than its window.
func TestEpsilonGreedy(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	r := 0.0
	p := newHostPool([]string{"fast", "slow"}, true, c.now, func() float64 { return r })
	// Exploration (rand < epsilon) goes in turn; record 10ms and 90ms.
	r = 0
	for range 10 {
		for _, host := range []string{"fast", "slow"} {
			pk := p.Get()
			if pk.Host() != host {
				t.Fatalf("exploring: %s, want %s", pk.Host(), host)
			}
			d := 10 * time.Millisecond
			if host == "slow" {
				d = 90 * time.Millisecond
			}
			c.t = c.t.Add(d)
			pk.Mark(nil)
		}
	}
	p.mu.Lock()
	eps := p.mu.epsilon
	p.mu.Unlock()
	if want := epsilonInitial * math.Pow(epsilonDecay, 20); math.Abs(eps-want) > 1e-9 {
		t.Fatalf("epsilon %v after 20 explorations, want %v", eps, want)
	}
	// Exploiting: weights 1/10 : 1/90, so fast up to 0.9, slow above.
	for _, tc := range []struct {
		r    float64
		want string
	}{{0.5, "fast"}, {0.89, "fast"}, {0.91, "slow"}} {
		r = tc.r
		if got := p.Get().Host(); got != tc.want {
			t.Errorf("rand %v: %s, want %s", tc.r, got, tc.want)
		}
	}
	// A failed host is not chosen by weight until its retry is due.
	r = 0.5
	pk := p.Get()
	pk.Mark(errors.New("down"))
	if got := p.Get().Host(); got != "slow" {
		t.Fatalf("fast down: %s", got)
	}
	// After the 5 minute window the times are forgotten: no weights, so
	// it goes in turn.
	c.t = c.t.Add(6 * time.Minute)
	p.mu.Lock()
	p.decayLocked(c.t)
	for _, h := range p.mu.hosts {
		if v := h.weightedResponseTime(); v != 0 {
			t.Errorf("%s still weighs %v", h.name, v)
		}
	}
	p.mu.Unlock()
}

func TestTimerMetrics(t *testing.T) {
	var buf tooltest.Buffer
	l := NewLogger(&buf)
	m := NewTimerMetrics(l, 100, "[x]:")
	for i := 1; i <= 100; i++ {
		m.Record(time.Duration(i) * time.Millisecond)
	}
	if buf.String() != "" {
		t.Fatalf("logged before a full round: %q", buf.String())
	}
	m.Record(1000 * time.Millisecond) // replaces the oldest, logs
	// Sorted: 2..100, 1000. p99 index ceil(99.5)=100 -> clamp 99 -> 1000;
	// p95 index ceil(95.5)=96 -> 98ms; mean (sum 2..100 = 5049, +1000) / 100.
	want := "[x]: finished 100 - 99th: 1000.00ms - 95th: 98.00ms - avg: 60.49ms\n"
	if got := buf.String(); len(got) < len(want) || got[len(got)-len(want):] != want {
		t.Fatalf("logged %q, want ...%q", got, want)
	}
	NewTimerMetrics(l, 0, "").Record(time.Second) // disabled: nothing
	NewTimerMetrics(l, 50, "")
	if got := buf.String(); !contains(got, "use more than 100 status values for accurate percentiles (configured with 50)") {
		t.Fatalf("no warning: %q", got)
	}
}
