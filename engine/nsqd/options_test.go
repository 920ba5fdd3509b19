package nsqd

import (
	"crypto/tls"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestNewOptionsDefaults(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// Upstream v1.3.0's defaults (nsqd/options.go NewOptions).
	want := &Options{
		ID:                       NodeIDFromHostname(host),
		LogLevel:                 LogInfo,
		LogPrefix:                "[nsqd] ",
		TCPAddress:               "0.0.0.0:4150",
		HTTPAddress:              "0.0.0.0:4151",
		HTTPSAddress:             "0.0.0.0:4152",
		BroadcastAddress:         host,
		BroadcastTCPPort:         0,
		BroadcastHTTPPort:        0,
		NSQLookupdTCPAddresses:   []string{},
		LookupdPingInterval:      15 * time.Second, // upstream's fixed interval
		AllowPeek:                true,             // ours: GET /topic/peek and /channel/peek
		AuthHTTPAddresses:        []string{},
		HTTPClientConnectTimeout: 2 * time.Second,
		HTTPClientRequestTimeout: 5 * time.Second,

		DataPath:        "",
		MemQueueSize:    10000,
		MaxBytesPerFile: 104857600,
		SyncEvery:       2500,
		SyncTimeout:     2 * time.Second,

		QueueScanInterval:        100 * time.Millisecond,
		QueueScanRefreshInterval: 5 * time.Second,
		QueueScanSelectionCount:  20,
		QueueScanWorkerPoolMax:   4,
		QueueScanDirtyPercent:    0.25,

		MsgTimeout:    60 * time.Second,
		MaxMsgTimeout: 15 * time.Minute,
		MaxMsgSize:    1048576,
		MaxBodySize:   5242880,
		MaxReqTimeout: time.Hour,
		ClientTimeout: 60 * time.Second,

		MaxHeartbeatInterval:   60 * time.Second,
		MaxRdyCount:            2500,
		MaxOutputBufferSize:    65536,
		MaxOutputBufferTimeout: 30 * time.Second,
		MinOutputBufferTimeout: 25 * time.Millisecond,
		OutputBufferTimeout:    250 * time.Millisecond,
		MaxChannelConsumers:    0,

		StatsdAddress:          "",
		StatsdPrefix:           "nsq.%s",
		StatsdInterval:         60 * time.Second,
		StatsdMemStats:         true,
		StatsdUDPPacketSize:    508,
		StatsdExcludeEphemeral: false,

		E2EProcessingLatencyWindowTime:  10 * time.Minute,
		E2EProcessingLatencyPercentiles: nil,

		TLSRequired:   TLSNotRequired,
		TLSMinVersion: tls.VersionTLS10,

		DeflateEnabled:  true,
		MaxDeflateLevel: 6,
		SnappyEnabled:   true,
	}
	got := NewOptions()
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
		for i := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("%s = %#v, want %#v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
			}
		}
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestNodeIDFromHostname(t *testing.T) {
	// Values computed with upstream's formula:
	// crc32.ChecksumIEEE(md5(hostname)) % 1024.
	for host, want := range map[string]int64{
		"localhost":           16,
		"nsqd-01.example.com": 757,
		"":                    812,
	} {
		if got := NodeIDFromHostname(host); got != want {
			t.Errorf("NodeIDFromHostname(%q) = %d, want %d", host, got, want)
		}
	}
}

func TestOptionsTags(t *testing.T) {
	typ := reflect.TypeFor[Options]()
	flags := map[string]string{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		flag, cfg := f.Tag.Get("flag"), f.Tag.Get("cfg")
		if (flag == "") != (cfg == "") {
			t.Errorf("%s: has only one of the flag and cfg tags", f.Name)
		}
		if flag == "" {
			continue
		}
		if prev, dup := flags[flag]; dup {
			t.Errorf("flag %q is on both %s and %s", flag, prev, f.Name)
		}
		flags[flag] = f.Name
	}
}

func TestParseLogLevel(t *testing.T) {
	for s, want := range map[string]LogLevel{
		"debug": LogDebug, "INFO": LogInfo, "Warn": LogWarn, "error": LogError, "FATAL": LogFatal,
	} {
		got, err := ParseLogLevel(s)
		if err != nil || got != want {
			t.Errorf("ParseLogLevel(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "warning", "trace", "2"} {
		if _, err := ParseLogLevel(s); err == nil {
			t.Errorf("ParseLogLevel(%q) succeeded", s)
		}
	}
	if got := LogWarn.String(); got != "WARNING" {
		t.Errorf("LogWarn.String() = %q, want upstream's WARNING", got)
	}
}

func TestParseTLSRequirement(t *testing.T) {
	for s, want := range map[string]TLSRequirement{
		"false": TLSNotRequired, "0": TLSNotRequired, "FALSE": TLSNotRequired,
		"true": TLSRequired, "1": TLSRequired, "T": TLSRequired,
		"tcp-https": TLSRequiredExceptHTTP, "TCP-HTTPS": TLSRequiredExceptHTTP,
	} {
		got, err := ParseTLSRequirement(s)
		if err != nil || got != want {
			t.Errorf("ParseTLSRequirement(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "yes", "https", "2"} {
		if _, err := ParseTLSRequirement(s); err == nil {
			t.Errorf("ParseTLSRequirement(%q) succeeded", s)
		}
	}
	// The values are upstream's constants.
	if TLSNotRequired != 0 || TLSRequiredExceptHTTP != 1 || TLSRequired != 2 {
		t.Error("TLS requirement constants differ from upstream's")
	}
}

func TestParseTLSVersion(t *testing.T) {
	for s, want := range map[string]TLSVersion{
		"tls1.0": tls.VersionTLS10, "TLS1.1": tls.VersionTLS11, "tls1.2": tls.VersionTLS12, "tls1.3": tls.VersionTLS13,
	} {
		got, err := ParseTLSVersion(s)
		if err != nil || got != want {
			t.Errorf("ParseTLSVersion(%q) = %v, %v; want %v", s, got, err, want)
		}
		if got.String() != strings.ToLower(s) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	// Upstream's help text names ssl3.0, but upstream rejects it.
	for _, s := range []string{"ssl3.0", "", "tls1.4", "771"} {
		if _, err := ParseTLSVersion(s); err == nil {
			t.Errorf("ParseTLSVersion(%q) succeeded", s)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(o *Options)
		want   []string // substrings of the error; none means valid
	}{
		{"defaults", func(o *Options) {}, nil},
		{"https address without cert is ignored", func(o *Options) { o.HTTPSAddress = "127.0.0.1:1" }, nil},
		{"compression off", func(o *Options) { o.SnappyEnabled, o.DeflateEnabled = false, false }, nil},
		{"tls min version", func(o *Options) { o.TLSMinVersion = tls.VersionTLS13 }, nil},
		{"node id edges", func(o *Options) { o.ID = 1023 }, nil},
		{"node id zero", func(o *Options) { o.ID = 0 }, nil},
		{"node id high", func(o *Options) { o.ID = 1024 }, []string{"--node-id", "[0,1024)"}},
		{"node id negative", func(o *Options) { o.ID = -1 }, []string{"--node-id"}},
		{"deflate level low", func(o *Options) { o.MaxDeflateLevel = 0 }, []string{"--max-deflate-level", "[1,9]"}},
		{"deflate level high", func(o *Options) { o.MaxDeflateLevel = 10 }, []string{"--max-deflate-level"}},
		{"bad log level", func(o *Options) { o.LogLevel = 9 }, []string{"--log-level"}},
		{"bad tls version", func(o *Options) { o.TLSMinVersion = 0x0300 }, []string{"--tls-min-version"}},
		{"percentile out of range", func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1.5} },
			[]string{"--e2e-processing-latency-percentile: invalid percentile 1.5"}},
		{"percentiles", func(o *Options) { o.E2EProcessingLatencyPercentiles = []float64{1, 0.99} }, nil},
		{"tls required without cert", func(o *Options) { o.TLSRequired = TLSRequiredExceptHTTP },
			[]string{"--tls-required: cannot require TLS"}},
		{"auth policy without cert", func(o *Options) { o.TLSClientAuthPolicy = "require" },
			[]string{"--tls-client-auth-policy: implies --tls-required"}},
		{"tls cert", func(o *Options) { o.TLSCert, o.TLSKey = "c.pem", "k.pem" }, nil},
		{"tls root ca", func(o *Options) { o.TLSRootCAFile = "ca.pem" }, nil},
		{"auth", func(o *Options) { o.AuthHTTPAddresses = []string{"127.0.0.1:4181"} }, nil},
		{"statsd", func(o *Options) { o.StatsdAddress = "127.0.0.1:8125" }, nil},
		{"lookupd", func(o *Options) { o.NSQLookupdTCPAddresses = []string{"127.0.0.1:4160"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			tt.modify(o)
			before := *o
			err := o.Validate()
			if !reflect.DeepEqual(before, *o) {
				t.Error("Validate modified the options")
			}
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
