package queue

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

var atomicFileSeq atomic.Uint64

// WriteFileAtomic replaces the file at path with data so that after a crash
// (process or machine) path holds either its old contents or data, never a
// mix: it writes a temporary file in the same directory, fsyncs it, renames
// it over path and fsyncs the directory. The file gets mode 0644.
//
// It is safe for concurrent use for different paths; concurrent calls for the
// same path leave one of the contents in place. It blocks on two fsyncs, so
// never call it from an event loop.
func WriteFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp := path + ".tmp." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(atomicFileSeq.Add(1), 10)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir fsyncs the directory dir, making the creation, removal and renaming
// of its entries durable. Safe for concurrent use; blocks on an fsync.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("queue: fsync dir %s: %w", dir, err)
	}
	return nil
}
