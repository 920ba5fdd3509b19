package queue

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Prefaulting.
//
// A store into a page of a MAP_SHARED file mapping that is not yet mapped
// writable takes a page fault: the kernel allocates a page-cache page, zeroes
// it, calls the file system's page_mkwrite and installs the PTE. Measured on
// this machine (ext4, kernel 6.18, 2 vCPU AMD EPYC VM): ~950 ns per 4 KiB
// page, in the event loop. A sparse file on a full disk also turns that fault
// into SIGBUS.
//
// So a per-Log background goroutine keeps a window (Options.PrefaultBytes,
// 1 MiB, doubling up to 16 MiB while the appender outruns it) ahead of the
// write offset: it fallocates the range first (blocks exist, so the
// appender never meets ENOSPC as SIGBUS; Append allocates the next window
// itself, and returns the error, when the goroutine lags) and then runs
// MADV_POPULATE_WRITE over it in 256 KiB steps (falling back to an atomic add
// of 0 on one word per page where the kernel lacks it: a write fault that
// cannot change data the appender may be writing concurrently). The appender
// wakes the goroutine through a one-slot channel when its write offset
// passes the middle of the window; it looks only when a record crosses a page
// boundary. MADV_WILLNEED was not enough: on a file mapping it only starts
// readahead, it neither allocates nor maps pages writable.
//
// Effect (log_timing_test.go, 16 MiB segments, consumed steady state):
//
//	BenchmarkAppendLatency, 1 KiB records paced at 256 MiB/s:
//	  prefault=on:  ~300 faults/GiB in the appender, ~0.5% of appends > 1 µs
//	  prefault=off: 166,000 faults/GiB,             ~16% of appends > 1 µs
//	BenchmarkAppendPrefault, unpaced (faster than the kernel can populate
//	pages, ~4 GB/s, so some faults remain):
//	  200 B: 163 vs 235-273 ns/op; 1 KiB: 711 vs 1086 ns/op;
//	  16 KiB: 1.1-1.4 vs 0.95-1.07 GB/s
//	A fully prefaulted segment takes 200-byte appends at 33 ns/op.
//
// The same goroutine pre-creates the next segment (create, ftruncate, mmap,
// first window prefaulted) once the active one is half full, under a spare
// name, so that moving to a new segment costs the appender no syscall; it
// renames the segment after its first seq once the appender has taken it, and
// closes descriptors of sealed segments. A crash before the rename is handled
// by Open, which adopts a spare file whose first record is valid. The
// directory fsync that makes creations, renames and removals durable is done
// by Sync, never by Append.

// background is the per-Log goroutine (file mode, unless NoPrefault). It
// prefaults first and between every other step, so housekeeping (an unlink
// of a 100 MiB file takes milliseconds) never lets the appender run into
// unprefaulted pages.
//
// It runs only while there is work: started by kick, it exits after
// bgLinger without one, so that an idle log holds no goroutine (10,000
// idle topics held 10,000 parked goroutines and their stacks).
func (l *Log) background() {
	defer l.bg.wg.Done()
	idle := time.NewTimer(bgLinger)
	defer idle.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		case <-idle.C:
			l.bg.running.Store(false)
			// A kick between the timer and the store saw this goroutine
			// running and started none: take its work.
			if len(l.wake) == 0 || !l.bg.running.CompareAndSwap(false, true) {
				return
			}
			idle.Reset(bgLinger)
			continue
		}
		l.keepUp()
		l.tidy()
		l.keepUp()
		if l.syncMu.TryLock() {
			l.reapLocked(l.keepUp)
			l.syncMu.Unlock()
		} // else Sync is running; it kicks us when it is done
		l.keepUp()
		l.prepareSpare()
		l.releasePass()
		idle.Reset(bgLinger)
	}
}

// keepUp is what the background goroutine does between the slow steps
// (an unlink of a 100 MiB segment takes milliseconds): prefault ahead of
// the appender, and release what readers and the appender left behind
// (a drain at 190 MB/s left 40 MiB mapped while four consumed segments
// were unlinked before this ran between them).
func (l *Log) keepUp() {
	l.prefaultActive()
	l.releasePass()
}

// bgLinger is how long the background goroutine waits for work before it
// exits.
const bgLinger = time.Second

// bgState tracks the on-demand background goroutine.
type bgState struct {
	running atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex // serialises starts with stopBackground
	stopped bool
}

