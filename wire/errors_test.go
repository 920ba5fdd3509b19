package wire

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// Every expected text below is upstream's; the comments cite the nsqd
// v1.3.0 source (/work/ref/nsq) that produces it. All the upstream tests we
// could match are also cited (nsqd/protocol_v2_test.go).

// testLimits are the limits upstream's own protocol tests use most.
var testLimits = Limits{MaxMsgSize: 100, MaxBodySize: 1000, MaxReqTimeout: time.Hour}

func be32(v int32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return string(b[:])
}

func TestParseCommandErrors(t *testing.T) {
	msg := func(n int) string { return be32(int32(n)) + strings.Repeat("m", n) }
	cases := []struct {
		name, in, want string
	}{
		// protocol_v2.go:200; protocol_v2_test.go:718
		{"unknown", "ASDF\n", "E_INVALID invalid command ASDF"},
		{"unknown lower case", "pub t\n", "E_INVALID invalid command pub"},
		{"unknown empty line", "\n", "E_INVALID invalid command "},
		{"unknown CRLF", "ASDF x\r\n", "E_INVALID invalid command ASDF"},
		{"unknown leading space", " PUB t\n", "E_INVALID invalid command "},

		// protocol_v2.go:769
		{"PUB no params", "PUB\n", "E_INVALID PUB insufficient number of parameters"},
		// protocol_v2.go:774-775
		{"PUB bad topic", "PUB bad/topic\n", `E_BAD_TOPIC PUB topic name "bad/topic" is not valid`},
		{"PUB empty topic", "PUB \n", `E_BAD_TOPIC PUB topic name "" is not valid`},
		{"PUB double space", "PUB  t\n", `E_BAD_TOPIC PUB topic name "" is not valid`},
		{"PUB quoted topic", "PUB \"\xff\n", `E_BAD_TOPIC PUB topic name "\"\xff" is not valid`},
		{"PUB long topic", "PUB " + strings.Repeat("a", 65) + "\n", `E_BAD_TOPIC PUB topic name "` + strings.Repeat("a", 65) + `" is not valid`},
		// protocol_v2.go:784-785; protocol_v2_test.go:492
		{"PUB size 0", "PUB t\n" + be32(0), "E_BAD_MESSAGE PUB invalid message body size 0"},
		{"PUB size -1", "PUB t\n" + be32(-1), "E_BAD_MESSAGE PUB invalid message body size -1"},
		// protocol_v2.go:789-790; protocol_v2_test.go:479
		{"PUB too big", "PUB t\n" + be32(101), "E_BAD_MESSAGE PUB message too big 101 > 100"},

		// protocol_v2.go:819
		{"MPUB no params", "MPUB\n", "E_INVALID MPUB insufficient number of parameters"},
		// protocol_v2.go:824-825 (the code really is repeated)
		{"MPUB bad topic", "MPUB a*b\n", `E_BAD_TOPIC E_BAD_TOPIC MPUB topic name "a*b" is not valid`},
		// protocol_v2.go:840-841
		{"MPUB body size 0", "MPUB t\n" + be32(0), "E_BAD_BODY MPUB invalid body size 0"},
		{"MPUB body size -5", "MPUB t\n" + be32(-5), "E_BAD_BODY MPUB invalid body size -5"},
		// protocol_v2.go:845-846; protocol_v2_test.go:523
		{"MPUB body too big", "MPUB t\n" + be32(1148), "E_BAD_BODY MPUB body too big 1148 > 1000"},
		// protocol_v2.go:966-969
		{"MPUB count 0", "MPUB t\n" + be32(10) + be32(0), "E_BAD_BODY MPUB invalid message count 0"},
		{"MPUB count -1", "MPUB t\n" + be32(10) + be32(-1), "E_BAD_BODY MPUB invalid message count -1"},
		{"MPUB count over body", "MPUB t\n" + be32(10) + be32(200), "E_BAD_BODY MPUB invalid message count 200"},
		// protocol_v2.go:981-982; protocol_v2_test.go:542
		{"MPUB message size 0", "MPUB t\n" + be32(20) + be32(3) + msg(1) + be32(0), "E_BAD_MESSAGE MPUB invalid message(1) body size 0"},
		// protocol_v2.go:986-987; protocol_v2_test.go:560
		{"MPUB message too big", "MPUB t\n" + be32(20) + be32(3) + msg(1) + msg(2) + be32(101), "E_BAD_MESSAGE MPUB message too big 101 > 100"},

		// protocol_v2.go:872
		{"DPUB one param", "DPUB t\n", "E_INVALID DPUB insufficient number of parameters"},
		// protocol_v2.go:877-878
		{"DPUB bad topic", "DPUB t! 10\n", `E_BAD_TOPIC DPUB topic name "t!" is not valid`},
		// protocol_v2.go:883-884
		{"DPUB bad timeout", "DPUB t 1s\n", "E_INVALID DPUB could not parse timeout 1s"},
		{"DPUB negative timeout", "DPUB t -1\n", "E_INVALID DPUB could not parse timeout -1"},
		// protocol_v2.go:888-891; protocol_v2_test.go:603
		{"DPUB timeout range", "DPUB t 3600100\n", "E_INVALID DPUB timeout 3600100 out of range 0-3600000"},
		{"DPUB timeout wraps negative", "DPUB t 18446744073709551615\n", "E_INVALID DPUB timeout 18446744073709551615 out of range 0-3600000"},
		// protocol_v2.go:900-901
		{"DPUB size 0", "DPUB t 10\n" + be32(0), "E_BAD_MESSAGE DPUB invalid message body size 0"},
		// protocol_v2.go:905-906
		{"DPUB too big", "DPUB t 10\n" + be32(101), "E_BAD_MESSAGE DPUB message too big 101 > 100"},

		// protocol_v2.go:361-363
		{"IDENTIFY too big", "IDENTIFY\n" + be32(1001), "E_BAD_BODY IDENTIFY body too big 1001 > 1000"},
		// protocol_v2.go:366-368
		{"IDENTIFY size 0", "IDENTIFY\n" + be32(0), "E_BAD_BODY IDENTIFY invalid body size 0"},
		{"IDENTIFY size -1", "IDENTIFY\n" + be32(-1), "E_BAD_BODY IDENTIFY invalid body size -1"},

		// protocol_v2.go:496-497
		{"AUTH param", "AUTH secret\n", "E_INVALID AUTH invalid number of parameters"},
		{"AUTH empty param", "AUTH \n", "E_INVALID AUTH invalid number of parameters"},
		// protocol_v2.go:505-507
		{"AUTH too big", "AUTH\n" + be32(1001), "E_BAD_BODY AUTH body too big 1001 > 1000"},
		// protocol_v2.go:510-512
		{"AUTH size 0", "AUTH\n" + be32(0), "E_BAD_BODY AUTH invalid body size 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cmd Command
			lim := testLimits
			n, err := ParseCommand([]byte(tc.in), &lim, &cmd)
			if err == nil {
				t.Fatalf("n=%d, no error; want %q", n, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error %q\nwant     %q", got, tc.want)
			}
			if !err.Fatal || err.Silent() || n != 0 {
				t.Errorf("fatal=%v silent=%v n=%d, want fatal, not silent, 0", err.Fatal, err.Silent(), n)
			}
			if got := string(AppendErrorFrame(nil, err)[8:]); got != tc.want {
				t.Errorf("error frame data %q", got)
			}
			// The model of upstream agrees (it is a separate implementation).
			if merr := compareWithModel([]byte(tc.in), lim); merr != nil {
				t.Error(merr)
			}
		})
	}
}

