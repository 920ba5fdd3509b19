// Package lookupv1 is the codec of nsqlookupd's V1 TCP protocol, the one
// nsqd uses to register its topics and channels, as NSQ v1.3.0 speaks it.
//
// A connection starts with the four bytes Magic. Then the client sends
// newline-terminated command lines — PING, IDENTIFY, REGISTER <topic>
// [<channel>], UNREGISTER <topic> [<channel>] — and IDENTIFY is followed by
// a 4-byte big-endian size and a JSON body. The server answers each command
// with one response: a 4-byte big-endian size and the data ("OK", the
// IDENTIFY document, or an error's text). Unlike nsqd's V2 protocol there
// are no frame types: an error is told apart only by its text, and every
// error is fatal (the server closes the connection after sending it).
//
// Codecs do no I/O. Next takes the bytes received so far and reports how
// many make up one whole command, or that more are needed; writers append
// to a caller-owned slice. Next and the Append helpers do not allocate;
// error paths do, to build the text the peer receives.
//
// Everything here is safe for concurrent use: the package has no mutable
// state. A Command is owned by the caller that passes it to Next.
package lookupv1

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/nsqfast/nsq/wire"
)

// Magic is what a V1 client sends first.
const Magic = "  V1"

// Kind identifies a V1 command.
type Kind uint8

// The V1 commands. CmdUnknown is the zero value: a line whose first word is
// none of the others.
const (
	CmdUnknown Kind = iota
	CmdPing
	CmdIdentify
	CmdRegister
	CmdUnregister
)

var kindNames = [...]string{
	CmdUnknown:    "UNKNOWN",
	CmdPing:       "PING",
	CmdIdentify:   "IDENTIFY",
	CmdRegister:   "REGISTER",
	CmdUnregister: "UNREGISTER",
}

// String returns the command word, or "UNKNOWN".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "UNKNOWN"
}

func kindOf(word []byte) Kind {
	switch string(word) {
	case "PING":
		return CmdPing
	case "IDENTIFY":
		return CmdIdentify
	case "REGISTER":
		return CmdRegister
	case "UNREGISTER":
		return CmdUnregister
	}
	return CmdUnknown
}

// Limits bound what Next accepts. Upstream has no limits at all: its line
// reader grows without bound and it allocates whatever IDENTIFY size it is
// sent (a negative one crashes it). Ours close the connection instead.
type Limits struct {
	// MaxLine is the longest command line, newline included. A line that
	// does not end within it makes Next return ErrLineTooLong.
	MaxLine int
	// MaxBody is the largest IDENTIFY body.
	MaxBody int
}

// DefaultLimits returns the limits Next uses when given nil: 16 KiB lines
// (as nsqd's V2 protocol) and 1 MiB IDENTIFY bodies (nsqd sends ~130
// bytes).
func DefaultLimits() Limits { return Limits{MaxLine: 16 * 1024, MaxBody: 1 << 20} }

var defaultLimits = DefaultLimits()

// maxParams is how many words after the first a Command keeps: no command
// reads more than two, and upstream ignores the others.
const maxParams = 2

// Command is one parsed command. Its slices alias the buffer passed to
// Next and are valid only until that buffer is reused.
type Command struct {
	Kind Kind
	// Name is the first word of the line as received (after trimming).
	Name []byte
	// NParams counts the words after the first, all of them, including
	// empty ones made by repeated spaces.
	NParams int
	// Body is the IDENTIFY body; nil for other commands and for an
	// IDENTIFY on an identified connection (which is refused before its
	// body is read, as upstream).
	Body []byte

	params [maxParams][]byte
}

// Param returns the i-th word after the first, or nil.
func (c *Command) Param(i int) []byte {
	if i < 0 || i >= maxParams || i >= c.NParams {
		return nil
	}
	return c.params[i]
}

// splitLine fills c from a line without its newline: trimmed of white
// space at both ends, then split on single spaces, as upstream does.
func (c *Command) splitLine(line []byte) {
	line = bytes.TrimSpace(line)
	*c = Command{}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		c.Name = line
	} else {
		c.Name = line[:sp]
		rest := line[sp+1:]
		for {
			sp = bytes.IndexByte(rest, ' ')
			word := rest
			if sp >= 0 {
				word = rest[:sp]
			}
			if c.NParams < maxParams {
				c.params[c.NParams] = word
			}
			c.NParams++
			if sp < 0 {
				break
			}
			rest = rest[sp+1:]
		}
	}
	c.Kind = kindOf(c.Name)
}

