package apidoc

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
)

// sample is a document with one of everything, as upstream would fill it.
func sample() *Stats {
	consumer := Client{
		ClientID: "vm", Hostname: "vm", Version: ClientVersion,
		RemoteAddress: "127.0.0.1:59368", State: 3, ReadyCount: 1,
		InFlightCount: 1, MessageCount: 1, ConnectTime: 1700000000,
		UserAgent: "go-nsq/1.1.0",
	}
	producer := Client{
		ClientID: "vm", Hostname: "vm", Version: ClientVersion,
		RemoteAddress: "127.0.0.1:59354", ConnectTime: 1700000000,
		UserAgent: "go-nsq/1.1.0", PubCounts: []PubCount{{Topic: "t1", Count: 3}},
	}
	return &Stats{
		Version: "1.3.0", Health: "OK", StartTime: 1699999990,
		Topics: []Topic{
			{
				TopicName: "t1", MessageCount: 3, MessageBytes: 15,
				Channels: []Channel{{
					ChannelName: "ch1", Depth: 2, InFlightCount: 1, MessageCount: 3,
					ClientCount: 1, Clients: []Client{consumer},
				}},
			},
			{TopicName: "t2", Channels: []Channel{}, Depth: 1, BackendDepth: 1, MessageCount: 1, MessageBytes: 1, Paused: true},
		},
		Producers: []Client{producer},
	}
}

// The exact bytes upstream v1.3.0 writes for the same state (captured from
// a real nsqd; only the values differ from the capture).
const sampleJSON = `{"version":"1.3.0","health":"OK","start_time":1699999990,"topics":[` +
	`{"topic_name":"t1","channels":[{"channel_name":"ch1","depth":2,"backend_depth":0,"in_flight_count":1,"deferred_count":0,"message_count":3,"requeue_count":0,"timeout_count":0,"client_count":1,` +
	`"clients":[{"client_id":"vm","hostname":"vm","version":"V2","remote_address":"127.0.0.1:59368","state":3,"ready_count":1,"in_flight_count":1,"message_count":1,"finish_count":0,"requeue_count":0,"connect_ts":1700000000,"sample_rate":0,"deflate":false,"snappy":false,"user_agent":"go-nsq/1.1.0","tls":false,"tls_cipher_suite":"","tls_version":"","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false}],` +
	`"paused":false,"e2e_processing_latency":{"count":0,"percentiles":null}}],"depth":0,"backend_depth":0,"message_count":3,"message_bytes":15,"paused":false,"e2e_processing_latency":{"count":0,"percentiles":null}},` +
	`{"topic_name":"t2","channels":[],"depth":1,"backend_depth":1,"message_count":1,"message_bytes":1,"paused":true,"e2e_processing_latency":{"count":0,"percentiles":null}}],` +
	`"producers":[{"client_id":"vm","hostname":"vm","version":"V2","remote_address":"127.0.0.1:59354","state":0,"ready_count":0,"in_flight_count":0,"message_count":0,"finish_count":0,"requeue_count":0,"connect_ts":1700000000,"sample_rate":0,"deflate":false,"snappy":false,"user_agent":"go-nsq/1.1.0","pub_counts":[{"topic":"t1","count":3}],"tls":false,"tls_cipher_suite":"","tls_version":"","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false}]}`

func TestStatsJSON(t *testing.T) {
	b, err := json.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != sampleJSON {
		t.Fatalf("got\n%s\nwant\n%s", b, sampleJSON)
	}
}

func TestStatsJSONNulls(t *testing.T) {
	// an unknown topic: null lists, memory present
	s := &Stats{Version: "1.3.0", Health: "NOK - disk", StartTime: 1, Memory: &Memory{GCTotalRuns: 2}}
	b, _ := json.Marshal(s)
	want := `{"version":"1.3.0","health":"NOK - disk","start_time":1,"topics":null,` +
		`"memory":{"heap_objects":0,"heap_idle_bytes":0,"heap_in_use_bytes":0,"heap_released_bytes":0,"gc_pause_usec_100":0,"gc_pause_usec_99":0,"gc_pause_usec_95":0,"next_gc_bytes":0,"gc_total_runs":2},` +
		`"producers":null}`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	// include_clients=false: clients null
	b, _ = json.Marshal(Channel{ChannelName: "c"})
	if !strings.Contains(string(b), `"client_count":0,"clients":null,"paused":false`) {
		t.Fatalf("channel: %s", b)
	}
}

