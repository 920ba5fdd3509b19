package httpapi

import (
	"net/http"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/engine/metrics/promtext"
	"github.com/nsqfast/nsq/netpoll"
)

// GET /metrics (not in upstream) answers the numbers of /stats in the
// Prometheus text format: per topic (label topic) and per channel (labels
// topic, channel), the end-to-end latency percentiles as summaries when
// configured, client counts aggregated by state and negotiated feature, and
// the Go runtime and process. No family is labelled per client, so the
// number of series depends on topics and channels only, whatever the
// number of connections.

type topicFamily struct {
	name, typ, help string
	value           func(*engine.TopicStats) float64
}

type channelFamily struct {
	name, typ, help string
	value           func(*engine.ChannelStats) float64
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var topicFamilies = []topicFamily{
	{"nsqd_topic_depth", promtext.Gauge, "Messages held by the topic (no channel yet, or paused).",
		func(t *engine.TopicStats) float64 { return float64(t.Depth) }},
	{"nsqd_topic_backend_depth", promtext.Gauge, "The part of the depth beyond --mem-queue-size (upstream's disk queue).",
		func(t *engine.TopicStats) float64 { return float64(t.BackendDepth) }},
	{"nsqd_topic_messages_total", promtext.Counter, "Messages published to the topic since nsqd started.",
		func(t *engine.TopicStats) float64 { return float64(t.MessageCount) }},
	{"nsqd_topic_message_bytes_total", promtext.Counter, "Bytes of message bodies published to the topic since nsqd started.",
		func(t *engine.TopicStats) float64 { return float64(t.MessageBytes) }},
	{"nsqd_topic_corrupt_messages_total", promtext.Counter, "Stored messages skipped because their record failed its checksum.",
		func(t *engine.TopicStats) float64 { return float64(t.CorruptCount) }},
	{"nsqd_topic_expired_total", promtext.Counter, "Messages of the topic's channels that outlived its TTL undelivered, since nsqd started.",
		func(t *engine.TopicStats) float64 { return float64(t.ExpiredCount) }},
	{"nsqd_topic_dead_lettered_total", promtext.Counter, "Messages the topic's channels moved to their dead-letter topics, since nsqd started.",
		func(t *engine.TopicStats) float64 { return float64(t.DeadLetterCount) }},
	{"nsqd_topic_paused", promtext.Gauge, "1 when the topic is paused.",
		func(t *engine.TopicStats) float64 { return b2f(t.Paused) }},
	{"nsqd_topic_channels", promtext.Gauge, "Channels of the topic.",
		func(t *engine.TopicStats) float64 { return float64(len(t.Channels)) }},
}

var channelFamilies = []channelFamily{
	{"nsqd_channel_depth", promtext.Gauge, "Messages waiting for delivery (not in flight, not deferred).",
		func(c *engine.ChannelStats) float64 { return float64(c.Depth) }},
	{"nsqd_channel_backend_depth", promtext.Gauge, "The part of the depth beyond --mem-queue-size (upstream's disk queue).",
		func(c *engine.ChannelStats) float64 { return float64(c.BackendDepth) }},
	{"nsqd_channel_in_flight", promtext.Gauge, "Messages delivered and not yet finished, requeued or timed out.",
		func(c *engine.ChannelStats) float64 { return float64(c.InFlightCount) }},
	{"nsqd_channel_deferred", promtext.Gauge, "Messages deferred (DPUB, or REQ with a delay).",
		func(c *engine.ChannelStats) float64 { return float64(c.DeferredCount) }},
	{"nsqd_channel_messages_total", promtext.Counter, "Messages that reached the channel since nsqd started.",
		func(c *engine.ChannelStats) float64 { return float64(c.MessageCount) }},
	{"nsqd_channel_finished_total", promtext.Counter, "Messages finished (FIN) since nsqd started.",
		func(c *engine.ChannelStats) float64 { return float64(c.FinishCount) }},
	{"nsqd_channel_requeued_total", promtext.Counter, "Messages requeued (REQ, or a consumer left) since nsqd started.",
		func(c *engine.ChannelStats) float64 { return float64(c.RequeueCount) }},
	{"nsqd_channel_timed_out_total", promtext.Counter, "In-flight messages that timed out since nsqd started.",
		func(c *engine.ChannelStats) float64 { return float64(c.TimeoutCount) }},
	{"nsqd_channel_expired_total", promtext.Counter, "Messages that outlived the topic's TTL undelivered, since nsqd started.",
		func(c *engine.ChannelStats) float64 { return float64(c.ExpiredCount) }},
	{"nsqd_channel_dead_lettered_total", promtext.Counter, "Messages moved to the channel's dead-letter topic after --max-attempts deliveries, since nsqd started.",
		func(c *engine.ChannelStats) float64 { return float64(c.DeadLetterCount) }},
	{"nsqd_channel_clients", promtext.Gauge, "Consumers subscribed to the channel.",
		func(c *engine.ChannelStats) float64 { return float64(c.ClientCount) }},
	{"nsqd_channel_ready", promtext.Gauge, "Sum of the RDY counts of the channel's consumers.",
		func(c *engine.ChannelStats) float64 {
			var n int64
			for _, cs := range c.Consumers {
				n += cs.ReadyCount
			}
			return float64(n)
		}},
	{"nsqd_channel_paused", promtext.Gauge, "1 when the channel is paused.",
		func(c *engine.ChannelStats) float64 { return b2f(c.Paused) }},
}

// clientStates names the states a V2 client goes through: init until SUB
// (producers stay there, as upstream), subscribed, closing (after CLS).
var clientStates = []struct {
	state int32
	name  string
}{
	{netpoll.StateInit, "init"},
	{netpoll.StateSubscribed, "subscribed"},
	{netpoll.StateClosing, "closing"},
}

func (s *server) promMetrics(w http.ResponseWriter, _ *http.Request, _ string) {
	var pw promtext.Writer
	s.writeMetrics(&pw)
	w.Header().Set("Content-Type", promtext.ContentType)
	_, _ = w.Write(pw.Bytes())
}

func (s *server) writeMetrics(w *promtext.Writer) {
	_, healthy := s.health()
	w.Family("nsqd_info", promtext.Gauge, "nsqd's version (the upstream version it is compatible with).")
	w.Sample("nsqd_info", 1, "version", s.o.Version)
	w.Family("nsqd_healthy", promtext.Gauge, "1 when /ping answers OK.")
	w.Sample("nsqd_healthy", b2f(healthy))
	w.Family("nsqd_start_time_seconds", promtext.Gauge, "When nsqd started, in seconds since the epoch.")
	w.Sample("nsqd_start_time_seconds", float64(s.eng.StartTime().UnixNano())/1e9)

	topics := s.eng.Topics()
	stats := make([]engine.TopicStats, len(topics))
	for i, t := range topics {
		stats[i] = t.Stats("", true)
	}
	w.Family("nsqd_topics", promtext.Gauge, "Topics.")
	w.Sample("nsqd_topics", float64(len(stats)))
	for _, f := range topicFamilies {
		w.Family(f.name, f.typ, f.help)
		for i := range stats {
			w.Sample(f.name, f.value(&stats[i]), "topic", stats[i].Name)
		}
	}
	for _, f := range channelFamilies {
		w.Family(f.name, f.typ, f.help)
		for i := range stats {
			for j := range stats[i].Channels {
				c := &stats[i].Channels[j]
				w.Sample(f.name, f.value(c), "topic", stats[i].Name, "channel", c.Name)
			}
		}
	}
	if len(s.eng.Options().E2EPercentiles) > 0 {
		const name = "nsqd_topic_e2e_processing_latency_seconds"
		w.Family(name, promtext.Summary, "Time from publish to finish over the --e2e-processing-latency-window-time window, all channels of the topic together; sum and count since each channel was created.")
		for i := range stats {
			if stats[i].E2E.Percentiles != nil {
				writeLatency(w, name, &stats[i].E2E, "topic", stats[i].Name)
			}
		}
		const cname = "nsqd_channel_e2e_processing_latency_seconds"
		w.Family(cname, promtext.Summary, "Time from publish to finish over the --e2e-processing-latency-window-time window; sum and count since the channel was created.")
		for i := range stats {
			for j := range stats[i].Channels {
				c := &stats[i].Channels[j]
				writeLatency(w, cname, &c.E2E, "topic", stats[i].Name, "channel", c.Name)
			}
		}
	}
	s.writeClientMetrics(w)
	pm := engine.ReadProcessMemory()
	w.Family("nsqd_resident_bytes", promtext.Gauge, "Resident memory by kind: anon (Go heap, stacks, buffers), file (the binary's code and the log pages in use).")
	w.Sample("nsqd_resident_bytes", float64(pm.Anon), "kind", "anon")
	w.Sample("nsqd_resident_bytes", float64(pm.File), "kind", "file")
	w.Family("nsqd_log_mapped_bytes", promtext.Gauge, "Address space the topic logs and channel journals have mapped (an upper bound of the log pages that can be resident).")
	w.Sample("nsqd_log_mapped_bytes", float64(s.eng.LogMappedBytes()))
	w.GoRuntime()
	w.Process()
}

func writeLatency(w *promtext.Writer, name string, l *engine.LatencyStats, labels ...string) {
	qs := make([]promtext.Quantile, len(l.Percentiles))
	for i, p := range l.Percentiles {
		qs[i] = promtext.Quantile{Quantile: p.Quantile, Value: p.Value / 1e9}
	}
	w.Summary(name, qs, l.Sum.Seconds(), l.Total, labels...)
}

// writeClientMetrics aggregates the TCP clients: by state, by negotiated
// feature, and how many have published.
func (s *server) writeClientMetrics(w *promtext.Writer) {
	var clients []*netpoll.Client
	if s.o.Clients != nil {
		clients = s.o.Clients()
	}
	byState := map[int32]int{}
	var tls, snappy, deflate, authed, producers int
	for _, c := range clients {
		in := c.Info()
		byState[in.State]++
		if in.TLS {
			tls++
		}
		if in.Snappy {
			snappy++
		}
		if in.Deflate {
			deflate++
		}
		if in.Authed {
			authed++
		}
		if len(in.PubCounts) > 0 {
			producers++
		}
	}
	w.Family("nsqd_clients", promtext.Gauge, "TCP clients, by protocol state.")
	for _, st := range clientStates {
		w.Sample("nsqd_clients", float64(byState[st.state]), "state", st.name)
	}
	w.Family("nsqd_clients_features", promtext.Gauge, "TCP clients that negotiated a feature.")
	for _, f := range []struct {
		name string
		n    int
	}{{"tls", tls}, {"snappy", snappy}, {"deflate", deflate}, {"auth", authed}} {
		w.Sample("nsqd_clients_features", float64(f.n), "feature", f.name)
	}
	w.Family("nsqd_producers", promtext.Gauge, "TCP clients that have published (upstream's producers).")
	w.Sample("nsqd_producers", float64(producers))
}
