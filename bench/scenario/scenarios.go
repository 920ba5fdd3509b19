package scenario

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/broker"
)

// timedPublish runs pubs for the measured Duration (with a sampler of the
// given sources) and returns what they published and the elapsed seconds
// from start until the last answer.
func (e *Env) timedPublish(ctx context.Context, pubs *publishers, sampler *bench.Sampler, status func() string, groups ...*group) (int64, float64, error) {
	e.measure(e.Params.Duration)
	start := bench.Now()
	sampler.Start()
	pubs.start()
	err := e.sleep(ctx, e.Params.Duration, status, append(groups, pubs.g)...)
	ferr := pubs.finish()
	el := bench.Seconds(bench.Now() - start)
	return pubs.published(), el, errors.Join(err, ferr)
}

func newSampler(p Params) *bench.Sampler { return bench.NewSampler(p.SampleInterval) }

// pub and mpub: closed-loop publishers for Duration. Figures: pub rate,
// and the time from each command's write to its OK.
func pubScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	pubs, err := dialPublishers(ctx, e.Target.TCPAddr(), p.Transport, p.Conns, shape{e.topic(), p.Size, p.Batch, p.Window}, p.Rate, true, nil)
	if err != nil {
		return nil, err
	}
	sampler := newSampler(p)
	sampler.Source("published", "msg/s", pubs.published)
	n, el, err := e.timedPublish(ctx, pubs, sampler, rateStatus(e.name+": published", pubs.published))
	r := &bench.Result{Series: sampler.Stop()}
	if err != nil {
		return nil, err
	}
	r.Rate("pub", n, el, p.Size)
	r.AddLatency("pub_ack", pubs.acks())
	return r, nil
}

// sub: a backlog of Backlog messages is published to a channel with no
// consumer, then Consumers connections drain it with RDY and FIN. The
// measured phase runs from the first SUB to the last message.
func subScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	topic := e.topic()
	if err := createChannel(ctx, e.Target.TCPAddr(), topic, "drain"); err != nil {
		return nil, err
	}
	fillRate, _, err := e.fill(ctx, topic, p.Backlog, p.Size, false)
	if err != nil {
		return nil, err
	}
	r := &bench.Result{}
	r.Add("backlog", float64(p.Backlog), "msgs", "")
	r.Add("fill_msgs_per_s", math.Round(fillRate), "msg/s", bench.HigherIsBetter)
	drained, err := e.drain(ctx, r, topic, "drain", p.Backlog, p.Size, nil)
	if err != nil {
		return nil, err
	}
	r.Rate("sub", p.Backlog, drained, p.Size)
	r.Add("drain_s", secs(drained), "s", bench.LowerIsBetter)
	return r, nil
}

// drain connects Consumers to topic/channel and waits until want messages
// arrived; it returns the seconds from the first SUB to the last message.
// The throughput series goes into r.
func (e *Env) drain(ctx context.Context, r *bench.Result, topic, channel string, want int64, size int, seen *bench.Bitmap) (float64, error) {
	p := e.Params
	subs, err := dialConsumers(ctx, e, p.Consumers, topic, func(int) string { return channel }, false, seen)
	if err != nil {
		return 0, err
	}
	sampler := newSampler(p)
	sampler.Source("received", "msg/s", subs.received)
	e.measure(p.Duration)
	start := bench.Now()
	sampler.Start()
	if err := subs.start(); err != nil {
		sampler.Stop()
		return 0, err
	}
	werr := e.waitFor(ctx, p.Timeout, "the backlog to drain", func() bool { return subs.received() >= want },
		rateStatus(fmt.Sprintf("%s: draining %d", e.name, want), subs.received), subs.g)
	r.Series = append(r.Series, sampler.Stop()...)
	ferr := subs.finish()
	if err := errors.Join(werr, ferr); err != nil {
		return 0, err
	}
	return bench.Seconds(subs.last() - start), nil
}

// pubsub: Consumers connections subscribe to one channel, then Conns
// closed-loop publishers run for Duration. Figures: both rates over the
// same window, the consumers' lag when publishing stopped, and publish to
// delivery latency.
func pubsubScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	return e.pubAndSub(ctx, p.Consumers, func(int) string { return "pubsub" }, false)
}

// fanout: one topic with Channels channels, one consumer each, and Conns
// closed-loop publishers for Duration. Figures: publish rate, messages
// delivered per second over all channels and for the slowest channel,
// latency.
func fanoutScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	return e.pubAndSub(ctx, p.Channels, func(i int) string { return "fan" + strconv.Itoa(i) }, true)
}

