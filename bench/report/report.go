// Package report turns scenario runs into the three forms a benchmark run
// leaves behind: report.json with every raw figure, series and histogram;
// report.md, a Markdown table (one broker: each figure's median over the
// rounds; two brokers: both medians with their spread, the ratio and a
// verdict); and SVG charts (throughput over time, latency distribution).
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nsqfast/nsq/bench"
)

// Version is the version of the report.json format.
const Version = 1

// Report is one nsq_bench invocation.
type Report struct {
	Version  int       `json:"version"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Machine  Machine   `json:"machine"`
	// Command is the nsq_bench command line.
	Command []string `json:"command"`
	// Params are the scenario parameters as given (zero: each scenario's
	// default).
	Params json.RawMessage `json:"params,omitempty"`
	// Brokers are the brokers compared, in the order of the columns; the
	// first is "A" of the ratio A/B.
	Brokers []Broker `json:"brokers"`
	Rounds  int      `json:"rounds"`
	Runs    []Run    `json:"runs"`
	// Summary is computed from Runs by Summarize.
	Summary []Row `json:"summary"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	MemMiB    int64  `json:"mem_mib,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
	// LoadAvg is /proc/loadavg at the start: the machine may be shared.
	LoadAvg string `json:"load_avg,omitempty"`
}

// Broker is one broker under test.
type Broker struct {
	Name    string   `json:"name"`
	Binary  string   `json:"binary,omitempty"`
	Address string   `json:"address,omitempty"`
	Version string   `json:"version,omitempty"`
	Args    []string `json:"args,omitempty"`
}

// Run is one scenario run against one broker.
type Run struct {
	Scenario string        `json:"scenario"`
	Broker   string        `json:"broker"`
	Round    int           `json:"round"`
	Started  time.Time     `json:"started"`
	Seconds  float64       `json:"seconds"`
	Result   *bench.Result `json:"result,omitempty"`
	Error    string        `json:"error,omitempty"`
	Skipped  string        `json:"skipped,omitempty"`
	// Profiles are file names beside report.json.
	Profiles []string `json:"profiles,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Row is one figure of one scenario across brokers and rounds.
type Row struct {
	Scenario string `json:"scenario"`
	Figure   string `json:"figure"`
	Unit     string `json:"unit"`
	Better   string `json:"better,omitempty"`
	Stats    []Stat `json:"stats"`
	// Ratio is the first broker's median over the second's (0 when there
	// are not two brokers or the second's median is 0).
	Ratio float64 `json:"ratio,omitempty"`
	// Verdict says which broker is better and by how much, or "within
	// noise" when their ranges overlap or their medians differ by less
	// than MinDifference. It needs two rounds or more: one run of each
	// says nothing about the noise.
	Verdict string `json:"verdict,omitempty"`
}

// Stat is one broker's values of a figure over the rounds.
type Stat struct {
	Broker string    `json:"broker"`
	Values []float64 `json:"values"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
}

// Spread is (Max-Min)/Median: the relative range over the rounds.
func (s Stat) Spread() float64 {
	if s.Median == 0 || len(s.Values) < 2 {
		return 0
	}
	return (s.Max - s.Min) / math.Abs(s.Median)
}

// Summarize fills r.Summary from r.Runs: a row per scenario and figure, in
// the order they first appear.
func (r *Report) Summarize() {
	type key struct{ scenario, figure string }
	var order []key
	vals := map[key]map[string][]float64{}
	meta := map[key]bench.Figure{}
	for _, run := range r.Runs {
		if run.Result == nil {
			continue
		}
		for _, f := range run.Result.Figures {
			k := key{run.Scenario, f.Name}
			if vals[k] == nil {
				vals[k] = map[string][]float64{}
				meta[k] = f
				order = append(order, k)
			}
			vals[k][run.Broker] = append(vals[k][run.Broker], f.Value)
		}
	}
	r.Summary = r.Summary[:0]
	for _, k := range order {
		f := meta[k]
		row := Row{Scenario: k.scenario, Figure: k.figure, Unit: f.Unit, Better: f.Better}
		for _, b := range r.Brokers {
			row.Stats = append(row.Stats, statOf(b.Name, vals[k][b.Name]))
		}
		if len(row.Stats) == 2 {
			row.Ratio, row.Verdict = compare(r.Brokers[0].Name, r.Brokers[1].Name, row.Better, row.Stats[0], row.Stats[1])
		}
		r.Summary = append(r.Summary, row)
	}
}

func statOf(broker string, v []float64) Stat {
	s := Stat{Broker: broker, Values: v}
	if len(v) == 0 {
		return s
	}
	sorted := slices.Clone(v)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		s.Median = sorted[n/2]
	} else {
		s.Median = (sorted[n/2-1] + sorted[n/2]) / 2
	}
	s.Min, s.Max = sorted[0], sorted[n-1]
	return s
}

// MinDifference is the smallest relative difference of medians a verdict
// names a winner for: below it, figures that do not overlap (a rate both
// brokers were given, say) are still "within noise".
const MinDifference = 0.02

// compare returns a's median over b's and a verdict: which is better by
// the ratio of medians, or "within noise" when their ranges overlap or
// differ by less than MinDifference.
func compare(an, bn, better string, a, b Stat) (float64, string) {
	if len(a.Values) == 0 || len(b.Values) == 0 || b.Median == 0 {
		return 0, ""
	}
	ratio := a.Median / b.Median
	if better == "" || len(a.Values) < 2 || len(b.Values) < 2 {
		return ratio, ""
	}
	if a.Min <= b.Max && b.Min <= a.Max {
		return ratio, "within noise"
	}
	aWins := (better == bench.HigherIsBetter) == (a.Median > b.Median)
	factor := ratio
	if factor < 1 {
		factor = 1 / factor
	}
	if math.IsInf(factor, 0) || math.IsNaN(factor) {
		return ratio, ""
	}
	if factor < 1+MinDifference {
		return ratio, "within noise"
	}
	if aWins {
		return ratio, fmt.Sprintf("%s %.2f× better", an, factor)
	}
	return ratio, fmt.Sprintf("%s %.2f× better", bn, factor)
}

// Write writes report.json, report.md and the charts into dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r.Summarize()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "report.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	charts := r.Charts()
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.File), c.SVG, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), r.Markdown(charts), 0o644)
}

// Decode parses a report.json and checks that it is one nsq_bench could
// have written: known version, runs naming listed brokers, a summary that
// matches the runs.
func Decode(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	if r.Version != Version {
		return nil, fmt.Errorf("report: version %d, want %d", r.Version, Version)
	}
	names := map[string]bool{}
	for _, b := range r.Brokers {
		if b.Name == "" || names[b.Name] {
			return nil, errors.New("report: broker names must be unique and non-empty")
		}
		names[b.Name] = true
	}
	for _, run := range r.Runs {
		if !names[run.Broker] {
			return nil, fmt.Errorf("report: run of %s names unknown broker %q", run.Scenario, run.Broker)
		}
		if run.Result != nil {
			for _, f := range run.Result.Figures {
				if math.IsNaN(f.Value) || f.Name == "" {
					return nil, fmt.Errorf("report: bad figure in %s", run.Scenario)
				}
			}
		}
	}
	got := r.Summary
	r.Summarize()
	if len(got) != len(r.Summary) {
		return nil, fmt.Errorf("report: summary has %d rows, runs give %d", len(got), len(r.Summary))
	}
	return &r, nil
}

// Load reads and decodes dir/report.json (or the file itself).
func Load(path string) (*Report, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "report.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}
