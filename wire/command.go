package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// CommandKind identifies a V2 command.
type CommandKind uint8

// The V2 commands. CmdUnknown is the zero value: a line whose first word is
// none of the others.
const (
	CmdUnknown CommandKind = iota
	CmdIdentify
	CmdSub
	CmdPub
	CmdMPub
	CmdDPub
	CmdRdy
	CmdFin
	CmdReq
	CmdTouch
	CmdCls
	CmdNop
	CmdAuth
)

var kindNames = [...]string{
	CmdUnknown:  "UNKNOWN",
	CmdIdentify: "IDENTIFY",
	CmdSub:      "SUB",
	CmdPub:      "PUB",
	CmdMPub:     "MPUB",
	CmdDPub:     "DPUB",
	CmdRdy:      "RDY",
	CmdFin:      "FIN",
	CmdReq:      "REQ",
	CmdTouch:    "TOUCH",
	CmdCls:      "CLS",
	CmdNop:      "NOP",
	CmdAuth:     "AUTH",
}

// String returns the command word ("PUB", "RDY"...), or "UNKNOWN".
func (k CommandKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "UNKNOWN"
}

// HasBody reports whether the command line is followed by a size-prefixed
// body (IDENTIFY, AUTH, PUB, MPUB, DPUB).
func (k CommandKind) HasBody() bool {
	switch k {
	case CmdIdentify, CmdAuth, CmdPub, CmdMPub, CmdDPub:
		return true
	}
	return false
}

func kindOf(name []byte) CommandKind {
	// A switch on string(b) compares in place; it does not allocate.
	switch string(name) {
	case "PUB":
		return CmdPub
	case "MPUB":
		return CmdMPub
	case "FIN":
		return CmdFin
	case "RDY":
		return CmdRdy
	case "REQ":
		return CmdReq
	case "TOUCH":
		return CmdTouch
	case "DPUB":
		return CmdDPub
	case "NOP":
		return CmdNop
	case "SUB":
		return CmdSub
	case "CLS":
		return CmdCls
	case "IDENTIFY":
		return CmdIdentify
	case "AUTH":
		return CmdAuth
	}
	return CmdUnknown
}

// MaxLineLength is the longest command line nsqd accepts, newline included:
// upstream reads lines through a 16 KiB bufio.Reader and drops the
// connection, silently, when a line does not fit.
const MaxLineLength = 16 * 1024

// MaxParams is how many parameters a Command keeps. No command uses more
// than two, and upstream ignores extra ones (only AUTH rejects them, and
// ParseCommand counts those itself), so dropping the rest changes nothing.
const MaxParams = 8

// Limits are the server options ParseCommand checks bodies against.
type Limits struct {
	MaxMsgSize    int64         // --max-msg-size: largest PUB/DPUB/MPUB message (upstream default 1 MiB)
	MaxBodySize   int64         // --max-body-size: largest MPUB/IDENTIFY/AUTH body (upstream default 5 MiB)
	MaxReqTimeout time.Duration // --max-req-timeout: largest DPUB defer (upstream default 1h)
}

// DefaultLimits returns upstream's defaults; ParseCommand uses them when lim
// is nil.
func DefaultLimits() Limits {
	return Limits{MaxMsgSize: 1024 * 1024, MaxBodySize: 5 * 1024 * 1024, MaxReqTimeout: time.Hour}
}

var defaultLimits = DefaultLimits()

// Command is one parsed V2 command. Its byte slices alias the buffer given
// to ParseCommand and are valid only as long as that buffer is. Params is
// backed by an array inside the Command, so a Command must be used through
// a pointer and not copied while Params is in use.
type Command struct {
	// Kind is the command, CmdUnknown if the word is not one.
	Kind CommandKind
	// Name is the first word of the line as received.
	Name []byte
	// Params are the words after Name, split on single spaces (so "A  B"
	// gives an empty word between A and B, as upstream does). At most
	// MaxParams are kept.
	Params [][]byte
	// Body is the message for PUB and DPUB, the body for IDENTIFY and AUTH,
	// and for MPUB everything from the 4-byte message count to the end of
	// the last message (see EachMessage and Messages).
	Body []byte
	// NumMessages is the validated MPUB message count.
	NumMessages int
	// Defer is the validated DPUB defer time.
	Defer time.Duration
	// Need is set when the command is incomplete (no error, n == 0) and
	// the bytes it lacks are known: the length buf must reach before
	// parsing can get further (the end of the body, or of the MPUB message
	// being read). 0 when unknown. A caller may wait for that many bytes
	// instead of parsing again at every read.
	Need int

	nparams int // words after Name, including those beyond MaxParams
	scratch [MaxParams][]byte
}

