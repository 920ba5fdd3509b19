package nsqd

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/engine/httpapi"
	"github.com/nsqfast/nsq/engine/metrics/statsd"
	"github.com/nsqfast/nsq/wire/apidoc"
)

// statsdPusher sends nsqd's numbers to statsd every --statsd-interval, with
// upstream's metric names and types: counters carry the increase since the
// previous push, gauges the current value. One goroutine runs it.
type statsdPusher struct {
	n        *NSQD
	addr     string
	prefix   string // with the host substituted and a trailing '.'
	interval time.Duration
	stop     chan struct{}
	done     chan struct{}

	// the previous push's counters, owned by the pusher goroutine
	last       map[string]topicCounts
	lastGCRuns uint32
}

// topicCounts are a topic's counters as of the last push.
type topicCounts struct {
	messages, bytes uint64
	channels        map[string]channelCounts
}

type channelCounts struct {
	messages, requeues, timeouts, expired, deadLetters uint64
}

// startStatsd starts pushing when --statsd-address is set; httpAddr is the
// bound HTTP address, whose port names this nsqd in the prefix (unless
// --broadcast-http-port says otherwise).
func (n *NSQD) startStatsd(httpAddr net.Addr) {
	o := n.opts
	if o.StatsdAddress == "" {
		return
	}
	port := o.BroadcastHTTPPort
	if port == 0 {
		port = portOf(httpAddr)
	}
	p := &statsdPusher{
		n:        n,
		addr:     o.StatsdAddress,
		prefix:   statsd.Prefix(o.StatsdPrefix, net.JoinHostPort(o.BroadcastAddress, strconv.Itoa(port))),
		interval: o.StatsdInterval,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		last:     map[string]topicCounts{},
	}
	n.statsd = p
	go p.run()
}

// stopStatsd stops the pusher and waits for it (no-op when not started).
func (n *NSQD) stopStatsd() {
	if p := n.statsd; p != nil {
		close(p.stop)
		<-p.done
	}
}

func (p *statsdPusher) run() {
	defer close(p.done)
	tk := time.NewTicker(p.interval)
	defer tk.Stop()
	for {
		select {
		case <-p.stop:
			p.n.logf(LogInfo, "STATSD: closing")
			return
		case <-tk.C:
		}
		p.push()
	}
}

// push sends one round of metrics. As upstream, it dials anew each time
// and spreads the packets over the interval less a second.
func (p *statsdPusher) push() {
	conn, err := net.DialTimeout("udp", p.addr, time.Second)
	if err != nil {
		p.n.logf(LogError, "failed to create UDP socket to statsd(%s)", p.addr)
		return
	}
	defer conn.Close()
	p.n.logf(LogInfo, "STATSD: pushing stats to %s", p.addr)
	topics := p.n.eng.Topics()
	stats := make([]engine.TopicStats, len(topics))
	for i, t := range topics {
		stats[i] = t.Stats("", false)
	}
	var mem *apidoc.Memory
	if p.n.opts.StatsdMemStats {
		m := httpapi.MemoryDoc(p.n.eng)
		mem = &m
	}
	size := p.n.opts.StatsdUDPPacketSize
	if size <= 0 {
		size = 4096 // what upstream's bufio.Writer makes of it
	}
	b := statsd.New(p.prefix, size)
	p.fill(b, stats, mem)
	_ = statsd.Send(conn, b.Packets(), p.interval-time.Second, p.stop)
}

