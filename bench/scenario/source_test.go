package scenario

import "testing"

// TestSourceAddr: beyond 20,000 connections to a loopback broker, each
// 20,000 come from their own source address; otherwise the kernel picks.
func TestSourceAddr(t *testing.T) {
	for _, c := range []struct {
		addr string
		i, n int
		want string // "" for nil
	}{
		{"127.0.0.1:4150", 0, 20000, ""},
		{"127.0.0.1:4150", 0, 50000, "127.0.0.2:0"},
		{"127.0.0.1:4150", 19999, 50000, "127.0.0.2:0"},
		{"127.0.0.1:4150", 20000, 50000, "127.0.0.3:0"},
		{"127.0.0.1:4150", 49999, 50000, "127.0.0.4:0"},
		{"10.0.0.5:4150", 30000, 50000, ""},
		{"[::1]:4150", 30000, 50000, ""},
		{"localhost:4150", 30000, 50000, ""},
		{"127.0.0.1:4150", 253 * 20000, 254 * 20000, ""},
	} {
		got := sourceAddr(c.addr, c.i, c.n)
		s := ""
		if got != nil {
			s = got.String()
		}
		if s != c.want {
			t.Errorf("sourceAddr(%s, %d, %d) = %q, want %q", c.addr, c.i, c.n, s, c.want)
		}
	}
}
