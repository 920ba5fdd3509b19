package queue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Sentinel errors. Compare with errors.Is: some are wrapped with detail.
var (
	// ErrEnd is returned by Read at (or beyond) the committed head: there is
	// nothing (yet) to read there.
	ErrEnd = errors.New("queue: end of log")
	// ErrCorrupt reports a record whose header is impossible or whose CRC
	// does not match, or a Pos that does not point at a record boundary.
	ErrCorrupt = errors.New("queue: corrupt record")
	// ErrClosed is returned by every method of a closed Log.
	ErrClosed = errors.New("queue: log closed")
	// ErrTooLarge is returned by Append for a payload over MaxRecordSize.
	ErrTooLarge = errors.New("queue: record too large")
	// ErrLocked is returned by Open when another Log (in this or another
	// process) has the directory open.
	ErrLocked = errors.New("queue: log directory locked by another user")
)

// Pos locates a record. Seq is the record's index in the log (0, 1, 2, ...
// for the life of the log, never reused, stored in the record so that it
// survives restarts), Seg the id of its segment (the Seq of the segment's first
// record, which also names the file) and Off the byte offset of the record in
// the segment. Positions are comparable by Seq alone: two Pos with the same Seq
// denote the same place (the end of a sealed segment and the start of the next
// one, for example).
//
// The zero Pos is a valid argument to Read: it means "from the oldest stored
// record". A Pos is a plain value; it stays meaningful across restarts.
type Pos struct {
	Seq uint64
	Seg uint64
	Off uint32
}

// Record is one record returned by Read. It is a plain value, safe to copy
// and to hand to other goroutines. The bytes Data points to never change
// while the segment lives, so any number of goroutines may read them
// concurrently; nobody may write them.
type Record struct {
	// Pos is where this record is.
	Pos Pos
	// Next is the position of the record after it: what to pass to Read
	// next.
	Next Pos
	// Data is the payload. It aliases the segment (the mapped file, or the
	// in-memory buffer): it must not be modified, and it stays valid only until
	// the segment is deleted by DeleteBefore (or the log is closed). Its
	// capacity equals its length.
	Data []byte
}

// Log is a segmented, append-only record log, file-backed through mmap or in
// memory (Options.InMemory).
//
// Concurrency: one goroutine at a time may call Append and Commit (the
// "appender"; typically the event loop that owns the topic). Read, Head,
// First, Size, Sync and DeleteBefore are safe for concurrent use with each
// other and with the appender; Read never blocks and never takes a lock.
// Close and Remove must not run concurrently with Append, Commit, Read or
// DeleteBefore (Sync is fine: it then returns ErrClosed); after they return
// every method returns ErrClosed or a zero value.
//
// Internally: the segment table is an immutable slice behind an atomic
// pointer (copy-on-write, writers serialised by mu); the committed head is an
// atomic seqlock; a background goroutine (file mode only) renames,
// pre-creates and prefaults segments, and unmaps deleted ones. Lock order:
// syncMu before mu.
type Log struct {
	dir     string
	mem     bool
	fs      FS
	opts    Options
	segSize int // size of a new regular segment
	trailer int // bytes reserved at the end of a segment (trailerSize, 0 in memory)
	window  int // reservation / prefault unit (page multiple)

	closed atomic.Bool
	table  atomic.Pointer[segTable] // nil once closed; changes once per segment

	// The fields are grouped by writer, each group on its own cache lines, so
	// that an Append (which writes w) does not invalidate the line readers
	// load hSeq and table from. Measured with BenchmarkReadWhileAppending:
	// 36 ns/op unpadded, 30 ns/op padded (and the appender got faster too).
	_ [64]byte

	// The committed head, written by Commit under a seqlock: hVer is odd
	// while the fields change. Read needs only hSeq (which Commit stores last).
	hVer, hSeq, hSeg, hOff atomic.Uint64
	hTotal                 atomic.Int64 // bytes appended up to the committed head
	_                      [64]byte

	// w is the appender's state, owned by the goroutine calling Append.
	w struct {
		seg       *segment
		off       int    // write offset in seg
		cap       int    // usable bytes of seg: len(seg.data) - trailer
		resv      int    // cached seg.reserved
		seq       uint64 // seq of the next record
		total     int64  // bytes appended over the life of this Log value, plus those found by Open
		committed uint64 // w.seq at the last Commit
	}
	_ [64]byte

	deleted atomic.Int64 // bytes of segments removed by DeleteBefore
	mapped  atomic.Int64 // bytes mapped (MappedBytes)

	// durable is the seq below which every record is known durable: the
	// committed head covered by the last successful Sync (see Durable).
	durable atomic.Uint64

	// mu serialises the writers of the segment table (a segment switch,
	// DeleteBefore) and guards the fields below and segment.path/temp.
	mu struct {
		sync.Mutex
		doomed   []*segment // out of the table; waiting to be unmapped (and removed)
		dirDirty bool       // a segment file was created, renamed or removed since the last dir fsync
		bgErr    error      // failure of the background goroutine, reported by Sync
	}

	// syncMu serialises Sync, the unmapping of deleted segments and Close; it
	// guards sy and segment.sealedSynced.
	syncMu sync.Mutex
	sy     struct {
		seg    uint64 // segments below seg are durable
		off    int    // and [0, off) of seg
		seq    uint64 // committed seq covered by the last Sync
		closed bool
	}

	// Background goroutine (file mode, unless Options.NoPrefault).
	spare      atomic.Pointer[segment] // pre-created next segment, taken by the appender
	spareSeq   int                     // names spare files; background-owned
	pfWindow   int                     // current prefault window; background-owned
	rel        releaser                // pages to drop from the process (release.go)
	wake       chan struct{}
	stop       chan struct{}
	bg         bgState
	dirfd      int
	noPopulate atomic.Bool // MADV_POPULATE_WRITE unavailable: touch pages instead
	noFalloc   atomic.Bool // fallocate unavailable: reservation is a no-op
}

