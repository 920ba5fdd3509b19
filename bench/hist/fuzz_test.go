package hist

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzUnmarshalJSON feeds arbitrary documents to the decoder: it must not
// panic, and whatever it accepts must encode back to a document that
// decodes to the same histogram.
func FuzzUnmarshalJSON(f *testing.F) {
	var h Histogram
	for _, v := range []int64{0, 1, 255, 256, 1000, 20e6, 1 << 62} {
		h.Record(v)
		data, _ := json.Marshal(&h)
		f.Add(data)
	}
	f.Add([]byte(`{"count":1,"min":300,"max":300,"buckets":[[300,1]]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Histogram
		if err := json.Unmarshal(data, &h); err != nil {
			return
		}
		again, err := json.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		var back Histogram
		if err := json.Unmarshal(again, &back); err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", again, err)
		}
		if back.counts != h.counts || back.min != h.min || back.max != h.max {
			t.Fatal("round trip changed the histogram")
		}
		if again2, _ := json.Marshal(&back); !bytes.Equal(again, again2) {
			t.Fatalf("encoding not stable: %s vs %s", again, again2)
		}
		_ = h.ValueAt(0.99)
	})
}
