package sweep_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench/internal/benchtest"
	"github.com/nsqfast/nsq/bench/sweep"
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchtest.RemoveBinaries()
	os.Exit(code)
}

// TestSmoke runs tiny sweeps against our nsqd binary: each point starts
// the broker, measures it, stops it; the points merge into one JSON file
// and its charts. Only counts are asserted, never a rate.
func TestSmoke(t *testing.T) {
	bin := benchtest.NSQDBinary(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := func(curve string, points ...int64) *sweep.Sweep {
		t.Helper()
		c, ok := sweep.CurveByName(curve)
		if !ok {
			t.Fatalf("no curve %s", curve)
		}
		s, err := sweep.Run(ctx, sweep.Options{Curve: c, Points: points, Out: out, Label: "test",
			Duration: 200 * time.Millisecond, Brokers: []sweep.Broker{{Name: "ours", Binary: bin}}})
		if err != nil {
			t.Fatalf("%s: %v", curve, err)
		}
		return s
	}
	run("topics", 1)
	s := run("topics", 3) // merged with the first run
	if len(s.Points) != 2 || s.Points[0].X != 1 || s.Points[1].X != 3 {
		t.Fatalf("points %+v", s.Points)
	}
	for _, p := range s.Points {
		for _, f := range []string{"rss_mib", "open_files", "disk_kib", "pub_msgs_per_s", "rss_peak_mib"} {
			if v, ok := p.Figure(f); !ok || v <= 0 {
				t.Errorf("topics %d: %s = %v, %v", p.X, f, v, ok)
			}
		}
	}
	s = run("backlog", 1000)
	p := s.Points[0]
	for f, want := range map[string]float64{"backlog": 1000, "lost": 0, "duplicates": 0} {
		if v, ok := p.Figure(f); !ok || v != want {
			t.Errorf("backlog: %s = %v, %v; want %v", f, v, ok, want)
		}
	}
	if len(s.Brokers) != 1 || len(s.Brokers[0].Args) != 1 || s.Brokers[0].Args[0] != "--mem-queue-size=0" {
		t.Errorf("backlog brokers %+v", s.Brokers)
	}
	s = run("conns", 5)
	if v, ok := s.Points[0].Figure("conns"); !ok || v != 5 {
		t.Errorf("conns = %v, %v", v, ok)
	}
	for _, f := range []string{"topics.json", "topics.md", "topics-rss.svg", "topics-files.svg", "backlog-rss.svg", "conns-connect.svg"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Every data path is gone.
	if ents, err := os.ReadDir(filepath.Join(out, "data")); err != nil || len(ents) != 0 {
		t.Errorf("data left: %v %v", ents, err)
	}
}
