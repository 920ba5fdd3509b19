package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/cmd/internal/tooltest"
)

func start(t *testing.T, args ...string) *tooltest.Run {
	t.Helper()
	return tooltest.StartTool(t, run, args...)
}

// Two topics of one nsqd into one --destination-topic of another: every
// message arrives exactly once.
func TestRelayDestinationTopic(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	st, sh := src.TCPAddr().String(), src.HTTPAddr().String()
	got := tooltest.Consume(t, dst.TCPAddr().String(), "all", "c")
	a, b := tooltest.Bodies("a", 700), tooltest.Bodies("b", 300)
	tooltest.Publish(t, st, "ta", a)
	tooltest.Publish(t, st, "tb", b)
	r := start(t, "--nsqd-tcp-address="+st, "--topic=ta", "--topic=tb", "--destination-topic=all",
		"--destination-nsqd-tcp-address="+dst.TCPAddr().String(), "--status-every=0")
	tooltest.WaitFor(t, "relayed", func() bool {
		return tooltest.Drained(t, sh, "ta", "nsq_to_nsq", 700) && tooltest.Drained(t, sh, "tb", "nsq_to_nsq", 300)
	})
	r.Stop(t)
	tooltest.WaitFor(t, "1000 consumed", func() bool { return got.Len() >= 1000 })
	if !slices.Equal(tooltest.Sorted(got.Bodies()), tooltest.Strings(append(a, b...))) {
		t.Fatalf("%d messages at the destination, want 1000", got.Len())
	}
	tooltest.WaitFor(t, "destination drained", func() bool { return tooltest.Drained(t, dst.HTTPAddr().String(), "all", "c", 1000) })
	if c, _ := tooltest.Channel(t, dst.HTTPAddr().String(), "all", "c"); c.MessageCount != 1000 {
		t.Fatalf("destination message_count %d", c.MessageCount)
	}
}

// Round-robin over two destinations (same topic name): exactly half
// each; the source is found through nsqlookupd.
func TestRelayRoundRobinLookupd(t *testing.T) {
	l := tooltest.StartLookupd(t)
	src := tooltest.StartNSQD(t, l.TCPAddr().String())
	d1, d2 := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	c1 := tooltest.Consume(t, d1.TCPAddr().String(), "t", "c")
	c2 := tooltest.Consume(t, d2.TCPAddr().String(), "t", "c")
	bodies := tooltest.Bodies("m", 600)
	tooltest.Publish(t, src.TCPAddr().String(), "t", bodies)
	tooltest.WaitFor(t, "registered", func() bool { return tooltest.Producers(t, l.HTTPAddr().String(), "t") == 1 })
	r := start(t, "--lookupd-http-address="+l.HTTPAddr().String(), "--topic=t", "--mode=round-robin",
		"--destination-nsqd-tcp-address="+d1.TCPAddr().String(), "--destination-nsqd-tcp-address="+d2.TCPAddr().String())
	tooltest.WaitFor(t, "relayed", func() bool { return tooltest.Drained(t, src.HTTPAddr().String(), "t", "nsq_to_nsq", 600) })
	r.Stop(t)
	tooltest.WaitFor(t, "600 consumed", func() bool { return c1.Len()+c2.Len() >= 600 })
	if c1.Len() != 300 || c2.Len() != 300 {
		t.Fatalf("split %d/%d", c1.Len(), c2.Len())
	}
	if !slices.Equal(tooltest.Sorted(append(c1.Bodies(), c2.Bodies()...)), tooltest.Strings(bodies)) {
		t.Fatal("bodies differ")
	}
}

