//go:build !race

package hist

import "testing"

func TestRecordAllocs(t *testing.T) {
	h := New()
	v := int64(12345)
	if n := testing.AllocsPerRun(1000, func() { h.Record(v); v += 977 }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = h.ValueAt(0.99) }); n != 0 {
		t.Fatalf("ValueAt allocates %v times", n)
	}
}
