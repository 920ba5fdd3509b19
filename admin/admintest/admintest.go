// Package admintest starts real clusters for nsqadmin's tests: nsqlookupd
// and nsqd (ours, in-process, on 127.0.0.1 ports chosen by the kernel)
// and an nsqadmin pointed at them. It is imported by tests only; nsqadmin
// itself never imports the engine (cmd/nsqadmin's dependencies are
// checked by TestNoEngineImport).
package admintest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	gonsq "github.com/nsqio/go-nsq"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/engine/nsqd"
	"github.com/nsqfast/nsq/engine/nsqd/nsqdtest"
	"github.com/nsqfast/nsq/lookup"
	"github.com/nsqfast/nsq/lookup/lookuptest"
	"github.com/nsqfast/nsq/wire/apidoc"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// Config describes a cluster. The zero value is one nsqlookupd, one nsqd
// and an nsqadmin using the nsqlookupd.
type Config struct {
	Lookupds int // default 1; 0 with NSQDMode
	NSQDs    int // default 1
	// NSQDMode points nsqadmin at the nsqd (--nsqd-http-address) instead
	// of nsqlookupd; no nsqlookupd is started.
	NSQDMode bool
	// NSQD may change each nsqd's options (i counts from 0).
	NSQD func(i int, o *nsqd.Options)
	// Admin may change nsqadmin's options.
	Admin func(o *admin.Options)
	// NoAdmin starts no nsqadmin.
	NoAdmin bool
}

// Cluster is a running cluster; it is stopped when the test ends.
type Cluster struct {
	Lookupds []*lookup.NSQLookupd
	NSQDs    []*nsqd.NSQD
	Admin    *admin.NSQAdmin
}

// Start starts the cluster described by cfg and waits until every nsqd is
// registered with every nsqlookupd.
func Start(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.NSQDs == 0 {
		cfg.NSQDs = 1
	}
	if cfg.Lookupds == 0 && !cfg.NSQDMode {
		cfg.Lookupds = 1
	}
	c := &Cluster{}
	var lookupTCP []string
	for range cfg.Lookupds {
		l := lookuptest.Start(t, "127.0.0.1:0", nil)
		c.Lookupds = append(c.Lookupds, l)
		lookupTCP = append(lookupTCP, l.TCPAddr().String())
	}
	for i := range cfg.NSQDs {
		o := nsqdtest.Options(t)
		if os.Getenv("ADMIN_TEST_LOG") != "" {
			o.LogOutput = os.Stderr
		}
		o.NSQLookupdTCPAddresses = lookupTCP
		o.LookupdPingInterval = 200 * time.Millisecond
		if cfg.NSQD != nil {
			cfg.NSQD(i, o)
		}
		c.NSQDs = append(c.NSQDs, nsqdtest.Start(t, o))
	}
	for _, l := range c.Lookupds {
		WaitFor(t, "every nsqd registered", func() bool {
			var doc lookupdoc.Nodes
			return GetJSON("http://"+l.HTTPAddr().String()+"/nodes", &doc) == nil && len(doc.Producers) == len(c.NSQDs)
		})
	}
	if !cfg.NoAdmin {
		c.Admin = c.StartAdmin(t, cfg.Admin)
	}
	return c
}

// StartAdmin starts another nsqadmin for the cluster.
func (c *Cluster) StartAdmin(t testing.TB, mutate func(o *admin.Options)) *admin.NSQAdmin {
	t.Helper()
	o := admin.NewOptions()
	o.HTTPAddress = "127.0.0.1:0"
	o.LogOutput = io.Discard
	if os.Getenv("ADMIN_TEST_LOG") != "" {
		o.LogOutput = os.Stderr
	}
	if len(c.Lookupds) > 0 {
		o.NSQLookupdHTTPAddresses = c.LookupdHTTP()
	} else {
		o.NSQDHTTPAddresses = c.NSQDHTTP()
	}
	o.SampleInterval = 200 * time.Millisecond
	o.SampleHistory = time.Minute
	if mutate != nil {
		mutate(o)
	}
	a, err := admin.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Main(); err != nil {
		a.Exit()
		t.Fatal(err)
	}
	t.Cleanup(a.Exit)
	return a
}

// LookupdHTTP are the nsqlookupd HTTP addresses.
func (c *Cluster) LookupdHTTP() []string {
	var out []string
	for _, l := range c.Lookupds {
		out = append(out, l.HTTPAddr().String())
	}
	return out
}

// NSQDHTTP are the nsqd HTTP addresses (their node names in nsqadmin).
func (c *Cluster) NSQDHTTP() []string {
	var out []string
	for _, n := range c.NSQDs {
		out = append(out, n.HTTPAddr().String())
	}
	return out
}

// URL is nsqadmin's URL for p (which includes any base path).
func (c *Cluster) URL(p string) string { return "http://" + c.Admin.HTTPAddr().String() + p }

