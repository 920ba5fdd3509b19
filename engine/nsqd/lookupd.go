package nsqd

import (
	"encoding/json"
	"net"
	"os"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/lookup/client"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// This file wires nsqd to nsqlookupd (lookup/client): the engine reports
// every topic and channel created or deleted to the client, which keeps
// each nsqlookupd up to date; a (re)connection registers a snapshot of
// the engine; a new topic gets the channels nsqlookupd knows for it.

// newLookupClient returns the (not yet started) client for opts; the
// engine's OnChange feeds it.
func (n *NSQD) newLookupClient(opts *Options) *client.Client {
	return client.New(client.Options{
		Addresses:       opts.NSQLookupdTCPAddresses,
		Snapshot:        n.registrations,
		CreateChannels:  n.createChannels,
		PingInterval:    opts.LookupdPingInterval,
		MaxResponseSize: int(opts.MaxBodySize),
		HTTPClient:      client.NewHTTPClient(opts.HTTPClientConnectTimeout, opts.HTTPClientRequestTimeout),
		Logf:            n.engineLogf,
	})
}

// startLookupd tells the client what to identify as, now that the
// listeners are bound, and connects it. As upstream, a broadcast port of
// 0 means the bound port (and stays 0 for a unix socket, which
// nsqlookupd then refuses).
func (n *NSQD) startLookupd(tcpAddr, httpAddr net.Addr) {
	o := n.opts
	tcpPort, httpPort := broadcastPort(o.BroadcastTCPPort, tcpAddr), broadcastPort(o.BroadcastHTTPPort, httpAddr)
	hostname, _ := os.Hostname()
	n.lookupd.SetIdentity(lookupdoc.Identity{
		BroadcastAddress: o.BroadcastAddress,
		Hostname:         hostname,
		HTTPPort:         httpPort,
		TCPPort:          tcpPort,
		Version:          Version,
	})
	n.lookupd.Start()
}

func broadcastPort(configured int, bound net.Addr) int {
	if a, ok := bound.(*net.TCPAddr); ok && configured == 0 {
		return a.Port
	}
	return configured
}

// broadcastPortConfig answers GET /config/broadcast_tcp_port and
// broadcast_http_port as upstream, whose options hold the bound ports once
// it listens.
func (n *NSQD) broadcastPortConfig(opt string) (int, bool) {
	if n.tcp == nil || n.httpLn == nil {
		return 0, false
	}
	switch opt {
	case "broadcast_tcp_port":
		return broadcastPort(n.opts.BroadcastTCPPort, n.tcp.Addr()), true
	case "broadcast_http_port":
		return broadcastPort(n.opts.BroadcastHTTPPort, n.httpLn.Addr()), true
	}
	return 0, false
}

// onChange is the engine's OnChange: it must not block, and the client's
// Changed only queues.
func (n *NSQD) onChange(ch engine.Change) { n.lookupd.Changed(ch) }

// registrations is the snapshot registered after each (re)connection: a
// topic by its channels, or by itself when it has none.
func (n *NSQD) registrations() []client.Registration {
	var out []client.Registration
	for _, t := range n.eng.Topics() {
		chans := t.Channels()
		if len(chans) == 0 {
			out = append(out, client.Registration{Topic: t.Name()})
			continue
		}
		for _, c := range chans {
			out = append(out, client.Registration{Topic: t.Name(), Channel: c.Name()})
		}
	}
	return out
}

// createChannels creates, on a new topic, the channels nsqlookupd knows.
// Upstream creates them before the topic takes its first message, so they
// get every message; here they come a round trip later (the engine cannot
// wait for nsqlookupd), so each is started at the topic's first message.
// A channel that exists already (a consumer got there first) is left as
// it is, and so is one a consumer has used before the rewind (what a
// consumer joining between the check and the rewind was sent may come
// again: at-least-once, as ever).
func (n *NSQD) createChannels(topic string, channels []string) {
	t, ok := n.eng.ExistingTopic(topic)
	if !ok {
		return
	}
	for _, name := range channels {
		if _, exists := t.ExistingChannel(name); exists {
			continue
		}
		c, err := t.GetChannel(name)
		if err != nil {
			n.logf(LogWarn, "TOPIC(%s): failed to pre-create channel %s from nsqlookupd - %s", topic, name, err)
			continue
		}
		if st := c.Stats(false); st.ClientCount == 0 && st.InFlightCount == 0 && st.FinishCount == 0 {
			if _, err := c.Rewind(time.Time{}); err != nil {
				n.logf(LogWarn, "CHANNEL(%s:%s): failed to start at the topic's first message - %s", topic, name, err)
			}
		}
	}
}

// setLookupdAddresses is PUT /config/nsqlookupd_tcp_addresses: body is a
// JSON list of addresses (already checked by the HTTP API).
func (n *NSQD) setLookupdAddresses(body []byte) error {
	var addrs []string
	if err := json.Unmarshal(body, &addrs); err != nil {
		return err
	}
	n.lookupd.SetAddresses(addrs)
	return nil
}
