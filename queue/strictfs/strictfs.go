// Package strictfs is a queue.FS held in memory that simulates power loss:
// Crash returns the file system a machine would find after a power cut,
// holding only what was made durable, with the strictest reading of POSIX
// that the queue.FS contract allows (the technique of pebble's
// vfs.NewStrictMem and of bbolt's fault tests):
//
//   - file contents written through a mapping (Mmap) or Pwrite are volatile
//     until Msync of their range or Fsync of the file; either also makes the
//     file's current size durable;
//   - directory entries (a file or directory created, renamed or removed)
//     are volatile until the directory itself is fsynced;
//   - everything volatile is lost at the crash, all of it: no write-back
//     ever happened behind the program's back.
//
// It exists so that tests of queue and engine can prove which acknowledged
// records survive a power cut. Mmap returns the file's own buffer, so writes
// through a mapping are seen at once by Pread and by other mappings, as with
// MAP_SHARED (a mapping made before the file grew past its buffer's capacity
// is detached from the file; queue.Log writes only through its newest
// mapping of a file, so this does not arise there).
//
// Paths are cleaned and resolved from "/"; relative paths are taken as
// relative to "/". An FS is safe for concurrent use.
package strictfs

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsqfast/nsq/queue"
)

// ErrCrashed is returned by every operation on an FS after its Crash: the
// machine is down; only the FS that Crash returned goes on.
var ErrCrashed = errors.New("strictfs: crashed")

// FS is the in-memory file system. The zero value is not usable; call New.
type FS struct {
	mu      sync.Mutex
	root    *dir
	fds     map[int]*handle
	nextFD  int
	maps    []mapping
	crashed bool
	stats   Stats
}

// Stats counts the syncing operations, for tests that check how many syncs
// a workload needed.
type Stats struct {
	Msyncs, Fsyncs int
}

type file struct {
	data   []byte // current contents; len is the size
	dur    []byte // durable contents; len is the durable size
	locked bool
}

type dir struct {
	cur    map[string]any // *file or *dir
	dur    map[string]any
	locked bool
}

type handle struct {
	f      *file
	d      *dir
	locked bool
}

type mapping struct {
	base uintptr
	n    int
	f    *file
}

func newDir() *dir { return &dir{cur: map[string]any{}, dur: map[string]any{}} }

// New returns an empty file system: just "/", durable.
func New() *FS {
	return &FS{root: newDir(), fds: map[int]*handle{}, nextFD: 3}
}

var _ queue.FS = (*FS)(nil)

// Crash simulates a power cut: from now on every operation on fs fails with
// ErrCrashed (the processes using it are dead; their mapped buffers are
// theirs alone), and the returned FS holds exactly the durable state, all of
// it durable, no file open and no lock held: what the next boot sees.
func (fs *FS) Crash() *FS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.crashed = true
	n := New()
	n.root = rebuild(fs.root)
	return n
}