func TestParseCommandErrorKeepsLine(t *testing.T) {
	// On an error after the line, Kind/Name/Params let the caller apply
	// upstream's earlier checks (TLS policy, state, MPUB auth).
	var cmd Command
	_, err := ParseCommand([]byte("MPUB t\n"+be32(0)), nil, &cmd)
	if err == nil || cmd.Kind != CmdMPub || string(cmd.Name) != "MPUB" || len(cmd.Params) != 1 || string(cmd.Params[0]) != "t" {
		t.Fatalf("err=%v cmd=%+v", err, cmd)
	}
	_, err = ParseCommand([]byte("XYZ a\n"), nil, &cmd)
	if err == nil || cmd.Kind != CmdUnknown || string(cmd.Name) != "XYZ" {
		t.Fatalf("err=%v cmd=%+v", err, cmd)
	}
}

func TestLineTooLong(t *testing.T) {
	var cmd Command
	// A line of exactly MaxLineLength bytes, newline included, is fine.
	in := []byte("NOP " + strings.Repeat("x", MaxLineLength-5) + "\n")
	if n, err := ParseCommand(in, nil, &cmd); err != nil || n != MaxLineLength {
		t.Fatalf("n=%d err=%v", n, err)
	}
	// One more byte and upstream's bufio.Reader gives up (client_v2.go:196,
	// protocol_v2.go:64-71): the connection closes without a frame.
	in = []byte("NOP " + strings.Repeat("x", MaxLineLength-4) + "\n")
	n, err := ParseCommand(in, nil, &cmd)
	if err == nil || !err.Silent() || !err.Fatal || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if merr := compareWithModel(in, DefaultLimits()); merr != nil {
		t.Error(merr)
	}
	// Without a newline, that is known as soon as MaxLineLength bytes are in.
	if _, err := ParseCommand(in[:MaxLineLength-1], nil, &cmd); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCommand(in[:MaxLineLength], nil, &cmd); err == nil || !err.Silent() {
		t.Fatal(err)
	}
}

