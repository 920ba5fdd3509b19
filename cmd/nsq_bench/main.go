// Command nsq_bench measures NSQ brokers over the V2 TCP protocol:
// throughput, latency, memory per connection, disk backlogs and restarts
// (see bench/scenario), against one broker or two side by side, and writes
// a report (Markdown, JSON, SVG charts) into a results folder.
//
//	nsq_bench --nsqd-bin=bin/nsqd                           # every scenario against our nsqd
//	nsq_bench --nsqd-bin=bin/nsqd --ref-nsqd=/tmp/upstream-nsqd --rounds=3
//	nsq_bench --nsqd-tcp-address=10.0.0.5:4150 --nsqd-http-address=10.0.0.5:4151 --scenarios=pub,sub
//	nsq_bench --sink --scenarios=pub,mpub,sub              # the load client's own ceiling
//	nsq_bench flame results/pub-ours-r1.cpu.pprof > flame.svg   # a profile as a flame graph
//	nsq_bench report results/                                    # report.md and charts again from report.json
//	nsq_bench where results/fanout-ours-r1.cpu.pprof              # where a broker's time went, by kind of work
//	nsq_bench targets --nsqd-bin=bin/nsqd --ref-nsqd=/tmp/upstream-nsqd # issue 6's targets, side by side
//	nsq_bench sweep --curve=topics --nsqd-bin=bin/nsqd --ref-nsqd=/tmp/upstream-nsqd # a cost curve, side by side
//
// `make bench` and `make bench-compare` run it; docs/BENCHMARKS.md
// describes the method.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nsqfast/nsq/bench/flame"
	"github.com/nsqfast/nsq/bench/report"
	"github.com/nsqfast/nsq/bench/scenario"
	"github.com/nsqfast/nsq/bench/suite"
	"github.com/nsqfast/nsq/bench/sweep"
	"github.com/nsqfast/nsq/bench/targets"
	"github.com/nsqfast/nsq/cmd/internal/nsqtool"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "flame" {
		return flameCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "report" {
		return reportCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "where" {
		return whereCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "targets" {
		return targetsCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "sweep" {
		return sweepCmd(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("nsq_bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		bin       = fs.String("nsqd-bin", "", "an nsqd binary to start afresh (fresh data path, free ports) for every run")
		tcpAddr   = fs.String("nsqd-tcp-address", "", "an already running broker's TCP address, instead of --nsqd-bin")
		httpAddr  = fs.String("nsqd-http-address", "", "its HTTP address (for /stats memory and profiles)")
		sink      = fs.Bool("sink", false, "run against the in-process no-op sink instead of a broker: the load client's own ceiling")
		ref       = fs.String("ref-nsqd", "", "a second nsqd binary to compare with the first, run for run")
		name      = fs.String("name", "ours", "label of the first broker")
		refName   = fs.String("ref-name", "ref", "label of the --ref-nsqd broker")
		rounds    = fs.Int("rounds", 1, "runs of each scenario against each broker (alternating A B A B)")
		scenarios = fs.String("scenarios", strings.Join(scenario.Names(), ","), "comma-separated scenarios to run")
		out       = fs.String("out", "", "results folder (default bench/results/<date-time>)")
		profile   = fs.Bool("profile", false, "capture a CPU profile and a wall-clock profile (fgprof) of the broker during each run, beside the report")
		memQueue  = fs.Int64("mem-queue-size", 10000, "--mem-queue-size passed to brokers started from binaries (upstream's default; 0 passes nothing)")
		brokerArg listFlag
		nsqdArg   listFlag
		refArg    listFlag
		p         scenario.Params
	)
	fs.Var(&brokerArg, "broker-arg", "a flag passed to every broker started from a binary (repeatable)")
	fs.Var(&nsqdArg, "nsqd-arg", "a flag passed to --nsqd-bin alone, after the common ones (repeatable)")
	fs.Var(&refArg, "ref-arg", "a flag passed to --ref-nsqd alone, after the common ones (repeatable)")
	fs.IntVar(&p.Size, "size", 0, "message body bytes (0: 200, disk 1024)")
	fs.IntVar(&p.Batch, "batch", 0, "messages per MPUB (0: mpub and backlog fills 200, others 1 = PUB)")
	fs.IntVar(&p.Window, "window", 0, "commands a publisher pipelines before waiting for an answer (0: 1, latency 1024)")
	fs.IntVar(&p.Conns, "conns", 0, "publishing connections; for conns, idle connections (0: 4, latency 2, conns 1000)")
	fs.IntVar(&p.Consumers, "consumers", 0, "consuming connections (0: 4, latency 2)")
	fs.IntVar(&p.Channels, "channels", 0, "fanout channels, one consumer each (0: 4)")
	fs.Int64Var(&p.RDY, "rdy", 0, "each consumer's RDY count (0: 2500)")
	fs.DurationVar(&p.Duration, "duration", 0, "measured phase of timed scenarios (0: 10s)")
	fs.Float64Var(&p.Rate, "rate", 0, "total publish rate in msg/s (0: latency 10000, others unlimited)")
	fs.Int64Var(&p.Backlog, "backlog", 0, "messages sub and restart prepare (0: 500000)")
	fs.Int64Var(&p.DiskBytes, "disk-bytes", 0, "bytes of disk's backlog (0: 256 MiB)")
	fs.BoolVar(&p.Kill, "kill", false, "restart: stop the broker with SIGKILL instead of SIGTERM")
	fs.IntVar(&p.OutputBufferSize, "output-buffer-size", 0, "consumers' IDENTIFY output_buffer_size (0: broker default, -1: none)")
	fs.IntVar(&p.OutputBufferTimeout, "output-buffer-timeout", 0, "consumers' IDENTIFY output_buffer_timeout in ms (0: broker default)")
	fs.DurationVar(&p.Timeout, "timeout", 0, "limit on phases that wait for a count (0: 10×duration + 60s)")
	fs.BoolVar(&p.Transport.TLS, "tls", false, "every connection negotiates TLS (give the broker a certificate: --broker-arg=--tls-cert=... --broker-arg=--tls-key=...)")
	fs.BoolVar(&p.Transport.Snappy, "snappy", false, "every connection negotiates snappy compression")
	fs.IntVar(&p.Transport.Deflate, "deflate", 0, "every connection negotiates deflate at this level (1-9; 0: off)")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	usage := func(msg string) int {
		fmt.Fprintln(stderr, "nsq_bench: "+msg)
		return 2
	}
	// The flag package stops at the first argument that is not a flag, so
	// "nsq_bench run --nsqd-bin=..." would drop every flag after "run".
	if fs.NArg() > 0 {
		return usage(fmt.Sprintf("unexpected argument %q: the commands are flame, report, where, targets and sweep; without one, nsq_bench runs scenarios", fs.Arg(0)))
	}
	targets := 0
	for _, set := range []bool{*bin != "", *tcpAddr != "", *sink} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return usage("give exactly one of --nsqd-bin, --nsqd-tcp-address and --sink")
	}
	if *ref != "" && *bin == "" {
		return usage("--ref-nsqd compares with --nsqd-bin: give both")
	}
	if *name == *refName {
		return usage("--name and --ref-name must differ")
	}
	if err := p.Validate(); err != nil {
		return usage(err.Error())
	}
	names := strings.Split(*scenarios, ",")
	for _, n := range names {
		if !known(n) {
			return usage(fmt.Sprintf("unknown scenario %q (have %s)", n, strings.Join(scenario.Names(), ",")))
		}
	}
	if *out == "" {
		*out = filepath.Join("bench", "results", time.Now().Format("20060102-150405"))
	}

	o := suite.Options{
		Scenarios:    names,
		Params:       p,
		Rounds:       *rounds,
		Out:          *out,
		Profile:      *profile,
		MemQueueSize: *memQueue,
		BrokerArgs:   brokerArg,
		Progress:     stderr,
		Overwrite:    isTerminal(stderr),
		Command:      append([]string{"nsq_bench"}, args...),
	}
	first := suite.Broker{Name: *name, Binary: abs(*bin), TCPAddress: *tcpAddr, HTTPAddress: *httpAddr, Sink: *sink, Args: nsqdArg}
	if *sink && *name == "ours" {
		first.Name = "sink"
	}
	o.Brokers = []suite.Broker{first}
	if *ref != "" {
		o.Brokers = append(o.Brokers, suite.Broker{Name: *refName, Binary: abs(*ref), Args: refArg})
	}
	rep, err := suite.Run(ctx, o)
	if rep != nil {
		printSummary(stdout, rep)
		fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(*out, "report.md"))
	}
	if err != nil {
		fmt.Fprintln(stderr, "nsq_bench:", err)
		return 1
	}
	return 0
}

// flameCmd renders a pprof profile as an SVG flame graph on stdout.
func flameCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nsq_bench flame", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nsq_bench flame [flags] profile.pprof > flame.svg")
		fs.PrintDefaults()
	}
	title := fs.String("title", "", "title (default: the file name)")
	index := fs.Int("index", -1, "sample value to draw, by position (default: the profile's default)")
	width := fs.Int("width", 1200, "width in pixels")
	p, code := profileArg(fs, args, stderr)
	if p == nil {
		return code
	}
	if *title == "" {
		*title = filepath.Base(fs.Arg(0))
	}
	if _, err := stdout.Write(flame.SVG(p, flame.Options{Title: *title, Index: *index, Width: *width})); err != nil {
		fmt.Fprintln(stderr, "nsq_bench flame:", err)
		return 1
	}
	return 0
}