// segTable is an immutable snapshot of the live segments, oldest first,
// sorted by id. The last one is the active segment.
type segTable struct {
	segs []*segment
}

// Open opens (creating if needed) the log stored in dir, recovering after a
// crash: segments sealed by a completed Sync are trusted, every other segment
// is scanned record by record and the log ends at the first record that fails
// validation (bytes after it are discarded; later segments are removed). dir
// is ignored when opts.InMemory. The caller owns the returned Log.
func Open(dir string, opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	l := &Log{
		dir:     dir,
		mem:     o.InMemory,
		fs:      o.FS,
		opts:    o,
		segSize: int(o.SegmentSize),
		window:  int(o.PrefaultBytes),
		dirfd:   -1,
	}
	// A log starts prefaulting (and reserving) one page ahead; the window
	// doubles each time the appender outruns it (see prefault), so a
	// topic that got one message costs one page of memory and one block.
	l.pfWindow = pageSize
	if l.mem {
		s := l.newMemSegment(0, l.segSize)
		l.install([]*segment{s}, 0, 0)
		return l, nil
	}
	l.trailer = trailerSize
	if err := l.recover(); err != nil {
		l.abandon()
		return nil, err
	}
	if !o.NoPrefault {
		l.wake = make(chan struct{}, 1)
		l.stop = make(chan struct{})
		l.kick()
	}
	return l, nil
}

// install sets the initial state from recovered (or fresh) segments: the
// last one is active and ends at end; head is its next seq.
func (l *Log) install(segs []*segment, end int, head uint64) {
	var total int64
	for _, s := range segs[:len(segs)-1] {
		total += int64(s.end)
	}
	last := segs[len(segs)-1]
	last.end = end
	total += int64(end)
	last.written.Store(int64(end))
	last.raiseReserved(int64(end))
	last.pf = end
	l.table.Store(&segTable{segs: segs})

	w := &l.w
	w.seg, w.off, w.cap, w.seq, w.total, w.committed = last, end, len(last.data)-l.trailer, head, total, head
	w.resv = int(last.reserved.Load())
	l.hSeg.Store(last.id)
	l.hOff.Store(uint64(end))
	l.hTotal.Store(total)
	l.hSeq.Store(head)
	l.rel.sweptTotal = total

	for _, s := range segs {
		if !s.sealedSynced {
			l.sy.seg = s.id
			break
		}
	}
	// Records of sealed, synced segments are durable; the rest (the
	// active segment, left by a process crash perhaps) wait for a Sync.
	l.durable.Store(l.sy.seg)
}