func TestIncompleteError(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"partial line", "PUB t", ""},
		{"complete command", "NOP\n", ""},
		{"bad command", "XX\n", ""},
		// protocol_v2.go:778-780
		{"PUB size", "PUB t\n\x00\x00", "E_BAD_MESSAGE PUB failed to read message body size"},
		// protocol_v2.go:794-796
		{"PUB body", "PUB t\n" + be32(5) + "ab", "E_BAD_MESSAGE PUB failed to read message body"},
		// protocol_v2.go:894-896
		{"DPUB size", "DPUB t 10\n", "E_BAD_MESSAGE DPUB failed to read message body size"},
		// protocol_v2.go:910-912
		{"DPUB body", "DPUB t 10\n" + be32(5), "E_BAD_MESSAGE DPUB failed to read message body"},
		// protocol_v2.go:834-836
		{"MPUB size", "MPUB t\n", "E_BAD_BODY MPUB failed to read body size"},
		// protocol_v2.go:960-962
		{"MPUB count", "MPUB t\n" + be32(20) + "\x00", "E_BAD_BODY MPUB failed to read message count"},
		// protocol_v2.go:974-977
		{"MPUB message size", "MPUB t\n" + be32(20) + be32(2) + be32(1) + "x", "E_BAD_MESSAGE MPUB failed to read message(1) body size"},
		// protocol_v2.go:991-993
		{"MPUB message body", "MPUB t\n" + be32(20) + be32(2) + be32(3) + "x", "E_BAD_MESSAGE MPUB failed to read message body"},
		// protocol_v2.go:356-358
		{"IDENTIFY size", "IDENTIFY\n", "E_BAD_BODY IDENTIFY failed to read body size"},
		// protocol_v2.go:372-374
		{"IDENTIFY body", "IDENTIFY\n" + be32(10) + "{}", "E_BAD_BODY IDENTIFY failed to read body"},
		// protocol_v2.go:500-502
		{"AUTH size", "AUTH\n", "E_BAD_BODY AUTH failed to read body size"},
		// protocol_v2.go:516-518
		{"AUTH body", "AUTH\n" + be32(10), "E_BAD_BODY AUTH failed to read body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := testLimits
			err := IncompleteError([]byte(tc.in), &lim)
			got := ""
			if err != nil {
				got = err.Error()
				if !err.Fatal {
					t.Error("not fatal")
				}
			}
			if got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			if merr := compareWithModel([]byte(tc.in), lim); merr != nil {
				t.Error(merr)
			}
		})
	}
}

