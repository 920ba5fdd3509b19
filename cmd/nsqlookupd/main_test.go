package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/cmd/internal/app/apptest"
	"github.com/nsqfast/nsq/lookup"
)

// upstreamFlags is every flag of upstream v1.3.0's nsqlookupd
// (apps/nsqlookupd/main.go nsqlookupdFlagSet) with its default as the flag
// package prints it, and whether it is boolean.
var upstreamFlags = []apptest.Flag{
	{Name: "config", Def: ""},
	{Name: "version", Def: "false", Bool: true},
	{Name: "log-level", Def: "INFO"},
	{Name: "log-prefix", Def: "[nsqlookupd] "},
	{Name: "verbose", Def: "false", Bool: true},
	{Name: "tcp-address", Def: "0.0.0.0:4160"},
	{Name: "http-address", Def: "0.0.0.0:4161"},
	{Name: "broadcast-address", Def: "<hostname>"},
	{Name: "inactive-producer-timeout", Def: "5m0s"},
	{Name: "tombstone-lifetime", Def: "45s"},
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
	upstream := slices.Clone(upstreamFlags)
	for i := range upstream {
		upstream[i].Def = strings.ReplaceAll(upstream[i].Def, "<hostname>", host)
	}
	_, fs := testFlagSet()
	apptest.CheckFlags(t, fs, upstream, nil, nil)
}

// TestTagsMatchFlagsAndConfigKeys: every option with a flag tag has that
// flag and a config key named as upstream's (the flag with '_' for '-').
func TestTagsMatchFlagsAndConfigKeys(t *testing.T) {
	opts, fs := testFlagSet()
	apptest.CheckConfigKeys(t, opts, fs, nil, 7) // upstream's 7 config keys
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

func TestConfigFile(t *testing.T) {
	cfg := apptest.WriteConfig(t, `
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
	apptest.CheckConfigErrors(t, func(args []string) error {
		_, _, err := parseOptions(args, io.Discard)
		return err
	}, []apptest.ConfigError{
		{Config: `log_level = "loud"`, Want: "failed parsing log_level loud"},
		{Config: `log_level = "loud"`, Args: "--log-level=info", Want: "failed parsing log_level loud"}, // checked even when overridden
		{Config: `tombstone_lifetime = "soon"`, Want: `tombstone_lifetime: want a duration, got "soon"`},
		{Config: `tcp_address = 4160`, Want: "tcp_address: want a string"},
		{Config: `not toml`, Want: "failed to load config file"},
	})
	if _, _, err := parseOptions([]string{"--config=/nonexistent"}, io.Discard); err == nil {
		t.Error("missing config file accepted")
	}
}

func TestVersionAndUsage(t *testing.T) {
	apptest.CheckVersionAndUsage(t, run, "nsqlookupd")
	var stderr bytes.Buffer
	if code := run([]string{"--log-level=loud"}, io.Discard, &stderr, nil); code != 2 || !strings.Contains(stderr.String(), "invalid log level 'loud'") {
		t.Errorf("bad level: exit %d, %q", code, stderr.String())
	}
}

func TestRunAndStop(t *testing.T) {
	apptest.CheckRunAndStop(t, run, []string{"--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"},
		`(?m)^\[nsqlookupd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: TCP: listening on 127\.0\.0\.1:\d+$`)
}

func TestBindFailure(t *testing.T) {
	apptest.CheckBindFailure(t, run, "tcp-address", "failed to instantiate nsqlookupd - ", "--http-address=127.0.0.1:0")
}
