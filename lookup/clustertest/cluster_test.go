package clustertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/engine/nsqd"
	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
	"github.com/nsqfast/nsq/lookup"
	"github.com/nsqfast/nsq/lookup/lookuptest"
	"github.com/nsqfast/nsq/lookup/registry"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

var (
	startLookupd = lookuptest.Start
	waitFor      = lookuptest.WaitFor
)

// startNSQD starts an nsqd registered with the given nsqlookupd TCP
// addresses.
func startNSQD(t *testing.T, lookupds []string, mutate func(*nsqd.Options)) *nsqd.NSQD {
	t.Helper()
	o := nsqdtest.Options(t)
	if os.Getenv("CLUSTER_LOG") != "" {
		o.LogOutput = os.Stderr
	}
	o.NSQLookupdTCPAddresses = lookupds
	o.LookupdPingInterval = 100 * time.Millisecond
	if mutate != nil {
		mutate(o)
	}
	return nsqdtest.Start(t, o)
}

func tcpAddrs(ls ...*lookup.NSQLookupd) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.TCPAddr().String())
	}
	return out
}

func httpAddrs(ls ...*lookup.NSQLookupd) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.HTTPAddr().String())
	}
	return out
}

func port(a net.Addr) int { return a.(*net.TCPAddr).Port }

func httpDo(t *testing.T, method, u, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func nsqdHTTP(t *testing.T, n *nsqd.NSQD, method, path, body string) (int, string) {
	t.Helper()
	return httpDo(t, method, "http://"+n.HTTPAddr().String()+path, body)
}

func lookupdHTTP(t *testing.T, l *lookup.NSQLookupd, method, path string) (int, string) {
	t.Helper()
	return httpDo(t, method, "http://"+l.HTTPAddr().String()+path, "")
}

// lookupTopic is GET /lookup: the producers' "host:tcp_port", sorted, and
// the channels; found is false on a 404.
func lookupTopic(t *testing.T, l *lookup.NSQLookupd, topic string) (producers, channels []string, found bool) {
	t.Helper()
	code, body := lookupdHTTP(t, l, "GET", "/lookup?topic="+url.QueryEscape(topic))
	if code == http.StatusNotFound {
		return nil, nil, false
	}
	var doc lookupdoc.Lookup
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("/lookup: %d %q", code, body)
	}
	for _, p := range doc.Producers {
		producers = append(producers, net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.TCPPort)))
	}
	slices.Sort(producers)
	return producers, doc.Channels, true
}

// addrsOf is what /lookup lists for these nsqd, sorted.
func addrsOf(ns ...*nsqd.NSQD) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.TCPAddr().String())
	}
	slices.Sort(out)
	return out
}

func hasProducers(t *testing.T, l *lookup.NSQLookupd, topic string, ns ...*nsqd.NSQD) func() bool {
	return func() bool {
		ps, _, _ := lookupTopic(t, l, topic)
		return slices.Equal(ps, addrsOf(ns...))
	}
}

type quiet struct{}

func (quiet) Output(int, string) error { return nil }

// counter is a go-nsq handler counting bodies.
type counter struct {
	mu    sync.Mutex
	seen  map[string]int
	total atomic.Int64
}

func newCounter() *counter { return &counter{seen: map[string]int{}} }

func (c *counter) HandleMessage(m *gonsq.Message) error {
	c.mu.Lock()
	c.seen[string(m.Body)]++
	c.mu.Unlock()
	c.total.Add(1)
	return nil
}

// check asserts the handler got exactly want, each once.
func (c *counter) check(t *testing.T, name string, want []string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if int(c.total.Load()) != len(want) || len(c.seen) != len(want) {
		t.Errorf("%s: %d messages, %d distinct, want %d", name, c.total.Load(), len(c.seen), len(want))
	}
	for _, w := range want {
		if c.seen[w] != 1 {
			t.Errorf("%s: %q received %d times", name, w, c.seen[w])
			return
		}
	}
}

