package main

import (
	"bytes"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/app"
	"github.com/nsqfast/nsq/lookup"
)

// upstreamFlags is every flag of upstream v1.3.0's nsqlookupd
// (apps/nsqlookupd/main.go nsqlookupdFlagSet) with its default as the flag
// package prints it, and whether it is boolean.
var upstreamFlags = []struct {
	name, def string
	isBool    bool
}{
	{"config", "", false},
	{"version", "false", true},
	{"log-level", "INFO", false},
	{"log-prefix", "[nsqlookupd] ", false},
	{"verbose", "false", true},
	{"tcp-address", "0.0.0.0:4160", false},
	{"http-address", "0.0.0.0:4161", false},
	{"broadcast-address", "<hostname>", false},
	{"inactive-producer-timeout", "5m0s", false},
	{"tombstone-lifetime", "45s", false},
}

func testFlagSet() (*lookup.Options, *flag.FlagSet) {
	opts := lookup.NewOptions()
	var cfg string
	var v bool
	fs := newFlagSet(opts, &cfg, &v)
	fs.SetOutput(io.Discard)
	return opts, fs
}

func TestFlagsMatchUpstream(t *testing.T) {
	host, _ := os.Hostname()
	_, fs := testFlagSet()
	seen := map[string]bool{}
	for _, u := range upstreamFlags {
		f := fs.Lookup(u.name)
		if f == nil {
			t.Errorf("--%s missing", u.name)
			continue
		}
		seen[u.name] = true
		def := strings.ReplaceAll(u.def, "<hostname>", host)
		if f.DefValue != def {
			t.Errorf("--%s default %q, want %q", u.name, f.DefValue, def)
		}
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		if isBool := ok && b.IsBoolFlag(); isBool != u.isBool {
			t.Errorf("--%s boolean %v, want %v", u.name, isBool, u.isBool)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !seen[f.Name] {
			t.Errorf("--%s is not an upstream flag", f.Name)
		}
	})
}

// TestTagsMatchFlagsAndConfigKeys: every option with a flag tag has that
// flag and a config key named as its cfg tag (upstream's rule: the flag
// with '_' for '-').
func TestTagsMatchFlagsAndConfigKeys(t *testing.T) {
	opts, fs := testFlagSet()
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
		if want := strings.ReplaceAll(name, "-", "_"); f.Tag.Get("cfg") != want || app.ConfigKey(f) != want {
			t.Errorf("%s: cfg tag %q, config key %q, want %q", f.Name, f.Tag.Get("cfg"), app.ConfigKey(f), want)
		}
	}
	if n != 7 {
		t.Errorf("%d tagged options, upstream has 7 config keys", n)
	}
}

func TestParseFlags(t *testing.T) {
	opts, _, err := parseOptions([]string{"--tcp-address=127.0.0.1:1", "--http-address", "127.0.0.1:2",
		"--broadcast-address=lk", "--inactive-producer-timeout=1m", "--tombstone-lifetime=2s", "--log-level=WARN",
		"--log-prefix=[x] ", "--verbose"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := lookup.NewOptions()
	want.TCPAddress, want.HTTPAddress, want.BroadcastAddress = "127.0.0.1:1", "127.0.0.1:2", "lk"
	want.InactiveProducerTimeout, want.TombstoneLifetime = time.Minute, 2*time.Second
	want.LogLevel, want.LogPrefix = lookup.LogWarn, "[x] "
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("got %+v\nwant %+v", opts, want)
	}
}

func writeConfig(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nsqlookupd.cfg")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigFile(t *testing.T) {
	cfg := writeConfig(t, `
log_level = "debug"
log_prefix = "[lk] "
tcp_address = "127.0.0.1:14160"
http_address = "127.0.0.1:14161"
broadcast_address = "lookupd.example"
inactive_producer_timeout = "30s"
tombstone_lifetime = 1500
unknown_key = "ignored"
`)
	opts, _, err := parseOptions([]string{"--config=" + cfg, "--http-address=127.0.0.1:9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := lookup.NewOptions()
	want.LogLevel, want.LogPrefix = lookup.LogDebug, "[lk] "
	want.TCPAddress, want.HTTPAddress = "127.0.0.1:14160", "127.0.0.1:9" // the flag wins
	want.BroadcastAddress = "lookupd.example"
	want.InactiveProducerTimeout, want.TombstoneLifetime = 30*time.Second, 1500*time.Millisecond
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("got %+v\nwant %+v", opts, want)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct{ cfg, args, want string }{
		{`log_level = "loud"`, "", "failed parsing log_level loud"},
		{`log_level = "loud"`, "--log-level=info", "failed parsing log_level loud"}, // checked even when overridden
		{`tombstone_lifetime = "soon"`, "", `tombstone_lifetime: want a duration, got "soon"`},
		{`tcp_address = 4160`, "", "tcp_address: want a string"},
		{`not toml`, "", "failed to load config file"},
	} {
		args := []string{"--config=" + writeConfig(t, tt.cfg)}
		if tt.args != "" {
			args = append(args, tt.args)
		}
		_, _, err := parseOptions(args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, _, err := parseOptions([]string{"--config=/nonexistent"}, io.Discard); err == nil {
		t.Error("missing config file accepted")
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"--version"}, &out, io.Discard, nil); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if want := "nsqlookupd v1.3.0 (built w/" + runtime.Version() + ")\n"; out.String() != want {
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
	if code := run([]string{"--log-level=loud"}, io.Discard, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), "invalid log level 'loud'") {
		t.Errorf("bad level: exit %d, %q", code, stderr.String())
	}
}

func TestRunAndStop(t *testing.T) {
	stop := make(chan os.Signal, 1)
	stop <- syscall.SIGTERM
	var stderr bytes.Buffer
	code := run([]string{"--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"}, io.Discard, &stderr, stop)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^\[nsqlookupd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: TCP: listening on 127\.0\.0\.1:\d+$`).MatchString(stderr.String()) {
		t.Errorf("log:\n%s", stderr.String())
	}
}

func TestBindFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	code := run([]string{"--tcp-address=" + ln.Addr().String(), "--http-address=127.0.0.1:0"}, io.Discard, &stderr, nil)
	if code != 1 || !strings.Contains(stderr.String(), "FATAL: failed to instantiate nsqlookupd - listen ("+ln.Addr().String()+") failed - ") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
