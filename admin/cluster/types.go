package cluster

import (
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nsqfast/nsq/wire/apidoc"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// The documents below are the ones upstream nsqadmin v1.3.0 answers with.
// Field order is the order upstream's encoder writes; it must not change.

// ProducerTopic is one topic of a Producer, and whether nsqlookupd has it
// tombstoned on that nsqd.
type ProducerTopic struct {
	Topic      string `json:"topic"`
	Tombstoned bool   `json:"tombstoned"`
}

// Producer is one nsqd, as nsqlookupd (or the nsqd itself) describes it.
type Producer struct {
	// RemoteAddresses lists "<nsqlookupd>/<remote address>" for every
	// nsqlookupd the nsqd is registered with.
	RemoteAddresses  []string        `json:"remote_addresses"`
	RemoteAddress    string          `json:"remote_address"`
	Hostname         string          `json:"hostname"`
	BroadcastAddress string          `json:"broadcast_address"`
	TCPPort          int             `json:"tcp_port"`
	HTTPPort         int             `json:"http_port"`
	Version          string          `json:"version"`
	Topics           []ProducerTopic `json:"topics"`
	// OutOfDate is set when another nsqd of the cluster runs a newer
	// version.
	OutOfDate bool `json:"out_of_date"`

	version semver
}

// HTTPAddress is where the nsqd's HTTP API is reached: its broadcast
// address and HTTP port.
func (p *Producer) HTTPAddress() string {
	return net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.HTTPPort))
}

// TCPAddress is the broadcast address and TCP port.
func (p *Producer) TCPAddress() string {
	return net.JoinHostPort(p.BroadcastAddress, strconv.Itoa(p.TCPPort))
}

func producerFromPeer(pe *lookupdoc.Peer) *Producer {
	return &Producer{
		RemoteAddress:    pe.RemoteAddress,
		Hostname:         pe.Hostname,
		BroadcastAddress: pe.BroadcastAddress,
		TCPPort:          pe.TCPPort,
		HTTPPort:         pe.HTTPPort,
		Version:          pe.Version,
		version:          parseSemver(pe.Version),
	}
}

func producerFromNode(n *lookupdoc.Node) *Producer {
	p := producerFromPeer(&n.Peer)
	for i, t := range n.Topics {
		pt := ProducerTopic{Topic: t}
		if i < len(n.Tombstones) {
			pt.Tombstoned = n.Tombstones[i]
		}
		p.Topics = append(p.Topics, pt)
	}
	return p
}

// Producers is a list of nsqd.
type Producers []*Producer

// Search returns the producer whose HTTPAddress is addr, or nil.
func (ps Producers) Search(addr string) *Producer {
	for _, p := range ps {
		if p.HTTPAddress() == addr {
			return p
		}
	}
	return nil
}

// TopicStats is one topic on one nsqd, or (Node "*") the sum over several:
// then NodeStats holds each nsqd's.
type TopicStats struct {
	Node         string          `json:"node"`
	Hostname     string          `json:"hostname"`
	TopicName    string          `json:"topic_name"`
	Depth        int64           `json:"depth"`
	MemoryDepth  int64           `json:"memory_depth"`
	BackendDepth int64           `json:"backend_depth"`
	MessageCount int64           `json:"message_count"`
	NodeStats    []*TopicStats   `json:"nodes"`
	Channels     []*ChannelStats `json:"channels"`
	Paused       bool            `json:"paused"`

	E2eProcessingLatency *Latency `json:"e2e_processing_latency"`
}

// ChannelStats is one channel on one nsqd, or (Node "*") the sum over
// several: then NodeStats holds each nsqd's and Clients all their clients.
type ChannelStats struct {
	Node          string          `json:"node"`
	Hostname      string          `json:"hostname"`
	TopicName     string          `json:"topic_name"`
	ChannelName   string          `json:"channel_name"`
	Depth         int64           `json:"depth"`
	MemoryDepth   int64           `json:"memory_depth"`
	BackendDepth  int64           `json:"backend_depth"`
	InFlightCount int64           `json:"in_flight_count"`
	DeferredCount int64           `json:"deferred_count"`
	RequeueCount  int64           `json:"requeue_count"`
	TimeoutCount  int64           `json:"timeout_count"`
	MessageCount  int64           `json:"message_count"`
	ClientCount   int             `json:"client_count"`
	NodeStats     []*ChannelStats `json:"nodes"`
	Clients       []*ClientStats  `json:"clients"`
	Paused        bool            `json:"paused"`

	E2eProcessingLatency *Latency `json:"e2e_processing_latency"`

	// origin is the nsqd's own entry this one was copied from, while it
	// stands for a channel of a topic's sum (TopicStats.Add).
	origin *ChannelStats
}

