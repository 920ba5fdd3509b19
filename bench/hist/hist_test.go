package hist

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	// Every bucket's range starts right after the previous one ends.
	prevHi := int64(-1)
	for i := range NumBuckets {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d,%d], previous ended at %d", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d = [%d,%d] maps back to %d, %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("last bucket ends at %d", prevHi)
	}
}

func TestRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := r.Int64N(math.MaxInt64 >> r.IntN(63))
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v > hi {
			t.Fatalf("%d not in its bucket [%d,%d]", v, lo, hi)
		}
		if v >= 256 && float64(hi-lo) > float64(lo)/128 {
			t.Fatalf("bucket [%d,%d] wider than 1/128 of %d", lo, hi, lo)
		}
	}
}

func TestQuantilesAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	vals := make([]int64, 50000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 1e6) // ~1ms mean, long tail
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 0.9999} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.ValueAt(q)
		if got < want || float64(got-want) > float64(want)/128+1 {
			t.Errorf("q%v = %d, exact %d", q, got, want)
		}
	}
	if h.ValueAt(0) != vals[0] || h.ValueAt(1) != vals[len(vals)-1] {
		t.Errorf("min/max = %d/%d, want %d/%d", h.ValueAt(0), h.ValueAt(1), vals[0], vals[len(vals)-1])
	}
	if h.Count() != uint64(len(vals)) {
		t.Errorf("count %d", h.Count())
	}
	var sum float64
	for _, v := range vals {
		sum += float64(v)
	}
	if m := h.Mean(); math.Abs(m-sum/float64(len(vals))) > 1 {
		t.Errorf("mean %v, want %v", m, sum/float64(len(vals)))
	}
}

func TestEmptyAndEdges(t *testing.T) {
	var h Histogram
	if h.ValueAt(0.5) != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram is not zero")
	}
	h.Record(-5)
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != math.MaxInt64 {
		t.Fatalf("min %d max %d", h.Min(), h.Max())
	}
	if got := h.ValueAt(0.5); got != 0 {
		t.Fatalf("p50 of {0, max} = %d", got)
	}
	if got := h.ValueAt(math.NaN()); got != 0 {
		t.Fatalf("NaN quantile = %d", got)
	}
	h.RecordN(7, 0)
	if h.Count() != 2 {
		t.Fatalf("RecordN(_, 0) counted")
	}
}

func TestMerge(t *testing.T) {
	var a, b, all Histogram
	for i := range int64(1000) {
		v := i * i * 1000
		all.Record(v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	a.Merge(&b)
	a.Merge(nil)
	if a != all {
		t.Fatal("merged histogram differs from the one recorded at once")
	}
	var empty Histogram
	empty.Merge(&all)
	if empty != all {
		t.Fatal("merge into empty differs")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var h Histogram
	for range 10000 {
		h.Record(int64(r.NormFloat64()*1e5 + 2e7))
	}
	data, err := json.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	var back Histogram
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.counts != h.counts || back.Count() != h.Count() || back.Min() != h.Min() || back.Max() != h.Max() {
		t.Fatal("round trip changed the histogram")
	}
	if math.Abs(back.Mean()-h.Mean()) > 1e-6*h.Mean() {
		t.Fatalf("mean %v -> %v", h.Mean(), back.Mean())
	}
	var empty Histogram
	data, _ = json.Marshal(&empty)
	if err := json.Unmarshal(data, &back); err != nil || back.Count() != 0 {
		t.Fatalf("empty round trip: %v %d", err, back.Count())
	}
}

func TestJSONRejects(t *testing.T) {
	for _, doc := range []string{
		`{"count":1,"min":300,"max":300,"buckets":[[301,1]]}`,                                           // not a bucket start
		`{"count":2,"min":1,"max":2,"buckets":[[2,1],[1,1]]}`,                                           // order
		`{"count":3,"min":1,"max":2,"buckets":[[1,1],[2,1]]}`,                                           // count
		`{"count":1,"min":5,"max":5,"buckets":[[1,1]]}`,                                                 // min outside
		`{"count":1,"min":1,"max":1,"buckets":[[1,0]]}`,                                                 // empty bucket
		`{"count":1,"min":-1,"max":1,"buckets":[[1,1]]}`,                                                // negative
		`{"count":0,"buckets":[[-3,1]]}`,                                                                // negative bucket
		`{"count":2,"min":1,"max":1,"buckets":[[1,9223372036854775807],[2,9223372036854775807],[3,2]]}`, // overflow
		`[1,2]`,
	} {
		var h Histogram
		if err := json.Unmarshal([]byte(doc), &h); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}
