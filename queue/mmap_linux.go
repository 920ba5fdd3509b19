package queue

import "golang.org/x/sys/unix"

// fallocate allocates blocks for [off, off+n) of fd (mode 0 within the file
// size: the size is unchanged, the range becomes allocated-but-unwritten
// extents on ext4/xfs, so later page writes need no block allocation and
// cannot fail with ENOSPC, which through a mapping would be a SIGBUS).
func fallocate(fd int, off, n int64) error {
	for {
		err := unix.Fallocate(fd, 0, off, n)
		switch err {
		case unix.EINTR:
			continue
		case unix.EOPNOTSUPP, unix.ENOSYS:
			return ErrUnsupported
		}
		return err
	}
}

// populateWrite prefaults b for writing: MADV_POPULATE_WRITE (Linux 5.14)
// runs the write-fault path (page-cache allocation, page_mkwrite, PTE setup)
// for every page without changing any byte.
func populateWrite(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	for {
		err := unix.Madvise(b, unix.MADV_POPULATE_WRITE)
		switch err {
		case unix.EINTR:
			continue
		case unix.EINVAL:
			return ErrUnsupported
		}
		return err
	}
}

// dontNeed drops the page-table entries of b (MADV_DONTNEED). On a
// MAP_SHARED file mapping this only unmaps pages: their contents stay in
// the page cache (a dirty page stays dirty and is written back as usual)
// and the next access faults them back in, so it is safe while other
// goroutines read or write b.
func dontNeed(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	for {
		err := unix.Madvise(b, unix.MADV_DONTNEED)
		if err != unix.EINTR {
			return err
		}
	}
}
