package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

func TestZeroHeaderNeverValid(t *testing.T) {
	var seq [8]byte
	if crc32.Checksum(seq[:], castagnoli) == 0 {
		t.Fatal("CRC-32C of seq 0 is 0: a zero header would be a valid empty record")
	}
	data := make([]byte, 64)
	if end, next := scanRecords(data, 0, 1<<62); end != 0 || next != 0 {
		t.Fatalf("zeros scanned as records: end %d next %d", end, next)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{}, {SegmentSize: MinSegmentSize}, {SegmentSize: MaxSegmentSize}, {PrefaultBytes: 1}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	for _, o := range []Options{{SegmentSize: MinSegmentSize - 1}, {SegmentSize: MaxSegmentSize + 1}, {SegmentSize: -1}, {PrefaultBytes: -1}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
		if _, err := Open(t.TempDir(), o); err == nil {
			t.Errorf("Open %+v: no error", o)
		}
	}
	d := (&Options{InMemory: true}).withDefaults()
	if d.SegmentSize != memSegmentLimit || d.PrefaultBytes != DefaultPrefaultBytes {
		t.Errorf("defaults: %+v", d)
	}
}

func TestAppendReadManySegments(t *testing.T) {
	forModes(t, Options{SegmentSize: 512}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		if h, f := l.Head(), l.First(); h != (Pos{}) || f != (Pos{}) {
			t.Fatalf("empty log: head %+v first %+v", h, f)
		}
		appendN(t, l, 2000)
		if n := readAll(t, l); n != 2000 {
			t.Fatal(n)
		}
		if n := len(l.table.Load().segs); n < 100 {
			t.Fatalf("only %d segments", n)
		}
		var want int64
		for i := uint64(0); i < 2000; i++ {
			want += int64(recSize(len(testPayload(i))))
		}
		if got := l.Size(); got != want {
			t.Fatalf("Size %d, want %d", got, want)
		}
		// Read every record directly by its Pos too.
		p := Pos{}
		for i := uint64(0); i < 2000; i++ {
			r, err := l.Read(p)
			if err != nil {
				t.Fatal(err)
			}
			again, err := l.Read(r.Pos)
			if err != nil || again.Pos != r.Pos || !bytes.Equal(again.Data, r.Data) {
				t.Fatalf("re-read %+v: %+v %v", r.Pos, again.Pos, err)
			}
			p = r.Next
		}
		if !opts.InMemory {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "spare renames", func() bool {
				names := segFiles(t, dir)
				return len(names) >= len(l.table.Load().segs) && len(names) <= len(l.table.Load().segs)+1
			})
		}
	})
}