// ClientStats is one consumer of a channel. Connected is how long it has
// been connected, in nanoseconds, computed when the stats were read.
type ClientStats struct {
	Node              string        `json:"node"`
	RemoteAddress     string        `json:"remote_address"`
	Version           string        `json:"version"`
	ClientID          string        `json:"client_id"`
	Hostname          string        `json:"hostname"`
	UserAgent         string        `json:"user_agent"`
	ConnectTs         int64         `json:"connect_ts"`
	ConnectedDuration time.Duration `json:"connected"`
	InFlightCount     int           `json:"in_flight_count"`
	ReadyCount        int           `json:"ready_count"`
	FinishCount       int64         `json:"finish_count"`
	RequeueCount      int64         `json:"requeue_count"`
	MessageCount      int64         `json:"message_count"`
	SampleRate        int32         `json:"sample_rate"`
	Deflate           bool          `json:"deflate"`
	Snappy            bool          `json:"snappy"`
	Authed            bool          `json:"authed"`
	AuthIdentity      string        `json:"auth_identity"`
	AuthIdentityURL   string        `json:"auth_identity_url"`

	TLS                           bool   `json:"tls"`
	CipherSuite                   string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}

// Latency is an end-to-end processing latency summary. On one nsqd each
// percentile is {"quantile","value"} as nsqd reports it, completed with
// "min", "max" and "average" (the value) and "count"; summed over nsqd, the
// entries are merged by quantile as upstream merges them.
type Latency struct {
	Count       int                  `json:"count"`
	Percentiles []map[string]float64 `json:"percentiles"`
	Topic       string               `json:"topic"`
	Channel     string               `json:"channel"`
	Addr        string               `json:"host"`
}

func latencyFrom(l apidoc.Latency) *Latency {
	out := &Latency{Count: l.Count}
	for _, p := range l.Percentiles {
		m := make(map[string]float64, len(p)+4)
		for k, v := range p {
			m[k] = v
		}
		v := p["value"]
		m["min"], m["max"], m["average"] = v, v, v
		m["count"] = float64(l.Count)
		out.Percentiles = append(out.Percentiles, m)
	}
	return out
}

// clone is a deep copy.
func (l *Latency) clone() *Latency {
	if l == nil {
		return nil
	}
	c := *l
	c.Percentiles = nil
	for _, p := range l.Percentiles {
		m := make(map[string]float64, len(p))
		for k, v := range p {
			m[k] = v
		}
		c.Percentiles = append(c.Percentiles, m)
	}
	return &c
}

// add merges o into l exactly as upstream does: counts add up, and for
// each quantile "max" is the larger, "min" is the merged entry's "max"
// (upstream's formula), "count" adds up and "average" is the running mean
// weighted by count.
func (l *Latency) add(o *Latency) {
	l.Addr = "*"
	if o == nil {
		return
	}
	l.Count += o.Count
	for _, v := range o.Percentiles {
		var p map[string]float64
		for _, cand := range l.Percentiles {
			if cand["quantile"] == v["quantile"] {
				p = cand
				break
			}
		}
		if p == nil {
			p = map[string]float64{"quantile": v["quantile"]}
			l.Percentiles = append(l.Percentiles, p)
		}
		p["max"] = math.Max(v["max"], p["max"])
		p["min"] = math.Min(v["max"], p["max"])
		p["count"] += v["count"]
		if p["count"] == 0 {
			p["average"] = 0
			continue
		}
		p["average"] += (v["average"] - p["average"]) * v["count"] / p["count"]
	}
}

