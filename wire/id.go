package wire

// MsgIDLength is the length of a message ID on the wire.
const MsgIDLength = 16

// MessageID is a message ID as sent to consumers and echoed in FIN, REQ and
// TOUCH. Upstream treats it as 16 opaque bytes; ours are always 16 lower-case
// hex digits encoding a 64-bit per-topic sequence number (the same shape as
// upstream's hex-encoded GUIDs).
type MessageID [MsgIDLength]byte

const hexDigits = "0123456789abcdef"

// hexValue maps '0'-'9' and 'a'-'f' to their values and every other byte to
// 0xff. Upper-case digits are rejected on purpose: upstream compares IDs as
// raw bytes, so "ABC..." never matches a message sent as "abc...".
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < 16; i++ {
		t[hexDigits[i]] = byte(i)
	}
	return t
}()

// IDFromSeq returns the ID for sequence number seq: its 16 lower-case hex
// digits, most significant first.
func IDFromSeq(seq uint64) (id MessageID) {
	for i := MsgIDLength - 1; i >= 0; i-- {
		id[i] = hexDigits[seq&0xf]
		seq >>= 4
	}
	return id
}

// SeqFromID returns the sequence number encoded in id, the inverse of
// IDFromSeq. ok is false unless id is exactly 16 lower-case hex digits, so
// that every accepted ID names exactly one sequence number.
func SeqFromID(id []byte) (seq uint64, ok bool) {
	if len(id) != MsgIDLength {
		return 0, false
	}
	var bad byte
	for _, c := range id[:MsgIDLength] {
		v := hexValue[c]
		bad |= v
		seq = seq<<4 | uint64(v&0xf)
	}
	return seq, bad&0xf0 == 0
}
