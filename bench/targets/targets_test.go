package targets_test

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench/internal/benchtest"
	"github.com/nsqfast/nsq/bench/scenario"
	"github.com/nsqfast/nsq/bench/suite"
	"github.com/nsqfast/nsq/bench/targets"
)

// TestRunJudgesEachTarget runs two targets, ours against the sink, over
// two rounds and checks the judgement against the raw figures and the
// files written.
func TestRunJudgesEachTarget(t *testing.T) {
	out := t.TempDir()
	var mpub targets.Target
	for _, tg := range targets.All() {
		if tg.ID == "mpub" {
			mpub = tg
		}
	}
	mpub.Params.Window = 4
	// A lower-is-better target no broker misses: PUB→OK p99 within 1000×
	// of the sink's.
	ack := targets.Target{ID: "ack", What: "PUB acknowledgement p99", Scenario: "pub", Params: scenario.Params{Conns: 2},
		Flags: "--scenarios=pub --conns=2", Figure: "pub_ack_p99_ms", Factor: 0.001}
	s, err := targets.Run(context.Background(), targets.Options{
		Ours:     suite.Broker{Name: "ours", Start: benchtest.OurNSQD(t)},
		Ref:      suite.Broker{Name: "sink", Sink: true},
		Targets:  []targets.Target{mpub, ack},
		Rounds:   2,
		Duration: 200 * time.Millisecond,
		Out:      out,
		Ceiling:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Results) != 2 {
		t.Fatalf("%d results, want 2", len(s.Results))
	}
	for _, r := range s.Results {
		if len(r.Ours.Values) != 2 || len(r.Ref.Values) != 2 {
			t.Fatalf("%s: values %v and %v, want 2 rounds each", r.Target.ID, r.Ours.Values, r.Ref.Values)
		}
		ratio := r.Ours.Median / r.Ref.Median
		want := ratio
		if r.Target.ID == "ack" {
			want = 1 / ratio // lower is better
		}
		if diff := r.Factor/want - 1; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s: factor %v, want %v", r.Target.ID, r.Factor, want)
		}
		// With two rounds the medians are means, and a ratio of sums lies
		// between the per-round ratios.
		if r.Worst > r.Factor*1.0000001 || r.Best < r.Factor*0.9999999 {
			t.Errorf("%s: factor %v outside the per-round range %v–%v", r.Target.ID, r.Factor, r.Worst, r.Best)
		}
		if r.Met != (r.Factor >= r.Target.Factor) {
			t.Errorf("%s: met=%v with factor %v of %v", r.Target.ID, r.Met, r.Factor, r.Target.Factor)
		}
		if r.EveryRound && r.Worst < r.Target.Factor {
			t.Errorf("%s: every round met with worst %v", r.Target.ID, r.Worst)
		}
	}
	if c := s.Results[0].Ceiling; c == nil || len(c.Values) != 2 || c.Median <= 0 {
		t.Errorf("mpub ceiling %+v, want two sink rounds", c)
	}
	if !s.Results[1].Met || !s.Results[1].EveryRound {
		t.Errorf("ack target (factor 0.001) not met: %+v", s.Results[1])
	}

	back, err := targets.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 2 || back.Results[0].Factor != s.Results[0].Factor {
		t.Errorf("targets.json round trip: %+v", back.Results)
	}
	md, err := os.ReadFile(filepath.Join(out, "targets.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| MPUB publish, 200 B × 200 per batch | `--scenarios=mpub --window=64` | pub_msgs_per_s (msg/s) |", "## The load client's own ceiling", "[ack](ack/report.md)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("targets.md lacks %q:\n%s", want, md)
		}
	}
	svg, err := os.ReadFile(filepath.Join(out, "targets.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Errorf("targets.svg is not XML: %v", err)
	}
	for _, dir := range []string{"mpub", "ack", "mpub-sink"} {
		if _, err := os.Stat(filepath.Join(out, dir, "report.json")); err != nil {
			t.Errorf("no report for %s: %v", dir, err)
		}
	}
}

// TestRunFlagsAViolation: a figure that must be zero and is not fails the
// target whatever its factor.
func TestRunFlagsAViolation(t *testing.T) {
	out := t.TempDir()
	tg := targets.Target{ID: "pub", What: "PUB", Scenario: "pub", Params: scenario.Params{Conns: 1},
		Flags: "--scenarios=pub", Figure: "pub_msgs_per_s", Factor: 0.000001, MustBeZero: []string{"pub_msgs_per_s"}}
	s, err := targets.Run(context.Background(), targets.Options{
		Ours:     suite.Broker{Name: "ours", Start: benchtest.OurNSQD(t)},
		Ref:      suite.Broker{Name: "sink", Sink: true},
		Targets:  []targets.Target{tg},
		Rounds:   1,
		Duration: 100 * time.Millisecond,
		Out:      out,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Results[0]
	if r.Met || r.EveryRound || len(r.Violations) != 1 {
		t.Errorf("met=%v every_round=%v violations=%v, want a failed target with one violation", r.Met, r.EveryRound, r.Violations)
	}
}
