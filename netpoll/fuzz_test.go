package netpoll

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// FuzzConnection feeds arbitrary byte streams to a running server (a real
// engine and this package's gnet server on 127.0.0.1:0, in process), each
// twice: once in one write, once cut at the points cuts gives (each byte
// one piece's length), then half-closes. It checks what upstream's
// protocol says must hold whatever the client sends:
//
//   - the server does not panic (a panic on an event loop kills the test);
//   - it answers with whole frames only, and closes the connection once the
//     input has ended (no connection is left open, or counted, after);
//   - nothing follows a fatal error (all but E_FIN_FAILED, E_REQ_FAILED and
//     E_TOUCH_FAILED), and the connection closes right after it;
//   - the answers do not depend on how the stream was cut: the responses
//     and errors of both runs are the same (message deliveries and
//     heartbeats, which depend on timing, are left out);
//   - no connection holds input beyond the bound (the largest command):
//     limits are small here (--max-body-size 4 KiB, --max-msg-size 1 KiB),
//     so a stream that passes them is refused as upstream refuses it.
//
// `make test` runs the seeds (testdata/fuzz/FuzzConnection and f.Add);
// `make fuzz` or `go test -fuzz FuzzConnection ./netpoll` explores.
func FuzzConnection(f *testing.F) {
	s := startFuzzServer(f)
	for _, seed := range fuzzSeeds() {
		f.Add(seed, []byte{1, 3, 7, 64})
	}
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		if len(stream) > 64<<10 {
			return // keeps each run short; the bounds are 4 KiB here
		}
		whole := fuzzRun(t, s, stream, nil)
		cut := fuzzRun(t, s, stream, cuts)
		if !equalStrings(whole, cut) {
			t.Fatalf("answers depend on the cuts:\n whole: %q\n cut:   %q", whole, cut)
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func startFuzzServer(f *testing.F) *Server {
	s, _ := runServer(f, engine.Options{}, Options{
		MaxBodySize: 4 << 10,
		MaxMsgSize:  1 << 10,
		EventLoops:  2,
	})
	return s
}

// nonFatal are the only errors after which upstream keeps the connection.
var nonFatal = map[string]bool{wire.CodeFinFailed: true, wire.CodeReqFailed: true, wire.CodeTouchFailed: true}

// fuzzRun sends the magic and stream (in pieces when cuts is not empty),
// half-closes, and returns the server's answers but messages and
// heartbeats, as "type:data", checking the rules FuzzConnection lists.
func fuzzRun(t *testing.T, s *Server, stream, cuts []byte) []string {
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := c.(*net.TCPConn)
	_ = tc.SetDeadline(time.Now().Add(20 * time.Second))

	// Read concurrently: a client that stops reading is another test's
	// subject (the output bound), not this one's.
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(tc)
		got <- b
	}()
	out := append([]byte(wire.MagicV2), stream...)
	for i := 0; len(out) > 0; i++ {
		k := len(out)
		if len(cuts) > 0 {
			k = min(k, int(cuts[i%len(cuts)])+1)
		}
		if _, err := tc.Write(out[:k]); err != nil {
			break // the server closed (a fatal error): what it sent tells
		}
		out = out[k:]
	}
	_ = tc.CloseWrite()
	b := <-got
	var ne net.Error
	if _, err := tc.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server did not close the connection after the input ended (received %q)", b)
	}

	r := bufio.NewReader(bytes.NewReader(b))
	var frames []string
	fatal := ""
	for {
		ft, data, err := wire.ReadFrame(r, nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not whole frames: %v in %q", err, b)
		}
		if fatal != "" {
			t.Fatalf("frame %d %q after the fatal error %q", ft, data, fatal)
		}
		switch ft {
		case wire.FrameTypeMessage:
			continue
		case wire.FrameTypeResponse:
			if string(data) == "_heartbeat_" {
				continue
			}
		case wire.FrameTypeError:
			code, _, _ := strings.Cut(string(data), " ")
			if !nonFatal[code] {
				fatal = string(data)
			}
		default:
			t.Fatalf("frame type %d", ft)
		}
		frames = append(frames, fmt.Sprintf("%d:%s", ft, data))
	}
	// OnClose runs before gnet closes the socket, so the connection is
	// forgotten by now; allow the loop a moment to return.
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Clients()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d clients still counted after their input ended", len(s.Clients()))
		}
		time.Sleep(time.Millisecond)
	}
	return frames
}

// fuzzSeeds are streams of real commands, right and wrong, and cut short.
func fuzzSeeds() [][]byte {
	body := func(line string, b []byte) []byte {
		out := append([]byte(line+"\n"), binary.BigEndian.AppendUint32(nil, uint32(len(b)))...)
		return append(out, b...)
	}
	mpub := func(topic string, msgs ...string) []byte {
		var b []byte
		b = binary.BigEndian.AppendUint32(b, uint32(len(msgs)))
		for _, m := range msgs {
			b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
			b = append(b, m...)
		}
		return body("MPUB "+topic, b)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		{},
		[]byte("NOP\n"),
		body("PUB fz", []byte("hello")),
		cat(body("PUB fz", []byte("a")), body("PUB fz", []byte("b")), []byte("NOP\n")),
		cat(mpub("fz", "one", "two", "three"), body("DPUB fz 100", []byte("later"))),
		cat(body("IDENTIFY", []byte(`{"client_id":"c","feature_negotiation":true,"heartbeat_interval":1000}`)),
			[]byte("SUB fz ch\nRDY 10\n"), body("PUB fz", []byte("x")), []byte("FIN 0000000000000000\nREQ 0000000000000000 0\nTOUCH 0000000000000000\nCLS\n")),
		[]byte("SUB fz ch#ephemeral\nRDY 2501\n"),
		body("IDENTIFY", []byte(`{"heartbeat_interval":60001}`)),
		body("IDENTIFY", []byte("not json")),
		body("AUTH", []byte("secret")),
		[]byte("PUB fz\n\x00\x00\x10\x00" + strings.Repeat("x", 100)),
		[]byte("MPUB fz\n\x00\x00\x00\x64\x00\x00\x00\x0a\x00\x00\x03\xe8"),
		[]byte("PUB bad*topic\n"),
		[]byte("BOGUS\n"),
		[]byte(strings.Repeat("x", 20<<10)),
		[]byte("PUB fz\n\x00\x00"),
		[]byte("PUB fz"),
		body("PUB fz", nil),
		body("IDENTIFY", make([]byte, 5<<10)),
	}
}