func (l *Log) newMemSegment(id uint64, size int) *segment {
	s := &segment{id: id, data: make([]byte, size), fd: -1}
	s.reserved.Store(int64(size))
	s.wakeAt.Store(math.MaxInt64) // nobody to wake
	return s
}

// Append appends one record whose payload is the concatenation of parts and
// returns its position. The record is invisible to Read until Commit.
//
// Not safe for concurrent Append/Commit calls (the caller serialises them);
// safe concurrently with Read, Head, First, Size, Sync and DeleteBefore. It
// does not allocate in steady state; it makes syscalls only when it moves to a
// new segment (an mmap'd spare is normally ready; see Options.PrefaultBytes)
// or when the background goroutine has fallen behind on block reservation.
func (l *Log) Append(parts ...[]byte) (Pos, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if l.closed.Load() {
		return Pos{}, ErrClosed
	}
	if n > MaxRecordSize {
		return Pos{}, ErrTooLarge
	}
	w := &l.w
	need := recSize(n)
	if w.off+need > w.cap {
		if err := l.switchSegment(need); err != nil {
			return Pos{}, err
		}
	}
	off := w.off
	end := off + need
	if end > w.resv {
		if err := l.reserve(end); err != nil {
			return Pos{}, err
		}
	}
	s := w.seg
	rec := s.data[off:end]
	binary.LittleEndian.PutUint64(rec[8:16], w.seq)
	o := hdrSize
	for _, p := range parts {
		o += copy(rec[o:], p)
	}
	// Padding bytes are already zero: segments start zeroed and Open zeroes
	// whatever follows the last valid record.
	//
	// The CRC covers seq and payload, which are contiguous in the segment;
	// computing it there rather than over parts keeps parts from escaping
	// (crc32 calls through a function variable), so callers may pass stack
	// buffers without them moving to the heap.
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(rec[8:hdrSize+n], castagnoli))
	binary.LittleEndian.PutUint32(rec[0:4], uint32(n))

	pos := Pos{Seq: w.seq, Seg: s.id, Off: uint32(off)}
	w.seq++
	w.off = end
	w.total += int64(need)
	// Publishing the write offset costs an atomic store (XCHG on amd64, which
	// also drains the store buffer after the copy); doing it only when a page
	// boundary is crossed keeps it off the common path. Its readers (the
	// prefaulter) work in pages anyway.
	if off/pageSize != end/pageSize {
		s.written.Store(int64(end))
		if int64(end) >= s.wakeAt.Load() {
			l.kick()
		}
	}
	return pos, nil
}

// reserve makes sure [0, end) of the active segment is backed by allocated
// blocks, allocating up to a window ahead itself if the background goroutine
// has not. Appender only.
func (l *Log) reserve(end int) error {
	w := &l.w
	s := w.seg
	if r := int(s.reserved.Load()); r >= end {
		w.resv = r
		return nil
	}
	// As much again as the segment holds, up to a window: a topic that
	// got one message reserves one block, a busy one a window at a time.
	target := min(pageUp(end+min(l.window, end)), len(s.data))
	if err := l.allocate(s, int(s.reserved.Load()), target); err != nil {
		return err
	}
	w.resv = int(s.reserved.Load())
	return nil
}

// allocate reserves blocks for [from, to) of s and raises s.reserved. Called by
// the appender (for the active segment) or the background goroutine (for the
// active segment or the spare); fallocate on overlapping ranges is harmless.
func (l *Log) allocate(s *segment, from, to int) error {
	if to <= from {
		return nil
	}
	if !l.noFalloc.Load() {
		err := l.withSeg(s, "fallocate", func(fd int) error {
			return l.fs.Fallocate(fd, int64(from), int64(to-from))
		})
		if errors.Is(err, ErrUnsupported) {
			l.noFalloc.Store(true)
			to = len(s.data)
		} else if err != nil {
			return err
		}
	} else {
		to = len(s.data)
	}
	s.raiseReserved(int64(to))
	return nil
}

