package nsqd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire/lg/lgtest"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/engine/migrate"
	"github.com/nsqfast/nsq/wire"
)

// collector is a go-nsq handler that records each body and the attempts
// it arrived with.
type collector struct {
	mu       sync.Mutex
	attempts map[string][]uint16 // body -> attempts of each delivery
	total    int
}

func newCollector() *collector { return &collector{attempts: map[string][]uint16{}} }

func (c *collector) HandleMessage(m *gonsq.Message) error {
	c.mu.Lock()
	c.attempts[string(m.Body)] = append(c.attempts[string(m.Body)], m.Attempts)
	c.total++
	c.mu.Unlock()
	return nil
}

func (c *collector) count() (distinct, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.attempts), c.total
}

// consume subscribes to topic/channel and returns the collector; the
// consumer stops when the test ends.
func consume(t *testing.T, n *NSQD, topic, channel string) *collector {
	t.Helper()
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 100
	c := newCollector()
	newConsumer(t, n, topic, channel, cfg, c)
	return c
}

// expectExactly waits until c holds every body of want, then until the
// channel has nothing left to deliver, and checks that each body came
// exactly once and nothing else came.
func expectExactly(t *testing.T, n *NSQD, c *collector, topic, channel string, want []string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s/%s to deliver %d messages", topic, channel, len(want)), func() bool {
		d, _ := c.count()
		return d >= len(want)
	})
	waitFor(t, topic+"/"+channel+" to drain", func() bool {
		depth, inflight, deferred, _, ok := channelStat(t, n, topic, channel)
		return ok && depth == 0 && inflight == 0 && deferred == 0
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for b, a := range c.attempts {
		got = append(got, b)
		if len(a) != 1 {
			t.Errorf("%s/%s: %q delivered %d times", topic, channel, b, len(a))
		}
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("%s/%s delivered %d messages, want %d\n got %q\nwant %q", topic, channel, len(got), len(want), got, want)
	}
}

func upstreamMsgs(prefix string, n int, attempts uint16) []migrate.UpstreamMessage {
	out := make([]migrate.UpstreamMessage, n)
	for i := range out {
		out[i] = migrate.UpstreamMessage{Timestamp: time.Now().UnixNano(), Attempts: attempts, Body: []byte(fmt.Sprintf("%s-%d", prefix, i))}
		copy(out[i].ID[:], fmt.Sprintf("%016x", i))
	}
	return out
}

func bodiesOf(ms ...[]migrate.UpstreamMessage) []string {
	var out []string
	for _, m := range ms {
		for _, x := range m {
			out = append(out, string(x.Body))
		}
	}
	return out
}

// TestMigrateFromUpstream: an upstream data path written by our writer of
// upstream's format is imported when nsqd starts on it, and served: each
// channel delivers its own backlog and the topic's, exactly once, with the
// stored attempts; paused topics and channels stay paused until unpaused.
func TestMigrateFromUpstream(t *testing.T) {
	dir := t.TempDir()
	orders := upstreamMsgs("orders", 150, 0)
	billing := upstreamMsgs("billing", 40, 1)
	audit := upstreamMsgs("audit", 6, 0)
	held, heldC := upstreamMsgs("held", 10, 0), upstreamMsgs("held-c", 4, 3)
	lonely := upstreamMsgs("lonely", 25, 0)
	md := migrate.UpstreamMetadata{Topics: []migrate.UpstreamTopic{
		{Name: "orders", Channels: []migrate.UpstreamChannel{{Name: "billing"}, {Name: "audit", Paused: true}}},
		{Name: "held", Paused: true, Channels: []migrate.UpstreamChannel{{Name: "c"}}},
		{Name: "lonely"},
	}}
	queues := map[string]migrate.UpstreamQueue{
		// Small files, and read positions inside them.
		"orders":         {Consumed: upstreamMsgs("orders-done", 30, 0), Backlog: orders},
		"orders:billing": {Consumed: upstreamMsgs("billing-done", 5, 1), Backlog: billing},
		"orders:audit":   {Backlog: audit},
		"held":           {Backlog: held},
		"held:c":         {Backlog: heldC},
		"lonely":         {Backlog: lonely},
	}
	if err := migrate.WriteUpstream(dir, md, 2048, queues); err != nil {
		t.Fatal(err)
	}
	logs := &lgtest.Buffer{}
	n := startNSQD(t, func(o *Options) {
		o.DataPath = dir
		o.MaxBytesPerFile = 8192
		o.LogOutput = logs
	})
	if want := "MIGRATE: imported 3 topic(s), 3 channel(s), 235 message(s)"; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs)
	}

	c := consume(t, n, "orders", "billing")
	expectExactly(t, n, c, "orders", "billing", bodiesOf(billing, orders))
	for _, m := range billing {
		if a := c.attempts[string(m.Body)]; a[0] != 2 {
			t.Fatalf("%s arrived with attempts %d, want 2 (1 stored by upstream)", m.Body, a[0])
		}
	}

	// A paused channel holds its backlog until unpaused.
	if depth, _, _, _, _ := channelStat(t, n, "orders", "audit"); depth != int64(len(audit)+len(orders)) {
		t.Fatalf("orders/audit depth %d, want %d", depth, len(audit)+len(orders))
	}
	c = consume(t, n, "orders", "audit")
	if code, body := httpPost(t, n, "/channel/unpause?topic=orders&channel=audit", ""); code != 200 {
		t.Fatalf("unpause: %d %s", code, body)
	}
	expectExactly(t, n, c, "orders", "audit", bodiesOf(audit, orders))

	// A paused topic: the channel delivers its own backlog, and the topic's
	// once the topic is unpaused.
	c = consume(t, n, "held", "c")
	expectExactly(t, n, c, "held", "c", bodiesOf(heldC))
	c.mu.Lock()
	c.attempts, c.total = map[string][]uint16{}, 0
	c.mu.Unlock()
	if code, body := httpPost(t, n, "/topic/unpause?topic=held", ""); code != 200 {
		t.Fatalf("unpause: %d %s", code, body)
	}
	expectExactly(t, n, c, "held", "c", bodiesOf(held))

	// A topic with no channel keeps its backlog for the first one.
	c = consume(t, n, "lonely", "first")
	expectExactly(t, n, c, "lonely", "first", bodiesOf(lonely))

	// Restarted, nsqd imports nothing again and has nothing left to deliver.
	n.Exit()
	if _, err := os.Stat(filepath.Join(dir, "nsqd.dat.imported")); err != nil {
		t.Fatal(err)
	}
	n = startNSQD(t, func(o *Options) { o.DataPath = dir })
	for _, tc := range [][2]string{{"orders", "billing"}, {"orders", "audit"}, {"held", "c"}, {"lonely", "first"}} {
		if depth, _, _, _, ok := channelStat(t, n, tc[0], tc[1]); !ok || depth != 0 {
			t.Errorf("%s/%s after a restart: depth %d (exists %v), want 0", tc[0], tc[1], depth, ok)
		}
	}
}

