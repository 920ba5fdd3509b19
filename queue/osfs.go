package queue

import (
	"errors"
	"os"
	"sort"

	"golang.org/x/sys/unix"
)

// ErrUnsupported is returned by FS.Fallocate and FS.Populate when the
// platform or file system lacks the operation; callers then fall back.
var ErrUnsupported = errors.New("queue: operation not supported")

// FS is the set of operating-system calls the file-backed Log makes, and
// that the engine makes for its metadata (through WriteFileAtomicFS,
// ReadFileFS, MkdirAllFS, SyncDirFS). It exists for tests: fault injection
// (ENOSPC, EIO, failed renames) at every step, and a file system that
// forgets at a simulated power cut everything not yet synced
// (queue/strictfs). OS() is the real implementation, and the default
// wherever an FS is optional.
//
// Durability contract, which the real kernel gives and strictfs enforces:
// data written through a mapping or Pwrite is durable once Msync of its
// range or Fsync of the file returns (either also makes the file's size
// durable); a directory entry created, renamed or removed is durable once
// the directory is fsynced.
//
// Implementations must be safe for concurrent use. Paths are absolute or
// relative to the working directory of the process, as for package os.
type FS interface {
	// Mkdir creates one directory (mode 0755); an error satisfying
	// errors.Is(err, fs.ErrExist) if it exists, fs.ErrNotExist if its
	// parent does not.
	Mkdir(dir string) error
	// ReadDir lists the regular files and directories of dir, sorted by
	// name.
	ReadDir(dir string) ([]DirEntry, error)
	Open(path string, flags int, perm uint32) (int, error)
	Close(fd int) error
	Size(fd int) (int64, error)
	Pread(fd int, b []byte, off int64) (int, error)
	// Pwrite writes all of b at off (or fails).
	Pwrite(fd int, b []byte, off int64) error
	Ftruncate(fd int, size int64) error
	// Fallocate allocates disk blocks for [off, off+n) without changing
	// the file size; ErrUnsupported if the file system cannot.
	Fallocate(fd int, off, n int64) error
	Fsync(fd int) error
	Flock(fd int) error
	// Mmap maps [0, size) of the file shared and writable; size must not
	// exceed the file's size.
	Mmap(fd int, size int) ([]byte, error)
	Munmap(b []byte) error
	// Msync writes back the dirty pages of b (page-aligned start) and waits.
	Msync(b []byte) error
	// Populate prefaults b (page-aligned start) for writing without changing
	// its contents; ErrUnsupported if the kernel cannot.
	Populate(b []byte) error
	// Release drops the process's page mappings of b (page-aligned start
	// and length, inside a mapping made by Mmap) without changing what the
	// mapping reads: the pages stay in the file (and the page cache,
	// dirty or not), and the next access maps them again. It makes no
	// data durable and loses none. On Linux, MADV_DONTNEED on the shared
	// mapping; where that is unavailable, a no-op.
	Release(b []byte) error
	Rename(from, to string) error
	Remove(path string) error
	// RemoveAll removes path and everything under it; nil if it does not
	// exist.
	RemoveAll(path string) error
}

// DirEntry is one entry of FS.ReadDir.
type DirEntry struct {
	Name string
	Dir  bool // a directory (else a regular file)
}

// OS returns the real operating system's FS.
func OS() FS { return osFS{} }

// osFS is the real operating system.
type osFS struct{}

func (osFS) Mkdir(dir string) error { return os.Mkdir(dir, 0o755) }

func (osFS) ReadDir(dir string) ([]DirEntry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]DirEntry, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() || e.IsDir() {
			out = append(out, DirEntry{Name: e.Name(), Dir: e.IsDir()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (osFS) Open(path string, flags int, perm uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, perm)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

func (osFS) Close(fd int) error { return unix.Close(fd) }

func (osFS) Size(fd int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Size, nil
}

func (osFS) Pread(fd int, b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := unix.Pread(fd, b[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return n, nil
}

func (osFS) Pwrite(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		m, err := unix.Pwrite(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b, off = b[m:], off+int64(m)
	}
	return nil
}

func (osFS) Ftruncate(fd int, size int64) error {
	return retryEINTR(func() error { return unix.Ftruncate(fd, size) })
}

func (osFS) Fallocate(fd int, off, n int64) error { return fallocate(fd, off, n) }

func (osFS) Fsync(fd int) error { return retryEINTR(func() error { return unix.Fsync(fd) }) }

func (osFS) Flock(fd int) error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) }

func (osFS) Mmap(fd int, size int) ([]byte, error) {
	return unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func (osFS) Munmap(b []byte) error { return unix.Munmap(b) }

func (osFS) Msync(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return retryEINTR(func() error { return unix.Msync(b, unix.MS_SYNC) })
}

func (osFS) Populate(b []byte) error { return populateWrite(b) }

func (osFS) Release(b []byte) error { return dontNeed(b) }

func (osFS) Rename(from, to string) error { return os.Rename(from, to) }

func (osFS) Remove(path string) error { return os.Remove(path) }

func (osFS) RemoveAll(path string) error { return os.RemoveAll(path) }

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
