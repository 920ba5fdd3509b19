package lookup

import (
	"net/http"
	"time"

	"github.com/nsqfast/nsq/engine/metrics/promtext"
	"github.com/nsqfast/nsq/lookup/registry"
)

// metrics is GET /metrics (not in upstream): the registry in the Prometheus
// text format, and the Go runtime and process. Series are per topic at
// most, whatever the number of nsqd.
func (l *NSQLookupd) metrics(w http.ResponseWriter, _ *http.Request) {
	var pw promtext.Writer
	l.writeMetrics(&pw, time.Now())
	w.Header().Set("Content-Type", promtext.ContentType)
	_, _ = w.Write(pw.Bytes())
}

func (l *NSQLookupd) writeMetrics(w *promtext.Writer, now time.Time) {
	inactive, lifetime := l.opts.InactiveProducerTimeout, l.opts.TombstoneLifetime
	w.Family("nsqlookupd_info", promtext.Gauge, "nsqlookupd's version (the upstream version it is compatible with).")
	w.Sample("nsqlookupd_info", 1, "version", Version)

	l.mu.Lock()
	conns := len(l.mu.conns)
	l.mu.Unlock()
	w.Family("nsqlookupd_tcp_connections", promtext.Gauge, "Open TCP connections (nsqd).")
	w.Sample("nsqlookupd_tcp_connections", float64(conns))

	nodes := l.db.FindProducers(registry.CategoryClient, "", "")
	w.Family("nsqlookupd_nodes", promtext.Gauge, "Identified nsqd; active ones have pinged within --inactive-producer-timeout.")
	w.Sample("nsqlookupd_nodes", float64(len(nodes)), "state", "all")
	w.Sample("nsqlookupd_nodes", float64(len(registry.Active(nodes, now, inactive, 0))), "state", "active")

	topics := l.db.FindRegistrations(registry.CategoryTopic, registry.Wildcard, "")
	channels := l.db.FindRegistrations(registry.CategoryChannel, registry.Wildcard, registry.Wildcard)
	w.Family("nsqlookupd_topics", promtext.Gauge, "Registered topics.")
	w.Sample("nsqlookupd_topics", float64(len(topics)))
	w.Family("nsqlookupd_channels", promtext.Gauge, "Registered channels, all topics together.")
	w.Sample("nsqlookupd_channels", float64(len(channels)))

	perTopic := make(map[string]int, len(topics))
	for _, c := range channels {
		perTopic[c.Key]++
	}
	type counts struct{ producers, active, tombstoned int }
	byTopic := make([]counts, len(topics))
	for i, t := range topics {
		ps := l.db.FindProducers(registry.CategoryTopic, t.Key, "")
		byTopic[i].producers = len(ps)
		for _, p := range ps {
			if p.IsTombstoned(lifetime, now) {
				byTopic[i].tombstoned++
			}
		}
		byTopic[i].active = len(registry.Active(ps, now, inactive, lifetime))
	}
	for _, f := range []struct {
		name, help string
		value      func(i int) int
	}{
		{"nsqlookupd_topic_producers", "nsqd registered for the topic.", func(i int) int { return byTopic[i].producers }},
		{"nsqlookupd_topic_active_producers", "nsqd /lookup returns for the topic: active and not tombstoned.", func(i int) int { return byTopic[i].active }},
		{"nsqlookupd_topic_tombstoned_producers", "nsqd tombstoned for the topic.", func(i int) int { return byTopic[i].tombstoned }},
		{"nsqlookupd_topic_channels", "Channels registered for the topic.", func(i int) int { return perTopic[topics[i].Key] }},
	} {
		w.Family(f.name, promtext.Gauge, f.help)
		for i, t := range topics {
			w.Sample(f.name, float64(f.value(i)), "topic", t.Key)
		}
	}
	w.GoRuntime()
	w.Process()
}