// consumeViaLookupd starts a go-nsq consumer that finds its nsqd through
// the given nsqlookupd HTTP addresses.
func consumeViaLookupd(t *testing.T, topic, channel string, lookupds []string, h gonsq.Handler) *gonsq.Consumer {
	t.Helper()
	cfg := gonsq.NewConfig()
	cfg.LookupdPollInterval = 50 * time.Millisecond
	cfg.MaxInFlight = 50
	c, err := gonsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetLogger(quiet{}, gonsq.LogLevelError)
	c.AddHandler(h)
	if err := c.ConnectToNSQLookupds(lookupds); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		<-c.StopChan
	})
	return c
}

// publish sends n messages "<prefix>-<i>" to nsqd and returns them.
func publish(t *testing.T, n *nsqd.NSQD, topic, prefix string, count int) []string {
	t.Helper()
	p, err := gonsq.NewProducer(n.TCPAddr().String(), gonsq.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	p.SetLogger(quiet{}, gonsq.LogLevelError)
	defer p.Stop()
	var bodies [][]byte
	var out []string
	for i := range count {
		b := fmt.Sprintf("%s-%d", prefix, i)
		out = append(out, b)
		bodies = append(bodies, []byte(b))
	}
	for len(bodies) > 0 {
		k := min(len(bodies), 100)
		if err := p.MultiPublish(topic, bodies[:k]); err != nil {
			t.Fatal(err)
		}
		bodies = bodies[k:]
	}
	return out
}

// channelClients returns the number of clients of topic's channel on n,
// or -1 when the channel does not exist.
func channelClients(n *nsqd.NSQD, topic, channel string) int {
	tp, ok := n.Engine().ExistingTopic(topic)
	if !ok {
		return -1
	}
	c, ok := tp.ExistingChannel(channel)
	if !ok {
		return -1
	}
	return c.Stats(false).ClientCount
}

// TestTwoProducersOneConsumer is NSQ's classic topology: a consumer that
// knows only the two nsqlookupd receives everything published to two
// nsqd, each registered with both, including what was published before
// it found them.
func TestTwoProducersOneConsumer(t *testing.T) {
	t.Parallel()
	l1, l2 := startLookupd(t, "127.0.0.1:0", nil), startLookupd(t, "127.0.0.1:0", nil)
	n1 := startNSQD(t, tcpAddrs(l1, l2), nil)
	n2 := startNSQD(t, tcpAddrs(l1, l2), nil)

	h := newCounter()
	c := consumeViaLookupd(t, "events", "archive", httpAddrs(l1, l2), h)
	want := append(publish(t, n1, "events", "n1", 500), publish(t, n2, "events", "n2", 500)...)
	for _, l := range []*lookup.NSQLookupd{l1, l2} {
		waitFor(t, "both nsqd registered", hasProducers(t, l, "events", n1, n2))
	}
	waitFor(t, "every message", func() bool { return h.total.Load() >= int64(len(want)) })
	waitFor(t, "two connections", func() bool { return c.Stats().Connections == 2 })
	h.check(t, "consumer", want)
}

// TestChannelsSplitAndFanOut: two consumers on one channel share the
// messages; a third, on another channel, gets all of them.
func TestChannelsSplitAndFanOut(t *testing.T) {
	t.Parallel()
	l1, l2 := startLookupd(t, "127.0.0.1:0", nil), startLookupd(t, "127.0.0.1:0", nil)
	n1 := startNSQD(t, tcpAddrs(l1, l2), nil)
	n2 := startNSQD(t, tcpAddrs(l1, l2), nil)
	for _, n := range []*nsqd.NSQD{n1, n2} {
		if code, body := nsqdHTTP(t, n, "POST", "/topic/create?topic=orders", ""); code != 200 {
			t.Fatalf("/topic/create: %d %s", code, body)
		}
	}
	waitFor(t, "the topic in both nsqlookupd", func() bool {
		return hasProducers(t, l1, "orders", n1, n2)() && hasProducers(t, l2, "orders", n1, n2)()
	})
	a1, a2, b := newCounter(), newCounter(), newCounter()
	consumeViaLookupd(t, "orders", "billing", httpAddrs(l1), a1)
	consumeViaLookupd(t, "orders", "billing", httpAddrs(l2), a2)
	consumeViaLookupd(t, "orders", "audit", httpAddrs(l1, l2), b)
	waitFor(t, "every consumer on both nsqd", func() bool {
		return channelClients(n1, "orders", "billing") == 2 && channelClients(n2, "orders", "billing") == 2 &&
			channelClients(n1, "orders", "audit") == 1 && channelClients(n2, "orders", "audit") == 1
	})
	// nsqlookupd now knows the channels too.
	waitFor(t, "the channels in nsqlookupd", func() bool {
		_, chans, _ := lookupTopic(t, l1, "orders")
		return slices.Equal(chans, []string{"audit", "billing"})
	})

	want := append(publish(t, n1, "orders", "n1", 400), publish(t, n2, "orders", "n2", 400)...)
	waitFor(t, "every message on both channels", func() bool {
		return a1.total.Load()+a2.total.Load() >= int64(len(want)) && b.total.Load() >= int64(len(want))
	})
	b.check(t, "audit", want)
	// Together the billing consumers got each message once.
	merged := newCounter()
	for _, h := range []*counter{a1, a2} {
		h.mu.Lock()
		for k, v := range h.seen {
			merged.seen[k] += v
			merged.total.Add(int64(v))
		}
		h.mu.Unlock()
	}
	merged.check(t, "billing", want)
	if a1.total.Load() == 0 || a2.total.Load() == 0 {
		t.Errorf("billing not shared: %d and %d", a1.total.Load(), a2.total.Load())
	}
}

// TestChannelsFromLookupd: a topic created on an nsqd gets the channels
// nsqlookupd knows for it (not the ephemeral ones), and each of them gets
// every message, those published before it existed included.
func TestChannelsFromLookupd(t *testing.T) {
	t.Parallel()
	l := startLookupd(t, "127.0.0.1:0", nil)
	for _, ch := range []string{"a", "b", "c#ephemeral"} {
		if code, _ := lookupdHTTP(t, l, "POST", "/channel/create?topic=pre&channel="+url.QueryEscape(ch)); code != 200 {
			t.Fatal(code)
		}
	}
	n := startNSQD(t, tcpAddrs(l), nil)
	waitFor(t, "the nsqd to identify", func() bool {
		code, body := lookupdHTTP(t, l, "GET", "/nodes")
		return code == 200 && strings.Contains(body, `"tcp_port":`+strconv.Itoa(port(n.TCPAddr())))
	})
	want := publish(t, n, "pre", "m", 300) // the first PUB creates the topic
	waitFor(t, "the channels", func() bool { return channelClients(n, "pre", "a") == 0 && channelClients(n, "pre", "b") == 0 })
	if channelClients(n, "pre", "c#ephemeral") != -1 {
		t.Error("an ephemeral channel was created from nsqlookupd")
	}
	ha, hb := newCounter(), newCounter()
	consumeViaLookupd(t, "pre", "a", httpAddrs(l), ha)
	consumeViaLookupd(t, "pre", "b", httpAddrs(l), hb)
	waitFor(t, "both channels drained", func() bool {
		return ha.total.Load() >= int64(len(want)) && hb.total.Load() >= int64(len(want))
	})
	ha.check(t, "a", want)
	hb.check(t, "b", want)
}

// TestTombstone: a topic tombstoned on one nsqd is no longer offered for
// it, so new consumers only use the other; deleting the topic there then
// unregisters it for good.
func TestTombstone(t *testing.T) {
	t.Parallel()
	l := startLookupd(t, "127.0.0.1:0", func(o *lookup.Options) { o.TombstoneLifetime = time.Hour })
	n1, n2 := startNSQD(t, tcpAddrs(l), nil), startNSQD(t, tcpAddrs(l), nil)
	for _, n := range []*nsqd.NSQD{n1, n2} {
		nsqdHTTP(t, n, "POST", "/topic/create?topic=t", "")
	}
	waitFor(t, "both nsqd", hasProducers(t, l, "t", n1, n2))
	node := "127.0.0.1:" + strconv.Itoa(port(n1.HTTPAddr()))
	if code, body := lookupdHTTP(t, l, "POST", "/topic/tombstone?topic=t&node="+node); code != 200 || body != "" {
		t.Fatalf("tombstone: %d %q", code, body)
	}
	if ps, _, _ := lookupTopic(t, l, "t"); !slices.Equal(ps, addrsOf(n2)) {
		t.Fatalf("lookup after tombstone: %v", ps)
	}
	var nodes lookupdoc.Nodes
	_, body := lookupdHTTP(t, l, "GET", "/nodes")
	if err := json.Unmarshal([]byte(body), &nodes); err != nil || len(nodes.Producers) != 2 {
		t.Fatalf("/nodes %s", body)
	}
	for _, nd := range nodes.Producers {
		if want := nd.TCPPort == port(n1.TCPAddr()); len(nd.Tombstones) != 1 || nd.Tombstones[0] != want {
			t.Errorf("/nodes: %+v", nd)
		}
	}

	h := newCounter()
	c := consumeViaLookupd(t, "t", "c", httpAddrs(l), h)
	waitFor(t, "the consumer on n2", func() bool { return channelClients(n2, "t", "c") == 1 })
	want := publish(t, n2, "t", "n2", 50)
	publish(t, n1, "t", "n1", 50)
	waitFor(t, "n2's messages", func() bool { return h.total.Load() >= 50 })
	if c.Stats().Connections != 1 || channelClients(n1, "t", "c") != -1 {
		t.Errorf("consumer connected to the tombstoned nsqd")
	}
	h.check(t, "consumer", want)

	// The operator then deletes the topic from n1: it unregisters.
	nsqdHTTP(t, n1, "POST", "/topic/delete?topic=t", "")
	waitFor(t, "n1 to unregister", func() bool {
		ps := l.DB().FindProducers(registry.CategoryTopic, "t", "")
		return len(ps) == 1 && ps[0].Peer.Info.TCPPort == port(n2.TCPAddr())
	})
}

// TestNodeExit: an nsqd that stops leaves nsqlookupd at once.
func TestNodeExit(t *testing.T) {
	t.Parallel()
	l := startLookupd(t, "127.0.0.1:0", nil)
	n1, n2 := startNSQD(t, tcpAddrs(l), nil), startNSQD(t, tcpAddrs(l), nil)
	for _, n := range []*nsqd.NSQD{n1, n2} {
		nsqdHTTP(t, n, "POST", "/topic/create?topic=t", "")
	}
	waitFor(t, "both nsqd", hasProducers(t, l, "t", n1, n2))
	n1.Exit()
	waitFor(t, "n1 to leave", hasProducers(t, l, "t", n2))
}

// proxy forwards TCP connections to target until frozen; then it forwards
// nothing and closes nothing, like a network partition or a hung machine.
type proxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.track(c)
			if p.frozen.Load() {
				go p.pipe(c, nil)
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.track(up)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
	return p
}

func (p *proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) pipe(src, dst net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		if n > 0 && dst != nil && !p.frozen.Load() {
			_, _ = dst.Write(buf[:n])
		}
		if err != nil {
			if dst != nil && !p.frozen.Load() {
				dst.Close()
			}
			return
		}
	}
}

