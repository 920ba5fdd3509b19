package suite_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/bench/fake"
	"github.com/nsqfast/nsq/bench/internal/benchtest"
	"github.com/nsqfast/nsq/bench/report"
	"github.com/nsqfast/nsq/bench/scenario"
	"github.com/nsqfast/nsq/bench/suite"
)

// TestCompareRounds runs two brokers over two rounds and checks the
// alternation, the summary and the files.
func TestCompareRounds(t *testing.T) {
	out := t.TempDir()
	var progress strings.Builder
	rep, err := suite.Run(context.Background(), suite.Options{
		Brokers:   []suite.Broker{{Name: "ours", Start: benchtest.OurNSQD(t)}, {Name: "sink", Sink: true}},
		Scenarios: []string{"pub", "restart"},
		Params:    scenario.Params{Duration: 200 * time.Millisecond},
		Rounds:    2,
		Out:       out,
		Progress:  &progress,
		Command:   []string{"nsq_bench", "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rep.Runs {
		order = append(order, r.Scenario+"/"+r.Broker)
	}
	want := "pub/ours pub/sink pub/ours pub/sink restart/ours restart/sink restart/ours restart/sink"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("run order %s, want %s", got, want)
	}
	for _, r := range rep.Runs {
		if r.Scenario == "restart" && r.Skipped == "" {
			t.Errorf("restart of a broker the suite cannot restart was not skipped: %+v", r)
		}
	}
	back, err := report.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, row := range back.Summary {
		if row.Figure == "pub_msgs_per_s" {
			found = true
			if len(row.Stats) != 2 || len(row.Stats[0].Values) != 2 || len(row.Stats[1].Values) != 2 || row.Ratio == 0 {
				t.Errorf("row %+v", row)
			}
		}
	}
	if !found {
		t.Fatal("no pub_msgs_per_s row")
	}
	for _, f := range []string{"report.md", "pub-throughput.svg", "pub-latency.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(progress.String(), "[8/8] restart on sink, round 2/2") {
		t.Errorf("progress:\n%s", progress.String())
	}
}

// TestProfiles captures profiles from a broker that serves the CPU
// profile but not fgprof (as upstream), and from our nsqd, which serves
// both.
func TestProfiles(t *testing.T) {
	sink, err := fake.Start(fake.Options{Generate: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/profile" && r.URL.Query().Get("seconds") == "1" {
			w.Write([]byte("fake profile"))
			return
		}
		http.NotFound(w, r)
	}))
	defer api.Close()
	upstreamLike := func(context.Context) (broker.Target, func() error, error) {
		return broker.Remote{TCP: sink.Addr(), HTTP: strings.TrimPrefix(api.URL, "http://")}, func() error { return nil }, nil
	}
	out := t.TempDir()
	rep, err := suite.Run(context.Background(), suite.Options{
		Brokers:   []suite.Broker{{Name: "ours", Start: benchtest.OurNSQD(t)}, {Name: "up", Start: upstreamLike}},
		Scenarios: []string{"pub"},
		Params:    scenario.Params{Duration: 300 * time.Millisecond},
		Out:       out,
		Profile:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ours, up := rep.Runs[0], rep.Runs[1]
	// Each profile and its flame graph.
	if len(ours.Profiles) != 4 {
		t.Errorf("our nsqd: profiles %v, notes %v", ours.Profiles, ours.Notes)
	}
	if len(up.Profiles) != 1 || !strings.HasSuffix(up.Profiles[0], ".cpu.pprof") {
		t.Errorf("upstream-like: profiles %v", up.Profiles)
	}
	if len(up.Notes) != 1 || !strings.Contains(up.Notes[0], "does not serve /debug/fgprof") {
		t.Errorf("upstream-like: notes %v", up.Notes)
	}
	for _, run := range rep.Runs {
		for _, p := range run.Profiles {
			if fi, err := os.Stat(filepath.Join(out, p)); err != nil || fi.Size() == 0 {
				t.Errorf("profile %s: %v", p, err)
			}
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "## Profiles") {
		t.Error("report.md lists no profiles")
	}
}

// TestPerBrokerArgs: each broker started from a binary gets the common
// flags and then its own (a binary that exits at once: the runs fail, the
// report still says what they were given).
func TestPerBrokerArgs(t *testing.T) {
	rep, err := suite.Run(context.Background(), suite.Options{
		Brokers: []suite.Broker{
			{Name: "ours", Binary: "/bin/false"},
			{Name: "upstream", Binary: "/bin/false", Args: []string{"--mem-queue-size=10000000"}},
		},
		Scenarios:    []string{"pub"},
		Out:          t.TempDir(),
		MemQueueSize: 10000,
		BrokerArgs:   []string{"--max-msg-size=2048"},
	})
	if err == nil || rep == nil || len(rep.Runs) != 2 || rep.Runs[0].Error == "" {
		t.Fatalf("runs of /bin/false: %v %+v", err, rep)
	}
	want := []string{"--tcp-address=127.0.0.1:<free>", "--http-address=127.0.0.1:<free>", "--data-path=<fresh>", "--mem-queue-size=10000", "--max-msg-size=2048"}
	if got := rep.Brokers[0].Args; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ours: %v", got)
	}
	if got := rep.Brokers[1].Args; strings.Join(got, " ") != strings.Join(append(want, "--mem-queue-size=10000000"), " ") {
		t.Errorf("upstream: %v", got)
	}
}
