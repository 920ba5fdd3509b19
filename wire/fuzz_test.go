package wire

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The seed corpora in testdata/fuzz are real client traffic built with the
// Append helpers; regenerate them with
//
//	go test ./wire -run TestWriteFuzzSeeds -update-seeds
var updateSeeds = flag.Bool("update-seeds", false, "rewrite the fuzz seed corpora in testdata/fuzz")

// goNSQIdentify is the IDENTIFY body go-nsq v1.1.0 sends with its default
// config (conn.go identify), keys sorted as encoding/json writes a map.
const goNSQIdentify = `{"client_id":"host","deflate":false,"deflate_level":6,"feature_negotiation":true,` +
	`"heartbeat_interval":30000,"hostname":"host.local","long_id":"host.local","msg_timeout":60000,` +
	`"output_buffer_size":16384,"output_buffer_timeout":250,"sample_rate":0,"short_id":"host",` +
	`"snappy":false,"tls_v1":false,"user_agent":"go-nsq/1.1.0"}`

func parseCommandSeeds() map[string][]byte {
	id := IDFromUint64(0x5eed)
	seeds := map[string][]byte{
		"consumer_session": func() []byte {
			b := AppendIdentify(nil, []byte(goNSQIdentify))
			b = AppendSUB(b, "orders", "billing#ephemeral")
			b = AppendRDY(b, 2500)
			b = AppendFIN(b, id)
			b = AppendREQ(b, id, 90*time.Second)
			b = AppendTOUCH(b, id)
			b = AppendNOP(b)
			return AppendCLS(b)
		}(),
		"producer_session": func() []byte {
			b := AppendIdentify(nil, []byte(goNSQIdentify))
			b = AppendAUTH(b, []byte("secret"))
			b = AppendPUB(b, "orders", []byte(`{"id":1}`))
			b = AppendMPUB(b, "orders", [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")})
			return AppendDPUB(b, "orders", 5*time.Second, []byte("later"))
		}(),
		"pub":             AppendPUB(nil, "t", []byte("hello")),
		"pub_crlf":        []byte("PUB t\r\n" + be32(1) + "x"),
		"pub_truncated":   AppendPUB(nil, "t", []byte("hello"))[:12],
		"pub_size0":       []byte("PUB t\n" + be32(0)),
		"pub_too_big":     []byte("PUB t\n" + be32(101)),
		"pub_bad_topic":   AppendPUB(nil, "no/slash", []byte("x")),
		"mpub":            AppendMPUB(nil, "t", [][]byte{[]byte("one"), []byte("two")}),
		"mpub_bad_msg":    []byte("MPUB t\n" + be32(13) + be32(2) + be32(1) + "x" + be32(0)),
		"mpub_short_body": []byte("MPUB t\n" + be32(1) + be32(1) + be32(1) + "x"),
		"mpub_count0":     []byte("MPUB t\n" + be32(4) + be32(0)),
		"dpub_range":      []byte("DPUB t 3600001\n" + be32(1) + "x"),
		"dpub_wrap":       []byte("DPUB t 18446744073709551615\n"),
		"identify_empty":  []byte("IDENTIFY\n" + be32(0)),
		"auth_params":     []byte("AUTH a b\n" + be32(1) + "x"),
		"unknown":         []byte("ASDF\n"),
		"empty_line":      []byte("\n"),
		"magic_then_nop":  []byte(MagicV2 + "NOP\n"),
		"many_spaces":     []byte("RDY          1\n"),
	}
	return seeds
}

// TestWriteFuzzSeeds regenerates testdata/fuzz when -update-seeds is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite the corpora")
	}
	write := func(fuzzName string, seeds map[string][]byte) {
		dir := filepath.Join("testdata", "fuzz", fuzzName)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
			if err := os.WriteFile(filepath.Join(dir, "seed_"+name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzParseCommand", parseCommandSeeds())
	write("FuzzIdentify", map[string][]byte{
		"go_nsq":        []byte(goNSQIdentify),
		"all_fields":    []byte(`{"client_id":"c","hostname":"h","heartbeat_interval":-1,"output_buffer_size":-1,"output_buffer_timeout":-1,"feature_negotiation":true,"tls_v1":true,"deflate":true,"deflate_level":9,"snappy":true,"sample_rate":99,"user_agent":"x","msg_timeout":900000}`),
		"bad_heartbeat": []byte(`{"heartbeat_interval":999}`),
		"wrong_type":    []byte(`{"sample_rate":"5"}`),
		"null":          []byte(`null`),
		"not_json":      []byte(`{`),
	})
}

// FuzzParseCommand checks that ParseCommand never panics, never claims more
// than it was given, is stable on its own output, asks for more on every
// strict prefix of a command, and agrees with the model of upstream's
// streaming reader (model_test.go) on errors, framing and EOF handling.
func FuzzParseCommand(f *testing.F) {
	for _, s := range parseCommandSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := testLimits
		var cmd, again Command
		pos := 0
		for pos <= len(data) {
			rest := data[pos:]
			n, err := ParseCommand(rest, &lim, &cmd)
			if n < 0 || n > len(rest) {
				t.Fatalf("n=%d of %d", n, len(rest))
			}
			if err != nil {
				if n != 0 || !err.Fatal {
					t.Fatalf("error %v with n=%d fatal=%v", err, n, err.Fatal)
				}
				break
			}
			if n == 0 {
				IncompleteError(rest, &lim) // must not panic
				break
			}
			want := snapshot(&cmd)
			if len(cmd.Body) > n || !bytes.Equal(cmd.Body, rest[n-len(cmd.Body):n]) {
				t.Fatalf("body does not end the command")
			}
			n2, err2 := ParseCommand(rest[:n], &lim, &again)
			if n2 != n || err2 != nil || snapshot(&again).String() != want.String() {
				t.Fatalf("reparse of %q: n=%d err=%v, first n=%d", rest[:n], n2, err2, n)
			}
			for _, cut := range []int{n - 1, n / 2} {
				if n3, err3 := ParseCommand(rest[:cut], &lim, &again); n3 != 0 || err3 != nil {
					t.Fatalf("prefix %d of %d: n=%d err=%v", cut, n, n3, err3)
				}
			}
			pos += n
		}
		if err := compareWithModel(data, lim); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzIdentify checks that IDENTIFY bodies decode without panicking, that
// accepted settings stay in upstream's ranges, and that the body survives a
// trip through AppendIdentify and ParseCommand.
func FuzzIdentify(f *testing.F) {
	f.Add([]byte(goNSQIdentify))
	f.Add([]byte(`{"heartbeat_interval":-1,"output_buffer_size":-1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 0 {
			var cmd Command
			n, err := ParseCommand(AppendIdentify(nil, body), nil, &cmd)
			if err != nil || n == 0 || !bytes.Equal(cmd.Body, body) {
				t.Fatalf("round trip: n=%d err=%v", n, err)
			}
		}
		req, err := ParseIdentify(body)
		if err != nil {
			if err.Error() != "E_BAD_BODY IDENTIFY failed to decode JSON body" || !err.Fatal {
				t.Fatal(err)
			}
			return
		}
		lim := DefaultIdentifyLimits()
		def := DefaultClientSettings(time.Minute, 250*time.Millisecond, time.Minute)
		s, aerr := req.Apply(def, &lim)
		if aerr != nil {
			if !aerr.Fatal || aerr.Code != CodeBadBody || s != def {
				t.Fatalf("%v %+v", aerr, s)
			}
			return
		}
		if s.HeartbeatInterval != 0 && s.HeartbeatInterval != def.HeartbeatInterval &&
			(s.HeartbeatInterval < time.Second || s.HeartbeatInterval > lim.MaxHeartbeatInterval) {
			t.Fatalf("heartbeat %v", s.HeartbeatInterval)
		}
		if s.OutputBufferSize != 1 && s.OutputBufferSize != def.OutputBufferSize &&
			(s.OutputBufferSize < 64 || int64(s.OutputBufferSize) > lim.MaxOutputBufferSize) {
			t.Fatalf("buffer %d", s.OutputBufferSize)
		}
		if s.SampleRate < 0 || s.SampleRate > 99 {
			t.Fatalf("sample %d", s.SampleRate)
		}
		if s.MsgTimeout < time.Second || s.MsgTimeout > lim.MaxMsgTimeout {
			t.Fatalf("msg timeout %v", s.MsgTimeout)
		}
		srv := ServerFeatures{TLS: true, Deflate: true, MaxDeflateLevel: 6, Snappy: true, MaxRdyCount: 2500, MaxMsgTimeout: 15 * time.Minute, Version: "1.3.0"}
		resp, nerr := req.Negotiate(&srv, s)
		if nerr != nil {
			if !(req.Deflate && req.Snappy) {
				t.Fatal(nerr)
			}
			return
		}
		if resp.DeflateLevel > srv.MaxDeflateLevel || len(resp.AppendJSON(nil)) == 0 {
			t.Fatalf("%+v", resp)
		}
	})
}
