package admin

import (
	"context"
	"math"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/admin/series"
)

// The charts of our UI come from nsqadmin itself: every SampleInterval it
// reads /stats (without clients) of every nsqd, as the Streams page would,
// and records per topic, per channel and for the whole cluster:
//
//   - rate: messages per second, from the growth of message_count since
//     the previous sample of the same nsqd (a count that went down means
//     the nsqd restarted: its count is then all new). A topic's rate is
//     what was published to it; a channel's, what reached it; the
//     cluster's, the sum of its channels' (the Counter page's number).
//   - depth: the topic's or channel's depth summed over nsqd; for the
//     cluster, every topic's and channel's.
//   - in_flight: the channel's in-flight count; a topic's is its channels'.

// counterKey names one message_count: of a topic (channel "") or a
// channel, on one nsqd.
type counterKey struct {
	node, topic, channel string
}

type counterValue struct {
	count int64
	at    time.Time
}

// sampler turns successive /stats reads into chart points. It is used by
// one goroutine.
type sampler struct {
	prev map[counterKey]counterValue
	// rates are the last sample's rates of each topic and channel on each
	// nsqd (no history is kept per nsqd)
	rates map[counterKey]float32
}

type accum struct {
	rate            float64
	hasRate         bool
	depth, inFlight float64
}

// points computes one sample from the per-nsqd topic stats read at now.
func (s *sampler) points(now time.Time, topics []*cluster.TopicStats) map[series.Key]series.Point {
	next := make(map[counterKey]counterValue, len(s.prev))
	s.rates = make(map[counterKey]float32, len(s.prev))
	acc := map[series.Key]*accum{{}: {hasRate: true}}
	get := func(k series.Key) *accum {
		a := acc[k]
		if a == nil {
			a = &accum{}
			acc[k] = a
		}
		return a
	}
	rate := func(k counterKey, count int64, a *accum) (float64, bool) {
		next[k] = counterValue{count, now}
		p, ok := s.prev[k]
		dt := now.Sub(p.at).Seconds()
		if !ok || dt <= 0 {
			return 0, false
		}
		delta := count - p.count
		if delta < 0 {
			delta = count
		}
		r := float64(delta) / dt
		s.rates[k] = float32(r)
		a.rate += r
		a.hasRate = true
		return r, true
	}
	total := acc[series.Key{}]
	for _, t := range topics {
		ta := get(series.Key{Topic: t.TopicName})
		ta.depth += float64(t.Depth)
		total.depth += float64(t.Depth)
		rate(counterKey{t.Node, t.TopicName, ""}, t.MessageCount, ta)
		for _, c := range t.Channels {
			ca := get(series.Key{Topic: t.TopicName, Channel: c.ChannelName})
			ca.depth += float64(c.Depth)
			ca.inFlight += float64(c.InFlightCount)
			ta.inFlight += float64(c.InFlightCount)
			total.depth += float64(c.Depth)
			total.inFlight += float64(c.InFlightCount)
			if r, ok := rate(counterKey{t.Node, t.TopicName, c.ChannelName}, c.MessageCount, ca); ok {
				total.rate += r
			}
		}
	}
	s.prev = next
	out := make(map[series.Key]series.Point, len(acc))
	for k, a := range acc {
		r := float32(math.NaN())
		if a.hasRate {
			r = float32(a.rate)
		}
		out[k] = series.Point{Rate: r, Depth: float32(a.depth), InFlight: float32(a.inFlight)}
	}
	return out
}

// sampleIdle is how long after the last request of a page or of /api/
// the sampler stops: nsqadmin reads nobody's /stats (and fills nobody's
// request log) while no one looks at it.
const sampleIdle = 10 * time.Minute

// touch notes a request of the UI; the first after an idle time wakes the
// sampler at once.
func (a *NSQAdmin) touch() {
	if a.store == nil {
		return
	}
	now := time.Now().UnixNano()
	if prev := a.lastSeen.Swap(now); now-prev > int64(a.idleAfter) {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// sampleLoop records a sample every SampleInterval until ctx is done,
// while the UI is in use. A read that fails entirely, and an idle time,
// record a gap in every series.
func (a *NSQAdmin) sampleLoop(ctx context.Context) {
	interval := a.getOpts().SampleInterval
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var s sampler
	idle := false
	for {
		if time.Since(time.Unix(0, a.lastSeen.Load())) > a.idleAfter {
			if !idle {
				idle = true
				s = sampler{}
				a.store.Record(time.Now(), nil)
				a.nodeRates.Store(nil)
			}
		} else {
			idle = false
			a.sampleOnce(ctx, &s, interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.wake:
		}
	}
}

func (a *NSQAdmin) sampleOnce(ctx context.Context, s *sampler, interval time.Duration) {
	opts := a.getOpts()
	// a sample must not outlast its interval by much: bound it by the
	// HTTP client's request timeout
	ctx, cancel := context.WithTimeout(ctx, max(interval, opts.HTTPClientRequestTimeout))
	defer cancel()
	producers, err := a.quiet.Producers(ctx, opts.NSQLookupdHTTPAddresses, opts.NSQDHTTPAddresses)
	if cluster.Failed(err) {
		a.store.Record(time.Now(), nil)
		return
	}
	topics, _, err := a.quiet.NSQDStats(ctx, producers, "", "", false)
	if cluster.Failed(err) {
		a.store.Record(time.Now(), nil)
		return
	}
	if ctx.Err() != nil {
		return
	}
	now := time.Now()
	a.store.Record(now, s.points(now, topics))
	rates := s.rates // the map is not changed again: points makes a new one
	a.nodeRates.Store(&rates)
}
