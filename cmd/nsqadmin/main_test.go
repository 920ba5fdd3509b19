package main

import (
	"bytes"
	"flag"
	"io"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/cmd/internal/app/apptest"
)

// upstreamFlags is every flag of upstream v1.3.0's nsqadmin
// (apps/nsqadmin/main.go nsqadminFlagSet) with its default as the flag
// package prints it, and whether it is boolean.
var upstreamFlags = []apptest.Flag{
	{Name: "config", Def: ""},
	{Name: "version", Def: "false", Bool: true},
	{Name: "log-level", Def: "INFO"},
	{Name: "log-prefix", Def: "[nsqadmin] "},
	{Name: "verbose", Def: "false", Bool: true},
	{Name: "http-address", Def: "0.0.0.0:4171"},
	{Name: "base-path", Def: "/"},
	{Name: "dev-static-dir", Def: ""},
	{Name: "graphite-url", Def: ""},
	{Name: "proxy-graphite", Def: "false", Bool: true},
	{Name: "statsd-counter-format", Def: "stats.counters.%s.count"},
	{Name: "statsd-gauge-format", Def: "stats.gauges.%s"},
	{Name: "statsd-prefix", Def: "nsq.%s"},
	{Name: "statsd-interval", Def: "1m0s"},
	{Name: "notification-http-endpoint", Def: ""},
	{Name: "http-client-connect-timeout", Def: "2s"},
	{Name: "http-client-request-timeout", Def: "5s"},
	{Name: "http-client-tls-insecure-skip-verify", Def: "false", Bool: true},
	{Name: "http-client-tls-root-ca-file", Def: ""},
	{Name: "http-client-tls-cert", Def: ""},
	{Name: "http-client-tls-key", Def: ""},
	{Name: "allow-config-from-cidr", Def: "127.0.0.1/8"},
	{Name: "acl-http-header", Def: "X-Forwarded-User"},
	{Name: "lookupd-http-address", Def: ""},
	{Name: "nsqd-http-address", Def: ""},
	{Name: "admin-user", Def: ""},
}

// ours are the flags upstream does not have.
var ours = map[string]string{"chart-sample-interval": "2s", "chart-history": "30m0s"}

func testFlagSet() (*admin.Options, *flag.FlagSet) {
	opts := admin.NewOptions()
	var cfg string
	var v bool
	fs := newFlagSet(opts, &cfg, &v)
	fs.SetOutput(io.Discard)
	return opts, fs
}

func TestFlagsMatchUpstream(t *testing.T) {
	_, fs := testFlagSet()
	apptest.CheckFlags(t, fs, upstreamFlags, ours, nil)
}

// TestTagsMatchFlagsAndConfigKeys: every option with a flag tag has that
// flag, and its config key is upstream's.
func TestTagsMatchFlagsAndConfigKeys(t *testing.T) {
	opts, fs := testFlagSet()
	apptest.CheckConfigKeys(t, opts, fs, map[string]string{
		"lookupd-http-address": "nsqlookupd_http_addresses",
		"nsqd-http-address":    "nsqd_http_addresses",
		"admin-user":           "admin_users",
	}, 25) // upstream's 23 options, and our 2
}

