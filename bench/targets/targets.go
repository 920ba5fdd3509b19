// Package targets runs the performance targets of issue 6 side by side:
// each target is a scenario with its own parameters and broker flags, run
// against our nsqd and a reference nsqd (upstream v1.3.0) in alternating
// rounds by bench/suite, and judged by the ratio of the two medians of one
// figure. It writes targets.md (the table), targets.json and targets.svg
// (each target's improvement factor against the factor asked for) beside
// one ordinary results folder per target.
package targets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/report"
	"github.com/nsqfast/nsq/bench/scenario"
	"github.com/nsqfast/nsq/bench/suite"
)

// Target is one row of the table: a scenario, how it is run, which figure
// decides and the factor it must reach.
type Target struct {
	// ID names the target on the command line (--only) and its results
	// folder.
	ID string `json:"id"`
	// What is the target in words.
	What     string          `json:"what"`
	Scenario string          `json:"scenario"`
	Params   scenario.Params `json:"params"`
	// Flags is the nsq_bench command line the row stands for, for the
	// table and to reproduce one row alone.
	Flags string `json:"flags"`
	// MemQueueSize is passed to both brokers as --mem-queue-size (0: not
	// passed); BrokerArgs are more flags for both.
	MemQueueSize int64    `json:"mem_queue_size"`
	BrokerArgs   []string `json:"broker_args,omitempty"`
	// Figure decides: its Better direction says whether ours/reference
	// must be at least Factor (higher is better) or at most 1/Factor.
	Figure string  `json:"figure"`
	Factor float64 `json:"factor"`
	// MustBeZero are figures of ours that must be 0 in every round
	// ("lost").
	MustBeZero []string `json:"must_be_zero,omitempty"`
	// Ceiling says the load client can be measured alone against the
	// in-process sink for this row (bench/fake).
	Ceiling bool `json:"ceiling,omitempty"`
}

// All are the targets of issue 6, in its order.
func All() []Target {
	w64 := scenario.Params{Window: 64}
	return []Target{
		{ID: "mpub", What: "MPUB publish, 200 B × 200 per batch", Scenario: "mpub", Params: w64,
			Flags: "--scenarios=mpub --window=64", MemQueueSize: 10000, Figure: "pub_msgs_per_s", Factor: 3, Ceiling: true},
		{ID: "drain", What: "drain with FIN per message", Scenario: "sub", Params: w64,
			Flags: "--scenarios=sub --window=64", MemQueueSize: 10000, Figure: "sub_msgs_per_s", Factor: 2, Ceiling: true},
		{ID: "pubsub", What: "publish and consume at once", Scenario: "pubsub", Params: w64,
			Flags: "--scenarios=pubsub --window=64", MemQueueSize: 10000, Figure: "sub_msgs_per_s", Factor: 2.5, Ceiling: true},
		{ID: "fanout", What: "fan-out to 4 channels, delivered", Scenario: "fanout", Params: w64,
			Flags: "--scenarios=fanout --window=64", MemQueueSize: 10000, Figure: "delivered_msgs_per_s", Factor: 3, Ceiling: true},
		{ID: "disk", What: "publish with every message on disk", Scenario: "pub", Params: w64,
			Flags: "--scenarios=pub --window=64 --mem-queue-size=0 --broker-arg=--mem-queue-size=0", BrokerArgs: []string{"--mem-queue-size=0"},
			Figure: "pub_msgs_per_s", Factor: 4, Ceiling: true},
		{ID: "pub64", What: "single-message PUB, 64 producers, one in flight each", Scenario: "pub", Params: scenario.Params{Conns: 64},
			Flags: "--scenarios=pub --conns=64", MemQueueSize: 10000, Figure: "pub_msgs_per_s", Factor: 1.5, Ceiling: true},
		{ID: "p99", What: "publish→delivery p99 at 20k msg/s, unbuffered consumer", Scenario: "latency",
			Params: scenario.Params{Rate: 20000, OutputBufferSize: -1},
			Flags:  "--scenarios=latency --rate=20000 --output-buffer-size=-1", MemQueueSize: 10000, Figure: "delivery_p99_ms", Factor: 2},
		{ID: "conns", What: "memory per idle subscribed connection, 10,000 connections", Scenario: "conns", Params: scenario.Params{Conns: 10000},
			Flags: "--scenarios=conns --conns=10000", MemQueueSize: 10000, Figure: "rss_per_conn_bytes", Factor: 5},
		{ID: "restart", What: "restart with 1M messages on disk, until all delivered again", Scenario: "restart", Params: scenario.Params{Backlog: 1000000},
			Flags: "--scenarios=restart --backlog=1000000", MemQueueSize: 10000, Figure: "redelivered_s", Factor: 2, MustBeZero: []string{"lost"}},
	}
}

