package sweep

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/scenario"
)

// Curve is one scaling sweep: a quantity (x) taken through Points, each
// point measured on a freshly started broker.
type Curve struct {
	// Name selects the curve (--curve) and names its files.
	Name string
	// What the curve is, in words; XLabel labels its x axis.
	What, XLabel string
	// Points are the default x values.
	Points []int64
	// Bytes says x is a size in bytes (axis labels in B, KiB, MiB).
	Bytes bool
	// BrokerArgs are flags every broker gets for this curve, before the
	// broker's own (backlog: --mem-queue-size=0, so both keep every
	// message on disk).
	BrokerArgs []string
	// Charts are drawn from the figures of the points.
	Charts []ChartSpec
	// run measures one point against a broker this package started.
	run func(ctx context.Context, e *pointEnv, x int64) (*bench.Result, error)
}

// ChartSpec is one chart of a curve: a line per broker and figure.
type ChartSpec struct {
	// File is the SVG's name: <curve>-<File>.svg.
	File          string
	Title, YLabel string
	// Figures are drawn for every broker, the first solid and the rest
	// dashed; Labels name them in the legend (default: the figure's name).
	Figures []string
	Labels  []string
	YLog    bool
}

// Curves lists every curve in the order `--curve=all` runs them.
func Curves() []Curve {
	return []Curve{
		{
			Name: "channels", What: "channels per topic: fan-out, 4 publishers, each channel one consumer (RDY 2500)",
			XLabel: "channels on the topic", Points: []int64{1, 4, 16, 64, 256},
			Charts: []ChartSpec{
				{File: "delivered", Title: "fan-out: messages delivered per second", YLabel: "msg/s delivered (log scale)", YLog: true,
					Figures: []string{"pipelined_delivered_msgs_per_s", "single_delivered_msgs_per_s"},
					Labels:  []string{"pipelined (64 PUB in flight)", "one PUB per round trip"}},
				{File: "writes", Title: "fan-out: broker write(2) calls per delivery (approx.)", YLabel: "write calls per delivery (log scale)", YLog: true,
					Figures: []string{"pipelined_writes_per_delivered", "single_writes_per_delivered"},
					Labels:  []string{"pipelined", "one PUB per round trip"}},
				{File: "rss", Title: "fan-out: peak RSS of the broker", YLabel: "MiB", Figures: []string{"rss_peak_mib"}},
			},
			run: channelsPoint,
		},
		{
			Name: "topics", What: "topics: one 200 B message published to each (PUB, 4 connections, 64 in flight), then 4 publishers cycling over all of them",
			XLabel: "topics", Points: []int64{1, 100, 1000, 10000},
			Charts: []ChartSpec{
				{File: "pub", Title: "publish rate spread over every topic", YLabel: "msg/s (PUB, 64 in flight per connection)", Figures: []string{"pub_msgs_per_s"}},
				{File: "rss", Title: "RSS of the broker holding one message per topic", YLabel: "MiB (log scale)", YLog: true, Figures: []string{"rss_mib"}},
				{File: "disk", Title: "disk used by the data path, one message per topic", YLabel: "KiB allocated (log scale)", YLog: true, Figures: []string{"disk_kib"}},
				{File: "files", Title: "open files of the broker, one message per topic", YLabel: "open file descriptors (log scale)", YLog: true, Figures: []string{"open_files"}},
			},
			run: topicsPoint,
		},
		{
			Name: "conns", What: "idle connections: IDENTIFY, SUB to one channel, RDY 1, held",
			XLabel: "idle connections", Points: []int64{1000, 10000, 50000},
			Charts: []ChartSpec{
				{File: "rss", Title: "RSS per idle connection (after a forced GC)", YLabel: "bytes per connection", Figures: []string{"rss_per_conn_bytes"}},
				{File: "connect", Title: "time to open every connection (32 at a time)", YLabel: "seconds", Figures: []string{"connect_s"}},
			},
			run: connsPoint,
		},
		{
			Name: "size", What: "message size: pubsub, 4 publishers with 4 PUBs in flight each, 4 consumers on one channel",
			XLabel: "message body size", Points: []int64{100, 1024, 64 << 10, 1 << 20}, Bytes: true,
			Charts: []ChartSpec{
				{File: "mibps", Title: "message bytes delivered per second", YLabel: "MiB/s delivered (log scale)", YLog: true,
					Figures: []string{"sub_mib_per_s"}},
				{File: "msgs", Title: "messages delivered per second", YLabel: "msg/s delivered (log scale)", YLog: true, Figures: []string{"sub_msgs_per_s"}},
				{File: "rss", Title: "peak RSS of the broker", YLabel: "MiB", Figures: []string{"rss_peak_mib"}},
			},
			run: sizePoint,
		},
		{
			Name: "backlog", What: "backlog on disk: 200 B messages (MPUB 200, 4 connections, 16 in flight) to a channel with no consumer, restart (SIGTERM), drain (4 consumers, RDY 2500); --mem-queue-size=0 for every broker",
			XLabel: "messages in the backlog", Points: []int64{1_000_000, 10_000_000, 50_000_000},
			BrokerArgs: []string{"--mem-queue-size=0"},
			Charts: []ChartSpec{
				{File: "rss", Title: "peak RSS, writing and draining", YLabel: "MiB (log scale)", YLog: true,
					Figures: []string{"fill_rss_peak_mib", "drain_rss_peak_mib"}, Labels: []string{"writing", "draining"}},
				{File: "rate", Title: "write and drain rates", YLabel: "msg/s",
					Figures: []string{"fill_msgs_per_s", "drain_msgs_per_s"}, Labels: []string{"write", "drain"}},
				{File: "restart", Title: "restart with the backlog stored", YLabel: "seconds (log scale)", YLog: true,
					Figures: []string{"start_s", "stop_s"}, Labels: []string{"start (exec to /ping)", "stop (SIGTERM to exit)"}},
			},
			run: backlogPoint,
		},
	}
}

