package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/wire/apidoc"
)

// TestStatsJSONShape checks that the document decodes into apidoc.Stats
// and encodes back to the very same bytes: no key unknown to apidoc (whose
// order and flags are pinned to upstream's by its own tests), none missing,
// same order.
func TestStatsJSONShape(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	f.producer().Publish("t1", []byte("hello"))
	f.consumer("t1", "ch1", 1)
	waitFor(t, func() error {
		tp, _ := findTopic(f.stats(""), "t1")
		if c, ok := findChannel(tp, "ch1"); !ok || c.InFlightCount != 1 {
			return fmt.Errorf("consumer not ready: %+v", tp)
		}
		return nil
	})
	for _, q := range []string{"", "include_mem=false", "topic=nope", "include_clients=false", "channel=ch1"} {
		r := f.do("GET", "/stats?format=json&"+q, nil)
		if r.code != http.StatusOK || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%s: %d %v", q, r.code, r.header)
		}
		var s apidoc.Stats
		if err := json.Unmarshal([]byte(r.body), &s); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(&s)
		if string(again) != r.body {
			t.Fatalf("%s: round trip differs:\n%s\n%s", q, r.body, again)
		}
	}
}

func TestStatsClientsAndProducers(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	p := f.producer()
	for range 3 {
		if err := p.Publish("t1", []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Publish("t2", []byte("x")); err != nil {
		t.Fatal(err)
	}
	f.consumer("t1", "ch1", 1)
	var s apidoc.Stats
	waitFor(t, func() error {
		s = f.stats("")
		tp, _ := findTopic(s, "t1")
		if c, ok := findChannel(tp, "ch1"); !ok || c.InFlightCount != 1 || c.Depth != 2 {
			return fmt.Errorf("channel not settled: %+v", tp)
		}
		return nil
	})
	host, _ := os.Hostname()

	if s.Version != "1.3.0" || s.Health != "OK" || s.StartTime != f.eng.StartTime().Unix() || s.Memory == nil {
		t.Fatalf("header %+v", s)
	}
	if len(s.Topics) != 2 || s.Topics[0].TopicName != "t1" || s.Topics[1].TopicName != "t2" {
		t.Fatalf("topics %+v", s.Topics)
	}
	t1 := s.Topics[0]
	if t1.MessageCount != 3 || t1.MessageBytes != 15 || t1.Depth != 0 || len(t1.Channels) != 1 {
		t.Fatalf("t1 %+v", t1)
	}
	ch := t1.Channels[0]
	if ch.ClientCount != 1 || len(ch.Clients) != 1 {
		t.Fatalf("ch1 %+v", ch)
	}
	c := ch.Clients[0]
	if c.Version != "V2" || c.State != 3 || c.ReadyCount != 1 || c.InFlightCount != 1 || c.MessageCount != 1 ||
		c.UserAgent != "go-nsq/1.1.0" || c.Hostname != host || c.ClientID == "" ||
		!strings.HasPrefix(c.RemoteAddress, "127.0.0.1:") || c.ConnectTime == 0 || len(c.PubCounts) != 0 {
		t.Fatalf("consumer %+v", c)
	}
	if len(s.Producers) != 1 {
		t.Fatalf("producers %+v", s.Producers)
	}
	pr := s.Producers[0]
	// one pub count only, as upstream (here: the first by name)
	if pr.State != 0 || pr.UserAgent != "go-nsq/1.1.0" || pr.Hostname != host ||
		len(pr.PubCounts) != 1 || pr.PubCounts[0] != (apidoc.PubCount{Topic: "t1", Count: 3}) {
		t.Fatalf("producer %+v", pr)
	}

	// topic filter: the producer's pub count for that topic
	s = f.stats("topic=t2")
	if len(s.Topics) != 1 || s.Topics[0].TopicName != "t2" || len(s.Producers) != 1 ||
		len(s.Producers[0].PubCounts) != 1 || s.Producers[0].PubCounts[0] != (apidoc.PubCount{Topic: "t2", Count: 1}) {
		t.Fatalf("topic filter %+v", s)
	}
	// a consumer filtered by a topic it did not publish to has no pub counts
	if len(s.Topics[0].Channels) != 0 {
		t.Fatalf("t2 channels %+v", s.Topics[0].Channels)
	}

	// unknown topic: null topics and producers, memory still there
	r := f.do("GET", "/stats?format=json&topic=nope", nil)
	if !strings.Contains(r.body, `"topics":null,"memory":{`) || !strings.HasSuffix(r.body, `},"producers":null}`) {
		t.Fatalf("unknown topic: %s", r.body)
	}
	// channel filter drops topics without the channel
	s = f.stats("channel=ch1")
	if len(s.Topics) != 1 || s.Topics[0].TopicName != "t1" {
		t.Fatalf("channel filter %+v", s.Topics)
	}
	s = f.stats("channel=nope")
	if s.Topics == nil || len(s.Topics) != 0 {
		t.Fatalf("unknown channel %+v", s.Topics)
	}
	// include_clients=false: null client lists and producers
	r = f.do("GET", "/stats?format=json&include_clients=false&include_mem=0", nil)
	if !strings.Contains(r.body, `"client_count":1,"clients":null,`) || !strings.HasSuffix(r.body, `"producers":null}`) ||
		strings.Contains(r.body, `"memory"`) {
		t.Fatalf("include_clients=false: %s", r.body)
	}
	// an unknown boolean value means the default (true)
	r = f.do("GET", "/stats?format=json&include_clients=no&include_mem=yes", nil)
	if !strings.Contains(r.body, `"clients":[{`) || !strings.Contains(r.body, `"memory":{`) {
		t.Fatalf("default booleans: %s", r.body)
	}
	// no producer: null
	r = f.do("GET", "/stats?format=json&include_mem=false", nil)
	if strings.Contains(r.body, `"producers":null`) {
		t.Fatalf("producers missing: %s", r.body)
	}
}

func TestStatsNoProducers(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	f.do("POST", "/topic/create?topic=t", nil)
	r := f.do("GET", "/stats?format=json&include_mem=false", nil)
	want := fmt.Sprintf(`{"version":"1.3.0","health":"OK","start_time":%d,"topics":[{"topic_name":"t","channels":[],"depth":0,"backend_depth":0,"message_count":0,"message_bytes":0,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":null}}],"producers":null}`,
		f.eng.StartTime().Unix())
	f.expect(r, http.StatusOK, want)

	// no topics: an empty list
	g := newFixture(t, fixtureConfig{})
	r = g.do("GET", "/stats?format=json&include_mem=false", nil)
	if !strings.Contains(r.body, `"topics":[],"producers":null}`) {
		t.Fatalf("no topics: %s", r.body)
	}
}

func TestStatsText(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	f.producer().Publish("t1", []byte("hello"))
	f.consumer("t1", "ch1", 1)
	f.do("POST", "/topic/create?topic=t2", nil)
	f.do("POST", "/topic/pause?topic=t2", nil)
	waitFor(t, func() error {
		tp, _ := findTopic(f.stats(""), "t1")
		if c, ok := findChannel(tp, "ch1"); !ok || c.InFlightCount != 1 {
			return fmt.Errorf("consumer not ready: %+v", tp)
		}
		return nil
	})
	host, _ := os.Hostname()
	q := regexp.QuoteMeta
	for _, query := range []string{"", "?format=text", "?format=xml"} {
		r := f.do("GET", "/stats"+query, nil)
		if r.code != http.StatusOK || r.header.Get("Content-Type") != "text/plain; charset=utf-8" ||
			r.header.Get("X-NSQ-Content-Type") != "nsq; version=1.0" {
			t.Fatalf("%d %v", r.code, r.header)
		}
		pattern := "^" + q("nsqd v1.3.0 (built w/go") + `[^)]+\)\n` +
			`start_time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)\n` +
			`uptime [0-9.]+[mµn]?s\n` +
			`\nHealth: OK\n` +
			`\nMemory:\n` + strings.Repeat(`   [a-z_0-9]+ +\t\d+\n`, 13) +
			`\nTopics:` +
			q("\n   [t1             ] depth: 0     be-depth: 0     msgs: 1        e2e%: \n") +
			q("      [ch1                      ] depth: 0     be-depth: 0     inflt: 1    def: 0    re-q: 0     timeout: 0     msgs: 1        e2e%: \n") +
			q("        [V2 "+host+":") + `\d+` + q(" go-nsq/1.1.0") + ` *` + q("] state: 3 inflt: 1    rdy: 1    fin: 0        re-q: 0        msgs: 1        connected: ") + `\d+s\n` +
			q("\n*P [t2             ] depth: 0     be-depth: 0     msgs: 0        e2e%: \n") +
			`\nProducers:\n` +
			q("   [V2 "+host+":") + `\d+` + q(" go-nsq/1.1.0") + ` *` + q("] msgs: 1        topics: t1=1 connected: ") + `\d+s\n$`
		if !regexp.MustCompile(pattern).MatchString(r.body) {
			t.Fatalf("text stats:\n%s", r.body)
		}
	}
	r := f.do("GET", "/stats?include_mem=false&topic=nope", nil)
	if !strings.HasSuffix(r.body, "\nHealth: OK\n\nTopics: None\n\nProducers: None\n") {
		t.Fatalf("text, unknown topic:\n%s", r.body)
	}
}

// Upstream counts in a channel's message_count every message the channel
// received from its topic (3 here: 1 in flight + 2 waiting), and reports
// backend_depth 0 while messages fit the in-memory queue.
func TestStatsUpstreamChannelCounters(t *testing.T) {
	f := newFixture(t, fixtureConfig{tcp: true})
	p := f.producer()
	for range 3 {
		if err := p.Publish("t1", []byte("hello")); err != nil {
			t.Fatal(err)
		}
	}
	f.consumer("t1", "ch1", 1)
	var ch apidoc.Channel
	waitFor(t, func() error {
		tp, _ := findTopic(f.stats(""), "t1")
		var ok bool
		if ch, ok = findChannel(tp, "ch1"); !ok || ch.InFlightCount != 1 {
			return fmt.Errorf("channel not settled: %+v", tp)
		}
		return nil
	})
	if ch.MessageCount != 3 || ch.Depth != 2 || ch.BackendDepth != 0 {
		t.Fatalf("channel message_count %d depth %d backend_depth %d, want 3 2 0 as upstream",
			ch.MessageCount, ch.Depth, ch.BackendDepth)
	}
}
