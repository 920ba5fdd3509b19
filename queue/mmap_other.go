//go:build !linux

package queue

func fallocate(fd int, off, n int64) error { return errUnsupported }

func populateWrite(b []byte) error { return errUnsupported }
