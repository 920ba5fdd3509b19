package bench

import (
	"encoding/binary"
	"time"
)

// epoch is the origin of Now. Publish timestamps are taken and compared in
// the same process, so a monotonic clock is all they need: no wall clock,
// no clock skew.
var epoch = time.Now()

// Now returns monotonic nanoseconds since the process started (a few tens
// of nanoseconds: time.Now reads the vDSO clock).
func Now() int64 { return int64(time.Since(epoch)) }

// StampLen is the size of the header a body carries when it is at least
// that long: the publish time (Now, 8 bytes big-endian) and a sequence
// number (8 bytes).
const StampLen = 16

// NewBody returns a body of size bytes, filled with a repeating printable
// pattern after the stamp.
func NewBody(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// Stamp writes the publish time and sequence number into body, if it is
// long enough to carry them.
func Stamp(body []byte, now int64, seq uint64) {
	if len(body) >= StampLen {
		binary.BigEndian.PutUint64(body, uint64(now))
		binary.BigEndian.PutUint64(body[8:], seq)
	}
}

// ReadStamp returns what Stamp wrote; ok is false for a body too short to
// carry a stamp.
func ReadStamp(body []byte) (published int64, seq uint64, ok bool) {
	if len(body) < StampLen {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(body)), binary.BigEndian.Uint64(body[8:]), true
}
