package httpapi

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/netpoll"
	"github.com/nsqfast/nsq/wire/apidoc"
)

// health is upstream's health string: "OK" or "NOK - <reason>".
func (s *server) health() (string, bool) {
	if err := s.eng.Health(); err != nil {
		return fmt.Sprintf("NOK - %s", err), false
	}
	return "OK", true
}

// ping is GET /ping: "OK", or 500 with the health string.
func (s *server) ping(_ http.ResponseWriter, _ *http.Request, _ string) (any, error) {
	h, ok := s.health()
	if !ok {
		return nil, errf(http.StatusInternalServerError, h)
	}
	return h, nil
}

// info is GET /info.
func (s *server) info(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	hostname := s.o.Hostname
	if hostname == "" {
		var err error
		if hostname, err = os.Hostname(); err != nil {
			return nil, errf(http.StatusInternalServerError, err.Error())
		}
	}
	httpPort := s.o.HTTPPort
	if httpPort == 0 {
		httpPort = -1
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
			httpPort = a.Port
		}
	}
	return &apidoc.Info{
		Version:                s.o.Version,
		BroadcastAddress:       s.o.BroadcastAddress,
		Hostname:               hostname,
		HTTPPort:               httpPort,
		TCPPort:                s.o.TCPPort,
		StartTime:              s.eng.StartTime().Unix(),
		MaxHeartbeatInterval:   int64(s.o.MaxHeartbeatInterval),
		MaxOutputBufferSize:    s.o.MaxOutputBufferSize,
		MaxOutputBufferTimeout: int64(s.o.MaxOutputBufferTimeout),
		MaxDeflateLevel:        s.o.MaxDeflateLevel,
	}, nil
}

// stats is GET /stats?format=json|text&topic=T&channel=C
// &include_clients=B&include_mem=B. format defaults to text; both booleans
// default to true (a value other than true/1/false/0 counts as absent).
func (s *server) stats(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	q, err := s.reqParams(r)
	if err != nil {
		return nil, err
	}
	format, _ := q.get("format")
	topic, _ := q.get("topic")
	channel, _ := q.get("channel")
	includeClients := boolParam(&q, "include_clients", true)
	includeMem := boolParam(&q, "include_mem", true)

	doc := s.statsDoc(topic, channel, includeClients)
	if includeMem {
		m := MemoryDoc(s.eng)
		doc.Memory = &m
	}
	if format != "json" {
		return apidoc.AppendStatsText(nil, apidoc.TextHeader{
			VersionLine: fmt.Sprintf("nsqd v%s (built w/%s)", s.o.Version, runtime.Version()),
			StartTime:   s.eng.StartTime(),
			Now:         time.Now(),
		}, &doc), nil
	}
	return &doc, nil
}

func boolParam(q *query, key string, def bool) bool {
	v, _ := q.get(key)
	if b, ok := parseBool(v); ok {
		return b
	}
	return def
}