// NSQDURL is nsqd i's HTTP URL for p.
func (c *Cluster) NSQDURL(i int, p string) string {
	return "http://" + c.NSQDs[i].HTTPAddr().String() + p
}

// Node is nsqd i's node name (its HTTP address).
func (c *Cluster) Node(i int) string { return c.NSQDs[i].HTTPAddr().String() }

// Answer is what an HTTP request got.
type Answer struct {
	Code   int
	Header http.Header
	Body   string
}

// Request makes a request (header is name, value, ...) and reads the
// whole answer.
func Request(t testing.TB, method, u, body string, header ...string) Answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Answer{resp.StatusCode, resp.Header, string(b)}
}

// Do makes a request and returns the status and body.
func Do(t testing.TB, method, u, body string, header ...string) (int, string) {
	t.Helper()
	a := Request(t, method, u, body, header...)
	return a.Code, a.Body
}

// MustDo is Do that fails the test unless the status is 200.
func MustDo(t testing.TB, method, u, body string, header ...string) string {
	t.Helper()
	code, b := Do(t, method, u, body, header...)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, u, code, b)
	}
	return b
}

// GetJSON GETs u and decodes a 200 answer into v.
func GetJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s %s", u, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// Publish publishes bodies to topic on nsqd i (one /mpub).
func (c *Cluster) Publish(t testing.TB, i int, topic string, bodies ...string) {
	t.Helper()
	MustDo(t, "POST", c.NSQDURL(i, "/mpub?topic="+url.QueryEscape(topic)), strings.Join(bodies, "\n"))
}

// CreateChannel creates topic (if need be) and channel on nsqd i.
func (c *Cluster) CreateChannel(t testing.TB, i int, topic, channel string) {
	t.Helper()
	MustDo(t, "POST", c.NSQDURL(i, "/topic/create?topic="+url.QueryEscape(topic)), "")
	MustDo(t, "POST", c.NSQDURL(i, "/channel/create?topic="+url.QueryEscape(topic)+"&channel="+url.QueryEscape(channel)), "")
}

// Stats is nsqd i's /stats document.
func (c *Cluster) Stats(t testing.TB, i int) *apidoc.Stats {
	t.Helper()
	var s apidoc.Stats
	if err := GetJSON(c.NSQDURL(i, "/stats?format=json"), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// Topic is topic's stats on nsqd i, or nil.
func (c *Cluster) Topic(t testing.TB, i int, topic string) *apidoc.Topic {
	t.Helper()
	s := c.Stats(t, i)
	for j := range s.Topics {
		if s.Topics[j].TopicName == topic {
			return &s.Topics[j]
		}
	}
	return nil
}

// Channel is the channel's stats on nsqd i, or nil.
func (c *Cluster) Channel(t testing.TB, i int, topic, channel string) *apidoc.Channel {
	t.Helper()
	tp := c.Topic(t, i, topic)
	if tp == nil {
		return nil
	}
	for j := range tp.Channels {
		if tp.Channels[j].ChannelName == channel {
			return &tp.Channels[j]
		}
	}
	return nil
}

// WaitRegistered waits until every nsqlookupd lists the nsqd that have
// topic (want of them) and, if channel is set, the channel.
func (c *Cluster) WaitRegistered(t testing.TB, topic, channel string, want int) {
	t.Helper()
	for _, l := range c.Lookupds {
		WaitFor(t, "topic "+topic+" registered", func() bool {
			var doc lookupdoc.Lookup
			if GetJSON("http://"+l.HTTPAddr().String()+"/lookup?topic="+url.QueryEscape(topic), &doc) != nil {
				return false
			}
			if len(doc.Producers) != want {
				return false
			}
			if channel == "" {
				return true
			}
			for _, ch := range doc.Channels {
				if ch == channel {
					return true
				}
			}
			return false
		})
	}
}

// WaitFor polls cond until it holds, failing the test after a while.
var WaitFor = lookuptest.WaitFor

// FreeAddr is a 127.0.0.1 address nothing listens on (for failures).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

type quietLogger struct{}

func (quietLogger) Output(int, string) error { return nil }

// Consume connects a go-nsq consumer (with cfg, or the defaults) to nsqd
// i; with hold, it keeps every message in flight until the test ends,
// else it finishes them. It is stopped when the test ends.
func (c *Cluster) Consume(t testing.TB, i int, topic, channel string, hold bool, cfg *gonsq.Config) {
	t.Helper()
	if cfg == nil {
		cfg = gonsq.NewConfig()
	}
	cons, err := gonsq.NewConsumer(topic, channel, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cons.SetLogger(quietLogger{}, gonsq.LogLevelError)
	release := make(chan struct{})
	cons.AddHandler(gonsq.HandlerFunc(func(*gonsq.Message) error {
		if hold {
			<-release
		}
		return nil
	}))
	if err := cons.ConnectToNSQD(c.NSQDs[i].TCPAddr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(release)
		cons.Stop()
		<-cons.StopChan
	})
}