func TestEmptyPayloads(t *testing.T) {
	forModes(t, Options{SegmentSize: 128}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		for i := 0; i < 100; i++ {
			if _, err := l.Append(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(nil, []byte{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		l.Commit()
		p := l.First()
		for i := 0; i < 200; i++ {
			r, err := l.Read(p)
			if err != nil || len(r.Data) != 0 || r.Pos.Seq != uint64(i) {
				t.Fatalf("%d: %+v %v", i, r, err)
			}
			p = r.Next
		}
		if opts.InMemory {
			return
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, opts)
		if h := l.Head(); h.Seq != 200 {
			t.Fatalf("reopened head %+v", h)
		}
	})
}

func TestExactFill(t *testing.T) {
	forModes(t, Options{SegmentSize: 256}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		capacity := 256 - l.trailer
		per := 64 // 4 records fill 256 bytes in memory, 3 of 80 fill 240 in a file
		if l.trailer > 0 {
			per = 80
		}
		count := capacity / per
		payload := make([]byte, per-hdrSize)
		for i := 0; i < count; i++ {
			payload[0] = byte(i)
			pos, err := l.Append(payload)
			if err != nil || pos != (Pos{Seq: uint64(i), Seg: 0, Off: uint32(i * per)}) {
				t.Fatalf("append %d: %+v %v", i, pos, err)
			}
		}
		l.Commit()
		if h := l.Head(); h != (Pos{Seq: uint64(count), Seg: 0, Off: uint32(capacity)}) {
			t.Fatalf("head %+v", h)
		}
		r, err := l.Read(Pos{Seq: uint64(count - 1), Seg: 0, Off: uint32((count - 1) * per)})
		if err != nil || r.Next != l.Head() {
			t.Fatalf("last record: %+v %v", r, err)
		}
		if _, err := l.Read(r.Next); !errors.Is(err, ErrEnd) {
			t.Fatalf("Read at head: %v", err)
		}
		pos, err := l.Append([]byte("next"))
		if err != nil || pos != (Pos{Seq: uint64(count), Seg: uint64(count), Off: 0}) {
			t.Fatalf("append into next segment: %+v %v", pos, err)
		}
		l.Commit()
		// The end of the sealed segment reads as the start of the next.
		r, err = l.Read(r.Next)
		if err != nil || string(r.Data) != "next" || r.Pos != pos {
			t.Fatalf("read across: %+v %v", r, err)
		}
		if !opts.InMemory {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, opts)
			if h := l.Head(); h != (Pos{Seq: uint64(count + 1), Seg: uint64(count), Off: 24}) {
				t.Fatalf("reopened head %+v", h)
			}
			r, err := l.Read(Pos{Seq: uint64(count), Seg: 0, Off: uint32(capacity)})
			if err != nil || string(r.Data) != "next" {
				t.Fatalf("after reopen: %+v %v", r, err)
			}
		}
	})
}

func TestOversizeRecord(t *testing.T) {
	forModes(t, Options{SegmentSize: 256}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		big := bytes.Repeat([]byte("0123456789"), 100)
		// First record of a fresh log: the empty segment is grown in place.
		if pos, err := l.Append(big[:500], big[500:]); err != nil || pos != (Pos{}) {
			t.Fatalf("%+v %v", pos, err)
		}
		if _, err := l.Append([]byte("small")); err != nil {
			t.Fatal(err)
		}
		if pos, err := l.Append(big); err != nil || pos != (Pos{Seq: 2, Seg: 2}) {
			t.Fatalf("%+v %v", pos, err)
		}
		if _, err := l.Append([]byte("small2")); err != nil {
			t.Fatal(err)
		}
		l.Commit()
		check := func() {
			t.Helper()
			want := []string{string(big), "small", string(big), "small2"}
			p := l.First()
			for i, w := range want {
				r, err := l.Read(p)
				if err != nil || string(r.Data) != w {
					t.Fatalf("record %d: %v", i, err)
				}
				p = r.Next
			}
			if _, err := l.Read(p); !errors.Is(err, ErrEnd) {
				t.Fatal(err)
			}
		}
		check()
		mib := make([]byte, 1<<20)
		huge := make([][]byte, MaxRecordSize>>20+1)
		for i := range huge {
			huge[i] = mib
		}
		if _, err := l.Append(huge...); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("huge: %v", err)
		}
		if opts.InMemory {
			return
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, opts)
		check()
		if names := segNames(t, dir); len(names) != 4 {
			t.Fatalf("files %v", names)
		}
	})
}

func TestReadAtHeadAndCommitVisibility(t *testing.T) {
	forModes(t, Options{SegmentSize: 1024}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		if _, err := l.Read(Pos{}); !errors.Is(err, ErrEnd) {
			t.Fatalf("empty: %v", err)
		}
		for i := uint64(0); i < 50; i++ {
			appendParts(t, l, i)
		}
		if _, err := l.Read(Pos{}); !errors.Is(err, ErrEnd) {
			t.Fatalf("uncommitted visible: %v", err)
		}
		if h, s := l.Head(), l.Size(); h != (Pos{}) || s != 0 {
			t.Fatalf("uncommitted head %+v size %d", h, s)
		}
		l.Commit()
		if h := l.Head(); h.Seq != 50 {
			t.Fatalf("head %+v", h)
		}
		readAll(t, l)
		if _, err := l.Read(l.Head()); !errors.Is(err, ErrEnd) {
			t.Fatal(err)
		}
		if _, err := l.Read(Pos{Seq: 1000}); !errors.Is(err, ErrEnd) {
			t.Fatal(err)
		}
		// A Pos that is not a record boundary.
		if _, err := l.Read(Pos{Seq: 3, Seg: 0, Off: 8}); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("bad pos: %v", err)
		}
	})
}

