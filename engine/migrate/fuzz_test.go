package migrate

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzParseMeta: parseMeta never panics, and what it accepts appendMeta
// writes back to something it parses the same.
func FuzzParseMeta(f *testing.F) {
	f.Add([]byte("3\n0,52\n1,104\n"))
	f.Add([]byte("0\n0,0\n0,0"))
	f.Add([]byte("-1\n9223372036854775807,1\n2,3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMeta(b)
		if err != nil {
			return
		}
		again, err := parseMeta(appendMeta(nil, m))
		if err != nil || again != m {
			t.Fatalf("%q -> %+v -> %+v, %v", b, m, again, err)
		}
	})
}

// recordStream encodes messages as a diskqueue file.
func recordStream(ms ...UpstreamMessage) []byte {
	var b []byte
	for i := range ms {
		b = appendRecord(b, appendMessage(nil, &ms[i]))
	}
	return b
}

// splitAll splits b in memory: the payloads of its whole records and the
// bytes left after them.
func splitAll(b []byte) (payloads [][]byte, rest int, badSize bool) {
	for {
		p, n, err := splitRecord(b)
		if err != nil {
			return payloads, len(b), errors.Is(err, errBadSize)
		}
		if _, err := decodeMessage(p); err != nil {
			panic("splitRecord returned a payload shorter than a message header")
		}
		payloads = append(payloads, p)
		b = b[n:]
	}
}

// chunkReader returns at most the next size of its chunk sizes per Read.
type chunkReader struct {
	b     []byte
	sizes []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := len(r.b)
	if len(r.sizes) > 0 {
		n = min(n, int(r.sizes[0])+1)
		r.sizes = r.sizes[1:]
	}
	n = copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}

// FuzzRecords: the streaming reader, fed in chunks of any size through a
// buffer of any size, sees exactly the records splitRecord sees in memory,
// and accounts for every byte after them.
func FuzzRecords(f *testing.F) {
	good := recordStream(msgs("seed", 3, 1)...)
	f.Add(good, []byte{3, 200, 0}, uint16(8))
	f.Add(good[:len(good)-3], []byte{}, uint16(0))
	f.Add(append(good[:40:40], 0xff, 0xff, 0xff, 0xff, 1, 2), []byte{1}, uint16(1))
	f.Add([]byte{0, 0, 0, 26}, []byte{}, uint16(64))
	f.Fuzz(func(t *testing.T, data, sizes []byte, bufSize uint16) {
		want, rest, bad := splitAll(data)
		var got [][]byte
		buf := make([]byte, int(bufSize))
		_, lost, why, err := eachRecord(&chunkReader{b: data, sizes: sizes}, int64(len(data)), buf, func(p []byte) error {
			got = append(got, append([]byte(nil), p...))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("streamed %d records, split %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("record %d: % x, want % x", i, got[i], want[i])
			}
		}
		if lost != int64(rest) {
			t.Fatalf("lost %d bytes, %d left after the records", lost, rest)
		}
		if lost > 0 && errors.Is(why, errBadSize) != bad {
			t.Fatalf("why %v, bad size %v", why, bad)
		}
	})
}
