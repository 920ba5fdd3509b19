package queue

import (
	"math/rand/v2"
	"sort"
	"testing"
)

func TestHeap(t *testing.T) {
	h := NewHeap[string](4)
	if _, _, ok := h.PeekMin(); ok {
		t.Fatal("peek at empty")
	}
	if _, _, ok := h.PopMin(); ok {
		t.Fatal("pop from empty")
	}
	a := h.Push("a", 30)
	b := h.Push("b", 10)
	c := h.Push("c", 20)
	if v, k, _ := h.PeekMin(); v != "b" || k != 10 {
		t.Fatal(v, k)
	}
	h.Fix(a, 5)
	if v, _, _ := h.PeekMin(); v != "a" {
		t.Fatal(v)
	}
	if hd, _ := h.MinHandle(); hd != a {
		t.Fatal(hd)
	}
	if h.Remove(b) != "b" || h.Len() != 2 {
		t.Fatal("remove")
	}
	if h.Item(c) != "c" || h.Key(c) != 20 {
		t.Fatal("item/key")
	}
	d := h.Push("d", 1) // reuses b's slot
	if d != b {
		t.Fatalf("handle %d not reused (%d)", d, b)
	}
	var got []string
	for h.Len() > 0 {
		v, _, _ := h.PopMin()
		got = append(got, v)
	}
	if len(got) != 3 || got[0] != "d" || got[1] != "a" || got[2] != "c" {
		t.Fatal(got)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("stale handle accepted")
			}
		}()
		h.Fix(a, 1)
	}()
}

// TestHeapRandom checks Heap against a map model with random pushes, fixes,
// removes and pops.
func TestHeapRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h Heap[int]          // zero value
	model := map[int]int64{} // handle -> key
	items := map[int]int{}   // handle -> item
	for i := 0; i < 200000; i++ {
		switch op := rng.IntN(10); {
		case op < 4 || len(model) == 0:
			k := rng.Int64N(1000)
			hd := h.Push(i, k)
			if _, dup := model[hd]; dup {
				t.Fatal("live handle reused")
			}
			model[hd], items[hd] = k, i
		case op < 6:
			hd := anyKey(rng, model)
			k := rng.Int64N(1000)
			h.Fix(hd, k)
			model[hd] = k
		case op < 7:
			hd := anyKey(rng, model)
			if h.Remove(hd) != items[hd] {
				t.Fatal("Remove returned the wrong item")
			}
			delete(model, hd)
			delete(items, hd)
		default:
			minK := int64(1 << 62)
			for _, k := range model {
				minK = min(minK, k)
			}
			hd, _ := h.MinHandle()
			v, k, ok := h.PopMin()
			if !ok || k != minK || model[hd] != k || items[hd] != v {
				t.Fatalf("PopMin %d %d %v, want key %d", v, k, ok, minK)
			}
			delete(model, hd)
			delete(items, hd)
		}
		if h.Len() != len(model) {
			t.Fatal("Len")
		}
	}
}

func anyKey(rng *rand.Rand, m map[int]int64) int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys[rng.IntN(len(keys))]
}
