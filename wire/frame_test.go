package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
)

// upstreamFrame is what internal/protocol/protocol.go:37-55
// SendFramedResponse writes: size (of type+data), type, data.
func upstreamFrame(frameType int32, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data))+4)
	binary.Write(&b, binary.BigEndian, uint32(frameType))
	b.Write(data)
	return b.Bytes()
}

func TestFrameWriters(t *testing.T) {
	prefix := []byte("keep")
	check := func(name string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, append(append([]byte(nil), prefix...), want...)) {
			t.Errorf("%s: got %q\nwant %q", name, got, want)
		}
	}
	cp := func() []byte { return append([]byte(nil), prefix...) }
	check("frame", AppendFrame(cp(), 7, []byte("xyz")), upstreamFrame(7, []byte("xyz")))
	check("empty", AppendFrame(cp(), FrameTypeResponse, nil), upstreamFrame(0, nil))
	check("response", AppendResponse(cp(), []byte(`{"a":1}`)), upstreamFrame(0, []byte(`{"a":1}`)))
	// protocol_v2.go:27-28, 758
	check("OK", AppendOK(cp()), upstreamFrame(0, []byte("OK")))
	check("heartbeat", AppendHeartbeat(cp()), upstreamFrame(0, []byte("_heartbeat_")))
	check("close wait", AppendCloseWait(cp()), upstreamFrame(0, []byte("CLOSE_WAIT")))
	e := ErrRDYOutOfRange(3, 2)
	check("error", AppendErrorFrame(cp(), e), upstreamFrame(1, []byte(e.Error())))

	// nsqd/message.go:43-69 Message.WriteTo, framed by SendMessage
	// (protocol_v2.go:124-141).
	id := IDFromUint64(0x1234)
	var want bytes.Buffer
	binary.Write(&want, binary.BigEndian, int64(-5))
	binary.Write(&want, binary.BigEndian, uint16(65535))
	want.Write(id[:])
	want.WriteString("body")
	check("message", AppendMessage(cp(), id, -5, 65535, []byte("body")), upstreamFrame(2, want.Bytes()))
	check("message data", AppendMessageData(cp(), id, -5, 65535, []byte("body")), want.Bytes())

	m, ok := ParseMessage(want.Bytes())
	if !ok || m.ID != id || m.Timestamp != -5 || m.Attempts != 65535 || string(m.Body) != "body" {
		t.Errorf("ParseMessage: %+v %v", m, ok)
	}
	m, ok = ParseMessage(AppendMessageData(nil, id, math.MaxInt64, 1, nil))
	if !ok || len(m.Body) != 0 || m.Timestamp != math.MaxInt64 {
		t.Errorf("empty body: %+v %v", m, ok)
	}
	if _, ok := ParseMessage(make([]byte, MessageHeaderLen-1)); ok {
		t.Error("short message accepted")
	}
}

func TestParseAndReadFrame(t *testing.T) {
	var stream []byte
	stream = AppendOK(stream)
	stream = AppendMessage(stream, IDFromUint64(1), 10, 1, []byte("m"))
	stream = AppendErrorFrame(stream, ErrInvalidMessageID())
	stream = AppendFrame(stream, FrameTypeResponse, nil)

	type frame struct {
		typ  int32
		data string
	}
	want := []frame{{0, "OK"}, {2, string(AppendMessageData(nil, IDFromUint64(1), 10, 1, []byte("m")))}, {1, "E_INVALID invalid message ID"}, {0, ""}}

	// ParseFrame: every prefix short of a frame needs more.
	var got []frame
	for pos := 0; pos < len(stream); {
		end := pos
		for {
			typ, data, n, err := ParseFrame(stream[pos:end])
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				if end != pos+n {
					t.Fatalf("frame complete at %d, parsed %d", end-pos, n)
				}
				got = append(got, frame{typ, string(data)})
				pos += n
				break
			}
			end++
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: %v want %v", i, got[i], want[i])
		}
	}

	// ReadFrame over a reader that returns one byte at a time.
	r := io.MultiReader(bytes.NewReader(stream))
	buf := make([]byte, 0, 4)
	for i := range want {
		typ, data, err := ReadFrame(oneByteReader{r}, buf)
		if err != nil || (frame{typ, string(data)}) != want[i] {
			t.Fatalf("ReadFrame %d: %d %q %v", i, typ, data, err)
		}
	}
	if _, _, err := ReadFrame(r, buf); err != io.EOF {
		t.Fatalf("at end: %v", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader(stream[:6]), buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	if _, _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 3, 0, 0, 0}), buf); err != ErrShortFrame {
		t.Fatalf("short: %v", err)
	}
	if _, _, _, err := ParseFrame([]byte{0, 0, 0, 0}); err != ErrShortFrame {
		t.Fatalf("short: %v", err)
	}
	fe := FrameError([]byte("E_FIN_FAILED FIN x failed y"))
	if fe.Code != CodeFinFailed || fe.Desc != "FIN x failed y" {
		t.Fatalf("%+v", fe)
	}
	if fe := FrameError([]byte("E_X")); fe.Code != "E_X" || fe.Desc != "" {
		t.Fatalf("%+v", fe)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestMagic(t *testing.T) {
	if MagicV2 != "  V2" || len(MagicV2) != 4 {
		t.Fatal(MagicV2)
	}
}
