package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// segError wraps a system-call failure on a segment.
type segError struct {
	op  string
	id  uint64
	err error
}

func (e *segError) Error() string {
	return fmt.Sprintf("queue: %s segment %020d: %v", e.op, e.id, e.err)
}
func (e *segError) Unwrap() error { return e.err }

// openSeg opens s's file for one operation; the caller closes the
// descriptor. l.mu is held across the open because the background
// goroutine renames spare-named files under it.
func (l *Log) openSeg(s *segment) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fd, err := l.fs.Open(s.path, unix.O_RDWR, 0)
	if err != nil {
		return -1, &segError{op: "open", id: s.id, err: err}
	}
	return fd, nil
}

// withSeg runs f with a descriptor of s's file, opened for the occasion.
func (l *Log) withSeg(s *segment, op string, f func(fd int) error) error {
	fd, err := l.openSeg(s)
	if err != nil {
		return err
	}
	err = f(fd)
	if cerr := l.fs.Close(fd); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		var se *segError
		if errors.As(err, &se) {
			return err
		}
		return &segError{op: op, id: s.id, err: err}
	}
	return nil
}

// createSegment creates, sizes (sparse) and maps a new segment file: named
// after id, or a spare name when spare (the id is then assigned when the
// appender takes it). The directory is not fsynced here: whoever publishes the
// segment sets mu.dirDirty and the next Sync fsyncs the directory.
func (l *Log) createSegment(id uint64, size int, spare bool) (*segment, error) {
	name := segName(id)
	if spare {
		l.spareSeq++
		name = fmt.Sprintf("%d%s", l.spareSeq, spareSuffix)
	}
	path := filepath.Join(l.dir, name)
	fd, err := l.fs.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o644)
	if err != nil {
		return nil, &segError{op: "create", id: id, err: err}
	}
	fail := func(op string, err error) error {
		_ = l.fs.Close(fd)
		_ = l.fs.Remove(path)
		return &segError{op: op, id: id, err: err}
	}
	if err := l.fs.Ftruncate(fd, int64(size)); err != nil {
		return nil, fail("ftruncate", err)
	}
	data, err := l.mmap(fd, size)
	if err != nil {
		return nil, fail("mmap", err)
	}
	if err := l.fs.Close(fd); err != nil {
		_ = l.munmap(data)
		_ = l.fs.Remove(path)
		return nil, &segError{op: "close", id: id, err: err}
	}
	s := &segment{id: id, data: data, fd: -1, path: path, temp: spare}
	if l.noFalloc.Load() {
		s.reserved.Store(int64(size))
	}
	if l.opts.NoPrefault {
		s.wakeAt.Store(math.MaxInt64) // nobody to wake
	}
	return s, nil
}

