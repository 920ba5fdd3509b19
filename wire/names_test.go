package wire

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// upstreamNameRE is the pattern of internal/protocol/names.go:7, used here
// only as the reference the table-driven validator is checked against.
var upstreamNameRE = regexp.MustCompile(`^[.a-zA-Z0-9_-]+(#ephemeral)?$`)

func upstreamValidName(name string) bool {
	// internal/protocol/names.go:19-24
	if len(name) > 64 || len(name) < 1 {
		return false
	}
	return upstreamNameRE.MatchString(name)
}

func TestNames(t *testing.T) {
	cases := []struct {
		name        string
		valid, ephm bool
	}{
		{"t", true, false},
		{"a.b-c_D9", true, false},
		{"test#ephemeral", true, true},
		{"#ephemeral", false, true},
		{"", false, false},
		{"a#ephemeral#ephemeral", false, true},
		{"a#ephemera", false, false},
		{"a#EPHEMERAL", false, false},
		{"a b", false, false},
		{"a/b", false, false},
		{"a\n", false, false},
		{"é", false, false},
		{strings.Repeat("x", 64), true, false},
		{strings.Repeat("x", 65), false, false},
		{strings.Repeat("x", 54) + "#ephemeral", true, true},
		{strings.Repeat("x", 55) + "#ephemeral", false, true},
	}
	for _, tc := range cases {
		b := []byte(tc.name)
		if got := IsValidTopicName(b); got != tc.valid {
			t.Errorf("IsValidTopicName(%q) = %v", tc.name, got)
		}
		if got := IsValidChannelName(b); got != tc.valid {
			t.Errorf("IsValidChannelName(%q) = %v", tc.name, got)
		}
		if got := IsEphemeral(b); got != tc.ephm {
			t.Errorf("IsEphemeral(%q) = %v", tc.name, got)
		}
		if up := upstreamValidName(tc.name); up != tc.valid {
			t.Errorf("table disagrees with upstream for %q", tc.name)
		}
	}
}

func TestNamesAgainstUpstreamRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "aZ09._-#ephmrl /\x00\xff"
	for i := 0; i < 100000; i++ {
		var b []byte
		if rng.IntN(3) == 0 {
			b = append(b, strings.Repeat("x", rng.IntN(66))...)
		}
		for range rng.IntN(12) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		if rng.IntN(2) == 0 {
			b = append(b, "#ephemeral"...)
		}
		if got, want := IsValidTopicName(b), upstreamValidName(string(b)); got != want {
			t.Fatalf("%q: got %v, upstream %v", b, got, want)
		}
	}
	for c := 0; c < 256; c++ {
		b := []byte{'a', byte(c)}
		if got, want := IsValidTopicName(b), upstreamValidName(string(b)); got != want {
			t.Fatalf("%q: got %v, upstream %v", b, got, want)
		}
	}
}
