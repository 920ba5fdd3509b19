package series

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

func TestRecordAndQuery(t *testing.T) {
	s := New(3)
	t0 := time.UnixMilli(1_000_000)
	topic, ch := Key{Topic: "t"}, Key{Topic: "t", Channel: "c"}
	s.Record(t0, map[Key]Point{topic: {1, 10, 0}})
	s.Record(t0.Add(time.Second), map[Key]Point{topic: {2, 20, 0}, ch: {5, 1, 1}})
	h := s.Query(0, func(Key) bool { return true })
	b, _ := json.Marshal(h)
	want := `{"times":[1000000,1001000],"series":[` +
		`{"topic":"t","channel":"","rate":[1,2],"depth":[10,20],"in_flight":[0,0]},` +
		`{"topic":"t","channel":"c","rate":[null,5],"depth":[null,1],"in_flight":[null,1]}]}`
	if string(b) != want {
		t.Fatalf("got\n%s\nwant\n%s", b, want)
	}

	// the ring wraps: only the last 3 samples; a series missing from a
	// sample has a gap there
	s.Record(t0.Add(2*time.Second), map[Key]Point{topic: {3, 30, 0}})
	s.Record(t0.Add(3*time.Second), map[Key]Point{topic: {4, 40, 0}})
	h = s.Query(0, func(k Key) bool { return k.Channel == "c" })
	b, _ = json.Marshal(h)
	want = `{"times":[1001000,1002000,1003000],"series":[{"topic":"t","channel":"c","rate":[5,null,null],"depth":[1,null,null],"in_flight":[1,null,null]}]}`
	if string(b) != want {
		t.Fatalf("wrapped: got\n%s\nwant\n%s", b, want)
	}
	// absent from every sample held: forgotten
	s.Record(t0.Add(4*time.Second), map[Key]Point{topic: {5, 50, 0}})
	if h = s.Query(0, func(k Key) bool { return k.Channel == "c" }); len(h.Series) != 0 {
		t.Fatalf("stale series kept: %+v", h.Series)
	}
	// points limits to the newest
	h = s.Query(2, func(Key) bool { return true })
	if len(h.Times) != 2 || h.Times[1] != t0.Add(4*time.Second).UnixMilli() || h.Series[0].Rate[1] != 5 {
		t.Fatalf("points=2: %+v", h)
	}
	// a sample with nothing: gaps everywhere, series kept
	s.Record(t0.Add(5*time.Second), nil)
	h = s.Query(0, func(Key) bool { return true })
	if len(h.Series) != 1 || !math.IsNaN(float64(h.Series[0].Depth[2])) {
		t.Fatalf("empty sample: %+v", h)
	}
}

func TestValuesJSON(t *testing.T) {
	b, err := json.Marshal(Values{1.23456, float32(math.NaN()), 0, float32(math.Inf(1)), 1e6})
	if err != nil || string(b) != `[1.235,null,0,null,1000000]` {
		t.Fatalf("%s %v", b, err)
	}
	if b, _ := json.Marshal(Values{}); string(b) != `[]` {
		t.Fatalf("empty %s", b)
	}
	if New(0).Capacity() != 1 {
		t.Fatal("capacity 0 should be 1")
	}
}

func TestEmptyStore(t *testing.T) {
	b, _ := json.Marshal(New(5).Query(0, func(Key) bool { return true }))
	if string(b) != `{"times":[],"series":[]}` {
		t.Fatalf("%s", b)
	}
}