// CurveByName finds a curve.
func CurveByName(name string) (Curve, bool) {
	for _, c := range Curves() {
		if c.Name == name {
			return c, true
		}
	}
	return Curve{}, false
}

// Names lists the curves.
func Names() []string {
	var n []string
	for _, c := range Curves() {
		n = append(n, c.Name)
	}
	return n
}

// scenarioPoint runs one scenario with p on the point's broker and copies
// its figures, prefixed, into r.
func scenarioPoint(ctx context.Context, e *pointEnv, name, prefix string, p scenario.Params, r *bench.Result) error {
	w0, werr := WriteSyscalls(e.target.PID())
	res, err := scenario.Run(ctx, name, scenario.Env{
		Target:   e.target,
		Params:   p,
		Prefix:   e.prefix + prefix,
		Progress: e.progress,
	})
	if err != nil {
		return err
	}
	for _, f := range res.Figures {
		r.Add(prefix+f.Name, f.Value, f.Unit, f.Better)
	}
	if w1, err := WriteSyscalls(e.target.PID()); err == nil && werr == nil && w1 >= w0 {
		// The broker's write system calls over the whole scenario
		// (setup and catch-up included), from /proc/<pid>/io.
		r.Add(prefix+"write_syscalls", float64(w1-w0), "calls", "")
		// Per message delivered in fanout: about pub rate × duration ×
		// channels messages went out, each consumer catching up.
		if pub, ok := res.Figure("pub_msgs_per_s"); ok && name == "fanout" && pub.Value > 0 {
			delivered := pub.Value * p.Duration.Seconds() * float64(max(p.Channels, 1))
			r.Add(prefix+"writes_per_delivered", math.Round(float64(w1-w0)/delivered*1000)/1000, "calls/msg", bench.LowerIsBetter)
		}
	}
	for _, n := range res.Notes {
		r.Notef("%s%s", prefix, n)
	}
	return nil
}

