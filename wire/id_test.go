package wire

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"
)

func TestIDs(t *testing.T) {
	for _, seq := range []uint64{0, 1, 0xf, 0x10, 0xdeadbeef, math.MaxUint64, 1 << 63} {
		id := IDFromUint64(seq)
		// Same shape as upstream's guid.Hex (nsqd/guid.go:90-105): the 8
		// big-endian bytes, hex-encoded.
		var raw [8]byte
		for i := range raw {
			raw[i] = byte(seq >> (56 - 8*i))
		}
		if want := hex.EncodeToString(raw[:]); string(id[:]) != want {
			t.Errorf("IDFromUint64(%#x) = %s, want %s", seq, id[:], want)
		}
		if got, ok := Uint64FromID(id[:]); !ok || got != seq {
			t.Errorf("Uint64FromID(%s) = %#x, %v", id[:], got, ok)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10000; i++ {
		seq := rng.Uint64()
		id := IDFromUint64(seq)
		if got, ok := Uint64FromID(id[:]); !ok || got != seq {
			t.Fatalf("round trip %#x: %#x %v", seq, got, ok)
		}
	}
	for _, bad := range []string{"", "0123456789abcde", "0123456789abcdef0", "0123456789ABCDEF", "0123456789abcdeg", "012345678 abcdef", "0123456789abcde\xff"} {
		if _, ok := Uint64FromID([]byte(bad)); ok {
			t.Errorf("Uint64FromID(%q) accepted", bad)
		}
	}
	// Every byte value at every position: only lower-case hex digits pass.
	for pos := 0; pos < MsgIDLength; pos++ {
		for c := 0; c < 256; c++ {
			id := IDFromUint64(0)
			id[pos] = byte(c)
			_, ok := Uint64FromID(id[:])
			want := c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
			if ok != want {
				t.Fatalf("byte %#x at %d: ok=%v", c, pos, ok)
			}
		}
	}
}
