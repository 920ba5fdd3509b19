package lookup

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire/lookupdoc"
	"github.com/nsqfast/nsq/wire/lookupv1"
)

// startLookupd starts an nsqlookupd on 127.0.0.1 ports from :0, stopped
// when the test ends.
func startLookupd(t testing.TB, mutate func(o *Options)) *NSQLookupd {
	t.Helper()
	o := NewOptions()
	o.TCPAddress = "127.0.0.1:0"
	o.HTTPAddress = "127.0.0.1:0"
	o.BroadcastAddress = "127.0.0.1"
	o.LogOutput = io.Discard
	if mutate != nil {
		mutate(o)
	}
	l, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := l.Main(); err != nil {
		t.Fatalf("Main: %v", err)
	}
	t.Cleanup(l.Exit)
	return l
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// v1Client is a raw V1 protocol client.
type v1Client struct {
	t    testing.TB
	conn *net.TCPConn
	buf  []byte
}

// dialV1 connects to addr and sends the magic.
func dialV1(t testing.TB, addr string) *v1Client {
	t.Helper()
	c := dialRawV1(t, addr)
	c.send(lookupv1.Magic)
	return c
}

// dialRawV1 connects and sends nothing.
func dialRawV1(t testing.TB, addr string) *v1Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &v1Client{t: t, conn: conn.(*net.TCPConn)}
}

func (c *v1Client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next response.
func (c *v1Client) read() string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		data, n, err := lookupv1.ParseResponse(c.buf, 1<<20)
		if err != nil {
			c.t.Fatal(err)
		}
		if n > 0 {
			s := string(data)
			c.buf = c.buf[n:]
			return s
		}
		var tmp [4096]byte
		m, err := c.conn.Read(tmp[:])
		c.buf = append(c.buf, tmp[:m]...)
		if err != nil && m == 0 {
			c.t.Fatalf("read: %v (have %q)", err, c.buf)
		}
	}
}

func (c *v1Client) expect(want string) {
	c.t.Helper()
	if got := c.read(); got != want {
		c.t.Fatalf("got response %q, want %q", got, want)
	}
}

// expectClosed asserts the server closes the connection without sending
// anything more.
func (c *v1Client) expectClosed() {
	c.t.Helper()
	if len(c.buf) > 0 {
		c.t.Fatalf("unread data %q", c.buf)
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	n, err := c.conn.Read(b[:])
	if n > 0 {
		c.t.Fatalf("connection still open: got %q", b[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection not closed")
	}
}

// identify sends IDENTIFY as an nsqd on 127.0.0.1 with the given ports
// and returns the response.
func (c *v1Client) identify(tcpPort, httpPort int) lookupdoc.Identity {
	c.t.Helper()
	body, _ := json.Marshal(lookupdoc.Identity{BroadcastAddress: "127.0.0.1", Hostname: "test-host",
		HTTPPort: httpPort, TCPPort: tcpPort, Version: "1.3.0"})
	c.send(string(lookupv1.AppendIdentify(nil, body)))
	var id lookupdoc.Identity
	resp := c.read()
	if err := json.Unmarshal([]byte(resp), &id); err != nil {
		c.t.Fatalf("IDENTIFY response %q: %v", resp, err)
	}
	return id
}

func (c *v1Client) cmd(line string) {
	c.t.Helper()
	c.send(line + "\n")
	c.expect("OK")
}

// httpResult is one HTTP answer.
type httpResult struct {
	code   int
	header http.Header
	body   string
}

func doHTTP(t testing.TB, l *NSQLookupd, method, target string, hdr ...string) httpResult {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+l.HTTPAddr().String()+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, resp.Header, string(b)}
}

// expectHTTP checks status and body, and that a V1 answer carries the V1
// headers (a JSON content type exactly when the body is not empty).
func expectHTTP(t testing.TB, r httpResult, code int, body string) {
	t.Helper()
	if r.code != code || r.body != body {
		t.Fatalf("got %d %q, want %d %q", r.code, r.body, code, body)
	}
	if r.header.Get("X-NSQ-Content-Type") != "nsq; version=1.0" {
		t.Errorf("X-NSQ-Content-Type = %q", r.header.Get("X-NSQ-Content-Type"))
	}
	wantCT := ""
	if body != "" {
		wantCT = "application/json; charset=utf-8"
	}
	if ct := r.header.Get("Content-Type"); ct != wantCT {
		t.Errorf("Content-Type = %q, want %q", ct, wantCT)
	}
}

func get(t testing.TB, l *NSQLookupd, target string) httpResult {
	t.Helper()
	return doHTTP(t, l, http.MethodGet, target)
}

func post(t testing.TB, l *NSQLookupd, target string) httpResult {
	t.Helper()
	return doHTTP(t, l, http.MethodPost, target)
}

// lookupDoc returns GET /lookup?topic= decoded, or ok false on a 404.
func lookupDoc(t testing.TB, l *NSQLookupd, topic string) (doc lookupdoc.Lookup, ok bool) {
	t.Helper()
	r := get(t, l, "/lookup?topic="+topic)
	if r.code == http.StatusNotFound {
		return doc, false
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("%d %q: %v", r.code, r.body, err)
	}
	return doc, true
}

func producerPorts(doc lookupdoc.Lookup) string {
	var ps []string
	for _, p := range doc.Producers {
		ps = append(ps, p.BroadcastAddress+":"+strconv.Itoa(p.TCPPort))
	}
	return strings.Join(ps, ",")
}