// Next parses the command at the start of buf into cmd. identified says
// whether the connection has already identified: then IDENTIFY is complete
// without its body, since the server refuses it before reading one.
//
// It returns the number of bytes the command used, or 0 when buf does not
// hold a whole command yet. An error is fatal: the caller sends it (unless
// it is Silent) and closes the connection. A nil lim means DefaultLimits.
func Next(buf []byte, identified bool, lim *Limits, cmd *Command) (n int, err *wire.Error) {
	if lim == nil {
		lim = &defaultLimits
	}
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 || nl >= lim.MaxLine {
		if nl >= 0 || len(buf) >= lim.MaxLine {
			return 0, wire.ErrLineTooLong()
		}
		return 0, nil
	}
	cmd.splitLine(buf[:nl])
	n = nl + 1
	if cmd.Kind != CmdIdentify || identified {
		return n, nil
	}
	if len(buf) < n+4 {
		return 0, nil
	}
	size := int32(binary.BigEndian.Uint32(buf[n:]))
	if size < 0 || int(size) > lim.MaxBody {
		return 0, ErrBodySize(size)
	}
	end := n + 4 + int(size)
	if len(buf) < end {
		return 0, nil
	}
	cmd.Body = buf[n+4 : end]
	return end, nil
}

// IncompleteError is what upstream answers when the connection ends with
// buf still holding part of a command: the E_BAD_BODY of an IDENTIFY cut
// short in its size or body, or nil (a partial line gets no answer).
func IncompleteError(buf []byte, identified bool, lim *Limits) *wire.Error {
	if lim == nil {
		lim = &defaultLimits
	}
	nl := bytes.IndexByte(buf, '\n')
	if nl < 0 || nl >= lim.MaxLine || identified {
		return nil
	}
	var cmd Command
	cmd.splitLine(buf[:nl])
	if cmd.Kind != CmdIdentify {
		return nil
	}
	if len(buf) < nl+1+4 {
		return wire.NewFatalError(wire.CodeBadBody, "IDENTIFY failed to read body size")
	}
	return wire.NewFatalError(wire.CodeBadBody, "IDENTIFY failed to read body")
}

// TopicChannel returns the topic and optional channel of a REGISTER or
// UNREGISTER, checked as upstream checks them, in its order and with its
// texts. channel is nil when the command names none.
func TopicChannel(cmd *Command) (topic, channel []byte, err *wire.Error) {
	name := cmd.Kind.String()
	if cmd.NParams == 0 {
		return nil, nil, fatalf(wire.CodeInvalid, "%s insufficient number of params", name)
	}
	topic = cmd.Param(0)
	channel = cmd.Param(1)
	if !wire.IsValidTopicName(topic) {
		return nil, nil, fatalf(wire.CodeBadTopic, "%s topic name '%s' is not valid", name, topic)
	}
	if len(channel) > 0 && !wire.IsValidChannelName(channel) {
		return nil, nil, fatalf(wire.CodeBadChannel, "%s channel name '%s' is not valid", name, channel)
	}
	if len(channel) == 0 {
		channel = nil
	}
	return topic, channel, nil
}

func fatalf(code, format string, args ...any) *wire.Error {
	return wire.NewFatalError(code, fmt.Sprintf(format, args...))
}

// ErrInvalidCommand is the answer to a line whose first word is no command.
func ErrInvalidCommand(name []byte) *wire.Error {
	return fatalf(wire.CodeInvalid, "invalid command %s", name)
}

// ErrNotIdentified is the answer to REGISTER or UNREGISTER before IDENTIFY.
func ErrNotIdentified() *wire.Error {
	return wire.NewFatalError(wire.CodeInvalid, "client must IDENTIFY")
}

// ErrIdentifyAgain is the answer to a second IDENTIFY.
func ErrIdentifyAgain() *wire.Error {
	return wire.NewFatalError(wire.CodeInvalid, "cannot IDENTIFY again")
}

// ErrBodySize is the answer to an IDENTIFY whose size is negative or above
// Limits.MaxBody. Upstream has no such check (see Limits); the text is
// nsqd's for the same fault.
func ErrBodySize(size int32) *wire.Error {
	return fatalf(wire.CodeBadBody, "IDENTIFY invalid body size %d", size)
}