// statsDoc builds the /stats document (without memory). The choices of
// which lists are null follow upstream's GetStats: an unknown topic gives
// null topics and producers; a channel filter drops the topics without that
// channel; include_clients=false gives null client lists and producers.
func (s *server) statsDoc(topicFilter, channelFilter string, includeClients bool) apidoc.Stats {
	health, _ := s.health()
	doc := apidoc.Stats{
		Version:   s.o.Version,
		Health:    health,
		StartTime: s.eng.StartTime().Unix(),
	}
	var topics []*engine.Topic
	if topicFilter == "" {
		topics = s.eng.Topics()
	} else if t, ok := s.eng.ExistingTopic(topicFilter); ok {
		topics = []*engine.Topic{t}
	} else {
		return doc
	}

	// every consumer seen, so that a producer that is also subscribed
	// reports its consumer counters as upstream does
	consumers := map[*netpoll.Client]engine.ConsumerStats{}
	doc.Topics = make([]apidoc.Topic, 0, len(topics))
	for _, t := range topics {
		if channelFilter != "" {
			if _, ok := t.ExistingChannel(channelFilter); !ok {
				continue
			}
		}
		ts := t.Stats(channelFilter, includeClients)
		slices.SortFunc(ts.Channels, func(a, b engine.ChannelStats) int { return cmp.Compare(a.Name, b.Name) })
		td := apidoc.Topic{
			TopicName:    ts.Name,
			Channels:     make([]apidoc.Channel, 0, len(ts.Channels)),
			Depth:        ts.Depth,
			BackendDepth: ts.BackendDepth,
			MessageCount: ts.MessageCount,
			MessageBytes: ts.MessageBytes,
			Paused:       ts.Paused,
			CorruptCount: ts.CorruptCount,

			ExpiredCount:    ts.ExpiredCount,
			DeadLetterCount: ts.DeadLetterCount,

			E2eProcessingLatency: latencyDoc(ts.E2E),
		}
		for _, cs := range ts.Channels {
			cd := apidoc.Channel{
				ChannelName:   cs.Name,
				Depth:         cs.Depth,
				BackendDepth:  cs.BackendDepth,
				InFlightCount: cs.InFlightCount,
				DeferredCount: cs.DeferredCount,
				MessageCount:  cs.MessageCount,
				RequeueCount:  cs.RequeueCount,
				TimeoutCount:  cs.TimeoutCount,
				ClientCount:   cs.ClientCount,
				Paused:        cs.Paused,

				E2eProcessingLatency: latencyDoc(cs.E2E),

				ExpiredCount:    cs.ExpiredCount,
				DeadLetterCount: cs.DeadLetterCount,
			}
			if includeClients {
				cd.Clients = make([]apidoc.Client, 0, len(cs.Consumers))
				infos := make([]netpoll.Info, 0, len(cs.Consumers))
				for _, cons := range cs.Consumers {
					var in netpoll.Info
					if c, ok := cons.Consumer.(*netpoll.Client); ok {
						in = c.Info()
						consumers[c] = cons
					}
					netpoll.FillSubscription(&in, cons)
					infos = append(infos, in)
				}
				sortByID(infos)
				for i := range infos {
					cd.Clients = append(cd.Clients, clientDoc(&infos[i], topicFilter))
				}
			}
			td.Channels = append(td.Channels, cd)
		}
		doc.Topics = append(doc.Topics, td)
	}

	if includeClients && s.o.Clients != nil {
		var infos []netpoll.Info
		for _, c := range s.o.Clients() {
			in := c.Info()
			// upstream's producer: a client that has published, subscribed
			// or not
			if len(in.PubCounts) == 0 {
				continue
			}
			if cons, ok := consumers[c]; ok {
				netpoll.FillSubscription(&in, cons)
			} else if cons, ok := s.subscription(c, &in); ok {
				netpoll.FillSubscription(&in, cons)
			}
			infos = append(infos, in)
		}
		sortByID(infos)
		for i := range infos {
			doc.Producers = append(doc.Producers, clientDoc(&infos[i], topicFilter))
		}
	}
	return doc
}

// latencyDoc is upstream's e2e_processing_latency: {"count":0,
// "percentiles":null} when no percentile is configured (or the topic has no
// channel), else one {"quantile","value"} object per percentile.
func latencyDoc(l engine.LatencyStats) apidoc.Latency {
	d := apidoc.Latency{Count: l.Count}
	if l.Percentiles != nil {
		d.Percentiles = make([]map[string]float64, len(l.Percentiles))
		for i, p := range l.Percentiles {
			d.Percentiles[i] = map[string]float64{"quantile": p.Quantile, "value": p.Value}
		}
	}
	return d
}

