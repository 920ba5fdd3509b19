// Package hist is an HDR-style latency histogram: values (nanoseconds, as a
// rule) are counted in log-linear buckets, exact below 256 and within a
// relative error of 1/128 (0.78%, about two significant digits) above, over
// the whole positive int64 range. Recording is O(1) and allocation free, so a
// load generator can record every message; percentiles are read by walking
// the 7296 buckets once.
//
// The layout is HdrHistogram's with a fixed precision: each power of two is
// split into 128 equal sub-buckets. A percentile is reported as the highest
// value its bucket can hold (HdrHistogram's "highest equivalent value"),
// clamped to the largest value recorded, so it never understates.
//
// A Histogram is not safe for concurrent use: give each goroutine its own
// and Merge them afterwards.
package hist

import (
	"math"
	"math/bits"
)

// subBits is log2 of the sub-buckets per power of two. 7 gives 128, a
// relative error below 0.78% and 7296 buckets (58 KiB of counters).
const subBits = 7

const (
	subCount = 1 << subBits
	// NumBuckets is the number of buckets: 2*subCount exact values, then
	// subCount buckets for each of the remaining powers of two up to 2^63.
	NumBuckets = (64 - subBits) * subCount
)

// Histogram counts non-negative int64 values. The zero value is empty and
// ready to use.
type Histogram struct {
	counts [NumBuckets]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64
}

// New returns an empty histogram.
func New() *Histogram { return &Histogram{} }

// bucketOf returns the bucket holding v (v >= 0).
func bucketOf(v int64) int {
	u := uint64(v)
	if u < 2*subCount {
		return int(u)
	}
	e := bits.Len64(u) - 1 - subBits // u>>e is in [subCount, 2*subCount)
	return (e+1)<<subBits + int(u>>e) - subCount
}

// bucketRange returns the lowest and highest value bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i)
	}
	e := i>>subBits - 1
	sub := uint64(i&(subCount-1) + subCount)
	l := sub << e
	h := l + 1<<e - 1
	if h > math.MaxInt64 {
		h = math.MaxInt64
	}
	return int64(l), int64(h)
}

// Record counts v once. Negative values count as 0.
func (h *Histogram) Record(v int64) { h.RecordN(v, 1) }

// RecordN counts v n times. Negative values count as 0.
func (h *Histogram) RecordN(v int64, n uint64) {
	if n == 0 {
		return
	}
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(v)] += n
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total += n
	h.sum += float64(v) * float64(n)
}

// Count is the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Min is the smallest value recorded, 0 if none.
func (h *Histogram) Min() int64 { return h.min }

// Max is the largest value recorded, 0 if none.
func (h *Histogram) Max() int64 { return h.max }

// Mean is the arithmetic mean of the values recorded, 0 if none.
func (h *Histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return h.sum / float64(h.total)
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// ValueAt returns the value at quantile q (0 <= q <= 1): the smallest
// recorded value v such that at least q of all values are <= v, up to the
// bucket's precision (see the package comment). ValueAt(0) is Min and
// ValueAt(1) is Max; an empty histogram gives 0.
func (h *Histogram) ValueAt(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	if !(q > 0) { // also NaN
		return h.min
	}
	if q >= 1 {
		return h.max
	}
	rank := uint64(math.Ceil(q * float64(h.total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return min(max(hi, h.min), h.max)
		}
	}
	return h.max
}

// Bucket is one non-empty bucket: Count values between Lo and Hi inclusive.
type Bucket struct {
	Lo, Hi int64
	Count  uint64
}

// Buckets appends h's non-empty buckets to dst in increasing order.
func (h *Histogram) Buckets(dst []Bucket) []Bucket {
	for i, c := range h.counts {
		if c != 0 {
			lo, hi := bucketRange(i)
			dst = append(dst, Bucket{Lo: lo, Hi: hi, Count: c})
		}
	}
	return dst
}