// Options configures Run.
type Options struct {
	// Ours and Ref are the two brokers (binaries, as a rule); Ours is A
	// of A/B.
	Ours, Ref suite.Broker
	// Targets to run (default All).
	Targets []Target
	// Rounds per target and broker (default 5).
	Rounds int
	// Duration is the measured phase of the timed scenarios (default 5s).
	Duration time.Duration
	// Out is the results folder; each target gets Out/<ID>.
	Out string
	// Profile captures CPU and wall-clock profiles of every run.
	Profile bool
	// Ceiling also runs the targets that allow it against the sink: the
	// load client's own ceiling.
	Ceiling   bool
	Progress  io.Writer
	Overwrite bool
	Command   []string
}

// Result is one target's outcome.
type Result struct {
	Target Target `json:"target"`
	// Ours and Ref are the deciding figure's values over the rounds.
	Ours report.Stat `json:"ours"`
	Ref  report.Stat `json:"ref"`
	// Ratio is the ratio of the medians, ours/reference.
	Ratio float64 `json:"ratio"`
	Unit  string  `json:"unit"`
	// Factor is how much better ours is by that ratio (Ratio for a
	// higher-is-better figure, 1/Ratio otherwise); Worst and Best are the
	// least and most of the per-round factors (round i of ours against
	// round i of the reference, run next to each other).
	Factor float64 `json:"factor"`
	Worst  float64 `json:"worst,omitempty"`
	Best   float64 `json:"best,omitempty"`
	// Met: Factor reaches the target's; EveryRound: every per-round
	// factor does.
	Met        bool `json:"met"`
	EveryRound bool `json:"every_round"`
	// Violations lists MustBeZero figures that were not.
	Violations []string `json:"violations,omitempty"`
	// OursCPU and RefCPU are the brokers' median CPU use (cores);
	// ClientCPU the load client's in our runs.
	OursCPU   float64 `json:"ours_cpu,omitempty"`
	RefCPU    float64 `json:"ref_cpu,omitempty"`
	ClientCPU float64 `json:"client_cpu,omitempty"`
	// Ceiling is the deciding figure against the sink, when measured.
	Ceiling *report.Stat `json:"ceiling,omitempty"`
	// Errors are failed runs.
	Errors []string `json:"errors,omitempty"`
}

// Summary is what Run writes to targets.json.
type Summary struct {
	Started  time.Time        `json:"started"`
	Finished time.Time        `json:"finished"`
	Machine  report.Machine   `json:"machine"`
	Command  []string         `json:"command"`
	Rounds   int              `json:"rounds"`
	Duration string           `json:"duration"`
	Brokers  [2]report.Broker `json:"brokers"`
	Results  []Result         `json:"results"`
}

// Run runs every target and writes the summary; it returns it even when
// some runs failed (the error says so).
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Ours.Name == "" || o.Ref.Name == "" || o.Ours.Name == o.Ref.Name {
		return nil, errors.New("targets: two brokers with different names")
	}
	if o.Out == "" {
		return nil, errors.New("targets: no results folder")
	}
	if len(o.Targets) == 0 {
		o.Targets = All()
	}
	if o.Rounds <= 0 {
		o.Rounds = 5
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	s := &Summary{Started: time.Now(), Command: o.Command, Rounds: o.Rounds, Duration: o.Duration.String()}
	var failed error
	for i, t := range o.Targets {
		fmt.Fprintf(o.Progress, "== target %d/%d: %s (%s)\n", i+1, len(o.Targets), t.ID, t.What)
		p := t.Params
		p.Duration = o.Duration
		so := suite.Options{
			Brokers:      []suite.Broker{o.Ours, o.Ref},
			Scenarios:    []string{t.Scenario},
			Params:       p,
			Rounds:       o.Rounds,
			Out:          filepath.Join(o.Out, t.ID),
			Profile:      o.Profile,
			MemQueueSize: t.MemQueueSize,
			BrokerArgs:   t.BrokerArgs,
			Progress:     o.Progress,
			Overwrite:    o.Overwrite,
			Command:      append(append([]string{}, o.Command...), "(target "+t.ID+")"),
		}
		rep, err := suite.Run(ctx, so)
		if rep != nil {
			if s.Machine.CPUs == 0 {
				s.Machine = rep.Machine
				copy(s.Brokers[:], rep.Brokers)
			}
			r := judge(t, rep)
			if o.Ceiling && t.Ceiling && ctx.Err() == nil {
				so.Brokers = []suite.Broker{{Name: "sink", Sink: true}}
				so.Out = filepath.Join(o.Out, t.ID+"-sink")
				so.Profile = false
				if crep, cerr := suite.Run(ctx, so); crep != nil {
					if row, ok := find(crep, t.Scenario, t.Figure); ok {
						r.Ceiling = &row.Stats[0]
					}
					err = errors.Join(err, cerr)
				}
			}
			s.Results = append(s.Results, r)
		}
		failed = errors.Join(failed, err)
		s.Finished = time.Now()
		if werr := s.Write(o.Out); werr != nil {
			return s, werr
		}
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
	}
	return s, failed
}

