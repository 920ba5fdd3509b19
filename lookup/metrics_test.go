package lookup

import (
	"math"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// TestMetrics registers two nsqd, tombstones one for a topic and checks
// /metrics, parsed by Prometheus' own parser.
func TestMetrics(t *testing.T) {
	l := startLookupd(t, nil)
	a, b := dialV1(t, l.TCPAddr().String()), dialV1(t, l.TCPAddr().String())
	a.identify(4150, 4151)
	b.identify(5150, 5151)
	a.cmd("REGISTER t c")
	a.cmd("REGISTER t d")
	a.cmd("REGISTER u")
	b.cmd("REGISTER t")
	expectHTTP(t, post(t, l, "/topic/tombstone?topic=t&node=127.0.0.1:4151"), 200, ``)
	expectHTTP(t, post(t, l, "/topic/create?topic=empty"), 200, ``)

	r := get(t, l, "/metrics")
	if r.code != http.StatusOK || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("/metrics: %d %v", r.code, r.header)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	value := func(name string, labels ...string) float64 {
		f := fams[name]
		if f == nil {
			return math.NaN()
		}
	next:
		for _, m := range f.Metric {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.Label {
					found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
				}
				if !found {
					continue next
				}
			}
			if f.GetType() != dto.MetricType_GAUGE {
				return math.NaN()
			}
			return m.Gauge.GetValue()
		}
		return math.NaN()
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"nsqlookupd_info", []string{"version", "1.3.0"}, 1},
		{"nsqlookupd_tcp_connections", nil, 2},
		{"nsqlookupd_nodes", []string{"state", "all"}, 2},
		{"nsqlookupd_nodes", []string{"state", "active"}, 2},
		{"nsqlookupd_topics", nil, 3},
		{"nsqlookupd_channels", nil, 2},
		{"nsqlookupd_topic_producers", []string{"topic", "t"}, 2},
		{"nsqlookupd_topic_active_producers", []string{"topic", "t"}, 1},
		{"nsqlookupd_topic_tombstoned_producers", []string{"topic", "t"}, 1},
		{"nsqlookupd_topic_channels", []string{"topic", "t"}, 2},
		{"nsqlookupd_topic_producers", []string{"topic", "u"}, 1},
		{"nsqlookupd_topic_tombstoned_producers", []string{"topic", "u"}, 0},
		{"nsqlookupd_topic_producers", []string{"topic", "empty"}, 0},
		{"nsqlookupd_topic_channels", []string{"topic", "empty"}, 0},
	} {
		if got := value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil {
		t.Error("no Go runtime or process families")
	}
}