// whereCmd prints how a broker profile's samples divide among the kinds
// of work in flame.BrokerCategories.
func whereCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nsq_bench where", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nsq_bench where [--index=N] profile.pprof")
		fs.PrintDefaults()
	}
	index := fs.Int("index", -1, "sample value to sum, by position (default: the profile's default)")
	p, code := profileArg(fs, args, stderr)
	if p == nil {
		return code
	}
	if err := flame.WriteBreakdown(stdout, p, *index, flame.BrokerCategories); err != nil {
		fmt.Fprintln(stderr, "nsq_bench where:", err)
		return 1
	}
	return 0
}

// profileArg parses the flags of a profile command and reads the profile
// its one argument names; on failure it returns nil and the exit status
// (0 for -h, 2 for usage, 1 for an unreadable profile).
func profileArg(fs *flag.FlagSet, args []string, stderr io.Writer) (*flame.Profile, int) {
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return nil, code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return nil, 2
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, 1
	}
	p, err := flame.Parse(data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return nil, 1
	}
	return p, 0
}

// reportCmd renders report.md and the charts again from a results
// folder's report.json (after a change to how they are drawn, say).
func reportCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: nsq_bench report <results folder>")
		return 2
	}
	r, err := report.Load(args[0])
	if err == nil {
		err = r.Write(args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "nsq_bench report:", err)
		return 1
	}
	printSummary(stdout, r)
	return 0
}

