package wire

import (
	"strings"
	"testing"
	"time"
)

func TestParseIdentify(t *testing.T) {
	r, err := ParseIdentify([]byte(`{"client_id":"c","hostname":"h","heartbeat_interval":5000,
		"output_buffer_size":1024,"output_buffer_timeout":100,"feature_negotiation":true,"tls_v1":true,
		"deflate":true,"deflate_level":3,"snappy":true,"sample_rate":10,"user_agent":"go-nsq/1.1.0",
		"msg_timeout":2000,"short_id":"old","long_id":"older","unknown":[1,2]}`))
	want := IdentifyRequest{ClientID: "c", Hostname: "h", HeartbeatInterval: 5000, OutputBufferSize: 1024,
		OutputBufferTimeout: 100, FeatureNegotiation: true, TLSv1: true, Deflate: true, DeflateLevel: 3,
		Snappy: true, SampleRate: 10, UserAgent: "go-nsq/1.1.0", MsgTimeout: 2000}
	if err != nil || r != want {
		t.Fatalf("%+v %v", r, err)
	}
	// encoding/json matches keys case-insensitively, as upstream's decode does.
	if r, err := ParseIdentify([]byte(`{"CLIENT_ID":"x"}`)); err != nil || r.ClientID != "x" {
		t.Fatalf("%+v %v", r, err)
	}
	for _, bad := range []string{``, `{`, `[]`, `"x"`, `{"heartbeat_interval":"1000"}`, `{"sample_rate":1e10}`, `{"tls_v1":1}`, `{"msg_timeout":1.5}`} {
		_, err := ParseIdentify([]byte(bad))
		// protocol_v2.go:379-381
		if err == nil || err.Error() != "E_BAD_BODY IDENTIFY failed to decode JSON body" || !err.Fatal {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if r, err := ParseIdentify([]byte(`null`)); err != nil || r != (IdentifyRequest{}) {
		t.Errorf("null: %+v %v", r, err)
	}
}

func TestIdentifyApply(t *testing.T) {
	lim := DefaultIdentifyLimits()
	lim.MaxOutputBufferSize = 512 * 1024 // protocol_v2_test.go:780-781
	lim.MaxOutputBufferTimeout = time.Second
	lim.MaxHeartbeatInterval = 300 * time.Second // protocol_v2_test.go:347
	def := DefaultClientSettings(60*time.Second, 250*time.Millisecond, 60*time.Second)
	if def.HeartbeatInterval != 30*time.Second || def.OutputBufferSize != 16384 || def.OutputBufferTimeout != 250*time.Millisecond || def.MsgTimeout != time.Minute {
		t.Fatalf("defaults %+v", def)
	}
	cases := []struct {
		name string
		req  IdentifyRequest
		want ClientSettings
		err  string
	}{
		{"zero keeps all", IdentifyRequest{}, def, ""},
		{"heartbeat", IdentifyRequest{HeartbeatInterval: 1000}, with(def, func(s *ClientSettings) { s.HeartbeatInterval = time.Second }), ""},
		{"heartbeat off", IdentifyRequest{HeartbeatInterval: -1}, with(def, func(s *ClientSettings) { s.HeartbeatInterval = 0 }), ""},
		{"heartbeat max", IdentifyRequest{HeartbeatInterval: 300000}, with(def, func(s *ClientSettings) { s.HeartbeatInterval = 300 * time.Second }), ""},
		// client_v2.go:488; protocol_v2_test.go:360
		{"heartbeat too big", IdentifyRequest{HeartbeatInterval: 300001}, def, "E_BAD_BODY IDENTIFY heartbeat interval (300001) is invalid"},
		{"heartbeat too small", IdentifyRequest{HeartbeatInterval: 999}, def, "E_BAD_BODY IDENTIFY heartbeat interval (999) is invalid"},
		{"heartbeat -2", IdentifyRequest{HeartbeatInterval: -2}, def, "E_BAD_BODY IDENTIFY heartbeat interval (-2) is invalid"},
		{"buffer", IdentifyRequest{OutputBufferSize: 512 * 1024, OutputBufferTimeout: 1000},
			with(def, func(s *ClientSettings) { s.OutputBufferSize = 512 * 1024; s.OutputBufferTimeout = time.Second }), ""},
		{"buffer off", IdentifyRequest{OutputBufferSize: -1, OutputBufferTimeout: 100},
			with(def, func(s *ClientSettings) { s.OutputBufferSize = 1; s.OutputBufferTimeout = 0 }), ""},
		{"buffer timeout off", IdentifyRequest{OutputBufferTimeout: -1}, with(def, func(s *ClientSettings) { s.OutputBufferTimeout = 0 }), ""},
		{"buffer min", IdentifyRequest{OutputBufferSize: 64, OutputBufferTimeout: 25},
			with(def, func(s *ClientSettings) { s.OutputBufferSize = 64; s.OutputBufferTimeout = 25 * time.Millisecond }), ""},
		// client_v2.go:522; protocol_v2_test.go:806
		{"buffer size too big", IdentifyRequest{OutputBufferSize: 512*1024 + 1}, def, "E_BAD_BODY IDENTIFY output buffer size (524289) is invalid"},
		{"buffer size too small", IdentifyRequest{OutputBufferSize: 63}, def, "E_BAD_BODY IDENTIFY output buffer size (63) is invalid"},
		// client_v2.go:509; protocol_v2_test.go:816
		{"buffer timeout too big", IdentifyRequest{OutputBufferTimeout: 1001}, def, "E_BAD_BODY IDENTIFY output buffer timeout (1001) is invalid"},
		{"buffer timeout too small", IdentifyRequest{OutputBufferTimeout: 24}, def, "E_BAD_BODY IDENTIFY output buffer timeout (24) is invalid"},
		// Timeout is checked before size (client_v2.go:498-523).
		{"buffer both bad", IdentifyRequest{OutputBufferSize: 1, OutputBufferTimeout: 1}, def, "E_BAD_BODY IDENTIFY output buffer timeout (1) is invalid"},
		{"sample", IdentifyRequest{SampleRate: 99}, with(def, func(s *ClientSettings) { s.SampleRate = 99 }), ""},
		// client_v2.go:538
		{"sample 100", IdentifyRequest{SampleRate: 100}, def, "E_BAD_BODY IDENTIFY sample rate (100) is invalid"},
		{"sample -1", IdentifyRequest{SampleRate: -1}, def, "E_BAD_BODY IDENTIFY sample rate (-1) is invalid"},
		{"msg timeout", IdentifyRequest{MsgTimeout: 1000}, with(def, func(s *ClientSettings) { s.MsgTimeout = time.Second }), ""},
		{"msg timeout max", IdentifyRequest{MsgTimeout: 900000}, with(def, func(s *ClientSettings) { s.MsgTimeout = 15 * time.Minute }), ""},
		// client_v2.go:555
		{"msg timeout small", IdentifyRequest{MsgTimeout: 999}, def, "E_BAD_BODY IDENTIFY msg timeout (999) is invalid"},
		{"msg timeout -1", IdentifyRequest{MsgTimeout: -1}, def, "E_BAD_BODY IDENTIFY msg timeout (-1) is invalid"},
		{"msg timeout big", IdentifyRequest{MsgTimeout: 900001}, def, "E_BAD_BODY IDENTIFY msg timeout (900001) is invalid"},
		// Order: heartbeat first, msg timeout last (client_v2.go:249-267).
		{"order", IdentifyRequest{HeartbeatInterval: 1, SampleRate: 200, MsgTimeout: 1}, def, "E_BAD_BODY IDENTIFY heartbeat interval (1) is invalid"},
	}
	for _, tc := range cases {
		got, err := tc.req.Apply(def, &lim)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || !err.Fatal {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v %v\nwant %+v", tc.name, got, err, tc.want)
		}
	}
	// A second IDENTIFY applies on top of the first.
	s1, _ := (&IdentifyRequest{HeartbeatInterval: 2000}).Apply(def, &lim)
	s2, _ := (&IdentifyRequest{MsgTimeout: 5000}).Apply(s1, &lim)
	if s2.HeartbeatInterval != 2*time.Second || s2.MsgTimeout != 5*time.Second {
		t.Fatalf("%+v", s2)
	}
}

func with(s ClientSettings, f func(*ClientSettings)) ClientSettings {
	f(&s)
	return s
}

func TestIdentifyNegotiate(t *testing.T) {
	srv := ServerFeatures{TLS: true, Deflate: true, MaxDeflateLevel: 6, Snappy: true, AuthRequired: true,
		MaxRdyCount: 2500, MaxMsgTimeout: 15 * time.Minute, Version: "1.3.0"}
	cs := ClientSettings{HeartbeatInterval: 30 * time.Second, OutputBufferSize: 16384,
		OutputBufferTimeout: 250 * time.Millisecond, SampleRate: 5, MsgTimeout: time.Minute}

	resp, err := (&IdentifyRequest{FeatureNegotiation: true, TLSv1: true, Deflate: true, DeflateLevel: 9}).Negotiate(&srv, cs)
	if err != nil {
		t.Fatal(err)
	}
	// Key order and units as upstream's anonymous struct (protocol_v2.go:411-439).
	want := `{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,` +
		`"tls_v1":true,"deflate":true,"deflate_level":6,"max_deflate_level":6,"snappy":false,` +
		`"sample_rate":5,"auth_required":true,"output_buffer_size":16384,"output_buffer_timeout":250}`
	if got := string(resp.AppendJSON(nil)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	level := func(req IdentifyRequest, srv ServerFeatures) int {
		r, err := req.Negotiate(&srv, cs)
		if err != nil {
			t.Fatal(err)
		}
		return r.DeflateLevel
	}
	// protocol_v2.go:398-404
	if l := level(IdentifyRequest{Deflate: true, DeflateLevel: 3}, srv); l != 3 {
		t.Errorf("level %d", l)
	}
	if l := level(IdentifyRequest{Deflate: true}, srv); l != 6 {
		t.Errorf("default level %d", l)
	}
	if l := level(IdentifyRequest{DeflateLevel: 3}, srv); l != 6 {
		t.Errorf("level without deflate %d", l)
	}
	low := srv
	low.MaxDeflateLevel = 2
	if l := level(IdentifyRequest{}, low); l != 2 {
		t.Errorf("capped level %d", l)
	}
	off := srv
	off.Deflate = false
	if r, _ := (&IdentifyRequest{Deflate: true, DeflateLevel: 3, Snappy: true, TLSv1: true}).Negotiate(&off, cs); r.Deflate || !r.Snappy || r.DeflateLevel != 6 || !r.TLSv1 {
		t.Errorf("%+v", r)
	}
	noTLS := srv
	noTLS.TLS = false
	if r, _ := (&IdentifyRequest{TLSv1: true}).Negotiate(&noTLS, cs); r.TLSv1 {
		t.Errorf("%+v", r)
	}
	// protocol_v2.go:407-408
	_, err = (&IdentifyRequest{Deflate: true, Snappy: true}).Negotiate(&srv, cs)
	if err == nil || err.Error() != "E_IDENTIFY_FAILED cannot enable both deflate and snappy compression" || !err.Fatal {
		t.Errorf("%v", err)
	}

	// protocol_v2.go:539-547
	a := AuthResponse{Identity: "me", IdentityURL: "http://x/<y>", PermissionCount: 2}
	if got := string(a.AppendJSON([]byte("x"))); got != `x{"identity":"me","identity_url":"http://x/\u003cy\u003e","permission_count":2}` {
		t.Errorf("auth: %s", got)
	}
	if !strings.HasPrefix(string(resp.AppendJSON([]byte("pre"))), "pre{") {
		t.Error("AppendJSON does not append")
	}
}
