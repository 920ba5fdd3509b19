package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/bench/flame"
	"github.com/nsqfast/nsq/bench/targets"

	"github.com/nsqfast/nsq/bench/report"
)

func TestRunAgainstSink(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"--sink", "--scenarios=pub,sub", "--duration=200ms", "--backlog=2000", "--out=" + out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	r, err := report.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Brokers[0].Name != "sink" || len(r.Runs) != 2 || r.Runs[1].Result == nil {
		t.Fatalf("report %+v", r)
	}
	if !strings.Contains(stdout.String(), "pub_msgs_per_s") || !strings.Contains(stdout.String(), "report.md") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "[2/2] sub on sink") {
		t.Fatalf("no progress:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "report.md")); err != nil {
		t.Fatal(err)
	}
	// Rendered again from report.json.
	os.Remove(filepath.Join(out, "report.md"))
	stdout.Reset()
	if code := run(context.Background(), []string{"report", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "report.md")); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"report"}, &stdout, &stderr); code != 2 {
		t.Fatalf("report without a folder: exit %d", code)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--sink", "--nsqd-tcp-address=127.0.0.1:1"},
		{"--sink", "--ref-nsqd=/bin/true"},
		{"--sink", "--scenarios=pub,nope"},
		{"--sink", "--size=4"},
		{"--nsqd-bin=/bin/true", "--ref-nsqd=/bin/true", "--ref-name=ours"},
		{"--no-such-flag"},
	} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	// An argument that is no command is named, not taken for a missing
	// broker flag.
	var stderr strings.Builder
	if code := run(context.Background(), []string{"--sink", "run", "--scenarios=pub"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), `unexpected argument "run"`) {
		t.Errorf("stray argument: exit %d, %q", code, stderr.String())
	}
}

func TestFlame(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "heap.pprof")
	f, err := os.Create(prof)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"flame", "--title=heap", prof}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "<svg") || !strings.Contains(stdout.String(), ">heap</text>") {
		t.Fatalf("output %.200s", stdout.String())
	}
	if code := run(context.Background(), []string{"flame", filepath.Join(dir, "missing")}, &stdout, &stderr); code != 1 {
		t.Fatalf("missing file: exit %d", code)
	}
	if code := run(context.Background(), []string{"flame"}, &stdout, &stderr); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}

	// where: the same profile by kind of work; every category, other and
	// the total are listed.
	stdout.Reset()
	if code := run(context.Background(), []string{"where", "--index=1", prof}, &stdout, &stderr); code != 0 {
		t.Fatalf("where: exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1+len(flame.BrokerCategories)+2 || !strings.HasPrefix(lines[len(lines)-1], "total") || !strings.HasPrefix(lines[len(lines)-2], "other") {
		t.Fatalf("where printed:\n%s", stdout.String())
	}
	if code := run(context.Background(), []string{"where", filepath.Join(dir, "missing")}, &stdout, &stderr); code != 1 {
		t.Fatalf("where, missing file: exit %d", code)
	}
}

// TestTargetsRender: targets --render writes targets.md and targets.svg
// again from a folder's targets.json; bad usage exits 2.
func TestTargetsRender(t *testing.T) {
	dir := t.TempDir()
	s := &targets.Summary{Rounds: 1, Brokers: [2]report.Broker{{Name: "ours"}, {Name: "upstream"}},
		Results: []targets.Result{{Target: targets.All()[0], Factor: 4, Met: true}}}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "targets.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"targets", "--render=" + dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "targets.md"))
	if err != nil || !strings.Contains(string(md), "| MPUB publish, 200 B × 200 per batch |") {
		t.Fatalf("targets.md (%v):\n%s", err, md)
	}
	if _, err := os.Stat(filepath.Join(dir, "targets.svg")); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"targets", "--nsqd-bin=x"}, &stdout, &stderr); code != 2 {
		t.Fatalf("no --ref-nsqd: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"targets", "--nsqd-bin=x", "--ref-nsqd=y", "--only=nope"}, &stdout, &stderr); code != 2 {
		t.Fatalf("unknown target: exit %d, want 2", code)
	}
}

// TestSweepUsageAndRender: sweep's usage errors exit 2; --render draws a
// folder's charts and table again from its JSON.
func TestSweepUsageAndRender(t *testing.T) {
	for _, args := range [][]string{
		{"sweep"},
		{"sweep", "--curve=nope", "--nsqd-bin=x"},
		{"sweep", "--curve=topics"},
		{"sweep", "--curve=topics", "--nsqd-bin=x", "--points=0"},
		{"sweep", "--curve=all", "--nsqd-bin=x", "--points=1"},
		{"sweep", "--curve=topics", "--nsqd-bin=x", "--ref-nsqd=y", "--ref-name=ours"},
	} {
		var stderr strings.Builder
		if code := run(context.Background(), args, io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	dir := t.TempDir()
	doc := `{"curve":"topics","label":"main@abc","brokers":[{"name":"ours"},{"name":"upstream"}],"points":[
		{"broker":"ours","x":100,"figures":[{"name":"open_files","value":220}]},
		{"broker":"upstream","x":100,"figures":[{"name":"open_files","value":11}]}]}`
	if err := os.WriteFile(filepath.Join(dir, "topics.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	if code := run(context.Background(), []string{"sweep", "--curve=topics", "--render", "--out=" + dir}, io.Discard, &stderr); code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "topics.md"))
	if err != nil || !strings.Contains(string(md), "| 100 | 220 | 11 | 20.00× |") {
		t.Fatalf("topics.md (%v):\n%s", err, md)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "topics-files.svg"))
	if err != nil || !strings.Contains(string(svg), "upstream") || !strings.Contains(string(svg), "main@abc") {
		t.Fatalf("topics-files.svg (%v):\n%s", err, svg)
	}
	// all renders what exists and passes over the rest.
	if code := run(context.Background(), []string{"sweep", "--curve=all", "--render", "--out=" + dir}, io.Discard, &stderr); code != 0 {
		t.Fatalf("render all: exit %d: %s", code, stderr.String())
	}
	if code := run(context.Background(), []string{"sweep", "--curve=conns", "--render", "--out=" + dir}, io.Discard, &stderr); code != 1 {
		t.Fatalf("render of a curve never run: exit %d, want 1", code)
	}
}
