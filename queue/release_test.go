package queue

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// residentBytes returns the resident bytes of the mapping b belongs to,
// from /proc/self/smaps (0, false where there is none).
func residentBytes(t testing.TB, b []byte) (int64, bool) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	addr := uint64(uintptr(unsafe.Pointer(&b[0])))
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if fs := strings.Fields(line); len(fs) > 0 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			lo, hi, _ := strings.Cut(fs[0], "-")
			l, _ := strconv.ParseUint(lo, 16, 64)
			h, _ := strconv.ParseUint(hi, 16, 64)
			in = addr >= l && addr < h
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			var kb int64
			fmt.Sscanf(strings.TrimPrefix(line, "Rss:"), "%d", &kb)
			return kb << 10, true
		}
	}
	return 0, false
}

// TestReleasePagesIdle: a log that got one record holds one page; once it
// is idle, ReleasePages leaves none of it resident, and the record still
// reads back (from the page cache).
func TestReleasePagesIdle(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{NoLock: true})
	appendN(t, l, 1)
	seg := l.table.Load().segs[0]
	waitFor(t, "the first page prefaulted", func() bool { return seg.wakeAt.Load() > 0 })
	if rss, ok := residentBytes(t, seg.data); !ok {
		t.Skip("no /proc/self/smaps")
	} else if rss > int64(pageSize) {
		t.Fatalf("a log with one record holds %d bytes resident, want at most a page", rss)
	}
	l.ReleasePages() // the append since Open: not idle yet
	waitFor(t, "the first sweep", func() bool { return !l.rel.sweep.Load() })
	l.ReleasePages()
	waitFor(t, "the idle log's pages released", func() bool {
		rss, _ := residentBytes(t, seg.data)
		return rss == 0
	})
	// It stays so: a Sync (which wakes the background goroutine) does not
	// prefault a dormant log again.
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	l.kick()
	waitFor(t, "the kick taken", func() bool { return len(l.wake) == 0 })
	if rss, _ := residentBytes(t, seg.data); rss != 0 {
		t.Fatalf("%d bytes resident again after a Sync", rss)
	}
	if n := readAll(t, l); n != 1 {
		t.Fatalf("read %d records back", n)
	}
	// An append wakes it: the window comes back.
	appendN(t, l, 1)
	l.kick()
	waitFor(t, "the window prefaulted again", func() bool {
		rss, _ := residentBytes(t, seg.data)
		return rss > 0
	})
}