func channelsPoint(ctx context.Context, e *pointEnv, x int64) (*bench.Result, error) {
	r := &bench.Result{}
	for _, mode := range []struct {
		prefix string
		window int
	}{{"pipelined_", 64}, {"single_", 1}} {
		p := scenario.Params{Channels: int(x), Window: mode.window, Duration: e.duration}
		if err := scenarioPoint(ctx, e, "fanout", mode.prefix, p, r); err != nil {
			return r, err
		}
	}
	return r, nil
}

func connsPoint(ctx context.Context, e *pointEnv, x int64) (*bench.Result, error) {
	r := &bench.Result{}
	// Held for a short while only: the figures are taken after it.
	p := scenario.Params{Conns: int(x), Duration: min(e.duration, 2*time.Second), Timeout: 10 * time.Minute}
	return r, scenarioPoint(ctx, e, "conns", "", p, r)
}

func sizePoint(ctx context.Context, e *pointEnv, x int64) (*bench.Result, error) {
	r := &bench.Result{}
	p := scenario.Params{Size: int(x), Window: 4, Duration: e.duration}
	return r, scenarioPoint(ctx, e, "pubsub", "", p, r)
}

func backlogPoint(ctx context.Context, e *pointEnv, x int64) (*bench.Result, error) {
	r := &bench.Result{}
	p := scenario.Params{Backlog: x, Size: 200, Window: 16, Duration: e.duration, Timeout: 2 * time.Hour}
	return r, scenarioPoint(ctx, e, "backlog", "", p, r)
}

// topicsPoint publishes one message to each of x topics, measures the
// broker (RSS after a forced GC, disk, open files), then publishes over
// all of them for the duration.
func topicsPoint(ctx context.Context, e *pointEnv, x int64) (*bench.Result, error) {
	topics := make([]string, x)
	for i := range topics {
		topics[i] = e.prefix + "_t" + strconv.FormatInt(int64(i), 10)
	}
	r := &bench.Result{}
	const conns = 4
	addr := e.target.TCPAddr()
	// One message to each topic: connection i takes every conns-th topic.
	shares := make([][]string, conns)
	for i, t := range topics {
		shares[i%conns] = append(shares[i%conns], t)
	}
	var pubs []*bench.Publisher
	for _, sh := range shares {
		if len(sh) > 0 {
			pubs = append(pubs, &bench.Publisher{Topics: sh, Size: 200, Window: 64, Limit: int64(len(sh))})
		}
	}
	start := time.Now()
	if err := publishAll(ctx, addr, pubs, 0, e.progress); err != nil {
		// What the broker holds when it gives up says why (open files at
		// the limit, say).
		var n int64
		for _, p := range pubs {
			n += p.Published.Load()
		}
		r.Add("topics_created", float64(n), "topics", "")
		e.measureBroker(ctx, r, "")
		return r, fmt.Errorf("creating %d topics, %d created: %w", x, n, err)
	}
	el := time.Since(start).Seconds()
	r.Add("create_topics_per_s", float64(int64(float64(x)/el)), "topics/s", bench.HigherIsBetter)
	e.measureBroker(ctx, r, "")

	// Then publish over every topic, each connection starting elsewhere.
	pubs = pubs[:0]
	for i := range conns {
		rot := append(append([]string{}, topics[i*len(topics)/conns:]...), topics[:i*len(topics)/conns]...)
		pubs = append(pubs, &bench.Publisher{Topics: rot, Size: 200, Window: 64})
	}
	start = time.Now()
	if err := publishAll(ctx, addr, pubs, e.duration, e.progress); err != nil {
		return r, err
	}
	el = time.Since(start).Seconds()
	var n int64
	for _, p := range pubs {
		n += p.Published.Load()
	}
	r.Rate("pub", n, el, 200)
	return r, nil
}