// targetsCmd runs the performance targets (bench/targets) against two
// brokers and writes targets.md, targets.json and targets.svg.
func targetsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nsq_bench targets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ids []string
	for _, t := range targets.All() {
		ids = append(ids, t.ID)
	}
	bin := fs.String("nsqd-bin", "", "our nsqd binary")
	ref := fs.String("ref-nsqd", "", "the reference nsqd binary (upstream v1.3.0)")
	name := fs.String("name", "ours", "label of --nsqd-bin")
	refName := fs.String("ref-name", "upstream", "label of --ref-nsqd")
	rounds := fs.Int("rounds", 5, "rounds of each target against each broker (alternating)")
	duration := fs.Duration("duration", 5*time.Second, "measured phase of the timed scenarios")
	only := fs.String("only", strings.Join(ids, ","), "comma-separated targets to run")
	out := fs.String("out", "", "results folder (default bench/results/targets-<date-time>)")
	profile := fs.Bool("profile", false, "capture CPU and wall-clock profiles of every run (slower: quote no figure from such a run)")
	ceiling := fs.Bool("ceiling", false, "also measure the load client alone against the in-process sink, for the targets where that means something")
	render := fs.String("render", "", "only write targets.md and targets.svg again from this folder's targets.json")
	var nsqdArg, refArg listFlag
	fs.Var(&nsqdArg, "nsqd-arg", "a flag passed to --nsqd-bin alone, after each target's own (repeatable)")
	fs.Var(&refArg, "ref-arg", "a flag passed to --ref-nsqd alone, after each target's own (repeatable): --ref-arg=--mem-queue-size=10000000 measures upstream in memory")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	if *render != "" {
		s, err := targets.Load(*render)
		if err == nil {
			err = s.Write(*render)
		}
		if err != nil {
			fmt.Fprintln(stderr, "nsq_bench targets:", err)
			return 1
		}
		return 0
	}
	if *bin == "" || *ref == "" || *name == *refName || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: nsq_bench targets --nsqd-bin=bin/nsqd --ref-nsqd=/path/to/upstream/nsqd [--rounds=5] [--only=mpub,drain] [--profile] [--ceiling]")
		return 2
	}
	var sel []targets.Target
	for _, id := range strings.Split(*only, ",") {
		found := false
		for _, t := range targets.All() {
			if t.ID == id {
				sel, found = append(sel, t), true
			}
		}
		if !found {
			fmt.Fprintf(stderr, "nsq_bench targets: unknown target %q (have %s)\n", id, strings.Join(ids, ","))
			return 2
		}
	}
	if *out == "" {
		*out = filepath.Join("bench", "results", "targets-"+time.Now().Format("20060102-150405"))
	}
	s, err := targets.Run(ctx, targets.Options{
		Ours:      suite.Broker{Name: *name, Binary: abs(*bin), Args: nsqdArg},
		Ref:       suite.Broker{Name: *refName, Binary: abs(*ref), Args: refArg},
		Targets:   sel,
		Rounds:    *rounds,
		Duration:  *duration,
		Out:       *out,
		Profile:   *profile,
		Ceiling:   *ceiling,
		Progress:  stderr,
		Overwrite: isTerminal(stderr),
		Command:   append([]string{"nsq_bench", "targets"}, args...),
	})
	if s != nil {
		fmt.Fprintln(stdout)
		for _, r := range s.Results {
			fmt.Fprintf(stdout, "%-8s %-22s %14.6g %14.6g  factor %6.2f (rounds %.2f–%.2f, asked %.1f)  met=%v every_round=%v\n",
				r.Target.ID, r.Target.Figure, r.Ours.Median, r.Ref.Median, r.Factor, r.Worst, r.Best, r.Target.Factor, r.Met, r.EveryRound)
		}
		fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(*out, "targets.md"))
	}
	if err != nil {
		fmt.Fprintln(stderr, "nsq_bench targets:", err)
		return 1
	}
	return 0
}

