package main

import (
	"bytes"
	"flag"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsqfast/nsq/admin"
	"github.com/nsqfast/nsq/cmd/internal/app"
)

// upstreamFlags is every flag of upstream v1.3.0's nsqadmin
// (apps/nsqadmin/main.go nsqadminFlagSet) with its default as the flag
// package prints it, and whether it is boolean.
var upstreamFlags = []struct {
	name, def string
	isBool    bool
}{
	{"config", "", false},
	{"version", "false", true},
	{"log-level", "INFO", false},
	{"log-prefix", "[nsqadmin] ", false},
	{"verbose", "false", true},
	{"http-address", "0.0.0.0:4171", false},
	{"base-path", "/", false},
	{"dev-static-dir", "", false},
	{"graphite-url", "", false},
	{"proxy-graphite", "false", true},
	{"statsd-counter-format", "stats.counters.%s.count", false},
	{"statsd-gauge-format", "stats.gauges.%s", false},
	{"statsd-prefix", "nsq.%s", false},
	{"statsd-interval", "1m0s", false},
	{"notification-http-endpoint", "", false},
	{"http-client-connect-timeout", "2s", false},
	{"http-client-request-timeout", "5s", false},
	{"http-client-tls-insecure-skip-verify", "false", true},
	{"http-client-tls-root-ca-file", "", false},
	{"http-client-tls-cert", "", false},
	{"http-client-tls-key", "", false},
	{"allow-config-from-cidr", "127.0.0.1/8", false},
	{"acl-http-header", "X-Forwarded-User", false},
	{"lookupd-http-address", "", false},
	{"nsqd-http-address", "", false},
	{"admin-user", "", false},
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
	seen := map[string]bool{}
	for _, u := range upstreamFlags {
		f := fs.Lookup(u.name)
		if f == nil {
			t.Errorf("--%s missing", u.name)
			continue
		}
		seen[u.name] = true
		if f.DefValue != u.def {
			t.Errorf("--%s default %q, want %q", u.name, f.DefValue, u.def)
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		if isBool := ok && b.IsBoolFlag(); isBool != u.isBool {
			t.Errorf("--%s boolean %v, want %v", u.name, isBool, u.isBool)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if def, ok := ours[f.Name]; ok {
			if f.DefValue != def {
				t.Errorf("--%s default %q, want %q", f.Name, f.DefValue, def)
			}
			return
		}
		if !seen[f.Name] {
			t.Errorf("--%s is not an upstream flag", f.Name)
		}
	})
}

// TestTagsMatchFlagsAndConfigKeys: every option with a flag tag has that
// flag, and its config key is upstream's.
func TestTagsMatchFlagsAndConfigKeys(t *testing.T) {
	opts, fs := testFlagSet()
	special := map[string]string{
		"lookupd-http-address": "nsqlookupd_http_addresses",
		"nsqd-http-address":    "nsqd_http_addresses",
		"admin-user":           "admin_users",
	}
	typ := reflect.TypeOf(*opts)
	n := 0
	for i := range typ.NumField() {
		f := typ.Field(i)
		name := f.Tag.Get("flag")
		if name == "" {
			continue
		}
		n++
		if fs.Lookup(name) == nil {
			t.Errorf("%s: no --%s", f.Name, name)
		}
		want := special[name]
		if want == "" {
			want = strings.ReplaceAll(name, "-", "_")
		}
		if app.ConfigKey(f) != want {
			t.Errorf("%s: config key %q, want %q", f.Name, app.ConfigKey(f), want)
		}
	}
	// upstream's 23 options, and our 2
	if n != 25 {
		t.Errorf("%d tagged options, want 25", n)
	}
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

func writeConfig(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nsqadmin.cfg")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFile(t *testing.T) {
	cfg := writeConfig(t, `
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
	for _, tt := range []struct{ cfg, args, want string }{
		{`log_level = "loud"`, "", "failed parsing log_level loud"},
		{`log_level = "loud"`, "--log-level=info", "failed parsing log_level loud"},
		{`statsd_interval = "soon"`, "", `statsd_interval: want a duration, got "soon"`},
		{`not toml`, "", "failed to load config file"},
	} {
		args := []string{"--config=" + writeConfig(t, tt.cfg)}
		if tt.args != "" {
			args = append(args, tt.args)
		}
		if _, _, err := parseOptions(args, io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--version"}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if want := "nsqadmin v1.3.0 (built w/" + runtime.Version() + ")\n"; out.String() != want {
		t.Errorf("%q, want %q", out.String(), want)
	}
	var stderr bytes.Buffer
	if code := run([]string{"--bogus"}, io.Discard, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), "flag provided but not defined: -bogus") {
		t.Errorf("bad flag: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"-h"}, io.Discard, io.Discard, nil); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
	stderr.Reset()
	if code := run([]string{"--http-address=127.0.0.1:0"}, io.Discard, &stderr, nil); code != 1 ||
		!regexp.MustCompile(`^\[nsqadmin\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} FATAL: failed to instantiate nsqadmin - --nsqd-http-address or --lookupd-http-address required\n$`).MatchString(stderr.String()) {
		t.Errorf("no cluster: exit %d, %q", code, stderr.String())
	}
}

func TestRunAndStop(t *testing.T) {
	stop := make(chan os.Signal, 1)
	stop <- syscall.SIGTERM
	var stderr bytes.Buffer
	code := run([]string{"--http-address=127.0.0.1:0", "--nsqd-http-address=127.0.0.1:4151", "--chart-sample-interval=0"}, io.Discard, &stderr, stop)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, re := range []string{
		`(?m)^\[nsqadmin\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: nsqadmin v1\.3\.0 \(built w/go.*\)$`,
		`(?m)^\[nsqadmin\] .* INFO: HTTP: listening on 127\.0\.0\.1:\d+$`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr.String()) {
			t.Errorf("log lacks %s:\n%s", re, stderr.String())
		}
	}
}

func TestBindFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	code := run([]string{"--http-address=" + ln.Addr().String(), "--nsqd-http-address=127.0.0.1:4151"}, io.Discard, &stderr, nil)
	if code != 1 || !strings.Contains(stderr.String(), "FATAL: failed to instantiate nsqadmin - listen ("+ln.Addr().String()+") failed - ") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
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
