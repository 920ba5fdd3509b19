package scenario

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/bench/hist"
)

// Env is what a scenario runs with.
type Env struct {
	// Target is the broker. Required.
	Target broker.Target
	// Params are the knobs; zero fields take the scenario's defaults.
	Params Params
	// Prefix starts every topic name, so runs against a shared broker do
	// not mix. Default "bench<unix ms>".
	Prefix string
	// Measure, if set, is called as the measured phase begins with its
	// expected length (the suite starts profiles there).
	Measure func(expected time.Duration)
	// Progress, if set, receives a one-line status about once a second
	// during long phases.
	Progress func(status string)

	name string // the scenario running
}

// ErrSkipped wraps the reason a scenario could not run against its target
// (restart without control of the process, conns without a way to read
// the broker's memory).
var ErrSkipped = errors.New("scenario skipped")

// Func is a scenario.
type Func func(ctx context.Context, env *Env) (*bench.Result, error)

var registry = map[string]Func{
	"pub":     pubScenario,
	"mpub":    pubScenario,
	"sub":     subScenario,
	"pubsub":  pubsubScenario,
	"fanout":  fanoutScenario,
	"latency": latencyScenario,
	"conns":   connsScenario,
	"disk":    diskScenario,
	"restart": restartScenario,
	"backlog": backlogScenario,
}

// Names lists the scenarios in the order a full run takes them.
func Names() []string {
	return []string{"pub", "mpub", "sub", "pubsub", "fanout", "latency", "conns", "disk", "restart", "backlog"}
}

// Run runs scenario name. The Result's Scenario is set; its figures are
// in the scenario's documented units. An error wrapping ErrSkipped means
// the target cannot run it.
func Run(ctx context.Context, name string, env Env) (*bench.Result, error) {
	f, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("scenario: unknown %q (have %v)", name, Names())
	}
	if env.Target == nil {
		return nil, errors.New("scenario: no target")
	}
	if err := env.Params.Validate(); err != nil {
		return nil, err
	}
	env.Params = Defaults(name, env.Params)
	if env.Prefix == "" {
		env.Prefix = "bench" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	}
	env.name = name
	r, err := f(ctx, &env)
	if r != nil {
		r.Scenario = name
	}
	return r, err
}

// The scenario's own name, for topic names.
func (e *Env) topic() string { return e.Prefix + "_" + e.name }

func (e *Env) measure(d time.Duration) {
	if e.Measure != nil {
		e.Measure(d)
	}
}

func (e *Env) progress(format string, args ...any) {
	if e.Progress != nil {
		e.Progress(fmt.Sprintf(format, args...))
	}
}

// consumerOptions are the IDENTIFY settings of consuming connections.
func (e *Env) consumerOptions() bench.ConnOptions {
	return bench.ConnOptions{
		ClientID:            "nsq_bench_sub",
		OutputBufferSize:    e.Params.OutputBufferSize,
		OutputBufferTimeout: e.Params.OutputBufferTimeout,
		Transport:           e.Params.Transport,
	}
}

// group runs goroutines and keeps the first error.
type group struct {
	wg     sync.WaitGroup
	once   sync.Once
	err    error
	failed chan struct{}
}

func newGroup() *group { return &group{failed: make(chan struct{})} }

func (g *group) goRun(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.once.Do(func() {
				g.err = err
				close(g.failed)
			})
		}
	}()
}

func (g *group) wait() error {
	g.wg.Wait()
	return g.err
}

// perSource is how many connections dialAll opens from one loopback
// source address when it needs more than one: below the 28,232 ports of
// Linux's default ephemeral range (32768-60999), the most one source
// address can hold to one listener.
const perSource = 20000

// sourceAddr is the source address of connection i of n to addr: nil (the
// kernel's choice) unless n needs more than one source and addr is an IPv4
// loopback address, then 127.0.0.2, 127.0.0.3, ... perSource connections
// each (the whole of 127.0.0.0/8 is loopback on Linux).
func sourceAddr(addr string, i, n int) *net.TCPAddr {
	if n <= perSource {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	if err != nil || ip == nil || ip.To4() == nil || !ip.IsLoopback() || 2+i/perSource > 254 {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/perSource))}
}