func (c *Command) reset() {
	c.Kind = CmdUnknown
	c.Name = nil
	c.Params = nil
	c.Body = nil
	c.NumMessages = 0
	c.Defer = 0
	c.Need = 0
	c.nparams = 0
}

// splitLine fills Name, Kind and Params from a line without its newline.
func (c *Command) splitLine(line []byte) {
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		c.Name = line
		c.Kind = kindOf(line)
		c.Params = c.scratch[:0:0]
		return
	}
	c.Name = line[:i]
	c.Kind = kindOf(c.Name)
	rest := line[i+1:]
	k := 0
	for {
		j := bytes.IndexByte(rest, ' ')
		word := rest
		if j >= 0 {
			word = rest[:j:j]
		}
		if k < MaxParams {
			c.scratch[k] = word
		}
		k++
		if j < 0 {
			break
		}
		rest = rest[j+1:]
	}
	c.nparams = k
	kept := min(k, MaxParams)
	c.Params = c.scratch[:kept:kept]
}

// stage says which part of a command ParseCommand was waiting for when it
// returned "need more"; IncompleteError turns it into upstream's text.
type stage uint8

const (
	stageLine    stage = iota // the command line
	stageSize                 // the 4-byte body size
	stageBody                 // the body
	stageCount                // MPUB: the 4-byte message count
	stageMsgSize              // MPUB: the 4-byte size of message msgIndex
	stageMsgBody              // MPUB: the body of message msgIndex
)

// ParseCommand parses one command from the front of buf, the bytes received
// from a client and not yet consumed.
//
//   - n > 0, err == nil: buf[:n] is one whole valid command, described by
//     cmd. Consume n bytes.
//   - n == 0, err == nil: more bytes are needed. If the command line is
//     already complete, cmd.Kind, cmd.Name and cmd.Params are set (Kind is
//     CmdUnknown otherwise), so a caller can apply its own checks early.
//   - err != nil: the error upstream nsqd would send for this input; n is 0.
//     Every error ParseCommand returns is fatal. If the line was complete,
//     cmd.Kind, cmd.Name and cmd.Params are set.
//
// ParseCommand checks exactly what upstream checks while reading a command,
// in the same order: the command word, the parameter count and topic name of
// PUB, MPUB and DPUB, DPUB's defer time, and the body sizes against lim
// (nil means DefaultLimits). It does not check the parameters of body-less
// commands (see ParseSUB, ParseRDY, ParseFIN, ParseREQ, ParseTOUCH), nor
// anything that depends on connection state. Some of those state checks
// come first upstream, so when ParseCommand returns an error (or asks for
// more) after a complete line, the caller must first apply, in order: the
// TLS policy for any command but IDENTIFY (ErrTLSRequired, which also wins
// over an unknown command), then the state checks of IDENTIFY and AUTH
// (ErrInvalidState), and for MPUB the auth check (ErrAuthFirst,
// ErrAuthUnauthorized), which upstream does before reading the MPUB body.
// Upstream also creates the MPUB topic before reading the body. PUB and
// DPUB check auth only after their body is read.
//
// MPUB is framed as upstream frames it: by its message count and message
// sizes, not by the declared body size, which is only range-checked. The two
// agree for every real client. When they do not, the command consumes what
// the messages take, like upstream, and may need more than 4+body-size bytes,
// up to --max-body-size: messages that run past it are refused (E_BAD_BODY
// "MPUB body too big"), where upstream reads on (docs/COMPATIBILITY.md).
// While an MPUB is incomplete, each call re-walks the message headers
// received so far; that is negligible for real batches (a few ns a message)
// but adds up for a multi-megabyte MPUB of tiny messages arriving in many
// reads (see BenchmarkParseMPUB).
//
// ParseCommand never allocates unless it returns an error.
func ParseCommand(buf []byte, lim *Limits, cmd *Command) (n int, err *Error) {
	n, err, _, _ = parseCommand(buf, lim, cmd, nil)
	return n, err
}