// TestNodeDies: an nsqd cut off without its connection closing (partition,
// hung machine) leaves /lookup and /nodes once it has not pinged for
// --inactive-producer-timeout; its topic stays listed, as upstream.
func TestNodeDies(t *testing.T) {
	t.Parallel()
	const inactive = 600 * time.Millisecond
	l := startLookupd(t, "127.0.0.1:0", func(o *lookup.Options) { o.InactiveProducerTimeout = inactive })
	px := startProxy(t, l.TCPAddr().String())
	n1 := startNSQD(t, []string{px.ln.Addr().String()}, nil)
	n2 := startNSQD(t, tcpAddrs(l), nil)
	for _, n := range []*nsqd.NSQD{n1, n2} {
		nsqdHTTP(t, n, "POST", "/topic/create?topic=t", "")
	}
	waitFor(t, "both nsqd", hasProducers(t, l, "t", n1, n2))
	// Pings through the proxy keep n1 active.
	since := time.Now()
	waitFor(t, "n1's pings", func() bool {
		for _, p := range l.DB().FindProducers(registry.CategoryClient, "", "") {
			if p.Peer.Info.TCPPort == port(n1.TCPAddr()) && time.Unix(0, p.Peer.LastUpdate()).After(since.Add(300*time.Millisecond)) {
				return true
			}
		}
		return false
	})
	if !hasProducers(t, l, "t", n1, n2)() {
		t.Fatal("an nsqd that pings went inactive")
	}
	px.frozen.Store(true)
	frozeAt := time.Now()
	waitFor(t, "n1 to go inactive", hasProducers(t, l, "t", n2))
	if d := time.Since(frozeAt); d < inactive-150*time.Millisecond {
		t.Fatalf("inactive after %s, before the %s timeout", d, inactive)
	}
	_, body := lookupdHTTP(t, l, "GET", "/nodes")
	if strings.Count(body, `"remote_address"`) != 1 || !strings.Contains(body, `"tcp_port":`+strconv.Itoa(port(n2.TCPAddr()))) {
		t.Fatalf("/nodes %s", body)
	}
	if _, body := lookupdHTTP(t, l, "GET", "/topics"); body != `{"topics":["t"]}` {
		t.Fatalf("/topics %s", body)
	}
}

