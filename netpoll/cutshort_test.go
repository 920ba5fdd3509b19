package netpoll

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/snappy"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// Commands cut short: a client sends part of a command, then ends its
// input (shuts down its writing side, or closes). Upstream nsqd v1.3.0
// answers a command whose line is complete with the fatal error its read
// of the body size or body failed with, then closes; when the line itself
// is incomplete it closes without a word. The expected answers, and
// whether the topic exists afterwards, are what upstream's binary did with
// the same bytes.

func be32(n int) string { return string(binary.BigEndian.AppendUint32(nil, uint32(n))) }

// errFrame is the raw error frame (size, frame type 1, text).
func errFrame(text string) string { return be32(4+len(text)) + be32(int(wire.FrameTypeError)) + text }

// respFrame is the raw response frame (size, frame type 0, data).
func respFrame(data string) string {
	return be32(4+len(data)) + be32(int(wire.FrameTypeResponse)) + data
}

var okFrame = respFrame("OK")

type cutCase struct {
	name string
	in   string // sent after the magic; TOPIC stands for the case's topic
	// want is the raw answer before the connection closes ("" for none);
	// a text without a frame header is an error frame's text.
	want    string
	topic   bool // the topic exists afterwards
	noMagic bool // in is sent instead of the magic
}

func (tc cutCase) wantBytes() string {
	if tc.want == "" || strings.HasPrefix(tc.want, "\x00") {
		return tc.want
	}
	return errFrame(tc.want)
}

var cutCases = []cutCase{
	{name: "magic cut", in: "  V", noMagic: true},
	{name: "PUB line cut", in: "PUB TOPIC"},
	{name: "PUB no size", in: "PUB TOPIC\n", want: "E_BAD_MESSAGE PUB failed to read message body size"},
	{name: "PUB half size", in: "PUB TOPIC\n\x00\x00", want: "E_BAD_MESSAGE PUB failed to read message body size"},
	{name: "PUB no body", in: "PUB TOPIC\n" + be32(5), want: "E_BAD_MESSAGE PUB failed to read message body"},
	{name: "PUB body cut", in: "PUB TOPIC\n" + be32(5) + "ab", want: "E_BAD_MESSAGE PUB failed to read message body"},
	{name: "PUB after a whole PUB", in: "PUB TOPIC\n" + be32(1) + "x" + "PUB TOPIC\n" + be32(3) + "y",
		want: okFrame + errFrame("E_BAD_MESSAGE PUB failed to read message body"), topic: true},
	{name: "DPUB line cut in the defer time", in: "DPUB TOPIC 10"},
	{name: "DPUB size cut", in: "DPUB TOPIC 10\n\x00\x00\x00", want: "E_BAD_MESSAGE DPUB failed to read message body size"},
	{name: "DPUB body cut", in: "DPUB TOPIC 10\n" + be32(5) + "abcd", want: "E_BAD_MESSAGE DPUB failed to read message body"},
	// Upstream creates an MPUB's topic before it reads the body.
	{name: "MPUB line cut", in: "MPUB TOPIC"},
	{name: "MPUB half size", in: "MPUB TOPIC\n\x00\x00", want: "E_BAD_BODY MPUB failed to read body size", topic: true},
	{name: "MPUB count cut", in: "MPUB TOPIC\n" + be32(20) + "\x00", want: "E_BAD_BODY MPUB failed to read message count", topic: true},
	{name: "MPUB message 0 size cut", in: "MPUB TOPIC\n" + be32(20) + be32(2) + "\x00",
		want: "E_BAD_MESSAGE MPUB failed to read message(0) body size", topic: true},
	{name: "MPUB message 0 body cut", in: "MPUB TOPIC\n" + be32(20) + be32(2) + be32(3) + "x",
		want: "E_BAD_MESSAGE MPUB failed to read message body", topic: true},
	{name: "MPUB message 1 size cut", in: "MPUB TOPIC\n" + be32(20) + be32(2) + be32(1) + "x" + "\x00\x00",
		want: "E_BAD_MESSAGE MPUB failed to read message(1) body size", topic: true},
	{name: "MPUB message 2 body cut", in: "MPUB TOPIC\n" + be32(30) + be32(3) + be32(1) + "x" + be32(1) + "y" + be32(4) + "zz",
		want: "E_BAD_MESSAGE MPUB failed to read message body", topic: true},
	{name: "MPUB bad size", in: "MPUB TOPIC\n" + be32(0), want: "E_BAD_BODY MPUB invalid body size 0", topic: true},
	{name: "IDENTIFY line cut", in: "IDENTIFY"},
	{name: "IDENTIFY size cut", in: "IDENTIFY\n\x00", want: "E_BAD_BODY IDENTIFY failed to read body size"},
	{name: "IDENTIFY body cut", in: "IDENTIFY\n" + be32(10) + "{}", want: "E_BAD_BODY IDENTIFY failed to read body"},
	// Without --auth-http-address, upstream reads AUTH's body before it
	// says "AUTH disabled".
	{name: "AUTH size cut", in: "AUTH\n\x00\x00\x00", want: "E_BAD_BODY AUTH failed to read body size"},
	{name: "AUTH body cut", in: "AUTH\n" + be32(10) + "sec", want: "E_BAD_BODY AUTH failed to read body"},
	{name: "AUTH with a parameter", in: "AUTH x\n" + be32(10), want: "E_INVALID AUTH invalid number of parameters"},
}

