// Package tooltest helps the tests of the NSQ utilities: it starts nsqd
// and nsqlookupd in-process on 127.0.0.1, runs a tool's run function as a
// goroutine with captured output and a signal channel, publishes,
// consumes and reads /stats. Everything started is stopped when the test
// ends.
package tooltest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire/lg/lgtest"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/engine/nsqd"
	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
	"github.com/nsqfast/nsq/lookup"
	"github.com/nsqfast/nsq/lookup/lookuptest"
	"github.com/nsqfast/nsq/wire/apidoc"
)

// StartNSQD runs an nsqd on 127.0.0.1 ports from :0 with a fresh data
// path, broadcasting 127.0.0.1 and registered with the given nsqlookupd
// TCP addresses.
func StartNSQD(t testing.TB, lookupdTCP ...string) *nsqd.NSQD {
	t.Helper()
	o := nsqdtest.Options(t)
	o.NSQLookupdTCPAddresses = lookupdTCP
	return nsqdtest.Start(t, o)
}

// StartLookupd runs an nsqlookupd on 127.0.0.1 ports from :0.
func StartLookupd(t testing.TB) *lookup.NSQLookupd {
	t.Helper()
	return lookuptest.Start(t, "127.0.0.1:0", nil)
}

// WaitFor polls cond every 10ms until it holds, failing the test after
// 20s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer safe for concurrent use.
type Buffer = lgtest.Buffer

// Run is a tool running in a goroutine.
type Run struct {
	Stdout, Stderr *Buffer
	sigs           chan os.Signal
	done           chan struct{}
	code           int
}

// RunFunc is a tool's run function bound to its arguments.
type RunFunc func(stdout, stderr io.Writer, sigs <-chan os.Signal) int

// Start runs fn in a goroutine. When the test ends, a tool still running
// is sent SIGTERM and waited for.
func Start(t testing.TB, fn RunFunc) *Run {
	t.Helper()
	r := &Run{Stdout: &Buffer{}, Stderr: &Buffer{}, sigs: make(chan os.Signal, 4), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.code = fn(r.Stdout, r.Stderr, r.sigs)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.sigs <- syscall.SIGTERM
			select {
			case <-r.done:
			case <-time.After(40 * time.Second):
				t.Errorf("tool still running 40s after SIGTERM; stderr:\n%s", r.Stderr)
			}
		}
	})
	return r
}

// Signal delivers s to the tool.
func (r *Run) Signal(s os.Signal) { r.sigs <- s }

// Wait waits for the tool to return (at most 40s) and gives its exit
// status.
func (r *Run) Wait(t testing.TB) int {
	t.Helper()
	select {
	case <-r.done:
		return r.code
	case <-time.After(40 * time.Second):
		t.Fatalf("tool did not exit; stderr:\n%s", r.Stderr)
		return -1
	}
}

// Stop sends SIGTERM and waits for the tool; it fails the test unless
// the tool exits with 0.
func (r *Run) Stop(t testing.TB) {
	t.Helper()
	r.Signal(syscall.SIGTERM)
	if code := r.Wait(t); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, r.Stderr)
	}
}

// Publish publishes bodies to topic on the nsqd at tcpAddr, in order, in
// batches of up to 100 (MPUB).
func Publish(t testing.TB, tcpAddr, topic string, bodies [][]byte) {
	t.Helper()
	p, err := gonsq.NewProducer(tcpAddr, gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(nil, gonsq.LogLevelError)
	defer p.Stop()
	for len(bodies) > 0 {
		n := min(len(bodies), 100)
		if err := p.MultiPublish(topic, bodies[:n]); err != nil {
			t.Fatalf("publish to %s: %v", topic, err)
		}
		bodies = bodies[n:]
	}
}

// Bodies is "<prefix>0" ... "<prefix>n-1".
func Bodies(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s%d", prefix, i)
	}
	return out
}

// Consumer collects the bodies of a channel's messages.
type Consumer struct {
	mu     sync.Mutex
	bodies []string
}

