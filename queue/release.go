package queue

import (
	"math"
	"sync"
	"sync/atomic"
)

// Releasing pages.
//
// Every page of a segment that the appender writes, the prefaulter
// populates or a reader reads stays mapped in the process until something
// unmaps it: the process's RSS grew with the log (bench_writer for 10 s,
// then bench_reader draining it: 2.1-2.9 GiB peak RSS, against upstream's
// 15 MiB with --mem-queue-size=0), although the data lives in the file and
// the page cache either way.
//
// So the background goroutine drops pages nobody is about to touch with
// FS.Release (MADV_DONTNEED on the shared mapping). That only removes the
// process's page-table entries: the data stays in the page cache (dirty
// pages stay dirty and are written back as usual, msync still covers them)
// and in the file, and the next access faults the page back in from the
// page cache. Unlike munmap it cannot pull memory from under a reader: a
// Record.Data that aliases a released page still reads the same bytes. So
// no reader has to be tracked for safety, only for economy:
//
//   - behind the writer: sealed segments entirely, the active one up to
//     writeKeep behind the write offset (live consumers, which read what was
//     just written, find it still mapped);
//   - behind each reader that reports its progress (Passed): what it read
//     more than readKeep ago, in steps of readChunk;
//   - on ReleasePages (the engine calls it every --sync-timeout for logs in
//     use): whatever else was faulted in (requeued messages read again, a
//     rewind, recovery's scan), and, for a log that got no append since the
//     previous call, its prefaulted window too, so an idle topic holds no
//     memory at all.
//
// What stays mapped is then the work in progress: the prefault window (up
// to maxPrefaultFactor*PrefaultBytes), writeKeep behind the writer, and
// readKeep+readChunk behind each reader. munmap of sealed segments was the
// other candidate; it needs every reader (and every Record.Data still in
// use) accounted for, and buys nothing more for RSS.
const (
	// maxPrefaultFactor caps the prefault window at that many times
	// PrefaultBytes (it doubles while the appender outruns it). It was
	// 16; at 4 (4 MiB) BenchmarkAppendPrefault is unchanged within noise
	// (docs/BENCHMARKS.md) and the window is a quarter of the memory.
	maxPrefaultFactor = 2
	writeKeep         = 512 << 10
	readKeep          = 512 << 10
	readChunk         = 512 << 10
)

// relSpan is a range of a segment to release, [from, to).
type relSpan struct {
	seg      uint64
	from, to int
}

// releaser is a log's queue of ranges to release.
type releaser struct {
	mu    sync.Mutex
	queue []relSpan
	spare []relSpan // the queue's other buffer (background-owned)
	sweep atomic.Bool
	// Background-owned (set by Open before): hTotal at the last sweep,
	// and whether that sweep found the log idle (see prefaultActive).
	sweptTotal int64
	dormant    bool
	window     int // the prefault window before it went dormant, restored when it wakes
}

func (r *releaser) add(s relSpan) {
	r.mu.Lock()
	r.queue = append(r.queue, s)
	r.mu.Unlock()
}

// take swaps the queue for the spare buffer (background goroutine).
func (r *releaser) take() []relSpan {
	r.mu.Lock()
	q := r.queue
	r.queue = r.spare[:0]
	r.mu.Unlock()
	return q
}

// ReadMark is one reader's progress through a Log, for Passed. The zero
// value is ready to use. It belongs to its reader: not safe for concurrent
// use.
type ReadMark struct {
	seg uint64
	off int
	set bool
}

// Passed tells the log that the reader owning m has reached p: the pages it
// read more than about a MiB before p may leave the process (they are
// released by the background goroutine; the data stays in the file, and a
// later Read faults it back in). Cheap enough to call after every batch a
// reader takes: it compares two numbers unless the reader has moved on by
// a MiB or to another segment. Safe for concurrent use with every method
// but Close and Remove, for different marks; it does not allocate in
// steady state.
func (l *Log) Passed(m *ReadMark, p Pos) {
	if m.set && p.Seg == m.seg && int(p.Off) >= m.off && int(p.Off) < m.off+readKeep+readChunk {
		return
	}
	l.passed(m, p)
}