func TestDeleteBefore(t *testing.T) {
	forModes(t, Options{SegmentSize: 1024}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		appendN(t, l, 1000)
		var poss, nexts []Pos
		for p := l.First(); ; {
			r, err := l.Read(p)
			if err != nil {
				break
			}
			poss = append(poss, r.Pos)
			nexts = append(nexts, r.Next)
			p = r.Next
		}
		for _, seq := range []uint64{0, 1, 499, 500, 998, 999} {
			if p, err := l.Seek(seq); err != nil || p != poss[seq] {
				t.Fatalf("Seek(%d) = %+v %v, want %+v", seq, p, err, poss[seq])
			}
		}
		if p, err := l.Seek(5000); err != nil || p != l.Head() {
			t.Fatalf("Seek beyond head: %+v %v", p, err)
		}
		size0, segs0 := l.Size(), len(l.table.Load().segs)
		if err := l.DeleteBefore(poss[500]); err != nil {
			t.Fatal(err)
		}
		first := l.First()
		if first.Seq > 500 || first.Seg != first.Seq || first.Off != 0 {
			t.Fatalf("first %+v", first)
		}
		if first.Seq == 0 || l.Size() >= size0 || len(l.table.Load().segs) >= segs0 {
			t.Fatalf("nothing deleted: first %+v size %d/%d", first, l.Size(), size0)
		}
		readAll(t, l)
		// The end of the last deleted segment still leads to First.
		if prev := nexts[first.Seq-1]; prev.Seg == first.Seg {
			t.Fatalf("expected %+v to be in a deleted segment", prev)
		} else if r, err := l.Read(prev); err != nil || r.Pos != first {
			t.Fatalf("read %+v: %+v %v", prev, r.Pos, err)
		}
		if p, err := l.Seek(first.Seq - 1); err != nil || p != first {
			t.Fatalf("Seek below first: %+v %v", p, err)
		}
		// Below First: the record at First.
		for _, p := range []Pos{{}, poss[0], {Seq: first.Seq - 1, Seg: 0, Off: 8}} {
			r, err := l.Read(p)
			if err != nil || r.Pos != first {
				t.Fatalf("read %+v below first: %+v %v", p, r.Pos, err)
			}
		}
		if !opts.InMemory {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "segment files removed", func() bool {
				names := segFiles(t, dir)
				return len(names) > 0 && names[0] == segName(first.Seq)
			})
		}
		// Deleting up to the head keeps the active segment.
		if err := l.DeleteBefore(l.Head()); err != nil {
			t.Fatal(err)
		}
		if n := len(l.table.Load().segs); n != 1 {
			t.Fatalf("%d segments left", n)
		}
		readAll(t, l)
		appendN(t, l, 100)
		readAll(t, l)
		if !opts.InMemory {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, opts)
			readAll(t, l)
			if h := l.Head(); h.Seq != 1100 {
				t.Fatalf("head %+v", h)
			}
		}
	})
}

func TestReopenAfterClose(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 8192}
	l := mustOpen(t, dir, opts)
	appendN(t, l, 300)
	head, first, size := l.Head(), l.First(), l.Size()
	appendParts(t, l, 300) // appended, not committed: Close keeps it
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := l.Append(nil); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := l.Read(Pos{}); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	names := segFiles(t, dir)
	st, err := os.Stat(filepath.Join(dir, names[len(names)-1]))
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != int64(head.Off)+int64(recSize(len(testPayload(300)))) {
		t.Fatalf("last segment not truncated: %d bytes, head %+v %v", st.Size(), head, names)
	}

	l = mustOpen(t, dir, opts)
	if h := l.Head(); h.Seq != 301 || h.Seg != head.Seg {
		t.Fatalf("head %+v, was %+v", h, head)
	}
	if l.First() != first || l.Size() != size+int64(recSize(len(testPayload(300)))) {
		t.Fatalf("first %+v size %d", l.First(), l.Size())
	}
	readAll(t, l)
	appendN(t, l, 300)
	readAll(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, opts)
	if n := readAll(t, l); n != 601 {
		t.Fatal(n)
	}
	// A different SegmentSize later: existing segments keep theirs.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentSize: 1024})
	appendN(t, l, 100)
	if n := readAll(t, l); n != 701 {
		t.Fatal(n)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
}