// kick wakes the background goroutine without blocking, starting it if it
// is not running (file mode, unless NoPrefault). Starting one costs two
// allocations; it happens only after the log was idle for bgLinger.
func (l *Log) kick() {
	if l.wake == nil {
		return
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	if l.bg.running.Load() || !l.bg.running.CompareAndSwap(false, true) {
		return
	}
	l.bg.mu.Lock()
	defer l.bg.mu.Unlock()
	if l.bg.stopped {
		l.bg.running.Store(false)
		return
	}
	l.bg.wg.Add(1)
	go l.background()
}

func (l *Log) stopBackground() {
	if l.stop != nil {
		l.bg.mu.Lock()
		l.bg.stopped = true
		l.bg.mu.Unlock()
		close(l.stop)
		l.bg.wg.Wait()
		l.stop = nil
	}
}

// tidy renames segments still carrying a spare name. Background goroutine,
// or Close/Remove once it has stopped.
func (l *Log) tidy() {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Every segment is looked at (a pointer walk): the appender creates a
	// segment itself when no spare is ready, so a renamed one may follow
	// one still to rename.
	for _, s := range l.table.Load().segs {
		if !s.temp {
			continue
		}
		path := filepath.Join(l.dir, segName(s.id))
		if err := l.fs.Rename(s.path, path); err != nil {
			l.setBgErrLocked(&segError{op: "rename", id: s.id, err: err})
		} else {
			s.path, s.temp = path, false
			l.mu.dirDirty = true
		}
	}
}

func (l *Log) setBgErrLocked(err error) {
	if l.mu.bgErr == nil {
		l.mu.bgErr = err
	}
}

// reapLocked unmaps the segments removed by DeleteBefore (or replaced by
// growEmpty) and deletes their files. l.syncMu must be held, so no Sync is
// touching their mappings; only the background goroutine, or Close/Remove
// after stopping it, call it, so no prefault is touching them either.
// between, if not nil, runs after each segment.
func (l *Log) reapLocked(between func()) {
	l.mu.Lock()
	doomed := l.mu.doomed
	l.mu.doomed = nil
	l.mu.Unlock()
	if len(doomed) == 0 {
		return
	}
	var err error
	removed := false
	for _, s := range doomed {
		if s.data != nil {
			err = errors.Join(err, l.munmap(s.data))
			s.data = nil
		}
		if s.unmapOnly {
			continue
		}
		err = errors.Join(err, l.fs.Remove(s.path))
		removed = true
		if between != nil {
			between()
		}
	}
	l.mu.Lock()
	l.mu.dirDirty = l.mu.dirDirty || removed
	if err != nil {
		l.setBgErrLocked(fmt.Errorf("queue: deleting segments: %w", err))
	}
	l.mu.Unlock()
}

// prefaultChunk is how much prefault populates per madvise call before it
// looks at the write offset again.
const prefaultChunk = 256 << 10

// prefaultActive prefaults the active segment, unless the log is dormant:
// ReleasePages found it idle and released its window, and nothing has
// been committed since (an append that has not crossed a page needs no
// window). Background goroutine only.
func (l *Log) prefaultActive() {
	if l.rel.dormant {
		if l.headTotal() == l.rel.sweptTotal {
			return
		}
		// Woken: the window it had, so that a topic that was busy before
		// its pause does not ramp up from a page again (BenchmarkAppendAfterIdle).
		l.rel.dormant, l.pfWindow = false, max(l.pfWindow, l.rel.window)
	}
	t := l.table.Load()
	l.prefault(t.segs[len(t.segs)-1])
}

// prefault reserves and prefaults s up to a window beyond its write offset,
// in chunks, re-reading the offset after each. If the appender has overrun
// the prefaulted range (it writes faster than the kernel populates pages:
// ~4 GB/s here), the window doubles, up to maxPrefaultFactor times
// PrefaultBytes, and the
// pages the appender already faulted itself are skipped. Background
// goroutine only (it owns s.pf and l.pfWindow).
func (l *Log) prefault(s *segment) {
	limit := len(s.data) - l.trailer
	if w := int(s.written.Load()); w > 0 && l.pfWindow < l.window && pageUp(w)+l.pfWindow > s.pf {
		// The appender came within half a window: the log is in use, and
		// the window grows with it (one page for a fresh log, up to
		// PrefaultBytes), so that a topic that got one message holds
		// one page and a busy one wakes this goroutine once per
		// half window.
		l.pfWindow *= 2
	}
	for {
		w := int(s.written.Load())
		if w > s.pf {
			if l.pfWindow < maxPrefaultFactor*l.window {
				l.pfWindow *= 2
			}
			s.pf = pageDown(w)
		}
		target := min(pageUp(w)+l.pfWindow, limit)
		if target <= s.pf {
			break
		}
		if r := int(s.reserved.Load()); r < target {
			if err := l.allocate(s, r, target); err != nil {
				break // ENOSPC and the like: Append will report it
			}
		}
		step := min(target, s.pf+prefaultChunk)
		b := s.data[pageDown(s.pf):min(pageUp(step), len(s.data))]
		if !l.noPopulate.Load() {
			if err := l.fs.Populate(b); errors.Is(err, ErrUnsupported) {
				l.noPopulate.Store(true)
			}
		}
		if l.noPopulate.Load() {
			touchPages(b)
		}
		s.pf = step
		s.wakeAt.Store(int64(s.pf - l.pfWindow/2))
	}
	s.wakeAt.Store(int64(s.pf - l.pfWindow/2))
}

// touchPages write-faults every page of b (page-aligned) without changing
// it: an atomic add of zero is a write that cannot lose a concurrent store of
// the appender to the same word.
func touchPages(b []byte) {
	for i := 0; i < len(b); i += pageSize {
		atomic.AddUint32((*uint32)(unsafe.Pointer(&b[i])), 0)
	}
}

// prepareSpare pre-creates the next segment once the active one is half
// full (or within two windows of its end). Background goroutine only.
func (l *Log) prepareSpare() {
	if l.spare.Load() != nil {
		return
	}
	t := l.table.Load()
	active := t.segs[len(t.segs)-1]
	limit := len(active.data) - l.trailer
	w := int(active.written.Load())
	if w < limit/2 && limit-w > 2*l.window {
		return
	}
	s, err := l.createSegment(0, l.segSize, true)
	if err != nil {
		return // Append creates the segment itself and reports the error
	}
	l.prefault(s)
	l.spare.Store(s)
}

// Sync makes every committed record durable (msync of the mapped ranges
// written since the previous Sync; records appended but not yet committed are
// covered only if they share a page with committed ones), fsyncs the
// directory if segment files were created, renamed or removed, and then
// writes the trailer of every segment that became fully durable (see the
// package documentation), so that a later Open need not scan it. It also
// reports an earlier failure of the background goroutine (a failed rename or
// unlink). Without new commits or directory changes it makes no syscall.
//
// Safe for concurrent use with every method, including Append and Close (it
// then returns ErrClosed); concurrent Syncs are serialised. It blocks on disk
// I/O: call it from a background goroutine, never from the event loop. A no-op
// in memory.
func (l *Log) Sync() error {
	if l.mem {
		if l.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	l.syncMu.Lock()
	if l.sy.closed {
		l.syncMu.Unlock()
		return ErrClosed
	}
	h := l.Head()
	err := l.syncLocked(h.Seq, h.Seg, int(h.Off))
	l.reapIfStoppedLocked()
	l.syncMu.Unlock()
	l.kick()
	return err
}

// syncDir fsyncs the log's directory: through the descriptor Open keeps
// for the lock, or (NoLock) one opened for the occasion.
func (l *Log) syncDir() error {
	if l.dirfd < 0 {
		return SyncDirFS(l.fs, l.dir)
	}
	if err := l.fs.Fsync(l.dirfd); err != nil {
		return fmt.Errorf("queue: fsync dir %s: %w", l.dir, err)
	}
	return nil
}

// reapIfStoppedLocked reaps deleted segments when there is no background
// goroutine to do it.
func (l *Log) reapIfStoppedLocked() {
	if l.wake == nil {
		l.reapLocked(nil)
	}
}

// syncLocked makes everything up to the position (seq, seg, off) durable.
// l.syncMu must be held.
func (l *Log) syncLocked(seq, seg uint64, off int) error {
	l.mu.Lock()
	dirty, bgErr := l.mu.dirDirty, l.mu.bgErr
	l.mu.dirDirty, l.mu.bgErr = false, nil
	l.mu.Unlock()
	if seq == l.sy.seq && !dirty {
		return bgErr
	}
	fail := func(err error) error {
		if dirty {
			l.mu.Lock()
			l.mu.dirDirty = true
			l.mu.Unlock()
		}
		return errors.Join(bgErr, err)
	}

	segs := l.table.Load().segs
	for i, s := range segs {
		if s.id < l.sy.seg {
			continue
		}
		if s.id > seg {
			break
		}
		start := 0
		if s.id == l.sy.seg {
			start = l.sy.off
		}
		end := off
		if s.id < seg {
			end = s.end
		}
		if end > start {
			if err := l.fs.Msync(s.data[pageDown(start):end]); err != nil {
				return fail(&segError{op: "msync", id: s.id, err: err})
			}
		}
		if s.id < seg {
			l.sy.seg, l.sy.off = segs[i+1].id, 0
		} else {
			l.sy.seg, l.sy.off = s.id, end
		}
	}
	if dirty {
		if err := l.syncDir(); err != nil {
			return fail(err)
		}
	}
	// Seal the segments that just became durable, oldest first.
	for i, s := range segs {
		if s.id >= l.sy.seg || i+1 >= len(segs) {
			break
		}
		if s.sealedSynced {
			continue
		}
		if s.end > len(s.data)-trailerSize {
			// No room (a file this writer did not size): leave it to be
			// scanned by every Open.
			s.sealedSynced = true
			continue
		}
		b := s.data[len(s.data)-trailerSize:]
		putTrailer(b, s.id, trailer{end: uint32(s.end), next: segs[i+1].id})
		p := pageDown(len(s.data) - trailerSize)
		if err := l.fs.Msync(s.data[p:]); err != nil {
			return fail(&segError{op: "msync trailer", id: s.id, err: err})
		}
		// Writing the trailer mapped its page again; nobody reads it.
		_ = l.fs.Release(s.data[p:])
		s.sealedSynced = true
	}
	l.sy.seq = seq
	if seq > l.durable.Load() {
		l.durable.Store(seq)
	}
	return bgErr
}

// Close makes everything appended durable (including records not yet
// committed: a later Open sees every intact record), unmaps the segments,
// truncates the active segment file to its used length (so that the next Open
// scans no sparse tail) and closes the files. Must not run concurrently with
// Append, Commit, Read or DeleteBefore; a concurrent Sync returns ErrClosed.
// A second Close returns ErrClosed.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return ErrClosed
	}
	if l.mem {
		l.table.Store(nil)
		return nil
	}
	l.stopBackground()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.sy.closed = true

	l.tidy()
	l.reapLocked(nil)
	var errs []error
	if s := l.spare.Swap(nil); s != nil {
		l.release(s)
		errs = append(errs, l.fs.Remove(s.path))
		l.mu.Lock()
		l.mu.dirDirty = true
		l.mu.Unlock()
	}
	w := &l.w
	errs = append(errs, l.syncLocked(w.seq, w.seg.id, w.off))

	for _, s := range l.table.Load().segs {
		if s.data != nil {
			errs = append(errs, l.munmap(s.data))
			s.data = nil
		}
	}
	last := w.seg
	errs = append(errs, l.withSeg(last, "truncate", func(fd int) error {
		if err := l.fs.Ftruncate(fd, int64(w.off)); err != nil {
			return &segError{op: "ftruncate", id: last.id, err: err}
		}
		if err := l.fs.Fsync(fd); err != nil {
			return &segError{op: "fsync", id: last.id, err: err}
		}
		return nil
	}))
	l.table.Store(nil)
	if l.dirfd >= 0 {
		errs = append(errs, l.fs.Close(l.dirfd))
		l.dirfd = -1
	}
	return errors.Join(errs...)
}

