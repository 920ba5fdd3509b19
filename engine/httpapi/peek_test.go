package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/wire/apidoc"
)

func (f *fixture) peek(target string) apidoc.Peek {
	f.t.Helper()
	r := f.do("GET", target, nil)
	if r.code != http.StatusOK {
		f.t.Fatalf("%s: %d %s", target, r.code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		f.t.Fatalf("content type %q", ct)
	}
	var d apidoc.Peek
	dec := json.NewDecoder(strings.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		f.t.Fatalf("%s: %v in %s", target, err, r.body)
	}
	return d
}

// TestPeekHTTP: /channel/peek and /topic/peek list the bodies (text or
// base64, cut at max_body with the whole size), in delivery order, with
// the IDs a consumer then receives, and the held ones on request.
func TestPeekHTTP(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=c", nil))
	binary := []byte{0xff, 0x00, 0xfe}
	long := bytes.Repeat([]byte("x"), 5000)
	for _, b := range [][]byte{[]byte("hello"), binary, long} {
		f.expect(f.do("POST", "/pub?topic=t", b), http.StatusOK, "OK")
	}
	d := f.peek("/channel/peek?topic=t&channel=c&n=5")
	if d.Topic != "t" || d.Channel != "c" || d.More || len(d.Messages) != 3 {
		t.Fatalf("doc %+v", d)
	}
	m := d.Messages
	if m[0].Body != "hello" || m[0].BodyEncoding != "utf-8" || m[0].Size != 5 || m[0].Truncated || m[0].State != "ready" || m[0].Attempts != 0 {
		t.Fatalf("first %+v", m[0])
	}
	if m[1].Body != base64.StdEncoding.EncodeToString(binary) || m[1].BodyEncoding != "base64" || m[1].Size != 3 {
		t.Fatalf("binary %+v", m[1])
	}
	if len(m[2].Body) != 4096 || !m[2].Truncated || m[2].Size != 5000 {
		t.Fatalf("long: %d bytes, %+v", len(m[2].Body), m[2].Truncated)
	}
	if ts := time.Unix(0, m[0].Timestamp); time.Since(ts) > time.Minute || len(m[0].ID) != 16 {
		t.Fatalf("timestamp %s id %q", ts, m[0].ID)
	}
	if d := f.peek("/channel/peek?topic=t&channel=c&n=1&skip=2&max_body=10"); len(d.Messages) != 1 || d.Messages[0].Body != "xxxxxxxxxx" || d.Skip != 2 {
		t.Fatalf("skip 2: %+v", d)
	}
	// a cut inside a character ends before it: still text
	f.expect(f.do("POST", "/pub?topic=u", []byte("aé€")), http.StatusOK, "OK")
	if d := f.peek("/topic/peek?topic=u&max_body=5"); len(d.Messages) != 1 || d.Messages[0].Body != "aé" || d.Messages[0].BodyEncoding != "utf-8" || !d.Messages[0].Truncated || d.Messages[0].Size != 6 {
		t.Fatalf("cut inside a character: %+v", d.Messages)
	}
	if d := f.peek("/topic/peek?topic=t"); len(d.Messages) != 3 || d.Channel != "" || d.Messages[0].ID != m[0].ID {
		t.Fatalf("topic peek %+v", d)
	}

	// A consumer receives the peeked messages, with the peeked IDs; held
	// ones are then listed as in flight.
	got := make(chan string, 3)
	cfg := gonsq.NewConfig()
	cfg.MaxInFlight = 3
	c, err := gonsq.NewConsumer("t", "c", cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quietLogger{}, gonsq.LogLevelError)
	c.AddHandler(gonsq.HandlerFunc(func(msg *gonsq.Message) error {
		msg.DisableAutoResponse()
		got <- string(msg.ID[:])
		return nil
	}))
	if err := c.ConnectToNSQD(f.tcp.Addr().String()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for i := 0; i < 3; i++ {
		select {
		case id := <-got:
			if id != m[i].ID {
				t.Fatalf("delivered #%d %s, peeked %s", i, id, m[i].ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("not delivered")
		}
	}
	if d := f.peek("/channel/peek?topic=t&channel=c&n=5"); len(d.Messages) != 0 {
		t.Fatalf("all in flight, yet ready: %+v", d)
	}
	d = f.peek("/channel/peek?topic=t&channel=c&n=5&held=true")
	if len(d.Messages) != 3 || d.Messages[0].State != "in_flight" || d.Messages[0].Attempts != 1 || d.Messages[0].DueAt == 0 {
		t.Fatalf("held %+v", d)
	}
}

// TestPeekLeavesStatsAlone: /stats is the same before and after peeking.
func TestPeekLeavesStatsAlone(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=c", nil))
	for i := 0; i < 4; i++ {
		f.expect(f.do("POST", "/pub?topic=t", []byte(fmt.Sprint(i))), http.StatusOK, "OK")
	}
	strip := func(s string) string { // uptime and memory move by themselves
		var doc map[string]any
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(doc["topics"])
	}
	before := strip(f.do("GET", "/stats?format=json&include_mem=false", nil).body)
	for i := 0; i < 3; i++ {
		f.peek("/channel/peek?topic=t&channel=c&n=100&held=true")
		f.peek("/topic/peek?topic=t&n=100")
	}
	if after := strip(f.do("GET", "/stats?format=json&include_mem=false", nil).body); after != before {
		t.Fatalf("stats changed:\n%s\n%s", before, after)
	}
}

// TestPeekErrors: the arguments' errors, and --allow-peek=false.
func TestPeekErrors(t *testing.T) {
	f := newFixture(t, fixtureConfig{})
	f.expectV1Empty(f.do("POST", "/topic/create?topic=t", nil))
	f.expectV1Empty(f.do("POST", "/channel/create?topic=t&channel=c", nil))
	f.expectV1Error(f.do("GET", "/channel/peek?topic=t", nil), http.StatusBadRequest, "MISSING_ARG_CHANNEL")
	f.expectV1Error(f.do("GET", "/channel/peek?topic=t&channel=nope", nil), http.StatusNotFound, "CHANNEL_NOT_FOUND")
	f.expectV1Error(f.do("GET", "/channel/peek?topic=nope&channel=c", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
	f.expectV1Error(f.do("GET", "/topic/peek", nil), http.StatusBadRequest, "MISSING_ARG_TOPIC")
	f.expectV1Error(f.do("GET", "/topic/peek?topic=nope", nil), http.StatusNotFound, "TOPIC_NOT_FOUND")
	for _, q := range []string{"n=0", "n=1001", "n=x"} {
		f.expectV1Error(f.do("GET", "/channel/peek?topic=t&channel=c&"+q, nil), http.StatusBadRequest, "INVALID_ARG_N")
	}
	f.expectV1Error(f.do("GET", "/channel/peek?topic=t&channel=c&skip=-1", nil), http.StatusBadRequest, "INVALID_ARG_SKIP")
	f.expectV1Error(f.do("GET", "/topic/peek?topic=t&max_body=0", nil), http.StatusBadRequest, "INVALID_ARG_MAX_BODY")
	f.expectV1Error(f.do("POST", "/topic/peek?topic=t", nil), http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")

	off := newFixture(t, fixtureConfig{mutate: func(o *Options) { o.NoPeek = true }})
	off.expectV1Empty(off.do("POST", "/topic/create?topic=t", nil))
	off.expectV1Empty(off.do("POST", "/channel/create?topic=t&channel=c", nil))
	off.expectV1Error(off.do("GET", "/channel/peek?topic=t&channel=c", nil), http.StatusForbidden, "PEEK_DISABLED")
	off.expectV1Error(off.do("GET", "/topic/peek?topic=t", nil), http.StatusForbidden, "PEEK_DISABLED")
}
