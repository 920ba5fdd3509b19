package nsqd

import (
	"github.com/nsqfast/nsq/wire/httproute"

	"github.com/nsqfast/nsq/wire/lg"

	"crypto/md5"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options configures an nsqd. NewOptions returns upstream v1.3.0's defaults;
// Validate checks it.
//
// Each field that upstream exposes carries two struct tags: `flag` is the
// name of its command-line flag and `cfg` is its key in the TOML config
// file. Fields without tags are tunables upstream does not expose either.
// This package never parses flags or files; cmd/nsqd does, using the tags.
//
// An Options must not be modified once passed to New.
type Options struct {
	// ID is the node id, the unique part of generated message IDs, in
	// [0, 1024). Default: a hash of the hostname (see NodeIDFromHostname).
	// The config key is "id", not "node_id".
	ID int64 `flag:"node-id" cfg:"id"`
	// LogLevel is the minimum level logged. Default LogInfo.
	LogLevel LogLevel `flag:"log-level" cfg:"log_level"`
	// LogPrefix starts every log line. Default "[nsqd] ".
	LogPrefix string `flag:"log-prefix" cfg:"log_prefix"`
	// LogOutput receives log lines; nil means os.Stderr. Default nil. No
	// flag (upstream's equivalent is its Logger field).
	LogOutput io.Writer

	// TCPAddress is where TCP clients connect: host:port, or a path for a
	// unix socket. Default "0.0.0.0:4150".
	TCPAddress string `flag:"tcp-address" cfg:"tcp_address"`
	// HTTPAddress is where the HTTP API listens: host:port, or a path for a
	// unix socket; "" disables it. Default "0.0.0.0:4151".
	HTTPAddress string `flag:"http-address" cfg:"http_address"`
	// HTTPSAddress is where the HTTPS API listens. As upstream, it is only
	// used when a TLS certificate is configured. Default "0.0.0.0:4152".
	HTTPSAddress string `flag:"https-address" cfg:"https_address"`
	// BroadcastAddress is the host registered with nsqlookupd. Default: the
	// hostname.
	BroadcastAddress string `flag:"broadcast-address" cfg:"broadcast_address"`
	// BroadcastTCPPort is the TCP port registered with nsqlookupd; 0 means
	// the port TCPAddress is bound to. Default 0.
	BroadcastTCPPort int `flag:"broadcast-tcp-port" cfg:"broadcast_tcp_port"`
	// BroadcastHTTPPort is the HTTP port registered with nsqlookupd; 0 means
	// the port HTTPAddress is bound to. Default 0.
	BroadcastHTTPPort int `flag:"broadcast-http-port" cfg:"broadcast_http_port"`
	// NSQLookupdTCPAddresses are the nsqlookupd instances (host:port of
	// their TCP listener) to register with. Default none.
	NSQLookupdTCPAddresses []string `flag:"lookupd-tcp-address" cfg:"nsqlookupd_tcp_addresses"`
	// LookupdPingInterval is the time between PINGs to each nsqlookupd.
	// Default 15s. No flag (upstream's is fixed).
	LookupdPingInterval time.Duration
	// AuthHTTPAddresses are auth servers (host:port or URL) consulted on
	// AUTH. Default none.
	AuthHTTPAddresses []string `flag:"auth-http-address" cfg:"auth_http_addresses"`
	// HTTPClientConnectTimeout bounds connecting to auth servers and
	// nsqlookupd over HTTP. Default 2s.
	HTTPClientConnectTimeout time.Duration `flag:"http-client-connect-timeout" cfg:"http_client_connect_timeout"`
	// HTTPClientRequestTimeout bounds a whole outgoing HTTP request. Default
	// 5s.
	HTTPClientRequestTimeout time.Duration `flag:"http-client-request-timeout" cfg:"http_client_request_timeout"`

	// DataPath is the directory for durable messages and metadata; ""
	// means the working directory. Default "".
	DataPath string `flag:"data-path" cfg:"data_path"`
	// MemQueueSize is upstream's count of messages kept in memory per topic
	// or channel. Here it bounds ephemeral topics and channels only (beyond
	// it they drop messages); durable topics keep every message in their
	// log whatever its value. It is also the depth beyond which /stats
	// reports backend_depth. 0 means the default. Default 10000.
	MemQueueSize int64 `flag:"mem-queue-size" cfg:"mem_queue_size"`
	// MaxBytesPerFile is the size at which a queue file is rolled. Default
	// 104857600 (100 MiB).
	MaxBytesPerFile int64 `flag:"max-bytes-per-file" cfg:"max_bytes_per_file"`
	// SyncEvery bounds the acknowledged messages of a topic not yet on
	// stable storage to SyncEvery-1: a publish that would reach it waits
	// for the topic's next sync before its OK (1: every OK waits). Default
	// 2500. See engine.Options.SyncEvery.
	SyncEvery int64 `flag:"sync-every" cfg:"sync_every"`
	// SyncTimeout is the longest time between fsyncs of a topic, and
	// between channel checkpoints. Default 2s.
	SyncTimeout time.Duration `flag:"sync-timeout" cfg:"sync_timeout"`

	// QueueScanInterval is how often in-flight and deferred timeouts are
	// scanned. Default 100ms. No flag.
	QueueScanInterval time.Duration
	// QueueScanRefreshInterval is how often upstream resizes its pool of
	// scan workers. Ignored here, as are the next three: one goroutine
	// visits every channel every QueueScanInterval. Default 5s. No flag.
	QueueScanRefreshInterval time.Duration
	// QueueScanSelectionCount is the number of channels upstream checks per
	// scan. Accepted and ignored. Default 20.
	QueueScanSelectionCount int `flag:"queue-scan-selection-count" cfg:"queue_scan_selection_count"`
	// QueueScanWorkerPoolMax caps upstream's goroutines scanning channels.
	// Accepted and ignored. Default 4.
	QueueScanWorkerPoolMax int `flag:"queue-scan-worker-pool-max" cfg:"queue_scan_worker_pool_max"`
	// QueueScanDirtyPercent is the share of scanned channels that must have
	// had work for upstream's scan to repeat at once. Ignored. Default 0.25.
	// No flag.
	QueueScanDirtyPercent float64

	// MsgTimeout is how long a message may stay in flight before it is
	// requeued, unless the client asks otherwise. Default 60s.
	MsgTimeout time.Duration `flag:"msg-timeout" cfg:"msg_timeout"`
	// MaxMsgTimeout caps a client's msg_timeout and TOUCH. Default 15m.
	MaxMsgTimeout time.Duration `flag:"max-msg-timeout" cfg:"max_msg_timeout"`
	// MaxMsgSize is the largest message body accepted, in bytes. Default
	// 1048576.
	MaxMsgSize int64 `flag:"max-msg-size" cfg:"max_msg_size"`
	// MaxBodySize is the largest command body accepted (MPUB), in bytes.
	// Default 5242880.
	MaxBodySize int64 `flag:"max-body-size" cfg:"max_body_size"`
	// MaxReqTimeout caps REQ and DPUB delays. Default 1h.
	MaxReqTimeout time.Duration `flag:"max-req-timeout" cfg:"max_req_timeout"`
	// ClientTimeout is the heartbeat interval clients get unless they ask
	// otherwise. Default 60s. No flag.
	ClientTimeout time.Duration

	// MaxHeartbeatInterval caps a client's heartbeat_interval. Default 60s.
	MaxHeartbeatInterval time.Duration `flag:"max-heartbeat-interval" cfg:"max_heartbeat_interval"`
	// MaxRdyCount caps a client's RDY. Default 2500.
	MaxRdyCount int64 `flag:"max-rdy-count" cfg:"max_rdy_count"`
	// MaxOutputBufferSize caps a client's output_buffer_size, in bytes.
	// Default 65536. This option and the three output buffer timeouts
	// below bound and default what IDENTIFY negotiates, which is checked,
	// answered and reported (/stats, /info) as upstream; nothing else
	// reads it: output is written at the end of each event-loop turn,
	// never held back for a size or a timer. 0 means the default.
	MaxOutputBufferSize int64 `flag:"max-output-buffer-size" cfg:"max_output_buffer_size"`
	// MaxOutputBufferTimeout caps a client's output_buffer_timeout. Default
	// 30s.
	MaxOutputBufferTimeout time.Duration `flag:"max-output-buffer-timeout" cfg:"max_output_buffer_timeout"`
	// MinOutputBufferTimeout is the least output_buffer_timeout a client may
	// ask for. Default 25ms.
	MinOutputBufferTimeout time.Duration `flag:"min-output-buffer-timeout" cfg:"min_output_buffer_timeout"`
	// OutputBufferTimeout is the output_buffer_timeout clients get unless
	// they ask otherwise. Default 250ms.
	OutputBufferTimeout time.Duration `flag:"output-buffer-timeout" cfg:"output_buffer_timeout"`
	// RetentionAge (ours, not upstream's) keeps consumed messages on disk
	// until they are this old, for replay (POST /channel/rewind). Default
	// 0: delete them once every channel has finished them.
	RetentionAge time.Duration `flag:"retention-age" cfg:"retention_age"`
	// RetentionBytes (ours) keeps consumed messages while a topic's log is
	// no larger than this many bytes. Default 0: no size retention.
	RetentionBytes int64 `flag:"retention-bytes" cfg:"retention_bytes"`
	// AllowPeek (ours) serves GET /topic/peek and /channel/peek, which list
	// messages with their bodies without consuming them. Default true;
	// false answers them 403 PEEK_DISABLED.
	AllowPeek bool `flag:"allow-peek" cfg:"allow_peek"`
	// MsgTTL (ours) is how long a message may wait before it expires
	// undelivered; a topic's own (POST /topic/ttl) overrides it. Default 0:
	// forever.
	MsgTTL time.Duration `flag:"msg-ttl" cfg:"msg_ttl"`
	// MaxAttempts (ours) is how many times a channel delivers a message
	// before it moves it to its dead-letter topic; a channel's own (POST
	// /channel/dead-letter) overrides it. Default 0: no limit. At most
	// 65535.
	MaxAttempts int `flag:"max-attempts" cfg:"max_attempts"`

	// MaxChannelConsumers limits consumers per channel; 0 means no limit.
	// Default 0.
	MaxChannelConsumers int `flag:"max-channel-consumers" cfg:"max_channel_consumers"`

	// StatsdAddress is the UDP host:port of a statsd daemon; "" disables
	// statsd. Default "".
	StatsdAddress string `flag:"statsd-address" cfg:"statsd_address"`
	// StatsdPrefix prefixes statsd keys; "%s" is replaced by the host.
	// Default "nsq.%s".
	StatsdPrefix string `flag:"statsd-prefix" cfg:"statsd_prefix"`
	// StatsdInterval is the time between statsd pushes. Default 60s.
	StatsdInterval time.Duration `flag:"statsd-interval" cfg:"statsd_interval"`
	// StatsdMemStats sends memory and GC stats to statsd. Default true.
	StatsdMemStats bool `flag:"statsd-mem-stats" cfg:"statsd_mem_stats"`
	// StatsdUDPPacketSize is the size of statsd UDP packets, in bytes.
	// Default 508.
	StatsdUDPPacketSize int `flag:"statsd-udp-packet-size" cfg:"statsd_udp_packet_size"`
	// StatsdExcludeEphemeral leaves ephemeral topics and channels out of
	// statsd. Default false.
	StatsdExcludeEphemeral bool `flag:"statsd-exclude-ephemeral" cfg:"statsd_exclude_ephemeral"`

	// E2EProcessingLatencyWindowTime is the window over which end-to-end
	// latency quantiles are computed. Default 10m.
	E2EProcessingLatencyWindowTime time.Duration `flag:"e2e-processing-latency-window-time" cfg:"e2e_processing_latency_window_time"`
	// E2EProcessingLatencyPercentiles are the end-to-end latency
	// percentiles tracked, each in (0, 1]. Default none.
	E2EProcessingLatencyPercentiles []float64 `flag:"e2e-processing-latency-percentile" cfg:"e2e_processing_latency_percentiles"`

	// TLSCert is the certificate file. Default "".
	TLSCert string `flag:"tls-cert" cfg:"tls_cert"`
	// TLSKey is the private key file. Default "".
	TLSKey string `flag:"tls-key" cfg:"tls_key"`
	// TLSClientAuthPolicy is "require" or "require-verify"; any other value
	// asks for no client certificate. Setting it implies TLSRequired.
	// Default "".
	TLSClientAuthPolicy string `flag:"tls-client-auth-policy" cfg:"tls_client_auth_policy"`
	// TLSRootCAFile is a PEM file of CAs that client certificates are
	// verified against. Default "".
	TLSRootCAFile string `flag:"tls-root-ca-file" cfg:"tls_root_ca_file"`
	// TLSRequired says whether clients must upgrade to TLS. Default
	// TLSNotRequired.
	TLSRequired TLSRequirement `flag:"tls-required" cfg:"tls_required"`
	// TLSMinVersion is the oldest TLS version accepted. Default TLS 1.0.
	TLSMinVersion TLSVersion `flag:"tls-min-version" cfg:"tls_min_version"`

	// DeflateEnabled lets clients negotiate deflate. Default true.
	DeflateEnabled bool `flag:"deflate" cfg:"deflate"`
	// MaxDeflateLevel is the highest deflate level a client may ask for, in
	// [1, 9]. Default 6.
	MaxDeflateLevel int `flag:"max-deflate-level" cfg:"max_deflate_level"`
	// SnappyEnabled lets clients negotiate snappy. Default true.
	SnappyEnabled bool `flag:"snappy" cfg:"snappy"`

	// MaxConnsPerIP (ours, not upstream's) is the most TCP connections one
	// remote IP address may hold open at once; more are closed as soon as
	// they are accepted. Default 0: no limit, as upstream.
	MaxConnsPerIP int `flag:"max-conns-per-ip" cfg:"max_conns_per_ip"`
	// HTTPLimits bound what one HTTP client can hold (timeouts, header
	// bytes); zero fields take httproute's defaults (docs/OPERATIONS.md,
	// Limits). No flag.
	HTTPLimits httproute.ServerLimits
}

// NewOptions returns upstream v1.3.0's defaults. The node id and broadcast
// address come from the hostname; if it cannot be read, "localhost" is used
// (upstream exits instead).
func NewOptions() *Options {
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "localhost"
	}
	return &Options{
		ID:        NodeIDFromHostname(hostname),
		LogLevel:  LogInfo,
		LogPrefix: "[nsqd] ",

		TCPAddress:       "0.0.0.0:4150",
		HTTPAddress:      "0.0.0.0:4151",
		HTTPSAddress:     "0.0.0.0:4152",
		BroadcastAddress: hostname,

		NSQLookupdTCPAddresses:   []string{},
		LookupdPingInterval:      15 * time.Second,
		AuthHTTPAddresses:        []string{},
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,

		AllowPeek: true,

		MemQueueSize:    10000,
		MaxBytesPerFile: 100 << 20,
		SyncEvery:       2500,
		SyncTimeout:     2 * time.Second,

		QueueScanInterval:        100 * time.Millisecond,
		QueueScanRefreshInterval: 5 * time.Second,
		QueueScanSelectionCount:  20,
		QueueScanWorkerPoolMax:   4,
		QueueScanDirtyPercent:    0.25,

		MsgTimeout:    60 * time.Second,
		MaxMsgTimeout: 15 * time.Minute,
		MaxMsgSize:    1 << 20,
		MaxBodySize:   5 << 20,
		MaxReqTimeout: time.Hour,
		ClientTimeout: 60 * time.Second,

		MaxHeartbeatInterval:   60 * time.Second,
		MaxRdyCount:            2500,
		MaxOutputBufferSize:    64 << 10,
		MaxOutputBufferTimeout: 30 * time.Second,
		MinOutputBufferTimeout: 25 * time.Millisecond,
		OutputBufferTimeout:    250 * time.Millisecond,

		StatsdPrefix:        "nsq.%s",
		StatsdInterval:      60 * time.Second,
		StatsdMemStats:      true,
		StatsdUDPPacketSize: 508,

		E2EProcessingLatencyWindowTime: 10 * time.Minute,

		TLSRequired:   TLSNotRequired,
		TLSMinVersion: tls.VersionTLS10,

		DeflateEnabled:  true,
		MaxDeflateLevel: 6,
		SnappyEnabled:   true,
	}
}