// Resume is where ParseCommandResume stopped walking an incomplete MPUB.
// The zero value walks from the start.
type Resume struct {
	idx int // messages of the MPUB already checked
	off int // where message idx's size starts, from the command's start; 0: nowhere yet
}

// ParseCommandResume is ParseCommand for a caller that, after it was asked
// for more bytes, calls again with the same bytes at the front of buf
// (more appended): r remembers how far an incomplete MPUB's messages were
// checked, so each call walks only the headers that arrived since. r is
// cleared when a command is returned whole or refused; the caller must
// clear it (r = Resume{}) if buf ever starts with anything else.
//
// Why: without it, an MPUB of 1-byte messages (up to --max-body-size/5 of
// them) trickled in small reads was walked from its start on every read:
// O(n^2), about 2 ms of one event loop per read at 1M messages, so a
// client sending a few KB/s kept a loop busy. With it each byte is walked
// once: BenchmarkParseMPUBTrickle (1 MiB of 1-byte messages arriving in
// 4 KiB reads, 2-core EPYC) 95 ms -> 0.85 ms of parsing.
func ParseCommandResume(buf []byte, lim *Limits, cmd *Command, r *Resume) (n int, err *Error) {
	n, err, _, _ = parseCommand(buf, lim, cmd, r)
	if n > 0 || err != nil {
		*r = Resume{}
	}
	return n, err
}

// IncompleteError returns the error upstream sends when a connection's input
// ends (EOF, a read error or the read deadline) while buf, on which
// ParseCommand asked for more bytes, is all that is left: "PUB failed to
// read message body" and the like, all fatal. It returns nil when upstream
// sends nothing and just closes: when buf holds no complete command line
// (including when it is empty), and when buf is not an incomplete command
// at all.
func IncompleteError(buf []byte, lim *Limits) *Error {
	var cmd Command
	n, err, st, i := parseCommand(buf, lim, &cmd, nil)
	if n > 0 || err != nil || st == stageLine {
		return nil
	}
	name := cmd.Kind.String()
	switch cmd.Kind {
	case CmdPub, CmdDPub:
		if st == stageSize {
			return fatalf(CodeBadMessage, "%s failed to read message body size", name)
		}
		return fatalf(CodeBadMessage, "%s failed to read message body", name)
	case CmdMPub:
		switch st {
		case stageSize:
			return fatalf(CodeBadBody, "MPUB failed to read body size")
		case stageCount:
			return fatalf(CodeBadBody, "MPUB failed to read message count")
		case stageMsgSize:
			return fatalf(CodeBadMessage, "MPUB failed to read message(%d) body size", i)
		default:
			return fatalf(CodeBadMessage, "MPUB failed to read message body")
		}
	default: // IDENTIFY, AUTH
		if st == stageSize {
			return fatalf(CodeBadBody, "%s failed to read body size", name)
		}
		return fatalf(CodeBadBody, "%s failed to read body", name)
	}
}