// rebuild copies the durable part of d.
func rebuild(d *dir) *dir {
	nd := newDir()
	for name, x := range d.dur {
		switch x := x.(type) {
		case *file:
			nd.cur[name] = &file{data: clone(x.dur), dur: clone(x.dur)}
		case *dir:
			nd.cur[name] = rebuild(x)
		}
		nd.dur[name] = nd.cur[name]
	}
	return nd
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// Stats returns the counts of syncing operations so far.
func (fs *FS) Stats() Stats {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.stats
}

func perr(op, path string, err error) error { return &os.PathError{Op: op, Path: path, Err: err} }

// split cleans path and returns its components ("/" has none).
func split(path string) []string {
	p := filepath.Clean("/" + path)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// lookup resolves path to a node (nil if missing); mu held.
func (fs *FS) lookup(path string) any {
	var n any = fs.root
	for _, c := range split(path) {
		d, ok := n.(*dir)
		if !ok {
			return nil
		}
		if n = d.cur[c]; n == nil {
			return nil
		}
	}
	return n
}

// parent resolves the directory holding path and the last component; mu
// held.
func (fs *FS) parent(op, path string) (*dir, string, error) {
	cs := split(path)
	if len(cs) == 0 {
		return nil, "", perr(op, path, syscall.EINVAL)
	}
	d, ok := fs.lookup("/" + strings.Join(cs[:len(cs)-1], "/")).(*dir)
	if !ok {
		return nil, "", perr(op, path, syscall.ENOENT)
	}
	return d, cs[len(cs)-1], nil
}

func (fs *FS) check() error {
	if fs.crashed {
		return ErrCrashed
	}
	return nil
}

// Mkdir creates a directory; volatile until its parent is fsynced.
func (fs *FS) Mkdir(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return err
	}
	d, name, err := fs.parent("mkdir", path)
	if err != nil {
		return err
	}
	if d.cur[name] != nil {
		return perr("mkdir", path, syscall.EEXIST)
	}
	d.cur[name] = newDir()
	return nil
}

// ReadDir lists the current entries of a directory.
func (fs *FS) ReadDir(path string) ([]queue.DirEntry, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return nil, err
	}
	d, ok := fs.lookup(path).(*dir)
	if !ok {
		return nil, perr("readdir", path, syscall.ENOENT)
	}
	out := make([]queue.DirEntry, 0, len(d.cur))
	for name, x := range d.cur {
		_, isDir := x.(*dir)
		out = append(out, queue.DirEntry{Name: name, Dir: isDir})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Open opens a file or directory. O_CREAT creates the file (its entry
// volatile until the directory is fsynced), O_EXCL and O_TRUNC as usual.
func (fs *FS) Open(path string, flags int, _ uint32) (int, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return -1, err
	}
	n := fs.lookup(path)
	if n == nil {
		if flags&unix.O_CREAT == 0 {
			return -1, perr("open", path, syscall.ENOENT)
		}
		d, name, err := fs.parent("open", path)
		if err != nil {
			return -1, err
		}
		f := &file{}
		d.cur[name] = f
		n = f
	} else if flags&(unix.O_CREAT|unix.O_EXCL) == unix.O_CREAT|unix.O_EXCL {
		return -1, perr("open", path, syscall.EEXIST)
	}
	h := &handle{}
	switch x := n.(type) {
	case *file:
		if flags&unix.O_DIRECTORY != 0 {
			return -1, perr("open", path, syscall.ENOTDIR)
		}
		if flags&unix.O_TRUNC != 0 {
			x.data = x.data[:0]
		}
		h.f = x
	case *dir:
		h.d = x
	}
	fd := fs.nextFD
	fs.nextFD++
	fs.fds[fd] = h
	return fd, nil
}

func (fs *FS) handle(fd int) (*handle, error) {
	if err := fs.check(); err != nil {
		return nil, err
	}
	h := fs.fds[fd]
	if h == nil {
		return nil, syscall.EBADF
	}
	return h, nil
}

func (fs *FS) fileOf(fd int) (*file, error) {
	h, err := fs.handle(fd)
	if err != nil {
		return nil, err
	}
	if h.f == nil {
		return nil, syscall.EISDIR
	}
	return h.f, nil
}

// Close closes fd, releasing its lock.
func (fs *FS) Close(fd int) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	h, err := fs.handle(fd)
	if err != nil {
		return err
	}
	if h.locked {
		if h.f != nil {
			h.f.locked = false
		} else {
			h.d.locked = false
		}
	}
	delete(fs.fds, fd)
	return nil
}

// Size returns the current size of a file.
func (fs *FS) Size(fd int) (int64, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, err := fs.fileOf(fd)
	if err != nil {
		return 0, err
	}
	return int64(len(f.data)), nil
}

// Pread reads the current contents.
func (fs *FS) Pread(fd int, b []byte, off int64) (int, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, err := fs.fileOf(fd)
	if err != nil {
		return 0, err
	}
	if off >= int64(len(f.data)) {
		return 0, nil
	}
	return copy(b, f.data[off:]), nil
}

// Pwrite writes volatile contents.
func (fs *FS) Pwrite(fd int, b []byte, off int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, err := fs.fileOf(fd)
	if err != nil {
		return err
	}
	if end := off + int64(len(b)); end > int64(len(f.data)) {
		f.resize(end)
	}
	copy(f.data[off:], b)
	return nil
}

// resize sets the current size; new bytes are zero.
func (f *file) resize(n int64) {
	switch {
	case n <= int64(len(f.data)):
		clear(f.data[n:])
		f.data = f.data[:n]
	case n <= int64(cap(f.data)):
		f.data = f.data[:n]
	default:
		nd := make([]byte, n)
		copy(nd, f.data)
		f.data = nd
	}
}

// Ftruncate sets the volatile size.
func (fs *FS) Ftruncate(fd int, size int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, err := fs.fileOf(fd)
	if err != nil {
		return err
	}
	f.resize(size)
	return nil
}

// Fallocate does nothing: memory does not run out of blocks here.
func (fs *FS) Fallocate(fd int, _, _ int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	_, err := fs.fileOf(fd)
	return err
}

// Fsync makes a file's contents and size, or a directory's entries, durable.
func (fs *FS) Fsync(fd int) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	h, err := fs.handle(fd)
	if err != nil {
		return err
	}
	fs.stats.Fsyncs++
	if h.f != nil {
		h.f.dur = clone(h.f.data)
		return nil
	}
	h.d.dur = make(map[string]any, len(h.d.cur))
	for k, v := range h.d.cur {
		h.d.dur[k] = v
	}
	return nil
}

