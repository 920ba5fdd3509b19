package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

func start(t *testing.T, args ...string) *tooltest.Run {
	t.Helper()
	return tooltest.StartTool(t, run, args...)
}

// endpoint is a test HTTP server that records what it is sent.
type endpoint struct {
	*httptest.Server
	status int // answered; 200 by default

	mu       sync.Mutex
	bodies   []string
	requests []*http.Request
}

func newEndpoint(t *testing.T, status int) *endpoint {
	e := &endpoint{status: status}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodGet {
			b = []byte(r.URL.Query().Get("msg"))
		}
		e.mu.Lock()
		if e.status == 0 || e.status/100 == 2 {
			e.bodies = append(e.bodies, string(b))
		}
		e.requests = append(e.requests, r)
		e.mu.Unlock()
		if e.status != 0 {
			w.WriteHeader(e.status)
		}
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := slices.Clone(e.bodies)
	slices.Sort(out)
	return out
}

func (e *endpoint) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.bodies)
}

func (e *endpoint) first() *http.Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests[0]
}

// POST round-robin over two endpoints: each gets exactly half, with the
// body, user agent, content type and custom headers.
func TestPostRoundRobin(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	a, b := newEndpoint(t, 0), newEndpoint(t, http.StatusAccepted)
	bodies := tooltest.Bodies("m", 1000)
	tooltest.Publish(t, tcp, "t", bodies)
	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=t", "--post="+a.URL+"/in", "--post="+b.URL+"/in",
		"--mode=round-robin", "--content-type=application/json", "--header=X-Test: yes", "--header=Authorization:Bearer t0k",
		"--n=16", "--status-every=200")
	tooltest.WaitFor(t, "all acknowledged", func() bool { return tooltest.Drained(t, httpAddr, "t", "nsq_to_http", 1000) })
	r.Stop(t)
	if a.count() != 500 || b.count() != 500 {
		t.Fatalf("split %d/%d, want 500/500", a.count(), b.count())
	}
	if got := slices.Sorted(slices.Values(append(a.got(), b.got()...))); !slices.Equal(got, tooltest.Strings(bodies)) {
		t.Fatalf("bodies differ")
	}
	req := a.first()
	for k, want := range map[string]string{
		"User-Agent": "nsq_to_http v1.3.0", "Content-Type": "application/json",
		"X-Test": "yes", "Authorization": "Bearer t0k",
	} {
		if got := req.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if req.Method != http.MethodPost || req.URL.Path != "/in" {
		t.Errorf("%s %s", req.Method, req.URL)
	}
	// --status-every with two endpoints: per endpoint and aggregate lines.
	for _, want := range []string{"[aggregate]: finished 200 - 99th: ", "[" + a.URL + "/in]: finished 200 - "} {
		if !strings.Contains(r.Stderr.String(), want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

// GET with the message escaped into the URL; the host pool stops using an
// endpoint that fails, and the messages it failed are sent again.
func TestGetHostPoolAvoidsFailing(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	good, bad := newEndpoint(t, 0), newEndpoint(t, http.StatusInternalServerError)
	bodies := [][]byte{[]byte("a b&c=d/é")}
	bodies = append(bodies, tooltest.Bodies("g", 299)...)
	tooltest.Publish(t, tcp, "t", bodies)
	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=t", "--get="+bad.URL+"/x?msg=%s", "--get="+good.URL+"/x?msg=%s",
		"--n=4", "--consumer-opt=max_backoff_duration,10ms", "--consumer-opt=default_requeue_delay,1ms")
	tooltest.WaitFor(t, "all acknowledged", func() bool { return tooltest.Drained(t, httpAddr, "t", "nsq_to_http", 300) })
	r.Stop(t)
	if got := good.got(); !slices.Equal(got, tooltest.Strings(bodies)) {
		t.Fatalf("good endpoint got %d messages, want %d", len(got), len(bodies))
	}
	bad.mu.Lock()
	failed := len(bad.requests)
	bad.mu.Unlock()
	// Each handler goroutine may try the bad endpoint once before it is
	// marked down for 30s.
	if failed < 1 || failed > 4 {
		t.Fatalf("bad endpoint tried %d times", failed)
	}
	if c, _ := tooltest.Channel(t, httpAddr, "t", "nsq_to_http"); c.RequeueCount != uint64(failed) {
		t.Errorf("requeue_count %d, want %d", c.RequeueCount, failed)
	}
}

// Any other --mode sends every message to every endpoint; --sample=0
// sends nothing.
func TestModeAllAndSample(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	a, b := newEndpoint(t, 0), newEndpoint(t, 0)
	bodies := tooltest.Bodies("m", 200)
	tooltest.Publish(t, tcp, "t", bodies)
	r := start(t, "--nsqd-tcp-address="+tcp, "--topic=t", "--post="+a.URL, "--post="+b.URL, "--mode=all")
	tooltest.WaitFor(t, "all acknowledged", func() bool { return tooltest.Drained(t, httpAddr, "t", "nsq_to_http", 200) })
	r.Stop(t)
	if !slices.Equal(a.got(), tooltest.Strings(bodies)) || !slices.Equal(b.got(), tooltest.Strings(bodies)) {
		t.Fatalf("got %d and %d, want 200 each", a.count(), b.count())
	}

	tooltest.Publish(t, tcp, "s", bodies)
	r = start(t, "--nsqd-tcp-address="+tcp, "--topic=s", "--post="+a.URL, "--sample=0")
	tooltest.WaitFor(t, "all acknowledged", func() bool { return tooltest.Drained(t, httpAddr, "s", "nsq_to_http", 200) })
	r.Stop(t)
	if a.count() != 200 {
		t.Fatalf("--sample=0 sent %d", a.count()-200)
	}
}

// Epsilon-greedy through nsqlookupd: everything reaches the endpoints.
func TestEpsilonGreedyLookupd(t *testing.T) {
	l := tooltest.StartLookupd(t)
	n := tooltest.StartNSQD(t, l.TCPAddr().String())
	tcp, httpAddr := n.TCPAddr().String(), n.HTTPAddr().String()
	a, b := newEndpoint(t, 0), newEndpoint(t, 0)
	bodies := tooltest.Bodies("m", 300)
	tooltest.Publish(t, tcp, "t", bodies)
	tooltest.WaitFor(t, "registered", func() bool { return tooltest.Producers(t, l.HTTPAddr().String(), "t") == 1 })
	r := start(t, "--lookupd-http-address="+l.HTTPAddr().String(), "--topic=t", "--post="+a.URL, "--post="+b.URL, "--mode=epsilon-greedy")
	tooltest.WaitFor(t, "all acknowledged", func() bool { return tooltest.Drained(t, httpAddr, "t", "nsq_to_http", 300) })
	r.Stop(t)
	if got := slices.Sorted(slices.Values(append(a.got(), b.got()...))); !slices.Equal(got, tooltest.Strings(bodies)) {
		t.Fatalf("got %d+%d", a.count(), b.count())
	}
}

func TestParseCustomHeaders(t *testing.T) {
	got, err := parseCustomHeaders([]string{"a: 1", "b:2", " c : x:y "})
	if err != nil || !reflect.DeepEqual(got, map[string]string{"a": "1", "b": "2", "c": "x:y"}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"a:", ": v", ":", "novalue"} {
		if _, err := parseCustomHeaders([]string{"ok: 1", bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCommandLine(t *testing.T) {
	tooltest.CommandLines(t, func(a ...string) *tooltest.Run { return start(t, a...) }, []tooltest.Case{
		{Args: []string{"--nsqd-tcp-address=a:1", "--post=http://x"}, Code: 1, Stderr: "--topic and --channel are required"},
		{Args: []string{"--topic=t", "--post=http://x"}, Code: 1, Stderr: "--nsqd-tcp-address or --lookupd-http-address required"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--get or --post required"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--post=http://x", "--get=http://x/%s"}, Code: 1, Stderr: "use --get or --post not both"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--get=http://x/"}, Code: 1, Stderr: "invalid GET address - must be a printf string"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--get=http://x/%s", "--content-type=text/plain"}, Code: 1, Stderr: "--content-type only used with --post"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--post=http://x", "--content-type="}, Code: 1, Stderr: "--content-type requires a value when used"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--post=http://x", "--sample=1.5"}, Code: 1, Stderr: "--sample must be between 0.0 and 1.0"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1", "--post=http://x", "--header=bad"}, Code: 1, Stderr: "--header value format"},
		{Args: []string{"--version"}, Code: 0, Stdout: "nsq_to_http v1.3.0\n"},
	})
}
