package report

import (
	"math"

	"github.com/nsqfast/nsq/bench/hist"
)

// Chart is one rendered chart.
type Chart struct {
	Scenario string
	Title    string
	// File is the SVG's file name inside the report folder.
	File string
	SVG  []byte
}

// scenarios lists the scenarios of r in the order they first ran.
func (r *Report) scenarios() []string {
	var names []string
	seen := map[string]bool{}
	for _, run := range r.Runs {
		if !seen[run.Scenario] {
			seen[run.Scenario] = true
			names = append(names, run.Scenario)
		}
	}
	return names
}

// Charts renders, for each scenario, its throughput over time (the first
// successful round of each broker) and, when it measured latency, the
// latency distribution (all rounds of each broker merged).
func (r *Report) Charts() []Chart {
	var out []Chart
	multi := len(r.Brokers) > 1
	for _, sc := range r.scenarios() {
		var tp plot
		tp.title = sc + ": throughput over time"
		tp.xlabel, tp.ylabel = "seconds into the measured phase", "messages per second"
		lat := plot{xPercentile: true, yLog: true, xlabel: "percentile", ylabel: "milliseconds (log scale)"}
		latName := ""
		for _, b := range r.Brokers {
			var merged map[string]*hist.Histogram
			first := true
			for _, run := range r.Runs {
				if run.Scenario != sc || run.Broker != b.Name || run.Result == nil {
					continue
				}
				if first {
					first = false
					for si, s := range run.Result.Series {
						name := s.Name
						if multi {
							name = b.Name + " " + s.Name
						}
						l := line{name: name, dash: si > 0}
						for i, v := range s.Values {
							if i < len(s.T) {
								l.x = append(l.x, s.T[i])
								l.y = append(l.y, v)
							}
						}
						tp.lines = append(tp.lines, l)
					}
				}
				for name, h := range run.Result.Latency {
					if merged == nil {
						merged = map[string]*hist.Histogram{}
					}
					if merged[name] == nil {
						merged[name] = hist.New()
					}
					merged[name].Merge(h)
				}
			}
			name := "delivery"
			if merged["delivery"] == nil {
				name = "pub_ack"
			}
			if h := merged[name]; h != nil && h.Count() > 0 {
				latName = name
				label := name
				if multi {
					label = b.Name + " " + name
				}
				lat.lines = append(lat.lines, latencyLine(label, h))
			}
		}
		if len(tp.lines) > 0 {
			out = append(out, Chart{Scenario: sc, Title: tp.title, File: sc + "-throughput.svg", SVG: tp.svg()})
		}
		if len(lat.lines) > 0 {
			lat.title = sc + ": " + map[string]string{
				"delivery": "publish-to-delivery latency",
				"pub_ack":  "PUB/MPUB acknowledgement latency",
			}[latName]
			out = append(out, Chart{Scenario: sc, Title: lat.title, File: sc + "-latency.svg", SVG: lat.svg()})
		}
	}
	return out
}

// latencyLine samples h's percentiles on a log axis: x = -log10(1-q), up
// to the resolution the sample count supports (at most 99.999%); y in ms.
func latencyLine(name string, h *hist.Histogram) line {
	l := line{name: name}
	tmax := math.Min(math.Log10(float64(h.Count())), 5)
	for t := 0.0; t <= tmax+1e-9; t += 0.02 {
		q := 1 - math.Pow(10, -t)
		l.x = append(l.x, t)
		l.y = append(l.y, float64(h.ValueAt(q))/1e6)
	}
	return l
}
