package queue

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// testPayload is the deterministic payload of record seq: 0..299 bytes.
func testPayload(seq uint64) []byte {
	n := int(seq*37) % 300
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seq) + byte(i*7)
	}
	return b
}

// appendParts splits testPayload(seq) into up to three parts.
func appendParts(t testing.TB, l *Log, seq uint64) Pos {
	t.Helper()
	p := testPayload(seq)
	a, b := len(p)/3, 2*len(p)/3
	pos, err := l.Append(p[:a], p[a:b], p[b:])
	if err != nil {
		t.Fatalf("Append seq %d: %v", seq, err)
	}
	if pos.Seq != seq {
		t.Fatalf("Append: got seq %d, want %d", pos.Seq, seq)
	}
	return pos
}

func appendN(t testing.TB, l *Log, n int) {
	t.Helper()
	first := l.w.seq
	for i := 0; i < n; i++ {
		appendParts(t, l, first+uint64(i))
		if i%7 == 6 {
			l.Commit()
		}
	}
	l.Commit()
}

func checkRecord(t testing.TB, r Record, seq uint64) {
	t.Helper()
	if r.Pos.Seq != seq {
		t.Fatalf("record seq %d, want %d", r.Pos.Seq, seq)
	}
	if !bytes.Equal(r.Data, testPayload(seq)) {
		t.Fatalf("record %d: payload mismatch (%d bytes, want %d)", seq, len(r.Data), len(testPayload(seq)))
	}
	if r.Next.Seq != seq+1 {
		t.Fatalf("record %d: Next.Seq %d", seq, r.Next.Seq)
	}
}

// readAll reads from First to Head checking every record, and returns the
// number read.
func readAll(t testing.TB, l *Log) int {
	t.Helper()
	first, head := l.First(), l.Head()
	p := first
	n := 0
	for {
		r, err := l.Read(p)
		if errors.Is(err, ErrEnd) {
			break
		}
		if err != nil {
			t.Fatalf("Read %+v: %v", p, err)
		}
		checkRecord(t, r, first.Seq+uint64(n))
		n++
		p = r.Next
	}
	if p.Seq != head.Seq {
		t.Fatalf("read up to seq %d, head %d", p.Seq, head.Seq)
	}
	if want := int(head.Seq - first.Seq); n != want {
		t.Fatalf("read %d records, want %d", n, want)
	}
	return n
}

func mustOpen(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// forModes runs f against a file log and an in-memory log.
func forModes(t *testing.T, opts Options, f func(t *testing.T, dir string, opts Options)) {
	for _, mem := range []bool{false, true} {
		name := "file"
		if mem {
			name = "mem"
		}
		t.Run(name, func(t *testing.T) {
			o := opts
			o.InMemory = mem
			f(t, t.TempDir(), o)
		})
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), segSuffix) || strings.HasSuffix(e.Name(), spareSuffix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// copyDir copies the regular files of src into a new directory, reading
// them through the page cache like a crash would leave them.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// segNames lists the segment files (not spares) of dir.
func segNames(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range segFiles(t, dir) {
		if _, ok := parseSegName(n); ok {
			out = append(out, n)
		}
	}
	return out
}
