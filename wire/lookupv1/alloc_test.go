//go:build !race

package lookupv1

import "testing"

// The race detector makes allocations of its own, so this runs without it.

func TestZeroAllocs(t *testing.T) {
	stream := AppendIdentify(nil, []byte(nsqdIdentify))
	stream = AppendRegister(stream, "orders", "billing#ephemeral")
	stream = AppendUnregister(stream, "orders", "")
	stream = AppendPing(stream)
	out := make([]byte, 0, 1024)
	var cmd Command
	allocs := testing.AllocsPerRun(100, func() {
		buf, identified := stream, false
		for len(buf) > 0 {
			n, err := Next(buf, identified, nil, &cmd)
			if err != nil || n == 0 {
				t.Fatalf("n=%d err=%v", n, err)
			}
			if cmd.Kind == CmdRegister || cmd.Kind == CmdUnregister {
				if _, _, err := TopicChannel(&cmd); err != nil {
					t.Fatal(err)
				}
			}
			identified = true
			buf = buf[n:]
		}
		out = AppendResponseString(out[:0], OK)
		out = AppendRegister(out, "orders", "billing")
		out = AppendPing(out)
		if _, n, err := ParseResponse(out, 100); n == 0 || err != nil {
			t.Fatal(n, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per session, want 0", allocs)
	}
}
