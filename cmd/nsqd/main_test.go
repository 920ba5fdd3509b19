package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/app"
	"github.com/nsqfast/nsq/cmd/internal/app/apptest"
	"github.com/nsqfast/nsq/engine/nsqd"
)

// Placeholders for defaults upstream computes from the hostname.
const (
	defNodeID   = "<node id of hostname>"
	defHostname = "<hostname>"
)

// upstreamFlags is every flag of upstream v1.3.0's nsqd (apps/nsqd/options.go
// nsqdFlagSet), with flag.Flag.DefValue as upstream prints it and whether it
// parses like a boolean (--name alone means true). Written by hand from that
// file.
var upstreamFlags = []apptest.Flag{
	{Name: "version", Def: "false", Bool: true},
	{Name: "config", Def: ""},

	{Name: "log-level", Def: "INFO"},
	{Name: "log-prefix", Def: "[nsqd] "},
	{Name: "verbose", Def: "false", Bool: true},

	{Name: "node-id", Def: defNodeID},
	{Name: "worker-id", Def: "false", Bool: true},

	{Name: "https-address", Def: "0.0.0.0:4152"},
	{Name: "http-address", Def: "0.0.0.0:4151"},
	{Name: "tcp-address", Def: "0.0.0.0:4150"},
	{Name: "auth-http-address", Def: ""},
	{Name: "broadcast-address", Def: defHostname},
	{Name: "broadcast-tcp-port", Def: "0"},
	{Name: "broadcast-http-port", Def: "0"},
	{Name: "lookupd-tcp-address", Def: ""},
	{Name: "http-client-connect-timeout", Def: "2s"},
	{Name: "http-client-request-timeout", Def: "5s"},

	{Name: "data-path", Def: ""},
	{Name: "mem-queue-size", Def: "10000"},
	{Name: "max-bytes-per-file", Def: "104857600"},
	{Name: "sync-every", Def: "2500"},
	{Name: "sync-timeout", Def: "2s"},

	{Name: "queue-scan-worker-pool-max", Def: "4"},
	{Name: "queue-scan-selection-count", Def: "20"},

	{Name: "msg-timeout", Def: "1m0s"},
	{Name: "max-msg-timeout", Def: "15m0s"},
	{Name: "max-msg-size", Def: "1048576"},
	{Name: "max-req-timeout", Def: "1h0m0s"},
	{Name: "max-body-size", Def: "5242880"},

	{Name: "max-heartbeat-interval", Def: "1m0s"},
	{Name: "max-rdy-count", Def: "2500"},
	{Name: "max-output-buffer-size", Def: "65536"},
	{Name: "max-output-buffer-timeout", Def: "30s"},
	{Name: "min-output-buffer-timeout", Def: "25ms"},
	{Name: "output-buffer-timeout", Def: "250ms"},
	{Name: "max-channel-consumers", Def: "0"},

	{Name: "statsd-address", Def: ""},
	{Name: "statsd-interval", Def: "1m0s"},
	{Name: "statsd-mem-stats", Def: "true", Bool: true},
	{Name: "statsd-prefix", Def: "nsq.%s"},
	{Name: "statsd-udp-packet-size", Def: "508"},
	{Name: "statsd-exclude-ephemeral", Def: "false", Bool: true},

	{Name: "e2e-processing-latency-percentile", Def: ""},
	{Name: "e2e-processing-latency-window-time", Def: "10m0s"},

	{Name: "tls-cert", Def: ""},
	{Name: "tls-key", Def: ""},
	{Name: "tls-client-auth-policy", Def: ""},
	{Name: "tls-root-ca-file", Def: ""},
	{Name: "tls-required", Def: "0", Bool: true},
	{Name: "tls-min-version", Def: "tls1.0"},

	{Name: "deflate", Def: "true", Bool: true},
	{Name: "max-deflate-level", Def: "6"},
	{Name: "snappy", Def: "true", Bool: true},
}

// ourFlags are flags upstream does not have, each documented in
// docs/COMPATIBILITY.md, with their defaults, which keep upstream's
// behaviour.
var ourFlags = map[string]string{
	"retention-age":    "0s",
	"retention-bytes":  "0",
	"allow-peek":       "true",
	"msg-ttl":          "0s",
	"max-attempts":     "0",
	"max-conns-per-ip": "0",
}

