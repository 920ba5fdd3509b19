package wire

import (
	"encoding/binary"
	"testing"
)

// TestCommandNeed: an incomplete command whose remaining length is known
// says how long the input must grow before parsing can get further.
func TestCommandNeed(t *testing.T) {
	pub := binary.BigEndian.AppendUint32([]byte("PUB t\n"), 100)
	pub = append(pub, make([]byte, 40)...)
	mpub := binary.BigEndian.AppendUint32([]byte("MPUB t\n"), 4+2*(4+10))
	mpub = binary.BigEndian.AppendUint32(mpub, 2)
	mpub = binary.BigEndian.AppendUint32(mpub, 10)
	mpub = append(mpub, make([]byte, 10)...)
	mpub = binary.BigEndian.AppendUint32(mpub, 10)
	mpub = append(mpub, 1, 2)
	ident := binary.BigEndian.AppendUint32([]byte("IDENTIFY\n"), 30)
	for _, c := range []struct {
		name string
		buf  []byte
		need int
	}{
		{"PUB body", pub, 6 + 4 + 100},
		{"PUB size", []byte("PUB t\n\x00\x00"), 0},
		{"MPUB second message", mpub, 7 + 4 + 4 + 14 + 4 + 10},
		{"IDENTIFY body", ident, 9 + 4 + 30},
		{"line", []byte("PUB t"), 0},
	} {
		var cmd Command
		n, err := ParseCommand(c.buf, nil, &cmd)
		if n != 0 || err != nil || cmd.Need != c.need {
			t.Errorf("%s: n %d err %v need %d, want need %d", c.name, n, err, cmd.Need, c.need)
		}
	}
}
