package wire

// MsgIDLength is the length of a message ID on the wire.
const MsgIDLength = 16

// MessageID is a message ID as sent to consumers and echoed in FIN, REQ and
// TOUCH. Upstream treats it as 16 opaque bytes; ours are always 16 lower-case
// hex digits encoding a 64-bit number (the same shape as upstream's
// hex-encoded GUIDs). How nsqd makes that number unique is the engine's
// business (engine/msgid.go).
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

// IDFromUint64 returns the ID of the number n: its 16 lower-case hex digits,
// most significant first.
func IDFromUint64(n uint64) (id MessageID) {
	for i := MsgIDLength - 1; i >= 0; i-- {
		id[i] = hexDigits[n&0xf]
		n >>= 4
	}
	return id
}

// Uint64FromID returns the number encoded in id, the inverse of
// IDFromUint64. ok is false unless id is exactly 16 lower-case hex digits, so
// that every accepted ID names exactly one number.
func Uint64FromID(id []byte) (n uint64, ok bool) {
	if len(id) != MsgIDLength {
		return 0, false
	}
	var bad byte
	for _, c := range id[:MsgIDLength] {
		v := hexValue[c]
		bad |= v
		n = n<<4 | uint64(v&0xf)
	}
	return n, bad&0xf0 == 0
}
