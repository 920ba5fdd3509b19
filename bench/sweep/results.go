package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/report"
)

// Sweep is a curve's results, as <out>/<curve>.json holds them.
type Sweep struct {
	Curve  string `json:"curve"`
	What   string `json:"what"`
	XLabel string `json:"x_label"`
	// Label names what was measured ("main@060b125").
	Label    string       `json:"label,omitempty"`
	Brokers  []BrokerInfo `json:"brokers"`
	Points   []Point      `json:"points"`
	Commands [][]string   `json:"commands,omitempty"`
}

// BrokerInfo is a broker configuration of the sweep.
type BrokerInfo struct {
	Name    string   `json:"name"`
	Binary  string   `json:"binary"`
	Version string   `json:"version"`
	Args    []string `json:"args,omitempty"`
}

// Point is one broker measured at one x.
type Point struct {
	Broker  string         `json:"broker"`
	X       int64          `json:"x"`
	Figures []bench.Figure `json:"figures,omitempty"`
	Notes   []string       `json:"notes,omitempty"`
	Error   string         `json:"error,omitempty"`
	Started time.Time      `json:"started"`
	Seconds float64        `json:"seconds"`
	Label   string         `json:"label,omitempty"`
}

// Figure returns the point's figure name.
func (p Point) Figure(name string) (float64, bool) {
	for _, f := range p.Figures {
		if f.Name == name {
			return f.Value, true
		}
	}
	return 0, false
}

func (p Point) summary() string {
	if p.Error != "" {
		return "FAILED: " + p.Error
	}
	var parts []string
	for _, f := range p.Figures {
		if f.Better != "" && !strings.HasPrefix(f.Name, "end_") && !strings.HasSuffix(f.Name, "_ms") {
			parts = append(parts, fmt.Sprintf("%s=%s", f.Name, strconv.FormatFloat(f.Value, 'g', 4, 64)))
		}
	}
	return strings.Join(parts, " ")
}

// setPoint replaces the point of the same broker and x, or adds p.
func (s *Sweep) setPoint(p Point) {
	for i := range s.Points {
		if s.Points[i].Broker == p.Broker && s.Points[i].X == p.X {
			s.Points[i] = p
			return
		}
	}
	s.Points = append(s.Points, p)
}

// setBroker replaces the broker of the same name, or adds b.
func (s *Sweep) setBroker(b BrokerInfo) {
	for i := range s.Brokers {
		if s.Brokers[i].Name == b.Name {
			s.Brokers[i] = b
			return
		}
	}
	s.Brokers = append(s.Brokers, b)
}

// Load reads a sweep's JSON file.
func Load(path string) (*Sweep, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Sweep
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// Write writes <curve>.json, <curve>.md and the charts (<curve>-*.svg)
// into dir.
func (s *Sweep) Write(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, s.Curve+".json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	for _, c := range s.Charts() {
		if err := os.WriteFile(filepath.Join(dir, c.File), c.SVG, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, s.Curve+".md"), s.Markdown(), 0o644)
}