// switchSegment seals the active segment and makes a new one, with room for a
// record of need bytes, active. Appender only.
func (l *Log) switchSegment(need int) error {
	w := &l.w
	if w.off == 0 {
		return l.growEmpty(need)
	}
	old := w.seg
	size := max(l.segSize, need+l.trailer)
	var s *segment
	if size == l.segSize {
		s = l.spare.Swap(nil)
	}
	if s != nil {
		s.id = w.seq
	} else {
		var err error
		if l.mem {
			s = l.newMemSegment(w.seq, size)
		} else if s, err = l.createSegment(w.seq, size, false); err != nil {
			return err
		}
	}
	old.end = w.off
	old.written.Store(int64(w.off))

	l.mu.Lock()
	t := l.table.Load()
	segs := make([]*segment, len(t.segs), len(t.segs)+1)
	copy(segs, t.segs)
	l.table.Store(&segTable{segs: append(segs, s)})
	l.mu.dirDirty = !l.mem
	l.mu.Unlock()

	w.seg, w.off, w.cap = s, 0, len(s.data)-l.trailer
	w.resv = int(s.reserved.Load())
	l.kick()
	return nil
}

// growEmpty replaces the empty active segment (a fresh log, or one that
// recovery cut to nothing) by a bigger one with the same id, instead of
// sealing an empty segment: in file mode it grows the file and maps it again;
// the old mapping is unmapped later by the background goroutine (it may be
// prefaulting it right now). Appender only.
func (l *Log) growEmpty(need int) error {
	w := &l.w
	old := w.seg
	size := max(l.segSize, need+l.trailer)
	var s *segment
	if l.mem {
		s = l.newMemSegment(old.id, size)
	} else {
		var data []byte
		err := l.withSeg(old, "grow", func(fd int) error {
			if err := l.fs.Ftruncate(fd, int64(size)); err != nil {
				return &segError{op: "ftruncate", id: old.id, err: err}
			}
			var err error
			if data, err = l.mmap(fd, size); err != nil {
				return &segError{op: "mmap", id: old.id, err: err}
			}
			return nil
		})
		if err != nil {
			return err
		}
		s = &segment{id: old.id, data: data, fd: -1}
		s.reserved.Store(old.reserved.Load())
	}

	l.mu.Lock()
	t := l.table.Load()
	segs := make([]*segment, len(t.segs))
	copy(segs, t.segs)
	segs[len(segs)-1] = s
	if !l.mem {
		s.path, s.temp = old.path, old.temp
		old.unmapOnly = true // the file lives on in s
		l.mu.doomed = append(l.mu.doomed, old)
	}
	l.table.Store(&segTable{segs: segs})
	l.mu.Unlock()

	w.seg, w.off, w.cap = s, 0, len(s.data)-l.trailer
	w.resv = int(s.reserved.Load())
	l.kick()
	return nil
}

// Commit makes every record appended so far visible to Read, Head and Size.
// Appender only (serialised with Append); it does not allocate or block.
func (l *Log) Commit() {
	w := &l.w
	if w.seq == w.committed || l.closed.Load() {
		return
	}
	w.committed = w.seq
	l.hVer.Add(1)
	l.hSeg.Store(w.seg.id)
	l.hOff.Store(uint64(w.off))
	l.hTotal.Store(w.total)
	l.hSeq.Store(w.seq)
	l.hVer.Add(1)
}

// Durable returns the seq below which every record is durable: the committed
// head that the last successful Sync (or Close) covered, or at Open the
// first record Open could not prove durable. It never decreases. In memory
// it is the committed head (nothing there is ever more durable than that).
// Safe for concurrent use; lock-free.
func (l *Log) Durable() uint64 {
	if l.mem {
		return l.hSeq.Load()
	}
	return l.durable.Load()
}

// Head returns the committed end of the log: the Pos the next record will get
// (in the active segment; if that record does not fit it goes to the start of
// a new segment, with the same Seq). Safe for concurrent use; lock-free.
func (l *Log) Head() Pos {
	for {
		v := l.hVer.Load()
		if v&1 == 0 {
			p := Pos{Seq: l.hSeq.Load(), Seg: l.hSeg.Load(), Off: uint32(l.hOff.Load())}
			if l.hVer.Load() == v {
				return p
			}
		}
		runtime.Gosched()
	}
}

