package hist

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkRecord(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]int64, 4096)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 1e6)
	}
	var h Histogram
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		h.Record(vals[i&4095])
	}
}

func BenchmarkValueAt(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var h Histogram
	for range 100000 {
		h.Record(int64(r.ExpFloat64() * 1e6))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = h.ValueAt(0.999)
	}
}

func BenchmarkMerge(b *testing.B) {
	var h, o Histogram
	for i := range int64(10000) {
		o.Record(i * 997)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.Merge(&o)
	}
}
