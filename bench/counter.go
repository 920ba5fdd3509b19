package bench

import (
	"sync/atomic"
	"time"
)

// Counter is an atomic counter alone on its cache line: each connection's
// goroutine adds to its own, and a sampler reads them all, without the
// connections' counters sharing a line.
type Counter struct {
	atomic.Int64
	_ [56]byte
}

// Sampler turns counters into rates over fixed intervals: a Series per
// source. Start it when the measured phase begins; Stop returns the series.
type Sampler struct {
	interval time.Duration
	names    []string
	units    []string
	sources  []func() int64
	stop     chan struct{}
	done     chan []Series
}

// NewSampler returns a sampler with the given interval.
func NewSampler(interval time.Duration) *Sampler {
	return &Sampler{interval: interval}
}

// Source adds a series named name (rates in unit) fed by sum, which returns
// a running total. Call before Start.
func (s *Sampler) Source(name, unit string, sum func() int64) {
	s.names = append(s.names, name)
	s.units = append(s.units, unit)
	s.sources = append(s.sources, sum)
}

// Start begins sampling on its own goroutine.
func (s *Sampler) Start() {
	s.stop = make(chan struct{})
	s.done = make(chan []Series, 1)
	go s.run()
}

func (s *Sampler) run() {
	series := make([]Series, len(s.sources))
	prev := make([]int64, len(s.sources))
	for i, f := range s.sources {
		series[i] = Series{Name: s.names[i], Unit: s.units[i], IntervalS: s.interval.Seconds()}
		prev[i] = f()
	}
	t := time.NewTicker(s.interval)
	defer t.Stop()
	began := time.Now()
	last := began
	sample := func(now time.Time) {
		el := now.Sub(last).Seconds()
		last = now
		for i, f := range s.sources {
			v := f()
			series[i].T = append(series[i].T, now.Sub(began).Seconds())
			series[i].Values = append(series[i].Values, float64(v-prev[i])/el)
			prev[i] = v
		}
	}
	for {
		select {
		case <-s.stop:
			// A last partial interval counts if it is long enough to
			// give a rate that means something.
			if now := time.Now(); now.Sub(last) >= s.interval/10 {
				sample(now)
			}
			s.done <- series
			return
		case now := <-t.C:
			sample(now)
		}
	}
}

// Stop ends sampling and returns one series per source.
func (s *Sampler) Stop() []Series {
	if s.stop == nil {
		return nil
	}
	close(s.stop)
	return <-s.done
}

// Sum returns a function summing the counters' current values.
func Sum(cs []*Counter) func() int64 {
	return func() int64 {
		var n int64
		for _, c := range cs {
			n += c.Load()
		}
		return n
	}
}

// Bitmap records which sequence numbers in [0, n) were seen, and counts
// those seen more than once. Safe for concurrent use.
type Bitmap struct {
	words []atomic.Uint64
	n     uint64
	dups  atomic.Int64
	other atomic.Int64
}

// NewBitmap returns a bitmap for sequence numbers 0 to n-1.
func NewBitmap(n uint64) *Bitmap {
	return &Bitmap{words: make([]atomic.Uint64, (n+63)/64), n: n}
}

// Set marks seq as seen.
func (b *Bitmap) Set(seq uint64) {
	if seq >= b.n {
		b.other.Add(1)
		return
	}
	bit := uint64(1) << (seq % 64)
	if b.words[seq/64].Or(bit)&bit != 0 {
		b.dups.Add(1)
	}
}

// Missing returns how many of [0, n) were never seen.
func (b *Bitmap) Missing() int64 {
	var seen int64
	for i := range b.words {
		w := b.words[i].Load()
		for ; w != 0; w &= w - 1 {
			seen++
		}
	}
	return int64(b.n) - seen
}

// Duplicates is how many times a sequence number was seen again.
func (b *Bitmap) Duplicates() int64 { return b.dups.Load() }

// Foreign is how many sequence numbers out of range were seen.
func (b *Bitmap) Foreign() int64 { return b.other.Load() }
