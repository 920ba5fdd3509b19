package queue

import (
	"errors"
	"sync"
	"syscall"
	"testing"
)

// faultFS injects errors into chosen operations of the real file system.
type faultFS struct {
	osFS
	mu    sync.Mutex
	fails map[string]error
	calls map[string]int
}

func newFaultFS() *faultFS {
	return &faultFS{fails: map[string]error{}, calls: map[string]int{}}
}

func (f *faultFS) set(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fails, op)
	} else {
		f.fails[op] = err
	}
}

func (f *faultFS) check(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	return f.fails[op]
}

func (f *faultFS) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *faultFS) Open(path string, flags int, perm uint32) (int, error) {
	if err := f.check("open"); err != nil {
		return -1, err
	}
	return f.osFS.Open(path, flags, perm)
}

func (f *faultFS) Fallocate(fd int, off, n int64) error {
	if err := f.check("fallocate"); err != nil {
		return err
	}
	return f.osFS.Fallocate(fd, off, n)
}

func (f *faultFS) Msync(b []byte) error {
	if err := f.check("msync"); err != nil {
		return err
	}
	return f.osFS.Msync(b)
}

func (f *faultFS) Populate(b []byte) error {
	if err := f.check("populate"); err != nil {
		return err
	}
	return f.osFS.Populate(b)
}

func (f *faultFS) Rename(from, to string) error {
	if err := f.check("rename"); err != nil {
		return err
	}
	return f.osFS.Rename(from, to)
}

func (f *faultFS) Mmap(fd int, size int) ([]byte, error) {
	if err := f.check("mmap"); err != nil {
		return nil, err
	}
	return f.osFS.Mmap(fd, size)
}

func TestFaultNoSpace(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 64 << 10, NoPrefault: true, PrefaultBytes: 4096, FS: fs})
	appendN(t, l, 10)
	fs.set("fallocate", syscall.ENOSPC)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = l.Append(make([]byte, 100))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v", err)
	}
	l.Commit()
	fs.set("fallocate", nil)
	before := l.Head().Seq
	appendN(t, l, 100)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentSize: 64 << 10})
	if h := l.Head(); h.Seq != before+100 {
		t.Fatalf("head %+v", h)
	}
}

func TestFaultSegmentCreation(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 1024, NoPrefault: true, FS: fs})
	appendN(t, l, 5)
	fs.set("open", syscall.EMFILE)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = l.Append(testPayload(l.w.seq))
		l.Commit()
	}
	if !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("Append needing a new segment: %v", err)
	}
	fs.set("open", nil)
	appendN(t, l, 100)
	readAll(t, l)
}

func TestFaultSync(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 4096, FS: fs})
	appendN(t, l, 500)
	fs.set("msync", syscall.EIO)
	if err := l.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync: %v", err)
	}
	fs.set("msync", nil)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 100)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Options{SegmentSize: 4096})
	if n := readAll(t, l); n != 600 {
		t.Fatal(n)
	}
}

func TestFaultPopulateUnsupported(t *testing.T) {
	fs := newFaultFS()
	fs.set("populate", ErrUnsupported)
	l := mustOpen(t, t.TempDir(), Options{SegmentSize: 64 << 10, PrefaultBytes: 8192, FS: fs})
	appendN(t, l, 2000)
	readAll(t, l)
	waitFor(t, "fallback to touching pages", func() bool { return l.noPopulate.Load() })
}

func TestFaultRename(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 2048, PrefaultBytes: 4096, FS: fs})
	fs.set("rename", syscall.EIO)
	appendN(t, l, 300)
	// Keep appending, slowly, until the appender has taken a spare and the
	// background goroutine has tried to rename it.
	waitFor(t, "spare in use", func() bool {
		appendN(t, l, 5)
		return fs.count("rename") > 0
	})
	if err := l.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync after a failed rename: %v", err)
	}
	appendN(t, l, 100)
	total := int(l.Head().Seq)
	// Close cannot rename either; Open adopts the spare-named segments.
	_ = l.Close()
	fs.set("rename", nil)
	l = mustOpen(t, dir, Options{SegmentSize: 2048})
	if n := readAll(t, l); n != total {
		t.Fatal(n, total)
	}
	for _, name := range segFiles(t, dir) {
		if _, ok := parseSegName(name); !ok && name != "1.spare" {
			t.Fatalf("unexpected file %s", name)
		}
	}
}

func TestFaultOpenMmap(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{SegmentSize: 4096})
	appendN(t, l, 300)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fs.set("mmap", syscall.ENOMEM)
	if _, err := Open(dir, Options{SegmentSize: 4096, FS: fs}); !errors.Is(err, syscall.ENOMEM) {
		t.Fatalf("Open: %v", err)
	}
	fs.set("mmap", nil)
	l = mustOpen(t, dir, Options{SegmentSize: 4096, FS: fs}) // and the lock was released
	if n := readAll(t, l); n != 300 {
		t.Fatal(n)
	}
}