// With --auth-http-address (the auth server is never asked here).
var cutCasesAuth = []cutCase{
	{name: "PUB half size", in: "PUB TOPIC\n\x00\x00", want: "E_BAD_MESSAGE PUB failed to read message body size"},
	{name: "DPUB body cut", in: "DPUB TOPIC 10\n" + be32(5) + "abcd", want: "E_BAD_MESSAGE DPUB failed to read message body"},
	// MPUB checks auth before its body, and before creating the topic.
	{name: "MPUB half size", in: "MPUB TOPIC\n\x00\x00", want: "E_AUTH_FIRST AUTH required before MPUB"},
	{name: "MPUB message 1 size cut", in: "MPUB TOPIC\n" + be32(20) + be32(2) + be32(1) + "x" + "\x00\x00",
		want: "E_AUTH_FIRST AUTH required before MPUB"},
	{name: "AUTH size cut", in: "AUTH\n\x00\x00\x00", want: "E_BAD_BODY AUTH failed to read body size"},
	{name: "AUTH body cut", in: "AUTH\n" + be32(10) + "sec", want: "E_BAD_BODY AUTH failed to read body"},
}

func cutCaseIndex(t *testing.T, name string) int {
	for i, tc := range cutCases {
		if tc.name == name {
			return i
		}
	}
	t.Fatalf("no case %q", name)
	return -1
}

func noClients(t *testing.T, s *Server) {
	t.Helper()
	waitFor(t, "the server to forget its clients", func() bool { return len(s.Clients()) == 0 })
}

// send dials s and writes a case's bytes (with the magic unless noMagic).
func (tc cutCase) send(t *testing.T, s *Server, topic string) *net.TCPConn {
	t.Helper()
	nc := dialRaw(t, s)
	in := wire.MagicV2 + tc.in
	if tc.noMagic {
		in = tc.in
	}
	if _, err := nc.Write([]byte(strings.ReplaceAll(in, "TOPIC", topic))); err != nil {
		t.Fatal(err)
	}
	return nc
}

func checkTopic(t *testing.T, eng *engine.Engine, topic string, want bool) {
	t.Helper()
	if _, ok := eng.ExistingTopic(topic); ok != want {
		t.Errorf("topic %s exists: %v, want %v", topic, ok, want)
	}
}

// runCutCases sends each case on a connection of its own (topic cut<i>),
// shuts down the writing side, calls halfClosed (if any), then checks
// what comes back before the close, the topic, and that the server
// forgets the client.
func runCutCases(t *testing.T, s *Server, eng *engine.Engine, cases []cutCase, halfClosed func(t *testing.T)) {
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := fmt.Sprintf("cut%d", i)
			nc := tc.send(t, s, topic)
			if err := nc.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if halfClosed != nil {
				halfClosed(t)
			}
			got, err := io.ReadAll(nc)
			if err != nil {
				t.Fatalf("read: %v (after %q)", err, got)
			}
			if string(got) != tc.wantBytes() {
				t.Errorf("got  %q\nwant %q", got, tc.wantBytes())
			}
			checkTopic(t, eng, topic, tc.topic)
			noClients(t, s)
		})
	}
}

// TestCutShort: a client that shuts down its writing side in the middle of
// a command gets upstream's error frame before the connection closes.
func TestCutShort(t *testing.T) {
	s, eng := startServer(t)
	runCutCases(t, s, eng, cutCases, nil)
}

// TestCutShortAuth: the same with AUTH enabled; an MPUB fails its auth
// check before its body is read.
func TestCutShortAuth(t *testing.T) {
	s, eng := startServerWith(t, Options{AuthHTTPAddresses: []string{"127.0.0.1:1"}})
	runCutCases(t, s, eng, cutCasesAuth, nil)
}

