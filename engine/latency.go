package engine

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// End-to-end processing latency: the time from PUB to FIN of each message,
// summarised per channel (and per topic, over its channels) as the
// percentiles configured by Options.E2EPercentiles, over a sliding window
// of Options.E2EWindow. Upstream keeps two mutex-guarded quantile streams
// per channel; here a FIN adds to a fixed log-linear histogram with atomic
// operations only, so recording takes no lock of its own and never
// allocates (it already runs under the channel lock, which every FIN of the
// channel takes anyway).
//
// # Window
//
// As upstream, the window is two halves: the histogram being written and
// the one before it, so a percentile covers between half the window and the
// whole of it. A third histogram is the spare: the engine's scan goroutine
// clears it and makes it current every half window (rotate), and the old
// "before" becomes the next spare. Readers sum the current and previous
// histograms; nothing writes to the spare while it is cleared, unless a FIN
// was preempted between loading the index and adding for a whole window.
//
// # Precision
//
// Values below 16ns are exact; above, each power of two is split into 16
// buckets, and a percentile is its bucket's midpoint clamped to the
// smallest and largest value seen in the window (the largest exactly for
// the percentile 1.0): within 1/32 (3.1%) of the value at the requested
// rank. Upstream's streams (perks,
// epsilon 0.01) are exact in value and approximate in rank. Latencies of
// 2^50ns (13 days) and more are counted in the last bucket.

const (
	latSubBits = 4
	latSub     = 1 << latSubBits
	// latMaxExp is the first power of two not given buckets of its own.
	latMaxExp = 50
	// latBuckets is 16 exact values, then 16 buckets per power of two from
	// 2^4 up to 2^50: 752 counters, 6 KiB per histogram.
	latBuckets = latSub + (latMaxExp-latSubBits)*latSub
)

// latBucket returns the bucket of a latency in nanoseconds.
func latBucket(v int64) int {
	if v < latSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1
	if e >= latMaxExp {
		return latBuckets - 1
	}
	m := int(uint64(v)>>(e-latSubBits)) & (latSub - 1)
	return latSub + (e-latSubBits)*latSub + m
}

// latBucketRange returns the smallest and largest value of bucket i.
func latBucketRange(i int) (lo, hi int64) {
	if i < latSub {
		return int64(i), int64(i)
	}
	j := i - latSub
	shift := j / latSub // e - latSubBits
	m := int64(j % latSub)
	lo = (latSub + m) << shift
	return lo, lo + 1<<shift - 1
}

// latHist is one half window's histogram. Safe for concurrent use.
type latHist struct {
	counts   [latBuckets]atomic.Uint64
	min, max atomic.Int64
}

func (h *latHist) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.min.Store(math.MaxInt64)
	h.max.Store(0)
}

func (h *latHist) record(d int64) {
	h.counts[latBucket(d)].Add(1)
	// min and max change rarely: a load suffices on almost every call
	for m := h.max.Load(); d > m && !h.max.CompareAndSwap(m, d); m = h.max.Load() {
	}
	for m := h.min.Load(); d < m && !h.min.CompareAndSwap(m, d); m = h.min.Load() {
	}
}

// latencyRecorder is a channel's e2e latency histograms. Safe for
// concurrent use, except rotate (one goroutine: the engine's scan loop).
type latencyRecorder struct {
	cur   atomic.Uint32 // index of the histogram being written
	hists [3]latHist
	half  int64 // ns between rotations
	next  int64 // next rotation (UnixNano); owned by the rotating goroutine

	// since the channel was created, for Prometheus' _sum and _count
	total atomic.Uint64
	sum   atomic.Uint64 // ns
}

func newLatencyRecorder(window time.Duration, now int64) *latencyRecorder {
	r := &latencyRecorder{half: max(int64(window/2), 1)}
	for i := range r.hists {
		r.hists[i].reset()
	}
	r.next = now + r.half
	return r
}

// record adds the latency of a message published at ts (UnixNano) and
// finished at now.
func (r *latencyRecorder) record(ts, now int64) {
	d := max(now-ts, 0)
	r.hists[r.cur.Load()].record(d)
	r.total.Add(1)
	r.sum.Add(uint64(d))
}

// rotate starts a new half window when one is due. Only the scan goroutine
// calls it.
func (r *latencyRecorder) rotate(now int64) {
	if now < r.next {
		return
	}
	due := (now-r.next)/r.half + 1 // more than one after a stall
	r.next += due * r.half
	for range min(due, int64(len(r.hists))) { // three leave every histogram empty
		spare := (r.cur.Load() + 1) % uint32(len(r.hists))
		r.hists[spare].reset()
		r.cur.Store(spare)
	}
}