// pubAndSub runs publishers for Duration while nsubs consumers take the
// messages from channel(i); fan says the channels differ (each gets every
// message), else they are one channel.
func (e *Env) pubAndSub(ctx context.Context, nsubs int, channel func(int) string, fan bool) (*bench.Result, error) {
	p := e.Params
	subName := "sub"
	if fan {
		subName = "delivered"
	}
	topic := e.topic()
	subs, err := dialConsumers(ctx, e, nsubs, topic, channel, true, nil)
	if err != nil {
		return nil, err
	}
	if err := subs.start(); err != nil {
		return nil, err
	}
	defer subs.finish()
	pubs, err := dialPublishers(ctx, e.Target.TCPAddr(), p.Transport, p.Conns, shape{topic, p.Size, p.Batch, p.Window}, p.Rate, true, nil)
	if err != nil {
		return nil, err
	}
	sampler := newSampler(p)
	sampler.Source("published", "msg/s", pubs.published)
	sampler.Source(subName, "msg/s", subs.received)
	n, el, err := e.timedPublish(ctx, pubs, sampler, rateStatus(e.name+": published, "+subName, pubs.published, subs.received), subs.g)
	got := subs.received()
	perSub := make([]int64, nsubs)
	for i, c := range subs.cs {
		perSub[i] = c.Received.Load()
	}
	r := &bench.Result{Series: sampler.Stop()}
	if err != nil {
		return nil, err
	}
	// Let the consumers catch up, so the latency covers every message.
	want := n
	if fan {
		want *= int64(nsubs)
	}
	if err := e.waitFor(ctx, max(2*time.Second, p.Duration/2), "", func() bool { return subs.received() >= want }, nil, subs.g); err != nil {
		r.Notef("consumers had %d of %d messages when the wait ended", subs.received(), want)
	}
	r.Rate("pub", n, el, p.Size)
	r.Rate(subName, got, el, p.Size)
	r.Add("lag_at_stop", float64(max(want-got, 0)), "msgs", "")
	if fan {
		r.Rate("slowest_channel", minOf(perSub), el, 0)
	}
	r.AddLatency("delivery", subs.latency())
	r.AddLatency("pub_ack", pubs.acks())
	return r, subs.finish()
}

func minOf(v []int64) int64 {
	m := v[0]
	for _, x := range v[1:] {
		m = min(m, x)
	}
	return m
}

// latency: Conns open-loop publishers send Rate messages per second in all
// (each write stamped with its time) for Duration, Consumers connections
// finish them; the figures are the publish-to-delivery percentiles. A
// publisher does not wait for answers (up to Window in flight), so a slow
// broker cannot slow the schedule and hide its own latency.
func latencyScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	r, err := e.pubAndSub(ctx, e.Params.Consumers, func(int) string { return "latency" }, false)
	if err != nil {
		return nil, err
	}
	if f, ok := r.Figure("pub_msgs_per_s"); ok {
		for i := range r.Figures {
			switch r.Figures[i].Name {
			case "pub_msgs_per_s", "pub_mib_per_s", "sub_msgs_per_s", "sub_mib_per_s":
				r.Figures[i].Better = "" // the rate is given, not measured
			}
		}
		if f.Value < 0.95*e.Params.Rate {
			r.Notef("publishers reached %.0f msg/s of the %.0f asked", f.Value, e.Params.Rate)
		}
	}
	return r, nil
}

