package queue

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errUnsupported is returned by fileSystem.Fallocate and Populate when the
// platform or file system lacks the operation; callers then fall back.
var errUnsupported = errors.New("queue: operation not supported")

// fileSystem is the set of operating-system calls the file-backed Log makes.
// It exists so that tests can inject faults (ENOSPC, EIO, failed renames)
// at every step; osFS is the real implementation. Implementations must be
// safe for concurrent use.
type fileSystem interface {
	MkdirAll(dir string) error
	ReadDir(dir string) ([]string, error)
	Open(path string, flags int, perm uint32) (int, error)
	Close(fd int) error
	Size(fd int) (int64, error)
	Pread(fd int, b []byte, off int64) (int, error)
	Ftruncate(fd int, size int64) error
	// Fallocate allocates disk blocks for [off, off+n) without changing
	// the file size; errUnsupported if the file system cannot.
	Fallocate(fd int, off, n int64) error
	Fsync(fd int) error
	Flock(fd int) error
	Mmap(fd int, size int) ([]byte, error)
	Munmap(b []byte) error
	// Msync writes back the dirty pages of b (page-aligned start) and waits.
	Msync(b []byte) error
	// Populate prefaults b (page-aligned start) for writing without changing
	// its contents; errUnsupported if the kernel cannot.
	Populate(b []byte) error
	Rename(from, to string) error
	Remove(path string) error
}

// osFS is the real operating system.
type osFS struct{}

func (osFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func (osFS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
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

func (osFS) Rename(from, to string) error { return os.Rename(from, to) }

func (osFS) Remove(path string) error { return os.Remove(path) }

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