// NodeIDFromHostname is upstream's default node id: the CRC-32 (IEEE) of
// the MD5 digest of the hostname, modulo 1024.
func NodeIDFromHostname(hostname string) int64 {
	sum := md5.Sum([]byte(hostname))
	return int64(crc32.ChecksumIEEE(sum[:]) % 1024)
}

// Validate reports every problem with o, joined: the range checks upstream
// makes, and ours where upstream fails later or not at all (a non-positive
// --statsd-interval or --e2e-processing-latency-window-time). Each message
// starts with the flag it is about. Validate does not modify o. Every
// option is built; docs/COMPATIBILITY.md says which ones this build treats
// differently.
func (o *Options) Validate() error {
	var errs []error
	if o.ID < 0 || o.ID >= 1024 {
		errs = append(errs, fmt.Errorf("--node-id: %d is out of range, must be in [0,1024)", o.ID))
	}
	if o.MaxAttempts < 0 || o.MaxAttempts > 65535 {
		errs = append(errs, fmt.Errorf("--max-attempts: %d is out of range, must be in [0,65535]", o.MaxAttempts))
	}
	if o.MsgTTL < 0 {
		errs = append(errs, fmt.Errorf("--msg-ttl: %v must not be negative", o.MsgTTL))
	}
	if o.MaxDeflateLevel < 1 || o.MaxDeflateLevel > 9 {
		errs = append(errs, fmt.Errorf("--max-deflate-level: %d is out of range, must be in [1,9]", o.MaxDeflateLevel))
	}
	for _, p := range o.E2EProcessingLatencyPercentiles {
		if p <= 0 || p > 1 {
			errs = append(errs, fmt.Errorf("--e2e-processing-latency-percentile: invalid percentile %v, must be in (0,1]", p))
		}
	}
	if o.MaxConnsPerIP < 0 {
		errs = append(errs, fmt.Errorf("--max-conns-per-ip: %d must not be negative (0: no limit)", o.MaxConnsPerIP))
	}
	if o.StatsdAddress != "" && o.StatsdInterval <= 0 {
		errs = append(errs, fmt.Errorf("--statsd-interval: %v must be positive", o.StatsdInterval))
	}
	if len(o.E2EProcessingLatencyPercentiles) > 0 && o.E2EProcessingLatencyWindowTime <= 0 {
		errs = append(errs, fmt.Errorf("--e2e-processing-latency-window-time: %v must be positive", o.E2EProcessingLatencyWindowTime))
	}
	switch o.LogLevel {
	case LogDebug, LogInfo, LogWarn, LogError, LogFatal:
	default:
		errs = append(errs, fmt.Errorf("--log-level: invalid level %d", int(o.LogLevel)))
	}
	switch o.TLSRequired {
	case TLSNotRequired, TLSRequiredExceptHTTP, TLSRequired:
	default:
		errs = append(errs, fmt.Errorf("--tls-required: invalid value %d", int(o.TLSRequired)))
	}
	// As upstream: a client auth policy implies TLS is required, and TLS
	// cannot be required without a certificate and key.
	if o.TLSCert == "" && o.TLSKey == "" {
		if o.TLSRequired != TLSNotRequired {
			errs = append(errs, errors.New("--tls-required: cannot require TLS client connections without --tls-cert and --tls-key"))
		} else if o.TLSClientAuthPolicy != "" {
			errs = append(errs, errors.New("--tls-client-auth-policy: implies --tls-required, which needs --tls-cert and --tls-key"))
		}
	}
	if _, ok := o.TLSMinVersion.name(); !ok {
		errs = append(errs, fmt.Errorf("--tls-min-version: unknown TLS version %d", int(o.TLSMinVersion)))
	}
	return errors.Join(errs...)
}