func TestRemove(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic")
	l := mustOpen(t, dir, Options{SegmentSize: 4096})
	appendN(t, l, 500)
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dir still there: %v", err)
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	// A directory with other files stays.
	l = mustOpen(t, dir, Options{SegmentSize: 4096})
	appendN(t, l, 10)
	if err := WriteFileAtomic(filepath.Join(dir, "meta.json"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if names := segFiles(t, dir); len(names) != 0 {
		t.Fatalf("left %v", names)
	}
}

func TestInMemory(t *testing.T) {
	l := mustOpen(t, "", Options{InMemory: true})
	if got := len(l.w.seg.data); got != memSegmentLimit {
		t.Fatalf("segment of %d bytes", got)
	}
	payload := make([]byte, 100<<10)
	for i := 0; i < 200; i++ {
		payload[0] = byte(i)
		if _, err := l.Append(payload); err != nil {
			t.Fatal(err)
		}
	}
	l.Commit()
	if n := len(l.table.Load().segs); n < 5 {
		t.Fatalf("%d segments", n)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	old := l.table.Load().segs[0]
	if err := l.DeleteBefore(l.Head()); err != nil {
		t.Fatal(err)
	}
	if segs := l.table.Load().segs; len(segs) != 1 || segs[0] == old {
		t.Fatalf("%d segments", len(segs))
	}
	if l.Size() >= int64(2*memSegmentLimit) {
		t.Fatalf("size %d", l.Size())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// TestConcurrent runs one appender, four readers following the log, a syncer
// and a deleter that deletes below the slowest reader. Meant for -race.
func TestConcurrent(t *testing.T) {
	const total = 20000
	forModes(t, Options{SegmentSize: 16 << 10, PrefaultBytes: 4096}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		var wg sync.WaitGroup
		var readerPos [4]atomic.Uint64
		stop := make(chan struct{})
		errc := make(chan error, 16)
		for i := range readerPos {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := Pos{}
				for p.Seq < total {
					r, err := l.Read(p)
					if errors.Is(err, ErrEnd) {
						if h := l.Head(); h.Seq < p.Seq {
							errc <- errors.New("head went backwards")
							return
						}
						continue
					}
					if err != nil {
						errc <- err
						return
					}
					if r.Pos.Seq != p.Seq || !bytes.Equal(r.Data, testPayload(p.Seq)) {
						errc <- errors.New("bad record")
						return
					}
					p = r.Next
					readerPos[i].Store(p.Seq)
				}
			}()
		}
		var bg sync.WaitGroup
		bg.Add(2)
		go func() { // syncer
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := l.Sync(); err != nil {
					errc <- err
					return
				}
				_ = l.Size()
				_ = l.First()
			}
		}()
		go func() { // deleter
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				low := uint64(total)
				for i := range readerPos {
					low = min(low, readerPos[i].Load())
				}
				if err := l.DeleteBefore(Pos{Seq: low}); err != nil {
					errc <- err
					return
				}
			}
		}()
		for i := uint64(0); i < total; i++ {
			appendParts(t, l, i)
			if i%5 == 0 {
				l.Commit()
			}
		}
		l.Commit()
		wg.Wait()
		close(stop)
		bg.Wait()
		select {
		case err := <-errc:
			t.Fatal(err)
		default:
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if opts.InMemory {
			return
		}
		l = mustOpen(t, dir, opts)
		if h := l.Head(); h.Seq != total {
			t.Fatalf("head %+v", h)
		}
		readAll(t, l)
	})
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.dat")
	for _, data := range [][]byte{[]byte("first"), []byte("second, longer"), nil} {
		if err := WriteFileAtomic(path, data); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("got %q %v, want %q", got, err, data)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), []byte("x")); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

// corruptAt overwrites b at off in the segment file name.
func corruptAt(t *testing.T, dir, name string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// recordOffsets returns the Pos of every committed record.
func recordOffsets(t *testing.T, l *Log) []Pos {
	var out []Pos
	for p := l.First(); ; {
		r, err := l.Read(p)
		if errors.Is(err, ErrEnd) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.Pos)
		p = r.Next
	}
}

func TestCrashRecovery(t *testing.T) {
	opts := Options{SegmentSize: 4096}
	setup := func(t *testing.T, n, synced int) (string, []Pos) {
		dir := t.TempDir()
		// No background goroutine: it would rename spares under copyDir's
		// feet (the kill -9 test covers crashes with it running).
		wopts := opts
		wopts.NoPrefault = true
		l := mustOpen(t, dir, wopts)
		appendN(t, l, synced)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		appendN(t, l, n-synced)
		poss := recordOffsets(t, l)
		return copyDir(t, dir), poss // the original stays open: a crash
	}

	t.Run("clean copy", func(t *testing.T) {
		dir, poss := setup(t, 1000, 500)
		l := mustOpen(t, dir, opts)
		if n := readAll(t, l); n != len(poss) {
			t.Fatal(n)
		}
		appendN(t, l, 10)
		readAll(t, l)
	})

	t.Run("torn last record", func(t *testing.T) {
		dir, poss := setup(t, 1000, 500)
		last := poss[len(poss)-1]
		// Tear the last record: its CRC no longer matches.
		corruptAt(t, dir, segName(last.Seg), int64(last.Off)+hdrSize, []byte{0xde, 0xad})
		l := mustOpen(t, dir, opts)
		if h := l.Head(); h != poss[len(poss)-1] {
			t.Fatalf("head %+v, want %+v", h, poss[len(poss)-1])
		}
		readAll(t, l)
		appendN(t, l, 50) // overwrites the torn record
		readAll(t, l)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, opts)
		if n := readAll(t, l); n != 999+50 {
			t.Fatal(n)
		}
	})

	t.Run("partial header and garbage", func(t *testing.T) {
		dir, poss := setup(t, 1000, 500)
		head := poss[len(poss)-1]
		r := recSize(len(testPayload(head.Seq)))
		// A header of the next record half written, then garbage.
		var h [hdrSize]byte
		binary.LittleEndian.PutUint64(h[8:], head.Seq+1)
		binary.LittleEndian.PutUint32(h[0:], 40)
		corruptAt(t, dir, segName(head.Seg), int64(head.Off)+int64(r), append(h[:12], bytes.Repeat([]byte{0xff}, 100)...))
		l := mustOpen(t, dir, opts)
		if h := l.Head(); h.Seq != 1000 {
			t.Fatalf("head %+v", h)
		}
		readAll(t, l)
		appendN(t, l, 5)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, opts)
		if n := readAll(t, l); n != 1005 {
			t.Fatal(n)
		}
	})

	t.Run("hole in unsynced sealed segment", func(t *testing.T) {
		dir, poss := setup(t, 1000, 100)
		// Pick a record in an unsynced, sealed segment (not the last one).
		lastSeg := poss[len(poss)-1].Seg
		var victim Pos
		for _, p := range poss[200:] {
			if p.Seg != lastSeg && p.Off > 0 {
				victim = p
				break
			}
		}
		corruptAt(t, dir, segName(victim.Seg), int64(victim.Off), make([]byte, hdrSize))
		l := mustOpen(t, dir, opts)
		if h := l.Head(); h.Seq != victim.Seq || h.Seg != victim.Seg {
			t.Fatalf("head %+v, want the hole at %+v", h, victim)
		}
		readAll(t, l)
		if names := segNames(t, dir); names[len(names)-1] != segName(victim.Seg) {
			t.Fatalf("later segments kept: %v", names)
		}
		appendN(t, l, 20)
		readAll(t, l)
	})

	t.Run("corruption in trusted segment", func(t *testing.T) {
		dir, poss := setup(t, 1000, 900)
		// The first segment was sealed and synced: Open trusts it without a
		// scan and Read verifies its CRCs.
		victim := poss[3]
		if victim.Seg != 0 {
			t.Fatal("test assumes record 3 is in segment 0")
		}
		corruptAt(t, dir, segName(0), int64(victim.Off)+hdrSize, []byte{0x55})
		l := mustOpen(t, dir, opts)
		if h := l.Head(); h.Seq != 1000 {
			t.Fatalf("head %+v", h)
		}
		r, err := l.Read(victim)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("corrupt record read: %v", err)
		}
		if r.Next.Seq <= victim.Seq || r.Next.Off != 0 {
			t.Fatalf("skip position %+v", r.Next)
		}
		if r, err = l.Read(r.Next); err != nil {
			t.Fatal(err)
		}
		checkRecord(t, r, r.Pos.Seq)
	})

	t.Run("spare adoption", func(t *testing.T) {
		dir, poss := setup(t, 1000, 500)
		// The active segment was still named as a spare when we crashed.
		lastSeg := poss[len(poss)-1].Seg
		if err := os.Rename(filepath.Join(dir, segName(lastSeg)), filepath.Join(dir, "17.spare")); err != nil {
			t.Fatal(err)
		}
		// And an unused spare.
		if err := os.WriteFile(filepath.Join(dir, "18.spare"), make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
		l := mustOpen(t, dir, opts)
		if n := readAll(t, l); n != 1000 {
			t.Fatal(n)
		}
		for _, name := range []string{"17.spare", "18.spare"} {
			if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
				t.Fatalf("spare %s left: %v", name, err)
			}
		}
	})

	t.Run("sealed last segment", func(t *testing.T) {
		dir, poss := setup(t, 1000, 1000)
		// The newest segment file never reached the disk, but its
		// predecessor's trailer did.
		lastSeg := poss[len(poss)-1].Seg
		l0 := mustOpen(t, dir, opts)
		if err := l0.Close(); err != nil {
			t.Fatal(err)
		}
		_ = lastSeg
		names := segFiles(t, dir)
		if len(names) < 3 {
			t.Fatal(names)
		}
		if err := os.Remove(filepath.Join(dir, names[len(names)-1])); err != nil {
			t.Fatal(err)
		}
		l := mustOpen(t, dir, opts)
		h := l.Head()
		if h.Seg != h.Seq || h.Off != 0 {
			t.Fatalf("expected a fresh segment at the head, got %+v", h)
		}
		readAll(t, l)
		appendN(t, l, 10)
		readAll(t, l)
	})
}

