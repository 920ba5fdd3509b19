package httpapi

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	gonsq "github.com/nsqio/go-nsq"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/netpoll"
	"github.com/nsqfast/nsq/wire"
)

// scrape is a parsed /metrics answer.
type scrape map[string]*dto.MetricFamily

func (f *fixture) scrape() scrape {
	f.t.Helper()
	r := f.do("GET", "/metrics", nil)
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		f.t.Fatalf("/metrics: %d %v", r.code, r.header)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		f.t.Fatalf("/metrics does not parse: %v\n%s", err, r.body)
	}
	return fams
}

// metric finds the sample of family name with exactly the given labels
// (name, value pairs).
func (s scrape) metric(name string, labels ...string) (*dto.Metric, bool) {
	fam := s[name]
	if fam == nil {
		return nil, false
	}
next:
	for _, m := range fam.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m, true
	}
	return nil, false
}

// value is a counter's or gauge's value; NaN when absent.
func (s scrape) value(name string, labels ...string) float64 {
	m, ok := s.metric(name, labels...)
	switch {
	case !ok:
		return math.NaN()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return math.NaN()
}

// series counts the samples of every family.
func (s scrape) series() int {
	n := 0
	for _, f := range s {
		n += len(f.Metric)
	}
	return n
}

// TestMetricsMatchWorkload runs a known workload and checks /metrics,
// parsed by Prometheus' own parser, against it and against /stats.
func TestMetricsMatchWorkload(t *testing.T) {
	f := newFixture(t, fixtureConfig{
		tcp:     true,
		engine:  func(o *engine.Options) { o.E2EPercentiles = []float64{0.5, 1} },
		netpoll: func(o *netpoll.Options) { o.SnappyEnabled = true },
	})
	tp, err := f.eng.GetTopic("m1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.GetChannel("c2"); err != nil { // never consumed
		t.Fatal(err)
	}
	var finished atomic.Int64
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 5
	cfg.Snappy = true
	c, err := gonsq.NewConsumer("m1", "c1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quietLogger{}, gonsq.LogLevelError)
	c.AddHandler(gonsq.HandlerFunc(func(*gonsq.Message) error { finished.Add(1); return nil }))
	if err := c.ConnectToNSQD(f.tcp.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	// go-nsq returns once it has sent SUB; a PUB landing before it would
	// go to c2 alone.
	waitFor(t, func() error {
		tp, _ := findTopic(f.stats(""), "m1")
		if ch, ok := findChannel(tp, "c1"); !ok || ch.ClientCount != 1 {
			return fmt.Errorf("c1 not subscribed: %+v", tp)
		}
		return nil
	})

	p := f.producer()
	for range 4 {
		if err := p.Publish("m1", []byte("abc")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := p.Publish("m2", []byte("z")); err != nil {
			t.Fatal(err)
		}
	}
	f.expectV1Empty(f.do("POST", "/topic/pause?topic=m2", nil))

	var s scrape
	waitFor(t, func() error {
		s = f.scrape()
		if v := s.value("nsqd_channel_finished_total", "topic", "m1", "channel", "c1"); finished.Load() != 4 || v != 4 {
			return fmt.Errorf("finished: handler %d, metrics %v", finished.Load(), v)
		}
		return nil
	})

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"nsqd_info", []string{"version", "1.3.0"}, 1},
		{"nsqd_healthy", nil, 1},
		{"nsqd_topics", nil, 2},
		{"nsqd_topic_messages_total", []string{"topic", "m1"}, 4},
		{"nsqd_topic_message_bytes_total", []string{"topic", "m1"}, 12},
		{"nsqd_topic_depth", []string{"topic", "m1"}, 0},
		{"nsqd_topic_paused", []string{"topic", "m1"}, 0},
		{"nsqd_topic_channels", []string{"topic", "m1"}, 2},
		{"nsqd_topic_messages_total", []string{"topic", "m2"}, 2},
		{"nsqd_topic_depth", []string{"topic", "m2"}, 2}, // no channel
		{"nsqd_topic_paused", []string{"topic", "m2"}, 1},
		{"nsqd_topic_backend_depth", []string{"topic", "m2"}, 0},
		{"nsqd_topic_corrupt_messages_total", []string{"topic", "m2"}, 0},
		{"nsqd_channel_messages_total", []string{"topic", "m1", "channel", "c1"}, 4},
		{"nsqd_channel_depth", []string{"topic", "m1", "channel", "c1"}, 0},
		{"nsqd_channel_in_flight", []string{"topic", "m1", "channel", "c1"}, 0},
		{"nsqd_channel_clients", []string{"topic", "m1", "channel", "c1"}, 1},
		{"nsqd_channel_ready", []string{"topic", "m1", "channel", "c1"}, 5},
		{"nsqd_channel_requeued_total", []string{"topic", "m1", "channel", "c1"}, 0},
		{"nsqd_channel_timed_out_total", []string{"topic", "m1", "channel", "c1"}, 0},
		{"nsqd_channel_messages_total", []string{"topic", "m1", "channel", "c2"}, 4},
		{"nsqd_channel_depth", []string{"topic", "m1", "channel", "c2"}, 4},
		{"nsqd_channel_backend_depth", []string{"topic", "m1", "channel", "c2"}, 0},
		{"nsqd_channel_deferred", []string{"topic", "m1", "channel", "c2"}, 0},
		{"nsqd_channel_finished_total", []string{"topic", "m1", "channel", "c2"}, 0},
		{"nsqd_channel_clients", []string{"topic", "m1", "channel", "c2"}, 0},
		{"nsqd_channel_paused", []string{"topic", "m1", "channel", "c2"}, 0},
		{"nsqd_clients", []string{"state", "subscribed"}, 1},
		{"nsqd_clients", []string{"state", "init"}, 1}, // the producer
		{"nsqd_clients", []string{"state", "closing"}, 0},
		{"nsqd_clients_features", []string{"feature", "snappy"}, 1},
		{"nsqd_clients_features", []string{"feature", "tls"}, 0},
		{"nsqd_producers", nil, 1},
	} {
		if got := s.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for name, typ := range map[string]dto.MetricType{
		"nsqd_topic_messages_total": dto.MetricType_COUNTER, "nsqd_channel_depth": dto.MetricType_GAUGE,
		"nsqd_channel_e2e_processing_latency_seconds": dto.MetricType_SUMMARY,
		"go_goroutines": dto.MetricType_GAUGE, "process_cpu_seconds_total": dto.MetricType_COUNTER,
	} {
		if s[name].GetType() != typ {
			t.Errorf("%s: type %v, want %v", name, s[name].GetType(), typ)
		}
	}

	// e2e: the channel's and topic's summaries, as /stats reports them
	st := f.stats("")
	t1, _ := findTopic(st, "m1")
	ch1, _ := findChannel(t1, "c1")
	sum := func(name string, labels ...string) *dto.Summary {
		m, ok := s.metric(name, labels...)
		if !ok || m.Summary == nil {
			t.Fatalf("no summary %s%v", name, labels)
		}
		return m.Summary
	}
	for _, c := range []struct {
		sum  *dto.Summary
		stat []map[string]float64
		n    uint64
	}{
		{sum("nsqd_channel_e2e_processing_latency_seconds", "topic", "m1", "channel", "c1"), ch1.E2eProcessingLatency.Percentiles, 4},
		{sum("nsqd_topic_e2e_processing_latency_seconds", "topic", "m1"), t1.E2eProcessingLatency.Percentiles, 4},
	} {
		if c.sum.GetSampleCount() != c.n || c.sum.GetSampleSum() <= 0 || len(c.sum.Quantile) != 2 || len(c.stat) != 2 {
			t.Fatalf("summary %v, /stats %v", c.sum, c.stat)
		}
		for i, q := range c.sum.Quantile {
			if q.GetQuantile() != c.stat[i]["quantile"] || q.GetValue() <= 0 || math.Abs(q.GetValue()*1e9-c.stat[i]["value"]) > 1 {
				t.Errorf("quantile %v = %v s, /stats %v", q.GetQuantile(), q.GetValue(), c.stat[i])
			}
		}
	}
	if c2 := sum("nsqd_channel_e2e_processing_latency_seconds", "topic", "m1", "channel", "c2"); c2.GetSampleCount() != 0 || c2.Quantile[0].GetValue() != 0 {
		t.Errorf("idle channel summary %v", c2)
	}
	// a topic without channels has no percentiles (upstream's null): no summary
	if _, ok := s.metric("nsqd_topic_e2e_processing_latency_seconds", "topic", "m2"); ok {
		t.Error("summary for a topic without channels")
	}
}

// TestMetricsWithoutPercentiles: no e2e families when none are configured.
func TestMetricsWithoutPercentiles(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	if _, err := f.eng.GetTopic("t"); err != nil {
		t.Fatal(err)
	}
	s := f.scrape()
	if _, ok := s["nsqd_channel_e2e_processing_latency_seconds"]; ok {
		t.Error("e2e summary without percentiles")
	}
	if s.value("nsqd_topic_depth", "topic", "t") != 0 || s.value("nsqd_clients", "state", "init") != 0 {
		t.Errorf("topic t: %v", s["nsqd_topic_depth"])
	}
}

// TestMetricsCardinalityWithManyClients: thousands of connections change
// counts, not the number of series.
func TestMetricsCardinalityWithManyClients(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	tp, _ := f.eng.GetTopic("t")
	_, _ = tp.GetChannel("c")
	before := f.scrape()

	const n = 2000
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range n {
		c, err := net.Dial("tcp", f.tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		msg := wire.MagicV2
		if i%2 == 0 { // half subscribe
			msg += "SUB t c\n"
		}
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	var after scrape
	waitFor(t, func() error {
		after = f.scrape()
		if got := after.value("nsqd_channel_clients", "topic", "t", "channel", "c"); got != n/2 {
			return fmt.Errorf("%v consumers", got)
		}
		if got := after.value("nsqd_clients", "state", "init"); got != n/2 {
			return fmt.Errorf("%v clients in init", got)
		}
		return nil
	})
	// the Go runtime's families may differ by a sample or two (GC
	// quantiles): compare nsqd's own
	count := func(s scrape) int {
		k := 0
		for name, fam := range s {
			if strings.HasPrefix(name, "nsqd_") {
				k += len(fam.Metric)
			}
		}
		return k
	}
	if count(after) != count(before) || after.series() > before.series()+5 {
		t.Fatalf("series: %d nsqd_ / %d total before, %d / %d with %d clients", count(before), before.series(), count(after), after.series(), n)
	}
}
