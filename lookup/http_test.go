package lookup

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/wire/lookupdoc"
)

func TestPingAndInfo(t *testing.T) {
	l := startLookupd(t, nil)
	r := get(t, l, "/ping")
	if r.code != 200 || r.body != "OK" || r.header.Get("Content-Type") != "text/plain; charset=utf-8" || r.header.Get("X-NSQ-Content-Type") != "" {
		t.Fatalf("/ping: %+v", r)
	}
	expectHTTP(t, get(t, l, "/info"), 200, `{"version":"1.3.0"}`)
}

// TestAcceptHeaderChangesNothing: v1.3.0 has one response form; the
// "application/vnd.nsq; version=1.0" Accept header that go-nsq and nsqd
// send gets the same bytes as a request without it.
func TestAcceptHeaderChangesNothing(t *testing.T) {
	l := startLookupd(t, nil)
	post(t, l, "/channel/create?topic=t&channel=c")
	for _, target := range []string{"/info", "/topics", "/channels?topic=t", "/lookup?topic=t", "/lookup?topic=nope", "/lookup", "/nodes", "/debug"} {
		plain := get(t, l, target)
		v1 := doHTTP(t, l, http.MethodGet, target, "Accept", "application/vnd.nsq; version=1.0")
		if plain.code != v1.code || plain.body != v1.body || plain.header.Get("Content-Type") != v1.header.Get("Content-Type") ||
			v1.header.Get("X-NSQ-Content-Type") != "nsq; version=1.0" {
			t.Errorf("%s: %+v vs %+v", target, plain, v1)
		}
	}
}

func TestTopicsChannelsLookup(t *testing.T) {
	l := startLookupd(t, nil)
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":[]}`)
	expectHTTP(t, get(t, l, "/channels"), 400, `{"message":"MISSING_ARG_TOPIC"}`)
	expectHTTP(t, get(t, l, "/channels?topic=nope"), 200, `{"channels":[]}`)
	expectHTTP(t, get(t, l, "/lookup"), 400, `{"message":"MISSING_ARG_TOPIC"}`)
	expectHTTP(t, get(t, l, "/lookup?topic=nope"), 404, `{"message":"TOPIC_NOT_FOUND"}`)
	expectHTTP(t, get(t, l, "/lookup?topic=%zz"), 400, `{"message":"INVALID_REQUEST"}`)
	expectHTTP(t, get(t, l, "/lookup?topic=a;b"), 400, `{"message":"INVALID_REQUEST"}`)

	expectHTTP(t, post(t, l, "/topic/create"), 400, `{"message":"MISSING_ARG_TOPIC"}`)
	expectHTTP(t, post(t, l, "/topic/create?topic=a*b"), 400, `{"message":"INVALID_ARG_TOPIC"}`)
	expectHTTP(t, post(t, l, "/topic/create?topic=t1"), 200, ``)
	expectHTTP(t, get(t, l, "/lookup?topic=t1"), 200, `{"channels":[],"producers":[]}`)

	expectHTTP(t, post(t, l, "/channel/create?topic=t2"), 400, `{"message":"MISSING_ARG_CHANNEL"}`)
	expectHTTP(t, post(t, l, "/channel/create?topic=t2&channel="), 400, `{"message":"INVALID_ARG_CHANNEL"}`)
	expectHTTP(t, post(t, l, "/channel/create?channel=c"), 400, `{"message":"MISSING_ARG_TOPIC"}`)
	expectHTTP(t, post(t, l, "/channel/create?topic=t2&channel=c2&topic=ignored"), 200, ``)
	expectHTTP(t, post(t, l, "/channel/create?topic=t2&channel=c1"), 200, ``)
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":["t1","t2"]}`)
	expectHTTP(t, get(t, l, "/channels?topic=t2"), 200, `{"channels":["c1","c2"]}`)
	expectHTTP(t, get(t, l, "/lookup?topic=t2"), 200, `{"channels":["c1","c2"],"producers":[]}`)

	expectHTTP(t, post(t, l, "/channel/delete?topic=t2&channel=c9"), 404, `{"message":"CHANNEL_NOT_FOUND"}`)
	expectHTTP(t, post(t, l, "/channel/delete?topic=t2&channel=c1"), 200, ``)
	expectHTTP(t, get(t, l, "/channels?topic=t2"), 200, `{"channels":["c2"]}`)

	expectHTTP(t, post(t, l, "/topic/delete"), 400, `{"message":"MISSING_ARG_TOPIC"}`)
	expectHTTP(t, post(t, l, "/topic/delete?topic=t2"), 200, ``)
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":["t1"]}`)
	expectHTTP(t, get(t, l, "/channels?topic=t2"), 200, `{"channels":[]}`)
	// Deleting what does not exist succeeds, as upstream (no name check).
	expectHTTP(t, post(t, l, "/topic/delete?topic=a*b"), 200, ``)
}