func TestParamHelperErrors(t *testing.T) {
	id := []byte("0123456789abcdef")
	p := func(words ...string) [][]byte {
		out := make([][]byte, len(words))
		for i, w := range words {
			out[i] = []byte(w)
		}
		return out
	}
	check := func(t *testing.T, err *Error, want string) {
		t.Helper()
		if err == nil {
			t.Fatalf("no error, want %q", want)
		}
		if err.Error() != want || !err.Fatal {
			t.Errorf("got %q fatal=%v, want fatal %q", err.Error(), err.Fatal, want)
		}
	}
	t.Run("RDY", func(t *testing.T) {
		_, err := ParseRDY(p("x1"))
		check(t, err, "E_INVALID RDY could not parse count x1") // protocol_v2.go:658-661
		_, err = ParseRDY(p("-1"))
		check(t, err, "E_INVALID RDY could not parse count -1")
		for _, tc := range []struct {
			in   [][]byte
			want int64
		}{
			{nil, 1}, // protocol_v2.go:656
			{p(""), 0},
			{p("50"), 50},
			{p("007"), 7},
			{p("18446744073709551615"), -1}, // int64(uint64) as upstream: then out of range
			{p("3", "junk"), 3},
		} {
			if got, err := ParseRDY(tc.in); err != nil || got != tc.want {
				t.Errorf("ParseRDY(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		}
	})
	t.Run("FIN", func(t *testing.T) {
		_, err := ParseFIN(nil)
		check(t, err, "E_INVALID FIN insufficient number of params") // protocol_v2.go:684-685
		_, err = ParseFIN(p("abc"))
		check(t, err, "E_INVALID invalid message ID") // protocol_v2.go:1004-1005, 688-690; protocol_v2_test.go:1409
		if got, err := ParseFIN([][]byte{id}); err != nil || string(got) != string(id) {
			t.Errorf("got %q %v", got, err)
		}
	})
	t.Run("TOUCH", func(t *testing.T) {
		_, err := ParseTOUCH(nil)
		check(t, err, "E_INVALID TOUCH insufficient number of params") // protocol_v2.go:938-939
		_, err = ParseTOUCH(p("0123456789abcdef0"))
		check(t, err, "E_INVALID invalid message ID") // protocol_v2.go:942-944
		if got, err := ParseTOUCH([][]byte{id}); err != nil || string(got) != string(id) {
			t.Errorf("got %q %v", got, err)
		}
	})
	t.Run("REQ", func(t *testing.T) {
		_, _, err := ParseREQ([][]byte{id})
		check(t, err, "E_INVALID REQ insufficient number of params") // protocol_v2.go:710-711
		_, _, err = ParseREQ(p("short", "10"))
		check(t, err, "E_INVALID invalid message ID") // protocol_v2.go:714-716
		_, _, err = ParseREQ([][]byte{id, []byte("1.5")})
		check(t, err, "E_INVALID REQ could not parse timeout 1.5") // protocol_v2.go:719-722
		got, d, err := ParseREQ([][]byte{id, []byte("1500")})
		if err != nil || string(got) != string(id) || d != 1500*time.Millisecond {
			t.Errorf("got %q %v %v", got, d, err)
		}
		// Out-of-range timeouts are clamped, not rejected (protocol_v2.go:726-738).
		_, d, _ = ParseREQ([][]byte{id, []byte("7200000")})
		if c := ClampReqTimeout(d, time.Hour); c != time.Hour {
			t.Errorf("clamp high: %v", c)
		}
		_, d, _ = ParseREQ([][]byte{id, []byte("18446744073709551615")})
		if d >= 0 {
			t.Errorf("wrap: %v", d)
		}
		if c := ClampReqTimeout(d, time.Hour); c != 0 {
			t.Errorf("clamp negative: %v", c)
		}
	})
	t.Run("SUB", func(t *testing.T) {
		_, _, err := ParseSUB(p("t"))
		check(t, err, "E_INVALID SUB insufficient number of parameters") // protocol_v2.go:592-593
		_, _, err = ParseSUB(p("t!", "c"))
		check(t, err, `E_BAD_TOPIC SUB topic name "t!" is not valid`) // protocol_v2.go:597-599
		if err.Code != CodeBadTopic {
			t.Error(err.Code)
		}
		_, _, err = ParseSUB(p("t", "c c"))
		check(t, err, `E_BAD_CHANNEL SUB channel name "c c" is not valid`) // protocol_v2.go:603-605
		topic, ch, err := ParseSUB(p("t", "c#ephemeral", "extra"))
		if err != nil || string(topic) != "t" || string(ch) != "c#ephemeral" {
			t.Errorf("got %q %q %v", topic, ch, err)
		}
	})
}

func TestErrorConstructors(t *testing.T) {
	id := []byte("0123456789abcdef")
	cases := []struct {
		name  string
		err   *Error
		want  string
		fatal bool
	}{
		{"state IDENTIFY", ErrInvalidState(CmdIdentify), "E_INVALID cannot IDENTIFY in current state", true},                         // protocol_v2.go:353
		{"state AUTH", ErrInvalidState(CmdAuth), "E_INVALID cannot AUTH in current state", true},                                     // protocol_v2.go:493
		{"state SUB", ErrInvalidState(CmdSub), "E_INVALID cannot SUB in current state", true},                                        // protocol_v2.go:585
		{"state RDY", ErrInvalidState(CmdRdy), "E_INVALID cannot RDY in current state", true},                                        // protocol_v2.go:653
		{"state FIN", ErrInvalidState(CmdFin), "E_INVALID cannot FIN in current state", true},                                        // protocol_v2.go:681
		{"state REQ", ErrInvalidState(CmdReq), "E_INVALID cannot REQ in current state", true},                                        // protocol_v2.go:707
		{"state CLS", ErrInvalidState(CmdCls), "E_INVALID cannot CLS in current state", true},                                        // protocol_v2.go:753
		{"state TOUCH", ErrInvalidState(CmdTouch), "E_INVALID cannot TOUCH in current state", true},                                  // protocol_v2.go:935
		{"TLS required", ErrTLSRequired([]byte("PUB")), "E_INVALID cannot PUB in current state (TLS required)", true},                // protocol_v2.go:1020-1021
		{"SUB heartbeats", ErrSubHeartbeatsDisabled(), "E_INVALID cannot SUB with heartbeats disabled", true},                        // protocol_v2.go:589
		{"SUB failed", ErrSubFailed("exiting"), "E_SUB_FAILED SUB failed exiting", true},                                             // protocol_v2.go:620
		{"SUB consumers", ErrSubTooManyConsumers("t", "c", 2), "E_SUB_FAILED SUB failed consumers for t:c exceeds limit of 2", true}, // protocol_v2.go:620, channel.go:411-412
		{"SUB exiting", ErrSubExiting(), "E_SUB_FAILED SUB failed to deleted topic/channel", true},                                   // protocol_v2.go:629
		{"RDY range", ErrRDYOutOfRange(51, 50), "E_INVALID RDY count 51 out of range 0-50", true},                                    // protocol_v2.go:669-670; protocol_v2_test.go:697
		{"RDY negative", ErrRDYOutOfRange(-1, 2500), "E_INVALID RDY count -1 out of range 0-2500", true},
		{"message ID", ErrInvalidMessageID(), "E_INVALID invalid message ID", true},                                                               // protocol_v2.go:1005
		{"FIN failed", ErrFINFailed(id, ReasonNotInFlight), "E_FIN_FAILED FIN 0123456789abcdef failed ID not in flight", false},                   // protocol_v2.go:695-696; protocol_v2_test.go:1382
		{"REQ failed", ErrREQFailed(id, ReasonNotOwner), "E_REQ_FAILED REQ 0123456789abcdef failed client does not own message", false},           // protocol_v2.go:742-743
		{"TOUCH failed", ErrTOUCHFailed(id, ReasonNotInFlight), "E_TOUCH_FAILED TOUCH 0123456789abcdef failed ID not in flight", false},           // protocol_v2.go:952-953
		{"PUB failed", ErrPUBFailed(ReasonExiting), "E_PUB_FAILED PUB failed exiting", true},                                                      // protocol_v2.go:807
		{"MPUB failed", ErrMPUBFailed(ReasonExiting), "E_MPUB_FAILED MPUB failed exiting", true},                                                  // protocol_v2.go:860
		{"DPUB failed", ErrDPUBFailed(ReasonExiting), "E_DPUB_FAILED DPUB failed exiting", true},                                                  // protocol_v2.go:924
		{"IDENTIFY JSON", ErrIdentifyDecode(), "E_BAD_BODY IDENTIFY failed to decode JSON body", true},                                            // protocol_v2.go:381
		{"IDENTIFY value", ErrIdentifyBadValue("heartbeat interval", 300001), "E_BAD_BODY IDENTIFY heartbeat interval (300001) is invalid", true}, // protocol_v2.go:388, client_v2.go:488; protocol_v2_test.go:360
		{"IDENTIFY both", ErrIdentifyDeflateAndSnappy(), "E_IDENTIFY_FAILED cannot enable both deflate and snappy compression", true},             // protocol_v2.go:408
		{"IDENTIFY failed", ErrIdentifyFailed("tls: bad"), "E_IDENTIFY_FAILED IDENTIFY failed tls: bad", true},                                    // protocol_v2.go:441-485
		{"AUTH set", ErrAuthAlreadySet(), "E_INVALID AUTH already set", true},                                                                     // protocol_v2.go:522
		{"AUTH disabled", ErrAuthDisabled(), "E_AUTH_DISABLED AUTH disabled", true},                                                               // protocol_v2.go:526
		{"AUTH failed", ErrAuthFailed(), "E_AUTH_FAILED AUTH failed", true},                                                                       // protocol_v2.go:532, 573
		{"AUTH none", ErrAuthNoAuthorizations(), "E_UNAUTHORIZED AUTH no authorizations found", true},                                             // protocol_v2.go:536; protocol_v2_test.go:1475
		{"AUTH error", ErrAuthError("broken pipe"), "E_AUTH_ERROR AUTH error broken pipe", true},                                                  // protocol_v2.go:549, 554
		{"AUTH first", ErrAuthFirst("SUB"), "E_AUTH_FIRST AUTH required before SUB", true},                                                        // protocol_v2.go:566-567
		{"AUTH topic", ErrAuthUnauthorized("PUB", "t", ""), `E_UNAUTHORIZED AUTH failed for PUB on "t" ""`, true},                                 // protocol_v2.go:576-577
		{"new", NewError(CodeFinFailed, "x"), "E_FIN_FAILED x", false},
		{"new fatal", NewFatalError(CodeInvalid, "x"), "E_INVALID x", true},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s: %q\nwant %q", tc.name, got, tc.want)
		}
		if tc.err.Fatal != tc.fatal || tc.err.Silent() {
			t.Errorf("%s: fatal=%v silent=%v, want fatal=%v", tc.name, tc.err.Fatal, tc.err.Silent(), tc.fatal)
		}
		frame := AppendErrorFrame(nil, tc.err)
		typ, data, n, err := ParseFrame(frame)
		if err != nil || n != len(frame) || typ != FrameTypeError || string(data) != tc.want {
			t.Errorf("%s: frame %q", tc.name, frame)
		}
	}
}