func TestTrailers(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 2048})
	appendN(t, l, 500)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	segs := l.table.Load().segs
	for _, s := range segs[:len(segs)-1] {
		if !s.sealedSynced {
			t.Fatalf("segment %d not sealed", s.id)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentSize: 2048})
	segs = l.table.Load().segs
	for _, s := range segs[:len(segs)-1] {
		if !s.verify || !s.sealedSynced {
			t.Fatalf("segment %d not trusted", s.id)
		}
	}
	readAll(t, l)
}

// TestSettle: a position whose Seg and Off contradict its Seq (a garbled
// checkpoint) settles on the record with that Seq; a right one stays.
func TestSettle(t *testing.T) {
	forModes(t, Options{SegmentSize: 1024}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		appendN(t, l, 1000)
		var poss []Pos
		for p := l.First(); ; {
			r, err := l.Read(p)
			if err != nil {
				break
			}
			poss = append(poss, r.Pos)
			p = r.Next
		}
		for seq, want := range poss {
			for _, p := range []Pos{want, {Seq: uint64(seq)}, {Seq: uint64(seq), Seg: 77, Off: 8}, {Seq: uint64(seq), Seg: want.Seg, Off: want.Off + 8}} {
				if got := l.Settle(p); got != want {
					t.Fatalf("Settle(%+v) = %+v, want %+v", p, got, want)
				}
			}
		}
		if got := l.Settle(Pos{Seq: 5000, Seg: 3}); got != l.Head() {
			t.Fatalf("beyond the head: %+v, want %+v", got, l.Head())
		}
		if err := l.DeleteBefore(poss[500]); err != nil {
			t.Fatal(err)
		}
		if got := l.Settle(Pos{Seq: 2, Seg: 9}); got != l.First() {
			t.Fatalf("below first: %+v, want %+v", got, l.First())
		}
	})
}
