package report

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench"
	"github.com/nsqfast/nsq/bench/hist"
)

func result(scenario string, rate, p99 float64) *bench.Result {
	r := &bench.Result{Scenario: scenario}
	r.Add("pub_msgs_per_s", rate, "msg/s", bench.HigherIsBetter)
	r.Add("lost", 0, "msgs", "")
	h := hist.New()
	for i := range int64(1000) {
		h.Record(i * int64(p99*1e6) / 990)
	}
	r.AddLatency("delivery", h)
	r.Series = []bench.Series{{Name: "published", Unit: "msg/s", IntervalS: 0.1, T: []float64{0.1, 0.2, 0.3}, Values: []float64{rate, rate * 1.1, rate * 0.9}}}
	return r
}

func sample() *Report {
	r := &Report{
		Version: Version, Started: time.Unix(1700000000, 0), Finished: time.Unix(1700000100, 0),
		Machine: Machine{CPUs: 2, GoVersion: "go1.26"},
		Brokers: []Broker{{Name: "ours", Binary: "bin/nsqd"}, {Name: "upstream", Binary: "/tmp/upstream-nsqd"}},
		Rounds:  3,
	}
	// ours: clearly faster; latency ranges overlap.
	for i, v := range []struct{ a, b, la, lb float64 }{{100, 50, 1, 1.2}, {110, 52, 1.3, 1.1}, {90, 55, 1.2, 1.25}} {
		r.Runs = append(r.Runs,
			Run{Scenario: "pub", Broker: "ours", Round: i + 1, Result: result("pub", v.a, v.la)},
			Run{Scenario: "pub", Broker: "upstream", Round: i + 1, Result: result("pub", v.b, v.lb)})
	}
	r.Runs = append(r.Runs, Run{Scenario: "restart", Broker: "ours", Round: 1, Skipped: "no control"},
		Run{Scenario: "restart", Broker: "upstream", Round: 1, Error: "boom"})
	return r
}

func row(t *testing.T, r *Report, figure string) Row {
	t.Helper()
	for _, row := range r.Summary {
		if row.Figure == figure {
			return row
		}
	}
	t.Fatalf("no row %s", figure)
	return Row{}
}

func TestSummarize(t *testing.T) {
	r := sample()
	r.Summarize()
	pub := row(t, r, "pub_msgs_per_s")
	if pub.Stats[0].Median != 100 || pub.Stats[1].Median != 52 || pub.Stats[0].Min != 90 || pub.Stats[0].Max != 110 {
		t.Fatalf("stats %+v", pub.Stats)
	}
	if pub.Ratio < 1.92 || pub.Ratio > 1.93 || pub.Verdict != "ours 1.92× better" {
		t.Fatalf("ratio %v verdict %q", pub.Ratio, pub.Verdict)
	}
	if v := row(t, r, "delivery_p99_ms").Verdict; v != "within noise" {
		t.Fatalf("overlapping latency verdict %q", v)
	}
	if v := row(t, r, "lost").Verdict; v != "" {
		t.Fatalf("a count got a verdict %q", v)
	}
	// Lower is better: upstream wins when its latency is lower.
	_, v := compare("a", "b", bench.LowerIsBetter, statOf("a", []float64{4, 5}), statOf("b", []float64{1, 2}))
	if v != "b 3.00× better" {
		t.Fatalf("lower-is-better verdict %q", v)
	}
	// Apart, but too close to call.
	if _, v := compare("a", "b", bench.HigherIsBetter, statOf("a", []float64{100, 100.5}), statOf("b", []float64{99, 99.2})); v != "within noise" {
		t.Fatalf("1%% apart: verdict %q", v)
	}
	// One round says nothing about noise.
	if _, v := compare("a", "b", bench.HigherIsBetter, statOf("a", []float64{4}), statOf("b", []float64{1})); v != "" {
		t.Fatalf("single-round verdict %q", v)
	}
}

func TestWriteAndLoad(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Runs) != len(r.Runs) || len(back.Summary) != len(r.Summary) {
		t.Fatal("report changed in a round trip")
	}
	if back.Runs[0].Result.Latency["delivery"].Count() != 1000 {
		t.Fatal("histogram lost in a round trip")
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| pub | pub_msgs_per_s | msg/s | 100 [90–110] | 52 [50–55] | 1.92 | ours 1.92× better |", "pub-throughput.svg", "pub-latency.svg", "**restart on upstream, round 1 failed**: boom", "skipped: no control"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	for _, f := range []string{"pub-throughput.svg", "pub-latency.svg"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		checkSVG(t, data)
	}
}

// checkSVG fails unless data is well-formed XML with an svg root and at
// least one polyline.
func checkSVG(t *testing.T, data []byte) {
	t.Helper()
	var doc struct {
		XMLName   xml.Name
		Polylines []struct {
			Points string `xml:"points,attr"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("SVG is not XML: %v", err)
	}
	if doc.XMLName.Local != "svg" || len(doc.Polylines) == 0 || doc.Polylines[0].Points == "" {
		t.Fatalf("SVG has no lines: %s", data)
	}
}

func TestEmptyChart(t *testing.T) {
	data := plot{title: "empty <&>"}.svg()
	var v any
	if err := xml.Unmarshal(data, &v); err != nil {
		t.Fatalf("empty chart is not XML: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := json.Marshal(func() *Report { r := sample(); r.Summarize(); return r }())
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(r *Report){
		"version":        func(r *Report) { r.Version = 99 },
		"unknown broker": func(r *Report) { r.Runs[0].Broker = "nobody" },
		"duplicate name": func(r *Report) { r.Brokers[1].Name = "ours" },
		"summary":        func(r *Report) { r.Summary = r.Summary[:1] },
	} {
		r := sample()
		r.Summarize()
		mutate(r)
		data, _ := json.Marshal(r)
		if _, err := Decode(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", -1500: "-1,500", 0.0785: "0.0785", 12.345: "12.3", 999: "999"} {
		if got := Num(v); got != want {
			t.Errorf("Num(%v) = %q, want %q", v, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 1500: "1500", 25000: "25k", 2.5e6: "2.5M", 0.25: "0.25"} {
		if got := human(v); got != want {
			t.Errorf("human(%v) = %q, want %q", v, got, want)
		}
	}
	for tt, want := range map[float64]string{0: "0%", 1: "90%", 2: "99%", 3: "99.9%", 4: "99.99%"} {
		if got := percentileLabel(tt); got != want {
			t.Errorf("percentileLabel(%v) = %q, want %q", tt, got, want)
		}
	}
}
