package nsqd

// Hostile and broken clients (issue 17): each test drives nsqd with raw
// TCP the way a broken or malicious client would, asserts exactly what
// nsqd answers and when it lets go, and checks that a well-behaved go-nsq
// producer and consumer on the same nsqd deliver every message meanwhile.
// The limits are in docs/OPERATIONS.md (Limits).

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/wire"
)

// goodPair is a well-behaved go-nsq producer and consumer on topic "good".
type goodPair struct {
	t    testing.TB
	p    *gonsq.Producer
	c    *counter
	sent atomic.Int64

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

func (g *goodPair) halt() {
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
}

// startGoodPair connects the pair (with AUTH secret, if not empty) and
// starts publishing one message every 5ms until check.
func startGoodPair(t testing.TB, n *NSQD, secret string) *goodPair {
	t.Helper()
	cfg := gonsq.NewConfig()
	cfg.AuthSecret = secret
	p, err := gonsq.NewProducer(n.TCPAddr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quietLogger())
	t.Cleanup(p.Stop)
	g := &goodPair{t: t, p: p, c: newCounter(), stop: make(chan struct{}), done: make(chan struct{})}
	ccfg := gonsq.NewConfig()
	ccfg.AuthSecret = secret
	ccfg.MaxInFlight = 100
	newConsumer(t, n, "good", "ch", ccfg, g.c)
	t.Cleanup(g.halt) // before the producer stops (cleanups run last first)
	go func() {
		defer close(g.done)
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-tk.C:
			}
			if err := p.Publish("good", fmt.Appendf(nil, "m-%d", g.sent.Load())); err != nil {
				t.Errorf("good producer: %v", err)
				return
			}
			g.sent.Add(1)
		}
	}()
	// The producer connects with its first publish.
	waitFor(t, "the good producer's first publish", func() bool { return g.sent.Load() > 0 })
	return g
}

// check stops publishing and asserts that the consumer received every
// message published, each exactly once.
func (g *goodPair) check() {
	g.t.Helper()
	g.halt()
	sent := int(g.sent.Load())
	if sent == 0 {
		g.t.Fatalf("the good producer published nothing")
	}
	// (the handler records a body, then counts it: wait for both)
	waitFor(g.t, fmt.Sprintf("the good consumer to receive %d messages", sent), func() bool {
		return g.c.distinct() == sent && int(g.c.total.Load()) >= sent
	})
	g.c.mu.Lock()
	defer g.c.mu.Unlock()
	for body, k := range g.c.seen {
		if k != 1 {
			g.t.Fatalf("message %s received %d times", body, k)
		}
	}
	if int(g.c.total.Load()) != sent {
		g.t.Fatalf("received %d messages, published %d", g.c.total.Load(), sent)
	}
}

// readToEnd reads what the server sends until it closes (EOF or a reset),
// failing the test if it is still open after 30s.
func readToEnd(t testing.TB, c net.Conn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after 30s (received %q)", got)
			}
			return got
		}
	}
}

// framesToEnd reads until the server closes and returns the frames it
// sent but heartbeats, as "type:data".
func framesToEnd(t testing.TB, c net.Conn) []string {
	t.Helper()
	got := readToEnd(t, c)
	r := bufio.NewReader(strings.NewReader(string(got)))
	frames := []string{}
	for {
		ft, data, err := wire.ReadFrame(r, nil)
		if err != nil {
			if err != io.EOF {
				t.Errorf("bad frame in %q: %v", got, err)
			}
			return frames
		}
		if ft == wire.FrameTypeResponse && string(data) == "_heartbeat_" {
			continue
		}
		frames = append(frames, fmt.Sprintf("%d:%s", ft, data))
	}
}

func tcpClientCount(n *NSQD) int { return len(n.tcp.Clients()) }

