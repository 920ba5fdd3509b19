package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/netpoll"
	"github.com/nsqfast/nsq/wire/apidoc"
)

// fixture is a real engine served by New on 127.0.0.1, optionally with a
// real TCP server for clients. Everything stops when the test ends.
type fixture struct {
	t    testing.TB
	eng  *engine.Engine
	tcp  *netpoll.Server
	srv  *httptest.Server
	opts Options
	logs *logSink
}

type fixtureConfig struct {
	tcp    bool
	mutate func(*Options)
	// engine and netpoll adjust the engine's and the TCP server's options.
	engine  func(*engine.Options)
	netpoll func(*netpoll.Options)
}

func newFixture(t testing.TB, cfg fixtureConfig) *fixture {
	t.Helper()
	eo := engine.Options{DataPath: t.TempDir()}
	if cfg.engine != nil {
		cfg.engine(&eo)
	}
	eng, err := engine.New(eo)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	f := &fixture{t: t, eng: eng, logs: &logSink{}}
	f.opts = Options{
		Engine:                 eng,
		Version:                "1.3.0",
		BroadcastAddress:       "bcast.example",
		Hostname:               "host.example",
		TCPPort:                4150,
		MaxHeartbeatInterval:   time.Minute,
		MaxOutputBufferSize:    64 << 10,
		MaxOutputBufferTimeout: 30 * time.Second,
		MaxDeflateLevel:        6,
		Logf:                   f.logs.logf,
	}
	if cfg.tcp {
		no := netpoll.Options{Address: "127.0.0.1:0", Version: "1.3.0", EventLoops: 2}
		if cfg.netpoll != nil {
			cfg.netpoll(&no)
		}
		f.tcp = netpoll.New(no, eng)
		if err := f.tcp.Start(); err != nil {
			t.Fatalf("netpoll start: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = f.tcp.Stop(ctx)
		})
		f.opts.Clients = f.tcp.Clients
	}
	if cfg.mutate != nil {
		cfg.mutate(&f.opts)
	}
	f.srv = httptest.NewServer(New(f.opts))
	t.Cleanup(f.srv.Close)
	return f
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(level engine.LogLevel, format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf("%d ", level)+fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *logSink) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

type response struct {
	code   int
	header http.Header
	body   string
}

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// do sends a request; a nil body sends none. Header pairs follow.
func (f *fixture) do(method, target string, body []byte, header ...string) response {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+target, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.send(req)
}

// raw sends "METHOD target HTTP/1.1" with target exactly as given (no
// cleaning or escaping by a client) on a new connection.
func (f *fixture) raw(method, target string) response {
	f.t.Helper()
	conn, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (f *fixture) send(req *http.Request) response {
	f.t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// expect checks a response's code and exact body.
func (f *fixture) expect(r response, code int, body string) {
	f.t.Helper()
	if r.code != code || r.body != body {
		f.t.Fatalf("got %d %q, want %d %q", r.code, r.body, code, body)
	}
}

// expectV1Error checks a V1 error answer, headers included.
func (f *fixture) expectV1Error(r response, code int, text string) {
	f.t.Helper()
	f.expect(r, code, `{"message":"`+text+`"}`)
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		f.t.Fatalf("content type %q", ct)
	}
	if v := r.header.Get("X-NSQ-Content-Type"); v != "nsq; version=1.0" {
		f.t.Fatalf("X-NSQ-Content-Type %q", v)
	}
}

// expectV1Empty checks a V1 success with no body.
func (f *fixture) expectV1Empty(r response) {
	f.t.Helper()
	f.expect(r, http.StatusOK, "")
	if v := r.header.Get("X-NSQ-Content-Type"); v != "nsq; version=1.0" {
		f.t.Fatalf("X-NSQ-Content-Type %q", v)
	}
}

// stats fetches /stats?format=json with extra query parameters.
func (f *fixture) stats(query string) apidoc.Stats {
	f.t.Helper()
	r := f.do("GET", "/stats?format=json&"+query, nil)
	if r.code != http.StatusOK {
		f.t.Fatalf("stats: %d %s", r.code, r.body)
	}
	var s apidoc.Stats
	if err := json.Unmarshal([]byte(r.body), &s); err != nil {
		f.t.Fatalf("stats json: %v\n%s", err, r.body)
	}
	return s
}

func findTopic(s apidoc.Stats, name string) (apidoc.Topic, bool) {
	for _, t := range s.Topics {
		if t.TopicName == name {
			return t, true
		}
	}
	return apidoc.Topic{}, false
}

func findChannel(t apidoc.Topic, name string) (apidoc.Channel, bool) {
	for _, c := range t.Channels {
		if c.ChannelName == name {
			return c, true
		}
	}
	return apidoc.Channel{}, false
}

// waitFor polls cond until it returns nil or the deadline passes.
func waitFor(t testing.TB, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type quietLogger struct{}

func (quietLogger) Output(int, string) error { return nil }

func (f *fixture) producer() *gonsq.Producer {
	f.t.Helper()
	p, err := gonsq.NewProducer(f.tcp.Addr().String(), gonsq.NewConfig())
	if err != nil {
		f.t.Fatal(err)
	}
	p.SetLogger(quietLogger{}, gonsq.LogLevelError)
	f.t.Cleanup(p.Stop)
	return p
}

// consumer subscribes with a handler that keeps every message in flight.
func (f *fixture) consumer(topic, channel string, maxInFlight int) *gonsq.Consumer {
	f.t.Helper()
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = maxInFlight
	c, err := gonsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	c.SetLogger(quietLogger{}, gonsq.LogLevelError)
	c.AddHandler(gonsq.HandlerFunc(func(m *gonsq.Message) error {
		m.DisableAutoResponse()
		return nil
	}))
	if err := c.ConnectToNSQD(f.tcp.Addr().String()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(c.Stop)
	return c
}