// TestMigrateRefusesExistingTopic: nsqd does not start when a topic of the
// upstream nsqd.dat already exists in our storage.
func TestMigrateRefusesExistingTopic(t *testing.T) {
	dir := t.TempDir()
	md := migrate.UpstreamMetadata{Topics: []migrate.UpstreamTopic{{Name: "t"}}}
	if err := migrate.WriteUpstream(dir, md, 4096, map[string]migrate.UpstreamQueue{"t": {Backlog: upstreamMsgs("t", 3, 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "topics", "t.topic"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := NewOptions()
	o.DataPath = dir
	o.LogOutput = io.Discard
	_, err := New(o)
	if !errors.Is(err, migrate.ErrTopicExists) {
		t.Fatalf("New = %v, want ErrTopicExists", err)
	}
}

// upstreamBinary is where the differential test looks for upstream's nsqd
// v1.3.0.
const upstreamBinary = "/tmp/upstream-nsqd"

// upstreamNSQD is a running upstream nsqd.
type upstreamNSQD struct {
	cmd       *exec.Cmd
	tcp, http string
	exited    chan struct{} // closed once the process is reaped
	err       error         // its exit status, set before exited closes
}

var listenRE = regexp.MustCompile(`(TCP|HTTP): listening on (\S+)`)

func startUpstream(t *testing.T, dataPath string, args ...string) *upstreamNSQD {
	t.Helper()
	args = append([]string{"--data-path=" + dataPath, "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"}, args...)
	return startProcess(t, exec.Command(upstreamBinary, args...))
}

// startProcess starts an nsqd binary (ours or upstream's; cmd may wrap
// it, as long as its stderr is the nsqd's) and waits for the addresses it
// logs. It is killed when the test ends.
func startProcess(t *testing.T, cmd *exec.Cmd) *upstreamNSQD {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	u := &upstreamNSQD{cmd: cmd, exited: make(chan struct{})}
	addrs := make(chan [2]string, 2)
	var logMu sync.Mutex
	var logTail []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logTail = append(logTail, sc.Text())
			logMu.Unlock()
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				addrs <- [2]string{m[1], m[2]}
			}
		}
		u.err = cmd.Wait()
		close(u.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // an error if it has already exited
		<-u.exited
		if t.Failed() {
			logMu.Lock()
			t.Logf("upstream nsqd log:\n%s", strings.Join(logTail, "\n"))
			logMu.Unlock()
		}
	})
	deadline := time.After(15 * time.Second)
	for u.tcp == "" || u.http == "" {
		select {
		case a := <-addrs:
			if a[0] == "TCP" {
				u.tcp = a[1]
			} else {
				u.http = a[1]
			}
		case <-u.exited:
			t.Fatalf("upstream nsqd exited: %v", u.err)
		case <-deadline:
			t.Fatal("upstream nsqd did not report its addresses")
		}
	}
	return u
}

func (u *upstreamNSQD) post(t *testing.T, path string) {
	t.Helper()
	resp, err := http.Post("http://"+u.http+path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upstream POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// stop sends SIGTERM, on which upstream writes everything it holds in
// memory (queued, in flight, deferred) to its diskqueues, and waits.
func (u *upstreamNSQD) stop(t *testing.T) {
	t.Helper()
	if err := u.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-u.exited:
		if u.err != nil {
			t.Fatalf("upstream nsqd exit: %v", u.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("upstream nsqd did not exit on SIGTERM")
	}
}

// TestMigrateDifferential runs upstream's nsqd v1.3.0, publishes to it with
// go-nsq, consumes part of one channel leaving some messages in flight,
// pauses things, stops it with SIGTERM and starts ours on its data path:
// every message upstream still owed each channel arrives, exactly once.
func TestMigrateDifferential(t *testing.T) {
	if _, err := os.Stat(upstreamBinary); err != nil {
		t.Skipf("no upstream nsqd at %s", upstreamBinary)
	}
	dir := t.TempDir()
	// A small memory queue and small files: most messages go through
	// upstream's diskqueues while it runs, across several files.
	u := startUpstream(t, dir, "--mem-queue-size=100", "--max-bytes-per-file=65536")
	u.post(t, "/topic/create?topic=diff")
	u.post(t, "/channel/create?topic=diff&channel=a")
	u.post(t, "/channel/create?topic=diff&channel=b")
	u.post(t, "/topic/create?topic=solo")

	p, err := gonsq.NewProducer(u.tcp, gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	t.Cleanup(p.Stop)
	const N, solo, finished, inFlight = 3000, 500, 500, 100
	var all, soloBodies []string
	for i := 0; i < N; i++ {
		all = append(all, fmt.Sprintf("diff-%d", i))
	}
	for i := 0; i < solo; i++ {
		soloBodies = append(soloBodies, fmt.Sprintf("solo-%d", i))
	}
	for _, tc := range []struct {
		topic  string
		bodies []string
	}{{"diff", all}, {"solo", soloBodies}} {
		for i := 0; i < len(tc.bodies); i += 100 {
			batch := make([][]byte, 0, 100)
			for _, b := range tc.bodies[i:min(i+100, len(tc.bodies))] {
				batch = append(batch, []byte(b))
			}
			if err := p.MultiPublish(tc.topic, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	p.Stop()

	// Channel a: take 600 messages, stop (RDY 0), finish 500 and leave
	// 100 in flight.
	conn, err := net.Dial("tcp", u.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	fmt.Fprintf(conn, "%sSUB diff a\nRDY %d\n", wire.MagicV2, finished+inFlight)
	done := map[string]bool{} // body -> finished
	var ids []wire.MessageID
	for len(ids) < finished+inFlight {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		ft, data, err := wire.ReadFrame(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ft != wire.FrameTypeMessage {
			continue // OK, heartbeats
		}
		m, _ := wire.ParseMessage(data)
		done[string(m.Body)] = len(ids) < finished
		ids = append(ids, m.ID)
	}
	fmt.Fprintf(conn, "RDY 0\n")
	for _, id := range ids[:finished] {
		fmt.Fprintf(conn, "FIN %s\n", id[:])
	}
	waitFor(t, "upstream to count the FINs", func() bool {
		resp, err := http.Get("http://" + u.http + "/stats?format=json&topic=diff&channel=a")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return bytes.Contains(b, []byte(fmt.Sprintf(`"in_flight_count":%d`, inFlight)))
	})
	u.post(t, "/channel/pause?topic=diff&channel=b")
	u.post(t, "/topic/pause?topic=solo")
	u.stop(t)

	logs := &lgtest.Buffer{}
	n := startNSQD(t, func(o *Options) {
		o.DataPath = dir
		o.LogOutput = logs
	})
	if !strings.Contains(logs.String(), "MIGRATE: imported 2 topic(s), 2 channel(s)") {
		t.Fatalf("import not logged:\n%s", logs)
	}
	var wantA []string
	for _, b := range all {
		if !done[b] {
			wantA = append(wantA, b)
		}
	}
	c := consume(t, n, "diff", "a")
	expectExactly(t, n, c, "diff", "a", wantA)
	redelivered := 0
	for b, fin := range done {
		if !fin {
			if a := c.attempts[b]; a[0] != 2 {
				t.Errorf("%s was in flight at upstream's shutdown: attempts %d, want 2", b, a[0])
			}
			redelivered++
		}
	}
	if redelivered != inFlight {
		t.Fatalf("%d in flight, want %d", redelivered, inFlight)
	}

	c = consume(t, n, "diff", "b")
	if depth, _, _, _, _ := channelStat(t, n, "diff", "b"); depth != N {
		t.Fatalf("paused diff/b: depth %d, want %d", depth, N)
	}
	httpPost(t, n, "/channel/unpause?topic=diff&channel=b", "")
	expectExactly(t, n, c, "diff", "b", all)

	c = consume(t, n, "solo", "first")
	httpPost(t, n, "/topic/unpause?topic=solo", "")
	expectExactly(t, n, c, "solo", "first", soloBodies)
}
