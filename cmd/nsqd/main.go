// Command nsqd is a drop-in replacement for NSQ v1.3.0's nsqd: it accepts
// the same flags, with the same defaults, and the same TOML config file.
//
// Options are resolved as upstream resolves them (mreiferson/go-options):
// a flag given on the command line wins, then the config file, then the
// default. Config keys are the `cfg` tags of nsqd.Options; unknown keys are
// ignored.
package main

import (
	"flag"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/nsqfast/nsq/cmd/internal/app"
	"github.com/nsqfast/nsq/engine/nsqd"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, stop))
}

// run is main without the process: it returns the exit status. It starts
// nsqd and blocks until stop delivers a signal.
func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	var opts *nsqd.Options
	return app.Run(app.Process{
		Name:        "nsqd",
		Version:     app.VersionString("nsqd", nsqd.Version),
		StartFailed: "failed to start nsqd - ",
		Parse: func() (showVersion bool, err error) {
			opts, showVersion, err = parseOptions(args, stderr)
			return showVersion, err
		},
		New: app.NewDaemon(func() (*nsqd.NSQD, error) {
			if err := opts.Validate(); err != nil {
				return nil, err
			}
			return nsqd.New(opts)
		}),
	}, stdout, stderr, stop)
}

// cmdLine holds the flags that are not options.
type cmdLine struct {
	configFile  string
	showVersion bool
}

// parseOptions parses args (without the program name), then, unless
// --version was given, loads the config file named by --config. Flag errors
// are written to stderr and returned as usageError (or flag.ErrHelp).
func parseOptions(args []string, stderr io.Writer) (opts *nsqd.Options, showVersion bool, err error) {
	opts = nsqd.NewOptions()
	var cl cmdLine
	fs := newFlagSet(opts, &cl)
	fs.SetOutput(stderr)
	// As upstream, these keys are checked even when a flag overrides them.
	if err := app.Parse(fs, args, &cl.configFile, &cl.showVersion, opts, "log_level", "tls_required", "tls_min_version"); err != nil {
		return nil, false, err
	}
	return opts, cl.showVersion, nil
}

