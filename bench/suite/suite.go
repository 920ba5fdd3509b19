// Package suite runs scenarios against one broker, or against two in turn
// for a side-by-side comparison: for each scenario, round after round, A
// then B, each run on a freshly started broker with a fresh data path and
// identical flags. It captures CPU and wall-clock profiles on request and
// leaves a report (bench/report) in a results folder.
package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/bench/fake"
	"github.com/nsqfast/nsq/bench/flame"
	"github.com/nsqfast/nsq/bench/report"
	"github.com/nsqfast/nsq/bench/scenario"
)

// Broker says how to get a broker for each run. Exactly one of Binary,
// TCPAddress, Sink and Start is set.
type Broker struct {
	// Name labels the broker in reports ("ours", "upstream").
	Name string
	// Binary is an nsqd to start afresh for every run.
	Binary string
	// TCPAddress (and HTTPAddress, optional) is an already running broker,
	// shared by every run (topics are unique per run).
	TCPAddress, HTTPAddress string
	// Sink runs every scenario against an in-process fake.Server that
	// acknowledges and generates messages: the load client's own ceiling.
	Sink bool
	// Start, for tests and embedders, returns a fresh broker and how to
	// stop it.
	Start func(ctx context.Context) (broker.Target, func() error, error)
	// Args are more flags for this broker alone when it is started from
	// Binary, after Options.MemQueueSize and Options.BrokerArgs (so one
	// given again here wins: upstream at --mem-queue-size=10000000 beside
	// ours at its defaults).
	Args []string
}

// Options configures Run.
type Options struct {
	// Brokers are one broker, or two to compare (the first is A in A/B).
	Brokers []Broker
	// Scenarios are run in this order. Default: all (scenario.Names).
	Scenarios []string
	Params    scenario.Params
	// Rounds is how many times each scenario runs against each broker.
	// Default 1.
	Rounds int
	// Out is the results folder. Required.
	Out string
	// Profile captures a CPU profile (/debug/pprof/profile) and a
	// wall-clock profile (/debug/fgprof, where served) of the broker
	// during each run's measured phase, saved beside the report.
	Profile bool
	// MemQueueSize is passed as --mem-queue-size to brokers started from a
	// binary (0: not passed, the binary's default).
	MemQueueSize int64
	// BrokerArgs are more flags for brokers started from a binary,
	// identical for both.
	BrokerArgs []string
	// DataDir holds the brokers' fresh data paths. Default: Out/data,
	// removed after each run.
	DataDir string
	// Progress receives progress lines; Overwrite redraws status in place
	// (a terminal).
	Progress  io.Writer
	Overwrite bool
	// Command is recorded in the report.
	Command []string
}