// topicFromDoc converts one topic of an nsqd's /stats, read at now, from
// the nsqd at addr (host:port) whose hostname is host.
func topicFromDoc(t *apidoc.Topic, addr, host string, now time.Time) *TopicStats {
	ts := &TopicStats{
		Node:                 addr,
		Hostname:             host,
		TopicName:            t.TopicName,
		Depth:                t.Depth,
		MemoryDepth:          t.Depth - t.BackendDepth,
		BackendDepth:         t.BackendDepth,
		MessageCount:         int64(t.MessageCount),
		Paused:               t.Paused,
		E2eProcessingLatency: latencyFrom(t.E2eProcessingLatency),
	}
	if t.Channels != nil {
		ts.Channels = make([]*ChannelStats, 0, len(t.Channels))
	}
	for i := range t.Channels {
		ts.Channels = append(ts.Channels, channelFromDoc(&t.Channels[i], t.TopicName, addr, host, now))
	}
	return ts
}

func channelFromDoc(c *apidoc.Channel, topic, addr, host string, now time.Time) *ChannelStats {
	cs := &ChannelStats{
		Node:                 addr,
		Hostname:             host,
		TopicName:            topic,
		ChannelName:          c.ChannelName,
		Depth:                c.Depth,
		MemoryDepth:          c.Depth - c.BackendDepth,
		BackendDepth:         c.BackendDepth,
		InFlightCount:        int64(c.InFlightCount),
		DeferredCount:        int64(c.DeferredCount),
		RequeueCount:         int64(c.RequeueCount),
		TimeoutCount:         int64(c.TimeoutCount),
		MessageCount:         int64(c.MessageCount),
		ClientCount:          c.ClientCount,
		Paused:               c.Paused,
		E2eProcessingLatency: latencyFrom(c.E2eProcessingLatency),
	}
	if c.Clients != nil {
		cs.Clients = make([]*ClientStats, 0, len(c.Clients))
	}
	connectedNow := now.Truncate(time.Second)
	for i := range c.Clients {
		cl := &c.Clients[i]
		cs.Clients = append(cs.Clients, &ClientStats{
			Node:                          addr,
			RemoteAddress:                 cl.RemoteAddress,
			Version:                       cl.Version,
			ClientID:                      cl.ClientID,
			Hostname:                      cl.Hostname,
			UserAgent:                     cl.UserAgent,
			ConnectTs:                     cl.ConnectTime,
			ConnectedDuration:             connectedNow.Sub(time.Unix(cl.ConnectTime, 0)),
			InFlightCount:                 int(cl.InFlightCount),
			ReadyCount:                    int(cl.ReadyCount),
			FinishCount:                   int64(cl.FinishCount),
			RequeueCount:                  int64(cl.RequeueCount),
			MessageCount:                  int64(cl.MessageCount),
			SampleRate:                    cl.SampleRate,
			Deflate:                       cl.Deflate,
			Snappy:                        cl.Snappy,
			Authed:                        cl.Authed,
			AuthIdentity:                  cl.AuthIdentity,
			AuthIdentityURL:               cl.AuthIdentityURL,
			TLS:                           cl.TLS,
			CipherSuite:                   cl.CipherSuite,
			TLSVersion:                    cl.TLSVersion,
			TLSNegotiatedProtocol:         cl.TLSNegotiatedProtocol,
			TLSNegotiatedProtocolIsMutual: cl.TLSNegotiatedProtocolIsMutual,
		})
	}
	return cs
}

// Add adds one nsqd's stats of the topic to t, which becomes (or stays)
// the sum over nsqd (Node "*"). Channels are merged by name into separate
// sums: a's own entries are never modified.
func (t *TopicStats) Add(a *TopicStats) {
	t.Node = "*"
	t.Depth += a.Depth
	t.MemoryDepth += a.MemoryDepth
	t.BackendDepth += a.BackendDepth
	t.MessageCount += a.MessageCount
	t.Paused = t.Paused || a.Paused
	for _, ac := range a.Channels {
		i := slices.IndexFunc(t.Channels, func(c *ChannelStats) bool { return c.ChannelName == ac.ChannelName })
		if i < 0 {
			// The first nsqd's entry stands for the channel until a second
			// nsqd has it too (as upstream's document shows it).
			t.Channels = append(t.Channels, ac.shallow())
			continue
		}
		c := t.Channels[i]
		if c.Node != "*" {
			// second nsqd: the entry becomes a sum over both
			c.NodeStats = []*ChannelStats{c.origin}
		}
		c.Add(ac)
	}
	t.NodeStats = append(t.NodeStats, a)
	sortTopicsByHost(t.NodeStats)
	if t.E2eProcessingLatency == nil {
		t.E2eProcessingLatency = &Latency{Addr: t.Node, Topic: t.TopicName}
	}
	t.E2eProcessingLatency.add(a.E2eProcessingLatency)
}