// LogLevel is the minimum level logged: upstream's levels, one type for every daemon
// (wire/lg).
type LogLevel = lg.Level

// Log levels, least severe first.
const (
	LogDebug = lg.Debug
	LogInfo  = lg.Info
	LogWarn  = lg.Warn
	LogError = lg.Error
	LogFatal = lg.Fatal
)

// ParseLogLevel accepts upstream's names, in any case: debug, info, warn,
// error, fatal.
func ParseLogLevel(s string) (LogLevel, error) { return lg.Parse(s) }

// TLSRequirement says which connections must use TLS. The values match
// upstream's constants.
type TLSRequirement int

// TLS requirements.
const (
	// TLSNotRequired lets every client stay in plain text.
	TLSNotRequired TLSRequirement = iota
	// TLSRequiredExceptHTTP requires TLS on TCP and serves only HTTPS for
	// the HTTP API ("tcp-https").
	TLSRequiredExceptHTTP
	// TLSRequired requires TLS on TCP; the plain HTTP API stays up but
	// rejects requests that need TLS.
	TLSRequired
)

// ParseTLSRequirement accepts upstream's values, in any case: "tcp-https",
// or anything strconv.ParseBool accepts (true, false, 1, 0, ...).
func ParseTLSRequirement(s string) (TLSRequirement, error) {
	s = strings.ToLower(s)
	if s == "tcp-https" {
		return TLSRequiredExceptHTTP, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return TLSNotRequired, fmt.Errorf("invalid TLS requirement %q (true, false, tcp-https)", s)
	}
	if b {
		return TLSRequired, nil
	}
	return TLSNotRequired, nil
}