// TestWildcardQueries: upstream does not check names on queries, so "*"
// matches everything.
func TestWildcardQueries(t *testing.T) {
	l := startLookupd(t, nil)
	post(t, l, "/channel/create?topic=a&channel=x")
	post(t, l, "/channel/create?topic=b&channel=y")
	expectHTTP(t, get(t, l, "/channels?topic=*"), 200, `{"channels":["x","y"]}`)
	expectHTTP(t, get(t, l, "/lookup?topic=*"), 200, `{"channels":["x","y"],"producers":[]}`)
	expectHTTP(t, post(t, l, "/topic/delete?topic=*"), 200, ``)
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":[]}`)
}

func TestNodesAndTombstones(t *testing.T) {
	// The checks while t is tombstoned are made only when they took less
	// than the lifetime: a slow machine must not see it expire and fail.
	const lifetime = 2 * time.Second
	l := startLookupd(t, func(o *Options) { o.TombstoneLifetime = lifetime })
	a, b := dialV1(t, l.TCPAddr().String()), dialV1(t, l.TCPAddr().String())
	a.identify(4150, 4151)
	b.identify(5150, 5151)
	a.cmd("REGISTER t c")
	a.cmd("REGISTER u")
	b.cmd("REGISTER t")
	if doc, _ := lookupDoc(t, l, "t"); producerPorts(doc) != "127.0.0.1:4150,127.0.0.1:5150" {
		t.Fatalf("lookup %s", producerPorts(doc))
	}

	expectHTTP(t, post(t, l, "/topic/tombstone?topic=t"), 400, `{"message":"MISSING_ARG_NODE"}`)
	expectHTTP(t, post(t, l, "/topic/tombstone?node=127.0.0.1:4151"), 400, `{"message":"MISSING_ARG_TOPIC"}`)
	start := time.Now()
	expectHTTP(t, post(t, l, "/topic/tombstone?topic=t&node=127.0.0.1:4151"), 200, ``)
	docT, _ := lookupDoc(t, l, "t")
	docU, _ := lookupDoc(t, l, "u")
	r := get(t, l, "/nodes")
	if time.Since(start) >= lifetime*3/4 {
		t.Fatalf("the tombstone checks took %s, too close to its lifetime to tell", time.Since(start))
	}
	if producerPorts(docT) != "127.0.0.1:5150" {
		t.Fatalf("lookup with a tombstone %s", producerPorts(docT))
	}
	if producerPorts(docU) != "127.0.0.1:4150" {
		t.Fatalf("tombstone leaked to u: %s", producerPorts(docU))
	}
	var nodes lookupdoc.Nodes
	if err := json.Unmarshal([]byte(r.body), &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Producers) != 2 || strings.Join(nodes.Producers[0].Topics, ",") != "t,u" ||
		nodes.Producers[0].Tombstones[0] != true || nodes.Producers[0].Tombstones[1] != false ||
		nodes.Producers[1].TCPPort != 5150 || strings.Join(nodes.Producers[1].Topics, ",") != "t" {
		t.Fatalf("/nodes %s", r.body)
	}
	host := "test-host"
	want := `{"producers":[{"remote_address":"` + a.conn.LocalAddr().String() + `","hostname":"` + host +
		`","broadcast_address":"127.0.0.1","tcp_port":4150,"http_port":4151,"version":"1.3.0","tombstones":[true,false],"topics":["t","u"]},` +
		`{"remote_address":"` + b.conn.LocalAddr().String() + `","hostname":"` + host +
		`","broadcast_address":"127.0.0.1","tcp_port":5150,"http_port":5151,"version":"1.3.0","tombstones":[false],"topics":["t"]}]}`
	expectHTTP(t, r, 200, want)
	// The tombstone expires.
	waitFor(t, "the tombstone to expire", func() bool {
		doc, _ := lookupDoc(t, l, "t")
		return producerPorts(doc) == "127.0.0.1:4150,127.0.0.1:5150"
	})
	if time.Since(start) < lifetime {
		t.Fatalf("tombstone expired after %s", time.Since(start))
	}
}