// conns: Conns connections IDENTIFY, SUB to one channel and send RDY 1,
// then stay idle for Duration. Figures: the broker's resident memory
// (/proc, when it runs on this machine) and Go heap in use (/stats
// include_mem) per connection, each measured after a forced GC
// (/debug/freememory) before and after, and the time to open them all
// (dial, IDENTIFY, SUB and its OK, RDY; 32 at a time): connect_s and
// conns_per_s. Beyond 20,000 connections to a loopback broker they come
// from several source addresses (127.0.0.2, .3, ...).
func connsScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	http, pid := e.Target.HTTPAddr(), e.Target.PID()
	if http == "" && pid == 0 {
		return nil, fmt.Errorf("%w: conns needs the broker's HTTP address or process", ErrSkipped)
	}
	before := e.memory(ctx)
	var connect float64 // seconds from the first dial to the last RDY written
	subs, err := func() (*consumers, error) {
		o := e.consumerOptions()
		o.BufferSize = 4096
		e.measure(p.Duration)
		start := bench.Now()
		conns, err := dialAll(ctx, e.Target.TCPAddr(), p.Conns, o)
		if err != nil {
			return nil, err
		}
		s := &consumers{conns: conns, g: newGroup()}
		for range conns {
			s.cs = append(s.cs, &bench.Consumer{Topic: e.topic(), Channel: "idle", RDY: 1})
		}
		if err := s.start(); err != nil {
			return nil, err
		}
		connect = bench.Seconds(bench.Now() - start)
		e.progress("%s: %d connections open (%.0f/s)", e.name, p.Conns, float64(p.Conns)/connect)
		return s, nil
	}()
	if err != nil {
		return nil, err
	}
	r := &bench.Result{}
	r.Add("conns", float64(p.Conns), "conns", "")
	r.Add("connect_s", secs(connect), "s", bench.LowerIsBetter)
	r.Add("conns_per_s", math.Round(float64(p.Conns)/connect), "conns/s", bench.HigherIsBetter)
	if err := e.sleep(ctx, p.Duration, func() string { return fmt.Sprintf("%s: holding %d connections", e.name, p.Conns) }, subs.g); err != nil {
		subs.finish()
		return nil, err
	}
	after := e.memory(ctx)
	if err := subs.finish(); err != nil {
		return nil, err
	}
	n := float64(p.Conns)
	if before.rss > 0 && after.rss > 0 {
		r.Add("rss_per_conn_bytes", math.Round(float64(after.rss-before.rss)/n), "B", bench.LowerIsBetter)
		r.Add("rss_mib", mib(after.rss), "MiB", bench.LowerIsBetter)
	} else {
		r.Notef("no resident memory figures: the broker's process is not on this machine")
	}
	switch {
	case before.heap > 0 && after.heap >= before.heap:
		r.Add("heap_per_conn_bytes", math.Round(float64(after.heap-before.heap)/n), "B", bench.LowerIsBetter)
	case before.heap > 0 && after.heap > 0:
		// a garbage collection between the two readings freed more than
		// the connections took: no figure rather than a negative one
		r.Notef("no heap figure: the heap shrank while the connections were open (%d -> %d bytes)", before.heap, after.heap)
	default:
		r.Notef("no heap figures: /stats?include_mem=true did not answer")
	}
	return r, nil
}

type memFigures struct{ rss, heap int64 }

// memory forces a GC in the broker and reads its RSS and heap in use, each
// 0 when unavailable.
func (e *Env) memory(ctx context.Context) memFigures {
	var m memFigures
	if http := e.Target.HTTPAddr(); http != "" {
		_ = broker.FreeMemory(ctx, http)
		if s, err := broker.Stats(ctx, http, true); err == nil && s.Memory != nil {
			m.heap = int64(s.Memory.HeapInUseBytes)
		}
	}
	if pm, err := broker.ProcMemory(e.Target.PID()); err == nil {
		m.rss = pm.RSS
	}
	return m
}

// disk: DiskBytes of messages (Size bytes each, MPUB batches) go to a
// channel with no consumer, then Consumers connections drain them. Far
// more than upstream's --mem-queue-size, so both brokers write and read
// their disk queues. Figures: write and read rates, and the broker's peak
// resident memory while the backlog exists.
func diskScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	topic := e.topic()
	n := max(p.DiskBytes/int64(p.Size), 1)
	if err := createChannel(ctx, e.Target.TCPAddr(), topic, "disk"); err != nil {
		return nil, err
	}
	r := &bench.Result{}
	r.Add("backlog_mib", float64(n*int64(p.Size))/(1<<20), "MiB", "")
	peak := e.watchMemory()
	e.measure(p.Duration)
	start := bench.Now()
	writeRate, written, err := e.fill(ctx, topic, n, p.Size, true)
	if err != nil {
		peak()
		return nil, err
	}
	r.Add("write_msgs_per_s", math.Round(writeRate), "msg/s", bench.HigherIsBetter)
	r.Add("write_mib_per_s", math.Round(writeRate*float64(p.Size)/(1<<20)*100)/100, "MiB/s", bench.HigherIsBetter)
	offset := bench.Seconds(bench.Now() - start)
	drained, err := e.drain(ctx, r, topic, "disk", n, p.Size, nil)
	m := peak()
	if err != nil {
		return nil, err
	}
	// One time axis: the reads follow the writes.
	for i := range r.Series {
		for j := range r.Series[i].T {
			r.Series[i].T[j] += offset
		}
	}
	r.Series = append(written, r.Series...)
	r.Rate("read", n, drained, p.Size)
	if m.RSS > 0 {
		r.Add("rss_peak_mib", mib(m.RSS), "MiB", bench.LowerIsBetter)
		r.Add("anon_peak_mib", mib(m.Anon), "MiB", bench.LowerIsBetter)
	}
	return r, nil
}

