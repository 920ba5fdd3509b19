package admin

import (
	"math"
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
