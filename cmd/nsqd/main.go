// Command nsqd is a drop-in replacement for NSQ v1.3.0's nsqd: it accepts
// the same flags, with the same defaults, and the same TOML config file.
//
// Options are resolved as upstream resolves them (mreiferson/go-options):
// a flag given on the command line wins, then the config file, then the
// default. Config keys are the `cfg` tags of nsqd.Options; unknown keys are
// ignored.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/nsqfast/nsq/engine/nsqd"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, stop))
}

// versionString is upstream's --version line, e.g.
// "nsqd v1.3.0 (built w/go1.26.1)".
func versionString() string {
	return fmt.Sprintf("nsqd v%s (built w/%s)", nsqd.Version, runtime.Version())
}

// run is main without the process: it returns the exit status. It starts
// nsqd and blocks until stop delivers a signal.
func run(args []string, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	opts, showVersion, err := parseOptions(args, stderr)
	var uerr usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &uerr):
		return 2 // the flag package has printed the error and the usage
	case err != nil:
		fatalf(stderr, "%s", err)
		return 1
	case showVersion:
		fmt.Fprintln(stdout, versionString())
		return 0
	}

	if err := opts.Validate(); err != nil {
		for _, e := range splitErrors(err) {
			fatalf(stderr, "failed to instantiate nsqd - %s", e)
		}
		return 1
	}
	n, err := nsqd.New(opts)
	if err != nil {
		fatalf(stderr, "failed to instantiate nsqd - %s", err)
		return 1
	}
	if err := n.Main(); err != nil {
		fatalf(stderr, "failed to start nsqd - %s", err)
		n.Exit()
		return 1
	}
	<-stop
	n.Exit()
	return 0
}

// fatalf writes a line as upstream's fatal log does:
// "[nsqd] 2006/01/02 15:04:05.000000 FATAL: ...".
func fatalf(w io.Writer, format string, args ...any) {
	l := log.New(w, "[nsqd] ", log.Ldate|log.Ltime|log.Lmicroseconds)
	l.Print("FATAL: " + fmt.Sprintf(format, args...))
}

// splitErrors undoes errors.Join, so each problem gets its own line.
func splitErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// usageError is a command-line parse error; the flag package has already
// reported it.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, false, err
		}
		return nil, false, usageError{err}
	}
	// Upstream ignores arguments after the flags; so does this.
	if cl.showVersion {
		return opts, true, nil
	}
	if cl.configFile == "" {
		return opts, false, nil
	}
	cfg := map[string]any{}
	if _, err := toml.DecodeFile(cl.configFile, &cfg); err != nil {
		return nil, false, fmt.Errorf("failed to load config file %s - %w", cl.configFile, err)
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if err := applyConfig(opts, cfg, explicit); err != nil {
		return nil, false, fmt.Errorf("failed to load config file %s - %w", cl.configFile, err)
	}
	return opts, false, nil
}