// Run runs every scenario against every broker for every round and writes
// the report into o.Out (report.json is rewritten after each run, so an
// interrupted run leaves what it measured). The error is non-nil when a
// run failed; skipped scenarios are not errors.
func Run(ctx context.Context, o Options) (*report.Report, error) {
	if len(o.Brokers) == 0 || len(o.Brokers) > 2 {
		return nil, errors.New("suite: one or two brokers")
	}
	if o.Out == "" {
		return nil, errors.New("suite: no results folder")
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = scenario.Names()
	}
	if o.Rounds <= 0 {
		o.Rounds = 1
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(o.Out, "data")
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	for _, d := range []string{o.Out, o.DataDir, filepath.Join(o.Out, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	params, _ := json.Marshal(o.Params)
	rep := &report.Report{
		Version: report.Version,
		Started: time.Now(),
		Machine: machine(),
		Command: o.Command,
		Params:  params,
		Rounds:  o.Rounds,
	}
	for _, b := range o.Brokers {
		rb := report.Broker{Name: b.Name}
		switch {
		case b.Binary != "":
			rb.Binary = b.Binary
			rb.Version = broker.Version(b.Binary)
			rb.Args = append(brokerArgs(o), b.Args...)
		case b.TCPAddress != "":
			rb.Address = b.TCPAddress
		case b.Sink:
			rb.Address = "in-process sink (bench/fake)"
			rb.Version = "sink"
		default:
			rb.Address = "in-process"
		}
		rep.Brokers = append(rep.Brokers, rb)
	}
	prefix := "bench" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	total := len(o.Scenarios) * o.Rounds * len(o.Brokers)
	var failed int
	i := 0
	for _, sc := range o.Scenarios {
		for round := 1; round <= o.Rounds; round++ {
			for _, b := range o.Brokers {
				i++
				fmt.Fprintf(o.Progress, "[%d/%d] %s on %s, round %d/%d\n", i, total, sc, b.Name, round, o.Rounds)
				run := runOne(ctx, o, b, sc, round, fmt.Sprintf("%s_r%d_%s", prefix, round, b.Name))
				if o.Overwrite {
					fmt.Fprint(o.Progress, "\r\033[K")
				}
				fmt.Fprintf(o.Progress, "        %s\n", outcome(run))
				if run.Error != "" {
					failed++
				}
				rep.Runs = append(rep.Runs, run)
				rep.Finished = time.Now()
				rep.Summarize()
				if err := writeJSON(o.Out, rep); err != nil {
					return rep, err
				}
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
			}
		}
	}
	rep.Finished = time.Now()
	_ = os.Remove(o.DataDir) // the data paths are gone; drop the folder if empty
	if err := rep.Write(o.Out); err != nil {
		return rep, err
	}
	if failed > 0 {
		return rep, fmt.Errorf("suite: %d of %d runs failed (see %s)", failed, total, filepath.Join(o.Out, "report.md"))
	}
	return rep, nil
}

func writeJSON(dir string, r *report.Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644)
}

func brokerArgs(o Options) []string {
	args := []string{"--tcp-address=127.0.0.1:<free>", "--http-address=127.0.0.1:<free>", "--data-path=<fresh>"}
	if o.MemQueueSize > 0 {
		args = append(args, "--mem-queue-size="+strconv.FormatInt(o.MemQueueSize, 10))
	}
	return append(args, o.BrokerArgs...)
}

// outcome is the one-line summary of a run for the terminal.
func outcome(r report.Run) string {
	switch {
	case r.Error != "":
		return "FAILED: " + r.Error
	case r.Skipped != "":
		return "skipped: " + r.Skipped
	}
	var parts []string
	for _, f := range r.Result.Figures {
		if f.Better == "" && !strings.HasPrefix(f.Name, "lost") {
			continue
		}
		if strings.HasSuffix(f.Name, "_p90_ms") || strings.HasSuffix(f.Name, "_p99.9_ms") || strings.HasSuffix(f.Name, "mib_per_s") {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%s", f.Name, short(f.Value)))
		if len(parts) == 6 {
			break
		}
	}
	return fmt.Sprintf("%.1fs  %s", r.Seconds, strings.Join(parts, " "))
}

func short(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// runOne starts the broker, runs the scenario, stops the broker.
func runOne(ctx context.Context, o Options, b Broker, sc string, round int, prefix string) (run report.Run) {
	run = report.Run{Scenario: sc, Broker: b.Name, Round: round, Started: time.Now()}
	defer func() { run.Seconds = time.Since(run.Started).Seconds() }()
	tag := fmt.Sprintf("%s-%s-r%d", sc, b.Name, round)
	target, stop, err := startBroker(ctx, o, b, tag)
	if err != nil {
		run.Error = "starting the broker: " + err.Error()
		return run
	}
	prof := &profiler{o: o, target: target, tag: tag}
	cpu := &cpuMeter{pid: target.PID()}
	env := scenario.Env{
		Target: target,
		Params: o.Params,
		Prefix: prefix,
		Measure: func(d time.Duration) {
			cpu.start()
			prof.start(d)
		},
		Progress: func(s string) {
			if o.Overwrite {
				fmt.Fprintf(o.Progress, "\r\033[K        %s", s)
			} else {
				prof.maybePrint(s)
			}
		},
	}
	res, err := scenario.Run(ctx, sc, env)
	if res != nil {
		cpu.stop(res)
	}
	run.Profiles, run.Notes = prof.wait()
	if serr := stop(); serr != nil {
		run.Notes = append(run.Notes, "stopping the broker: "+serr.Error())
	}
	switch {
	case errors.Is(err, scenario.ErrSkipped):
		run.Skipped = err.Error()
	case err != nil:
		run.Error = err.Error()
	default:
		run.Result = res
	}
	return run
}

func startBroker(ctx context.Context, o Options, b Broker, tag string) (broker.Target, func() error, error) {
	switch {
	case b.Start != nil:
		return b.Start(ctx)
	case b.Sink:
		s, err := fake.Start(fake.Options{Generate: max(scenario.Defaults("", o.Params).Size, bench.StampLen)})
		if err != nil {
			return nil, nil, err
		}
		return broker.Remote{TCP: s.Addr()}, func() error { s.Close(); return nil }, nil
	case b.TCPAddress != "":
		return broker.Remote{TCP: b.TCPAddress, HTTP: b.HTTPAddress}, func() error { return nil }, nil
	case b.Binary != "":
		logf, err := os.Create(filepath.Join(o.Out, "logs", tag+".log"))
		if err != nil {
			return nil, nil, err
		}
		p, err := broker.Start(ctx, broker.Options{
			Binary:       b.Binary,
			DataDir:      o.DataDir,
			MemQueueSize: o.MemQueueSize,
			Args:         append(append([]string{}, o.BrokerArgs...), b.Args...),
			Log:          logf,
		})
		if err != nil {
			logf.Close()
			return nil, nil, err
		}
		return p, func() error {
			err := p.Stop()
			logf.Close()
			return err
		}, nil
	}
	return nil, nil, errors.New("suite: broker " + b.Name + " has no binary, address, sink or start function")
}

// cpuMeter measures the CPU time the broker (when it is a local process)
// and this process (the load client, and the broker or sink when they run
// in-process) use from the first measured phase to the end of the
// scenario, as cores busy on average.
type cpuMeter struct {
	pid     int
	began   time.Time
	client  time.Duration
	broker  time.Duration
	started bool
}

func (m *cpuMeter) start() {
	if m.started {
		return
	}
	m.started = true
	m.began = time.Now()
	m.client = selfCPU()
	if m.pid > 0 {
		m.broker, _ = broker.ProcCPU(m.pid)
	}
}

// stop adds broker_cpu_cores and client_cpu_cores to r.
func (m *cpuMeter) stop(r *bench.Result) {
	if !m.started {
		return
	}
	wall := time.Since(m.began).Seconds()
	if wall <= 0 {
		return
	}
	if m.pid > 0 {
		// A restart changes the process; its CPU time starts again.
		if b, err := broker.ProcCPU(m.pid); err == nil && b >= m.broker {
			r.Add("broker_cpu_cores", math.Round((b-m.broker).Seconds()/wall*100)/100, "cores", "")
		}
	}
	r.Add("client_cpu_cores", math.Round((selfCPU()-m.client).Seconds()/wall*100)/100, "cores", "")
}

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profiler captures the broker's profiles once per run, from the first
// measured phase.
type profiler struct {
	o      Options
	target broker.Target
	tag    string

	mu        sync.Mutex
	started   bool
	wg        sync.WaitGroup
	files     []string
	notes     []string
	lastPrint time.Time
}

func (p *profiler) start(expected time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.o.Profile || p.started {
		return
	}
	p.started = true
	http := p.target.HTTPAddr()
	if http == "" {
		p.notes = append(p.notes, "no profiles: the broker has no HTTP address")
		return
	}
	secs := max(1, int(expected.Seconds()))
	for _, k := range []struct{ path, suffix, what string }{
		{"/debug/pprof/profile", ".cpu.pprof", "CPU profile"},
		{"/debug/fgprof", ".fgprof.pprof", "wall-clock profile (fgprof)"},
	} {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var buf bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+30)*time.Second)
			defer cancel()
			err := broker.Profile(ctx, http, k.path, secs, &buf)
			p.mu.Lock()
			defer p.mu.Unlock()
			switch {
			case errors.Is(err, broker.ErrNotFound):
				p.notes = append(p.notes, fmt.Sprintf("no %s: the broker does not serve %s", k.what, k.path))
			case err != nil:
				p.notes = append(p.notes, fmt.Sprintf("%s failed: %v", k.what, err))
			default:
				name := p.tag + k.suffix
				if werr := os.WriteFile(filepath.Join(p.o.Out, name), buf.Bytes(), 0o644); werr != nil {
					p.notes = append(p.notes, werr.Error())
					return
				}
				p.files = append(p.files, name)
				// And its flame graph, when it parses (a fake may serve
				// anything).
				if prof, perr := flame.Parse(buf.Bytes()); perr == nil {
					svg := strings.TrimSuffix(name, ".pprof") + ".svg"
					title := fmt.Sprintf("%s: %s of %s", p.tag, k.what, p.target.TCPAddr())
					if werr := os.WriteFile(filepath.Join(p.o.Out, svg), flame.SVG(prof, flame.Options{Title: title, Index: -1}), 0o644); werr == nil {
						p.files = append(p.files, svg)
					}
				}
			}
		}()
	}
}

// wait waits for the profiles under way and returns the files written and
// notes.
func (p *profiler) wait() ([]string, []string) {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.files, p.notes
}

// maybePrint prints a status line at most every 5 seconds (not a terminal).
func (p *profiler) maybePrint(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.lastPrint) >= 5*time.Second {
		p.lastPrint = time.Now()
		fmt.Fprintf(p.o.Progress, "        %s\n", s)
	}
}

// machine describes this machine.
func machine() report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemMiB = kb / 1024
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}
