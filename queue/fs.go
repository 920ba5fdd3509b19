package queue

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var atomicFileSeq atomic.Uint64

// WriteFileAtomic is WriteFileAtomicFS on the real file system.
func WriteFileAtomic(path string, data []byte) error {
	return WriteFileAtomicFS(osFS{}, path, data)
}

// WriteFileAtomicFS replaces the file at path with data so that after a
// crash (process or machine) path holds either its old contents or data,
// never a mix: it writes a temporary file in the same directory, fsyncs it,
// renames it over path and fsyncs the directory. The file gets mode 0644.
// fsys nil means OS().
//
// It is safe for concurrent use for different paths; concurrent calls for the
// same path leave one of the contents in place. It blocks on two fsyncs, so
// never call it from an event loop.
func WriteFileAtomicFS(fsys FS, path string, data []byte) (err error) {
	if fsys == nil {
		fsys = osFS{}
	}
	dir := filepath.Dir(path)
	tmp := path + ".tmp." + strconv.Itoa(os.Getpid()) + "." + strconv.FormatUint(atomicFileSeq.Add(1), 10)
	fd, err := fsys.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp)
		}
	}()
	if err = fsys.Pwrite(fd, data, 0); err != nil {
		_ = fsys.Close(fd)
		return &os.PathError{Op: "write", Path: tmp, Err: err}
	}
	if err = fsys.Fsync(fd); err != nil {
		_ = fsys.Close(fd)
		return &os.PathError{Op: "fsync", Path: tmp, Err: err}
	}
	if err = fsys.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: tmp, Err: err}
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDirFS(fsys, dir)
}

// ReadFileFS returns the contents of the file at path (fsys nil: OS()).
// Errors satisfy errors.Is(err, fs.ErrNotExist) when it does not exist.
func ReadFileFS(fsys FS, path string) ([]byte, error) {
	if fsys == nil {
		fsys = osFS{}
	}
	fd, err := fsys.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer func() { _ = fsys.Close(fd) }()
	size, err := fsys.Size(fd)
	if err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	b := make([]byte, size)
	n, err := fsys.Pread(fd, b, 0)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return b[:n], nil
}

// SyncDir is SyncDirFS on the real file system.
func SyncDir(dir string) error { return SyncDirFS(osFS{}, dir) }

// SyncDirFS fsyncs the directory dir, making the creation, removal and
// renaming of its entries durable (fsys nil: OS()). Safe for concurrent use;
// blocks on an fsync.
func SyncDirFS(fsys FS, dir string) error {
	if fsys == nil {
		fsys = osFS{}
	}
	fd, err := fsys.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	err = fsys.Fsync(fd)
	if cerr := fsys.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("queue: fsync dir %s: %w", dir, err)
	}
	return nil
}

// MkdirAllFS creates dir and any missing parents (fsys nil: OS()), and makes
// each creation durable: after a directory is created its parent is fsynced.
// An existing dir costs one failed mkdir and nothing else.
func MkdirAllFS(fsys FS, dir string) error {
	if fsys == nil {
		fsys = osFS{}
	}
	dir = filepath.Clean(dir)
	err := fsys.Mkdir(dir)
	if errors.Is(err, iofs.ErrExist) {
		return nil
	}
	if errors.Is(err, iofs.ErrNotExist) {
		parent := filepath.Dir(dir)
		if parent == dir {
			return err
		}
		if err := MkdirAllFS(fsys, parent); err != nil {
			return err
		}
		err = fsys.Mkdir(dir)
		if errors.Is(err, iofs.ErrExist) {
			return nil // made concurrently
		}
	}
	if err != nil {
		return err
	}
	return SyncDirFS(fsys, filepath.Dir(dir))
}
