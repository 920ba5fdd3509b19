package queue

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"sync/atomic"
)

// On-disk format constants; see the package documentation.
const (
	hdrSize     = 16 // length(4) crc(4) seq(8)
	trailerSize = 16 // end(4) crc(4) next(8), at the last 16 bytes of a sealed file segment
	// trailerXor distinguishes a trailer CRC from a record CRC.
	trailerXor = 0x544c5253 // "SRLT"

	segSuffix   = ".seg"
	spareSuffix = ".spare"
	segNameLen  = 20 + len(segSuffix)
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	pageSize   = os.Getpagesize()
)

// recSize is the number of bytes a record with an n-byte payload occupies:
// header plus payload padded to 8 bytes, so every header is 8-byte aligned.
func recSize(n int) int { return hdrSize + (n+7)&^7 }

func pageDown(n int) int { return n &^ (pageSize - 1) }
func pageUp(n int) int   { return (n + pageSize - 1) &^ (pageSize - 1) }

// segName is the file name of the segment whose first record has seq id.
func segName(id uint64) string { return fmt.Sprintf("%020d%s", id, segSuffix) }

func parseSegName(name string) (uint64, bool) {
	if len(name) != segNameLen || name[20:] != segSuffix {
		return 0, false
	}
	for i := 0; i < 20; i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseUint(name[:20], 10, 64)
	return id, err == nil
}

// recordCRCAt is the CRC-32C of the record at data[off:] with an n-byte
// payload: of its seq field followed by its payload, which are contiguous.
func recordCRCAt(data []byte, off, n int) uint32 {
	return crc32.Checksum(data[off+8:off+hdrSize+n], castagnoli)
}

// parseRecord validates the record at data[off:] against the expected seq.
// It returns the payload length, or -1 if the header is impossible (wrong
// seq, length beyond data) or, when checkCRC, the CRC does not match.
func parseRecord(data []byte, off int, seq uint64, checkCRC bool) int {
	if off < 0 || off > len(data)-hdrSize {
		return -1
	}
	h := data[off : off+hdrSize]
	if binary.LittleEndian.Uint64(h[8:16]) != seq {
		return -1
	}
	n := int(binary.LittleEndian.Uint32(h[0:4]))
	if n > len(data)-off-hdrSize {
		return -1
	}
	if checkCRC && recordCRCAt(data, off, n) != binary.LittleEndian.Uint32(h[4:8]) {
		return -1
	}
	return n
}

// scanRecords walks the records of a segment whose first record must have seq
// first, validating header and CRC, and stops at the first invalid record or
// when the next seq would reach limit. It returns the end offset of the last
// valid record and the seq that follows it. A zeroed header is invalid (its
// CRC, 0, is never the CRC of a seq), so the zero length word written by
// nobody marks the end.
func scanRecords(data []byte, first, limit uint64) (end int, next uint64) {
	off, seq := 0, first
	for seq < limit {
		n := parseRecord(data, off, seq, true)
		if n < 0 || off+recSize(n) > len(data) {
			break
		}
		off += recSize(n)
		seq++
	}
	return off, seq
}

// trailer is what Sync writes into the last trailerSize bytes of a sealed file
// segment once every record in it is durable: the records occupy [0, end) and
// are seqs [id, next). A segment with a valid trailer is trusted by Open
// without a scan; because Sync seals in order, so is every earlier segment
// (each has its own trailer anyway).
type trailer struct {
	end  uint32
	next uint64
}

func trailerCRC(id uint64, t trailer) uint32 {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[0:], id)
	binary.LittleEndian.PutUint64(b[8:], t.next)
	binary.LittleEndian.PutUint32(b[16:], t.end)
	return crc32.Checksum(b[:], castagnoli) ^ trailerXor
}

func putTrailer(b []byte, id uint64, t trailer) {
	binary.LittleEndian.PutUint32(b[0:], t.end)
	binary.LittleEndian.PutUint32(b[4:], trailerCRC(id, t))
	binary.LittleEndian.PutUint64(b[8:], t.next)
}

// parseTrailer decodes b (trailerSize bytes at the end of a file of size
// size) and checks it for segment id.
func parseTrailer(b []byte, id uint64, size int64) (trailer, bool) {
	if len(b) != trailerSize {
		return trailer{}, false
	}
	t := trailer{end: binary.LittleEndian.Uint32(b[0:]), next: binary.LittleEndian.Uint64(b[8:])}
	if binary.LittleEndian.Uint32(b[4:]) != trailerCRC(id, t) || t.next <= id ||
		t.end < hdrSize || t.end%8 != 0 || int64(t.end) > size-trailerSize ||
		t.next-id > uint64(t.end)/hdrSize {
		return trailer{}, false
	}
	return t, true
}

// segment is one segment of a Log: a mapped file or, in memory, a heap
// buffer. The fields are grouped by who may touch them.
type segment struct {
	// Immutable once the segment is published in a table (id is set by the
	// appender just before it publishes a pre-created spare).
	id     uint64
	data   []byte // the mapping (len == file size) or the heap buffer
	verify bool   // Read checks CRCs: loaded by Open from a trusted, unscanned file

	// end is the final used length. Written by the appender when it seals the
	// segment, before it publishes the successor; immutable afterwards. Set by
	// Open for loaded segments.
	end int

	// fd of the file while Open recovers the log or createSegment makes
	// it, -1 otherwise: a segment holds no descriptor (10,000 idle topics
	// held 20,000 before). Operations that need one (fallocate, ftruncate,
	// fsync) open the file for the occasion: Log.openSeg.
	fd int

	// Published by the appender for the background goroutine.
	written  atomic.Int64 // write offset, published when a record crosses a page boundary
	wakeAt   atomic.Int64 // the appender kicks the background goroutine once written reaches this
	reserved atomic.Int64 // [0, reserved) is backed by allocated blocks; raised by CAS

	// Owned by the background goroutine (Open before it starts).
	pf  int // [0, pf) has been prefaulted
	rel int // [0, rel) has been released from the process (see release.go)

	// Guarded by Log.mu.
	path string // current file name (a spare name until renamed)
	temp bool   // still named as a spare; the background goroutine renames it

	// Guarded by Log.syncMu (set by Open before anything runs).
	sealedSynced bool // trailer written (or impossible): Sync is done with it

	// Set under Log.mu before the segment goes on Log.mu.doomed; read by
	// the reaper after it takes it from there.
	unmapOnly bool // the file and fd live on in another segment value: only unmap
}

// raiseReserved sets s.reserved to at least v.
func (s *segment) raiseReserved(v int64) {
	for {
		cur := s.reserved.Load()
		if cur >= v || s.reserved.CompareAndSwap(cur, v) {
			return
		}
	}
}