// newFlagSet defines every upstream nsqd flag, bound to the fields of opts
// (whose values are the defaults), plus --config and --version, bound to cl.
// The help texts are ours; names, kinds and defaults are upstream's.
func newFlagSet(opts *nsqd.Options, cl *cmdLine) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqd", flag.ContinueOnError)

	fs.BoolVar(&cl.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&cl.configFile, "config", "", "path to a TOML config file (flags given on the command line override it)")

	fs.Var(&opts.LogLevel, "log-level", "least severe level logged: debug, info, warn, error or fatal")
	fs.StringVar(&opts.LogPrefix, "log-prefix", opts.LogPrefix, "text at the start of every log line")
	fs.Bool("verbose", false, "[deprecated] ignored; use --log-level")

	fs.Int64Var(&opts.ID, "node-id", opts.ID, "node id, part of every message ID, in [0,1024); defaults to a hash of the hostname")
	fs.Bool("worker-id", false, "[deprecated] ignored; use --node-id")

	fs.StringVar(&opts.HTTPSAddress, "https-address", opts.HTTPSAddress, "<addr>:<port> for the HTTPS API (used only with --tls-cert)")
	fs.StringVar(&opts.HTTPAddress, "http-address", opts.HTTPAddress, "<addr>:<port> or unix socket <path> for the HTTP API")
	fs.StringVar(&opts.TCPAddress, "tcp-address", opts.TCPAddress, "<addr>:<port> or unix socket <path> for TCP clients")
	fs.Var((*stringsFlag)(&opts.AuthHTTPAddresses), "auth-http-address", "<addr>:<port> or URL of an auth server (repeatable)")
	fs.StringVar(&opts.BroadcastAddress, "broadcast-address", opts.BroadcastAddress, "host registered with nsqlookupd; defaults to the hostname")
	fs.IntVar(&opts.BroadcastTCPPort, "broadcast-tcp-port", opts.BroadcastTCPPort, "TCP port registered with nsqlookupd (0: the port --tcp-address is bound to)")
	fs.IntVar(&opts.BroadcastHTTPPort, "broadcast-http-port", opts.BroadcastHTTPPort, "HTTP port registered with nsqlookupd (0: the port --http-address is bound to)")
	fs.Var((*stringsFlag)(&opts.NSQLookupdTCPAddresses), "lookupd-tcp-address", "TCP address of an nsqlookupd to register with (repeatable)")
	fs.DurationVar(&opts.HTTPClientConnectTimeout, "http-client-connect-timeout", opts.HTTPClientConnectTimeout, "how long outgoing HTTP requests may take to connect")
	fs.DurationVar(&opts.HTTPClientRequestTimeout, "http-client-request-timeout", opts.HTTPClientRequestTimeout, "how long an outgoing HTTP request may take in all")

	fs.StringVar(&opts.DataPath, "data-path", opts.DataPath, "directory for messages on disk and metadata; empty means the working directory")
	fs.Int64Var(&opts.MemQueueSize, "mem-queue-size", opts.MemQueueSize, "messages an ephemeral topic or channel holds before it drops some (durable topics keep every message in their log whatever this is)")
	fs.Int64Var(&opts.MaxBytesPerFile, "max-bytes-per-file", opts.MaxBytesPerFile, "bytes written to a queue file before the next one is started")
	fs.Int64Var(&opts.SyncEvery, "sync-every", opts.SyncEvery, "a publish waits for its topic's fsync before OK once the topic is this many messages ahead of the last one (1: every OK waits)")
	fs.DurationVar(&opts.SyncTimeout, "sync-timeout", opts.SyncTimeout, "longest time between fsyncs of a topic (and between channel checkpoints)")

	fs.IntVar(&opts.QueueScanWorkerPoolMax, "queue-scan-worker-pool-max", opts.QueueScanWorkerPoolMax, "accepted and ignored: one goroutine scans every channel for in-flight and deferred timeouts every 100ms")
	fs.IntVar(&opts.QueueScanSelectionCount, "queue-scan-selection-count", opts.QueueScanSelectionCount, "accepted and ignored: every channel is scanned for timeouts every 100ms")

	fs.DurationVar(&opts.MsgTimeout, "msg-timeout", opts.MsgTimeout, "default time a message may stay in flight before it is requeued")
	fs.DurationVar(&opts.MaxMsgTimeout, "max-msg-timeout", opts.MaxMsgTimeout, "longest in-flight timeout a client may ask for")
	fs.Int64Var(&opts.MaxMsgSize, "max-msg-size", opts.MaxMsgSize, "largest message body accepted, in bytes")
	fs.DurationVar(&opts.MaxReqTimeout, "max-req-timeout", opts.MaxReqTimeout, "longest delay accepted by REQ and DPUB")
	fs.Int64Var(&opts.MaxBodySize, "max-body-size", opts.MaxBodySize, "largest command body accepted, in bytes")

	fs.DurationVar(&opts.MaxHeartbeatInterval, "max-heartbeat-interval", opts.MaxHeartbeatInterval, "longest heartbeat interval a client may ask for")
	fs.Int64Var(&opts.MaxRdyCount, "max-rdy-count", opts.MaxRdyCount, "largest RDY count a client may send")
	fs.Int64Var(&opts.MaxOutputBufferSize, "max-output-buffer-size", opts.MaxOutputBufferSize, "largest output buffer a client may ask for, in bytes")
	fs.DurationVar(&opts.MaxOutputBufferTimeout, "max-output-buffer-timeout", opts.MaxOutputBufferTimeout, "longest output buffer flush interval a client may ask for")
	fs.DurationVar(&opts.MinOutputBufferTimeout, "min-output-buffer-timeout", opts.MinOutputBufferTimeout, "shortest output buffer flush interval a client may ask for")
	fs.DurationVar(&opts.OutputBufferTimeout, "output-buffer-timeout", opts.OutputBufferTimeout, "output buffer flush interval of clients that do not ask for one")
	fs.IntVar(&opts.MaxChannelConsumers, "max-channel-consumers", opts.MaxChannelConsumers, "most consumers per channel (0: no limit)")
	// Ours, not upstream's: replay (docs/OPERATIONS.md).
	fs.DurationVar(&opts.RetentionAge, "retention-age", opts.RetentionAge, "keep consumed messages this long, for replay (0: delete once consumed)")
	fs.Int64Var(&opts.RetentionBytes, "retention-bytes", opts.RetentionBytes, "keep consumed messages while a topic's log is under this size, for replay (0: no size retention)")
	fs.DurationVar(&opts.MsgTTL, "msg-ttl", opts.MsgTTL, "a message not delivered within this long after its publish expires (0: never; POST /topic/ttl sets a topic's own)")
	fs.IntVar(&opts.MaxAttempts, "max-attempts", opts.MaxAttempts, "deliveries of a message before a channel moves it to its dead-letter topic <topic>.<channel>.dead (0: no limit; POST /channel/dead-letter sets a channel's own)")
	fs.BoolVar(&opts.AllowPeek, "allow-peek", opts.AllowPeek, "serve GET /topic/peek and /channel/peek (message bodies, read without consuming them)")
	// Ours: a bound on connections per remote IP (docs/OPERATIONS.md, Limits).
	fs.IntVar(&opts.MaxConnsPerIP, "max-conns-per-ip", opts.MaxConnsPerIP, "most TCP connections one remote IP address may hold open (0: no limit)")

	fs.StringVar(&opts.StatsdAddress, "statsd-address", opts.StatsdAddress, "UDP <addr>:<port> of a statsd daemon to push stats to")
	fs.DurationVar(&opts.StatsdInterval, "statsd-interval", opts.StatsdInterval, "time between pushes to statsd")
	fs.BoolVar(&opts.StatsdMemStats, "statsd-mem-stats", opts.StatsdMemStats, "also push memory and GC stats to statsd")
	fs.StringVar(&opts.StatsdPrefix, "statsd-prefix", opts.StatsdPrefix, "prefix of statsd keys (%s becomes the host)")
	fs.IntVar(&opts.StatsdUDPPacketSize, "statsd-udp-packet-size", opts.StatsdUDPPacketSize, "size of statsd UDP packets, in bytes")
	fs.BoolVar(&opts.StatsdExcludeEphemeral, "statsd-exclude-ephemeral", opts.StatsdExcludeEphemeral, "leave ephemeral topics and channels out of statsd")

	fs.Var((*floatsFlag)(&opts.E2EProcessingLatencyPercentiles), "e2e-processing-latency-percentile", "end-to-end latency percentile to track, in (0,1] (repeatable or comma separated, e.g. 1.0,0.99,0.95)")
	fs.DurationVar(&opts.E2EProcessingLatencyWindowTime, "e2e-processing-latency-window-time", opts.E2EProcessingLatencyWindowTime, "time window of the end-to-end latency percentiles")

	fs.StringVar(&opts.TLSCert, "tls-cert", opts.TLSCert, "path to the TLS certificate file")
	fs.StringVar(&opts.TLSKey, "tls-key", opts.TLSKey, "path to the TLS private key file")
	fs.StringVar(&opts.TLSClientAuthPolicy, "tls-client-auth-policy", opts.TLSClientAuthPolicy, "client certificate policy: 'require' or 'require-verify'")
	fs.StringVar(&opts.TLSRootCAFile, "tls-root-ca-file", opts.TLSRootCAFile, "path to a PEM file of certificate authorities")
	fs.Var(&opts.TLSRequired, "tls-required", "whether clients must use TLS: true, false or tcp-https")
	fs.Var(&opts.TLSMinVersion, "tls-min-version", "oldest TLS version accepted: tls1.0, tls1.1, tls1.2 or tls1.3")

	fs.BoolVar(&opts.DeflateEnabled, "deflate", opts.DeflateEnabled, "let clients negotiate deflate compression")
	fs.IntVar(&opts.MaxDeflateLevel, "max-deflate-level", opts.MaxDeflateLevel, "highest deflate level a client may negotiate, in [1,9] (higher costs more CPU)")
	fs.BoolVar(&opts.SnappyEnabled, "snappy", opts.SnappyEnabled, "let clients negotiate snappy compression")

	return fs
}

// stringsFlag appends one value per use; as upstream, commas are not split.
type stringsFlag []string

func (f *stringsFlag) String() string { return strings.Join(*f, ",") }

func (f *stringsFlag) Set(s string) error {
	*f = append(*f, s)
	return nil
}

// floatsFlag appends comma-separated numbers per use and, as upstream,
// keeps them sorted from largest to smallest.
type floatsFlag []float64

func (f *floatsFlag) String() string {
	parts := make([]string, len(*f))
	for i, v := range *f {
		parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (f *floatsFlag) Set(s string) error {
	vals, err := app.ParseFloatList(s)
	if err != nil {
		return err
	}
	*f = append(*f, vals...)
	sort.Sort(sort.Reverse(sort.Float64Slice(*f)))
	return nil
}
