package main

import (
	"strings"
	"testing"
	"time"
)

// strftime copies everything but its directives: a format without '%'
// comes back unchanged, and no directive it knows is left.
func FuzzStrftime(f *testing.F) {
	for _, s := range []string{"%Y-%m-%d_%H", "%", "%%", "%q%", "v2 Jan 2006 %Z%z", "%%Y"} {
		f.Add(s)
	}
	tm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, format string) {
		got := strftime(format, tm)
		if !strings.Contains(format, "%") && got != format {
			t.Fatalf("strftime(%q) = %q", format, got)
		}
		if strings.Count(format, "%") == 1 && strings.HasSuffix(format, "%Y") && !strings.HasSuffix(got, "2026") {
			t.Fatalf("strftime(%q) = %q", format, got)
		}
	})
}