// TestCutShortThenClose: a client that closes outright (the error frame
// meets a closed socket, or a reset) costs nothing: each connection is
// forgotten and the server serves the next one.
func TestCutShortThenClose(t *testing.T) {
	s, eng := startServerWith(t, Options{EventLoops: 1})
	for round := 0; round < 3; round++ {
		for i, tc := range cutCases {
			nc := tc.send(t, s, fmt.Sprintf("close%d", i))
			if round == 2 {
				_ = nc.SetLinger(0) // a reset
			}
			_ = nc.Close()
		}
	}
	// One loop takes connections in the order they came: once this one
	// is answered, every one before it has been opened.
	c, r := dial(t, s)
	_, _ = c.Write([]byte("PUB after\n" + be32(2) + "ok"))
	if ft, data := frame(t, r); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("PUB: %d %q", ft, data)
	}
	_ = c.Close()
	noClients(t, s)
	checkTopic(t, eng, fmt.Sprintf("close%d", cutCaseIndex(t, "PUB body cut")), false)
	checkTopic(t, eng, fmt.Sprintf("close%d", cutCaseIndex(t, "MPUB half size")), true)
}

// clientStream is a client's side of an upgraded connection.
type clientStream struct {
	w          flushWriter
	r          io.Reader
	closeWrite func() error
}

// upgrade negotiates kind ("tls", "snappy" or "deflate") on a fresh
// connection and returns its streams once the upgrade's OK is in.
func upgrade(t *testing.T, s *Server, kind string) clientStream {
	t.Helper()
	nc := dialRaw(t, s)
	ident := map[string]string{
		"tls":     `{"feature_negotiation":true,"tls_v1":true}`,
		"snappy":  `{"feature_negotiation":true,"snappy":true}`,
		"deflate": `{"feature_negotiation":true,"deflate":true,"deflate_level":1}`,
	}[kind]
	if _, err := nc.Write([]byte(wire.MagicV2 + "IDENTIFY\n" + be32(len(ident)) + ident)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	if ft, data := frame(t, br); ft != wire.FrameTypeResponse || data[0] != '{' {
		t.Fatalf("IDENTIFY: %d %q", ft, data)
	}
	var cs clientStream
	switch kind {
	case "tls":
		// The server sends nothing after the IDENTIFY answer until the
		// handshake, so br holds nothing the TLS client would miss.
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
		cs = clientStream{w: plainWriter{tc}, r: tc, closeWrite: func() error {
			if err := tc.CloseWrite(); err != nil { // close_notify
				return err
			}
			return nc.CloseWrite()
		}}
	case "snappy":
		cs = clientStream{w: snappy.NewBufferedWriter(nc), r: snappy.NewReader(br), closeWrite: nc.CloseWrite}
	case "deflate":
		fw, _ := flate.NewWriter(nc, 1)
		cs = clientStream{w: fw, r: flate.NewReader(br), closeWrite: nc.CloseWrite}
	}
	cs.r = bufio.NewReader(cs.r)
	if ft, data := frame(t, cs.r.(*bufio.Reader)); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("%s upgrade: %d %q", kind, ft, data)
	}
	return cs
}

// TestCutShortUpgraded: connections served by goroutines (TLS, snappy,
// deflate) answer a command cut short as well, through their stream. The
// deflate stream ends in the middle of a block (io.ErrUnexpectedEOF on
// the server), TLS with close_notify.
func TestCutShortUpgraded(t *testing.T) {
	var cases []cutCase
	for _, name := range []string{"PUB line cut", "PUB body cut", "MPUB message 1 size cut", "AUTH size cut"} {
		cases = append(cases, cutCases[cutCaseIndex(t, name)])
	}
	for _, kind := range []string{"tls", "snappy", "deflate"} {
		t.Run(kind, func(t *testing.T) {
			s, eng := startServerWith(t, Options{TLSConfig: selfSignedTLS(t), SnappyEnabled: true, DeflateEnabled: true})
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					topic := fmt.Sprintf("up%d", i)
					cs := upgrade(t, s, kind)
					if _, err := cs.w.Write([]byte(strings.ReplaceAll(tc.in, "TOPIC", topic))); err != nil {
						t.Fatal(err)
					}
					if err := cs.w.Flush(); err != nil {
						t.Fatal(err)
					}
					if err := cs.closeWrite(); err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(cs.r)
					if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) { // deflate: no final block
						t.Fatalf("read: %v (after %q)", err, got)
					}
					if string(got) != tc.wantBytes() {
						t.Errorf("got  %q\nwant %q", got, tc.wantBytes())
					}
					checkTopic(t, eng, topic, tc.topic)
					noClients(t, s)
				})
			}
		})
	}
}

// selfSignedTLS is a server configuration with a throwaway certificate:
// httptest's, for 127.0.0.1.
func selfSignedTLS(t *testing.T) *tls.Config {
	hs := httptest.NewUnstartedServer(nil)
	hs.StartTLS()
	hs.Close()
	return &tls.Config{Certificates: hs.TLS.Certificates}
}