// TestLookupdRestart: when nsqlookupd restarts (losing everything it
// knew), every nsqd registers its topics and channels again, and consumers
// find them again.
func TestLookupdRestart(t *testing.T) {
	t.Parallel()
	l := startLookupd(t, "127.0.0.1:0", nil)
	addr := l.TCPAddr().String()
	n := startNSQD(t, []string{addr}, nil)
	nsqdHTTP(t, n, "POST", "/topic/create?topic=t", "")
	nsqdHTTP(t, n, "POST", "/channel/create?topic=t&channel=c1", "")
	nsqdHTTP(t, n, "POST", "/channel/create?topic=t&channel=c2", "")
	nsqdHTTP(t, n, "POST", "/topic/create?topic=bare", "")
	waitFor(t, "the registrations", func() bool {
		ps, chans, _ := lookupTopic(t, l, "t")
		return slices.Equal(ps, addrsOf(n)) && slices.Equal(chans, []string{"c1", "c2"})
	})

	l.Exit()
	nsqdHTTP(t, n, "POST", "/channel/create?topic=t&channel=c3", "") // while nsqlookupd is down
	l2 := startLookupd(t, addr, nil)
	waitFor(t, "the registrations again", func() bool {
		ps, chans, _ := lookupTopic(t, l2, "t")
		bare, _, _ := lookupTopic(t, l2, "bare")
		return slices.Equal(ps, addrsOf(n)) && slices.Equal(chans, []string{"c1", "c2", "c3"}) && slices.Equal(bare, addrsOf(n))
	})
	h := newCounter()
	consumeViaLookupd(t, "t", "c1", httpAddrs(l2), h)
	want := publish(t, n, "t", "m", 20)
	waitFor(t, "the messages", func() bool { return h.total.Load() >= 20 })
	h.check(t, "consumer", want)
}

