package netpoll

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

// startServer runs the TCP server over a fresh engine on 127.0.0.1:0.
func startServer(t *testing.T) (*Server, *engine.Engine) {
	return startServerWith(t, Options{})
}

// startServerWith is startServer with options (Address is set).
func startServerWith(t *testing.T, opts Options) (*Server, *engine.Engine) {
	t.Helper()
	return runServer(t, engine.Options{}, opts)
}

// runServer runs the TCP server on 127.0.0.1:0 over a fresh engine (eo
// with a temporary data path) until the test, benchmark or fuzz target
// ends.
func runServer(tb testing.TB, eo engine.Options, opts Options) (*Server, *engine.Engine) {
	tb.Helper()
	eo.DataPath = tb.TempDir()
	eng, err := engine.New(eo)
	if err != nil {
		tb.Fatal(err)
	}
	opts.Address = "127.0.0.1:0"
	s := New(opts, eng)
	if err := s.Start(); err != nil {
		_ = eng.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		_ = eng.Close()
	})
	return s, eng
}

// dialRaw connects to s, with a 10s deadline; the connection is closed
// when the test ends.
func dialRaw(t *testing.T, s *Server) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// dial connects to s and sends the magic.
func dial(t *testing.T, s *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialRaw(t, s)
	if _, err := c.Write([]byte(wire.MagicV2)); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// waitFor polls cond until it holds, or fails the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func frame(t *testing.T, r *bufio.Reader) (int32, []byte) {
	t.Helper()
	ft, data, err := wire.ReadFrame(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ft, data
}

// TestPublishSubscribeFinish drives the server with raw frames: a PUB is
// answered OK, a subscriber with RDY receives it, FIN empties the channel,
// and both clients are listed with their counters.
func TestPublishSubscribeFinish(t *testing.T) {
	s, eng := startServer(t)
	sub, sr := dial(t, s)
	if _, err := sub.Write([]byte("SUB np ch\n")); err != nil {
		t.Fatal(err)
	}
	if ft, data := frame(t, sr); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("SUB: %d %q", ft, data)
	}
	_, _ = sub.Write([]byte("RDY 1\n"))

	pub, pr := dial(t, s)
	cmd := binary.BigEndian.AppendUint32([]byte("PUB np\n"), 5)
	_, _ = pub.Write(append(cmd, "hello"...))
	if ft, data := frame(t, pr); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("PUB: %d %q", ft, data)
	}
	ft, data := frame(t, sr)
	m, ok := wire.ParseMessage(data)
	if ft != wire.FrameTypeMessage || !ok || string(m.Body) != "hello" || m.Attempts != 1 {
		t.Fatalf("message: %d %q", ft, data)
	}
	_, _ = sub.Write([]byte("FIN " + string(m.ID[:]) + "\n"))
	tp, _ := eng.ExistingTopic("np")
	ch, _ := tp.ExistingChannel("ch")
	waitFor(t, "the FIN", func() bool {
		st := ch.Stats(true)
		return st.InFlightCount == 0 && len(st.Consumers) == 1 && st.Consumers[0].FinishCount == 1
	})
	var subscribed, published int
	for _, c := range s.Clients() {
		in := c.Info()
		if in.State == StateSubscribed && in.Topic == "np" && in.Channel == "ch" {
			subscribed++
		}
		if len(in.PubCounts) == 1 && in.PubCounts[0] == (PubCount{Topic: "np", Count: 1}) {
			published++
		}
	}
	if subscribed != 1 || published != 1 {
		t.Fatalf("clients: %d subscribed, %d published", subscribed, published)
	}
}

// TestBadMagic: anything but "  V2" gets E_BAD_PROTOCOL and the door.
func TestBadMagic(t *testing.T) {
	s, _ := startServer(t)
	c := dialRaw(t, s)
	_, _ = c.Write([]byte("  V1"))
	r := bufio.NewReader(c)
	if ft, data := frame(t, r); ft != wire.FrameTypeError || string(data) != "E_BAD_PROTOCOL" {
		t.Fatalf("got %d %q", ft, data)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("connection left open")
	}
}

// TestLargePubInPieces: a PUB larger than a socket read, sent in pieces,
// is answered once whole and its body arrives intact (the connection waits
// for the body's last byte without parsing at every read).
func TestLargePubInPieces(t *testing.T) {
	s, _ := startServer(t)
	sub, sr := dial(t, s)
	if _, err := sub.Write([]byte("SUB big c\nRDY 1\n")); err != nil {
		t.Fatal(err)
	}
	if ft, data := frame(t, sr); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("SUB: %d %q", ft, data)
	}
	body := make([]byte, 900<<10)
	for i := range body {
		body[i] = byte(i * 7)
	}
	cmd := binary.BigEndian.AppendUint32([]byte("PUB big\n"), uint32(len(body)))
	cmd = append(cmd, body...)
	pub, pr := dial(t, s)
	for len(cmd) > 0 {
		k := min(len(cmd), 70001)
		if _, err := pub.Write(cmd[:k]); err != nil {
			t.Fatal(err)
		}
		cmd = cmd[k:]
	}
	if ft, data := frame(t, pr); ft != wire.FrameTypeResponse || string(data) != "OK" {
		t.Fatalf("PUB: %d %q", ft, data)
	}
	ft, data := frame(t, sr)
	m, ok := wire.ParseMessage(data)
	if ft != wire.FrameTypeMessage || !ok || !bytes.Equal(m.Body, body) {
		t.Fatalf("delivered frame %d, %d bytes, intact %v", ft, len(m.Body), ok && bytes.Equal(m.Body, body))
	}
}