// latWindow is the sum of histograms over a window, for reading.
type latWindow struct {
	counts   [latBuckets]uint64
	n        uint64
	min, max int64
}

func newLatWindow() *latWindow { return &latWindow{min: math.MaxInt64} }

// add sums r's current and previous half windows into w.
func (w *latWindow) add(r *latencyRecorder) {
	cur := r.cur.Load()
	prev := (cur + uint32(len(r.hists)) - 1) % uint32(len(r.hists))
	for _, h := range [2]*latHist{&r.hists[cur], &r.hists[prev]} {
		for i := range h.counts {
			if c := h.counts[i].Load(); c != 0 {
				w.counts[i] += c
				w.n += c
			}
		}
		w.min = min(w.min, h.min.Load())
		w.max = max(w.max, h.max.Load())
	}
}

// quantile returns the value at quantile q (0 < q <= 1): the midpoint of
// the bucket holding the ceil(q*n)-th smallest value, clamped to the
// window's extremes (and exactly those for the first and last ranks); 0
// when the window is empty.
func (w *latWindow) quantile(q float64) float64 {
	if w.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(w.n)))
	rank = min(max(rank, 1), w.n)
	switch rank { // the extremes are known exactly
	case w.n:
		return float64(w.max)
	case 1:
		return float64(w.min)
	}
	var seen uint64
	for i, c := range w.counts {
		seen += c
		if seen < rank {
			continue
		}
		lo, hi := latBucketRange(i)
		v := lo + (hi-lo+1)/2
		if i == latBuckets-1 {
			v = w.max // the open-ended last bucket
		}
		return float64(min(max(v, w.min), w.max))
	}
	return float64(w.max)
}

// LatencyStats is an end-to-end processing latency summary.
type LatencyStats struct {
	// Count is the number of messages finished in the window.
	Count int
	// Percentiles holds one entry per configured percentile, in the
	// configured order. It is nil when none are configured, and for a topic
	// with no channel (upstream's null).
	Percentiles []Percentile
	// Total and Sum are the number of latencies recorded and their sum since
	// the channel (or, for a topic, each of its current channels) was
	// created.
	Total uint64
	Sum   time.Duration
}

// Percentile is one quantile of a LatencyStats; Value is in nanoseconds.
type Percentile struct {
	Quantile float64
	Value    float64
}

// finishStats is what a channel counts of finished messages. Its methods
// are safe for concurrent use.
type finishStats struct {
	count atomic.Uint64    // messages finished since the channel was created
	lat   *latencyRecorder // nil unless percentiles are configured
}

func (f *finishStats) init(o *Options) {
	if len(o.E2EPercentiles) > 0 {
		f.lat = newLatencyRecorder(o.E2EWindow, time.Now().UnixNano())
	}
}

// finished counts one finished message published at ts (UnixNano).
func (f *finishStats) finished(ts int64) {
	f.count.Add(1)
	if f.lat != nil {
		f.lat.record(ts, time.Now().UnixNano())
	}
}

func (f *finishStats) rotate(now int64) {
	if f.lat != nil {
		f.lat.rotate(now)
	}
}

// latencyStats summarises the windows of recorders (one channel's, or a
// topic's channels') at the configured percentiles.
func latencyStats(percentiles []float64, recs ...*latencyRecorder) LatencyStats {
	var st LatencyStats
	if len(percentiles) == 0 {
		return st
	}
	w := newLatWindow()
	for _, r := range recs {
		if r == nil {
			continue
		}
		w.add(r)
		st.Total += r.total.Load()
		st.Sum += time.Duration(r.sum.Load())
	}
	st.Count = int(w.n)
	st.Percentiles = make([]Percentile, len(percentiles))
	for i, q := range percentiles {
		st.Percentiles[i] = Percentile{Quantile: q, Value: w.quantile(q)}
	}
	return st
}

// latencyStats summarises the channel's window.
func (c *Channel) latencyStats() LatencyStats {
	return latencyStats(c.t.e.opts.E2EPercentiles, c.fin.lat)
}

// latencyStats summarises the windows of all the topic's channels, as one
// (upstream merges its channels' streams); percentiles are nil when the
// topic has no channel.
func (t *Topic) latencyStats() LatencyStats {
	chans := t.channelList()
	if len(chans) == 0 {
		return LatencyStats{}
	}
	recs := make([]*latencyRecorder, len(chans))
	for i, c := range chans {
		recs[i] = c.fin.lat
	}
	return latencyStats(t.e.opts.E2EPercentiles, recs...)
}
