package queue

// Ring is a bounded FIFO queue over a circular buffer. Push fails when it is
// full; PushGrow doubles the capacity instead. It allocates only when it
// grows. The zero value is an empty ring of capacity 0.
//
// Not safe for concurrent use: it belongs to one goroutine (an event loop, a
// channel's state) or must be guarded by the owner's lock.
type Ring[T any] struct {
	buf  []T
	head int // index of the oldest element
	n    int // number of elements
}

// NewRing returns an empty ring holding at most capacity elements.
// capacity must not be negative.
func NewRing[T any](capacity int) *Ring[T] {
	if capacity < 0 {
		panic("queue: negative Ring capacity")
	}
	return &Ring[T]{buf: make([]T, capacity)}
}

// Len returns the number of elements.
func (r *Ring[T]) Len() int { return r.n }

// Cap returns the capacity.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// Push appends v at the tail; it returns false, and does nothing, when the
// ring is full.
func (r *Ring[T]) Push(v T) bool {
	if r.n == len(r.buf) {
		return false
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.buf[i] = v
	r.n++
	return true
}

// PushGrow appends v at the tail, doubling the capacity first if the ring is
// full (to 1 from 0).
func (r *Ring[T]) PushGrow(v T) {
	if r.n == len(r.buf) {
		r.grow(max(2*len(r.buf), 1))
	}
	r.Push(v)
}

func (r *Ring[T]) grow(capacity int) {
	buf := make([]T, capacity)
	k := copy(buf, r.buf[r.head:min(r.head+r.n, len(r.buf))])
	copy(buf[k:], r.buf[:r.n-k])
	r.buf, r.head = buf, 0
}

// Pop removes and returns the oldest element; ok is false when the ring is
// empty. The vacated slot is zeroed so the ring holds no stale references.
func (r *Ring[T]) Pop() (v T, ok bool) {
	if r.n == 0 {
		return v, false
	}
	var zero T
	v, r.buf[r.head] = r.buf[r.head], zero
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
	return v, true
}

// Peek returns the oldest element without removing it; ok is false when the
// ring is empty.
func (r *Ring[T]) Peek() (v T, ok bool) {
	if r.n == 0 {
		return v, false
	}
	return r.buf[r.head], true
}

// At returns the i-th oldest element (0 is what Peek returns). It panics if
// i is out of [0, Len()).
func (r *Ring[T]) At(i int) T {
	if i < 0 || i >= r.n {
		panic("queue: Ring index out of range")
	}
	i += r.head
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	return r.buf[i]
}

// Reset removes every element, keeping the capacity.
func (r *Ring[T]) Reset() {
	clear(r.buf)
	r.head, r.n = 0, 0
}
