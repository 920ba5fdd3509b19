package hist

import (
	"encoding/json"
	"errors"
	"fmt"
)

// encoded is the JSON form of a Histogram: the summary values and each
// non-empty bucket as [lowest value, count].
type encoded struct {
	Count   uint64     `json:"count"`
	Min     int64      `json:"min"`
	Max     int64      `json:"max"`
	Mean    float64    `json:"mean"`
	Buckets [][2]int64 `json:"buckets"`
}

// MarshalJSON encodes h with only its non-empty buckets, so a report stays
// small: {"count","min","max","mean","buckets":[[lo,count],...]}.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	e := encoded{Count: h.total, Min: h.min, Max: h.max, Mean: h.Mean(), Buckets: [][2]int64{}}
	for i, c := range h.counts {
		if c != 0 {
			lo, _ := bucketRange(i)
			e.Buckets = append(e.Buckets, [2]int64{lo, int64(c)})
		}
	}
	return json.Marshal(e)
}

// UnmarshalJSON decodes what MarshalJSON wrote. It rejects documents that
// no histogram could have produced: a bucket value that does not start a
// bucket, buckets out of order, counts that do not add up, and min or max
// outside the first or last bucket.
func (h *Histogram) UnmarshalJSON(data []byte) error {
	var e encoded
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	var n Histogram
	last := -1
	for _, b := range e.Buckets {
		lo, c := b[0], b[1]
		if lo < 0 || c <= 0 {
			return fmt.Errorf("hist: bad bucket [%d,%d]", lo, c)
		}
		i := bucketOf(lo)
		if l, _ := bucketRange(i); l != lo {
			return fmt.Errorf("hist: %d does not start a bucket", lo)
		}
		if i <= last {
			return errors.New("hist: buckets out of order")
		}
		last = i
		n.counts[i] = uint64(c)
		if n.total+uint64(c) < n.total {
			return errors.New("hist: count overflows")
		}
		n.total += uint64(c)
	}
	if n.total != e.Count {
		return fmt.Errorf("hist: buckets hold %d values, count says %d", n.total, e.Count)
	}
	if n.total > 0 {
		first := bucketOf(e.Buckets[0][0])
		if e.Min < 0 || bucketOf(e.Min) != first || bucketOf(e.Max) != last || e.Min > e.Max {
			return errors.New("hist: min or max outside the recorded buckets")
		}
		n.min, n.max = e.Min, e.Max
		n.sum = e.Mean * float64(n.total)
	}
	*h = n
	return nil
}