// parseCommand is ParseCommand that also says what it was waiting for.
func parseCommand(buf []byte, lim *Limits, cmd *Command, r *Resume) (n int, err *Error, st stage, msgIndex int) {
	cmd.reset()
	if lim == nil {
		lim = &defaultLimits
	}
	window := buf
	if len(window) > MaxLineLength {
		window = window[:MaxLineLength]
	}
	eol := bytes.IndexByte(window, '\n')
	if eol < 0 {
		if len(buf) >= MaxLineLength {
			return 0, ErrLineTooLong(), stageLine, 0
		}
		return 0, nil, stageLine, 0
	}
	line := buf[:eol]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	cmd.splitLine(line)
	off := eol + 1

	switch cmd.Kind {
	case CmdPub:
		if cmd.nparams < 1 {
			return 0, fatalf(CodeInvalid, "PUB insufficient number of parameters"), 0, 0
		}
		if !IsValidTopicName(cmd.Params[0]) {
			return 0, fatalf(CodeBadTopic, "PUB topic name %q is not valid", cmd.Params[0]), 0, 0
		}
		n, err, st = cmd.readMessage(buf, off, lim)
		return n, err, st, 0
	case CmdMPub:
		return cmd.readMPUB(buf, off, lim, r)
	case CmdDPub:
		if cmd.nparams < 2 {
			return 0, fatalf(CodeInvalid, "DPUB insufficient number of parameters"), 0, 0
		}
		if !IsValidTopicName(cmd.Params[0]) {
			return 0, fatalf(CodeBadTopic, "DPUB topic name %q is not valid", cmd.Params[0]), 0, 0
		}
		ms, ok := parseBase10(cmd.Params[1])
		if !ok {
			return 0, fatalf(CodeInvalid, "DPUB could not parse timeout %s", cmd.Params[1]), 0, 0
		}
		// Same arithmetic as upstream, wrap-around included.
		d := time.Duration(ms) * time.Millisecond
		if d < 0 || d > lim.MaxReqTimeout {
			return 0, fatalf(CodeInvalid, "DPUB timeout %d out of range 0-%d",
				ms, int64(lim.MaxReqTimeout/time.Millisecond)), 0, 0
		}
		cmd.Defer = d
		n, err, st = cmd.readMessage(buf, off, lim)
		return n, err, st, 0
	case CmdIdentify:
		n, err, st = cmd.readBody(buf, off, lim)
		return n, err, st, 0
	case CmdAuth:
		if cmd.nparams != 0 {
			return 0, fatalf(CodeInvalid, "AUTH invalid number of parameters"), 0, 0
		}
		n, err, st = cmd.readBody(buf, off, lim)
		return n, err, st, 0
	case CmdUnknown:
		return 0, fatalf(CodeInvalid, "invalid command %s", cmd.Name), 0, 0
	}
	return off, nil, 0, 0
}

// readSize reads a 4-byte big-endian signed size at buf[off:].
func readSize(buf []byte, off int) (int32, bool) {
	if len(buf)-off < 4 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(buf[off:])), true
}

// readMessage reads the size-prefixed message of PUB or DPUB.
func (c *Command) readMessage(buf []byte, off int, lim *Limits) (int, *Error, stage) {
	size, ok := readSize(buf, off)
	if !ok {
		return 0, nil, stageSize
	}
	if size <= 0 {
		return 0, fatalf(CodeBadMessage, "%s invalid message body size %d", c.Kind, size), 0
	}
	if int64(size) > lim.MaxMsgSize {
		return 0, fatalf(CodeBadMessage, "%s message too big %d > %d", c.Kind, size, lim.MaxMsgSize), 0
	}
	off += 4
	if len(buf)-off < int(size) {
		c.Need = off + int(size)
		return 0, nil, stageBody
	}
	end := off + int(size)
	c.Body = buf[off:end:end]
	return end, nil, 0
}

// readBody reads the size-prefixed body of IDENTIFY or AUTH.
func (c *Command) readBody(buf []byte, off int, lim *Limits) (int, *Error, stage) {
	size, ok := readSize(buf, off)
	if !ok {
		return 0, nil, stageSize
	}
	if int64(size) > lim.MaxBodySize {
		return 0, fatalf(CodeBadBody, "%s body too big %d > %d", c.Kind, size, lim.MaxBodySize), 0
	}
	if size <= 0 {
		return 0, fatalf(CodeBadBody, "%s invalid body size %d", c.Kind, size), 0
	}
	off += 4
	if len(buf)-off < int(size) {
		c.Need = off + int(size)
		return 0, nil, stageBody
	}
	end := off + int(size)
	c.Body = buf[off:end:end]
	return end, nil, 0
}

