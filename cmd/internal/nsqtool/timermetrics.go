package nsqtool

import (
	"fmt"
	"log"
	"math"
	"slices"
	"sync"
	"time"
)

// TimerMetrics keeps the durations of the last `every` requests and logs
// their 99th and 95th percentiles and mean each time `every` more have
// been recorded, as bitly/timer_metrics (upstream's) does:
//
//	<prefix> finished 250 - 99th: 1.52ms - 95th: 0.98ms - avg: 0.41ms
//
// Safe for concurrent use. every 0 records nothing.
type TimerMetrics struct {
	l      *log.Logger
	prefix string
	every  int

	mu struct {
		sync.Mutex
		pos     int
		timings []time.Duration
	}
}

// NewTimerMetrics logs to l every `every` durations, each line starting
// with prefix. As upstream, fewer than 100 draws a warning.
func NewTimerMetrics(l *log.Logger, every int, prefix string) *TimerMetrics {
	m := &TimerMetrics{l: l, prefix: prefix, every: every}
	if every > 0 {
		if every < 100 {
			l.Printf("Warning: use more than 100 status values for accurate percentiles (configured with %d)", every)
		}
		m.mu.timings = make([]time.Duration, 0, every)
	}
	return m
}

// Status records the time since start.
func (m *TimerMetrics) Status(start time.Time) {
	if m.every == 0 {
		return
	}
	m.Record(time.Since(start))
}

// Record records d and logs when a round of `every` is complete.
func (m *TimerMetrics) Record(d time.Duration) {
	if m.every == 0 {
		return
	}
	m.mu.Lock()
	m.mu.pos++
	wrapped := m.mu.pos > m.every
	if wrapped {
		m.mu.pos = 1
	}
	if m.mu.pos > len(m.mu.timings) {
		m.mu.timings = append(m.mu.timings, d)
	} else {
		m.mu.timings[m.mu.pos-1] = d
	}
	if !wrapped {
		m.mu.Unlock()
		return
	}
	line := m.summaryLocked()
	m.mu.Unlock()
	m.l.Print(line)
}

// summaryLocked formats the log line of the durations held.
func (m *TimerMetrics) summaryLocked() string {
	sorted := slices.Clone(m.mu.timings)
	slices.Sort(sorted)
	var total, avg time.Duration
	for _, d := range sorted {
		total += d
	}
	if len(sorted) > 0 {
		avg = total / time.Duration(len(sorted))
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	return fmtSummary(m.prefix, len(sorted), ms(percentile(99, sorted)), ms(percentile(95, sorted)), ms(avg))
}

// percentile is timer_metrics' rank: ceil(p/100*n + 0.5), at most n-1.
func percentile(p float64, sorted []time.Duration) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)) + 0.5))
	return sorted[min(i, len(sorted)-1)]
}

func fmtSummary(prefix string, n int, p99, p95, avg float64) string {
	return fmt.Sprintf("%s finished %d - 99th: %.02fms - 95th: %.02fms - avg: %.02fms", prefix, n, p99, p95, avg)
}