// Consume subscribes to topic/channel on the nsqd at tcpAddr and collects
// every message body (finishing each) until the test ends.
func Consume(t testing.TB, tcpAddr, topic, channel string) *Consumer {
	t.Helper()
	c, err := gonsq.NewConsumer(topic, channel, gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(nil, gonsq.LogLevelError)
	col := &Consumer{}
	c.AddHandler(gonsq.HandlerFunc(func(m *gonsq.Message) error {
		col.mu.Lock()
		col.bodies = append(col.bodies, string(m.Body))
		col.mu.Unlock()
		return nil
	}))
	if err := c.ConnectToNSQD(tcpAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		<-c.StopChan
	})
	return col
}

// Bodies is a copy of what was collected, in arrival order.
func (c *Consumer) Bodies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

// Len is how many messages were collected.
func (c *Consumer) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// Stats is the nsqd's /stats JSON document (without clients).
func Stats(t testing.TB, httpAddr string) apidoc.Stats {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/stats?format=json&include_clients=false")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s apidoc.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Channel is topic/channel in the nsqd's /stats; ok is false when absent.
func Channel(t testing.TB, httpAddr, topic, channel string) (c apidoc.Channel, ok bool) {
	t.Helper()
	for _, tp := range Stats(t, httpAddr).Topics {
		if tp.TopicName != topic {
			continue
		}
		for _, ch := range tp.Channels {
			if ch.ChannelName == channel {
				return ch, true
			}
		}
	}
	return c, false
}

// Drained reports whether topic/channel exists and every message
// published to it has been finished: nothing queued, in flight or
// deferred, and at least want messages went through it.
func Drained(t testing.TB, httpAddr, topic, channel string, want uint64) bool {
	t.Helper()
	c, ok := Channel(t, httpAddr, topic, channel)
	return ok && c.MessageCount >= want && c.Depth == 0 && c.InFlightCount == 0 && c.DeferredCount == 0
}

// CreateChannel creates topic and its channel over the HTTP API.
func CreateChannel(t testing.TB, httpAddr, topic, channel string) {
	t.Helper()
	post(t, httpAddr, "/topic/create", url.Values{"topic": {topic}})
	post(t, httpAddr, "/channel/create", url.Values{"topic": {topic}, "channel": {channel}})
}

func post(t testing.TB, httpAddr, path string, q url.Values) {
	t.Helper()
	resp, err := http.Post("http://"+httpAddr+path+"?"+q.Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", path, resp.Status)
	}
}

// Producers is how many nsqd the nsqlookupd at httpAddr lists for topic.
func Producers(t testing.TB, httpAddr, topic string) int {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/lookup?topic=" + url.QueryEscape(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	var doc struct {
		Producers []json.RawMessage `json:"producers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return len(doc.Producers)
}

// Strings is bodies as strings, sorted.
func Strings(bodies [][]byte) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}

// Sorted is a sorted copy of s.
func Sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// Case is a command line and what the tool must do with it: exit with
// Code, print Stdout exactly (when not empty) and Stderr somewhere in
// its error output.
type Case struct {
	Args   []string
	Code   int
	Stdout string
	Stderr string
}

// CommandLines runs each case through start (which runs the tool with
// the arguments given) and checks the outcome.
func CommandLines(t *testing.T, start func(args ...string) *Run, cases []Case) {
	t.Helper()
	for _, c := range cases {
		r := start(c.Args...)
		if code := r.Wait(t); code != c.Code {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", c.Args, code, c.Code, r.Stderr)
		}
		if c.Stdout != "" && r.Stdout.String() != c.Stdout {
			t.Errorf("%q: stdout %q, want %q", c.Args, r.Stdout, c.Stdout)
		}
		if !strings.Contains(r.Stderr.String(), c.Stderr) {
			t.Errorf("%q: stderr %q, want %q in it", c.Args, r.Stderr, c.Stderr)
		}
	}
}

// Tool is the run function of a tool that reads no stdin.
type Tool func(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int

// StartTool runs tool with args, as Start does.
func StartTool(t testing.TB, tool Tool, args ...string) *Run {
	t.Helper()
	return Start(t, func(stdout, stderr io.Writer, sigs <-chan os.Signal) int {
		return tool(args, stdout, stderr, sigs)
	})
}

// ReadFiles is every file below dir (by path relative to dir) with its
// content; files named *.gz are read decompressed (all their members).
func ReadFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
