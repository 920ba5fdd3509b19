package promtext

import (
	"bytes"
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func parse(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%v in:\n%s", err, b)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestWriterOutput(t *testing.T) {
	var w Writer
	w.Family("a_total", Counter, "Things.\nWith a \\ backslash.")
	w.Sample("a_total", 3, "topic", `we"ird\`+"\n", "channel", "c")
	w.Sample("a_total", 1e6, "topic", "t2", "channel", "c")
	w.Family("b", Gauge, "A gauge.")
	w.Sample("b", 0.25)
	w.Sample("b", math.Inf(1), "x", "inf")
	w.Family("lat_seconds", Summary, "A summary.")
	w.Summary("lat_seconds", []Quantile{{0.5, 0.001}, {0.99, 2}}, 3.5, 7, "topic", "t")
	want := `# HELP a_total Things.\nWith a \\ backslash.
# TYPE a_total counter
a_total{topic="we\"ird\\\n",channel="c"} 3
a_total{topic="t2",channel="c"} 1000000
# HELP b A gauge.
# TYPE b gauge
b 0.25
b{x="inf"} +Inf
# HELP lat_seconds A summary.
# TYPE lat_seconds summary
lat_seconds{topic="t",quantile="0.5"} 0.001
lat_seconds{topic="t",quantile="0.99"} 2
lat_seconds_sum{topic="t"} 3.5
lat_seconds_count{topic="t"} 7
`
	if got := string(w.Bytes()); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}

	fams := parse(t, w.Bytes())
	a := fams["a_total"]
	if a.GetType() != dto.MetricType_COUNTER || len(a.Metric) != 2 ||
		label(a.Metric[0], "topic") != "we\"ird\\\n" || a.Metric[1].GetCounter().GetValue() != 1e6 {
		t.Fatalf("a_total: %v", a)
	}
	s := fams["lat_seconds"].Metric[0].GetSummary()
	if s.GetSampleCount() != 7 || s.GetSampleSum() != 3.5 || len(s.Quantile) != 2 || s.Quantile[1].GetValue() != 2 {
		t.Fatalf("summary: %v", s)
	}
	w.Reset()
	if len(w.Bytes()) != 0 {
		t.Fatal("Reset kept data")
	}
}

func TestAppendValue(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {-3, "-3"}, {1 << 52, "4503599627370496"}, {1 << 60, "1.152921504606847e+18"},
		{0.1, "0.1"}, {math.NaN(), "NaN"}, {math.Inf(-1), "-Inf"}, {1e-9, "1e-09"},
	} {
		if got := string(AppendValue(nil, c.v)); got != c.want {
			t.Errorf("AppendValue(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

// TestRuntimeFamiliesParse: the go_* and process_* families are valid and
// carry plausible values.
func TestRuntimeFamiliesParse(t *testing.T) {
	var w Writer
	w.GoRuntime()
	w.Process()
	fams := parse(t, w.Bytes())
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_threads", "process_start_time_seconds", "process_cpu_seconds_total"} {
		f := fams[name]
		if f == nil || len(f.Metric) != 1 {
			t.Fatalf("%s missing", name)
		}
		var v float64
		if f.GetType() == dto.MetricType_COUNTER {
			v = f.Metric[0].GetCounter().GetValue()
		} else {
			v = f.Metric[0].GetGauge().GetValue()
		}
		if v <= 0 {
			t.Errorf("%s = %v", name, v)
		}
	}
	if gc := fams["go_gc_duration_seconds"]; gc.GetType() != dto.MetricType_SUMMARY || len(gc.Metric[0].GetSummary().Quantile) != 5 {
		t.Errorf("go_gc_duration_seconds: %v", gc)
	}
}