// Slowloris: 1,000 connections each send one byte of a command line every
// second. Upstream's read deadline is set before each command, so a
// command must arrive whole within two heartbeat intervals: nsqd closes
// every one of them, without an answer (no line is whole), although each
// keeps sending.
func TestHostileSlowloris(t *testing.T) {
	const conns = 1000
	n := startNSQD(t, func(o *Options) { o.ClientTimeout = 2 * time.Second }) // heartbeats every 1s, read timeout 2s
	good := startGoodPair(t, n, "")
	base := tcpClientCount(n)

	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", n.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte(wire.MagicV2)); err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}

	// One goroutine writes the next byte of "PUB slowloris..." (a line
	// that never ends) to every connection each second.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		trickle(cs, "PUB slowloris", stop)
	}()
	var closed atomic.Int64
	var rg sync.WaitGroup
	for _, c := range cs {
		rg.Add(1)
		go func() {
			defer rg.Done()
			if got := framesToEnd(t, c); len(got) != 0 {
				t.Errorf("slow connection got %q, want nothing but heartbeats", got)
			}
			closed.Add(1)
		}()
	}
	rg.Wait()
	close(stop)
	wg.Wait()
	if closed.Load() != conns {
		t.Fatalf("%d of %d slow connections closed", closed.Load(), conns)
	}
	waitFor(t, "nsqd to forget the slow connections", func() bool { return tcpClientCount(n) == base })
	good.check()
}

// A valid command, then half of another, then silence: the first is
// answered, and at the read timeout the second gets upstream's error for
// a body cut short, then the connection closes. Half a line gets no
// answer at all.
func TestHostileHalfCommandStall(t *testing.T) {
	n := startNSQD(t, nil)
	good := startGoodPair(t, n, "")

	body := func(line string, b []byte) []byte {
		out := append([]byte(line+"\n"), binary.BigEndian.AppendUint32(nil, uint32(len(b)))...)
		return append(out, b...)
	}
	cases := []struct {
		name string
		half []byte
		want string // the error frame's text, "" for none
	}{
		{"pub body", body("PUB stall", []byte("0123456789"))[:len("PUB stall\n")+4+5], "E_BAD_MESSAGE PUB failed to read message body"},
		{"pub size", []byte("PUB stall\n\x00\x00"), "E_BAD_MESSAGE PUB failed to read message body size"},
		{"mpub count", []byte("MPUB stall\n\x00\x00\x00\x10\x00"), "E_BAD_BODY MPUB failed to read message count"},
		{"line", []byte("PUB sta"), ""},
	}
	var wg sync.WaitGroup
	for _, tc := range cases {
		rc := dialRaw(t, n)
		rc.identify(map[string]any{"heartbeat_interval": 1000}) // read timeout 2s
		rc.write(body("PUB stall", []byte("whole")))
		rc.expectResponse("OK")
		rc.write(tc.half)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Heartbeats may come first; then the error, then EOF.
			frames := framesToEnd(t, rc.conn)
			want := []string{}
			if tc.want != "" {
				want = []string{fmt.Sprintf("%d:%s", wire.FrameTypeError, tc.want)}
			}
			if fmt.Sprint(frames) != fmt.Sprint(want) {
				t.Errorf("%s: got frames %q, want %q", tc.name, frames, want)
			}
		}()
	}
	wg.Wait()
	good.check()
	if got := topicMessageCount(t, n, "stall"); got != uint64(len(cases)) {
		t.Fatalf("topic stall has %d messages, want %d (only the whole PUBs)", got, len(cases))
	}
}

func topicMessageCount(t testing.TB, n *NSQD, topic string) uint64 {
	for _, tp := range getStats(t, n).Topics {
		if tp.TopicName == topic {
			return tp.MessageCount
		}
	}
	return 0
}