// JSON filtering: required field and value, whitelisted fields; bodies
// that are not JSON are dropped; a message without the field when a value
// is required is requeued (with backoff) until go-nsq gives up on it.
func TestRelayJSONFilter(t *testing.T) {
	src, dst := tooltest.StartNSQD(t), tooltest.StartNSQD(t)
	sh := src.HTTPAddr().String()
	got := tooltest.Consume(t, dst.TCPAddr().String(), "t", "c")
	in := []string{
		`{"type":"click","id":1,"user":"u1","x":1.5}`,
		`{"type":"view","id":2,"user":"u2"}`,
		`{"type":"click","id":3,"extra":[1,2]}`,
		`not json`,
		`{"id":4}`, // no type: requeued, then given up
		`{"type":7,"id":5}`,
		`{"type":"click","id":6,"x":2.25,"user":{"n":"u6"}}`,
	}
	var bodies [][]byte
	for _, s := range in {
		bodies = append(bodies, []byte(s))
	}
	tooltest.Publish(t, src.TCPAddr().String(), "t", bodies)
	r := start(t, "--nsqd-tcp-address="+src.TCPAddr().String(), "--topic=t", "--destination-nsqd-tcp-address="+dst.TCPAddr().String(),
		"--require-json-field=type", "--require-json-value=click",
		"--whitelist-json-field=id", "--whitelist-json-field=user", "--whitelist-json-field=x",
		"--consumer-opt=max_attempts,2", "--consumer-opt=default_requeue_delay,1ms", "--consumer-opt=max_backoff_duration,1ms")
	tooltest.WaitFor(t, "all answered", func() bool { return tooltest.Drained(t, sh, "t", "nsq_to_nsq", 7) })
	r.Stop(t)
	want := []string{`{"id":1,"user":"u1","x":1.5}`, `{"id":3}`, `{"id":6,"user":{"n":"u6"},"x":2.25}`}
	tooltest.WaitFor(t, "3 consumed", func() bool { return got.Len() >= 3 })
	if !slices.Equal(tooltest.Sorted(got.Bodies()), tooltest.Sorted(want)) {
		t.Fatalf("got %q, want %q", got.Bodies(), want)
	}
	if c, _ := tooltest.Channel(t, sh, "t", "nsq_to_nsq"); c.RequeueCount != 2 {
		t.Errorf("requeue_count %d, want 2", c.RequeueCount)
	}
	stderr := r.Stderr.String()
	for _, s := range []string{"ERROR: Unable to decode json: not json", "ERROR: missing field to check required value"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q", s)
		}
	}
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		field, value string
		whitelist    []string
		in, out      string
		pass         bool
		err          error
	}{
		{"", "", nil, `anything`, `anything`, true, nil},
		{"a", "", nil, `{"a":null}`, `{"a":null}`, true, nil},
		{"a", "", nil, `{"b":1}`, "", false, nil},
		{"a", "1", nil, `{"b":1}`, "", false, errBackoff},
		{"a", "1", nil, `{"a":1.0}`, `{"a":1.0}`, true, nil},
		{"a", "1", nil, `{"a":"1"}`, `{"a":"1"}`, true, nil},
		{"a", "1", nil, `{"a":true}`, "", false, nil},
		{"a", "x", nil, `{"a":1}`, "", false, nil},
		{"a", "", nil, `[1]`, "", false, errInvalid},
		{"", "", []string{"n", "f", "s"}, `{"n":12345678901,"f":-0.5,"s":"x","o":1}`, `{"f":-0.5,"n":12345678901,"s":"x"}`, true, nil},
		{"", "", []string{"n"}, `null`, `{}`, true, nil},
		{"", "", []string{"n"}, `{"n":1e300}`, `{"n":1e+300}`, true, nil},
	} {
		out, pass, err := newFilter(tc.field, tc.value, tc.whitelist).apply([]byte(tc.in))
		if string(out) != tc.out || pass != tc.pass || err != tc.err {
			t.Errorf("%+v: %q %v %v", tc, out, pass, err)
		}
	}
}

func TestCommandLine(t *testing.T) {
	tooltest.CommandLines(t, func(a ...string) *tooltest.Run { return start(t, a...) }, []tooltest.Case{
		{Args: []string{"--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--topic and --channel are required"},
		{Args: []string{"--topic=a/b", "--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--topic is invalid"},
		{Args: []string{"--topic=t", "--destination-topic=x y", "--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--destination-topic is invalid"},
		{Args: []string{"--topic=t", "--channel=c!", "--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--channel is invalid"},
		{Args: []string{"--topic=t"}, Code: 1, Stderr: "--nsqd-tcp-address or --lookupd-http-address required"},
		{Args: []string{"--topic=t", "--nsqd-tcp-address=a:1"}, Code: 1, Stderr: "--destination-nsqd-tcp-address required"},
		{Args: []string{"--producer-opt=nope"}, Code: 2, Stderr: "invalid value"},
		{Args: []string{"--version"}, Code: 0, Stdout: "nsq_to_nsq v1.3.0\n"},
	})
}