// fill writes one round of metrics for stats (topics sorted by name) and
// mem (nil: no memory metrics) into b, in upstream's order, and remembers
// the counters for the next round.
func (p *statsdPusher) fill(b *statsd.Buffer, stats []engine.TopicStats, mem *apidoc.Memory) {
	excl := p.n.opts.StatsdExcludeEphemeral
	next := make(map[string]topicCounts, len(stats))
	for _, ts := range stats {
		if excl && engine.IsEphemeralName(ts.Name) {
			continue
		}
		last := p.last[ts.Name]
		tp := "topic." + ts.Name + "."
		b.Count(tp+"message_count", int64(ts.MessageCount-last.messages))
		b.Count(tp+"message_bytes", int64(ts.MessageBytes-last.bytes))
		b.Gauge(tp+"depth", ts.Depth)
		b.Gauge(tp+"backend_depth", ts.BackendDepth)
		latencyGauges(b, tp, ts.E2E)

		cur := topicCounts{messages: ts.MessageCount, bytes: ts.MessageBytes, channels: map[string]channelCounts{}}
		slices.SortFunc(ts.Channels, func(a, b engine.ChannelStats) int { return cmp.Compare(a.Name, b.Name) })
		for _, cs := range ts.Channels {
			if excl && engine.IsEphemeralName(cs.Name) {
				continue
			}
			lc := last.channels[cs.Name]
			cp := tp + "channel." + cs.Name + "."
			b.Count(cp+"message_count", int64(cs.MessageCount-lc.messages))
			b.Gauge(cp+"depth", cs.Depth)
			b.Gauge(cp+"backend_depth", cs.BackendDepth)
			b.Gauge(cp+"in_flight_count", int64(cs.InFlightCount))
			b.Gauge(cp+"deferred_count", int64(cs.DeferredCount))
			b.Count(cp+"requeue_count", int64(cs.RequeueCount-lc.requeues))
			b.Count(cp+"timeout_count", int64(cs.TimeoutCount-lc.timeouts))
			if cs.ExpiredCount > 0 || cs.DeadLetterCount > 0 { // ours: only once there is something to say
				b.Count(cp+"expired_count", int64(cs.ExpiredCount-lc.expired))
				b.Count(cp+"dead_letter_count", int64(cs.DeadLetterCount-lc.deadLetters))
			}
			b.Gauge(cp+"clients", int64(cs.ClientCount))
			latencyGauges(b, cp, cs.E2E)
			cur.channels[cs.Name] = channelCounts{cs.MessageCount, cs.RequeueCount, cs.TimeoutCount, cs.ExpiredCount, cs.DeadLetterCount}
		}
		next[ts.Name] = cur
	}
	p.last = next

	if mem != nil {
		b.Gauge("mem.heap_objects", int64(mem.HeapObjects))
		b.Gauge("mem.heap_idle_bytes", int64(mem.HeapIdleBytes))
		b.Gauge("mem.heap_in_use_bytes", int64(mem.HeapInUseBytes))
		b.Gauge("mem.heap_released_bytes", int64(mem.HeapReleasedBytes))
		b.Gauge("mem.gc_pause_usec_100", int64(mem.GCPauseUsec100))
		b.Gauge("mem.gc_pause_usec_99", int64(mem.GCPauseUsec99))
		b.Gauge("mem.gc_pause_usec_95", int64(mem.GCPauseUsec95))
		b.Gauge("mem.next_gc_bytes", int64(mem.NextGCBytes))
		b.Count("mem.gc_runs", int64(mem.GCTotalRuns-p.lastGCRuns))
		if mem.ResidentBytes > 0 { // ours, after upstream's
			b.Gauge("mem.resident_bytes", int64(mem.ResidentBytes))
			b.Gauge("mem.resident_anon_bytes", int64(mem.ResidentAnonBytes))
			b.Gauge("mem.resident_file_bytes", int64(mem.ResidentFileBytes))
			b.Gauge("mem.log_mapped_bytes", int64(mem.LogMappedBytes))
		}
		p.lastGCRuns = mem.GCTotalRuns
	}
}

// latencyGauges writes <prefix>e2e_processing_latency_<q*100, rounded> in
// nanoseconds for each configured percentile, as upstream (so 0.999 is
// named "_100", like 1.0).
func latencyGauges(b *statsd.Buffer, prefix string, l engine.LatencyStats) {
	for _, pc := range l.Percentiles {
		b.Gauge(prefix+"e2e_processing_latency_"+strconv.FormatFloat(pc.Quantile*100, 'f', 0, 64), int64(pc.Value))
	}
}
