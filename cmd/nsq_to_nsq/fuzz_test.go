package main

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// Message bodies are untrusted: the filter never panics; what it passes
// with a whitelist is a JSON object of whitelisted fields only; what it
// passes without one is the body unchanged.
func FuzzFilter(f *testing.F) {
	f.Add([]byte(`{"type":"click","id":1,"user":"u1","x":1.5}`), "type", "click")
	f.Add([]byte(`{"type":7,"id":12345678901234567890}`), "type", "7")
	f.Add([]byte(`null`), "", "")
	f.Add([]byte(`[1,2]`), "a", "")
	f.Add([]byte(`{"a":{"b":[true,null,"\u00e9"]}}`), "a", "")
	f.Fuzz(func(t *testing.T, body []byte, field, value string) {
		for _, whitelist := range [][]string{nil, {"id", "a", field}} {
			flt := newFilter(field, value, whitelist)
			out, pass, err := flt.apply(body)
			if err != nil && !errors.Is(err, errInvalid) && !errors.Is(err, errBackoff) {
				t.Fatalf("error %v", err)
			}
			if !pass {
				continue
			}
			if !flt.active() || len(whitelist) == 0 {
				if string(out) != string(body) {
					t.Fatalf("body changed: %q -> %q", body, out)
				}
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(out, &obj); err != nil {
				t.Fatalf("output %q is not an object: %v", out, err)
			}
			for k := range obj {
				if !slices.Contains(whitelist, k) {
					t.Fatalf("field %q not whitelisted in %q", k, out)
				}
			}
		}
	})
}
