package main

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"
)

// The input is split into exactly the non-empty pieces between
// delimiters, whatever their length against the read buffer.
func FuzzSplit(f *testing.F) {
	f.Add([]byte("one\ntwo\n\nthree"), byte('\n'))
	f.Add([]byte("a,b,,c,"), byte(','))
	f.Add([]byte(strings.Repeat("x", 40)+"\n"+strings.Repeat("y", 17)), byte('\n'))
	f.Add([]byte{}, byte(0))
	f.Fuzz(func(t *testing.T, in []byte, delim byte) {
		var got [][]byte
		p := &publisher{
			r:     bufio.NewReaderSize(bytes.NewReader(in), 16),
			delim: delim,
			publish: func(b []byte) error {
				got = append(got, bytes.Clone(b))
				return nil
			},
		}
		if err := p.run(); err != nil {
			t.Fatal(err)
		}
		want := slices.DeleteFunc(bytes.Split(in, []byte{delim}), func(b []byte) bool { return len(b) == 0 })
		if len(got) != len(want) {
			t.Fatalf("%d messages, want %d", len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("message %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}