// TestInactiveProducer: an nsqd that stops pinging (but keeps its
// connection) leaves /lookup and /nodes after the inactive timeout, stays
// in /topics, and comes back with its next PING.
func TestInactiveProducer(t *testing.T) {
	l := startLookupd(t, func(o *Options) { o.InactiveProducerTimeout = 300 * time.Millisecond })
	quiet, alive := dialV1(t, l.TCPAddr().String()), dialV1(t, l.TCPAddr().String())
	// The quiet peer's last sign of life is its IDENTIFY: time from
	// before it.
	start := time.Now()
	quiet.identify(4150, 4151)
	alive.identify(5150, 5151)
	quiet.cmd("REGISTER t")
	alive.cmd("REGISTER t")
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_, _ = alive.conn.Write([]byte("PING\n")) // answers unread; the buffer holds them
			}
		}
	}()
	waitFor(t, "the quiet producer to go inactive", func() bool {
		doc, _ := lookupDoc(t, l, "t")
		return producerPorts(doc) == "127.0.0.1:5150"
	})
	if time.Since(start) < 300*time.Millisecond {
		t.Fatalf("inactive after %s", time.Since(start))
	}
	var nodes lookupdoc.Nodes
	_ = json.Unmarshal([]byte(get(t, l, "/nodes").body), &nodes)
	if len(nodes.Producers) != 1 || nodes.Producers[0].TCPPort != 5150 {
		t.Fatalf("/nodes %+v", nodes)
	}
	expectHTTP(t, get(t, l, "/topics"), 200, `{"topics":["t"]}`)
	quiet.cmd("PING")
	if doc, _ := lookupDoc(t, l, "t"); producerPorts(doc) != "127.0.0.1:4150,127.0.0.1:5150" {
		t.Fatalf("after PING: %s", producerPorts(doc))
	}
}

func TestDebug(t *testing.T) {
	l := startLookupd(t, nil)
	expectHTTP(t, get(t, l, "/debug"), 200, `{}`)
	c := dialV1(t, l.TCPAddr().String())
	c.identify(4150, 4151)
	c.cmd("REGISTER t c")
	post(t, l, "/topic/create?topic=empty")
	var doc map[string][]lookupdoc.DebugProducer
	r := get(t, l, "/debug")
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 3 || len(doc["client::"]) != 1 || len(doc["topic:t:"]) != 1 || len(doc["channel:t:c"]) != 1 {
		t.Fatalf("/debug %s", r.body)
	}
	p := doc["topic:t:"][0]
	if p.ID != c.conn.LocalAddr().String() || p.TCPPort != 4150 || p.HTTPPort != 4151 || p.Tombstoned ||
		p.TombstonedAt != (time.Time{}).UnixNano() || time.Since(time.Unix(0, p.LastUpdate)) > time.Minute {
		t.Fatalf("/debug producer %+v", p)
	}
	// Keys in upstream's (sorted map) order.
	if !strings.HasPrefix(r.body, `{"channel:t:c":[{"broadcast_address":"127.0.0.1","hostname":"test-host","http_port":4151,"id":"`) {
		t.Fatalf("/debug %s", r.body)
	}
}

func TestRouting(t *testing.T) {
	l := startLookupd(t, nil)
	tests := []struct {
		method, target string
		code           int
		allow          string
		location       string
		body           string
	}{
		{"POST", "/ping", 405, "GET, OPTIONS", "", `{"message":"METHOD_NOT_ALLOWED"}`},
		{"HEAD", "/ping", 405, "GET, OPTIONS", "", ""},
		{"GET", "/topic/create", 405, "OPTIONS, POST", "", `{"message":"METHOD_NOT_ALLOWED"}`},
		{"DELETE", "/debug/pprof/symbol", 405, "GET, OPTIONS, POST", "", `{"message":"METHOD_NOT_ALLOWED"}`},
		{"OPTIONS", "/lookup", 200, "GET, OPTIONS", "", ""},
		{"OPTIONS", "/nope", 404, "", "", `{"message":"NOT_FOUND"}`},
		{"GET", "/nope", 404, "", "", `{"message":"NOT_FOUND"}`},
		{"GET", "/", 404, "", "", `{"message":"NOT_FOUND"}`},
		{"GET", "/ping/", 301, "", "/ping", ""},
		{"GET", "/PING", 301, "", "/ping", ""},
		{"GET", "//lookup?topic=x", 301, "", "/lookup?topic=x", ""},
		{"GET", "/debug/../nodes", 301, "", "/nodes", ""},
		{"POST", "/Topic/Create?topic=x", 307, "", "/topic/create?topic=x", ""},
		{"POST", "/topic/create/", 307, "", "/topic/create", ""},
		{"GET", "/debug/pprof/", 301, "", "/debug/pprof", ""},
		{"GET", "/Debug/", 301, "", "/debug", ""},
	}
	for _, tt := range tests {
		r := doHTTP(t, l, tt.method, tt.target)
		if r.code != tt.code || r.header.Get("Allow") != tt.allow || r.header.Get("Location") != tt.location ||
			(tt.body != "" && r.body != tt.body) {
			t.Errorf("%s %s: %d allow %q location %q body %q", tt.method, tt.target, r.code, r.header.Get("Allow"), r.header.Get("Location"), r.body)
		}
	}
}

func TestPprof(t *testing.T) {
	l := startLookupd(t, nil)
	for _, p := range []string{"/debug/pprof", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline", "/debug/pprof/allocs", "/debug/pprof/mutex"} {
		if r := get(t, l, p); r.code != 200 || r.body == "" {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	if r := get(t, l, "/debug/pprof/profile?seconds=1"); r.code != 200 {
		t.Errorf("profile: %d", r.code)
	}
}