func TestClientOptionalKeys(t *testing.T) {
	c := Client{Authed: true, AuthIdentity: "me", AuthIdentityURL: "http://x", TLS: true, CipherSuite: "TLS_AES_128_GCM_SHA256", TLSVersion: "TLS1.3"}
	b, _ := json.Marshal(c)
	want := `{"client_id":"","hostname":"","version":"","remote_address":"","state":0,"ready_count":0,"in_flight_count":0,"message_count":0,"finish_count":0,"requeue_count":0,"connect_ts":0,"sample_rate":0,"deflate":false,"snappy":false,"user_agent":"",` +
		`"authed":true,"auth_identity":"me","auth_identity_url":"http://x",` +
		`"tls":true,"tls_cipher_suite":"TLS_AES_128_GCM_SHA256","tls_version":"TLS1.3","tls_negotiated_protocol":"","tls_negotiated_protocol_is_mutual":false}`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	// an empty, non-nil pub_counts is omitted too (upstream makes one)
	b, _ = json.Marshal(Client{PubCounts: []PubCount{}})
	if strings.Contains(string(b), "pub_counts") {
		t.Fatalf("empty pub_counts emitted: %s", b)
	}
}

func TestLatency(t *testing.T) {
	b, _ := json.Marshal(Latency{})
	if string(b) != `{"count":0,"percentiles":null}` {
		t.Fatalf("zero latency: %s", b)
	}
	if s := (Latency{}).String(); s != "" {
		t.Fatalf("zero latency text %q", s)
	}
	l := Latency{Count: 5, Percentiles: []map[string]float64{
		{"quantile": 0.99, "value": 2.5e9},
		{"quantile": 0.95, "value": 1.25e6},
		{"quantile": 0.5, "value": 1500},
		{"quantile": 0.1, "value": 1000},
	}}
	if s := l.String(); s != "2.5s, 1.2ms, 1.5us, 1000.0ns" {
		t.Fatalf("latency text %q", s)
	}
	b, _ = json.Marshal(l)
	if !strings.HasPrefix(string(b), `{"count":5,"percentiles":[{"quantile":0.99,"value":2500000000},`) {
		t.Fatalf("latency json %s", b)
	}
}

func TestInfoJSON(t *testing.T) {
	b, _ := json.Marshal(Info{
		Version: "1.3.0", BroadcastAddress: "vm", Hostname: "vm", HTTPPort: 4151, TCPPort: 4150,
		StartTime: 1, MaxHeartbeatInterval: int64(time.Minute), MaxOutputBufferSize: 65536,
		MaxOutputBufferTimeout: int64(30 * time.Second), MaxDeflateLevel: 6,
	})
	want := `{"version":"1.3.0","broadcast_address":"vm","hostname":"vm","http_port":4151,"tcp_port":4150,"start_time":1,` +
		`"max_heartbeat_interval":60000000000,"max_output_buffer_size":65536,"max_output_buffer_timeout":30000000000,"max_deflate_level":6}`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(Message{Message: "TOPIC_NOT_FOUND"})
	if string(b) != `{"message":"TOPIC_NOT_FOUND"}` {
		t.Fatalf("message %s", b)
	}
}

func TestMemoryFrom(t *testing.T) {
	var ms runtime.MemStats
	ms.HeapObjects, ms.HeapIdle, ms.HeapInuse, ms.HeapReleased, ms.NextGC = 1, 2, 3, 4, 5
	// no GC yet: every percentile is 0
	if m := MemoryFrom(&ms); m != (Memory{HeapObjects: 1, HeapIdleBytes: 2, HeapInUseBytes: 3, HeapReleasedBytes: 4, NextGCBytes: 5}) {
		t.Fatalf("no gc: %+v", m)
	}
	// 100 pauses of 1..100us, stored out of order
	for i := range 100 {
		ms.PauseNs[i] = uint64(100-i) * 1000
	}
	ms.NumGC = 100
	m := MemoryFrom(&ms)
	// nearest rank, rounded half up: 95% of 100 is index 95 (96us); 99%
	// is index 99 (100us); 100% clamps to the last
	if m.GCPauseUsec95 != 96 || m.GCPauseUsec99 != 100 || m.GCPauseUsec100 != 100 || m.GCTotalRuns != 100 {
		t.Fatalf("pauses: %+v", m)
	}
	// more GCs than the ring holds: all 256 entries count
	for i := range ms.PauseNs {
		ms.PauseNs[i] = uint64(i+1) * 1000
	}
	ms.NumGC = 1000
	m = MemoryFrom(&ms)
	if m.GCPauseUsec100 != 256 || m.GCPauseUsec95 != 244 || m.GCPauseUsec99 != 254 {
		t.Fatalf("full ring: %+v", m)
	}
}

