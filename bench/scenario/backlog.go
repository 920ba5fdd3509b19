package scenario

import (
	"context"
	"fmt"
	"math"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/broker"
)

// backlog: Backlog numbered messages (Size bytes, MPUB batches of Batch,
// Window commands pipelined on each of Conns connections) go to a channel
// with no consumer; the broker is stopped (SIGTERM, or SIGKILL with Kill)
// and started again on the same data path; then Consumers connections
// drain the channel. The broker's memory is sampled every 50ms throughout.
// Figures: fill rate and peak RSS while filling, stop and start times,
// RSS right after the start, drain rate and peak RSS while draining, and
// messages lost. It is the scenario of the backlog sweep (bench/sweep),
// meant for --mem-queue-size=0 on both brokers so that every message is
// on disk.
func backlogScenario(ctx context.Context, e *Env) (*bench.Result, error) {
	p := e.Params
	topic := e.topic()
	if !e.Target.CanRestart() {
		return nil, fmt.Errorf("%w: backlog needs a broker this process can restart", ErrSkipped)
	}
	if err := createChannel(ctx, e.Target.TCPAddr(), topic, "backlog"); err != nil {
		return nil, err
	}
	r := &bench.Result{}
	r.Add("backlog", float64(p.Backlog), "msgs", "")
	e.measure(p.Duration)
	peak := e.watchMemory()
	fillRate, _, err := e.fill(ctx, topic, p.Backlog, p.Size, false)
	m := peak()
	if err != nil {
		return nil, err
	}
	r.Add("fill_msgs_per_s", math.Round(fillRate), "msg/s", bench.HigherIsBetter)
	addPeak(r, "fill", m)

	e.progress("%s: restarting the broker with %d messages stored", e.name, p.Backlog)
	rt, err := e.Target.Restart(ctx, p.Kill)
	if err != nil {
		return nil, err
	}
	r.Add("stop_s", secs(rt.Stop.Seconds()), "s", bench.LowerIsBetter)
	r.Add("start_s", secs(rt.Start.Seconds()), "s", bench.LowerIsBetter)
	if after := e.memory(ctx); after.rss > 0 {
		r.Add("restart_rss_mib", mib(after.rss), "MiB", bench.LowerIsBetter)
	}

	seen := bench.NewBitmap(uint64(p.Backlog))
	peak = e.watchMemory()
	drained, err := e.drain(ctx, r, topic, "backlog", p.Backlog, p.Size, seen)
	m = peak()
	if err != nil {
		return nil, err
	}
	r.Rate("drain", p.Backlog, drained, p.Size)
	r.Add("drain_s", secs(drained), "s", bench.LowerIsBetter)
	addPeak(r, "drain", m)
	r.Add("lost", float64(seen.Missing()), "msgs", "")
	r.Add("duplicates", float64(seen.Duplicates()), "msgs", "")
	if seen.Missing() > 0 {
		r.Notef("%d of %d acknowledged messages were not delivered after the restart", seen.Missing(), p.Backlog)
	}
	return r, nil
}

// addPeak adds phase's peak RSS and RssAnon, when the broker's process
// could be read (it runs on this machine).
func addPeak(r *bench.Result, phase string, m broker.Memory) {
	if m.RSS > 0 {
		r.Add(phase+"_rss_peak_mib", mib(m.RSS), "MiB", bench.LowerIsBetter)
		r.Add(phase+"_anon_peak_mib", mib(m.Anon), "MiB", bench.LowerIsBetter)
	}
}