func find(rep *report.Report, sc, figure string) (report.Row, bool) {
	for _, row := range rep.Summary {
		if row.Scenario == sc && row.Figure == figure {
			return row, true
		}
	}
	return report.Row{}, false
}

// judge computes a target's Result from its comparison report.
func judge(t Target, rep *report.Report) Result {
	r := Result{Target: t}
	for _, run := range rep.Runs {
		if run.Error != "" {
			r.Errors = append(r.Errors, fmt.Sprintf("%s round %d: %s", run.Broker, run.Round, run.Error))
		}
		if run.Result == nil || run.Broker != rep.Brokers[0].Name {
			continue
		}
		for _, z := range t.MustBeZero {
			if f, ok := run.Result.Figure(z); ok && f.Value != 0 {
				r.Violations = append(r.Violations, fmt.Sprintf("round %d: %s = %v", run.Round, z, f.Value))
			}
		}
	}
	row, ok := find(rep, t.Scenario, t.Figure)
	if !ok || len(row.Stats) != 2 {
		return r
	}
	r.Ours, r.Ref, r.Ratio, r.Unit = row.Stats[0], row.Stats[1], row.Ratio, row.Unit
	higher := row.Better == bench.HigherIsBetter
	r.Factor = factor(r.Ratio, higher)
	r.Met = r.Factor >= t.Factor && len(r.Violations) == 0
	// Per-round factors: each round ran ours and then the reference, back
	// to back.
	perRound := map[int][2]float64{}
	for _, run := range rep.Runs {
		if run.Result == nil {
			continue
		}
		f, ok := run.Result.Figure(t.Figure)
		if !ok {
			continue
		}
		v := perRound[run.Round]
		if run.Broker == rep.Brokers[0].Name {
			v[0] = f.Value
		} else {
			v[1] = f.Value
		}
		perRound[run.Round] = v
	}
	r.EveryRound = r.Met
	first := true
	for _, v := range perRound {
		if v[0] == 0 || v[1] == 0 {
			r.EveryRound = false
			continue
		}
		f := factor(v[0]/v[1], higher)
		if first || f < r.Worst {
			r.Worst = f
		}
		if first || f > r.Best {
			r.Best = f
		}
		first = false
	}
	if r.Worst < t.Factor {
		r.EveryRound = false
	}
	if c, ok := find(rep, t.Scenario, "broker_cpu_cores"); ok && len(c.Stats) == 2 {
		r.OursCPU, r.RefCPU = c.Stats[0].Median, c.Stats[1].Median
	}
	if c, ok := find(rep, t.Scenario, "client_cpu_cores"); ok && len(c.Stats) == 2 {
		r.ClientCPU = c.Stats[0].Median
	}
	return r
}

func factor(ratio float64, higherIsBetter bool) float64 {
	if ratio == 0 || math.IsInf(ratio, 0) || math.IsNaN(ratio) {
		return 0
	}
	if higherIsBetter {
		return ratio
	}
	return 1 / ratio
}

// Write writes targets.json, targets.md and targets.svg into dir.
func (s *Summary) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "targets.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "targets.svg"), s.Chart(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "targets.md"), s.Markdown(), 0o644)
}