// openFDs counts this process's open descriptors.
func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// A flood of 10,000 connections opened and closed in a loop, in every
// way a client can leave (at once, after the magic, after half a
// command, with a reset), leaves no descriptor, goroutine or client
// behind.
func TestHostileConnectFlood(t *testing.T) {
	const conns = 10000
	n := startNSQD(t, nil)
	good := startGoodPair(t, n, "")
	// Let the pair's connections settle before the baseline.
	waitFor(t, "the good pair to deliver", func() bool { return good.c.distinct() > 0 })
	// The topic and channel the flood names exist before the baseline:
	// their log files are theirs, not the connections'.
	ft, err := n.Engine().GetTopic("flood")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ft.GetChannel("ch"); err != nil {
		t.Fatal(err)
	}
	baseClients := tcpClientCount(n)
	baseFDs := openFDs(t)
	baseG := runtime.NumGoroutine()

	addr := n.TCPAddr().String()
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		tc := c.(*net.TCPConn)
		// Most leave with a reset (no TIME_WAIT left on the client, so
		// -count=20 does not run out of ports); some close cleanly.
		if i%8 != 0 {
			_ = tc.SetLinger(0)
		}
		switch i % 4 {
		case 1:
			_, _ = c.Write([]byte(wire.MagicV2))
		case 2:
			_, _ = c.Write([]byte(wire.MagicV2 + "PUB flood\n\x00\x00\x00\x10abc"))
		case 3:
			_, _ = c.Write([]byte(wire.MagicV2 + "SUB flood ch\nRDY 10\n"))
		}
		_ = c.Close()
	}
	waitFor(t, "nsqd to forget every flood connection", func() bool { return tcpClientCount(n) == baseClients })
	// The good pair stops publishing here (its goroutine was counted in
	// the baseline), so the topic's committer goroutine, which a publish
	// may have started, exits a second later.
	good.check()
	waitFor(t, fmt.Sprintf("descriptors back to %d", baseFDs), func() bool { return openFDs(t) <= baseFDs })
	waitFor(t, fmt.Sprintf("goroutines back to %d", baseG), func() bool { return runtime.NumGoroutine() <= baseG })
}

// IDENTIFY with each field at and past its limit: the body at
// --max-body-size is read, one byte more is refused with upstream's
// error; client_id, hostname and user_agent are kept whole up to 1 KiB and
// cut (at a UTF-8 boundary) beyond.
func TestHostileIdentifyLimits(t *testing.T) {
	const maxBody = 8192
	n := startNSQD(t, func(o *Options) { o.MaxBodySize = maxBody })
	good := startGoodPair(t, n, "")

	padded := func(v map[string]any, size int) []byte {
		b, _ := json.Marshal(v)
		if len(b) > size {
			t.Fatalf("body %d > %d", len(b), size)
		}
		return append(b, strings.Repeat(" ", size-len(b))...)
	}
	at := strings.Repeat("a", 1024)
	// 1023 ASCII bytes then a 3-byte rune: cut before the rune.
	past := strings.Repeat("b", 1023) + "€" + strings.Repeat("c", 200)
	idFor := func(id string) func() (identity, bool) {
		return func() (identity, bool) {
			for _, c := range n.tcp.Clients() {
				in := c.Info()
				if strings.HasPrefix(in.UserAgent, id) {
					return identity{in.ClientID, in.Hostname, in.UserAgent}, true
				}
			}
			return identity{}, false
		}
	}

	// At the limits: the body exactly --max-body-size, fields 1 KiB.
	rc := dialRaw(t, n)
	ua := "at" + at[2:]
	rc.cmdBody("IDENTIFY", padded(map[string]any{"client_id": at, "hostname": at, "user_agent": ua}, maxBody))
	rc.expectResponse("OK")
	if in, ok := idFor("at")(); !ok || in != (identity{at, at, ua}) {
		t.Fatalf("at the limit: kept %d/%d/%d bytes, want 1024 each", len(in.ClientID), len(in.Hostname), len(in.UserAgent))
	}

	// Past them: fields cut to 1023 bytes (the rune does not fit).
	rc2 := dialRaw(t, n)
	ua2 := "past" + past[4:]
	rc2.cmdBody("IDENTIFY", padded(map[string]any{"client_id": past, "hostname": past, "user_agent": ua2}, maxBody))
	rc2.expectResponse("OK")
	if in, ok := idFor("past")(); !ok || in != (identity{past[:1023], past[:1023], ua2[:1023]}) {
		t.Fatalf("past the limit: kept %d/%d/%d bytes, want 1023 each", len(in.ClientID), len(in.Hostname), len(in.UserAgent))
	}

	// The body one byte past --max-body-size.
	rc3 := dialRaw(t, n)
	rc3.cmdBody("IDENTIFY", padded(map[string]any{"client_id": "x"}, maxBody+1))
	rc3.expectError(fmt.Sprintf("E_BAD_BODY IDENTIFY body too big %d > %d", maxBody+1, maxBody))
	rc3.expectClosed()

	// Settings past theirs: upstream's errors.
	for _, tc := range []struct {
		v    map[string]any
		want string
	}{
		{map[string]any{"heartbeat_interval": 60001}, "E_BAD_BODY IDENTIFY heartbeat interval (60001) is invalid"},
		{map[string]any{"output_buffer_size": 65537}, "E_BAD_BODY IDENTIFY output buffer size (65537) is invalid"},
		{map[string]any{"sample_rate": 100}, "E_BAD_BODY IDENTIFY sample rate (100) is invalid"},
		{map[string]any{"msg_timeout": 900001}, "E_BAD_BODY IDENTIFY msg timeout (900001) is invalid"},
	} {
		rc := dialRaw(t, n)
		b, _ := json.Marshal(tc.v)
		rc.cmdBody("IDENTIFY", b)
		rc.expectError(tc.want)
		rc.expectClosed()
	}
	good.check()
}