// Set parses upstream's values (flag.Value and config files).
func (t *TLSRequirement) Set(s string) error {
	v, err := ParseTLSRequirement(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// IsBoolFlag lets --tls-required alone mean true, as upstream.
func (t *TLSRequirement) IsBoolFlag() bool { return true }

// String returns "false", "tcp-https" or "true".
func (t TLSRequirement) String() string {
	switch t {
	case TLSNotRequired:
		return "false"
	case TLSRequiredExceptHTTP:
		return "tcp-https"
	case TLSRequired:
		return "true"
	}
	return strconv.Itoa(int(t))
}

// TLSVersion is a crypto/tls version number, such as tls.VersionTLS12.
type TLSVersion uint16

var tlsVersionNames = []struct {
	v    TLSVersion
	name string
}{
	{tls.VersionTLS10, "tls1.0"},
	{tls.VersionTLS11, "tls1.1"},
	{tls.VersionTLS12, "tls1.2"},
	{tls.VersionTLS13, "tls1.3"},
}

// ParseTLSVersion accepts tls1.0, tls1.1, tls1.2 and tls1.3, in any case.
// Upstream's help text also names ssl3.0, but upstream rejects it, and so
// does this.
func ParseTLSVersion(s string) (TLSVersion, error) {
	s = strings.ToLower(s)
	for _, e := range tlsVersionNames {
		if e.name == s {
			return e.v, nil
		}
	}
	return 0, fmt.Errorf("unknown TLS version %q (tls1.0, tls1.1, tls1.2, tls1.3)", s)
}

// String returns the name ParseTLSVersion accepts, or the number.
// Set parses tls1.0 ... tls1.3; as upstream, "" leaves it unchanged.
func (v *TLSVersion) Set(s string) error {
	if s == "" {
		return nil
	}
	tv, err := ParseTLSVersion(s)
	if err != nil {
		return err
	}
	*v = tv
	return nil
}

func (v TLSVersion) String() string {
	if name, ok := v.name(); ok {
		return name
	}
	return strconv.Itoa(int(v))
}

func (v TLSVersion) name() (string, bool) {
	for _, e := range tlsVersionNames {
		if e.v == v {
			return e.name, true
		}
	}
	return "", false
}
