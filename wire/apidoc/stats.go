package apidoc

import (
	"math"
	"runtime"
	"slices"
)

// Stats is the /stats?format=json document.
//
// Topics and Producers are nil (encoded as null) in the cases where
// upstream leaves them nil: Topics when the requested topic does not exist,
// Producers when nothing qualifies as a producer or clients were excluded.
// Memory is omitted when include_mem is false.
type Stats struct {
	Version   string   `json:"version"`
	Health    string   `json:"health"`
	StartTime int64    `json:"start_time"`
	Topics    []Topic  `json:"topics"`
	Memory    *Memory  `json:"memory,omitempty"`
	Producers []Client `json:"producers"`
}

// Topic is one topic of the /stats document.
type Topic struct {
	TopicName    string    `json:"topic_name"`
	Channels     []Channel `json:"channels"`
	Depth        int64     `json:"depth"`
	BackendDepth int64     `json:"backend_depth"`
	MessageCount uint64    `json:"message_count"`
	MessageBytes uint64    `json:"message_bytes"`
	Paused       bool      `json:"paused"`

	E2eProcessingLatency Latency `json:"e2e_processing_latency"`

	// CorruptCount (ours, absent upstream and while zero) counts messages
	// skipped because their stored record failed its checksum.
	CorruptCount uint64 `json:"corrupt_count,omitempty"`
	// ExpiredCount and DeadLetterCount (ours, absent upstream and while
	// zero) sum the topic's channels': messages that outlived the topic's
	// TTL undelivered, and messages moved to a dead-letter topic.
	ExpiredCount    uint64 `json:"expired_count,omitempty"`
	DeadLetterCount uint64 `json:"dead_letter_count,omitempty"`
}

// Channel is one channel of a Topic. Clients is nil (null) when the request
// asked for include_clients=false, and an empty list when it did not but the
// channel has no consumer.
type Channel struct {
	ChannelName   string   `json:"channel_name"`
	Depth         int64    `json:"depth"`
	BackendDepth  int64    `json:"backend_depth"`
	InFlightCount int      `json:"in_flight_count"`
	DeferredCount int      `json:"deferred_count"`
	MessageCount  uint64   `json:"message_count"`
	RequeueCount  uint64   `json:"requeue_count"`
	TimeoutCount  uint64   `json:"timeout_count"`
	ClientCount   int      `json:"client_count"`
	Clients       []Client `json:"clients"`
	Paused        bool     `json:"paused"`

	E2eProcessingLatency Latency `json:"e2e_processing_latency"`

	// ExpiredCount and DeadLetterCount (ours, absent upstream and while
	// zero): see Topic.
	ExpiredCount    uint64 `json:"expired_count,omitempty"`
	DeadLetterCount uint64 `json:"dead_letter_count,omitempty"`
}

// Client is a V2 connection, as listed under a channel (consumers) or in
// Producers.
type Client struct {
	ClientID        string `json:"client_id"`
	Hostname        string `json:"hostname"`
	Version         string `json:"version"` // always "V2"
	RemoteAddress   string `json:"remote_address"`
	State           int32  `json:"state"`
	ReadyCount      int64  `json:"ready_count"`
	InFlightCount   int64  `json:"in_flight_count"`
	MessageCount    uint64 `json:"message_count"`
	FinishCount     uint64 `json:"finish_count"`
	RequeueCount    uint64 `json:"requeue_count"`
	ConnectTime     int64  `json:"connect_ts"` // unix seconds
	SampleRate      int32  `json:"sample_rate"`
	Deflate         bool   `json:"deflate"`
	Snappy          bool   `json:"snappy"`
	UserAgent       string `json:"user_agent"`
	Authed          bool   `json:"authed,omitempty"`
	AuthIdentity    string `json:"auth_identity,omitempty"`
	AuthIdentityURL string `json:"auth_identity_url,omitempty"`

	PubCounts []PubCount `json:"pub_counts,omitempty"`

	TLS                           bool   `json:"tls"`
	CipherSuite                   string `json:"tls_cipher_suite"`
	TLSVersion                    string `json:"tls_version"`
	TLSNegotiatedProtocol         string `json:"tls_negotiated_protocol"`
	TLSNegotiatedProtocolIsMutual bool   `json:"tls_negotiated_protocol_is_mutual"`
}

// ClientVersion is the protocol name every Client reports.
const ClientVersion = "V2"

// PubCount is how many messages a client published to one topic.
type PubCount struct {
	Topic string `json:"topic"`
	Count uint64 `json:"count"`
}

// Latency is the end-to-end processing latency summary of a topic or
// channel. With no --e2e-processing-latency-percentile configured upstream
// still emits the field, as {"count":0,"percentiles":null}: that is the
// zero value.
type Latency struct {
	Count int `json:"count"`
	// Percentiles holds one {"quantile": q, "value": ns} object per
	// configured percentile.
	Percentiles []map[string]float64 `json:"percentiles"`
}

// Memory is the optional memory section of the /stats document. Pause
// percentiles are in microseconds.
type Memory struct {
	HeapObjects       uint64 `json:"heap_objects"`
	HeapIdleBytes     uint64 `json:"heap_idle_bytes"`
	HeapInUseBytes    uint64 `json:"heap_in_use_bytes"`
	HeapReleasedBytes uint64 `json:"heap_released_bytes"`
	GCPauseUsec100    uint64 `json:"gc_pause_usec_100"`
	GCPauseUsec99     uint64 `json:"gc_pause_usec_99"`
	GCPauseUsec95     uint64 `json:"gc_pause_usec_95"`
	NextGCBytes       uint64 `json:"next_gc_bytes"`
	GCTotalRuns       uint32 `json:"gc_total_runs"`
	// Not in upstream's document (nsqd fills them; MemoryFrom does not):
	// the process's resident memory and its anonymous (Go heap, stacks,
	// buffers) and file-backed (the binary's code, log pages in use)
	// parts, and the address space the logs have mapped.
	ResidentBytes     uint64 `json:"resident_bytes,omitempty"`
	ResidentAnonBytes uint64 `json:"resident_anon_bytes,omitempty"`
	ResidentFileBytes uint64 `json:"resident_file_bytes,omitempty"`
	LogMappedBytes    uint64 `json:"log_mapped_bytes,omitempty"`
}

// MemoryFrom summarises ms the way upstream does: the pause percentiles are
// taken over the first min(NumGC, 256) entries of the PauseNs ring, sorted,
// with nearest-rank rounding.
func MemoryFrom(ms *runtime.MemStats) Memory {
	n := min(int(ms.NumGC), len(ms.PauseNs))
	pauses := slices.Clone(ms.PauseNs[:n])
	slices.Sort(pauses)
	return Memory{
		HeapObjects:       ms.HeapObjects,
		HeapIdleBytes:     ms.HeapIdle,
		HeapInUseBytes:    ms.HeapInuse,
		HeapReleasedBytes: ms.HeapReleased,
		GCPauseUsec100:    nearestRank(pauses, 100) / 1000,
		GCPauseUsec99:     nearestRank(pauses, 99) / 1000,
		GCPauseUsec95:     nearestRank(pauses, 95) / 1000,
		NextGCBytes:       ms.NextGC,
		GCTotalRuns:       ms.NumGC,
	}
}

// nearestRank returns the perc-th percentile of the sorted values, rounding
// the rank half up and clamping it to the last element; 0 for no values.
func nearestRank(sorted []uint64, perc float64) uint64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Floor(perc/100*float64(len(sorted)) + 0.5))
	return sorted[min(i, len(sorted)-1)]
}
