//go:build !linux

package queue

func fallocate(fd int, off, n int64) error { return ErrUnsupported }

func populateWrite(b []byte) error { return ErrUnsupported }

func dontNeed(b []byte) error { return nil }