// TestCutShortAuthPending: the input ends while the auth server is still
// being asked about an AUTH the client pipelined commands behind. As
// upstream, the AUTH is answered once the auth server has, then each
// command received, then the one cut short.
func TestCutShortAuthPending(t *testing.T) {
	gate := make(chan struct{})
	asked := make(chan struct{}, 16)
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, `{"ttl":3600,"identity":"id","identity_url":"u",`+
			`"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish","subscribe"]}]}`)
	}))
	t.Cleanup(as.Close)
	s, eng := startServerWith(t, Options{AuthHTTPAddresses: []string{as.Listener.Addr().String()}})
	authed := respFrame(`{"identity":"id","identity_url":"u","permission_count":1}`)
	auth := "AUTH\n" + be32(3) + "sec"
	cases := []cutCase{
		{name: "AUTH alone", in: auth, want: authed},
		{name: "AUTH, PUB, PUB cut", in: auth + "PUB TOPIC\n" + be32(1) + "x" + "PUB TOPIC\n" + be32(3) + "y",
			want: authed + okFrame + errFrame("E_BAD_MESSAGE PUB failed to read message body"), topic: true},
		{name: "AUTH, MPUB message 1 size cut", in: auth + "MPUB TOPIC\n" + be32(20) + be32(2) + be32(1) + "x",
			want: authed + errFrame("E_BAD_MESSAGE MPUB failed to read message(1) body size"), topic: true},
		{name: "AUTH, SUB, line cut", in: auth + "SUB TOPIC ch\nRDY", want: authed + okFrame, topic: true},
	}
	// The server has met the end of the input when it hands the
	// connection to a goroutine; only then may the auth server answer.
	handedOff := func(t *testing.T) {
		waitFor(t, "the hand-off", func() bool {
			cs := s.Clients()
			return len(cs) == 1 && cs[0].up.Load() != nil
		})
		gate <- struct{}{}
	}
	runCutCases(t, s, eng, cases, handedOff)
	t.Run("closed outright", func(t *testing.T) {
		for len(asked) > 0 {
			<-asked
		}
		nc := cases[1].send(t, s, "pending-closed")
		<-asked             // the server has read the AUTH
		_ = nc.SetLinger(0) // a reset: the answers meet a dead socket
		_ = nc.Close()
		handedOff(t)
		noClients(t, s)
	})
	tp, _ := eng.ExistingTopic("cut3")
	ch, ok := tp.ExistingChannel("ch")
	if !ok || len(ch.Stats(true).Consumers) != 0 {
		t.Errorf("channel after the subscriber left: %v", ok)
	}
}

// TestCutShortReadTimeout: a client silent for two heartbeat intervals in
// the middle of a command gets the same error as at the end of its input
// (upstream's read deadline fails the read of the body), on the event
// loop and on the goroutine path; one silent in the middle of a line gets
// nothing. Each takes two to three seconds (the shortest heartbeat
// interval is one second).
func TestCutShortReadTimeout(t *testing.T) {
	s, _ := startServerWith(t, Options{SnappyEnabled: true})
	cases := []struct {
		name, ident, in, want string
	}{
		{"PUB size cut", `{"heartbeat_interval":1000}`, "PUB t\n\x00",
			errFrame("E_BAD_MESSAGE PUB failed to read message body size")},
		{"line cut", `{"heartbeat_interval":1000}`, "PUB t", ""},
		{"snappy, MPUB message 0 body cut", `{"heartbeat_interval":1000,"feature_negotiation":true,"snappy":true}`,
			"MPUB t\n" + be32(20) + be32(2) + be32(3) + "x",
			errFrame("E_BAD_MESSAGE MPUB failed to read message body")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nc := dialRaw(t, s)
			if _, err := nc.Write([]byte(wire.MagicV2 + "IDENTIFY\n" + be32(len(tc.ident)) + tc.ident)); err != nil {
				t.Fatal(err)
			}
			var r io.Reader = bufio.NewReader(nc)
			var w flushWriter = plainWriter{nc}
			if ft, data := frame(t, r.(*bufio.Reader)); ft != wire.FrameTypeResponse {
				t.Fatalf("IDENTIFY: %d %q", ft, data)
			}
			if strings.Contains(tc.ident, "snappy") {
				r, w = bufio.NewReader(snappy.NewReader(r)), snappy.NewBufferedWriter(nc)
				if ft, data := frame(t, r.(*bufio.Reader)); ft != wire.FrameTypeResponse || string(data) != "OK" {
					t.Fatalf("snappy: %d %q", ft, data)
				}
			}
			if _, err := w.Write([]byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("read: %v (after %q)", err, got)
			}
			hb := respFrame("_heartbeat_")
			for strings.HasPrefix(string(got), hb) {
				got = got[len(hb):]
			}
			if string(got) != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
