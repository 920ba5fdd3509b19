package main

import (
	"strconv"
	"strings"
	"testing"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

func start(t *testing.T, args ...string) *tooltest.Run {
	t.Helper()
	return tooltest.StartTool(t, run, args...)
}

const (
	header1 = "------rate------+----------------depth----------------+--------------metadata---------------"
	header2 = "ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients"
)

// row is one parsed report line.
type row struct {
	ingress, egress, total, mem, disk, inflt, def, req, to, msgs, clients int64
}

func parseRow(t *testing.T, line string) row {
	t.Helper()
	f := strings.Fields(strings.NewReplacer("|", " ").Replace(line))
	if len(f) != 11 {
		t.Fatalf("row %q has %d fields", line, len(f))
	}
	var v [11]int64
	for i, s := range f {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("row %q: %v", line, err)
		}
		v[i] = n
	}
	return row{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]}
}

// One nsqd: the channel's depth, in-flight messages and client, --count
// reports.
func TestStatNSQD(t *testing.T) {
	n := tooltest.StartNSQD(t)
	tcp, http := n.TCPAddr().String(), n.HTTPAddr().String()
	tooltest.CreateChannel(t, http, "orders", "billing")
	tooltest.Publish(t, tcp, "orders", tooltest.Bodies("o", 10))

	// A consumer that holds 3 messages in flight.
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 3
	c, err := gonsq.NewConsumer("orders", "billing", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(nil, gonsq.LogLevelError)
	release := make(chan struct{})
	c.AddConcurrentHandlers(gonsq.HandlerFunc(func(*gonsq.Message) error { <-release; return nil }), 3)
	if err := c.ConnectToNSQD(tcp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(); <-c.StopChan })
	t.Cleanup(func() { close(release) })
	tooltest.WaitFor(t, "3 in flight", func() bool {
		ch, _ := tooltest.Channel(t, http, "orders", "billing")
		return ch.InFlightCount == 3
	})

	r := start(t, "--nsqd-http-address="+http, "--topic=orders", "--channel=billing", "--interval=20ms", "--count=3")
	if code := r.Wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr)
	}
	lines := r.Stdout.Lines()
	if len(lines) != 5 || lines[0] != header1 || lines[1] != header2 {
		t.Fatalf("output:\n%s", r.Stdout)
	}
	for _, l := range lines[2:] {
		got := parseRow(t, l)
		want := row{total: 7, mem: 7, inflt: 3, msgs: 10, clients: 1}
		if got != want {
			t.Fatalf("row %q = %+v, want %+v", l, got, want)
		}
	}
}

// Through nsqlookupd: figures are summed over every nsqd with the topic;
// headers come back every 25 reports.
func TestStatLookupdSumsAndHeaders(t *testing.T) {
	l := tooltest.StartLookupd(t)
	lh := l.HTTPAddr().String()
	a, b := tooltest.StartNSQD(t, l.TCPAddr().String()), tooltest.StartNSQD(t, l.TCPAddr().String())
	tooltest.CreateChannel(t, a.HTTPAddr().String(), "t", "c")
	tooltest.CreateChannel(t, b.HTTPAddr().String(), "t", "c")
	tooltest.Publish(t, a.TCPAddr().String(), "t", tooltest.Bodies("a", 10))
	tooltest.Publish(t, b.TCPAddr().String(), "t", tooltest.Bodies("b", 5))
	tooltest.WaitFor(t, "both nsqd registered", func() bool { return tooltest.Producers(t, lh, "t") == 2 })

	r := start(t, "--lookupd-http-address="+lh, "--topic=t", "--channel=c", "--interval=1ms", "--count=30")
	if code := r.Wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, r.Stderr)
	}
	lines := r.Stdout.Lines()
	if len(lines) != 2+24+2+6 { // headers before samples 0 and 25
		t.Fatalf("%d lines:\n%s", len(lines), r.Stdout)
	}
	for i, l := range lines {
		if i == 0 || i == 26 {
			if l != header1 || lines[i+1] != header2 {
				t.Fatalf("line %d: %q", i, l)
			}
			continue
		}
		if i == 1 || i == 27 {
			continue
		}
		if got, want := parseRow(t, l), (row{total: 15, mem: 15, msgs: 15}); got != want {
			t.Fatalf("row %q = %+v, want %+v", l, got, want)
		}
	}
}

func TestStatErrors(t *testing.T) {
	n := tooltest.StartNSQD(t)
	http := n.HTTPAddr().String()
	tooltest.CreateChannel(t, http, "t", "c")
	l := tooltest.StartLookupd(t)
	tooltest.CommandLines(t, func(a ...string) *tooltest.Run { return start(t, a...) }, []tooltest.Case{
		{Args: []string{"--nsqd-http-address=" + http, "--topic=t", "--channel=nope", "--count=1"}, Code: 1, Stderr: "failed to find channel(nope) in stats metadata for topic(t)"},
		{Args: []string{"--nsqd-http-address=" + http, "--topic=nope", "--channel=c", "--count=1"}, Code: 1, Stderr: "failed to get nsqd stats"},
		{Args: []string{"--lookupd-http-address=" + l.HTTPAddr().String(), "--topic=nope", "--channel=c", "--count=1"}, Code: 1, Stderr: "failed to get topic producers"},
		{Args: []string{"--nsqd-http-address=" + http, "--topic=t"}, Code: 1, Stderr: "--topic and --channel are required"},
		{Args: []string{"--nsqd-http-address=" + http, "--topic=t", "--channel=c", "--count=0"}, Code: 1, Stderr: "--count should be positive"},
		{Args: []string{"--nsqd-http-address=" + http, "--topic=t", "--channel=c", "--interval=0"}, Code: 1, Stderr: "--interval should be positive"},
		{Args: []string{"--nsqd-http-address=http://" + http, "--topic=t", "--channel=c"}, Code: 1, Stderr: "--nsqd-http-address error - address should not contain scheme"},
		{Args: []string{"--topic=t", "--channel=c"}, Code: 1, Stderr: "--nsqd-http-address or --lookupd-http-address required"},
		{Args: []string{"--count=x"}, Code: 2, Stderr: "invalid value"},
		{Args: []string{"--version"}, Code: 0, Stdout: "nsq_stat v1.3.0\n"},
	})
}

// Without --count it reports until a signal.
func TestStatUntilSignal(t *testing.T) {
	n := tooltest.StartNSQD(t)
	http := n.HTTPAddr().String()
	tooltest.CreateChannel(t, http, "t", "c")
	r := start(t, "--nsqd-http-address="+http, "--topic=t", "--channel=c", "--interval=5ms")
	tooltest.WaitFor(t, "three reports", func() bool { return len(r.Stdout.Lines()) >= 5 })
	r.Stop(t)
}