// dialAll dials n connections in parallel (at most 32 at a time), from
// several loopback source addresses when one cannot hold them all.
func dialAll(ctx context.Context, addr string, n int, o bench.ConnOptions) ([]*bench.Conn, error) {
	conns := make([]*bench.Conn, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			oi := o
			oi.LocalAddr = sourceAddr(addr, i, n)
			conns[i], errs[i] = bench.Dial(ctx, addr, oi)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func closeAll(conns []*bench.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// createChannel makes topic and channel exist (SUB, then close), so
// messages published before the consumers connect are kept for them.
func createChannel(ctx context.Context, addr, topic, channel string) error {
	c, err := bench.Dial(ctx, addr, bench.ConnOptions{BufferSize: 4096})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SUB(topic, channel); err != nil {
		return err
	}
	return c.ExpectOK()
}

// publishers is a set of Publishers on their own connections.
type publishers struct {
	ps    []*bench.Publisher
	conns []*bench.Conn
	stop  atomic.Bool
	g     *group
}

// shape is what all publishers of a phase share.
type shape struct {
	topic               string
	size, batch, window int
}

// dialPublishers dials n publishers of the given shape: each gets rate/n,
// and sequence numbers interleaved (Seq i, step n) unless limits are
// given, in which case publisher i publishes limits[i] messages numbered
// from the sum of the limits before it.
func dialPublishers(ctx context.Context, addr string, tr bench.Transport, n int, sh shape, rate float64, acks bool, limits []int64) (*publishers, error) {
	conns, err := dialAll(ctx, addr, n, bench.ConnOptions{ClientID: "nsq_bench_pub", Transport: tr})
	if err != nil {
		return nil, err
	}
	p := &publishers{conns: conns, g: newGroup()}
	var next uint64
	for i := range n {
		pub := &bench.Publisher{
			Topic: sh.topic, Size: sh.size, Batch: sh.batch, Window: sh.window,
			Rate: rate / float64(n), Seq: uint64(i), SeqStep: uint64(n),
		}
		if limits != nil {
			pub.Seq, pub.SeqStep, pub.Limit = next, 1, limits[i]
			next += uint64(limits[i])
		}
		if acks {
			pub.Acks = hist.New()
		}
		p.ps = append(p.ps, pub)
	}
	return p, nil
}

// split divides total into n shares that differ by at most one.
func split(total int64, n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = total / int64(n)
		if int64(i) < total%int64(n) {
			s[i]++
		}
	}
	return s
}

func (p *publishers) start() {
	for i, pub := range p.ps {
		c := p.conns[i]
		p.g.goRun(func() error { return pub.Run(c, &p.stop) })
	}
}

// finish stops the publishers, waits for their last answers and closes
// their connections.
func (p *publishers) finish() error {
	p.stop.Store(true)
	err := p.g.wait()
	closeAll(p.conns)
	return err
}

func (p *publishers) counters() []*bench.Counter {
	cs := make([]*bench.Counter, len(p.ps))
	for i, pub := range p.ps {
		cs[i] = &pub.Published
	}
	return cs
}

func (p *publishers) published() int64 { return bench.Sum(p.counters())() }

func (p *publishers) acks() *hist.Histogram {
	h := hist.New()
	for _, pub := range p.ps {
		h.Merge(pub.Acks)
	}
	return h
}

// consumers is a set of Consumers on their own connections.
type consumers struct {
	cs    []*bench.Consumer
	conns []*bench.Conn
	stop  atomic.Bool
	g     *group
}

// dialConsumers dials n consumers of topic; channel(i) names consumer i's
// channel. Each records latency when latency is set and marks seen.
func dialConsumers(ctx context.Context, e *Env, n int, topic string, channel func(i int) string, latency bool, seen *bench.Bitmap) (*consumers, error) {
	conns, err := dialAll(ctx, e.Target.TCPAddr(), n, e.consumerOptions())
	if err != nil {
		return nil, err
	}
	s := &consumers{conns: conns, g: newGroup()}
	for i := range n {
		c := &bench.Consumer{Topic: topic, Channel: channel(i), RDY: e.Params.RDY, Seen: seen}
		if latency {
			c.Latency = hist.New()
		}
		s.cs = append(s.cs, c)
	}
	return s, nil
}

// start subscribes every consumer (SUB, its OK, RDY) and runs them.
func (s *consumers) start() error {
	for i, c := range s.cs {
		if err := c.Subscribe(s.conns[i]); err != nil {
			s.stop.Store(true)
			closeAll(s.conns)
			return err
		}
	}
	for i, c := range s.cs {
		conn := s.conns[i]
		s.g.goRun(func() error { return c.Run(conn, &s.stop) })
	}
	return nil
}

// finish stops the consumers and closes their connections.
func (s *consumers) finish() error {
	s.stop.Store(true)
	for _, c := range s.conns {
		bench.Interrupt(c)
	}
	err := s.g.wait()
	closeAll(s.conns)
	return err
}

func (s *consumers) counters() []*bench.Counter {
	cs := make([]*bench.Counter, len(s.cs))
	for i, c := range s.cs {
		cs[i] = &c.Received
	}
	return cs
}

func (s *consumers) received() int64 { return bench.Sum(s.counters())() }

// last is the receive time of the latest message of any consumer.
func (s *consumers) last() int64 {
	var t int64
	for _, c := range s.cs {
		t = max(t, c.Last.Load())
	}
	return t
}

func (s *consumers) latency() *hist.Histogram {
	h := hist.New()
	for _, c := range s.cs {
		h.Merge(c.Latency)
	}
	return h
}

// waitFor polls until done returns true (nil), a group fails (its error),
// the timeout passes or ctx ends. status, if not nil, is reported about
// once a second.
func (e *Env) waitFor(ctx context.Context, timeout time.Duration, what string, done func() bool, status func() string, groups ...*group) error {
	deadline := time.Now().Add(timeout)
	nextStatus := time.Now().Add(time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !done() {
		for _, g := range groups {
			select {
			case <-g.failed:
				return g.err
			default:
			}
		}
		now := time.Now()
		if now.After(deadline) {
			return fmt.Errorf("scenario %s: timed out after %v waiting for %s", e.name, timeout, what)
		}
		if status != nil && now.After(nextStatus) {
			e.progress("%s", status())
			nextStatus = now.Add(time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// sleep waits d (reporting status), returning early with a group's error
// or ctx's.
func (e *Env) sleep(ctx context.Context, d time.Duration, status func() string, groups ...*group) error {
	end := time.Now().Add(d)
	err := e.waitFor(ctx, d+time.Hour, "", func() bool { return !time.Now().Before(end) }, status, groups...)
	return err
}

// fill publishes n messages (MPUB batches, conns connections) to topic and
// returns the rate it took them at and, when sample is set, the rate over
// time ("written"). It is a preparation, not the measured phase, except in
// disk.
func (e *Env) fill(ctx context.Context, topic string, n int64, size int, sample bool) (float64, []bench.Series, error) {
	p := e.Params
	conns := min(p.Conns, int(max(n, 1)))
	pubs, err := dialPublishers(ctx, e.Target.TCPAddr(), e.Params.Transport, conns, shape{topic, size, p.Batch, p.Window}, 0, false, split(n, conns))
	if err != nil {
		return 0, nil, err
	}
	sampler := newSampler(p)
	if sample {
		sampler.Source("written", "msg/s", pubs.published)
		sampler.Start()
	}
	start := bench.Now()
	pubs.start()
	werr := e.waitFor(ctx, p.Timeout, "the backlog to be published", func() bool { return pubs.published() >= n }, func() string {
		return fmt.Sprintf("%s: filling backlog %d/%d", e.name, pubs.published(), n)
	}, pubs.g)
	ferr := pubs.finish()
	el := bench.Seconds(bench.Now() - start)
	series := sampler.Stop()
	if err := errors.Join(werr, ferr); err != nil {
		return 0, nil, err
	}
	return float64(n) / el, series, nil
}

func rateStatus(name string, counters ...func() int64) func() string {
	prev := make([]int64, len(counters))
	last := time.Now()
	return func() string {
		now := time.Now()
		el := now.Sub(last).Seconds()
		last = now
		s := name
		for i, c := range counters {
			v := c()
			s += fmt.Sprintf(" %.0f msg/s", float64(v-prev[i])/el)
			prev[i] = v
		}
		return s
	}
}