// recover opens the directory and rebuilds the log from its files. See Open.
func (l *Log) recover() (err error) {
	fs := l.fs
	// The directory's own entry is made durable too (its parent fsynced
	// when it is created), or a power cut could lose the whole log.
	if err := MkdirAllFS(fs, l.dir); err != nil {
		return err
	}
	if l.dirfd, err = fs.Open(l.dir, unix.O_RDONLY|unix.O_DIRECTORY, 0); err != nil {
		return err
	}
	if l.opts.NoLock {
		// Only for recovery: the log holds no descriptor afterwards.
		defer func() {
			_ = fs.Close(l.dirfd)
			l.dirfd = -1
		}()
	} else if err := fs.Flock(l.dirfd); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s", ErrLocked, l.dir)
		}
		return fmt.Errorf("queue: flock %s: %w", l.dir, err)
	}
	ents, err := fs.ReadDir(l.dir)
	if err != nil {
		return err
	}
	var ids []uint64
	var spares []string
	have := make(map[uint64]bool)
	for _, ent := range ents {
		name := ent.Name
		if ent.Dir {
			continue
		}
		if id, ok := parseSegName(name); ok {
			ids = append(ids, id)
			have[id] = true
		} else if strings.HasSuffix(name, spareSuffix) {
			spares = append(spares, name)
		}
	}
	changed := false
	for _, name := range spares {
		changed = true
		id, ok, err := l.adoptSpare(name, have)
		if err != nil {
			return err
		}
		if ok {
			ids = append(ids, id)
			have[id] = true
		}
	}
	slices.Sort(ids)

	var segs []*segment
	defer func() {
		if err != nil {
			for _, s := range segs {
				l.release(s)
			}
		}
	}()
	if len(ids) == 0 {
		s, err := l.createSegment(0, l.segSize, false)
		if err != nil {
			return err
		}
		segs = append(segs, s)
		if err := l.fs.Fsync(l.dirfd); err != nil {
			return fmt.Errorf("queue: fsync dir %s: %w", l.dir, err)
		}
		l.install(segs, 0, 0)
		return nil
	}

	sizes := make([]int64, 0, len(ids))
	for _, id := range ids {
		path := filepath.Join(l.dir, segName(id))
		fd, err := fs.Open(path, unix.O_RDWR, 0)
		if err != nil {
			return err
		}
		segs = append(segs, &segment{id: id, fd: fd, path: path})
		size, err := fs.Size(fd)
		if err != nil {
			return &segError{op: "stat", id: id, err: err}
		}
		if size >= math.MaxUint32 {
			return fmt.Errorf("%w: segment file %s is %d bytes", ErrCorrupt, path, size)
		}
		sizes = append(sizes, size)
	}

	// Trust sealed segments whose trailer matches their successor; scan the
	// others. The first record that fails validation ends the log.
	var head uint64
	for i := 0; i < len(segs); i++ {
		s, size := segs[i], sizes[i]
		last := i == len(segs)-1
		if !last {
			if t, ok := l.readTrailer(s, size); ok && t.next == segs[i+1].id {
				s.end, s.sealedSynced, s.verify = int(t.end), true, true
				continue
			}
		}
		if size > 0 {
			if s.data, err = l.mmap(s.fd, int(size)); err != nil {
				return &segError{op: "mmap", id: s.id, err: err}
			}
		}
		limit := uint64(math.MaxUint64)
		if !last {
			limit = segs[i+1].id
		}
		end, next := scanRecords(s.data, s.id, limit)
		s.end = end
		if !last && next != segs[i+1].id {
			// A hole: everything after it was never made durable. Cut.
			for _, x := range segs[i+1:] {
				l.release(x)
				if err := fs.Remove(x.path); err != nil {
					return err
				}
			}
			segs, sizes = segs[:i+1], sizes[:i+1]
			changed, last = true, true
		}
		if last {
			head = next
		}
	}

	lastIdx := len(segs) - 1
	last := segs[lastIdx]
	if t, ok := l.readTrailer(last, sizes[lastIdx]); ok && t.next == head && int(t.end) == last.end && last.end > 0 {
		// Sealed and synced, but its successor never reached the disk:
		// start a new segment rather than append behind a trailer.
		last.sealedSynced = true
		s, err := l.createSegment(head, l.segSize, false)
		if err != nil {
			return err
		}
		segs = append(segs, s)
		changed = true
	} else {
		// Cut whatever follows the last valid record (a torn record,
		// prefaulted zeros, garbage) and give the file its full size again,
		// sparse, so that the zero length word marks the end.
		if last.data != nil {
			if err := l.munmap(last.data); err != nil {
				return &segError{op: "munmap", id: last.id, err: err}
			}
			last.data = nil
		}
		size := sizes[lastIdx]
		if size > int64(last.end) {
			if err := fs.Ftruncate(last.fd, int64(last.end)); err != nil {
				return &segError{op: "ftruncate", id: last.id, err: err}
			}
		}
		target := max(l.segSize, last.end+l.trailer)
		if err := fs.Ftruncate(last.fd, int64(target)); err != nil {
			return &segError{op: "ftruncate", id: last.id, err: err}
		}
		if size > int64(last.end) {
			if err := fs.Fsync(last.fd); err != nil {
				return &segError{op: "fsync", id: last.id, err: err}
			}
		}
		if last.data, err = l.mmap(last.fd, target); err != nil {
			return &segError{op: "mmap", id: last.id, err: err}
		}
		last.reserved.Store(int64(last.end))
	}

	// Map the trusted segments and close every descriptor.
	end := 0
	for i, s := range segs {
		if i == len(segs)-1 {
			end = s.end
		} else if s.data == nil {
			if s.data, err = l.mmap(s.fd, int(sizes[i])); err != nil {
				return &segError{op: "mmap", id: s.id, err: err}
			}
		}
		if s.fd < 0 {
			continue
		}
		if err := fs.Close(s.fd); err != nil {
			return &segError{op: "close", id: s.id, err: err}
		}
		s.fd = -1
	}
	if changed {
		if err := fs.Fsync(l.dirfd); err != nil {
			return fmt.Errorf("queue: fsync dir %s: %w", l.dir, err)
		}
	}
	l.install(segs, end, head)
	return nil
}