// identity is what a connection kept from its IDENTIFY.
type identity struct{ ClientID, Hostname, UserAgent string }

// An MPUB whose messages run past --max-body-size (whatever body size it
// declared) is refused once they do, with the error of a body too big;
// upstream would read on, up to count x --max-msg-size bytes.
func TestHostileMPUBPastBodySize(t *testing.T) {
	const maxBody = 4096
	n := startNSQD(t, func(o *Options) { o.MaxBodySize = maxBody; o.MaxMsgSize = 1024 })
	rc := dialRaw(t, n)
	b := []byte("MPUB big\n")
	b = binary.BigEndian.AppendUint32(b, 100) // declares 100 bytes
	b = binary.BigEndian.AppendUint32(b, 10)  // 10 messages of 1000 bytes
	for i := 0; i < 4; i++ {
		b = binary.BigEndian.AppendUint32(b, 1000)
		b = append(b, make([]byte, 1000)...)
	}
	// 4 + 4x1004 = 4020 so far; the fifth message's header takes it past.
	b = binary.BigEndian.AppendUint32(b, 1000)
	rc.write(b)
	rc.expectError(fmt.Sprintf("E_BAD_BODY MPUB body too big %d > %d", 4+5*1004, maxBody))
	rc.expectClosed()
}

// hangingAuthServer answers "good" at once and never answers "hang" (until the
// test ends).
func hangingAuthServer(t testing.TB) (addr string, hanging *atomic.Int64) {
	hanging = new(atomic.Int64)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("secret") == "hang" {
			hanging.Add(1)
			select {
			case <-done:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = io.WriteString(w, `{"ttl":3600,"identity":"good","authorizations":[{"topic":".*","channels":[".*"],"permissions":["subscribe","publish"]}]}`)
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return strings.TrimPrefix(srv.URL, "http://"), hanging
}

// AUTH against an auth server that never answers: that connection waits
// (it runs nothing it sent after AUTH) until --http-client-request-timeout,
// then gets upstream's E_AUTH_FAILED and is closed; no other connection
// waits meanwhile.
func TestHostileAuthNeverAnswers(t *testing.T) {
	addr, hanging := hangingAuthServer(t)
	n := startNSQD(t, func(o *Options) {
		o.AuthHTTPAddresses = []string{addr}
		o.HTTPClientRequestTimeout = 3 * time.Second
	})
	good := startGoodPair(t, n, "good")

	rc := dialRaw(t, n)
	rc.cmdBody("AUTH", []byte("hang"))
	rc.cmdBody("PUB waited", []byte("never")) // runs only after AUTH is answered
	waitFor(t, "the auth query", func() bool { return hanging.Load() == 1 })
	rc.expectError("E_AUTH_FAILED AUTH failed")
	rc.expectClosed()
	good.check()
	if topicExists(t, n, "waited") {
		t.Fatalf("the PUB behind the failed AUTH ran")
	}
}

// A client that pipelines megabytes behind an AUTH the auth server does
// not answer: nsqd stops reading it once it holds more than the largest
// command (--max-body-size plus a line), so the client's writes block on
// the socket's buffers instead of growing nsqd's memory.
func TestHostileAuthPendingStopsReading(t *testing.T) {
	addr, hanging := hangingAuthServer(t)
	n := startNSQD(t, func(o *Options) {
		o.AuthHTTPAddresses = []string{addr}
		o.HTTPClientRequestTimeout = 5 * time.Second
		o.MaxBodySize = 64 << 10
	})
	good := startGoodPair(t, n, "good")

	rc := dialRaw(t, n)
	rc.cmdBody("AUTH", []byte("hang"))
	waitFor(t, "the auth query", func() bool { return hanging.Load() == 1 })
	// 256 MiB of NOPs: far more than the socket buffers of both sides
	// (a few MiB each on loopback) and nsqd's bound.
	const total = 256 << 20
	chunk := []byte(strings.Repeat("NOP\n", 16<<10))
	_ = rc.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	written := 0
	var err error
	for written < total && err == nil {
		var k int
		k, err = rc.conn.Write(chunk)
		written += k
	}
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("wrote %d bytes behind a pending AUTH, err %v: nsqd kept reading", written, err)
	}
	good.check()
}

// --max-conns-per-ip (ours): connections beyond the limit from one address
// are closed at once, without a byte; a slot freed is taken again.
func TestHostileMaxConnsPerIP(t *testing.T) {
	n := startNSQD(t, func(o *Options) { o.MaxConnsPerIP = 5 })
	good := startGoodPair(t, n, "") // two connections from 127.0.0.1
	waitFor(t, "the good pair's connections", func() bool { return tcpClientCount(n) == 2 })
	// alive sends an invalid command: a served connection answers
	// E_INVALID, a refused one is closed without a byte.
	alive := func(rc *rawConn) bool {
		rc.write([]byte(wire.MagicV2 + "BOGUS\n"))
		got := readToEnd(t, rc.conn)
		return len(got) > 0
	}
	var held []*rawConn
	for i := 0; i < 3; i++ {
		rc := dialPlain(t, n)
		held = append(held, rc)
	}
	waitFor(t, "three more clients", func() bool { return tcpClientCount(n) == 5 })
	for i := 0; i < 3; i++ {
		if extra := dialPlain(t, n); alive(extra) {
			t.Fatalf("connection %d beyond --max-conns-per-ip was served", 6+i)
		}
	}
	if !alive(held[0]) { // answers and closes: a slot frees
		t.Fatalf("a connection within the limit was refused")
	}
	waitFor(t, "the freed slot", func() bool { return tcpClientCount(n) == 4 })
	if !alive(dialPlain(t, n)) {
		t.Fatalf("the freed slot was not given to a new connection")
	}
	good.check()
}

// trickle writes, once a second, the next byte of head (then 'x' for ever)
// to every connection in cs, until stop is closed or none takes a byte.
func trickle(cs []net.Conn, head string, stop <-chan struct{}) {
	open := append([]net.Conn(nil), cs...)
	for i := 0; len(open) > 0; i++ {
		b := []byte{'x'}
		if i < len(head) {
			b[0] = head[i]
		}
		kept := open[:0]
		for _, c := range open {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.Write(b); err == nil {
				kept = append(kept, c)
			}
		}
		open = kept
		select {
		case <-stop:
			return
		case <-time.After(time.Second):
		}
	}
}