// TestEphemeralRegistration: ephemeral topics and channels are registered
// while they exist and unregistered when their last consumer leaves.
func TestEphemeralRegistration(t *testing.T) {
	t.Parallel()
	l := startLookupd(t, "127.0.0.1:0", nil)
	n := startNSQD(t, tcpAddrs(l), nil)
	cfg := gonsq.NewConfig()
	var consumers []*gonsq.Consumer
	for _, tc := range [][2]string{{"e#ephemeral", "c#ephemeral"}, {"durable", "x#ephemeral"}, {"durable", "kept"}} {
		c, err := gonsq.NewConsumer(tc[0], tc[1], cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.SetLogger(quiet{}, gonsq.LogLevelError)
		c.AddHandler(newCounter())
		if err := c.ConnectToNSQD(n.TCPAddr().String()); err != nil {
			t.Fatal(err)
		}
		consumers = append(consumers, c)
		t.Cleanup(c.Stop)
	}
	waitFor(t, "the ephemeral registrations", func() bool {
		ps, chans, _ := lookupTopic(t, l, "e#ephemeral")
		_, dchans, _ := lookupTopic(t, l, "durable")
		return slices.Equal(ps, addrsOf(n)) && slices.Equal(chans, []string{"c#ephemeral"}) &&
			slices.Equal(dchans, []string{"kept", "x#ephemeral"})
	})
	consumers[0].Stop()
	consumers[1].Stop()
	waitFor(t, "the ephemeral unregistrations", func() bool {
		_, topics := lookupdHTTP(t, l, "GET", "/topics")
		_, dchans, _ := lookupTopic(t, l, "durable")
		return topics == `{"topics":["durable"]}` && slices.Equal(dchans, []string{"kept"})
	})
}

// TestConfigLookupdAddresses: PUT /config/nsqlookupd_tcp_addresses moves
// the registrations to the new set.
func TestConfigLookupdAddresses(t *testing.T) {
	t.Parallel()
	l1, l2 := startLookupd(t, "127.0.0.1:0", nil), startLookupd(t, "127.0.0.1:0", nil)
	n := startNSQD(t, tcpAddrs(l1), nil)
	nsqdHTTP(t, n, "POST", "/topic/create?topic=t", "")
	waitFor(t, "l1", hasProducers(t, l1, "t", n))
	if code, body := nsqdHTTP(t, n, "GET", "/config/nsqlookupd_tcp_addresses", ""); code != 200 || body != `["`+tcpAddrs(l1)[0]+`"]` {
		t.Fatalf("GET: %d %s", code, body)
	}
	list := `["` + tcpAddrs(l2)[0] + `"]`
	if code, body := nsqdHTTP(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", list); code != 200 || body != list {
		t.Fatalf("PUT: %d %s", code, body)
	}
	waitFor(t, "l2", hasProducers(t, l2, "t", n))
	waitFor(t, "l1 to forget", hasProducers(t, l1, "t"))
	if code, body := nsqdHTTP(t, n, "GET", "/config/nsqlookupd_tcp_addresses", ""); code != 200 || body != list {
		t.Fatalf("GET after PUT: %d %s", code, body)
	}
	both := `["` + tcpAddrs(l1)[0] + `","` + tcpAddrs(l2)[0] + `"]`
	nsqdHTTP(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", both)
	waitFor(t, "l1 again", hasProducers(t, l1, "t", n))
	if code, body := nsqdHTTP(t, n, "PUT", "/config/nsqlookupd_tcp_addresses", `["a",1]`); code != 400 || body != `{"message":"INVALID_VALUE"}` {
		t.Fatalf("bad PUT: %d %s", code, body)
	}
}

// TestBroadcastOptions: --broadcast-address, --broadcast-tcp-port and
// --broadcast-http-port are what nsqlookupd hands out.
func TestBroadcastOptions(t *testing.T) {
	t.Parallel()
	l := startLookupd(t, "127.0.0.1:0", nil)
	n := startNSQD(t, tcpAddrs(l), func(o *nsqd.Options) {
		o.BroadcastAddress, o.BroadcastTCPPort, o.BroadcastHTTPPort = "nsqd-b.example", 14150, 14151
	})
	nsqdHTTP(t, n, "POST", "/topic/create?topic=t", "")
	waitFor(t, "the registration", func() bool {
		ps, _, _ := lookupTopic(t, l, "t")
		return slices.Equal(ps, []string{"nsqd-b.example:14150"})
	})
	_, body := lookupdHTTP(t, l, "GET", "/lookup?topic=t")
	if !strings.Contains(body, `"broadcast_address":"nsqd-b.example","tcp_port":14150,"http_port":14151,"version":"1.3.0"`) {
		t.Fatalf("/lookup %s", body)
	}
	// GET /config shows the ports registered: the configured ones, or (as
	// upstream, whose options hold them once bound) the bound ones.
	plain := startNSQD(t, nil, nil)
	for _, tc := range []struct {
		n         *nsqd.NSQD
		opt, want string
	}{
		{n, "broadcast_tcp_port", "14150"}, {n, "broadcast_http_port", "14151"},
		{plain, "broadcast_tcp_port", strconv.Itoa(port(plain.TCPAddr()))},
		{plain, "broadcast_http_port", strconv.Itoa(port(plain.HTTPAddr()))},
	} {
		if code, body := nsqdHTTP(t, tc.n, "GET", "/config/"+tc.opt, ""); code != 200 || body != tc.want {
			t.Errorf("GET /config/%s: %d %s, want %s", tc.opt, code, body, tc.want)
		}
	}
}
