package queue

import (
	"math/rand/v2"
	"testing"
)

func TestRing(t *testing.T) {
	r := NewRing[int](3)
	if _, ok := r.Pop(); ok {
		t.Fatal("pop from empty")
	}
	if _, ok := r.Peek(); ok {
		t.Fatal("peek at empty")
	}
	for i := 1; i <= 3; i++ {
		if !r.Push(i) {
			t.Fatal("push failed")
		}
	}
	if r.Push(4) || r.Len() != 3 || r.Cap() != 3 {
		t.Fatal("push into full ring")
	}
	if v, ok := r.Peek(); !ok || v != 1 {
		t.Fatal(v)
	}
	if v, _ := r.Pop(); v != 1 {
		t.Fatal(v)
	}
	r.Push(4) // wraps
	if r.At(0) != 2 || r.At(2) != 4 {
		t.Fatal(r.At(0), r.At(2))
	}
	r.PushGrow(5) // grows while wrapped
	if r.Cap() != 6 || r.Len() != 4 {
		t.Fatal(r.Cap(), r.Len())
	}
	for want := 2; want <= 5; want++ {
		if v, ok := r.Pop(); !ok || v != want {
			t.Fatalf("got %d, want %d", v, want)
		}
	}
	var z Ring[string] // zero value
	z.PushGrow("a")
	z.PushGrow("b")
	if v, _ := z.Pop(); v != "a" || z.Len() != 1 {
		t.Fatal(v)
	}
	z.Reset()
	if z.Len() != 0 {
		t.Fatal("reset")
	}
}

// TestRingRandom checks Ring against a slice model.
func TestRingRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := NewRing[int](5)
	var model []int
	for i := 0; i < 100000; i++ {
		switch op := rng.IntN(10); {
		case op < 4:
			ok := r.Push(i)
			if ok != (len(model) < r.Cap()) {
				t.Fatalf("push: %v with %d/%d", ok, len(model), r.Cap())
			}
			if ok {
				model = append(model, i)
			}
		case op < 5:
			r.PushGrow(i)
			model = append(model, i)
		case op < 9:
			v, ok := r.Pop()
			if ok != (len(model) > 0) || (ok && v != model[0]) {
				t.Fatalf("pop %d %v, model %v", v, ok, model)
			}
			if ok {
				model = model[1:]
			}
		default:
			if len(model) > 0 {
				k := rng.IntN(len(model))
				if r.At(k) != model[k] {
					t.Fatal("At")
				}
			}
		}
		if r.Len() != len(model) {
			t.Fatal("Len")
		}
	}
}

func TestRingPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"negative": func() { NewRing[int](-1) },
		"at":       func() { NewRing[int](2).At(0) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