// readTrailer reads and checks the trailer at the end of s's file.
func (l *Log) readTrailer(s *segment, size int64) (trailer, bool) {
	if size < hdrSize+trailerSize {
		return trailer{}, false
	}
	var b [trailerSize]byte
	if s.data != nil {
		copy(b[:], s.data[size-trailerSize:])
	} else if n, err := l.fs.Pread(s.fd, b[:], size-trailerSize); err != nil || n != trailerSize {
		return trailer{}, false
	}
	return parseTrailer(b[:], s.id, size)
}

// adoptSpare deals with a spare file left by a crash: if it starts with a
// valid record it was the active segment and is renamed after that record's
// seq; otherwise it is removed.
func (l *Log) adoptSpare(name string, have map[uint64]bool) (uint64, bool, error) {
	path := filepath.Join(l.dir, name)
	fd, err := l.fs.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		return 0, false, err
	}
	seq, ok := l.firstRecordSeq(fd)
	_ = l.fs.Close(fd)
	if ok && !have[seq] {
		if err := l.fs.Rename(path, filepath.Join(l.dir, segName(seq))); err != nil {
			return 0, false, err
		}
		return seq, true, nil
	}
	return 0, false, l.fs.Remove(path)
}

// firstRecordSeq validates the first record of the file and returns its seq.
func (l *Log) firstRecordSeq(fd int) (uint64, bool) {
	size, err := l.fs.Size(fd)
	if err != nil || size < hdrSize {
		return 0, false
	}
	var h [hdrSize]byte
	if n, err := l.fs.Pread(fd, h[:], 0); err != nil || n != hdrSize {
		return 0, false
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	if n > size-hdrSize {
		return 0, false
	}
	crc := crc32.Update(0, castagnoli, h[8:16])
	buf := make([]byte, min(n, 64<<10))
	for off := int64(0); off < n; {
		b := buf[:min(int64(len(buf)), n-off)]
		if m, err := l.fs.Pread(fd, b, hdrSize+off); err != nil || m != len(b) {
			return 0, false
		}
		crc = crc32.Update(crc, castagnoli, b)
		off += int64(len(b))
	}
	if crc != binary.LittleEndian.Uint32(h[4:8]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(h[8:16]), true
}

// mmap maps [0, size) of fd, counting it in MappedBytes.
func (l *Log) mmap(fd, size int) ([]byte, error) {
	b, err := l.fs.Mmap(fd, size)
	if err == nil {
		l.mapped.Add(int64(len(b)))
	}
	return b, err
}

// munmap unmaps b, made by mmap.
func (l *Log) munmap(b []byte) error {
	l.mapped.Add(-int64(len(b)))
	return l.fs.Munmap(b)
}

// release unmaps s and closes its descriptor (not its file).
func (l *Log) release(s *segment) {
	if s.data != nil {
		_ = l.munmap(s.data)
		s.data = nil
	}
	if s.fd >= 0 {
		_ = l.fs.Close(s.fd)
		s.fd = -1
	}
}

// abandon releases what a failed Open acquired.
func (l *Log) abandon() {
	if l.dirfd >= 0 {
		_ = l.fs.Close(l.dirfd)
		l.dirfd = -1
	}
}