// shownDifferently are defaults we print differently from upstream; the
// value must still mean the same (checked by parsing upstream's string).
var shownDifferently = map[string]string{
	"tls-required": "false", // upstream prints the int constant
}

func hostname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

func testFlagSet() (*nsqd.Options, *flag.FlagSet) {
	opts := nsqd.NewOptions()
	fs := newFlagSet(opts, &cmdLine{})
	fs.SetOutput(io.Discard)
	return opts, fs
}

func TestFlagsMatchUpstream(t *testing.T) {
	host := hostname(t)
	upstream := slices.Clone(upstreamFlags)
	for i, u := range upstream {
		switch u.Def {
		case defNodeID:
			upstream[i].Def = strconv.FormatInt(nsqd.NodeIDFromHostname(host), 10)
		case defHostname:
			upstream[i].Def = host
		}
	}
	_, fs := testFlagSet()
	apptest.CheckFlags(t, fs, upstream, ourFlags, func(name, upstreamDef string) error {
		if _, ok := shownDifferently[name]; !ok {
			return errors.New("not one of the defaults shown differently")
		}
		if fs.Lookup(name).DefValue != shownDifferently[name] {
			return fmt.Errorf("shown differently as %q", shownDifferently[name])
		}
		// Parsing upstream's default must change nothing.
		opts, fs2 := testFlagSet()
		if err := fs2.Parse([]string{"--" + name + "=" + upstreamDef}); err != nil {
			return err
		}
		if !reflect.DeepEqual(opts, nsqd.NewOptions()) {
			return errors.New("upstream's default changes the options")
		}
		return nil
	})
}

// upstreamConfigKeys are the config keys that upstream's Options gives
// explicitly (cfg tags); every other key is the flag name with '_'.
var upstreamConfigKeys = map[string]string{
	"node-id":                           "id",
	"lookupd-tcp-address":               "nsqlookupd_tcp_addresses",
	"auth-http-address":                 "auth_http_addresses",
	"e2e-processing-latency-percentile": "e2e_processing_latency_percentiles",
}

// sampleFlagValues has, for each kind of field, a value different from
// every default.
var sampleFlagValues = map[reflect.Type]string{
	reflect.TypeFor[string]():              "sample",
	reflect.TypeFor[int]():                 "7",
	reflect.TypeFor[int64]():               "7",
	reflect.TypeFor[time.Duration]():       "7s",
	reflect.TypeFor[[]string]():            "sample:1",
	reflect.TypeFor[[]float64]():           "0.5",
	reflect.TypeFor[nsqd.LogLevel]():       "debug",
	reflect.TypeFor[nsqd.TLSRequirement](): "tcp-https",
	reflect.TypeFor[nsqd.TLSVersion]():     "tls1.3",
}

