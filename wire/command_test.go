package wire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// parsed is a deep copy of a Command, for comparing parses of different
// buffers.
type parsed struct {
	Kind        CommandKind
	Name        string
	Params      []string
	Body        string
	NumMessages int
	Defer       time.Duration
	Messages    []string
}

func snapshot(c *Command) parsed {
	p := parsed{Kind: c.Kind, Name: string(c.Name), Body: string(c.Body), NumMessages: c.NumMessages, Defer: c.Defer}
	for _, w := range c.Params {
		p.Params = append(p.Params, string(w))
	}
	c.EachMessage(func(b []byte) { p.Messages = append(p.Messages, string(b)) })
	return p
}

func (p parsed) String() string {
	type plain parsed // drops the String method
	return fmt.Sprintf("%+v", plain(p))
}

func mustParse(t testing.TB, in []byte, lim *Limits) (parsed, int) {
	t.Helper()
	var cmd Command
	n, err := ParseCommand(in, lim, &cmd)
	if err != nil || n == 0 {
		t.Fatalf("ParseCommand(%q) = %d, %v", in, n, err)
	}
	return snapshot(&cmd), n
}

func TestRoundTrips(t *testing.T) {
	id := IDFromUint64(0xfeed)
	body := []byte("hello\nworld \x00\xff")
	bodies := [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 100), []byte("c c\n")}
	cases := []struct {
		name string
		in   []byte
		want parsed
	}{
		{"PUB", AppendPUB(nil, "topic", body),
			parsed{Kind: CmdPub, Name: "PUB", Params: []string{"topic"}, Body: string(body)}},
		{"PUB ephemeral", AppendPUB(nil, "t.-_#ephemeral", []byte("x")),
			parsed{Kind: CmdPub, Name: "PUB", Params: []string{"t.-_#ephemeral"}, Body: "x"}},
		{"DPUB", AppendDPUB(nil, "t", 1500*time.Millisecond, body),
			parsed{Kind: CmdDPub, Name: "DPUB", Params: []string{"t", "1500"}, Body: string(body), Defer: 1500 * time.Millisecond}},
		{"DPUB 0", AppendDPUB(nil, "t", 0, body),
			parsed{Kind: CmdDPub, Name: "DPUB", Params: []string{"t", "0"}, Body: string(body)}},
		{"DPUB max", AppendDPUB(nil, "t", time.Hour, body),
			parsed{Kind: CmdDPub, Name: "DPUB", Params: []string{"t", "3600000"}, Body: string(body), Defer: time.Hour}},
		{"MPUB", AppendMPUB(nil, "t", bodies),
			parsed{Kind: CmdMPub, Name: "MPUB", Params: []string{"t"}, Body: string(AppendMPUB(nil, "t", bodies)[len("MPUB t\n")+4:]),
				NumMessages: 3, Messages: []string{"a", strings.Repeat("b", 100), "c c\n"}}},
		{"IDENTIFY", AppendIdentify(nil, []byte(`{"client_id":"x"}`)),
			parsed{Kind: CmdIdentify, Name: "IDENTIFY", Body: `{"client_id":"x"}`}},
		{"AUTH", AppendAUTH(nil, []byte("s3cret")),
			parsed{Kind: CmdAuth, Name: "AUTH", Body: "s3cret"}},
		{"SUB", AppendSUB(nil, "t", "c"), parsed{Kind: CmdSub, Name: "SUB", Params: []string{"t", "c"}}},
		{"RDY", AppendRDY(nil, 2500), parsed{Kind: CmdRdy, Name: "RDY", Params: []string{"2500"}}},
		{"FIN", AppendFIN(nil, id), parsed{Kind: CmdFin, Name: "FIN", Params: []string{string(id[:])}}},
		{"REQ", AppendREQ(nil, id, 2*time.Second), parsed{Kind: CmdReq, Name: "REQ", Params: []string{string(id[:]), "2000"}}},
		{"TOUCH", AppendTOUCH(nil, id), parsed{Kind: CmdTouch, Name: "TOUCH", Params: []string{string(id[:])}}},
		{"NOP", AppendNOP(nil), parsed{Kind: CmdNop, Name: "NOP"}},
		{"CLS", AppendCLS(nil), parsed{Kind: CmdCls, Name: "CLS"}},
		{"generic", AppendCommand(nil, "RDY", []byte("1"), []byte(""), []byte("x")),
			parsed{Kind: CmdRdy, Name: "RDY", Params: []string{"1", "", "x"}}},
		{"CRLF", []byte("NOP\r\n"), parsed{Kind: CmdNop, Name: "NOP"}},
		{"CRLF params", []byte("FIN abc\r\n"), parsed{Kind: CmdFin, Name: "FIN", Params: []string{"abc"}}},
		{"only one CR trimmed", []byte("FIN abc\r\r\n"), parsed{Kind: CmdFin, Name: "FIN", Params: []string{"abc\r"}}},
		{"trailing space", []byte("CLS \n"), parsed{Kind: CmdCls, Name: "CLS", Params: []string{""}}},
		{"PUB extra params ignored", []byte("PUB t extra\n" + be32(1) + "x"),
			parsed{Kind: CmdPub, Name: "PUB", Params: []string{"t", "extra"}, Body: "x"}},
		{"IDENTIFY params ignored", []byte("IDENTIFY x y\n" + be32(2) + "{}"),
			parsed{Kind: CmdIdentify, Name: "IDENTIFY", Params: []string{"x", "y"}, Body: "{}"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, n := mustParse(t, tc.in, nil)
			if n != len(tc.in) {
				t.Errorf("n=%d, want %d", n, len(tc.in))
			}
			if got.String() != tc.want.String() {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			// Trailing bytes of a next command do not change anything.
			more := append(append([]byte(nil), tc.in...), "NOP\n"...)
			if got2, n2 := mustParse(t, more, nil); n2 != n || got2.String() != got.String() {
				t.Errorf("with trailing command: %d %v", n2, got2)
			}
			if err := compareWithModel(more, DefaultLimits()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestManyParams(t *testing.T) {
	words := make([][]byte, 20)
	for i := range words {
		words[i] = []byte(fmt.Sprint(i))
	}
	got, _ := mustParse(t, AppendCommand(nil, "NOP", words...), nil)
	if len(got.Params) != MaxParams || got.Params[MaxParams-1] != fmt.Sprint(MaxParams-1) {
		t.Fatalf("%v", got.Params)
	}
	// AUTH still sees that there were parameters beyond MaxParams.
	var cmd Command
	if _, err := ParseCommand(AppendCommand(nil, "AUTH", words...), nil, &cmd); err == nil || err.Desc != "AUTH invalid number of parameters" {
		t.Fatal(err)
	}
	// Params cannot be appended into the scratch array.
	ParseCommand([]byte("FIN a b\n"), nil, &cmd)
	if cap(cmd.Params) != len(cmd.Params) {
		t.Fatalf("cap %d", cap(cmd.Params))
	}
}

func TestNeedMoreSetsLine(t *testing.T) {
	var cmd Command
	n, err := ParseCommand([]byte("PUB t\n\x00\x00\x00\x05ab"), nil, &cmd)
	if n != 0 || err != nil || cmd.Kind != CmdPub || string(cmd.Params[0]) != "t" || cmd.Body != nil {
		t.Fatalf("n=%d err=%v %+v", n, err, cmd)
	}
	n, err = ParseCommand([]byte("PUB t"), nil, &cmd)
	if n != 0 || err != nil || cmd.Kind != CmdUnknown || cmd.Name != nil {
		t.Fatalf("n=%d err=%v %+v", n, err, cmd)
	}
}

// TestSplitStreams feeds a stream of commands one byte boundary at a time:
// every prefix short of a whole command must ask for more, and the whole
// command must parse as it does in one piece.
func TestSplitStreams(t *testing.T) {
	id := IDFromUint64(42)
	var stream []byte
	stream = AppendIdentify(stream, []byte(`{"feature_negotiation":true}`))
	stream = AppendSUB(stream, "t", "c#ephemeral")
	stream = AppendRDY(stream, 10)
	stream = AppendPUB(stream, "t", []byte("one"))
	stream = AppendMPUB(stream, "t", [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")})
	stream = AppendDPUB(stream, "t", time.Second, []byte("later"))
	stream = AppendFIN(stream, id)
	stream = AppendREQ(stream, id, 0)
	stream = AppendTOUCH(stream, id)
	stream = AppendAUTH(stream, []byte("secret"))
	stream = AppendNOP(stream)
	stream = AppendCLS(stream)

	var want []parsed
	var ends []int
	for pos := 0; pos < len(stream); {
		p, n := mustParse(t, stream[pos:], nil)
		want = append(want, p)
		pos += n
		ends = append(ends, pos)
	}
	if len(want) != 12 {
		t.Fatalf("%d commands", len(want))
	}
	var cmd Command
	start := 0
	for i, end := range ends {
		for cut := start; cut < end; cut++ {
			n, err := ParseCommand(stream[start:cut], nil, &cmd)
			if n != 0 || err != nil {
				t.Fatalf("command %d cut at %d: n=%d err=%v", i, cut-start, n, err)
			}
			// Upstream, reaching EOF here, would send the matching
			// "failed to read" error or nothing.
			if err := compareWithModel(stream[start:cut], DefaultLimits()); err != nil {
				t.Fatalf("command %d cut at %d: %v", i, cut-start, err)
			}
		}
		n, err := ParseCommand(stream[start:end], nil, &cmd)
		if err != nil || n != end-start || snapshot(&cmd).String() != want[i].String() {
			t.Fatalf("command %d whole: n=%d err=%v %v", i, n, err, snapshot(&cmd))
		}
		start = end
	}
	if err := compareWithModel(stream, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
}

// TestMPUBFraming checks that MPUB is framed by its messages, as upstream
// reads it, whatever the declared body size says.
func TestMPUBFraming(t *testing.T) {
	msgs := be32(2) + be32(1) + "a" + be32(2) + "bb"
	for _, declared := range []int{len(msgs), 1, len(msgs) + 50} {
		in := []byte("MPUB t\n" + be32(int32(declared)) + msgs + "NOP\n")
		got, n := mustParse(t, in, nil)
		if n != len(in)-4 || got.NumMessages != 2 || strings.Join(got.Messages, ",") != "a,bb" || got.Body != msgs {
			t.Errorf("declared %d: n=%d %v", declared, n, got)
		}
		if err := compareWithModel(in, DefaultLimits()); err != nil {
			t.Errorf("declared %d: %v", declared, err)
		}
	}
}

func TestMessageIter(t *testing.T) {
	var cmd Command
	in := AppendMPUB(nil, "t", [][]byte{[]byte("x"), []byte("yy")})
	if _, err := ParseCommand(in, nil, &cmd); err != nil {
		t.Fatal(err)
	}
	it := cmd.Messages()
	if it.Len() != 2 {
		t.Fatal(it.Len())
	}
	var got []string
	for b, ok := it.Next(); ok; b, ok = it.Next() {
		got = append(got, string(b))
		if cap(b) != len(b) {
			t.Error("body capacity leaks into the next message")
		}
	}
	if strings.Join(got, ",") != "x,yy" || it.Len() != 0 {
		t.Fatal(got)
	}
	// Other commands yield nothing.
	ParseCommand(AppendPUB(nil, "t", []byte("x")), nil, &cmd)
	calls := 0
	cmd.EachMessage(func([]byte) { calls++ })
	var zero MessageIter
	if _, ok := zero.Next(); ok || calls != 0 {
		t.Fatal("yielded")
	}
}

func TestCommandString(t *testing.T) {
	var cmd Command
	ParseCommand(AppendPUB(nil, "t", []byte("xyz")), nil, &cmd)
	if s := cmd.String(); s != "PUB t [3 bytes]" {
		t.Fatal(s)
	}
	ParseCommand([]byte("RDY 5\n"), nil, &cmd)
	if s := cmd.String(); s != "RDY 5" {
		t.Fatal(s)
	}
	if CommandKind(200).String() != "UNKNOWN" || CmdMPub.String() != "MPUB" {
		t.Fatal("kind names")
	}
}

func TestLimitsBoundaries(t *testing.T) {
	lim := Limits{MaxMsgSize: 10, MaxBodySize: 24, MaxReqTimeout: time.Second}
	var cmd Command
	ok := func(in string) {
		t.Helper()
		if n, err := ParseCommand([]byte(in), &lim, &cmd); err != nil || n != len(in) {
			t.Errorf("%q: n=%d err=%v", in, n, err)
		}
	}
	bad := func(in string) {
		t.Helper()
		if _, err := ParseCommand([]byte(in), &lim, &cmd); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	ok("PUB t\n" + be32(10) + strings.Repeat("x", 10))
	bad("PUB t\n" + be32(11))
	ok("DPUB t 1000\n" + be32(1) + "x")
	bad("DPUB t 1001\n")
	ok("IDENTIFY\n" + be32(24) + strings.Repeat("x", 24))
	bad("IDENTIFY\n" + be32(25))
	// (24-4)/5 = 4 messages at most.
	ok("MPUB t\n" + be32(24) + be32(4) + strings.Repeat(be32(1)+"x", 4))
	bad("MPUB t\n" + be32(24) + be32(5))
	// A zero MaxReqTimeout allows only 0.
	lim.MaxReqTimeout = 0
	ok("DPUB t 0\n" + be32(1) + "x")
	ok("DPUB t \n" + be32(1) + "x") // empty parses as 0, as upstream
	bad("DPUB t 1\n")
}

// TestAgainstModelRandom compares ParseCommand with the upstream model on
// random streams made of valid commands, corrupted ones and noise.
func TestAgainstModelRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lim := Limits{MaxMsgSize: 40, MaxBodySize: 120, MaxReqTimeout: 10 * time.Second}
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	for i := 0; i < iters; i++ {
		stream := randomStream(rng)
		if err := compareWithModel(stream, lim); err != nil {
			t.Fatalf("stream %q: %v", stream, err)
		}
	}
}

func randomStream(rng *rand.Rand) []byte {
	words := []string{"PUB", "MPUB", "DPUB", "SUB", "RDY", "FIN", "REQ", "TOUCH", "NOP", "CLS", "IDENTIFY", "AUTH", "XX", ""}
	topics := []string{"t", "", "a#ephemeral", "#ephemeral", "bad!", strings.Repeat("x", 64), strings.Repeat("x", 65)}
	randBody := func() []byte { return bytes.Repeat([]byte{'b'}, rng.IntN(50)) }
	var s []byte
	for range rng.IntN(5) + 1 {
		switch rng.IntN(8) {
		case 0:
			s = AppendPUB(s, topics[rng.IntN(len(topics))], randBody())
		case 1:
			var bodies [][]byte
			for range rng.IntN(6) {
				bodies = append(bodies, randBody())
			}
			s = AppendMPUB(s, topics[rng.IntN(len(topics))], bodies)
		case 2:
			s = AppendDPUB(s, topics[rng.IntN(len(topics))], time.Duration(rng.IntN(12000))*time.Millisecond, randBody())
		case 3:
			s = AppendIdentify(s, randBody())
		case 4:
			s = AppendAUTH(s, randBody())
		case 5:
			s = AppendCommand(s, words[rng.IntN(len(words))], []byte(topics[rng.IntN(len(topics))]))
		case 6:
			s = append(s, words[rng.IntN(len(words))]...)
			for range rng.IntN(3) {
				s = append(s, ' ')
				s = append(s, topics[rng.IntN(len(topics))]...)
			}
			s = append(s, "\r\n"[rng.IntN(2):]...)
			for range rng.IntN(3) {
				s = append(s, be32(int32(rng.IntN(60)-5))...)
			}
		case 7:
			s = append(s, byte(rng.IntN(256)))
		}
	}
	// Flip a byte now and then, and cut the end off now and then.
	if len(s) > 0 && rng.IntN(4) == 0 {
		s[rng.IntN(len(s))] = byte(rng.IntN(256))
	}
	if len(s) > 0 && rng.IntN(3) == 0 {
		s = s[:rng.IntN(len(s))]
	}
	return s
}