func TestParseFlags(t *testing.T) {
	opts, _, err := parseOptions([]string{
		"--http-address=127.0.0.1:1", "--base-path=/a", "--graphite-url=http://g", "--proxy-graphite",
		"--statsd-prefix=p.%s", "--statsd-interval=10s", "--statsd-counter-format=", "--statsd-gauge-format=g.%s",
		"--lookupd-http-address=127.0.0.1:2", "--lookupd-http-address=127.0.0.1:3,x",
		"--admin-user=a", "--admin-user=b", "--acl-http-header=X-User", "--allow-config-from-cidr=",
		"--notification-http-endpoint=http://n", "--http-client-connect-timeout=1s", "--http-client-request-timeout=3s",
		"--http-client-tls-insecure-skip-verify", "--http-client-tls-root-ca-file=ca", "--http-client-tls-cert=c",
		"--http-client-tls-key=k", "--log-level=warn", "--log-prefix=", "--dev-static-dir=/d", "--verbose",
		"--chart-sample-interval=5s", "--chart-history=1h",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.NewOptions()
	want.HTTPAddress, want.BasePath, want.GraphiteURL, want.ProxyGraphite = "127.0.0.1:1", "/a", "http://g", true
	want.StatsdPrefix, want.StatsdInterval, want.StatsdCounterFormat, want.StatsdGaugeFormat = "p.%s", 10*time.Second, "", "g.%s"
	want.NSQLookupdHTTPAddresses = []string{"127.0.0.1:2", "127.0.0.1:3,x"} // as upstream, commas are not split
	want.AdminUsers, want.ACLHTTPHeader, want.AllowConfigFromCIDR = []string{"a", "b"}, "X-User", ""
	want.NotificationHTTPEndpoint = "http://n"
	want.HTTPClientConnectTimeout, want.HTTPClientRequestTimeout = time.Second, 3*time.Second
	want.HTTPClientTLSInsecureSkipVerify, want.HTTPClientTLSRootCAFile = true, "ca"
	want.HTTPClientTLSCert, want.HTTPClientTLSKey = "c", "k"
	want.LogLevel, want.LogPrefix, want.DevStaticDir = admin.LogWarn, "", "/d"
	want.SampleInterval, want.SampleHistory = 5*time.Second, time.Hour
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("got %+v\nwant %+v", opts, want)
	}
}

func TestConfigFile(t *testing.T) {
	cfg := apptest.WriteConfig(t, `
log_level = "debug"
http_address = "127.0.0.1:14171"
base_path = "/admin"
graphite_url = "http://graphite"
proxy_graphite = true
statsd_interval = "30s"
nsqlookupd_http_addresses = ["127.0.0.1:4161", "127.0.0.1:4261"]
admin_users = ["ops"]
http_client_request_timeout = 2500
notification_http_endpoint = "http://hook"
chart_history = "10m"
unknown_key = "ignored"
`)
	opts, _, err := parseOptions([]string{"--config=" + cfg, "--base-path=/flag"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.NewOptions()
	want.LogLevel, want.HTTPAddress, want.BasePath = admin.LogDebug, "127.0.0.1:14171", "/flag" // the flag wins
	want.GraphiteURL, want.ProxyGraphite, want.StatsdInterval = "http://graphite", true, 30*time.Second
	want.NSQLookupdHTTPAddresses = []string{"127.0.0.1:4161", "127.0.0.1:4261"}
	want.AdminUsers, want.HTTPClientRequestTimeout = []string{"ops"}, 2500*time.Millisecond
	want.NotificationHTTPEndpoint, want.SampleHistory = "http://hook", 10*time.Minute
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("got %+v\nwant %+v", opts, want)
	}
	apptest.CheckConfigErrors(t, func(args []string) error {
		_, _, err := parseOptions(args, io.Discard)
		return err
	}, []apptest.ConfigError{
		{Config: `log_level = "loud"`, Want: "failed parsing log_level loud"},
		{Config: `log_level = "loud"`, Args: "--log-level=info", Want: "failed parsing log_level loud"},
		{Config: `statsd_interval = "soon"`, Want: `statsd_interval: want a duration, got "soon"`},
		{Config: `not toml`, Want: "failed to load config file"},
	})
}

func TestVersionAndUsage(t *testing.T) {
	apptest.CheckVersionAndUsage(t, run, "nsqadmin")
	var stderr bytes.Buffer
	if code := run([]string{"--http-address=127.0.0.1:0"}, io.Discard, &stderr, nil); code != 1 ||
		!regexp.MustCompile(`^\[nsqadmin\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} FATAL: failed to instantiate nsqadmin - --nsqd-http-address or --lookupd-http-address required\n$`).MatchString(stderr.String()) {
		t.Errorf("no cluster: exit %d, %q", code, stderr.String())
	}
}

func TestRunAndStop(t *testing.T) {
	apptest.CheckRunAndStop(t, run, []string{"--http-address=127.0.0.1:0", "--nsqd-http-address=127.0.0.1:4151", "--chart-sample-interval=0"},
		`(?m)^\[nsqadmin\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: nsqadmin v1\.3\.0 \(built w/go.*\)$`,
		`(?m)^\[nsqadmin\] .* INFO: HTTP: listening on 127\.0\.0\.1:\d+$`)
}

func TestBindFailure(t *testing.T) {
	apptest.CheckBindFailure(t, run, "http-address", "failed to instantiate nsqadmin - ", "--nsqd-http-address=127.0.0.1:4151")
}

// TestNoEngineImport: nsqadmin reaches nsqd and nsqlookupd only over
// HTTP; the binary contains neither.
func TestNoEngineImport(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list gave %d packages", len(deps))
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/nsqfast/nsq/engine", "github.com/nsqfast/nsq/lookup",
			"github.com/nsqfast/nsq/netpoll", "github.com/nsqfast/nsq/queue", "github.com/panjf2000/gnet"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("nsqadmin depends on %s", d)
			}
		}
	}
}
