package queue

import (
	"errors"
	"fmt"
)

// Size limits and defaults. Offsets inside a segment are uint32, so no
// segment (and hence no record) may reach 4 GiB.
const (
	// DefaultSegmentSize is the default Options.SegmentSize, nsqd's
	// --max-bytes-per-file.
	DefaultSegmentSize = 100 << 20
	// MinSegmentSize is the smallest accepted Options.SegmentSize.
	MinSegmentSize = 64
	// MaxSegmentSize is the largest accepted Options.SegmentSize.
	MaxSegmentSize = 1 << 31
	// MaxRecordSize is the largest payload Append accepts.
	MaxRecordSize = 1<<31 - 64
	// DefaultPrefaultBytes is the default Options.PrefaultBytes.
	DefaultPrefaultBytes = 1 << 20
	// memSegmentLimit caps the segment size of an in-memory log.
	memSegmentLimit = 4 << 20
)

// Options configures a Log. The zero value is valid and means "all
// defaults". An Options value is read by Open and not retained, so it may be
// reused or modified afterwards.
type Options struct {
	// SegmentSize is the size in bytes of each segment file (nsqd
	// --max-bytes-per-file). 0 means DefaultSegmentSize (100 MiB); otherwise
	// it must lie in [MinSegmentSize, MaxSegmentSize]. A record larger than a
	// segment gets a segment of its own, sized to fit. An existing segment
	// keeps its size when the option changes between runs. 16 bytes of
	// every file segment are reserved for the seal trailer (see the package
	// documentation). In-memory logs use min(SegmentSize, 4 MiB).
	SegmentSize int64

	// InMemory keeps segments as heap []byte (one allocation per segment,
	// never per record) instead of files; Open ignores dir, Sync is a no-op
	// and nothing survives Close. Default false.
	InMemory bool

	// PrefaultBytes is how far ahead of the write offset the background
	// goroutine reserves disk blocks (fallocate) and prefaults pages
	// (MADV_POPULATE_WRITE), so that Append neither page-faults nor meets
	// ENOSPC as SIGBUS. 0 means DefaultPrefaultBytes (1 MiB); it is rounded
	// up to the page size and must not be negative. It is also the unit in
	// which Append reserves blocks itself when the background goroutine lags.
	PrefaultBytes int64

	// NoPrefault disables the background goroutine: no prefaulting and no
	// pre-created next segment (Append still reserves blocks before writing).
	// For benchmarks and tests. Default false.
	NoPrefault bool

	// VerifyReads makes Read check the CRC of every record. By default Read
	// checks the CRC only of records in segments that Open trusted without
	// scanning (sealed, synced segments written by an earlier process);
	// records written by this process or scanned by Open are checked for a
	// sane header only. Default false.
	VerifyReads bool

	// NoLock skips the flock Open takes on dir: the caller guarantees that
	// nothing else opens dir while the Log is open (nsqd's engine locks its
	// whole data path). The Log then holds no file descriptor between
	// operations: the directory is opened for each fsync, as segments are
	// for each fallocate, so thousands of logs cost no descriptor each.
	// Default false (the directory stays open, locked).
	NoLock bool

	// FS replaces the operating system, for tests (fault injection, and
	// queue/strictfs's simulated power cuts). nil means OS(). Ignored in
	// memory.
	FS FS
}

// Validate reports whether o is acceptable to Open. Zero values are valid
// (they select the documented defaults). It only reads o, so it is safe for
// concurrent use.
func (o *Options) Validate() error {
	if o.SegmentSize != 0 && (o.SegmentSize < MinSegmentSize || o.SegmentSize > MaxSegmentSize) {
		return fmt.Errorf("queue: SegmentSize %d out of range [%d, %d]", o.SegmentSize, MinSegmentSize, MaxSegmentSize)
	}
	if o.PrefaultBytes < 0 {
		return errors.New("queue: PrefaultBytes must not be negative")
	}
	if o.PrefaultBytes > MaxSegmentSize {
		return fmt.Errorf("queue: PrefaultBytes %d larger than %d", o.PrefaultBytes, MaxSegmentSize)
	}
	return nil
}

// withDefaults returns o with zero values replaced by defaults. o must be
// valid.
func (o Options) withDefaults() Options {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.PrefaultBytes == 0 {
		o.PrefaultBytes = DefaultPrefaultBytes
	}
	o.PrefaultBytes = int64(pageUp(int(o.PrefaultBytes)))
	if o.InMemory && o.SegmentSize > memSegmentLimit {
		o.SegmentSize = memSegmentLimit
	}
	if o.FS == nil {
		o.FS = osFS{}
	}
	return o
}