// headTotal reads hTotal consistently with the seqlock.
func (l *Log) headTotal() int64 {
	for {
		v := l.hVer.Load()
		if v&1 == 0 {
			t := l.hTotal.Load()
			if l.hVer.Load() == v {
				return t
			}
		}
		runtime.Gosched()
	}
}

// First returns the position of the oldest record still stored (its Seq
// equals Head().Seq when the log holds no committed record). Records below
// First have been deleted by DeleteBefore. Safe for concurrent use;
// lock-free. Zero after Close.
func (l *Log) First() Pos {
	t := l.table.Load()
	if t == nil {
		return Pos{}
	}
	s := t.segs[0]
	if h := l.Head(); h.Seq <= s.id {
		return h
	}
	return Pos{Seq: s.id, Seg: s.id, Off: 0}
}

// Size returns the number of bytes stored: the committed records (headers
// and padding included) not yet deleted by DeleteBefore. Safe for concurrent
// use.
func (l *Log) Size() int64 {
	n := l.headTotal() - l.deleted.Load()
	if n < 0 {
		return 0
	}
	return n
}

// Read returns the record at p, which should be a Pos obtained from this log
// (Head, First, Record.Pos, Record.Next, or the zero Pos). If p is the end of
// a sealed segment Read moves transparently to the start of the next one. If
// p.Seq is at or beyond the committed head it returns ErrEnd. If p is below
// First (its data has been deleted) it returns the record at First; the
// returned Record.Pos tells the caller how far it skipped.
//
// ErrCorrupt means the record at p failed validation (or p is not a record
// boundary); Record.Next is then set to the start of the next segment (or to
// the committed head) so that a caller may skip the damage, losing the
// records in between.
//
// Safe for concurrent use by any number of readers and with the appender:
// it takes no lock and does not allocate. Must not run concurrently with
// Close, nor with a DeleteBefore that covers p (the caller's guarantee).
func (l *Log) Read(p Pos) (Record, error) { return l.read(p, false) }

// read is Read; verify checks the record's CRC even where Read would not.
func (l *Log) read(p Pos, verify bool) (Record, error) {
	if p.Seq >= l.hSeq.Load() {
		if l.closed.Load() {
			return Record{}, ErrClosed
		}
		return Record{}, ErrEnd
	}
	t := l.table.Load()
	if t == nil {
		return Record{}, ErrClosed
	}
	segs := t.segs
	i := 0
	if p.Seq < segs[0].id {
		p = Pos{Seq: segs[0].id, Seg: segs[0].id}
	} else {
		i = t.find(p.Seg)
		if i < 0 || p.Seq < segs[i].id || (i+1 < len(segs) && p.Seq >= segs[i+1].id) {
			// p.Seg is gone, or p is the end of segment i, or p is
			// inconsistent: p must then be the first record of a segment.
			i = t.findSeq(p.Seq)
			if segs[i].id != p.Seq {
				return l.corrupt(t, i, p)
			}
			p.Seg, p.Off = p.Seq, 0
		}
	}
	s := segs[i]
	off := int(p.Off)
	if off&7 != 0 {
		return l.corrupt(t, i, p)
	}
	n := parseRecord(s.data, off, p.Seq, verify || s.verify || l.opts.VerifyReads)
	if n < 0 {
		return l.corrupt(t, i, p)
	}
	start := off + hdrSize
	return Record{
		Pos:  p,
		Next: Pos{Seq: p.Seq + 1, Seg: s.id, Off: uint32(off + recSize(n))},
		Data: s.data[start : start+n : start+n],
	}, nil
}

