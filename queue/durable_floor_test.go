package queue

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkDurableWriteFloor measures, on the disk that holds the test's
// temporary directory (set TMPDIR to measure another), what one durable
// write of a small record costs with each primitive a broker could use when
// nothing can be grouped: one publisher, one message in flight
// (nsqd --sync-every=1 with one connection). It is the floor under that
// shape: no broker answers a durable publish faster than its disk makes one
// small write stable.
//
// Measured on the 2-core VM of docs/BENCHMARKS.md (ext4 on virtio) on
// 2026-12-07: pwrite+fdatasync into preallocated blocks 115–170 µs,
// O_DIRECT|O_DSYNC 4 KiB 115–170 µs, a store into a shared mapping + msync
// 370–390 µs (the write fault that re-dirties the page after each
// writeback, and msync's full fsync of the inode, cost the difference).
// Upstream's disk queue (write + fsync of a growing file) takes about
// 0.56 ms per message there, so even at the floor one connection can go at
// most 3–5× faster than upstream; docs/BENCHMARKS.md, Group commit.
func BenchmarkDurableWriteFloor(b *testing.B) {
	const rec = 64
	const fileSize = 64 << 20
	prealloc := func(b *testing.B) *os.File {
		f, err := os.OpenFile(filepath.Join(b.TempDir(), "floor"), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		if err := unix.Fallocate(int(f.Fd()), 0, 0, fileSize); err != nil {
			b.Fatal(err)
		}
		// Write the blocks once so that later writes overwrite
		// initialised extents and fdatasync has no metadata to commit.
		zero := make([]byte, 1<<20)
		for off := int64(0); off < fileSize; off += int64(len(zero)) {
			if _, err := f.WriteAt(zero, off); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	payload := make([]byte, rec)
	offset := func(i int) int64 { return int64(i*rec) % fileSize }

	b.Run("pwrite+fdatasync", func(b *testing.B) {
		f := prealloc(b)
		b.SetBytes(rec)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := f.WriteAt(payload, offset(i)); err != nil {
				b.Fatal(err)
			}
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("O_DIRECT|O_DSYNC-4KiB", func(b *testing.B) {
		f := prealloc(b)
		d, err := os.OpenFile(f.Name(), os.O_RDWR|unix.O_DIRECT|unix.O_DSYNC, 0)
		if err != nil {
			b.Skip("O_DIRECT:", err)
		}
		defer d.Close()
		buf := make([]byte, 2*pageSize)
		skip := (pageSize - int(uintptr(unsafe.Pointer(&buf[0])))%pageSize) % pageSize
		block := buf[skip : skip+pageSize]
		b.SetBytes(rec)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			// 64 records share a block, as appends to a log do.
			if _, err := d.WriteAt(block, int64(pageDown(int(offset(i))))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mmap+msync", func(b *testing.B) {
		f := prealloc(b)
		m, err := unix.Mmap(int(f.Fd()), 0, fileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Munmap(m)
		b.SetBytes(rec)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			off := int(offset(i))
			copy(m[off:off+rec], payload)
			page := pageDown(off)
			if err := unix.Msync(m[page:page+pageSize], unix.MS_SYNC); err != nil {
				b.Fatal(err)
			}
		}
	})
}
