// Package sweep runs the scaling sweeps of `make bench-sweep`: a cost
// curve (channels per topic, topics, idle connections, message size,
// backlog on disk) measured point by point against our nsqd and a
// reference nsqd (upstream v1.3.0) side by side, each point on a freshly
// started broker process whose PID and data path it knows (resident
// memory, open files, disk). Results accumulate in <out>/<curve>.json —
// a run replaces only the points it measured, so a curve can be measured
// a few points at a time and one broker configuration after another — and
// are drawn as SVG line charts (bench/report) with every broker on one
// plot, and a Markdown table.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/broker"
)

// Broker is one broker configuration of a sweep.
type Broker struct {
	// Name labels its lines ("ours", "upstream", "upstream-mem10M").
	Name string
	// Binary is the nsqd to run; Args are flags after the curve's own.
	Binary string
	Args   []string
}

// Options configures Run.
type Options struct {
	// Curve is the curve to run. Required.
	Curve Curve
	// Points overrides the curve's points.
	Points []int64
	// Brokers are run in turn at every point (A then B). At least one.
	Brokers []Broker
	// Duration is each timed phase (default 5s).
	Duration time.Duration
	// Out is the folder of the results; <curve>.json in it is merged.
	// Required.
	Out string
	// Label names what was measured ("main@060b125"), in titles.
	Label string
	// Progress receives progress lines.
	Progress io.Writer
	// Command is recorded.
	Command []string
}