// TestFlagBindings checks that each tagged Options field has its flag, that
// the flag sets that field and only it, and that its config key is
// upstream's.
func TestFlagBindings(t *testing.T) {
	typ := reflect.TypeFor[nsqd.Options]()
	bound := map[string]bool{}
	for i := range typ.NumField() {
		field := typ.Field(i)
		name := field.Tag.Get("flag")
		if name == "" {
			continue
		}
		bound[name] = true

		wantKey := upstreamConfigKeys[name]
		if wantKey == "" {
			wantKey = strings.ReplaceAll(name, "-", "_")
		}
		if got := app.ConfigKey(field); got != wantKey {
			t.Errorf("%s: config key %q, upstream's is %q", field.Name, got, wantKey)
		}

		val, ok := sampleFlagValues[field.Type]
		if field.Type.Kind() == reflect.Bool {
			val, ok = strconv.FormatBool(!reflect.ValueOf(*nsqd.NewOptions()).Field(i).Bool()), true
		}
		if !ok {
			t.Errorf("%s: no sample value for type %s", field.Name, field.Type)
			continue
		}
		opts, fs := testFlagSet()
		if err := fs.Parse([]string{"--" + name + "=" + val}); err != nil {
			t.Errorf("--%s=%s: %v", name, val, err)
			continue
		}
		got, def := reflect.ValueOf(*opts), reflect.ValueOf(*nsqd.NewOptions())
		for j := range typ.NumField() {
			changed := !reflect.DeepEqual(got.Field(j).Interface(), def.Field(j).Interface())
			if changed != (i == j) {
				t.Errorf("--%s=%s: %s changed: %v", name, val, typ.Field(j).Name, changed)
			}
		}

		// The same value through the config file.
		cfgOpts := nsqd.NewOptions()
		raw := any(val)
		if field.Type.Kind() == reflect.Bool {
			raw = val == "true"
		}
		if err := app.ApplyConfig(cfgOpts, map[string]any{wantKey: raw}, nil); err != nil {
			t.Errorf("config %s = %q: %v", wantKey, val, err)
		} else if !reflect.DeepEqual(cfgOpts, opts) {
			t.Errorf("config %s = %q gives %+v, the flag gives %+v", wantKey, val,
				reflect.ValueOf(*cfgOpts).Field(i), reflect.ValueOf(*opts).Field(i))
		}
	}
	// Flags without a field: ours, and upstream's deprecated no-ops.
	for _, name := range []string{"version", "config", "verbose", "worker-id"} {
		bound[name] = true
	}
	_, fs := testFlagSet()
	fs.VisitAll(func(f *flag.Flag) {
		if !bound[f.Name] {
			t.Errorf("--%s: no Options field has it as its flag tag", f.Name)
		}
	})
}