// subscription finds the engine's counters of a subscribed client.
func (s *server) subscription(c *netpoll.Client, in *netpoll.Info) (engine.ConsumerStats, bool) {
	if in.State != netpoll.StateSubscribed {
		return engine.ConsumerStats{}, false
	}
	t, ok := s.eng.ExistingTopic(in.Topic)
	if !ok {
		return engine.ConsumerStats{}, false
	}
	ch, ok := t.ExistingChannel(in.Channel)
	if !ok {
		return engine.ConsumerStats{}, false
	}
	for _, cons := range ch.Stats(true).Consumers {
		if cons.Consumer == engine.Consumer(c) {
			return cons, true
		}
	}
	return engine.ConsumerStats{}, false
}

func sortByID(infos []netpoll.Info) {
	slices.SortFunc(infos, func(a, b netpoll.Info) int { return cmp.Compare(a.ID, b.ID) })
}

// clientDoc is a client's /stats entry. As upstream's, its pub_counts holds
// at most one topic: the filtered topic when /stats was asked for one, else
// the first the client published to (upstream takes the first of a Go map,
// so an arbitrary one; here the first by name).
func clientDoc(in *netpoll.Info, topicFilter string) apidoc.Client {
	d := apidoc.Client{
		ClientID:      in.ClientID,
		Hostname:      in.Hostname,
		Version:       apidoc.ClientVersion,
		RemoteAddress: in.RemoteAddress,
		State:         in.State,
		ReadyCount:    in.ReadyCount,
		InFlightCount: in.InFlightCount,
		MessageCount:  in.MessageCount,
		FinishCount:   in.FinishCount,
		RequeueCount:  in.RequeueCount,
		ConnectTime:   in.ConnectTime.Unix(),
		SampleRate:    in.SampleRate,
		UserAgent:     in.UserAgent,

		Deflate:         in.Deflate,
		Snappy:          in.Snappy,
		Authed:          in.Authed,
		AuthIdentity:    in.AuthIdentity,
		AuthIdentityURL: in.AuthIdentityURL,
	}
	if in.TLS {
		d.TLS = true
		d.CipherSuite = cipherSuiteName(in.TLSCipherSuite)
		d.TLSVersion = tlsVersionName(in.TLSVersion)
		d.TLSNegotiatedProtocol = in.TLSNegotiatedProtocol
		d.TLSNegotiatedProtocolIsMutual = in.TLSNegotiatedProtocolIsMutual
	}
	if d.Hostname == "" {
		// upstream's hostname starts as the peer's host, until IDENTIFY
		if h, _, err := net.SplitHostPort(in.RemoteAddress); err == nil {
			d.Hostname = h
		}
	}
	for _, pc := range in.PubCounts {
		if topicFilter != "" && pc.Topic != topicFilter {
			continue
		}
		d.PubCounts = []apidoc.PubCount{{Topic: pc.Topic, Count: pc.Count}}
		break
	}
	return d
}

// upstreamCipherSuites are the suites upstream's /stats names; any other
// (TLS 1.3's included) it reports as "Unknown <n>", and so do we.
var upstreamCipherSuites = map[uint16]bool{
	tls.TLS_RSA_WITH_RC4_128_SHA: true, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA: true,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA: true, tls.TLS_RSA_WITH_AES_256_CBC_SHA: true,
	tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: true, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: true,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: true, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA: true,
	tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: true, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: true,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: true, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: true,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: true,
}

func cipherSuiteName(id uint16) string {
	if upstreamCipherSuites[id] {
		return tls.CipherSuiteName(id)
	}
	return fmt.Sprintf("Unknown %d", id)
}

func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("Unknown %d", v)
}

// MemoryDoc is the memory part of /stats (and of statsd's mem.* gauges):
// upstream's Go heap figures, and beside them what the process holds
// resident and what its logs have mapped.
func MemoryDoc(eng *engine.Engine) apidoc.Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := apidoc.MemoryFrom(&ms)
	pm := engine.ReadProcessMemory()
	m.ResidentBytes = uint64(pm.Resident)
	m.ResidentAnonBytes = uint64(pm.Anon)
	m.ResidentFileBytes = uint64(pm.File)
	m.LogMappedBytes = uint64(eng.LogMappedBytes())
	return m
}
