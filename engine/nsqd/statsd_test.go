package nsqd

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"
)

// statsdSink is a UDP statsd daemon: it keeps every packet it receives and
// sums counters and keeps the last value of gauges, per metric name.
type statsdSink struct {
	t    *testing.T
	conn net.PacketConn
	mu   struct {
		sync.Mutex
		packets  []string
		counters map[string]int64
		gauges   map[string]int64
	}
}

func newStatsdSink(t *testing.T) *statsdSink {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Counters are deltas: one datagram dropped and a sum never matches.
	// A large receive buffer rides out a reader starved for a while.
	_ = conn.(*net.UDPConn).SetReadBuffer(4 << 20)
	s := &statsdSink{t: t, conn: conn}
	s.mu.counters, s.mu.gauges = map[string]int64{}, map[string]int64{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			s.add(string(buf[:n]))
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

var statsdLine = regexp.MustCompile(`^([^:]+):(-?\d+)\|(c|g)$`)

func (s *statsdSink) add(pkt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.packets = append(s.mu.packets, pkt)
	if !strings.HasSuffix(pkt, "\n") {
		s.t.Errorf("packet does not end with a newline: %q", pkt)
	}
	for _, l := range strings.Split(strings.TrimSuffix(pkt, "\n"), "\n") {
		m := statsdLine.FindStringSubmatch(l)
		if m == nil {
			s.t.Errorf("bad statsd line %q", l)
			continue
		}
		v, _ := strconv.ParseInt(m[2], 10, 64)
		if m[3] == "c" {
			s.mu.counters[m[1]] += v
		} else {
			s.mu.gauges[m[1]] = v
		}
	}
}

func (s *statsdSink) addr() string { return s.conn.LocalAddr().String() }

// snapshot returns copies of the counters, gauges and packets so far.
func (s *statsdSink) snapshot() (counters, gauges map[string]int64, packets []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	counters, gauges = map[string]int64{}, map[string]int64{}
	for k, v := range s.mu.counters {
		counters[k] = v
	}
	for k, v := range s.mu.gauges {
		gauges[k] = v
	}
	return counters, gauges, append([]string(nil), s.mu.packets...)
}

// TestStatsdPushesUpstreamMetrics runs a known workload and checks every
// metric name, type and value upstream's nsqd would send for it.
func TestStatsdPushesUpstreamMetrics(t *testing.T) {
	sink := newStatsdSink(t)
	n := startNSQD(t, func(o *Options) {
		o.StatsdAddress = sink.addr()
		o.StatsdInterval = 20 * time.Millisecond
		o.StatsdUDPPacketSize = 200
		o.BroadcastAddress = "statsd.test"
		o.E2EProcessingLatencyPercentiles = []float64{1, 0.5}
	})
	prefix := fmt.Sprintf("nsq.statsd_test_%d.", n.HTTPAddr().(*net.TCPAddr).Port)

	tp, err := n.Engine().GetTopic("sd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.GetChannel("idle"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	finished := 0
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 10
	newConsumer(t, n, "sd", "c", cfg, gonsq.HandlerFunc(func(m *gonsq.Message) error {
		if string(m.Body) == "req" && m.Attempts == 1 {
			m.DisableAutoResponse()
			m.RequeueWithoutBackoff(0)
			return nil
		}
		mu.Lock()
		finished++
		mu.Unlock()
		return nil
	}))
	p := newProducer(t, n)
	for _, body := range []string{"hello", "hello", "hello", "hello", "hello", "req"} {
		if err := p.Publish("sd", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Publish("sd#ephemeral", []byte("e")); err != nil {
		t.Fatal(err)
	}

	want := map[string]int64{ // counters, summed over pushes
		"topic.sd.message_count":              6,
		"topic.sd.message_bytes":              28,
		"topic.sd.channel.c.message_count":    6,
		"topic.sd.channel.c.requeue_count":    1,
		"topic.sd.channel.c.timeout_count":    0,
		"topic.sd.channel.idle.message_count": 6,
		"topic.sd.channel.idle.requeue_count": 0,
		"topic.sd.channel.idle.timeout_count": 0,
		"topic.sd#ephemeral.message_count":    1,
		"topic.sd#ephemeral.message_bytes":    1,
	}
	wantGauges := map[string]int64{
		"topic.sd.depth":                        0,
		"topic.sd.backend_depth":                0,
		"topic.sd.channel.c.depth":              0,
		"topic.sd.channel.c.backend_depth":      0,
		"topic.sd.channel.c.in_flight_count":    0,
		"topic.sd.channel.c.deferred_count":     0,
		"topic.sd.channel.c.clients":            1,
		"topic.sd.channel.idle.depth":           6,
		"topic.sd.channel.idle.backend_depth":   0,
		"topic.sd.channel.idle.in_flight_count": 0,
		"topic.sd.channel.idle.deferred_count":  0,
		"topic.sd.channel.idle.clients":         0,
		"topic.sd#ephemeral.depth":              1, // no channel: held
		"topic.sd#ephemeral.backend_depth":      0,
	}
	var counters, gauges map[string]int64
	var packets []string
	// mismatch says what the sink lacks so far ("" when nothing), so that a
	// timeout names it.
	mismatch := func() string {
		mu.Lock()
		defer mu.Unlock()
		counters, gauges, packets = sink.snapshot()
		var why []string
		for k, v := range want {
			if counters[prefix+k] != v {
				why = append(why, fmt.Sprintf("counter %s = %d, want %d", k, counters[prefix+k], v))
			}
		}
		for k, v := range wantGauges {
			if g, ok := gauges[prefix+k]; !ok || g != v {
				why = append(why, fmt.Sprintf("gauge %s = %d (sent: %v), want %d", k, g, ok, v))
			}
		}
		if finished != 6 {
			why = append(why, fmt.Sprintf("%d of 6 finished", finished))
		}
		// A push spans several packets (200 bytes each), the memory
		// figures last: wait for them too.
		if _, ok := counters[prefix+"mem.gc_runs"]; !ok {
			why = append(why, "no mem.gc_runs yet")
		}
		// The channel's and the topic's p100 (which includes the idle
		// channel's empty window) agree once the workload is over: a push
		// reads the topic's before its channels', so one push may
		// straddle a FIN.
		if c, tp := gauges[prefix+"topic.sd.channel.c.e2e_processing_latency_100"], gauges[prefix+"topic.sd.e2e_processing_latency_100"]; c <= 0 || tp != c {
			why = append(why, fmt.Sprintf("e2e p100: channel %d, topic %d", c, tp))
		}
		return strings.Join(why, "; ")
	}
	var why string
	defer func() {
		if t.Failed() {
			t.Logf("still missing: %s", why)
		}
	}()
	waitFor(t, "the workload in statsd", func() bool {
		why = mismatch()
		return why == ""
	})

	// every name is one upstream sends: the ones above, e2e latencies and
	// memory
	for _, m := range []map[string]int64{counters, gauges} {
		for k := range m {
			name, ok := strings.CutPrefix(k, prefix)
			if !ok {
				t.Errorf("metric %q without the prefix %q", k, prefix)
				continue
			}
			_, isCounter := want[name]
			_, isGauge := wantGauges[name]
			switch {
			case isCounter || isGauge:
			case regexp.MustCompile(`^topic\.sd(\.channel\.(c|idle))?\.e2e_processing_latency_(100|50)$`).MatchString(name):
			case regexp.MustCompile(`^mem\.(heap_objects|heap_idle_bytes|heap_in_use_bytes|heap_released_bytes|gc_pause_usec_(100|99|95)|next_gc_bytes|gc_runs|resident_bytes|resident_anon_bytes|resident_file_bytes|log_mapped_bytes)$`).MatchString(name):
			default:
				t.Errorf("unexpected metric %q", name)
			}
		}
	}
	if _, ok := counters[prefix+"mem.gc_runs"]; !ok {
		t.Error("mem.gc_runs is not a counter")
	}
	if _, ok := gauges[prefix+"mem.heap_objects"]; !ok || gauges[prefix+"mem.heap_objects"] <= 0 {
		t.Error("mem.heap_objects missing")
	}
	// the idle channel's e2e window is empty: zeros
	if v, ok := gauges[prefix+"topic.sd.channel.idle.e2e_processing_latency_50"]; !ok || v != 0 {
		t.Errorf("idle channel e2e p50: %d, %v", v, ok)
	}
	for _, pk := range packets {
		if len(pk) > 200 {
			t.Errorf("packet of %d bytes (limit 200)", len(pk))
		}
	}
}

func TestStatsdExcludeEphemeral(t *testing.T) {
	sink := newStatsdSink(t)
	n := startNSQD(t, func(o *Options) {
		o.StatsdAddress = sink.addr()
		o.StatsdInterval = 20 * time.Millisecond
		o.StatsdPrefix = "x.%s.y"
		o.BroadcastAddress = "h"
		o.StatsdExcludeEphemeral = true
		o.StatsdMemStats = false
	})
	prefix := fmt.Sprintf("x.h_%d.y.", n.HTTPAddr().(*net.TCPAddr).Port)
	for _, name := range []string{"t#ephemeral", "durable"} {
		tp, err := n.Engine().GetTopic(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.GetChannel("c#ephemeral"); err != nil {
			t.Fatal(err)
		}
		if _, err := tp.GetChannel("c"); err != nil {
			t.Fatal(err)
		}
		if err := tp.Publish([]byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	var counters, gauges map[string]int64
	waitFor(t, "pushes with the topic", func() bool {
		var packets []string
		counters, gauges, packets = sink.snapshot()
		return counters[prefix+"topic.durable.channel.c.message_count"] == 1 && len(packets) > 2
	})
	for _, m := range []map[string]int64{counters, gauges} {
		for k := range m {
			if strings.Contains(k, "#ephemeral") || strings.Contains(k, ".mem.") {
				t.Errorf("excluded metric %q sent", k)
			}
		}
	}
}

func TestStatsdOptionsValidate(t *testing.T) {
	o := NewOptions()
	o.StatsdAddress = "127.0.0.1:1"
	o.StatsdInterval = 0
	o.E2EProcessingLatencyPercentiles = []float64{0.5}
	o.E2EProcessingLatencyWindowTime = -time.Second
	err := o.Validate()
	if err == nil || !strings.Contains(err.Error(), "--statsd-interval") || !strings.Contains(err.Error(), "--e2e-processing-latency-window-time") {
		t.Fatalf("Validate: %v", err)
	}
}

// TestStatsdDifferential runs one workload on this nsqd and on an upstream
// v1.3.0 nsqd (NSQD_UPSTREAM_BIN) and compares their first statsd push
// packet by packet: same names, types, values, order and packet
// boundaries (memory figures and the port in the prefix masked).
func TestStatsdDifferential(t *testing.T) {
	bin := os.Getenv("NSQD_UPSTREAM_BIN")
	if bin == "" {
		t.Skip("set NSQD_UPSTREAM_BIN to an upstream nsqd v1.3.0 binary")
	}
	theirSink, ourSink := newStatsdSink(t), newStatsdSink(t)
	theirHTTP := startUpstreamNSQD(t, bin, "--statsd-address="+theirSink.addr(), "--statsd-interval=2s",
		"--statsd-udp-packet-size=300", "--broadcast-address=bh", "--e2e-processing-latency-percentile=1.0,0.99,0.5")
	n := startNSQD(t, func(o *Options) {
		o.StatsdAddress, o.StatsdInterval, o.StatsdUDPPacketSize = ourSink.addr(), 2*time.Second, 300
		o.BroadcastAddress, o.E2EProcessingLatencyPercentiles = "bh", []float64{1, 0.99, 0.5}
	})
	for _, addr := range []string{theirHTTP, n.HTTPAddr().String()} {
		for _, step := range []struct{ path, body string }{
			{"/topic/create?topic=t1", ""}, {"/channel/create?topic=t1&channel=c1", ""},
			// DPUB first: a channel's depth counts a deferred message its
			// cursor has not reached (see docs/COMPATIBILITY.md)
			{"/channel/create?topic=t1&channel=c2", ""}, {"/pub?topic=t1&defer=60000", "later"},
			{"/pub?topic=t1", "hello"}, {"/channel/pause?topic=t1&channel=c2", ""},
			{"/pub?topic=e%23ephemeral", "e"},
		} {
			resp, err := http.Post("http://"+addr+step.path, "", strings.NewReader(step.body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d", addr, step.path, resp.StatusCode)
			}
		}
	}
	prefix, mem := regexp.MustCompile(`nsq\.bh_\d+\.`), regexp.MustCompile(`(mem\.\w+):\d+`)
	firstPush := func(s *statsdSink) string {
		var push []string
		waitFor(t, "a whole push", func() bool {
			_, _, packets := s.snapshot()
			push = push[:0]
			for _, p := range packets {
				push = append(push, mem.ReplaceAllString(prefix.ReplaceAllString(p, "P."), "$1:N"))
				if strings.Contains(p, "mem.gc_runs") {
					return true
				}
			}
			return false
		})
		return strings.Join(push, "(end of packet)\n")
	}
	if theirs, ours := firstPush(theirSink), firstPush(ourSink); theirs != ours {
		t.Errorf("first push differs:\nupstream:\n%s\nours:\n%s", theirs, ours)
	}
}

// startUpstreamNSQD runs an upstream nsqd binary on free local ports with
// extra arguments and returns its HTTP address.
func startUpstreamNSQD(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var addrs [2]string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--data-path=" + dir, "--http-address=" + addrs[0], "--tcp-address=" + addrs[1]}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, "upstream nsqd", func() bool {
		resp, err := http.Get("http://" + addrs[0] + "/ping")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return addrs[0]
}