// Seek returns the position of the record with the given seq, for a caller
// that kept only a Seq: First() if seq is below it, Head() if seq is at or
// beyond the committed head. It walks the record headers of the segment that
// holds seq, so it costs up to a segment's worth of header reads (it is meant
// for startup, not for the hot path). Same concurrency rules as Read.
func (l *Log) Seek(seq uint64) (Pos, error) {
	head := l.Head()
	if seq >= head.Seq {
		if l.closed.Load() {
			return Pos{}, ErrClosed
		}
		return head, nil
	}
	t := l.table.Load()
	if t == nil {
		return Pos{}, ErrClosed
	}
	s := t.segs[t.findSeq(seq)]
	if seq < s.id {
		return Pos{Seq: s.id, Seg: s.id}, nil
	}
	off := 0
	for q := s.id; q < seq; q++ {
		n := parseRecord(s.data, off, q, false)
		if n < 0 {
			return Pos{Seq: q, Seg: s.id, Off: uint32(off)}, ErrCorrupt
		}
		off += recSize(n)
	}
	return Pos{Seq: seq, Seg: s.id, Off: uint32(off)}, nil
}

// Settle returns the position of the record with p.Seq, trusting p only
// when it is that position: First() when p.Seq is below it, Head() when
// at or beyond it, else p if record p.Seq is there (CRC checked), else
// what Seek finds. It is for positions read back from a file (a
// checkpoint), whose Seg and Off a garbled file may contradict: Read at
// such a p would skip to the next segment as if the records between were
// damaged. Where the records themselves are damaged, it returns p (reads
// then report the damage). Same concurrency rules as Read.
func (l *Log) Settle(p Pos) Pos {
	if first := l.First(); p.Seq < first.Seq {
		return first
	}
	if head := l.Head(); p.Seq >= head.Seq {
		return head
	}
	if rec, err := l.read(p, true); err == nil && rec.Pos == p {
		return p
	}
	if q, err := l.Seek(p.Seq); err == nil {
		return q
	}
	return p
}

// corrupt builds Read's ErrCorrupt result: Next skips to the next segment, or
// to the committed head.
func (l *Log) corrupt(t *segTable, i int, p Pos) (Record, error) {
	r := Record{Pos: p}
	if i+1 < len(t.segs) {
		n := t.segs[i+1].id
		r.Next = Pos{Seq: n, Seg: n}
	} else {
		r.Next = l.Head()
	}
	return r, ErrCorrupt
}

// find returns the index of the segment with the given id, or -1.
func (t *segTable) find(id uint64) int {
	segs := t.segs
	if last := len(segs) - 1; segs[last].id == id { // readers are mostly near the head
		return last
	}
	lo, hi := 0, len(segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if segs[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(segs) && segs[lo].id == id {
		return lo
	}
	return -1
}

// findSeq returns the index of the last segment whose id is <= seq (0 if
// none).
func (t *segTable) findSeq(seq uint64) int {
	segs := t.segs
	lo, hi := 0, len(segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if segs[m].id <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0
	}
	return lo - 1
}

// DeleteBefore deletes every whole segment all of whose records have Seq <
// p.Seq; the active segment is never deleted. The segments leave the table
// at once (First and Size change); the background goroutine unmaps them and
// removes their files shortly after (with Options.NoPrefault: at the next
// Sync; in any case at Close), and the next Sync fsyncs the directory.
// DeleteBefore itself makes no syscall, so it may be called from an event
// loop. In memory the segments are simply dropped for the GC.
//
// The caller guarantees that no Read of a record below p is running or will
// run again, and that no Record.Data of such a record is still in use. p.Seq
// must not exceed Head().Seq. Safe for concurrent use with every method but
// Close and Remove; it briefly takes a mutex that Append takes only when it
// changes segments.
func (l *Log) DeleteBefore(p Pos) error {
	if l.closed.Load() {
		return ErrClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.table.Load()
	if t == nil {
		return ErrClosed
	}
	k := 0
	for k < len(t.segs)-1 && t.segs[k+1].id <= p.Seq {
		k++
	}
	if k == 0 {
		return nil
	}
	segs := make([]*segment, len(t.segs)-k)
	copy(segs, t.segs[k:])
	var n int64
	for _, s := range t.segs[:k] {
		n += int64(s.end)
	}
	l.table.Store(&segTable{segs: segs})
	l.deleted.Add(n)
	if !l.mem {
		l.mu.doomed = append(l.mu.doomed, t.segs[:k]...)
		l.kick()
	}
	return nil
}
