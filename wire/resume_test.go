package wire

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzParseCommandResume feeds a stream to ParseCommandResume a few bytes
// more at a time, as a connection receives it, and checks every answer
// against ParseCommand on the same bytes: resuming an MPUB's walk changes
// nothing but the work done.
func FuzzParseCommandResume(f *testing.F) {
	mpub := func(declared int, sizes ...int) []byte {
		b := []byte("MPUB t\n")
		b = binary.BigEndian.AppendUint32(b, uint32(declared))
		b = binary.BigEndian.AppendUint32(b, uint32(len(sizes)))
		for _, n := range sizes {
			b = binary.BigEndian.AppendUint32(b, uint32(n))
			b = append(b, bytes.Repeat([]byte("m"), max(n, 0))...)
		}
		return b
	}
	f.Add(mpub(4+3*6, 2, 2, 2), []byte{1, 2, 3})
	f.Add(append(mpub(100, 1, 1, 1, 1, 1, 1, 1, 1), "NOP\n"...), []byte{0, 4, 1})
	f.Add(mpub(100, 1, 1, 2000, 1), []byte{5})           // a message too big, after some
	f.Add(mpub(100, 500, 500, 500, 500, 500), []byte{7}) // past the body limit
	f.Add(append(mpub(50, 3, 3), mpub(50, 4, 4, 4)...), []byte{2, 9})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		lim := Limits{MaxMsgSize: 1024, MaxBodySize: 2048, MaxReqTimeout: DefaultLimits().MaxReqTimeout}
		var r Resume
		var got, want Command
		start, end := 0, 0
		for i := 0; start < len(stream); i++ {
			step := len(stream)
			if len(cuts) > 0 {
				step = int(cuts[i%len(cuts)]) + 1
			}
			if end == len(stream) && i > 0 {
				return // need more, and no more comes
			}
			end = min(end+step, len(stream))
			buf := stream[start:end]
			n, err := ParseCommandResume(buf, &lim, &got, &r)
			wn, werr := ParseCommand(buf, &lim, &want)
			if n != wn || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("at [%d:%d]: resumed %d %v, from scratch %d %v", start, end, n, err, wn, werr)
			}
			if err != nil {
				return
			}
			if n > 0 {
				if got.Kind != want.Kind || !bytes.Equal(got.Body, want.Body) || got.NumMessages != want.NumMessages {
					t.Fatalf("at [%d:%d]: resumed %v %q %d, from scratch %v %q %d", start, end,
						got.Kind, got.Body, got.NumMessages, want.Kind, want.Body, want.NumMessages)
				}
				if r != (Resume{}) {
					t.Fatalf("resume state left after a whole command: %+v", r)
				}
				start += n
				end = start
			}
		}
	})
}
