package queue

// Heap is a binary min-heap of items keyed by an int64 (a deadline in
// nanoseconds, typically), with stable handles: Push returns a handle that
// stays valid until the item leaves the heap (Remove or PopMin), so an item
// can be re-keyed (Fix) or removed in O(log n) without a search. Handles are
// small non-negative ints and are reused after the item leaves; using a stale
// handle is a bug (Fix and Remove panic if the slot is free). Items with equal
// keys pop in no particular order.
//
// Slots of removed items go on a free list, so a heap whose size stays
// bounded allocates nothing in steady state. The zero value is an empty heap.
//
// Not safe for concurrent use.
type Heap[T any] struct {
	slots []heapSlot[T] // indexed by handle
	heap  []int         // handles, heap-ordered by key
	free  []int         // free handles
}

type heapSlot[T any] struct {
	item T
	key  int64
	pos  int // index in heap, -1 when free
}

// NewHeap returns an empty heap with room for capacity items before it
// allocates.
func NewHeap[T any](capacity int) *Heap[T] {
	return &Heap[T]{
		slots: make([]heapSlot[T], 0, capacity),
		heap:  make([]int, 0, capacity),
		free:  make([]int, 0, capacity),
	}
}

// Len returns the number of items.
func (h *Heap[T]) Len() int { return len(h.heap) }

// Push adds item with key and returns its handle.
func (h *Heap[T]) Push(item T, key int64) (handle int) {
	if n := len(h.free); n > 0 {
		handle = h.free[n-1]
		h.free = h.free[:n-1]
	} else {
		handle = len(h.slots)
		h.slots = append(h.slots, heapSlot[T]{})
	}
	h.slots[handle] = heapSlot[T]{item: item, key: key, pos: len(h.heap)}
	h.heap = append(h.heap, handle)
	h.up(len(h.heap) - 1)
	return handle
}

// Fix changes the key of the item with the given handle.
func (h *Heap[T]) Fix(handle int, key int64) {
	s := h.slot(handle)
	old := s.key
	s.key = key
	if key < old {
		h.up(s.pos)
	} else {
		h.down(s.pos)
	}
}

// Remove removes the item with the given handle and returns it.
func (h *Heap[T]) Remove(handle int) T {
	s := h.slot(handle)
	item := s.item
	h.removeAt(s.pos)
	return item
}

// Item returns the item with the given handle.
func (h *Heap[T]) Item(handle int) T { return h.slot(handle).item }

// Key returns the key of the item with the given handle.
func (h *Heap[T]) Key(handle int) int64 { return h.slot(handle).key }

// PeekMin returns the item with the smallest key and that key without
// removing it; ok is false when the heap is empty.
func (h *Heap[T]) PeekMin() (item T, key int64, ok bool) {
	if len(h.heap) == 0 {
		return item, 0, false
	}
	s := &h.slots[h.heap[0]]
	return s.item, s.key, true
}

// MinHandle returns the handle of the item with the smallest key; ok is false
// when the heap is empty.
func (h *Heap[T]) MinHandle() (handle int, ok bool) {
	if len(h.heap) == 0 {
		return -1, false
	}
	return h.heap[0], true
}

// PopMin removes and returns the item with the smallest key and that key; ok
// is false when the heap is empty.
func (h *Heap[T]) PopMin() (item T, key int64, ok bool) {
	if len(h.heap) == 0 {
		return item, 0, false
	}
	s := &h.slots[h.heap[0]]
	item, key = s.item, s.key
	h.removeAt(0)
	return item, key, true
}

func (h *Heap[T]) slot(handle int) *heapSlot[T] {
	if handle < 0 || handle >= len(h.slots) || h.slots[handle].pos < 0 {
		panic("queue: invalid Heap handle")
	}
	return &h.slots[handle]
}

func (h *Heap[T]) removeAt(i int) {
	handle := h.heap[i]
	last := len(h.heap) - 1
	if i != last {
		h.swap(i, last)
	}
	h.heap = h.heap[:last]
	if i != last {
		h.down(i)
		h.up(i)
	}
	h.slots[handle] = heapSlot[T]{pos: -1} // drop the item for the GC
	h.free = append(h.free, handle)
}

func (h *Heap[T]) less(i, j int) bool {
	return h.slots[h.heap[i]].key < h.slots[h.heap[j]].key
}

func (h *Heap[T]) swap(i, j int) {
	h.heap[i], h.heap[j] = h.heap[j], h.heap[i]
	h.slots[h.heap[i]].pos = i
	h.slots[h.heap[j]].pos = j
}

func (h *Heap[T]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *Heap[T]) down(i int) {
	n := len(h.heap)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h.swap(i, c)
		i = c
	}
}
