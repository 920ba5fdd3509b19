// Package series keeps the recent history of a set of measurements taken
// together at a regular interval: nsqadmin's charts of message rate, depth
// and in-flight count per topic and channel.
//
// Every sample records a value for each series that exists at that
// moment; a series missing from a sample has a gap there, and a series
// missing from every sample still held is forgotten. Memory is bounded:
// Capacity samples of 12 bytes per series.
package series

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Key names a series: a channel of a topic, a topic (Channel ""), or the
// whole cluster (both "").
type Key struct {
	Topic, Channel string
}

// Point is one sample of a series. NaN is a gap.
type Point struct {
	Rate     float32 // messages per second
	Depth    float32
	InFlight float32
}

var gap = Point{float32(math.NaN()), float32(math.NaN()), float32(math.NaN())}

type ring struct {
	points   []Point
	lastSeen uint64 // the sample number that last had this series
}

// Store holds the last Capacity samples. It is safe for concurrent use.
type Store struct {
	capacity int

	mu struct {
		sync.RWMutex
		n      uint64  // samples recorded so far
		times  []int64 // unix milliseconds, by sample number mod capacity
		series map[Key]*ring
	}
}

// New returns a Store that keeps capacity samples (at least 1).
func New(capacity int) *Store {
	capacity = max(capacity, 1)
	s := &Store{capacity: capacity}
	s.mu.times = make([]int64, capacity)
	s.mu.series = map[Key]*ring{}
	return s
}

// Capacity is how many samples are kept.
func (s *Store) Capacity() int { return s.capacity }

// Record adds a sample taken at t.
func (s *Store) Record(t time.Time, values map[Key]Point) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.mu.n
	i := int(n % uint64(s.capacity))
	s.mu.times[i] = t.UnixMilli()
	for k, r := range s.mu.series {
		if v, ok := values[k]; ok {
			r.points[i] = v
			r.lastSeen = n
			continue
		}
		if n-r.lastSeen >= uint64(s.capacity) {
			delete(s.mu.series, k)
			continue
		}
		r.points[i] = gap
	}
	for k, v := range values {
		if _, ok := s.mu.series[k]; ok {
			continue
		}
		r := &ring{points: make([]Point, s.capacity), lastSeen: n}
		for j := range r.points {
			r.points[j] = gap
		}
		r.points[i] = v
		s.mu.series[k] = r
	}
	s.mu.n = n + 1
}

// Series is the history of one Key, oldest first, aligned with
// History.Times.
type Series struct {
	Topic    string `json:"topic"`
	Channel  string `json:"channel"`
	Rate     Values `json:"rate"`
	Depth    Values `json:"depth"`
	InFlight Values `json:"in_flight"`
}

// History is the answer of Query.
type History struct {
	Times  []int64  `json:"times"` // unix milliseconds, oldest first
	Series []Series `json:"series"`
}

// Values are a series' samples; NaN (a gap) is encoded as null, and
// values are rounded to 3 decimals.
type Values []float32

// MarshalJSON implements json.Marshaler.
func (v Values) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(v)*4)
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, math.Round(float64(x)*1000)/1000, 'f', -1, 64)
	}
	return append(b, ']'), nil
}

var _ json.Marshaler = Values(nil)

// Query returns the last points samples (all of them if points <= 0) of
// every series for which match is true, sorted by topic and channel.
func (s *Store) Query(points int, match func(Key) bool) History {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := int(min(s.mu.n, uint64(s.capacity)))
	if points > 0 {
		n = min(n, points)
	}
	first := s.mu.n - uint64(n) // sample number of the oldest returned
	idx := func(j int) int { return int((first + uint64(j)) % uint64(s.capacity)) }
	h := History{Times: make([]int64, n), Series: []Series{}}
	for j := range n {
		h.Times[j] = s.mu.times[idx(j)]
	}
	for k, r := range s.mu.series {
		if !match(k) {
			continue
		}
		se := Series{Topic: k.Topic, Channel: k.Channel,
			Rate: make(Values, n), Depth: make(Values, n), InFlight: make(Values, n)}
		for j := range n {
			p := r.points[idx(j)]
			se.Rate[j], se.Depth[j], se.InFlight[j] = p.Rate, p.Depth, p.InFlight
		}
		h.Series = append(h.Series, se)
	}
	slices.SortFunc(h.Series, func(a, b Series) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		switch {
		case a.Channel < b.Channel:
			return -1
		case a.Channel > b.Channel:
			return 1
		}
		return 0
	})
	return h
}
