package lookupv1

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/nsqfast/nsq/wire/lookupdoc"
)

func be32(v int32) string {
	return string(binary.BigEndian.AppendUint32(nil, uint32(v)))
}

// nsqdIdentify is the IDENTIFY body upstream nsqd v1.3.0 sends (a map, so
// keys sorted).
const nsqdIdentify = `{"broadcast_address":"nsqd-1","hostname":"nsqd-1.local","http_port":4151,"tcp_port":4150,"version":"1.3.0"}`

func TestNext(t *testing.T) {
	lim := &Limits{MaxLine: 32, MaxBody: 200}
	tests := []struct {
		name       string
		in         string
		identified bool
		wantN      int
		wantKind   Kind
		wantName   string
		wantParams []string // the first two
		wantNP     int
		wantBody   string
		wantErr    string
	}{
		{name: "ping", in: "PING\n", wantN: 5, wantKind: CmdPing, wantName: "PING"},
		{name: "ping crlf", in: "PING\r\nPING\n", wantN: 6, wantKind: CmdPing, wantName: "PING"},
		{name: "spaces trimmed", in: " \tPING \n", wantN: 8, wantKind: CmdPing, wantName: "PING"},
		{name: "ping params ignored", in: "PING a b\n", wantN: 9, wantKind: CmdPing, wantName: "PING", wantParams: []string{"a", "b"}, wantNP: 2},
		{name: "empty line", in: "\n", wantN: 1, wantKind: CmdUnknown, wantName: ""},
		{name: "lower case is unknown", in: "ping\n", wantN: 5, wantKind: CmdUnknown, wantName: "ping"},
		{name: "register topic", in: "REGISTER t\n", wantN: 11, wantKind: CmdRegister, wantName: "REGISTER", wantParams: []string{"t"}, wantNP: 1},
		{name: "register channel", in: "REGISTER t c\n", wantN: 13, wantKind: CmdRegister, wantName: "REGISTER", wantParams: []string{"t", "c"}, wantNP: 2},
		{name: "double space", in: "REGISTER  t\n", wantN: 12, wantKind: CmdRegister, wantName: "REGISTER", wantParams: []string{"", "t"}, wantNP: 2},
		{name: "extra params counted", in: "UNREGISTER t c x y\n", wantN: 19, wantKind: CmdUnregister, wantName: "UNREGISTER", wantParams: []string{"t", "c"}, wantNP: 4},
		{name: "partial line", in: "REGIST", wantN: 0},
		{name: "identify", in: "IDENTIFY\n" + be32(3) + "abcPING\n", wantN: 16, wantKind: CmdIdentify, wantName: "IDENTIFY", wantBody: "abc"},
		{name: "identify empty body", in: "IDENTIFY\n" + be32(0), wantN: 13, wantKind: CmdIdentify, wantName: "IDENTIFY", wantBody: ""},
		{name: "identify waits for size", in: "IDENTIFY\n\x00\x00", wantN: 0},
		{name: "identify waits for body", in: "IDENTIFY\n" + be32(3) + "ab", wantN: 0},
		{name: "identify again has no body", in: "IDENTIFY\n" + be32(3) + "abc", identified: true, wantN: 9, wantKind: CmdIdentify, wantName: "IDENTIFY"},
		{name: "negative size", in: "IDENTIFY\n" + be32(-1), wantErr: "E_BAD_BODY IDENTIFY invalid body size -1"},
		{name: "size over limit", in: "IDENTIFY\n" + be32(201), wantErr: "E_BAD_BODY IDENTIFY invalid body size 201"},
		{name: "line too long", in: strings.Repeat("x", 32) + "\n", wantErr: "E_INVALID command line too long"},
		{name: "no newline within limit", in: strings.Repeat("x", 32), wantErr: "E_INVALID command line too long"},
		{name: "longest line", in: strings.Repeat("x", 31) + "\n", wantN: 32, wantKind: CmdUnknown, wantName: strings.Repeat("x", 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cmd Command
			n, err := Next([]byte(tt.in), tt.identified, lim, &cmd)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !err.Fatal || n != 0 {
					t.Fatalf("Next = %d, %v; want error %q", n, err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.wantN {
				t.Fatalf("Next = %d, %v; want %d", n, err, tt.wantN)
			}
			if n == 0 {
				return
			}
			if cmd.Kind != tt.wantKind || string(cmd.Name) != tt.wantName || cmd.NParams != tt.wantNP {
				t.Errorf("got kind %v name %q nparams %d", cmd.Kind, cmd.Name, cmd.NParams)
			}
			for i, p := range tt.wantParams {
				if string(cmd.Param(i)) != p {
					t.Errorf("param %d = %q, want %q", i, cmd.Param(i), p)
				}
			}
			if tt.wantKind == CmdIdentify && !tt.identified && string(cmd.Body) != tt.wantBody {
				t.Errorf("body %q, want %q", cmd.Body, tt.wantBody)
			}
			if tt.identified && cmd.Body != nil {
				t.Errorf("body %q read on an identified connection", cmd.Body)
			}
		})
	}
}

func TestLineTooLongIsSilent(t *testing.T) {
	_, err := Next([]byte(strings.Repeat("x", 20000)), false, nil, &Command{})
	if err == nil || !err.Silent() {
		t.Fatalf("err = %v, want a silent error", err)
	}
}

func TestTopicChannel(t *testing.T) {
	tests := []struct {
		line, topic, channel, err string
	}{
		{"REGISTER t", "t", "", ""},
		{"REGISTER t c", "t", "c", ""},
		{"UNREGISTER t#ephemeral c#ephemeral", "t#ephemeral", "c#ephemeral", ""},
		{"REGISTER t c extra", "t", "c", ""},
		{"REGISTER", "", "", "E_INVALID REGISTER insufficient number of params"},
		{"UNREGISTER", "", "", "E_INVALID UNREGISTER insufficient number of params"},
		{"REGISTER  t", "", "", "E_BAD_TOPIC REGISTER topic name '' is not valid"},
		{"REGISTER a/b", "", "", "E_BAD_TOPIC REGISTER topic name 'a/b' is not valid"},
		{"UNREGISTER t c/d", "", "", "E_BAD_CHANNEL UNREGISTER channel name 'c/d' is not valid"},
		{"REGISTER t " + strings.Repeat("c", 65), "", "", "E_BAD_CHANNEL REGISTER channel name '" + strings.Repeat("c", 65) + "' is not valid"},
		{"REGISTER t  c", "t", "", ""}, // the channel is the empty second word
	}
	for _, tt := range tests {
		var cmd Command
		if _, err := Next([]byte(tt.line+"\n"), true, nil, &cmd); err != nil {
			t.Fatal(err)
		}
		topic, channel, err := TopicChannel(&cmd)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err || !err.Fatal {
				t.Errorf("%q: err %v, want %q", tt.line, err, tt.err)
			}
			continue
		}
		if err != nil || string(topic) != tt.topic || string(channel) != tt.channel {
			t.Errorf("%q: got %q %q %v", tt.line, topic, channel, err)
		}
		if tt.channel == "" && channel != nil {
			t.Errorf("%q: channel %q, want nil", tt.line, channel)
		}
	}
}

func TestParseIdentify(t *testing.T) {
	p, err := ParseIdentify([]byte(nsqdIdentify), "10.0.0.1:5000")
	want := lookupdoc.Peer{RemoteAddress: "10.0.0.1:5000", Hostname: "nsqd-1.local", BroadcastAddress: "nsqd-1",
		TCPPort: 4150, HTTPPort: 4151, Version: "1.3.0"}
	if err != nil || p != want {
		t.Fatalf("got %+v %v", p, err)
	}
	// The remote address a client claims is replaced.
	p, err = ParseIdentify([]byte(`{"remote_address":"x","broadcast_address":"b","tcp_port":1,"http_port":2,"version":"v"}`), "r:1")
	if err != nil || p.RemoteAddress != "r:1" || p.Hostname != "" {
		t.Fatalf("got %+v %v", p, err)
	}
	for body, wantErr := range map[string]string{
		`{`:                    "E_BAD_BODY IDENTIFY failed to decode JSON body",
		`[]`:                   "E_BAD_BODY IDENTIFY failed to decode JSON body",
		`{"tcp_port":"4150"}`:  "E_BAD_BODY IDENTIFY failed to decode JSON body",
		`{"remote_address":5}`: "E_BAD_BODY IDENTIFY failed to decode JSON body",
		``:                     "E_BAD_BODY IDENTIFY failed to decode JSON body",
		`null`:                 "E_BAD_BODY IDENTIFY missing fields",
		`{}`:                   "E_BAD_BODY IDENTIFY missing fields",
		`{"broadcast_address":"b","tcp_port":1,"http_port":2}`:  "E_BAD_BODY IDENTIFY missing fields",
		`{"broadcast_address":"b","tcp_port":1,"version":"v"}`:  "E_BAD_BODY IDENTIFY missing fields",
		`{"broadcast_address":"b","http_port":1,"version":"v"}`: "E_BAD_BODY IDENTIFY missing fields",
		`{"tcp_port":1,"http_port":2,"version":"v"}`:            "E_BAD_BODY IDENTIFY missing fields",
	} {
		if _, err := ParseIdentify([]byte(body), "r:1"); err == nil || err.Error() != wantErr || !err.Fatal {
			t.Errorf("%s: err %v, want %q", body, err, wantErr)
		}
	}
}

func TestIncompleteError(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"PING":                              "",
		"REGISTER t\n":                      "", // complete: not Next's concern here
		"IDENTIFY":                          "",
		"IDENTIFY\n":                        "E_BAD_BODY IDENTIFY failed to read body size",
		"IDENTIFY\n\x00\x00\x00":            "E_BAD_BODY IDENTIFY failed to read body size",
		"IDENTIFY\n" + be32(5) + "ab":       "E_BAD_BODY IDENTIFY failed to read body",
		" IDENTIFY \r\n" + be32(5) + "abcd": "E_BAD_BODY IDENTIFY failed to read body",
	} {
		got := ""
		if err := IncompleteError([]byte(in), false, nil); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if err := IncompleteError([]byte("IDENTIFY\n"), true, nil); err != nil {
		t.Errorf("identified: %v", err)
	}
}

func TestResponses(t *testing.T) {
	b := AppendResponseString(nil, OK)
	b = AppendResponse(b, []byte(`{"a":1}`))
	if string(b) != "\x00\x00\x00\x02OK\x00\x00\x00\x07{\"a\":1}" {
		t.Fatalf("%q", b)
	}
	data, n, err := ParseResponse(b, 100)
	if string(data) != "OK" || n != 6 || err != nil {
		t.Fatalf("%q %d %v", data, n, err)
	}
	data, n, err = ParseResponse(b[6:], 100)
	if string(data) != `{"a":1}` || n != 11 || err != nil {
		t.Fatalf("%q %d %v", data, n, err)
	}
	if _, n, err := ParseResponse(b[:5], 100); n != 0 || err != nil {
		t.Fatalf("partial: %d %v", n, err)
	}
	if _, _, err := ParseResponse(b[6:], 6); err == nil {
		t.Fatal("no error for a response over the limit")
	}
	if _, _, err := ParseResponse([]byte(be32(-1)), 6); err == nil {
		t.Fatal("no error for a negative size")
	}
}

func TestClientCommands(t *testing.T) {
	var b []byte
	b = AppendPing(b)
	b = AppendIdentify(b, []byte("{}"))
	b = AppendRegister(b, "t", "")
	b = AppendRegister(b, "t", "c")
	b = AppendUnregister(b, "t", "c#ephemeral")
	b = AppendUnregister(b, "t", "")
	want := "PING\nIDENTIFY\n" + be32(2) + "{}REGISTER t\nREGISTER t c\nUNREGISTER t c#ephemeral\nUNREGISTER t\n"
	if string(b) != want {
		t.Fatalf("%q\nwant %q", b, want)
	}
	// And they parse back.
	kinds := []Kind{CmdPing, CmdIdentify, CmdRegister, CmdRegister, CmdUnregister, CmdUnregister}
	for i, k := range kinds {
		var cmd Command
		n, err := Next(b, i > 1, nil, &cmd)
		if err != nil || n == 0 || cmd.Kind != k {
			t.Fatalf("command %d: %d %v %v", i, n, err, cmd.Kind)
		}
		b = b[n:]
	}
	if len(b) != 0 {
		t.Fatalf("left %q", b)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{CmdUnknown: "UNKNOWN", CmdPing: "PING", CmdIdentify: "IDENTIFY",
		CmdRegister: "REGISTER", CmdUnregister: "UNREGISTER", Kind(99): "UNKNOWN"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}
