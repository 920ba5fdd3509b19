package admin

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/admin/series"
)

func TestSamplerPoints(t *testing.T) {
	topic := func(node string, msgs int64, chans ...*cluster.ChannelStats) *cluster.TopicStats {
		return &cluster.TopicStats{Node: node, TopicName: "t", Depth: 1, MessageCount: msgs, Channels: chans}
	}
	ch := func(msgs, depth, inflight int64) *cluster.ChannelStats {
		return &cluster.ChannelStats{ChannelName: "c", MessageCount: msgs, Depth: depth, InFlightCount: inflight}
	}
	var s sampler
	t0 := time.Unix(100, 0)
	p := s.points(t0, []*cluster.TopicStats{topic("a", 10, ch(10, 4, 1)), topic("b", 5, ch(5, 2, 0))})
	tk, ck := series.Key{Topic: "t"}, series.Key{Topic: "t", Channel: "c"}
	// first sample: no rate yet, but depths and in-flight
	if !math.IsNaN(float64(p[tk].Rate)) || p[tk].Depth != 2 || p[tk].InFlight != 1 || p[ck].Depth != 6 || p[ck].InFlight != 1 {
		t.Fatalf("first %+v", p)
	}
	if total := p[series.Key{}]; total.Rate != 0 || total.Depth != 8 || total.InFlight != 1 {
		t.Fatalf("first total %+v", total)
	}
	// two seconds later: a grew by 20, b restarted with 3 (all new)
	p = s.points(t0.Add(2*time.Second), []*cluster.TopicStats{topic("a", 30, ch(30, 4, 1)), topic("b", 3, ch(3, 2, 0))})
	if p[tk].Rate != 11.5 || p[ck].Rate != 11.5 || p[series.Key{}].Rate != 11.5 {
		t.Fatalf("rates %+v", p)
	}
	// b gone; a back after it: a's rate only
	p = s.points(t0.Add(3*time.Second), []*cluster.TopicStats{topic("a", 40, ch(40, 0, 0))})
	if p[tk].Rate != 10 || p[ck].Depth != 0 {
		t.Fatalf("one node %+v", p)
	}
	// nothing at all: the cluster series stays, at zero
	p = s.points(t0.Add(4*time.Second), nil)
	if len(p) != 1 || p[series.Key{}].Depth != 0 {
		t.Fatalf("empty %+v", p)
	}
}

// TestSamplerIdles: nobody using the UI, nsqadmin stops reading /stats;
// the next API call wakes it at once.
func TestSamplerIdles(t *testing.T) {
	var mu sync.Mutex
	reads := 0
	nsqd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/info":
			host, port, _ := net.SplitHostPort(r.Host)
			p, _ := strconv.Atoi(port)
			_ = json.NewEncoder(w).Encode(map[string]any{"version": "1.3.0", "broadcast_address": host, "hostname": "h", "http_port": p})
		case "/stats":
			mu.Lock()
			reads++
			mu.Unlock()
			_, _ = w.Write([]byte(`{"topics":[]}`))
		}
	}))
	defer nsqd.Close()
	o := NewOptions()
	o.HTTPAddress = "127.0.0.1:0"
	o.LogOutput = io.Discard
	o.NSQDHTTPAddresses = []string{strings.TrimPrefix(nsqd.URL, "http://")}
	o.SampleInterval, o.SampleHistory = 10*time.Millisecond, time.Second
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	a.idleAfter = 200 * time.Millisecond
	if err := a.Main(); err != nil {
		t.Fatal(err)
	}
	defer a.Exit()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return reads
	}
	deadline := time.Now().Add(10 * time.Second)
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Asking for the charts keeps the sampler awake: asked at every poll,
	// a slow machine cannot idle it before the reads are counted.
	charts := func() {
		t.Helper()
		resp, err := http.Get("http://" + a.HTTPAddr().String() + "/api/charts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	wait("samples", func() bool { charts(); return count() > 3 })
	// idle: the reads stop
	time.Sleep(a.idleAfter)
	var idle int
	wait("the sampler to stop", func() bool {
		n := count()
		time.Sleep(50 * time.Millisecond)
		idle = count()
		return idle == n
	})
	wait("the sampler to wake", func() bool { charts(); return count() > idle+2 })
}