func TestFlagSyntax(t *testing.T) {
	parse := func(t *testing.T, args ...string) *nsqd.Options {
		t.Helper()
		opts, _, err := parseOptions(args, io.Discard)
		if err != nil {
			t.Fatalf("parseOptions(%q): %v", args, err)
		}
		return opts
	}
	t.Run("log level any case", func(t *testing.T) {
		if got := parse(t, "--log-level=WARN").LogLevel; got != nsqd.LogWarn {
			t.Errorf("got %v", got)
		}
	})
	t.Run("bare tls-required means true", func(t *testing.T) {
		if got := parse(t, "--tls-required").TLSRequired; got != nsqd.TLSRequired {
			t.Errorf("got %v", got)
		}
		if got := parse(t, "--tls-required=tcp-https").TLSRequired; got != nsqd.TLSRequiredExceptHTTP {
			t.Errorf("got %v", got)
		}
	})
	t.Run("empty tls-min-version keeps the default", func(t *testing.T) {
		if got := parse(t, "--tls-min-version=").TLSMinVersion; got != tls.VersionTLS10 {
			t.Errorf("got %v", got)
		}
	})
	t.Run("repeated string arrays", func(t *testing.T) {
		got := parse(t, "--lookupd-tcp-address=a:1", "--lookupd-tcp-address", "b:2,c:3").NSQLookupdTCPAddresses
		if want := []string{"a:1", "b:2,c:3"}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("percentiles split and sorted descending", func(t *testing.T) {
		got := parse(t, "--e2e-processing-latency-percentile=0.5,1.0", "--e2e-processing-latency-percentile=0.99").E2EProcessingLatencyPercentiles
		if want := []float64{1, 0.99, 0.5}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("deprecated flags are accepted and ignored", func(t *testing.T) {
		if got := parse(t, "--verbose", "--worker-id"); !reflect.DeepEqual(got, nsqd.NewOptions()) {
			t.Errorf("deprecated flags changed the options")
		}
	})
	for _, args := range [][]string{
		{"--log-level=trace"},
		{"--tls-required=maybe"},
		{"--tls-min-version=ssl3.0"}, // upstream's help names it, but upstream rejects it
		{"--e2e-processing-latency-percentile=high"},
		{"--mem-queue-size=lots"},
		{"--no-such-flag"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(args, io.Discard, &stderr, nil); code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "Usage of nsqd") {
				t.Errorf("no usage on stderr:\n%s", stderr.String())
			}
		})
	}
}

func TestConfigFile(t *testing.T) {
	path := apptest.WriteConfig(t, `
log_level = "DEBUG"
id = 77
tcp_address = "127.0.0.1:5150"
broadcast_address = "nsqd.example.com"
msg_timeout = "90s"
sync_timeout = 1500              # an integer duration is milliseconds
max_rdy_count = "300"            # numbers may be strings
nsqlookupd_tcp_addresses = ["10.0.0.1:4160", "10.0.0.2:4160"]
auth_http_addresses = "a:1, b:2" # a string is split at commas
snappy = false
statsd_mem_stats = "false"
e2e_processing_latency_percentiles = [0.5, 1, 0.99]
tls_required = "tcp-https"
tls_min_version = "tls1.2"
mem_queue_size = 500
node_id = 5                      # not a key: the node id's key is "id"
some_future_key = { nested = true }
`)
	opts, _, err := parseOptions([]string{
		"--config=" + path,
		"--mem-queue-size=42",
		"--lookupd-tcp-address=10.0.0.3:4160",
		"--snappy=false", // explicitly set to the value the file has
		"--log-level=debug",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := nsqd.NewOptions()
	want.LogLevel = nsqd.LogDebug
	want.ID = 77
	want.TCPAddress = "127.0.0.1:5150"
	want.BroadcastAddress = "nsqd.example.com"
	want.MsgTimeout = 90 * time.Second
	want.SyncTimeout = 1500 * time.Millisecond
	want.MaxRdyCount = 300
	want.NSQLookupdTCPAddresses = []string{"10.0.0.3:4160"} // the flag replaces the file's list
	want.AuthHTTPAddresses = []string{"a:1", "b:2"}
	want.SnappyEnabled = false
	want.StatsdMemStats = false
	want.E2EProcessingLatencyPercentiles = []float64{0.5, 1, 0.99} // not sorted, as upstream
	want.TLSRequired = nsqd.TLSRequiredExceptHTTP
	want.TLSMinVersion = tls.VersionTLS12
	want.MemQueueSize = 42 // the flag wins
	if !reflect.DeepEqual(opts, want) {
		gv, wv := reflect.ValueOf(*opts), reflect.ValueOf(*want)
		for i := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("%s = %v, want %v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
			}
		}
	}
}

func TestConfigFileUpstreamExample(t *testing.T) {
	opts, _, err := parseOptions([]string{"--config=testdata/upstream-example.cfg"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := nsqd.NewOptions()
	want.NSQLookupdTCPAddresses = []string{"127.0.0.1:4160"}
	want.MaxMsgSize = 1024768
	want.MaxBodySize = 5123840
	want.MaxOutputBufferTimeout = time.Second
	want.E2EProcessingLatencyPercentiles = []float64{1, 0.99, 0.95}
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("got %+v\nwant %+v", opts, want)
	}
	// Every option of upstream's example is supported.
	if err := opts.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestConfigFileQuirks(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		args  []string
		check func(o *nsqd.Options) bool
	}{
		{"empty tls_min_version keeps the default", `tls_min_version = ""`, nil,
			func(o *nsqd.Options) bool { return o.TLSMinVersion == tls.VersionTLS10 }},
		{"tls_required as a boolean", `tls_required = true`, nil,
			func(o *nsqd.Options) bool { return o.TLSRequired == nsqd.TLSRequired }},
		// go-options turns the integer 0 into true and others into false.
		{"integer 0 is true", `deflate = 0`, []string{"--deflate=false"},
			func(o *nsqd.Options) bool { return !o.DeflateEnabled }},
		{"integer 0 is true without flag", `deflate = 0`, nil,
			func(o *nsqd.Options) bool { return o.DeflateEnabled }},
		{"integer 1 is false", `snappy = 1`, nil,
			func(o *nsqd.Options) bool { return !o.SnappyEnabled }},
		{"percentiles as a string", `e2e_processing_latency_percentiles = "0.9, 0.99"`, nil,
			func(o *nsqd.Options) bool {
				return reflect.DeepEqual(o.E2EProcessingLatencyPercentiles, []float64{0.9, 0.99})
			}},
		{"a bad key is not looked at when its flag is given", `mem_queue_size = "lots"`, []string{"--mem-queue-size=1"},
			func(o *nsqd.Options) bool { return o.MemQueueSize == 1 }},
		{"unknown keys are ignored", "worker_id = 3\nverbose = true\n[section]\nx = 1", nil,
			func(o *nsqd.Options) bool { return reflect.DeepEqual(o, nsqd.NewOptions()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--config", apptest.WriteConfig(t, tt.cfg)}, tt.args...)
			opts, _, err := parseOptions(args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(opts) {
				t.Errorf("unexpected options: %+v", opts)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	apptest.CheckConfigErrors(t, func(args []string) error {
		_, _, err := parseOptions(args, io.Discard)
		return err
	}, []apptest.ConfigError{
		{Config: "this is = = not toml", Want: "failed to load config file"}, // not toml
		{Config: "msg_timeout = 1.5", Want: "msg_timeout"},                   // float duration
		{Config: `sync_timeout = "soon"`, Want: "sync_timeout"},              // bad duration
		{Config: "mem_queue_size = 1e4", Want: "mem_queue_size"},             // float integer
		{Config: `snappy = "sometimes"`, Want: "snappy"},                     // bad bool
		{Config: `log_level = "loud"`, Want: "log_level"},                    // bad log level
		// Upstream checks these three even when a flag overrides them.
		{Config: `log_level = "loud"`, Args: "--log-level=info", Want: "log_level"},     // bad log level under a flag
		{Config: `tls_required = 2`, Want: "tls_required"},                              // bad tls_required
		{Config: `tls_min_version = "ssl3.0"`, Want: "tls_min_version"},                 // ssl3.0
		{Config: `nsqlookupd_tcp_addresses = [4160]`, Want: "nsqlookupd_tcp_addresses"}, // list of numbers
		{Config: `tcp_address = 4150`, Want: "tcp_address"},                             // string as number
	})
	t.Run("missing file", func(t *testing.T) {
		var stderr bytes.Buffer
		code := run([]string{"--config=" + filepath.Join(t.TempDir(), "nope.cfg")}, io.Discard, &stderr, nil)
		if code != 1 || !strings.Contains(stderr.String(), "FATAL: failed to load config file") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	})
}

func TestVersion(t *testing.T) {
	want := "nsqd v1.3.0 (built w/" + runtime.Version() + ")\n"
	if !regexp.MustCompile(`^nsqd v1\.3\.0 \(built w/go1\.\d+`).MatchString(want) {
		t.Fatalf("unexpected runtime version %q", runtime.Version())
	}
	// As upstream, --version is handled before the config file is read.
	for _, args := range [][]string{{"--version"}, {"-version", "--config=/does/not/exist"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr, nil); code != 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr.String())
		}
		if stdout.String() != want {
			t.Errorf("%q: stdout %q, want %q", args, stdout.String(), want)
		}
	}
}

func TestHelp(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-h"}, io.Discard, &stderr, nil); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	if !strings.Contains(stderr.String(), "-tls-required") {
		t.Errorf("usage does not list the flags:\n%s", stderr.String())
	}
}

func TestValidateRanges(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-id=1024"}, "--node-id"},
		{[]string{"--node-id=-1"}, "--node-id"},
		{[]string{"--max-deflate-level=0"}, "--max-deflate-level"},
		{[]string{"--max-deflate-level=10"}, "--max-deflate-level"},
		{[]string{"--e2e-processing-latency-percentile=1.5"}, "--e2e-processing-latency-percentile: invalid percentile"},
		{[]string{"--e2e-processing-latency-percentile=0"}, "--e2e-processing-latency-percentile: invalid percentile"},
		{[]string{"--tls-required=tcp-https"}, "cannot require TLS"},
	} {
		opts, _, err := parseOptions(tt.args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if err := opts.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: Validate() = %v, want it to mention %q", tt.args, err, tt.want)
		}
	}
	// Options upstream accepts, including the defaults, validate.
	for _, args := range [][]string{
		nil,
		{"--node-id=0", "--node-id=1023"},
		{"--max-deflate-level=1"},
		{"--max-deflate-level=9", "--deflate=false", "--snappy=false"},
		{"--https-address=127.0.0.1:0"}, // used only with a certificate
		{"--tls-min-version=tls1.2"},
		{"--tls-required=false"},
	} {
		opts, _, err := parseOptions(args, io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if err := opts.Validate(); err != nil {
			t.Errorf("%q: Validate() = %v", args, err)
		}
	}
}
