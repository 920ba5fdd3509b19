package sweep

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/bench"
)

func TestParsePoints(t *testing.T) {
	for in, want := range map[string][]int64{
		"1,100,1000,10000":        {1, 100, 1000, 10000},
		"1k, 10k,50k":             {1000, 10000, 50000},
		"1M,10M,50M":              {1_000_000, 10_000_000, 50_000_000},
		"100,1Ki,64KiB,1Mi":       {100, 1024, 65536, 1 << 20},
		"100B,1KiB,64KiB,1MiB,1G": {100, 1024, 65536, 1 << 20, 1_000_000_000},
	} {
		got, err := ParsePoints(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePoints(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-5", "1,,2", "ten", "1.5k", "9999999999G", "1Ti"} {
		if got, err := ParsePoints(bad); err == nil {
			t.Errorf("ParsePoints(%q) = %v, want an error", bad, got)
		}
	}
}

func TestFormatX(t *testing.T) {
	for _, c := range []struct {
		v     float64
		bytes bool
		want  string
	}{
		{1, false, "1"}, {256, false, "256"}, {1000, false, "1k"}, {1500, false, "1500"}, {10000, false, "10k"},
		{50_000_000, false, "50M"}, {1234, false, "1234"},
		{100, true, "100 B"}, {1024, true, "1 KiB"}, {65536, true, "64 KiB"}, {1 << 20, true, "1 MiB"}, {1000, true, "1000 B"},
	} {
		if got := FormatX(c.v, c.bytes); got != c.want {
			t.Errorf("FormatX(%v, %v) = %q, want %q", c.v, c.bytes, got, c.want)
		}
	}
}

func pt(broker string, x int64, figs map[string]float64) Point {
	p := Point{Broker: broker, X: x}
	for n, v := range figs {
		p.Figures = append(p.Figures, bench.Figure{Name: n, Value: v})
	}
	return p
}

// TestMergeAndSeries: a later run replaces the points it measured and
// keeps the others; series are in x order without failed points.
func TestMergeAndSeries(t *testing.T) {
	s := &Sweep{Curve: "topics"}
	s.setBroker(BrokerInfo{Name: "ours", Binary: "/a"})
	s.setBroker(BrokerInfo{Name: "upstream", Binary: "/b"})
	s.setBroker(BrokerInfo{Name: "ours", Binary: "/c"})
	if len(s.Brokers) != 2 || s.Brokers[0].Binary != "/c" {
		t.Fatalf("brokers %+v", s.Brokers)
	}
	s.setPoint(pt("ours", 1000, map[string]float64{"rss_mib": 30}))
	s.setPoint(pt("ours", 1, map[string]float64{"rss_mib": 10}))
	s.setPoint(pt("upstream", 1, map[string]float64{"rss_mib": 9}))
	s.setPoint(pt("ours", 100, map[string]float64{"rss_mib": 20}))
	s.setPoint(pt("ours", 1000, map[string]float64{"rss_mib": 31})) // measured again
	failed := pt("upstream", 100, map[string]float64{"rss_mib": 5})
	failed.Error = "boom"
	s.setPoint(failed)
	if len(s.Points) != 5 {
		t.Fatalf("%d points, want 5", len(s.Points))
	}
	xs, ys := s.series("ours", "rss_mib")
	if !reflect.DeepEqual(xs, []float64{1, 100, 1000}) || !reflect.DeepEqual(ys, []float64{10, 20, 31}) {
		t.Errorf("ours: %v %v", xs, ys)
	}
	xs, ys = s.series("upstream", "rss_mib")
	if !reflect.DeepEqual(xs, []float64{1}) || !reflect.DeepEqual(ys, []float64{9}) {
		t.Errorf("upstream: %v %v", xs, ys)
	}
	if got := s.xs(); !reflect.DeepEqual(got, []int64{1, 100, 1000}) {
		t.Errorf("xs %v", got)
	}
	md := string(s.Markdown())
	for _, want := range []string{"| 1 | 10 | 9 | 1.11× |", "| 100 | 20 | 5 (failed) | – |", "| 1k | 31 | – | – |", "upstream at 100: boom"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestCharts: every chart of a curve, a line per broker and figure with a
// dot per point, ours and upstream on one plot.
func TestCharts(t *testing.T) {
	s := &Sweep{Curve: "backlog", Label: "main@abc"}
	s.setBroker(BrokerInfo{Name: "ours"})
	s.setBroker(BrokerInfo{Name: "upstream"})
	for _, x := range []int64{1_000_000, 10_000_000} {
		for _, b := range []string{"ours", "upstream"} {
			s.setPoint(pt(b, x, map[string]float64{"fill_rss_peak_mib": 10, "drain_rss_peak_mib": 20,
				"fill_msgs_per_s": 1e5, "drain_msgs_per_s": 2e5, "start_s": 0.5, "stop_s": 0.1}))
		}
	}
	charts := s.Charts()
	c, _ := CurveByName("backlog")
	if len(charts) != len(c.Charts) {
		t.Fatalf("%d charts, want %d", len(charts), len(c.Charts))
	}
	for _, ch := range charts {
		if !strings.HasPrefix(ch.File, "backlog-") || !strings.HasSuffix(ch.File, ".svg") {
			t.Errorf("file %q", ch.File)
		}
		// 2 brokers × 2 figures, 2 points each.
		if n := bytes.Count(ch.SVG, []byte("<polyline")); n != 4 {
			t.Errorf("%s: %d lines, want 4", ch.File, n)
		}
		if n := bytes.Count(ch.SVG, []byte("<circle")); n != 8 {
			t.Errorf("%s: %d dots, want 8", ch.File, n)
		}
		for _, want := range []string{"ours, writing", "upstream, draining", "(main@abc)", ">1M<", ">10M<"} {
			if ch.File == "backlog-rss.svg" && !bytes.Contains(ch.SVG, []byte(want)) {
				t.Errorf("%s lacks %q", ch.File, want)
			}
		}
	}
	if (&Sweep{Curve: "nope"}).Charts() != nil {
		t.Error("charts for an unknown curve")
	}
}

// TestCurves: every curve has points, charts whose figures are named and
// a runner, and the names are unique.
func TestCurves(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Curves() {
		if seen[c.Name] || c.run == nil || len(c.Points) == 0 || len(c.Charts) == 0 {
			t.Errorf("curve %+v", c.Name)
		}
		seen[c.Name] = true
		for _, ch := range c.Charts {
			if len(ch.Figures) == 0 || (len(ch.Labels) > 0 && len(ch.Labels) != len(ch.Figures)) {
				t.Errorf("%s chart %s: figures %v labels %v", c.Name, ch.File, ch.Figures, ch.Labels)
			}
		}
	}
	if !reflect.DeepEqual(Names(), []string{"channels", "topics", "conns", "size", "backlog"}) {
		t.Errorf("names %v", Names())
	}
}

func TestParseSyscw(t *testing.T) {
	doc := "rchar: 6976\nwchar: 0\nsyscr: 10\nsyscw: 12345\nread_bytes: 0\n"
	if n, err := parseSyscw([]byte(doc)); err != nil || n != 12345 {
		t.Errorf("parseSyscw = %d, %v", n, err)
	}
	for _, bad := range []string{"", "syscr: 10\n", "syscw: x\n"} {
		if n, err := parseSyscw([]byte(bad)); err == nil {
			t.Errorf("parseSyscw(%q) = %d, want an error", bad, n)
		}
	}
}
