package main

import (
	"strings"
	"testing"
)

// Every header accepted has a trimmed, non-empty name and value taken
// from its spec.
func FuzzParseCustomHeaders(f *testing.F) {
	for _, s := range []string{"a: 1", ":", "k:v:w", " x :  y ", "novalue", "a:\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		h, err := parseCustomHeaders([]string{spec})
		if err != nil {
			return
		}
		for k, v := range h {
			if k == "" || v == "" || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) || !strings.Contains(spec, k) || !strings.Contains(spec, v) {
				t.Fatalf("%q -> %q: %q", spec, k, v)
			}
		}
	})
}
