package broker_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nsqfast/nsq/bench/broker"
	"github.com/nsqfast/nsq/bench/internal/benchtest"
	"github.com/nsqfast/nsq/bench/scenario"
)

// ourBinary is the nsqd binary the tests start.
func ourBinary(t *testing.T) string { return benchtest.NSQDBinary(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	benchtest.RemoveBinaries()
	os.Exit(code)
}

func TestStartRestartStop(t *testing.T) {
	bin := ourBinary(t)
	ctx := context.Background()
	p, err := broker.Start(ctx, broker.Options{Binary: bin, DataDir: t.TempDir(), MemQueueSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	data := p.DataPath()
	if err := broker.Ping(ctx, p.HTTPAddr()); err != nil {
		t.Fatal(err)
	}
	s, err := broker.Stats(ctx, p.HTTPAddr(), true)
	if err != nil || s.Memory == nil {
		t.Fatalf("stats: %v %+v", err, s)
	}
	m, err := broker.ProcMemory(p.PID())
	if err != nil || m.RSS <= 0 || m.Peak < m.RSS {
		t.Fatalf("memory %+v: %v", m, err)
	}
	for _, kill := range []bool{false, true} {
		pid := p.PID()
		r, err := p.Restart(ctx, kill)
		if err != nil {
			t.Fatal(err)
		}
		if p.PID() == pid || r.Start <= 0 {
			t.Fatalf("restart (kill %v): pid %d -> %d, %+v", kill, pid, p.PID(), r)
		}
		if err := broker.Ping(ctx, p.HTTPAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("data path left behind: %v", err)
	}
	if broker.Ping(ctx, p.HTTPAddr()) == nil {
		t.Fatal("still answering after Stop")
	}
}

func TestStartFailure(t *testing.T) {
	bin := ourBinary(t)
	_, err := broker.Start(context.Background(), broker.Options{Binary: bin, DataDir: t.TempDir(), Args: []string{"--no-such-flag"}, StartTimeout: 10 * time.Second})
	if err == nil {
		t.Fatal("started with a bad flag")
	}
	if _, err := broker.Start(context.Background(), broker.Options{}); err == nil {
		t.Fatal("started without a binary")
	}
}

func TestVersion(t *testing.T) {
	if v := broker.Version(ourBinary(t)); len(v) < 5 || v[:5] != "nsqd " {
		t.Fatalf("version %q", v)
	}
}

// TestRestartKillLosesNothing is the black-box check of durability the
// restart scenario reports: a backlog, kill -9, restart, every message
// delivered again.
func TestRestartKillLosesNothing(t *testing.T) {
	p, err := broker.Start(context.Background(), broker.Options{Binary: ourBinary(t), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	r, err := scenario.Run(context.Background(), "restart", scenario.Env{Target: p, Params: scenario.Params{
		Backlog: 5000, Kill: true, Duration: 300 * time.Millisecond, Timeout: 30 * time.Second,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := r.Figure("lost"); f.Value != 0 {
		t.Fatalf("lost %v messages across kill -9: %v", f.Value, r.Notes)
	}
}