func mib(b int64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }

// secs rounds seconds to the millisecond.
func secs(s float64) float64 { return math.Round(s*1e3) / 1e3 }

// watchMemory samples the broker's resident memory every 50ms until the
// returned function is called, which returns the largest RSS and RssAnon
// seen (0 if unknown).
func (e *Env) watchMemory() func() broker.Memory {
	pid := e.Target.PID()
	if pid == 0 {
		return func() broker.Memory { return broker.Memory{} }
	}
	stop := make(chan struct{})
	res := make(chan broker.Memory, 1)
	go func() {
		var peak broker.Memory
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := broker.ProcMemory(pid); err == nil {
				peak.RSS = max(peak.RSS, m.RSS)
				peak.Anon = max(peak.Anon, m.Anon)
			}
			select {
			case <-stop:
				res <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() broker.Memory {
		close(stop)
		return <-res
	}
}

// restart: Backlog numbered messages wait in a channel; the broker is
// stopped (SIGTERM, or SIGKILL with Kill) and started again on the same
// data path; Consumers connections then take everything it delivers.
// Figures: stop and start times, the time from the stop signal until the
// whole backlog is delivered again, and how many messages were lost
// (never delivered) or delivered twice.
func restartScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	topic := e.topic()
	if !e.Target.CanRestart() {
		return nil, fmt.Errorf("%w: restart needs a broker this process started", ErrSkipped)
	}
	if err := createChannel(ctx, e.Target.TCPAddr(), topic, "restart"); err != nil {
		return nil, err
	}
	if _, _, err := e.fill(ctx, topic, p.Backlog, p.Size, false); err != nil {
		return nil, err
	}
	e.progress("%s: restarting the broker", e.name)
	e.measure(p.Duration)
	start := bench.Now()
	rt, err := e.Target.Restart(ctx, p.Kill)
	if err != nil {
		return nil, err
	}
	r := &bench.Result{}
	r.Add("backlog", float64(p.Backlog), "msgs", "")
	r.Add("stop_s", secs(rt.Stop.Seconds()), "s", bench.LowerIsBetter)
	r.Add("start_s", secs(rt.Start.Seconds()), "s", bench.LowerIsBetter)
	seen := bench.NewBitmap(uint64(p.Backlog))
	subs, err := dialConsumers(ctx, e, p.Consumers, topic, func(int) string { return "restart" }, false, seen)
	if err != nil {
		return nil, err
	}
	sampler := newSampler(p)
	sampler.Source("received", "msg/s", subs.received)
	sampler.Start()
	if err := subs.start(); err != nil {
		sampler.Stop()
		return nil, err
	}
	// Wait for every message, or for a quiet spell that says the rest
	// are not coming.
	quiet := max(5*time.Second, p.Duration)
	lastCount, lastChange := int64(-1), time.Now()
	werr := e.waitFor(ctx, p.Timeout, "the backlog after the restart", func() bool {
		n := subs.received()
		if n != lastCount {
			lastCount, lastChange = n, time.Now()
		}
		return n-seen.Duplicates() >= p.Backlog || time.Since(lastChange) > quiet
	}, rateStatus(fmt.Sprintf("%s: redelivering %d", e.name, p.Backlog), subs.received), subs.g)
	r.Series = sampler.Stop()
	ferr := subs.finish()
	if err := errors.Join(werr, ferr); err != nil {
		return nil, err
	}
	r.Add("redelivered_s", secs(bench.Seconds(subs.last()-start)), "s", bench.LowerIsBetter)
	r.Add("lost", float64(seen.Missing()), "msgs", "")
	r.Add("duplicates", float64(seen.Duplicates()), "msgs", "")
	if seen.Missing() > 0 {
		r.Notef("%d of %d acknowledged messages were not delivered after the restart", seen.Missing(), p.Backlog)
	}
	if f := seen.Foreign(); f > 0 {
		r.Notef("%d messages with unexpected sequence numbers", f)
	}
	return r, nil
}
