package bench

import (
	"fmt"
	"math"
	"strings"

	"github.com/nsqfast/nsq/bench/hist"
)

// Directions for Figure.Better.
const (
	HigherIsBetter = "higher"
	LowerIsBetter  = "lower"
)

// Figure is one measured number.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Better is HigherIsBetter, LowerIsBetter or empty for a figure that is
	// a fact rather than a score (a count of lost messages, a backlog size).
	Better string `json:"better,omitempty"`
}

// Series is a rate sampled at a fixed interval: Values[i] is the rate over
// the interval ending T[i] seconds after sampling began (the last interval
// may be shorter).
type Series struct {
	Name      string    `json:"name"`
	Unit      string    `json:"unit"`
	IntervalS float64   `json:"interval_s"`
	T         []float64 `json:"t"`
	Values    []float64 `json:"values"`
}

// Result is what one scenario run measured.
type Result struct {
	Scenario string   `json:"scenario"`
	Figures  []Figure `json:"figures"`
	Series   []Series `json:"series,omitempty"`
	// Latency holds the latency histograms by name ("delivery": publish to
	// delivery; "pub_ack": a PUB or MPUB written to its OK read), in
	// nanoseconds.
	Latency map[string]*hist.Histogram `json:"latency,omitempty"`
	Notes   []string                   `json:"notes,omitempty"`
}

// Add appends a figure.
func (r *Result) Add(name string, value float64, unit, better string) {
	r.Figures = append(r.Figures, Figure{Name: name, Value: value, Unit: unit, Better: better})
}

// Notef appends a note.
func (r *Result) Notef(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Figure returns the figure named name.
func (r *Result) Figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// Quantiles are the percentiles every latency report gives, with Max.
var Quantiles = []float64{0.5, 0.9, 0.99, 0.999}

// QuantileName is the figure suffix of q: "p50", "p99.9".
func QuantileName(q float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", q*100), "0"), ".")
	return "p" + s
}

// AddLatency stores h under name and adds its percentiles and maximum as
// figures "<name>_p50_ms" ... "<name>_max_ms". An empty histogram adds
// nothing but a note.
func (r *Result) AddLatency(name string, h *hist.Histogram) {
	if h == nil || h.Count() == 0 {
		r.Notef("no %s latency samples", name)
		return
	}
	if r.Latency == nil {
		r.Latency = make(map[string]*hist.Histogram)
	}
	r.Latency[name] = h
	for _, q := range Quantiles {
		r.Add(name+"_"+QuantileName(q)+"_ms", ms(h.ValueAt(q)), "ms", LowerIsBetter)
	}
	r.Add(name+"_max_ms", ms(h.Max()), "ms", LowerIsBetter)
}

func ms(ns int64) float64 { return math.Round(float64(ns)/1e3) / 1e3 }

// Rate adds "<name>_msgs_per_s" and, when size > 0, "<name>_mb_per_s"
// (MiB/s of message bodies) for n messages in d seconds.
func (r *Result) Rate(name string, n int64, seconds float64, size int) {
	if seconds <= 0 {
		return
	}
	r.Add(name+"_msgs_per_s", math.Round(float64(n)/seconds), "msg/s", HigherIsBetter)
	if size > 0 {
		r.Add(name+"_mib_per_s", math.Round(float64(n)*float64(size)/seconds/(1<<20)*100)/100, "MiB/s", HigherIsBetter)
	}
}