// Run measures every point against every broker, merging the points into
// <Out>/<curve>.json and drawing the charts after each one. It returns
// the merged sweep; the error joins the failed points'.
func Run(ctx context.Context, o Options) (*Sweep, error) {
	if o.Curve.run == nil {
		return nil, errors.New("sweep: no curve")
	}
	if len(o.Brokers) == 0 {
		return nil, errors.New("sweep: no broker")
	}
	if o.Out == "" {
		return nil, errors.New("sweep: no results folder")
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if len(o.Points) == 0 {
		o.Points = o.Curve.Points
	}
	for _, d := range []string{o.Out, filepath.Join(o.Out, "logs"), filepath.Join(o.Out, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if n, err := RaiseFileLimit(); err != nil {
		fmt.Fprintf(o.Progress, "sweep: open files limit stays %d: %v\n", n, err)
	}
	s, err := Load(filepath.Join(o.Out, o.Curve.Name+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		s, err = &Sweep{Curve: o.Curve.Name}, nil
	}
	if err != nil {
		return nil, err
	}
	s.What, s.XLabel = o.Curve.What, o.Curve.XLabel
	if o.Label != "" {
		s.Label = o.Label
	}
	s.Commands = append(s.Commands, o.Command)
	for _, b := range o.Brokers {
		s.setBroker(BrokerInfo{Name: b.Name, Binary: b.Binary, Version: broker.Version(b.Binary),
			Args: append(append([]string{}, o.Curve.BrokerArgs...), b.Args...)})
	}
	var failed error
	for _, x := range o.Points {
		for _, b := range o.Brokers {
			fmt.Fprintf(o.Progress, "[%s] %s at %s\n", o.Curve.Name, b.Name, xLabel(o.Curve, x))
			p := runPoint(ctx, o, b, x)
			fmt.Fprintf(o.Progress, "        %.1fs %s\n", p.Seconds, p.summary())
			if p.Error != "" {
				failed = errors.Join(failed, fmt.Errorf("%s at %d: %s", b.Name, x, p.Error))
			}
			s.setPoint(p)
			if err := s.Write(o.Out); err != nil {
				return s, err
			}
			if ctx.Err() != nil {
				return s, ctx.Err()
			}
		}
	}
	return s, failed
}

// pointEnv is what a curve's point runs with.
type pointEnv struct {
	target   *broker.Process
	duration time.Duration
	prefix   string
	progress func(string)
}

// runPoint starts the broker, measures the point and stops the broker.
// Every point also gets the broker's peak RSS over the whole point and,
// at its end, open files and disk used.
func runPoint(ctx context.Context, o Options, b Broker, x int64) (p Point) {
	p = Point{Broker: b.Name, X: x, Started: time.Now(), Label: o.Label}
	defer func() { p.Seconds = math.Round(time.Since(p.Started).Seconds()*10) / 10 }()
	logf, err := os.Create(filepath.Join(o.Out, "logs", fmt.Sprintf("%s-%s-%d.log", o.Curve.Name, b.Name, x)))
	if err != nil {
		p.Error = err.Error()
		return p
	}
	defer logf.Close()
	proc, err := broker.Start(ctx, broker.Options{
		Binary:  b.Binary,
		DataDir: filepath.Join(o.Out, "data"),
		Args:    append(append([]string{}, o.Curve.BrokerArgs...), b.Args...),
		Log:     logf,
	})
	if err != nil {
		p.Error = "starting the broker: " + err.Error()
		return p
	}
	defer func() {
		if err := proc.Stop(); err != nil {
			p.Notes = append(p.Notes, "stopping the broker: "+err.Error())
		}
	}()
	last := time.Time{}
	e := &pointEnv{
		target:   proc,
		duration: o.Duration,
		prefix:   "sweep" + strconv.FormatInt(time.Now().UnixMilli(), 10),
		progress: func(s string) {
			if time.Since(last) >= 5*time.Second {
				last = time.Now()
				fmt.Fprintf(o.Progress, "        %s\n", s)
			}
		},
	}
	peak := watchPeak(proc)
	r, err := o.Curve.run(ctx, e, x)
	if r == nil {
		r = &bench.Result{}
	}
	r.Add("rss_peak_mib", mib(peak()), "MiB", bench.LowerIsBetter)
	e.measureBroker(ctx, r, "end_")
	p.Figures, p.Notes = r.Figures, r.Notes
	if err != nil {
		p.Error = err.Error()
	}
	return p
}

// measureBroker adds the broker's RSS (after a forced GC), open files and
// disk used by its data path, each name prefixed.
func (e *pointEnv) measureBroker(ctx context.Context, r *bench.Result, prefix string) {
	_ = broker.FreeMemory(ctx, e.target.HTTPAddr())
	if m, err := broker.ProcMemory(e.target.PID()); err == nil {
		r.Add(prefix+"rss_mib", mib(m.RSS), "MiB", bench.LowerIsBetter)
		r.Add(prefix+"anon_mib", mib(m.Anon), "MiB", bench.LowerIsBetter)
	}
	if n, err := OpenFiles(e.target.PID()); err == nil {
		r.Add(prefix+"open_files", float64(n), "fds", bench.LowerIsBetter)
	}
	if b, err := DiskUsage(e.target.DataPath()); err == nil {
		// KiB: an idle upstream topic holds a few KiB, 0 in MiB.
		r.Add(prefix+"disk_kib", float64(b>>10), "KiB", bench.LowerIsBetter)
	}
}

func mib(b int64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }

// watchPeak samples the resident memory of p's current process (it
// changes across a restart) every 50ms until the returned function is
// called, which returns the largest seen.
func watchPeak(p *broker.Process) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := broker.ProcMemory(p.PID()); err == nil && m.RSS > peak.Load() {
				peak.Store(m.RSS)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// publishAll dials a connection per publisher and runs them until each
// reaches its Limit or, when d > 0, for d.
func publishAll(ctx context.Context, addr string, pubs []*bench.Publisher, d time.Duration, progress func(string)) error {
	conns := make([]*bench.Conn, 0, len(pubs))
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range pubs {
		c, err := bench.Dial(ctx, addr, bench.ConnOptions{ClientID: "nsq_bench_pub"})
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	var stop atomic.Bool
	errs := make(chan error, len(pubs))
	for i, p := range pubs {
		go func() { errs <- p.Run(conns[i], &stop) }()
	}
	var timer <-chan time.Time
	if d > 0 {
		timer = time.After(d)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var err error
	for left := len(pubs); left > 0; {
		select {
		case e := <-errs:
			left--
			if e != nil && err == nil {
				err = e
				stop.Store(true)
			}
		case <-timer:
			stop.Store(true)
		case <-ctx.Done():
			stop.Store(true)
			for _, c := range conns {
				c.Close()
			}
			timer = nil
		case <-tick.C:
			var n int64
			for _, p := range pubs {
				n += p.Published.Load()
			}
			progress(fmt.Sprintf("published %d", n))
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// OpenFiles counts the open file descriptors of a process (Linux).
func OpenFiles(pid int) (int, error) {
	if pid <= 0 {
		return 0, errors.New("sweep: no process")
	}
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(ents), err
}

// WriteSyscalls is the number of write system calls a process has made
// (syscw of /proc/<pid>/io, all its threads; Linux).
func WriteSyscalls(pid int) (int64, error) {
	if pid <= 0 {
		return 0, errors.New("sweep: no process")
	}
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0, err
	}
	return parseSyscw(data)
}

// parseSyscw finds "syscw: N" in a /proc/<pid>/io document.
func parseSyscw(data []byte) (int64, error) {
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("sweep: no syscw in /proc/<pid>/io")
}

// DiskUsage is the space allocated to the files under dir (what du
// reports: sparse and preallocated-but-unwritten ranges as the file system
// accounts them).
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		}
		return nil
	})
	return total, err
}

// RaiseFileLimit raises this process's open files limit (soft and hard)
// as far as the kernel allows (fs.nr_open; the hard limit can only rise as
// root), so the brokers it starts, which inherit it, and the idle
// connections sweep fit. It returns the soft limit in force.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	want := uint64(1 << 20)
	if data, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(string(trimNL(data)), 10, 64); err == nil {
			want = n
		}
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}); err == nil {
		return want, nil
	}
	// Not root: the soft limit up to the hard one.
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max})
	if err != nil {
		return lim.Cur, err
	}
	return lim.Max, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
