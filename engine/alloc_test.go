//go:build !race

package engine

import "testing"

// TestSteadyStateAllocs proves that publishing a message, delivering it to
// a consumer and finishing it allocates nothing once warmed up.
func TestSteadyStateAllocs(t *testing.T) {
	e := newBenchEngine(t)
	tp, s, sub := subscribed(t, e, 2500)
	body := make([]byte, 200)
	step := func() {
		for i := 0; i < 50; i++ {
			if err := tp.Publish(body); err != nil {
				t.Fatal(err)
			}
		}
		finishAll(t, s, sub)
	}
	for i := 0; i < 200; i++ {
		step() // warm up: grow slabs, maps and buffers
	}
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Fatalf("publish+deliver+finish of 50 messages: %v allocations, want 0", n)
	}
}