// newFlagSet defines every upstream nsqd flag, bound to the fields of opts
// (whose values are the defaults), plus --config and --version, bound to cl.
// The help texts are ours; names, kinds and defaults are upstream's.
func newFlagSet(opts *nsqd.Options, cl *cmdLine) *flag.FlagSet {
	fs := flag.NewFlagSet("nsqd", flag.ContinueOnError)

	fs.BoolVar(&cl.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&cl.configFile, "config", "", "path to a TOML config file (flags given on the command line override it)")

	fs.Var((*logLevelFlag)(&opts.LogLevel), "log-level", "least severe level logged: debug, info, warn, error or fatal")
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
	fs.Int64Var(&opts.MemQueueSize, "mem-queue-size", opts.MemQueueSize, "messages kept in memory per topic and per channel")
	fs.Int64Var(&opts.MaxBytesPerFile, "max-bytes-per-file", opts.MaxBytesPerFile, "bytes written to a queue file before the next one is started")
	fs.Int64Var(&opts.SyncEvery, "sync-every", opts.SyncEvery, "messages written between fsyncs of a queue")
	fs.DurationVar(&opts.SyncTimeout, "sync-timeout", opts.SyncTimeout, "longest time between fsyncs of a queue")

	fs.IntVar(&opts.QueueScanWorkerPoolMax, "queue-scan-worker-pool-max", opts.QueueScanWorkerPoolMax, "most goroutines scanning channels for in-flight and deferred timeouts")
	fs.IntVar(&opts.QueueScanSelectionCount, "queue-scan-selection-count", opts.QueueScanSelectionCount, "channels scanned for timeouts per 100ms cycle")

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
	fs.Var((*tlsRequiredFlag)(&opts.TLSRequired), "tls-required", "whether clients must use TLS: true, false or tcp-https")
	fs.Var((*tlsVersionFlag)(&opts.TLSMinVersion), "tls-min-version", "oldest TLS version accepted: tls1.0, tls1.1, tls1.2 or tls1.3")

	fs.BoolVar(&opts.DeflateEnabled, "deflate", opts.DeflateEnabled, "let clients negotiate deflate compression")
	fs.IntVar(&opts.MaxDeflateLevel, "max-deflate-level", opts.MaxDeflateLevel, "highest deflate level a client may negotiate, in [1,9] (higher costs more CPU)")
	fs.BoolVar(&opts.SnappyEnabled, "snappy", opts.SnappyEnabled, "let clients negotiate snappy compression")

	return fs
}

// logLevelFlag is --log-level.
type logLevelFlag nsqd.LogLevel

func (f *logLevelFlag) String() string { return nsqd.LogLevel(*f).String() }

func (f *logLevelFlag) Set(s string) error {
	l, err := nsqd.ParseLogLevel(s)
	if err != nil {
		return err
	}
	*f = logLevelFlag(l)
	return nil
}

// tlsRequiredFlag is --tls-required; as upstream, the bare flag means true.
type tlsRequiredFlag nsqd.TLSRequirement

func (f *tlsRequiredFlag) String() string   { return nsqd.TLSRequirement(*f).String() }
func (f *tlsRequiredFlag) IsBoolFlag() bool { return true }

func (f *tlsRequiredFlag) Set(s string) error {
	t, err := nsqd.ParseTLSRequirement(s)
	if err != nil {
		return err
	}
	*f = tlsRequiredFlag(t)
	return nil
}

// tlsVersionFlag is --tls-min-version; as upstream, "" leaves it unchanged.
type tlsVersionFlag nsqd.TLSVersion

func (f *tlsVersionFlag) String() string { return nsqd.TLSVersion(*f).String() }

func (f *tlsVersionFlag) Set(s string) error {
	if s == "" {
		return nil
	}
	v, err := nsqd.ParseTLSVersion(s)
	if err != nil {
		return err
	}
	*f = tlsVersionFlag(v)
	return nil
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
	vals, err := parseFloatList(s)
	if err != nil {
		return err
	}
	*f = append(*f, vals...)
	sort.Sort(sort.Reverse(sort.Float64Slice(*f)))
	return nil
}

func parseFloatList(s string) ([]float64, error) {
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", part)
		}
		out = append(out, v)
	}
	return out, nil
}

// configKey is the config file key of an Options field: its cfg tag, or
// else its flag name with '-' replaced by '_' (upstream's rule).
func configKey(f reflect.StructField) string {
	if k := f.Tag.Get("cfg"); k != "" {
		return k
	}
	return strings.ReplaceAll(f.Tag.Get("flag"), "-", "_")
}

// alwaysChecked are the config keys upstream checks even when the command
// line overrides them; other keys are not looked at in that case.
var alwaysChecked = map[string]bool{"log_level": true, "tls_required": true, "tls_min_version": true}

