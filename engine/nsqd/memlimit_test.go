package nsqd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"
)

// memoryCgroupRoot is the cgroup v1 memory controller's mount.
const memoryCgroupRoot = "/sys/fs/cgroup/memory"

// TestMemoryLimitedBacklog runs nsqd (the real binary, built without the
// race detector, whose shadow memory would not fit) in a memory cgroup of
// 64 MiB, publishes a 192 MiB backlog and drains it: the written log's
// pages must leave nsqd, so the kernel reclaims them instead of killing
// it. No OOM kill, every message delivered once. Skipped where there is
// no writable cgroup v1 memory controller (not root, or cgroup v2 only).
func TestMemoryLimitedBacklog(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nsqd and writes 192 MiB")
	}
	const (
		limit   = 64 << 20
		msgSize = 1024
		perMPUB = 1000
		mpubs   = 192 // 192 MiB: three times the limit
	)
	cg := filepath.Join(memoryCgroupRoot, fmt.Sprintf("nsqd-test-%d", os.Getpid()))
	if err := os.Mkdir(cg, 0o755); err != nil {
		t.Skipf("no writable cgroup v1 memory controller at %s (%v): skipped", memoryCgroupRoot, err)
	}
	t.Cleanup(func() { _ = os.Remove(cg) }) // after the process is gone (cleanups run last-first)
	if err := os.WriteFile(filepath.Join(cg, "memory.limit_in_bytes"), []byte(strconv.Itoa(limit)), 0); err != nil {
		t.Skipf("cannot set a memory limit: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "nsqd")
	build := exec.Command("go", "build", "-o", bin, "github.com/nsqfast/nsq/cmd/nsqd")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()
	n := startProcess(t, exec.Command("sh", "-c", `echo $$ > "$0"/cgroup.procs && exec "$@"`, cg, bin,
		"--data-path="+data, "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"))

	n.post(t, "/topic/create?topic=big")
	n.post(t, "/channel/create?topic=big&channel=c")
	p, err := gonsq.NewProducer(n.tcp, gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	defer p.Stop()
	batch := make([][]byte, perMPUB)
	for i := 0; i < mpubs; i++ {
		for j := range batch {
			b := make([]byte, msgSize)
			copy(b, fmt.Sprintf("%06d", i*perMPUB+j))
			batch[j] = b
		}
		if err := p.MultiPublish("big", batch); err != nil {
			t.Fatalf("MPUB %d: %v", i, err)
		}
	}

	const total = mpubs * perMPUB
	seen := make([]atomic.Bool, total)
	var got, dup atomic.Int64
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 1000
	c, err := gonsq.NewConsumer("big", "c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quietLogger())
	c.AddHandler(gonsq.HandlerFunc(func(m *gonsq.Message) error {
		i, err := strconv.Atoi(string(m.Body[:6]))
		if err != nil || i >= total {
			return nil
		}
		if seen[i].Swap(true) {
			dup.Add(1)
		} else {
			got.Add(1)
		}
		return nil
	}))
	if err := c.ConnectToNSQD(n.tcp); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	deadline := time.Now().Add(5 * time.Minute)
	for got.Load() < total {
		select {
		case <-n.exited:
			t.Fatalf("nsqd exited after %d of %d messages: %v (%s)", got.Load(), total, n.err, oomLine(cg))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered", got.Load(), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if o := oomLine(cg); o != "oom_kill 0" {
		t.Fatalf("memory cgroup: %s", o)
	}
	maxUsage, _ := os.ReadFile(filepath.Join(cg, "memory.max_usage_in_bytes"))
	t.Logf("%d messages (%d MiB) through a %d MiB cgroup; its peak usage %s bytes; %d delivered twice",
		total, total*msgSize>>20, limit>>20, strings.TrimSpace(string(maxUsage)), dup.Load())
}

// oomLine is the cgroup's "oom_kill N" line (kernels before 4.13 have none).
func oomLine(cg string) string {
	b, _ := os.ReadFile(filepath.Join(cg, "memory.oom_control"))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "oom_kill ") {
			return l
		}
	}
	return "oom_kill 0"
}