// Remove closes the log without syncing and deletes every segment file (the
// topic was deleted), then removes dir if that left it empty. Same
// concurrency rules as Close. After a Close, Remove still deletes the files
// (it reopens nothing; it lists dir).
func (l *Log) Remove() error {
	if l.mem {
		l.closed.Store(true)
		l.table.Store(nil)
		return nil
	}
	var errs []error
	if !l.closed.Swap(true) {
		l.stopBackground()
		l.syncMu.Lock()
		l.sy.closed = true
		l.mu.Lock()
		doomed := l.mu.doomed
		l.mu.doomed = nil
		l.mu.Unlock()
		if s := l.spare.Swap(nil); s != nil {
			doomed = append(doomed, s)
		}
		for _, s := range doomed {
			if s.unmapOnly { // its descriptor belongs to a live segment
				_ = l.munmap(s.data)
				s.data = nil
				continue
			}
			l.release(s)
		}
		for _, s := range l.table.Load().segs {
			l.release(s)
		}
		l.table.Store(nil)
		l.syncMu.Unlock()
	}
	ents, err := l.fs.ReadDir(l.dir)
	if err != nil {
		errs = append(errs, err)
	}
	for _, ent := range ents {
		if _, ok := parseSegName(ent.Name); !ent.Dir && (ok || filepath.Ext(ent.Name) == spareSuffix) {
			errs = append(errs, l.fs.Remove(filepath.Join(l.dir, ent.Name)))
		}
	}
	if l.dirfd >= 0 {
		errs = append(errs, l.fs.Fsync(l.dirfd), l.fs.Close(l.dirfd))
		l.dirfd = -1
	} else if l.opts.NoLock {
		errs = append(errs, SyncDirFS(l.fs, l.dir))
	}
	if names, err := l.fs.ReadDir(l.dir); err == nil && len(names) == 0 {
		_ = l.fs.Remove(l.dir)
	}
	return errors.Join(errs...)
}