// shallow copies c so that summing into the copy leaves c alone; the copy
// remembers c as its origin.
func (c *ChannelStats) shallow() *ChannelStats {
	cp := *c
	cp.Clients = slices.Clone(c.Clients)
	cp.NodeStats = slices.Clone(c.NodeStats)
	cp.E2eProcessingLatency = c.E2eProcessingLatency.clone()
	cp.origin = c
	return &cp
}

// Add adds one nsqd's stats of the channel to c, which becomes (or stays)
// the sum over nsqd (Node "*").
func (c *ChannelStats) Add(a *ChannelStats) {
	c.Node = "*"
	c.Depth += a.Depth
	c.MemoryDepth += a.MemoryDepth
	c.BackendDepth += a.BackendDepth
	c.InFlightCount += a.InFlightCount
	c.DeferredCount += a.DeferredCount
	c.RequeueCount += a.RequeueCount
	c.TimeoutCount += a.TimeoutCount
	c.MessageCount += a.MessageCount
	c.ClientCount += a.ClientCount
	c.Paused = c.Paused || a.Paused
	c.NodeStats = append(c.NodeStats, a)
	sortChannelsByHost(c.NodeStats)
	if c.E2eProcessingLatency == nil {
		c.E2eProcessingLatency = &Latency{Addr: c.Node, Topic: c.TopicName, Channel: c.ChannelName}
	}
	c.E2eProcessingLatency.add(a.E2eProcessingLatency)
	c.Clients = append(c.Clients, a.Clients...)
	sortClientsByHost(c.Clients)
}

// Upstream sorts nsqd and clients by hostname alone, so equal hostnames
// come in whatever order the answers arrived; the node address (and the
// client's remote address) settles ties here, which is one of those orders.

func sortTopicsByHost(ts []*TopicStats) {
	slices.SortStableFunc(ts, func(a, b *TopicStats) int {
		return cmpPair(a.Hostname, b.Hostname, a.Node, b.Node)
	})
}

func sortChannelsByHost(cs []*ChannelStats) {
	slices.SortStableFunc(cs, func(a, b *ChannelStats) int {
		return cmpPair(a.Hostname, b.Hostname, a.Node, b.Node)
	})
}

func sortClientsByHost(cs []*ClientStats) {
	slices.SortStableFunc(cs, func(a, b *ClientStats) int {
		if c := cmpPair(a.Hostname, b.Hostname, a.Node, b.Node); c != 0 {
			return c
		}
		return strings.Compare(a.RemoteAddress, b.RemoteAddress)
	})
}

func sortProducersByHost(ps Producers) {
	slices.SortStableFunc(ps, func(a, b *Producer) int {
		return cmpPair(a.Hostname, b.Hostname, a.TCPAddress(), b.TCPAddress())
	})
}

func cmpPair(a1, b1, a2, b2 string) int {
	if c := strings.Compare(a1, b1); c != 0 {
		return c
	}
	return strings.Compare(a2, b2)
}

// semver is the part of a semantic version that orders releases:
// major.minor.patch, and whether it is a pre-release (which sorts before
// the release). A version that does not parse is 0.0.0, as upstream treats
// it.
type semver struct {
	nums [3]uint64
	pre  string
}

func parseSemver(s string) semver {
	var v semver
	core := s
	if i := strings.IndexByte(core, '+'); i >= 0 {
		core = core[:i]
	}
	if i := strings.IndexByte(core, '-'); i >= 0 {
		core, v.pre = core[:i], core[i+1:]
		if v.pre == "" {
			return semver{}
		}
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return semver{}
	}
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return semver{}
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return semver{}
		}
		v.nums[i] = n
	}
	return v
}

// less reports whether v is an older version than o. Pre-releases compare
// by their identifiers as text (enough to order rc1 < rc2).
func (v semver) less(o semver) bool {
	for i := range v.nums {
		if v.nums[i] != o.nums[i] {
			return v.nums[i] < o.nums[i]
		}
	}
	switch {
	case v.pre == o.pre:
		return false
	case v.pre == "":
		return false
	case o.pre == "":
		return true
	}
	return v.pre < o.pre
}
