package queue

import (
	"math/rand/v2"
	"testing"
)

// checkSeqIndex compares x with the map it should equal.
func checkSeqIndex(t *testing.T, x *SeqIndex, want map[uint64]int32) {
	t.Helper()
	if x.Len() != len(want) {
		t.Fatalf("Len %d, want %d", x.Len(), len(want))
	}
	for k, v := range want {
		if got, ok := x.Get(k); !ok || got != v {
			t.Fatalf("Get(%d) = %d, %v; want %d", k, got, ok, v)
		}
	}
	n := 0
	mask := uint64(len(x.slots) - 1)
	for i, s := range x.slots {
		if s.key != 0 {
			// Linear probing: no empty slot between a key's home and it;
			// Robin Hood: the next key is at most one farther from home.
			for j := x.home(s.key - 1); j != uint64(i); j = (j + 1) & mask {
				if x.slots[j].key == 0 {
					t.Fatalf("empty slot %d between key %d's home and its slot %d", j, s.key-1, i)
				}
			}
			if next := (uint64(i) + 1) & mask; x.slots[next].key != 0 && x.dib(next) > x.dib(uint64(i))+1 {
				t.Fatalf("slot %d: distance %d after %d", next, x.dib(next), x.dib(uint64(i)))
			}
			n++
			if _, ok := want[s.key-1]; !ok {
				t.Fatalf("key %d in the table, not in the map", s.key-1)
			}
		}
	}
	if n != len(want) {
		t.Fatalf("%d occupied slots, want %d", n, len(want))
	}
}

// TestSeqIndexAgainstMap applies random operations to a SeqIndex and a
// map, with keys drawn the ways in-flight message IDs come: a sliding
// window of consecutive numbers, a few stragglers far behind, keys a
// power of two apart (which would share one bucket without the folding),
// and anything at all.
func TestSeqIndexAgainstMap(t *testing.T) {
	keys := map[string]func(r *rand.Rand, i int) uint64{
		"window":  func(r *rand.Rand, i int) uint64 { return uint64(i/2) + r.Uint64N(300) },
		"strided": func(r *rand.Rand, i int) uint64 { return r.Uint64N(200) << 10 },
		"mixed": func(r *rand.Rand, i int) uint64 {
			if r.IntN(10) == 0 {
				return r.Uint64N(50)
			}
			return uint64(i) + r.Uint64N(100)
		},
		"random": func(r *rand.Rand, i int) uint64 { return r.Uint64() >> r.IntN(64) },
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(name))))
			var x SeqIndex
			want := map[uint64]int32{}
			for i := 0; i < 40000; i++ {
				k := key(r, i)
				switch op := r.IntN(10); {
				case op < 5:
					v := r.Int32()
					x.Put(k, v)
					want[k] = v
				case op < 9:
					_, had := want[k]
					if got := x.Delete(k); got != had {
						t.Fatalf("op %d: Delete(%d) = %v, want %v", i, k, got, had)
					}
					delete(want, k)
				default:
					v, ok := x.Get(k)
					if w, had := want[k]; ok != had || v != w {
						t.Fatalf("op %d: Get(%d) = %d, %v; want %d, %v", i, k, v, ok, w, had)
					}
				}
				if i%997 == 0 {
					checkSeqIndex(t, &x, want)
				}
			}
			checkSeqIndex(t, &x, want)
			size := len(x.slots)
			x.Clear()
			checkSeqIndex(t, &x, map[uint64]int32{})
			if len(x.slots) != size {
				t.Fatalf("Clear changed the table size %d -> %d", size, len(x.slots))
			}
		})
	}
}

func TestSeqIndexZeroValue(t *testing.T) {
	var x SeqIndex
	if _, ok := x.Get(0); ok || x.Delete(0) || x.Len() != 0 {
		t.Fatal("the zero SeqIndex is not empty")
	}
	x.Put(0, 7)
	x.Put(^uint64(0)-1, 8)
	if v, ok := x.Get(0); !ok || v != 7 {
		t.Fatalf("Get(0) = %d, %v", v, ok)
	}
	if v, ok := x.Get(^uint64(0) - 1); !ok || v != 8 {
		t.Fatalf("Get(max-1) = %d, %v", v, ok)
	}
}