// series returns broker's values of figure by x, in x order, leaving out
// points that failed or lack it.
func (s *Sweep) series(brokerName, figure string) (xs, ys []float64) {
	var pts []Point
	for _, p := range s.Points {
		if p.Broker == brokerName && p.Error == "" {
			pts = append(pts, p)
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
	for _, p := range pts {
		if v, ok := p.Figure(figure); ok {
			xs, ys = append(xs, float64(p.X)), append(ys, v)
		}
	}
	return xs, ys
}

// xs are the x values measured, in order.
func (s *Sweep) xs() []int64 {
	seen := map[int64]bool{}
	var xs []int64
	for _, p := range s.Points {
		if !seen[p.X] {
			seen[p.X] = true
			xs = append(xs, p.X)
		}
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs
}

// SVGChart is one rendered chart.
type SVGChart struct {
	Title string
	File  string
	SVG   []byte
}

// Charts draws the curve's charts: for each, a line per broker and
// figure, ticked at the x values measured.
func (s *Sweep) Charts() []SVGChart {
	c, ok := CurveByName(s.Curve)
	if !ok {
		return nil
	}
	var ticks []float64
	for _, x := range s.xs() {
		ticks = append(ticks, float64(x))
	}
	xfmt := func(v float64) string { return FormatX(v, c.Bytes) }
	var out []SVGChart
	for _, spec := range c.Charts {
		title := c.Name + ": " + spec.Title
		if s.Label != "" {
			title += " (" + s.Label + ")"
		}
		lc := report.LineChart{Title: title, XLabel: c.XLabel + " (log scale)", YLabel: spec.YLabel, XTicks: ticks, XFormat: xfmt, YLog: spec.YLog}
		for _, b := range s.Brokers {
			for i, f := range spec.Figures {
				xs, ys := s.series(b.Name, f)
				if len(xs) == 0 {
					continue
				}
				name := b.Name
				if len(spec.Figures) > 1 {
					label := f
					if i < len(spec.Labels) {
						label = spec.Labels[i]
					}
					name += ", " + label
				}
				lc.Lines = append(lc.Lines, report.Line{Name: name, X: xs, Y: ys, Dash: i > 0})
			}
		}
		out = append(out, SVGChart{Title: title, File: c.Name + "-" + spec.File + ".svg", SVG: lc.SVG()})
	}
	return out
}

// Markdown renders the sweep: its brokers, a table per chart (a column
// per broker, and each broker's ratio to the first), the failures.
func (s *Sweep) Markdown() []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c, _ := CurveByName(s.Curve)
	w("# Sweep %s", s.Curve)
	if s.Label != "" {
		w(" (%s)", s.Label)
	}
	w("\n\n%s.\n\n", s.What)
	for _, br := range s.Brokers {
		w("- %s: `%s` (%s), flags `%s`\n", br.Name, br.Binary, br.Version, strings.Join(br.Args, " "))
	}
	for _, cmd := range s.Commands {
		w("- command: `%s`\n", strings.Join(cmd, " "))
	}
	for _, spec := range c.Charts {
		for fi, f := range spec.Figures {
			w("\n### %s: %s\n\n| %s |", f, spec.YLabel, c.XLabel)
			for _, br := range s.Brokers {
				w(" %s |", br.Name)
			}
			for _, br := range s.Brokers[min(1, len(s.Brokers)):] {
				w(" %s/%s |", s.Brokers[0].Name, br.Name)
			}
			w("\n|---|%s%s\n", strings.Repeat("--:|", len(s.Brokers)), strings.Repeat("--:|", max(len(s.Brokers)-1, 0)))
			for _, x := range s.xs() {
				w("| %s |", FormatX(float64(x), c.Bytes))
				vals := make([]float64, len(s.Brokers))
				for i, br := range s.Brokers {
					vals[i] = math.NaN()
					failed := false
					for _, p := range s.Points {
						if p.Broker != br.Name || p.X != x {
							continue
						}
						failed = p.Error != ""
						if v, ok := p.Figure(f); ok {
							vals[i] = v
						}
					}
					switch {
					case failed && math.IsNaN(vals[i]):
						w(" failed |")
					case failed:
						// What the broker held when the point failed; not
						// charted, and no ratio.
						w(" %s (failed) |", report.Num(vals[i]))
						vals[i] = math.NaN()
					case math.IsNaN(vals[i]):
						w(" – |")
					default:
						w(" %s |", report.Num(vals[i]))
					}
				}
				for _, v := range vals[min(1, len(vals)):] {
					if math.IsNaN(v) || math.IsNaN(vals[0]) || v == 0 {
						w(" – |")
					} else {
						w(" %.2f× |", vals[0]/v)
					}
				}
				w("\n")
			}
			if fi == len(spec.Figures)-1 {
				w("\n![%s](%s-%s.svg)\n", spec.Title, c.Name, spec.File)
			}
		}
	}
	var fails []string
	for _, p := range s.Points {
		if p.Error != "" {
			fails = append(fails, fmt.Sprintf("%s at %s: %s", p.Broker, FormatX(float64(p.X), c.Bytes), p.Error))
		}
		for _, n := range p.Notes {
			fails = append(fails, fmt.Sprintf("%s at %s (note): %s", p.Broker, FormatX(float64(p.X), c.Bytes), n))
		}
	}
	if len(fails) > 0 {
		w("\n## Failures and notes\n\n")
		for _, f := range fails {
			w("- %s\n", f)
		}
	}
	return []byte(b.String())
}

// FormatX labels an x value: 1,000 → "1k", 50,000,000 → "50M"; as bytes,
// 65536 → "64 KiB".
func FormatX(v float64, bytes bool) string {
	if bytes {
		for _, u := range []struct {
			n    float64
			unit string
		}{{1 << 30, " GiB"}, {1 << 20, " MiB"}, {1 << 10, " KiB"}} {
			if v >= u.n && math.Mod(v, u.n) == 0 {
				return strconv.FormatFloat(v/u.n, 'f', -1, 64) + u.unit
			}
		}
		return strconv.FormatFloat(v, 'f', -1, 64) + " B"
	}
	for _, u := range []struct {
		n    float64
		unit string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.n && math.Mod(v, u.n) == 0 {
			return strconv.FormatFloat(v/u.n, 'f', -1, 64) + u.unit
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func xLabel(c Curve, x int64) string { return FormatX(float64(x), c.Bytes) }

// ParsePoints parses a comma-separated list of positive counts or sizes:
// plain (1000), decimal suffixes k, M, G (10k, 50M) or binary ones Ki, Mi,
// Gi (64Ki, 1Mi), with an optional trailing B (64KiB).
func ParsePoints(s string) ([]int64, error) {
	var pts []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		num := strings.TrimSuffix(f, "B")
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}} {
			if strings.HasSuffix(num, u.suffix) {
				num, mult = strings.TrimSuffix(num, u.suffix), u.mult
				break
			}
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt64/mult {
			return nil, fmt.Errorf("sweep: bad point %q: want a positive count such as 1000, 10k, 50M or 64KiB", f)
		}
		pts = append(pts, n*mult)
	}
	if len(pts) == 0 {
		return nil, errors.New("sweep: no points")
	}
	return pts, nil
}
