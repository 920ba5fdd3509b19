package fake

import (
	"bufio"
	"net"
	"testing"

	"github.com/nsqfast/nsq/wire"
)

// TestProtocol walks the commands the fake answers, as a raw client.
func TestProtocol(t *testing.T) {
	s, err := Start(Options{Generate: 32})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	var out []byte
	out = append(out, wire.MagicV2...)
	out = wire.AppendIdentify(out, []byte(`{"feature_negotiation":true}`))
	out = wire.AppendPUB(out, "t", []byte("hello"))
	out = wire.AppendMPUB(out, "t", [][]byte{[]byte("a"), []byte("b")})
	out = wire.AppendSUB(out, "t", "c")
	out = wire.AppendRDY(out, 2)
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	next := func() (int32, []byte) {
		t.Helper()
		ft, data, err := wire.ReadFrame(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ft, data
	}
	if ft, data := next(); ft != wire.FrameTypeResponse || data[0] != '{' {
		t.Fatalf("IDENTIFY answer %d %q", ft, data)
	}
	for range 3 { // PUB, MPUB, SUB
		if ft, data := next(); ft != wire.FrameTypeResponse || string(data) != "OK" {
			t.Fatalf("answer %d %q", ft, data)
		}
	}
	var ids []wire.MessageID
	for range 2 {
		ft, data := next()
		m, ok := wire.ParseMessage(data)
		if ft != wire.FrameTypeMessage || !ok || len(m.Body) != 32 {
			t.Fatalf("message %d %q", ft, data)
		}
		ids = append(ids, m.ID)
	}
	if s.Published.Load() != 3 {
		t.Fatalf("published %d", s.Published.Load())
	}
	// FIN frees a slot: one more message arrives.
	if _, err := c.Write(wire.AppendFIN(nil, ids[0])); err != nil {
		t.Fatal(err)
	}
	if ft, _ := next(); ft != wire.FrameTypeMessage {
		t.Fatalf("no message after FIN: %d", ft)
	}
	if _, err := c.Write(append(wire.AppendCLS(nil), "BOGUS\n"...)); err != nil {
		t.Fatal(err)
	}
	for {
		ft, data := next()
		if ft == wire.FrameTypeMessage {
			continue
		}
		if string(data) != wire.ResponseCloseWait {
			t.Fatalf("CLS answer %q", data)
		}
		break
	}
	for {
		ft, data := next()
		if ft == wire.FrameTypeError {
			if string(data) != "E_INVALID invalid command BOGUS" {
				t.Fatalf("error %q", data)
			}
			break
		}
	}
}
