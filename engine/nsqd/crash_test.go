package nsqd

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/wire"
)

const (
	childEnv            = "NSQD_TEST_CHILD_DATA"
	childSyncEnv        = "NSQD_TEST_CHILD_SYNC"
	childNodeEnv        = "NSQD_TEST_CHILD_NODE"
	childMaxAttemptsEnv = "NSQD_TEST_CHILD_MAX_ATTEMPTS"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChild(dir)
		return
	}
	os.Exit(m.Run())
}

// runChild is an nsqd in a subprocess, for kill -9 tests: it prints its
// addresses and serves until killed (or SIGTERM).
func runChild(dir string) {
	o := NewOptions()
	o.TCPAddress = "127.0.0.1:0"
	o.HTTPAddress = "127.0.0.1:0"
	o.DataPath = dir
	o.LogOutput = io.Discard
	o.SyncTimeout = 200 * time.Millisecond
	if d, err := time.ParseDuration(os.Getenv(childSyncEnv)); err == nil {
		o.SyncTimeout = d
	}
	if id, err := strconv.ParseInt(os.Getenv(childNodeEnv), 10, 64); err == nil {
		o.ID = id
	}
	if n, err := strconv.Atoi(os.Getenv(childMaxAttemptsEnv)); err == nil {
		o.MaxAttempts = n
	}
	n, err := New(o)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	if err := n.Main(); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Printf("READY %s %s\n", n.TCPAddr(), n.HTTPAddr())
	sig := make(chan os.Signal, 1)
	signalNotify(sig)
	<-sig
	n.Exit()
	os.Exit(0)
}

type child struct {
	cmd       *exec.Cmd
	tcp, http string
}

func startChild(t *testing.T, dir string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+dir), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not start: %q %v", line, err)
	}
	f := strings.Fields(line)
	c := &child{cmd: cmd, tcp: f[1], http: f[2]}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return c
}

func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// TestCrashLosesNothing publishes N messages with go-nsq (each
// acknowledged), consumes part of them, kills the broker with SIGKILL
// mid-consumption, restarts it on the same data path and checks that every
// one of the N is delivered at least once across both runs.
func TestCrashLosesNothing(t *testing.T) {
	const N = 20000
	dir := t.TempDir()
	c1 := startChild(t, dir)

	p, err := gonsq.NewProducer(c1.tcp, gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	batch := make([][]byte, 0, 100)
	for i := 0; i < N; i++ {
		batch = append(batch, []byte(fmt.Sprintf("msg-%06d", i)))
		if len(batch) == cap(batch) {
			if err := p.MultiPublish("crash", batch); err != nil {
				t.Fatalf("publish: %v", err)
			}
			batch = batch[:0]
		}
	}
	// A second channel that nobody consumes must also keep everything.
	if err := p.Publish("crash", []byte("extra")); err != nil {
		t.Fatal(err)
	}
	p.Stop()

	var mu sync.Mutex
	seen := map[string]bool{}
	record := func(m *gonsq.Message) error {
		mu.Lock()
		seen[string(m.Body)] = true
		mu.Unlock()
		return nil
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	consume := func(addr string) *gonsq.Consumer {
		cfg := gonsq.NewConfig()
		cfg.MaxInFlight = 200
		cons, err := gonsq.NewConsumer("crash", "ch", cfg)
		if err != nil {
			t.Fatal(err)
		}
		cons.SetLogger(quietLogger())
		cons.AddHandler(gonsq.HandlerFunc(record))
		if err := cons.ConnectToNSQD(addr); err != nil {
			t.Fatal(err)
		}
		return cons
	}
	cons := consume(c1.tcp)
	waitFor(t, "some consumed", func() bool { return count() >= N/4 })
	c1.kill9(t)
	cons.Stop()
	<-cons.StopChan
	before := count()
	if before >= N+1 {
		t.Logf("everything was consumed before the kill; the test still checks the restart")
	}

	c2 := startChild(t, dir)
	cons2 := consume(c2.tcp)
	defer func() { cons2.Stop(); <-cons2.StopChan }()
	waitFor(t, "every message delivered at least once", func() bool { return count() == N+1 })
	t.Logf("consumed %d before kill -9, the rest after restart", before)
}

// TestRequeueDelaySurvivesKill9: a REQ with a delay made just before
// kill -9 (long before any checkpoint) is neither lost nor delivered early
// after the restart.
func TestRequeueDelaySurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	c1 := startChild(t, dir, childSyncEnv+"=1h")
	conn := dialAddr(t, c1.tcp)
	conn.subscribe("reqkill", "ch", 1)
	p := dialAddr(t, c1.tcp)
	p.cmdBody("PUB reqkill", []byte("later"))
	p.expectResponse("OK")
	m := conn.readMessage()
	reqAt := time.Now()
	conn.cmd("REQ " + string(m.ID[:]) + " 3000")
	conn.cmd("FIN 0123456789abcdef") // its answer proves the REQ was processed
	conn.expectError("E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight")
	c1.kill9(t)

	c2 := startChild(t, dir, childSyncEnv+"=1h")
	conn2 := dialAddr(t, c2.tcp)
	conn2.subscribe("reqkill", "ch", 1)
	m2 := conn2.readMessage()
	if el := time.Since(reqAt); el < 3*time.Second {
		t.Fatalf("requeued message delivered %s after REQ with a 3s delay", el)
	}
	if string(m2.Body) != "later" || m2.ID != m.ID || m2.Attempts != 2 {
		t.Fatalf("got %q id %s attempts %d", m2.Body, m2.ID[:], m2.Attempts)
	}
}

func dialAddr(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: t, conn: c, r: bufio.NewReader(c)}
	rc.write([]byte(wire.MagicV2))
	return rc
}
