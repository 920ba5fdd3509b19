package report

import (
	"encoding/json"
	"testing"
)

// FuzzDecode feeds arbitrary documents to Decode: it must not panic, and a
// report it accepts must render (Markdown and charts) without panicking.
func FuzzDecode(f *testing.F) {
	r := sample()
	r.Summarize()
	good, _ := json.Marshal(r)
	f.Add(good)
	f.Add([]byte(`{"version":1,"brokers":[{"name":"a"}],"runs":[{"scenario":"pub","broker":"a","result":{"figures":[{"name":"x","value":1,"unit":"u"}]}}],"summary":[{}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			return
		}
		r.Markdown(r.Charts())
	})
}
