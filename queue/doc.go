// Package queue is storage that knows nothing of NSQ: a segmented,
// append-only record log written through mmap (or kept in memory), plus the
// small containers the engine needs (a bounded FIFO ring and an indexed
// min-heap).
//
// # The log
//
// A Log is a sequence of records numbered 0, 1, 2, ... (the Seq, never
// reused). Records are appended by one goroutine, become visible to readers
// on Commit, are read by any number of goroutines without locks, and are
// deleted a whole segment at a time from the front with DeleteBefore. A
// Record's Data aliases the mapped file, so reading copies nothing.
//
// # On-disk format
//
// A log directory holds segment files named after the Seq of their first
// record, 20 digits zero-padded: 00000000000000000000.seg,
// 00000000000000004711.seg, ... Each is created at its full size (Options.SegmentSize,
// or bigger for a record that does not fit in one) with ftruncate, so it is
// sparse, and mapped MAP_SHARED read-write. Records follow each other from
// offset 0, each 8-byte aligned:
//
//	offset  size  field
//	0       4     payload length n, little endian
//	4       4     CRC-32C (Castagnoli) of bytes 8..16 followed by the payload
//	8       8     seq, little endian
//	16      n     payload
//	16+n    pad   zero bytes up to a multiple of 8
//
// A zero header (length word 0) marks the end of the written part of a
// segment. An empty payload also has length 0, but a zeroed header never
// validates: its seq field would have to be 0 and the CRC-32C of seq 0 is not
// 0 (a test checks this). The last 16 bytes of every segment file are
// reserved for a trailer, written by Sync once every record of a sealed
// (full) segment is durable:
//
//	size-16  4  end: used length of the segment
//	size-12  4  CRC-32C of (segment id, next, end) xor "SRLT"
//	size-8   8  next: seq of the first record of the next segment
//
// While a pre-created segment is not yet renamed it is called N.spare.
//
// # Recovery
//
// Open trusts a segment whose trailer is valid and whose next equals the
// name of the following file (Sync writes trailers in order, after the data
// and the directory are durable, so no earlier segment can have holes). Every
// other segment is scanned record by record (seq continuity, length, CRC); the
// first record that fails ends the log: the bytes after it are cut
// (truncate, then extend again sparse, so the end is zeros) and any later
// segment files are removed. The active (last) segment is always scanned.
// After a process crash (kill -9) every appended record survives, because the
// mapping's pages belong to the page cache; after an OS crash or power loss,
// records committed before the last completed Sync survive.
//
// # Concurrency
//
// See Log. In short: one appender (Append, Commit), any number of readers
// (Read, Head, First, Size), a background syncer (Sync), and DeleteBefore from
// anywhere; Close and Remove exclusive.
package queue
