//go:build !race

package queue

import "testing"

// The append and read paths must not allocate: Append's variadic slice stays
// on the caller's stack and Read returns a value aliasing the segment.
func TestAllocsAppendRead(t *testing.T) {
	forModes(t, Options{SegmentSize: 64 << 20}, func(t *testing.T, dir string, opts Options) {
		l := mustOpen(t, dir, opts)
		a, b, c := make([]byte, 26), make([]byte, 100), make([]byte, 74)
		if _, err := l.Append(a, b, c); err != nil { // map the first page
			t.Fatal(err)
		}
		l.Commit()
		if n := testing.AllocsPerRun(5000, func() {
			if _, err := l.Append(a, b, c); err != nil {
				t.Fatal(err)
			}
			l.Commit()
		}); n != 0 {
			t.Errorf("Append+Commit: %v allocs", n)
		}
		// Parts built on the caller's stack stay there.
		if n := testing.AllocsPerRun(1000, func() {
			var hdr [26]byte
			hdr[0] = 1
			if _, err := l.Append(hdr[:], b); err != nil {
				t.Fatal(err)
			}
			l.Commit()
		}); n != 0 {
			t.Errorf("Append with a stack buffer: %v allocs", n)
		}
		p := l.First()
		if n := testing.AllocsPerRun(5000, func() {
			r, err := l.Read(p)
			if err != nil {
				t.Fatal(err)
			}
			p = r.Next
		}); n != 0 {
			t.Errorf("Read: %v allocs", n)
		}
		if n := testing.AllocsPerRun(1000, func() {
			_ = l.Head()
			_ = l.First()
			_ = l.Size()
		}); n != 0 {
			t.Errorf("Head/First/Size: %v allocs", n)
		}
		if !opts.InMemory {
			if n := testing.AllocsPerRun(100, func() {
				_, _ = l.Append(a)
				l.Commit()
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("Sync: %v allocs", n)
			}
		}
	})
}

func TestAllocsRingHeap(t *testing.T) {
	r := NewRing[int](64)
	if n := testing.AllocsPerRun(1000, func() {
		for i := 0; i < 50; i++ {
			r.Push(i)
		}
		for r.Len() > 0 {
			r.Pop()
		}
	}); n != 0 {
		t.Errorf("Ring: %v allocs", n)
	}
	h := NewHeap[*int](0)
	var x int
	handles := make([]int, 100)
	for i := range handles { // grow once
		handles[i] = h.Push(&x, int64(i))
	}
	for h.Len() > 0 {
		h.PopMin()
	}
	if n := testing.AllocsPerRun(1000, func() {
		for i := range handles {
			handles[i] = h.Push(&x, int64((i*7919)%100))
		}
		for i := 0; i < len(handles); i += 3 {
			h.Fix(handles[i], int64(i))
		}
		for i := 1; i < len(handles); i += 3 {
			h.Remove(handles[i])
		}
		for h.Len() > 0 {
			h.PopMin()
		}
	}); n != 0 {
		t.Errorf("Heap: %v allocs", n)
	}
}
