package strictfs_test

import (
	"bytes"
	"errors"
	"fmt"
	iofs "io/fs"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsqfast/nsq/queue"
	"github.com/nsqfast/nsq/queue/strictfs"
)

func payload(seq uint64) []byte {
	b := make([]byte, int(seq*37)%300)
	for i := range b {
		b[i] = byte(seq) + byte(i*7)
	}
	return b
}

// TestSemantics checks the rules the package documents: unsynced contents,
// sizes and directory entries are gone after Crash; synced ones stay.
func TestSemantics(t *testing.T) {
	fs := strictfs.New()
	if err := queue.MkdirAllFS(fs, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := queue.WriteFileAtomicFS(fs, "/a/b/kept", []byte("durable")); err != nil {
		t.Fatal(err)
	}
	fd, err := fs.Open("/a/b/lost", unix.O_RDWR|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Pwrite(fd, []byte("data"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fs.Fsync(fd); err != nil { // contents, but not the entry
		t.Fatal(err)
	}
	mf, err := fs.Open("/a/b/mapped", unix.O_RDWR|unix.O_CREAT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := queue.SyncDirFS(fs, "/a/b"); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove("/a/b/lost"); err != nil { // not durable: it comes back
		t.Fatal(err)
	}
	if err := fs.Ftruncate(mf, 8192); err != nil {
		t.Fatal(err)
	}
	m, err := fs.Mmap(mf, 8192)
	if err != nil {
		t.Fatal(err)
	}
	copy(m[0:], "first page")
	copy(m[4096:], "second page")
	if err := fs.Msync(m[4096:]); err != nil {
		t.Fatal(err)
	}
	fs2 := fs.Crash()
	if _, err := fs.Open("/a/b/kept", unix.O_RDONLY, 0); !errors.Is(err, strictfs.ErrCrashed) {
		t.Fatalf("open after crash: %v", err)
	}
	if b, err := queue.ReadFileFS(fs2, "/a/b/kept"); err != nil || string(b) != "durable" {
		t.Fatalf("kept: %q %v", b, err)
	}
	if b, err := queue.ReadFileFS(fs2, "/a/b/lost"); err != nil || string(b) != "data" {
		t.Fatalf("lost (its removal was not durable): %q %v", b, err)
	}
	b, err := queue.ReadFileFS(fs2, "/a/b/mapped")
	if err != nil || len(b) != 8192 {
		t.Fatalf("mapped: %d bytes, %v", len(b), err)
	}
	if !bytes.Equal(b[:10], make([]byte, 10)) || string(b[4096:4096+11]) != "second page" {
		t.Fatalf("mapped: unsynced page kept or synced page lost: %q %q", b[:10], b[4096:4096+11])
	}
	fs3 := fs2.Crash()
	if err := fs2.Mkdir("/x"); !errors.Is(err, strictfs.ErrCrashed) {
		t.Fatal(err)
	}
	if err := fs3.Mkdir("/a"); !errors.Is(err, iofs.ErrExist) {
		t.Fatalf("mkdir of a durable directory: %v", err)
	}
	if err := fs3.Mkdir("/z/y"); !errors.Is(err, iofs.ErrNotExist) {
		t.Fatalf("mkdir without parent: %v", err)
	}
	if err := fs3.Mkdir("/new"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs3.Crash().ReadDir("/new"); !errors.Is(err, iofs.ErrNotExist) {
		t.Fatalf("a directory whose parent was not fsynced survived: %v", err)
	}
}

// TestLogPowerLoss appends and commits records on one goroutine while
// another calls Sync, cuts the power at a random moment, and checks that
// the log reopened from the durable state holds every record below the
// Durable() observed before the cut, intact. Small segments make the log roll (spares created, renamed,
// consumed segments deleted) many times per run.
func TestLogPowerLoss(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { logPowerLoss(t, seed) })
	}
}

func logPowerLoss(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	fs := strictfs.New()
	opts := queue.Options{SegmentSize: 8192, PrefaultBytes: 4096, FS: fs}
	var durable uint64
	for round := 0; round < 3; round++ {
		l, err := queue.Open("/data/log", opts)
		if err != nil {
			t.Fatal(err)
		}
		if h := l.Head().Seq; h < durable {
			t.Fatalf("round %d: head %d below the durable %d", round, h, durable)
		}
		checkAll(t, l)
		first := l.Head().Seq
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		srng := rand.New(rand.NewPCG(seed, uint64(round)))
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := l.Sync(); err != nil {
					return
				}
				if h := l.Durable(); h > 200 {
					_ = l.DeleteBefore(queue.Pos{Seq: h - 200})
				}
				time.Sleep(time.Duration(srng.IntN(300)) * time.Microsecond)
			}
		}()
		n := 500 + rng.IntN(3000)
		for seq := first; seq < first+uint64(n); seq++ {
			if _, err := l.Append(payload(seq)); err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 {
				l.Commit()
			}
		}
		l.Commit()
		durable = l.Durable()
		fs = fs.Crash()
		stop.Store(true)
		wg.Wait()
		_ = l.Close() // fails: the machine is down
		opts.FS = fs
	}
	l, err := queue.Open("/data/log", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if h := l.Head().Seq; h < durable {
		t.Fatalf("head %d below the durable %d", h, durable)
	}
	checkAll(t, l)
}

// checkAll reads every stored record and checks its payload.
func checkAll(t *testing.T, l *queue.Log) {
	t.Helper()
	p := l.First()
	for p.Seq < l.Head().Seq {
		rec, err := l.Read(p)
		if err != nil {
			t.Fatalf("read %d: %v", p.Seq, err)
		}
		if rec.Pos.Seq != p.Seq || !bytes.Equal(rec.Data, payload(p.Seq)) {
			t.Fatalf("record %d damaged", p.Seq)
		}
		p = rec.Next
	}
}