func TestStatsText(t *testing.T) {
	h := TextHeader{
		VersionLine: "nsqd v1.3.0 (built w/go1.26.0)",
		StartTime:   time.Unix(1700000000, 0).UTC(),
		Now:         time.Unix(1700000007, 500e6),
	}
	s := sample()
	s.Memory = &Memory{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
	got := string(AppendStatsText(nil, h, s))
	want := "nsqd v1.3.0 (built w/go1.26.0)\n" +
		"start_time 2023-11-14T22:13:20Z\n" +
		"uptime 7.5s\n" +
		"\n" +
		"Health: OK\n" +
		"\n" +
		"Memory:\n" +
		"   heap_objects             \t1\n" +
		"   heap_idle_bytes          \t2\n" +
		"   heap_in_use_bytes        \t3\n" +
		"   heap_released_bytes      \t4\n" +
		"   gc_pause_usec_100        \t5\n" +
		"   gc_pause_usec_99         \t6\n" +
		"   gc_pause_usec_95         \t7\n" +
		"   next_gc_bytes            \t8\n" +
		"   gc_total_runs            \t9\n" +
		"   resident_bytes           \t10\n" +
		"   resident_anon_bytes      \t11\n" +
		"   resident_file_bytes      \t12\n" +
		"   log_mapped_bytes         \t13\n" +
		"\n" +
		"Topics:\n" +
		"   [t1             ] depth: 0     be-depth: 0     msgs: 3        e2e%: \n" +
		"      [ch1                      ] depth: 2     be-depth: 0     inflt: 1    def: 0    re-q: 0     timeout: 0     msgs: 3        e2e%: \n" +
		"        [V2 vm:59368 go-nsq/1.1.0] state: 3 inflt: 1    rdy: 1    fin: 0        re-q: 0        msgs: 1        connected: 7s\n" +
		"\n" +
		"*P [t2             ] depth: 1     be-depth: 1     msgs: 1        e2e%: \n" +
		"\n" +
		"Producers:\n" +
		"   [V2 vm:59354 go-nsq/1.1.0] msgs: 3        topics: t1=3 connected: 7s\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}

	// nothing at all; a paused channel; a short client id is padded
	empty := &Stats{Health: "OK"}
	got = string(AppendStatsText(nil, h, empty))
	if !strings.HasSuffix(got, "\nHealth: OK\n\nTopics: None\n\nProducers: None\n") {
		t.Fatalf("empty:\n%s", got)
	}
	ch := &Stats{Topics: []Topic{{TopicName: "t", Channels: []Channel{{ChannelName: "c", Paused: true,
		Clients: []Client{{Version: "V2", Hostname: "h", RemoteAddress: "1.2.3.4:5", ConnectTime: 1700000000}}}}}}}
	got = string(AppendStatsText(nil, h, ch))
	if !strings.Contains(got, "\n   *P [c                        ] depth: 0") ||
		!strings.Contains(got, "\n        [V2 h:5                  ] state: 0 inflt: 0    rdy: 0    fin: 0        re-q: 0        msgs: 0        connected: 7s\n") {
		t.Fatalf("paused channel:\n%s", got)
	}
}

func TestClientTextMultiTopic(t *testing.T) {
	c := Client{Version: "V2", Hostname: "h", RemoteAddress: "[::1]:4242", UserAgent: "ua",
		ConnectTime: 100, PubCounts: []PubCount{{"a", 1}, {"b", 2}}}
	got := string(AppendClientText(nil, &c, time.Unix(3700, 0)))
	if got != "[V2 h:4242 ua            ] msgs: 3        topics: a=1,b=2 connected: 1h0m0s" {
		t.Fatalf("%q", got)
	}
}