func (l *Log) passed(m *ReadMark, p Pos) {
	off := int(p.Off)
	if l.wake == nil || !m.set || p.Seg < m.seg || (p.Seg == m.seg && off < m.off) {
		// First call, a rewind, or no background goroutine to do it.
		*m = ReadMark{seg: p.Seg, off: pageDown(off), set: true}
		return
	}
	if p.Seg > m.seg {
		// The rest of the segment it left: by the background goroutine,
		// which checks that the segment is still there (the other
		// readers may have left it too, and the sync goroutine deleted
		// it).
		l.rel.add(relSpan{seg: m.seg, from: m.off, to: math.MaxInt})
		m.seg, m.off = p.Seg, 0
		l.kick()
	}
	if to := pageDown(off - readKeep); to > m.off {
		// Behind the reader in the segment it is reading: here and now.
		// That segment cannot go away meanwhile (DeleteBefore must not
		// cover p, Read's own rule), and doing it on the reader's
		// goroutine keeps the reader's pages bounded even when the
		// background goroutine waits for a CPU: with it there, a drain
		// at 190 MB/s on two busy cores left up to 40 MiB mapped. It
		// costs one madvise per readChunk read (~2,000 messages of
		// 200 B), which takes no lock the appender takes and does no I/O.
		t := l.table.Load()
		if t != nil {
			if i := t.find(m.seg); i >= 0 {
				l.releaseRange(t.segs[i], m.off, to)
			}
		}
		m.off = to
	}
}

// ReleasePages asks the background goroutine to drop from the process every
// page of the log that is not in use: all of the sealed segments, and the
// active one up to a little behind the write offset; when nothing was
// appended since the previous call, the whole active segment, prefaulted
// window included (the window then starts again at a page). The data stays
// in the files; readers that come back fault pages in again. Never blocks;
// a no-op in memory and with NoPrefault. Safe for concurrent use.
func (l *Log) ReleasePages() {
	if l.wake == nil {
		return
	}
	l.rel.sweep.Store(true)
	l.kick()
}

// MappedBytes returns the bytes of address space the log's mappings take
// (segments, the pre-created spare, and replaced mappings not yet unmapped):
// an upper bound of what it can hold resident. 0 in memory. Safe for
// concurrent use.
func (l *Log) MappedBytes() int64 { return l.mapped.Load() }

// releasePass drops what nobody is about to touch. Background goroutine
// only (it owns segment.rel and pf, and reaps segments itself, so every
// segment of the table it loads stays mapped while it works).
func (l *Log) releasePass() {
	t := l.table.Load()
	segs := t.segs
	active := segs[len(segs)-1]
	if l.rel.sweep.Swap(false) {
		total := l.headTotal()
		idle := total == l.rel.sweptTotal
		l.rel.sweptTotal = total
		for _, s := range segs[:len(segs)-1] {
			l.releaseRange(s, 0, len(s.data))
			s.rel = len(s.data)
		}
		w := pageDown(int(active.written.Load()))
		if idle {
			l.releaseRange(active, 0, len(active.data))
			active.rel = w
			active.pf = w
			l.rel.window, l.pfWindow = l.pfWindow, pageSize
			l.rel.dormant = true
			active.wakeAt.Store(0) // the next append that crosses a page wakes us
			if sp := l.spare.Load(); sp != nil {
				l.releaseRange(sp, 0, len(sp.data))
				sp.pf = 0
			}
		} else {
			l.releaseRange(active, 0, w-writeKeep)
			active.rel = max(active.rel, w-writeKeep)
		}
	}
	for i := len(segs) - 2; i >= 0; i-- {
		s := segs[i]
		if s.rel >= len(s.data) {
			break // and so are the older ones
		}
		l.releaseRange(s, s.rel, len(s.data))
		s.rel = len(s.data)
	}
	if to := pageDown(int(active.written.Load())) - writeKeep; to >= active.rel+readChunk {
		l.releaseRange(active, active.rel, to)
		active.rel = to
	}
	q := l.rel.take()
	for _, r := range q {
		if i := t.find(r.seg); i >= 0 {
			s := segs[i]
			l.releaseRange(s, r.from, min(r.to, len(s.data)))
		}
	}
	l.rel.spare = q[:0]
}

// releaseRange releases [from, to) of s (from page-aligned).
func (l *Log) releaseRange(s *segment, from, to int) {
	from = max(from, 0)
	if to <= from || s.data == nil {
		return
	}
	_ = l.fs.Release(s.data[from:to])
}
