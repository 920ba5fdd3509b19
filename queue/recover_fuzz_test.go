package queue

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateFuzzSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzRecover seeds")

// FuzzRecover writes arbitrary bytes as one or two segment files and checks
// that Open either fails or returns a consistent log: walking it from First
// reaches Head (skipping what Read reports corrupt), and it accepts appends
// that survive a reopen. It must never panic.
func FuzzRecover(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.a, s.b, s.id)
	}
	f.Fuzz(func(t *testing.T, a, b []byte, id2 uint64) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segName(0)), a, 0o644); err != nil {
			t.Fatal(err)
		}
		if id2 > 0 {
			if err := os.WriteFile(filepath.Join(dir, segName(id2)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Durability is not under test here; skipping fsync keeps the
		// fuzzer fast.
		opts := Options{SegmentSize: 512, NoPrefault: true, FS: noSyncFS{}}
		l, err := Open(dir, opts)
		if err != nil {
			return
		}
		first, head := l.First(), l.Head()
		if first.Seq > head.Seq {
			t.Fatalf("first %+v after head %+v", first, head)
		}
		walk := func(l *Log) uint64 {
			p, n := l.First(), uint64(0)
			for {
				r, err := l.Read(p)
				if errors.Is(err, ErrEnd) {
					break
				}
				if err != nil && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Read %+v: %v", p, err)
				}
				if err == nil && r.Pos.Seq < p.Seq {
					t.Fatalf("Read %+v went back to %+v", p, r.Pos)
				}
				if r.Next.Seq <= p.Seq {
					t.Fatalf("no progress at %+v: next %+v (%v)", p, r.Next, err)
				}
				p = r.Next
				n++
			}
			if p.Seq != l.Head().Seq {
				t.Fatalf("walk ended at %+v, head %+v", p, l.Head())
			}
			return n
		}
		walk(l)
		if l.Size() < 0 {
			t.Fatal("negative size")
		}
		for i := 0; i < 3; i++ {
			if _, err := l.Append([]byte(fmt.Sprint("after", i))); err != nil {
				t.Fatalf("Append: %v", err)
			}
		}
		l.Commit()
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		l, err = Open(dir, opts)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer l.Close()
		if h := l.Head(); h.Seq != head.Seq+3 {
			t.Fatalf("reopened head %+v, want seq %d", h, head.Seq+3)
		}
		p := head
		if sp, err := l.Seek(head.Seq); err != nil || sp.Seq != head.Seq {
			t.Fatalf("Seek(%d): %+v %v", head.Seq, sp, err)
		}
		for i := 0; i < 3; i++ {
			r, err := l.Read(p)
			if err != nil || string(r.Data) != fmt.Sprint("after", i) {
				t.Fatalf("appended record %d after reopen: %q %v", i, r.Data, err)
			}
			p = r.Next
		}
		walk(l)
	})
}

type fuzzSeed struct {
	a, b []byte
	id   uint64
}

// fuzzSeeds builds segment images with the real writer: a cleanly closed
// log, a crashed one (full-size file, zero tail), a torn record, a sealed
// segment with trailer plus its successor, and garbage.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	dir := tb.TempDir()
	build := func(n int, closeIt bool) (string, []string) {
		d, err := os.MkdirTemp(dir, "seed")
		if err != nil {
			tb.Fatal(err)
		}
		l, err := Open(d, Options{SegmentSize: 512, NoPrefault: true})
		if err != nil {
			tb.Fatal(err)
		}
		for i := 0; i < n; i++ {
			p := testPayload(uint64(i))
			if len(p) > 40 {
				p = p[:40]
			}
			if _, err := l.Append(p); err != nil {
				tb.Fatal(err)
			}
		}
		l.Commit()
		if err := l.Sync(); err != nil {
			tb.Fatal(err)
		}
		if closeIt {
			if err := l.Close(); err != nil {
				tb.Fatal(err)
			}
		} else {
			d = copyDir(tb, d)
			_ = l.Close()
		}
		return d, segNames(tb, d)
	}
	read := func(d, name string) []byte {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	var seeds []fuzzSeed
	d, names := build(8, true)
	seeds = append(seeds, fuzzSeed{a: read(d, names[0])})
	d, names = build(8, false)
	crashed := read(d, names[0])
	seeds = append(seeds, fuzzSeed{a: crashed})
	torn := append([]byte(nil), crashed...)
	torn[100] ^= 0xff
	seeds = append(seeds, fuzzSeed{a: torn})
	d, names = build(14, false)
	if len(names) >= 2 {
		id, _ := parseSegName(names[1])
		seeds = append(seeds, fuzzSeed{a: read(d, names[0]), b: read(d, names[1]), id: id})
	}
	seeds = append(seeds, fuzzSeed{a: []byte("garbage that is not a segment at all"), b: make([]byte, 64), id: 3})
	seeds = append(seeds, fuzzSeed{})
	return seeds
}

// TestWriteFuzzSeeds refreshes testdata/fuzz/FuzzRecover with
// -update-fuzz-seeds (the seeds are also added with f.Add on every run).
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateFuzzSeeds {
		t.Skip("use -update-fuzz-seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRecover")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\nuint64(%d)\n", s.a, s.b, s.id)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// noSyncFS is the real file system without msync and fsync.
type noSyncFS struct{ osFS }

func (noSyncFS) Msync([]byte) error { return nil }
func (noSyncFS) Fsync(int) error    { return nil }