// Flock takes an exclusive lock, held until the descriptor is closed.
func (fs *FS) Flock(fd int) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	h, err := fs.handle(fd)
	if err != nil {
		return err
	}
	locked := &h.d.locked
	if h.f != nil {
		locked = &h.f.locked
	}
	if h.locked {
		return nil
	}
	if *locked {
		return unix.EWOULDBLOCK
	}
	*locked, h.locked = true, true
	return nil
}

// Mmap returns the file's own buffer, [0, size).
func (fs *FS) Mmap(fd int, size int) ([]byte, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, err := fs.fileOf(fd)
	if err != nil {
		return nil, err
	}
	if size <= 0 || size > len(f.data) {
		return nil, syscall.EINVAL
	}
	b := f.data[:size:size]
	fs.maps = append(fs.maps, mapping{base: uintptr(unsafe.Pointer(&b[0])), n: size, f: f})
	return b, nil
}

// Munmap forgets a mapping.
func (fs *FS) Munmap(b []byte) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return err
	}
	if len(b) == 0 {
		return syscall.EINVAL
	}
	base := uintptr(unsafe.Pointer(&b[0]))
	for i, m := range fs.maps {
		if m.base == base && m.n == len(b) {
			fs.maps = append(fs.maps[:i], fs.maps[i+1:]...)
			return nil
		}
	}
	return syscall.EINVAL
}

// Msync makes the range b of a mapping durable, and the file's size.
func (fs *FS) Msync(b []byte) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	for _, m := range fs.maps {
		if p < m.base || p+uintptr(len(b)) > m.base+uintptr(m.n) {
			continue
		}
		fs.stats.Msyncs++
		f := m.f
		off := int(p - m.base)
		end := min(off+len(b), len(f.data))
		if len(f.dur) > len(f.data) {
			f.dur = f.dur[:len(f.data)]
		} else if len(f.dur) < len(f.data) {
			f.dur = append(f.dur, make([]byte, len(f.data)-len(f.dur))...)
		}
		if off < end {
			// The mapping may be detached from the file (see the package
			// documentation): the page cache is the file's buffer.
			copy(f.dur[off:end], f.data[off:end])
		}
		return nil
	}
	return syscall.ENOMEM // not a mapped range, as the kernel says
}

// Populate does nothing: there are no page faults here.
func (fs *FS) Populate([]byte) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.check()
}

// Release does nothing: the mapping is the file's own buffer.
func (fs *FS) Release([]byte) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.check()
}

// Rename moves an entry; volatile until both directories are fsynced.
func (fs *FS) Rename(from, to string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return err
	}
	fd, fname, err := fs.parent("rename", from)
	if err != nil {
		return err
	}
	n := fd.cur[fname]
	if n == nil {
		return perr("rename", from, syscall.ENOENT)
	}
	td, tname, err := fs.parent("rename", to)
	if err != nil {
		return err
	}
	if old, ok := td.cur[tname].(*dir); ok && len(old.cur) > 0 {
		return perr("rename", to, syscall.ENOTEMPTY)
	}
	delete(fd.cur, fname)
	td.cur[tname] = n
	return nil
}

// Remove removes a file or an empty directory; volatile until the
// directory is fsynced.
func (fs *FS) Remove(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return err
	}
	d, name, err := fs.parent("remove", path)
	if err != nil {
		return err
	}
	switch x := d.cur[name].(type) {
	case nil:
		return perr("remove", path, syscall.ENOENT)
	case *dir:
		if len(x.cur) > 0 {
			return perr("remove", path, syscall.ENOTEMPTY)
		}
	}
	delete(d.cur, name)
	return nil
}

// RemoveAll removes path and everything under it.
func (fs *FS) RemoveAll(path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.check(); err != nil {
		return err
	}
	d, name, err := fs.parent("removeall", path)
	if err != nil {
		return nil
	}
	delete(d.cur, name)
	return nil
}
