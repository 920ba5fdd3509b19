package wire

// MaxNameLength is the longest valid topic or channel name, suffix included.
const MaxNameLength = 64

// EphemeralSuffix marks a topic or channel that is deleted when its last
// consumer leaves and whose messages never go to disk.
const EphemeralSuffix = "#ephemeral"

// nameChars[c] is true for the bytes allowed in a name: [.a-zA-Z0-9_-].
var nameChars = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['.'], t['_'], t['-'] = true, true, true
	return t
}()

// IsValidTopicName reports whether name is a valid topic name: 1 to 64
// bytes of [.a-zA-Z0-9_-], optionally ending in "#ephemeral" (which counts
// toward the 64). It never allocates.
func IsValidTopicName(name []byte) bool { return isValidName(name) }

// IsValidChannelName reports whether name is a valid channel name; the rules
// are the topic rules.
func IsValidChannelName(name []byte) bool { return isValidName(name) }

// IsEphemeral reports whether name ends in "#ephemeral". It does not check
// that the name is otherwise valid.
func IsEphemeral(name []byte) bool {
	return len(name) >= len(EphemeralSuffix) &&
		string(name[len(name)-len(EphemeralSuffix):]) == EphemeralSuffix
}

func isValidName(name []byte) bool {
	if len(name) > MaxNameLength {
		return false
	}
	if IsEphemeral(name) {
		name = name[:len(name)-len(EphemeralSuffix)]
	}
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if !nameChars[c] {
			return false
		}
	}
	return true
}