// applyConfig sets each field of opts that has a flag tag from its key in
// cfg (as decoded by BurntSushi/toml), unless its flag is in explicit.
// Keys that name no field are ignored, as upstream does.
func applyConfig(opts *nsqd.Options, cfg map[string]any, explicit map[string]bool) error {
	v := reflect.ValueOf(opts).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		key := configKey(f)
		raw, ok := cfg[key]
		if !ok {
			continue
		}
		dst := v.Field(i).Addr().Interface()
		if explicit[name] {
			if !alwaysChecked[key] {
				continue
			}
			dst = reflect.New(f.Type).Interface() // check, then discard
		}
		if err := setFromConfig(dst, raw); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// setFromConfig converts a decoded TOML value as go-options does and stores
// it in *dst: durations may be strings ("2s") or integers (milliseconds);
// numbers and booleans may also be strings; lists may be a comma-separated
// string.
func setFromConfig(dst, raw any) error {
	switch p := dst.(type) {
	case *string:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want a string, got %T %v", raw, raw)
		}
		*p = s
	case *bool:
		switch r := raw.(type) {
		case bool:
			*p = r
		case string:
			b, err := strconv.ParseBool(r)
			if err != nil {
				return fmt.Errorf("want a boolean, got %q", r)
			}
			*p = b
		case int64:
			// go-options maps 0 to true and any other integer to false.
			// It looks like a bug, but a config file that relies on it
			// must keep meaning the same thing here.
			*p = r == 0
		default:
			return fmt.Errorf("want a boolean, got %T %v", raw, raw)
		}
	case *int:
		n, err := configInt(raw)
		if err != nil {
			return err
		}
		*p = int(n)
	case *int64:
		n, err := configInt(raw)
		if err != nil {
			return err
		}
		*p = n
	case *time.Duration:
		switch r := raw.(type) {
		case string:
			d, err := time.ParseDuration(r)
			if err != nil {
				return fmt.Errorf("want a duration, got %q", r)
			}
			*p = d
		case int64:
			*p = time.Duration(r) * time.Millisecond
		default:
			return fmt.Errorf("want a duration (\"2s\") or milliseconds, got %T %v", raw, raw)
		}
	case *[]string:
		switch r := raw.(type) {
		case string:
			*p = []string{}
			for _, s := range strings.Split(r, ",") {
				if s = strings.TrimSpace(s); s != "" {
					*p = append(*p, s)
				}
			}
		case []any:
			list := make([]string, 0, len(r))
			for _, e := range r {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("want a list of strings, got an element %T %v", e, e)
				}
				list = append(list, s)
			}
			*p = list
		default:
			return fmt.Errorf("want a list of strings, got %T %v", raw, raw)
		}
	case *[]float64:
		// Unlike the flag, upstream does not sort values from the file.
		switch r := raw.(type) {
		case string:
			list, err := parseFloatList(r)
			if err != nil {
				return err
			}
			*p = list
		case []any:
			list := make([]float64, 0, len(r))
			for _, e := range r {
				switch n := e.(type) {
				case float64:
					list = append(list, n)
				case int64:
					list = append(list, float64(n))
				default:
					return fmt.Errorf("want a list of numbers, got an element %T %v", e, e)
				}
			}
			*p = list
		default:
			return fmt.Errorf("want a list of numbers, got %T %v", raw, raw)
		}
	case *nsqd.LogLevel:
		l, err := nsqd.ParseLogLevel(fmt.Sprint(raw))
		if err != nil {
			return err
		}
		*p = l
	case *nsqd.TLSRequirement:
		t, err := nsqd.ParseTLSRequirement(fmt.Sprint(raw))
		if err != nil {
			return err
		}
		*p = t
	case *nsqd.TLSVersion:
		s := fmt.Sprint(raw)
		if s == "" {
			return nil // upstream: an empty value keeps the default
		}
		tv, err := nsqd.ParseTLSVersion(s)
		if err != nil {
			return err
		}
		*p = tv
	default:
		return fmt.Errorf("cannot set a field of type %T from the config file", dst)
	}
	return nil
}

func configInt(raw any) (int64, error) {
	switch r := raw.(type) {
	case int64:
		return r, nil
	case string:
		n, err := strconv.ParseInt(r, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %q", r)
		}
		return n, nil
	}
	return 0, fmt.Errorf("want an integer, got %T %v", raw, raw)
}