// readMPUB checks and frames MPUB as upstream does: topic, body size, count,
// then each message in turn, the first bad one winning.
func (c *Command) readMPUB(buf []byte, off int, lim *Limits, r *Resume) (int, *Error, stage, int) {
	if c.nparams < 1 {
		return 0, fatalf(CodeInvalid, "MPUB insufficient number of parameters"), 0, 0
	}
	if !IsValidTopicName(c.Params[0]) {
		// Upstream repeats the code inside the description, so the frame
		// reads "E_BAD_TOPIC E_BAD_TOPIC MPUB topic name ...".
		return 0, fatalf(CodeBadTopic, "E_BAD_TOPIC MPUB topic name %q is not valid", c.Params[0]), 0, 0
	}
	size, ok := readSize(buf, off)
	if !ok {
		return 0, nil, stageSize, 0
	}
	if size <= 0 {
		return 0, fatalf(CodeBadBody, "MPUB invalid body size %d", size), 0, 0
	}
	if int64(size) > lim.MaxBodySize {
		return 0, fatalf(CodeBadBody, "MPUB body too big %d > %d", size, lim.MaxBodySize), 0, 0
	}
	off += 4
	start := off
	count, ok := readSize(buf, off)
	if !ok {
		return 0, nil, stageCount, 0
	}
	// Each message takes at least 5 bytes (size + 1), after the 4-byte count.
	if maxMessages := (lim.MaxBodySize - 4) / 5; count <= 0 || int64(count) > maxMessages {
		return 0, fatalf(CodeBadBody, "MPUB invalid message count %d", count), 0, 0
	}
	off += 4
	i := 0
	if r != nil && r.off > off && r.off <= len(buf) {
		i, off = r.idx, r.off // checked by an earlier call
	}
	for ; i < int(count); i++ {
		msgSize, ok := readSize(buf, off)
		if !ok {
			if r != nil {
				r.idx, r.off = i, off
			}
			return 0, nil, stageMsgSize, i
		}
		if msgSize <= 0 {
			return 0, fatalf(CodeBadMessage, "MPUB invalid message(%d) body size %d", i, msgSize), 0, 0
		}
		if int64(msgSize) > lim.MaxMsgSize {
			return 0, fatalf(CodeBadMessage, "MPUB message too big %d > %d", msgSize, lim.MaxMsgSize), 0, 0
		}
		// Upstream reads the messages whatever the declared body size,
		// so count x --max-msg-size bytes (terabytes) could be held for
		// one MPUB; ours stops where the messages pass --max-body-size,
		// with the error of a body declared too big.
		if span := int64(off-start) + 4 + int64(msgSize); span > lim.MaxBodySize {
			return 0, fatalf(CodeBadBody, "MPUB body too big %d > %d", span, lim.MaxBodySize), 0, 0
		}
		off += 4
		if len(buf)-off < int(msgSize) {
			if r != nil {
				r.idx, r.off = i, off-4
			}
			c.Need = off + int(msgSize)
			return 0, nil, stageMsgBody, i
		}
		off += int(msgSize)
	}
	c.Body = buf[start:off:off]
	c.NumMessages = int(count)
	return off, nil, 0, 0
}

// EachMessage calls fn with each message body of a parsed MPUB, in order.
// It does nothing for other commands. The bodies alias cmd.Body.
func (c *Command) EachMessage(fn func(body []byte)) {
	it := c.Messages()
	for {
		body, ok := it.Next()
		if !ok {
			return
		}
		fn(body)
	}
}

// Messages returns an iterator over the message bodies of a parsed MPUB;
// it yields nothing for other commands.
func (c *Command) Messages() MessageIter {
	if c.Kind != CmdMPub || len(c.Body) < 4 {
		return MessageIter{}
	}
	return MessageIter{rest: c.Body[4:], left: c.NumMessages}
}

// MessageIter walks the messages of an MPUB body without allocating. The
// zero value yields nothing. It is not safe for concurrent use.
type MessageIter struct {
	rest []byte
	left int
}

// Next returns the next message body, or ok == false at the end.
func (it *MessageIter) Next() (body []byte, ok bool) {
	if it.left <= 0 || len(it.rest) < 4 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint32(it.rest))
	if n < 0 || n > len(it.rest)-4 {
		return nil, false
	}
	end := 4 + n
	body = it.rest[4:end:end]
	it.rest = it.rest[end:]
	it.left--
	return body, true
}

// Len returns how many messages are left.
func (it *MessageIter) Len() int { return it.left }

// String describes the command for logs: the line as received, and the
// body length if there is a body. It allocates.
func (c *Command) String() string {
	var b bytes.Buffer
	b.Write(c.Name)
	for _, p := range c.Params {
		b.WriteByte(' ')
		b.Write(p)
	}
	if c.Kind.HasBody() {
		fmt.Fprintf(&b, " [%d bytes]", len(c.Body))
	}
	return b.String()
}