// Load reads a targets.json (or the one in a folder).
func Load(path string) (*Summary, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "targets.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Markdown renders the table.
func (s *Summary) Markdown() []byte {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	a, ref := s.Brokers[0].Name, s.Brokers[1].Name
	w("# Performance targets: %s against %s\n\n", a, ref)
	w("- started %s, took %s\n", s.Started.Format("2006-01-02 15:04:05 MST"), s.Finished.Sub(s.Started).Round(time.Second))
	m := s.Machine
	w("- machine: %d CPUs (%s), %.1f GiB RAM, Linux %s, %s; load average at start %s\n", m.CPUs, m.CPUModel, float64(m.MemMiB)/1024, m.Kernel, m.GoVersion, m.LoadAvg)
	w("- command: `%s`\n", strings.Join(s.Command, " "))
	w("- %d rounds of each target, %s then %s, each run on a freshly started broker with a fresh data path; timed phases %s\n", s.Rounds, a, ref, s.Duration)
	for _, br := range s.Brokers {
		w("- %s: `%s` (%s)", br.Name, br.Binary, br.Version)
		if len(br.Args) > 0 {
			w(", flags of the first target: `%s`", strings.Join(br.Args, " "))
		}
		w("\n")
	}
	w("\nEach cell: median [min–max] over the rounds. *Factor* is how many times better %s is by the ratio of the medians (for a figure where lower is better, %s/%s); *rounds* is the least and most of the per-round factors (each round runs both brokers back to back).\n\n", a, ref, a)
	w("| target | nsq_bench flags | figure | %s | %s | factor | rounds | asked | met | broker CPU %s / %s, client |\n", a, ref, a, ref)
	w("|---|---|---|--:|--:|--:|--:|--:|---|--:|\n")
	for _, r := range s.Results {
		met := "**no**"
		switch {
		case r.EveryRound:
			met = "yes, every round"
		case r.Met:
			met = "yes (median)"
		}
		if len(r.Violations) > 0 {
			met += " — " + strings.Join(r.Violations, "; ")
		}
		cpu := "–" // restart: the broker process changes mid-run
		if r.OursCPU > 0 || r.RefCPU > 0 {
			cpu = fmt.Sprintf("%.2f / %.2f, %.2f", r.OursCPU, r.RefCPU, r.ClientCPU)
		}
		w("| %s | `%s` | %s (%s) | %s | %s | %.2f× | %.2f–%.2f | %.1f× | %s | %s |\n",
			r.Target.What, r.Target.Flags, r.Target.Figure, r.Unit, r.Ours, r.Ref, r.Factor, r.Worst, r.Best, r.Target.Factor, met, cpu)
	}
	var ceil []Result
	for _, r := range s.Results {
		if r.Ceiling != nil {
			ceil = append(ceil, r)
		}
	}
	if len(ceil) > 0 {
		w("\n## The load client's own ceiling\n\nThe same load against the in-process sink (bench/fake), which acknowledges and generates messages without keeping any: how fast the client alone goes on this machine.\n\n")
		w("| target | figure | sink | %s | %s | %s / sink |\n|---|---|--:|--:|--:|--:|\n", a, ref, a)
		for _, r := range ceil {
			share := 0.0
			if r.Ceiling.Median > 0 {
				share = r.Ours.Median / r.Ceiling.Median
			}
			w("| %s | %s | %s | %s | %s | %.0f%% |\n", r.Target.What, r.Target.Figure, *r.Ceiling, report.Num(r.Ours.Median), report.Num(r.Ref.Median), share*100)
		}
	}
	var errs []string
	for _, r := range s.Results {
		for _, e := range r.Errors {
			errs = append(errs, r.Target.ID+": "+e)
		}
	}
	if len(errs) > 0 {
		w("\n## Failed runs\n\n")
		for _, e := range errs {
			w("- %s\n", e)
		}
	}
	w("\n![factor per target](targets.svg)\n\nEach target's own report (every figure, charts, profiles) is in its folder: ")
	for i, r := range s.Results {
		if i > 0 {
			w(", ")
		}
		w("[%s](%s/report.md)", r.Target.ID, r.Target.ID)
	}
	w(".\n")
	return []byte(b.String())
}

// Chart draws each target's factor (the bar, with the per-round range as
// a whisker) against the factor asked for (a mark), on a log scale.
func (s *Summary) Chart() []byte {
	bars := make([]report.Bar, 0, len(s.Results))
	for _, r := range s.Results {
		bars = append(bars, report.Bar{
			Label: r.Target.ID, Value: r.Factor, Low: r.Worst, High: r.Best, Mark: r.Target.Factor, OK: r.Met,
		})
	}
	title := "ours against the reference: how many times better (log scale)"
	if s.Brokers[1].Name != "" {
		title = fmt.Sprintf("%s against %s: how many times better (log scale)", s.Brokers[0].Name, s.Brokers[1].Name)
	}
	return report.BarChart(title, "factor: bar = ratio of medians, whisker = per-round range, black mark = target", bars)
}