func known(name string) bool {
	for _, n := range scenario.Names() {
		if n == name {
			return true
		}
	}
	return false
}

func abs(path string) string {
	if path == "" {
		return ""
	}
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printSummary prints the headline figures: for one broker each figure's
// median; for two, both medians, the ratio and the verdict.
func printSummary(w io.Writer, r *report.Report) {
	fmt.Fprintln(w)
	for _, row := range r.Summary {
		if row.Better == "" && row.Figure != "lost" {
			continue
		}
		fmt.Fprintf(w, "%-8s %-28s", row.Scenario, row.Figure)
		for _, s := range row.Stats {
			fmt.Fprintf(w, " %14.6g", s.Median)
		}
		if row.Ratio != 0 {
			fmt.Fprintf(w, "  ratio %6.2f  %s", row.Ratio, row.Verdict)
		}
		fmt.Fprintf(w, " %s\n", row.Unit)
	}
}

// sweepCmd runs one scaling sweep (bench/sweep), or all, against one or
// two brokers, merging the points into <out>/<curve>.json and drawing
// <curve>-*.svg and <curve>.md.
func sweepCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nsq_bench sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	curve := fs.String("curve", "", "the curve to run: "+strings.Join(sweep.Names(), ", ")+", or all")
	points := fs.String("points", "", "comma-separated x values instead of the curve's own (1000, 10k, 50M, 64KiB)")
	bin := fs.String("nsqd-bin", "", "our nsqd binary")
	ref := fs.String("ref-nsqd", "", "the reference nsqd binary (upstream v1.3.0), run beside it at every point")
	name := fs.String("name", "ours", "label of --nsqd-bin")
	refName := fs.String("ref-name", "upstream", "label of --ref-nsqd (another label keeps both configurations on the charts: upstream-mem10M)")
	var nsqdArg, refArg listFlag
	fs.Var(&nsqdArg, "nsqd-arg", "a flag for --nsqd-bin, after the curve's own (repeatable)")
	fs.Var(&refArg, "ref-arg", "a flag for --ref-nsqd, after the curve's own (repeatable): --ref-arg=--mem-queue-size=10000000")
	duration := fs.Duration("duration", 5*time.Second, "each timed phase")
	out := fs.String("out", filepath.Join("bench", "results", "sweeps"), "results folder; <curve>.json in it is merged with what this run measures")
	label := fs.String("label", "", "what is measured, in chart titles (main@<commit>)")
	render := fs.Bool("render", false, "only draw the charts and tables again from the folder's JSON")
	if code, ok := nsqtool.Parse(fs, args); !ok {
		return code
	}
	usage := func(msg string) int {
		fmt.Fprintln(stderr, "nsq_bench sweep: "+msg)
		fmt.Fprintln(stderr, "usage: nsq_bench sweep --curve=topics|all --nsqd-bin=bin/nsqd [--ref-nsqd=/path/to/upstream/nsqd] [--points=1,100] [--duration=5s] [--out=bench/results/sweeps]")
		return 2
	}
	var curves []sweep.Curve
	if *curve == "all" {
		curves = sweep.Curves()
	} else if c, ok := sweep.CurveByName(*curve); ok {
		curves = []sweep.Curve{c}
	} else {
		return usage(fmt.Sprintf("unknown curve %q (have %s, all)", *curve, strings.Join(sweep.Names(), ", ")))
	}
	if *render {
		for _, c := range curves {
			s, err := sweep.Load(filepath.Join(*out, c.Name+".json"))
			if err == nil {
				err = s.Write(*out)
			}
			if err != nil && (len(curves) == 1 || !errors.Is(err, os.ErrNotExist)) {
				fmt.Fprintln(stderr, "nsq_bench sweep:", err)
				return 1
			}
		}
		return 0
	}
	var pts []int64
	if *points != "" {
		if len(curves) > 1 {
			return usage("--points needs one --curve")
		}
		var err error
		if pts, err = sweep.ParsePoints(*points); err != nil {
			return usage(err.Error())
		}
	}
	var brokers []sweep.Broker
	if *bin != "" {
		brokers = append(brokers, sweep.Broker{Name: *name, Binary: abs(*bin), Args: nsqdArg})
	}
	if *ref != "" {
		brokers = append(brokers, sweep.Broker{Name: *refName, Binary: abs(*ref), Args: refArg})
	}
	if len(brokers) == 0 || *name == *refName || fs.NArg() > 0 {
		return usage("give --nsqd-bin, --ref-nsqd or both, with different names")
	}
	status := 0
	for _, c := range curves {
		fmt.Fprintf(stderr, "== sweep %s: %s\n", c.Name, c.What)
		s, err := sweep.Run(ctx, sweep.Options{
			Curve: c, Points: pts, Brokers: brokers, Duration: *duration, Out: *out, Label: *label,
			Progress: stderr, Command: append([]string{"nsq_bench", "sweep"}, args...),
		})
		if s != nil {
			fmt.Fprintf(stdout, "%s: %s\n", c.Name, filepath.Join(*out, c.Name+".md"))
		}
		if err != nil {
			fmt.Fprintln(stderr, "nsq_bench sweep:", err)
			status = 1
			if ctx.Err() != nil {
				break
			}
		}
	}
	return status
}
