package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// This file holds a second, independent description of how nsqd v1.3.0
// reads commands (nsqd/protocol_v2.go IOLoop, Exec, IDENTIFY, AUTH, PUB,
// MPUB, DPUB, readMPUB, readLen): a streaming reader over a real 16 KiB
// bufio.Reader that reads exactly what upstream reads, in the same order,
// and stops where upstream stops. Tests and fuzzing compare ParseCommand and
// IncompleteError with it. It covers only the input-driven checks that
// ParseCommand owns (no connection state, TLS or auth).

// modelOutcome is what upstream does with the next command of a stream.
type modelOutcome struct {
	consumed int // bytes read for this command
	kind     CommandKind
	body     []byte // PUB/DPUB message, IDENTIFY/AUTH body, MPUB count+messages
	count    int    // MPUB messages
	deferBy  time.Duration
	errText  string // error frame text, "" if none
	silent   bool   // the connection closes without a frame (EOF or overlong line before a whole line)
}

type modelReader struct {
	src *bytes.Reader
	br  *bufio.Reader
	n   int // bytes consumed from br so far
	all []byte
}

func newModelReader(stream []byte) *modelReader {
	src := bytes.NewReader(stream)
	return &modelReader{src: src, br: bufio.NewReaderSize(src, 16*1024), all: stream}
}

func (m *modelReader) readFull(p []byte) error {
	k, err := io.ReadFull(m.br, p)
	m.n += k
	return err
}

func (m *modelReader) readLen() (int32, error) {
	var b [4]byte
	if err := m.readFull(b[:]); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[:])), nil
}

// next runs upstream's read of one command. Errors returned by upstream's
// handlers are all fatal here, so after an error outcome the stream ends.
func (m *modelReader) next(lim Limits) modelOutcome {
	start := m.n
	line, err := m.br.ReadSlice('\n')
	if err != nil {
		// io.EOF or bufio.ErrBufferFull: upstream leaves the loop without
		// sending anything.
		return modelOutcome{silent: true}
	}
	m.n += len(line)
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	words := bytes.Split(line, []byte(" "))
	// Copy: ReadSlice's result is overwritten by later reads.
	for i := range words {
		words[i] = append([]byte(nil), words[i]...)
	}
	out := modelOutcome{kind: kindOf(words[0])}
	fail := func(code, format string, args ...any) modelOutcome {
		out.errText = code + " " + fmt.Sprintf(format, args...)
		out.consumed = m.n - start
		return out
	}
	done := func() modelOutcome {
		out.consumed = m.n - start
		return out
	}
	readBody := func(name string) modelOutcome {
		size, err := m.readLen()
		if err != nil {
			return fail("E_BAD_BODY", "%s failed to read body size", name)
		}
		if int64(size) > lim.MaxBodySize {
			return fail("E_BAD_BODY", "%s body too big %d > %d", name, size, lim.MaxBodySize)
		}
		if size <= 0 {
			return fail("E_BAD_BODY", "%s invalid body size %d", name, size)
		}
		out.body = make([]byte, size)
		if err := m.readFull(out.body); err != nil {
			return fail("E_BAD_BODY", "%s failed to read body", name)
		}
		return done()
	}
	readMsg := func(name string) modelOutcome {
		size, err := m.readLen()
		if err != nil {
			return fail("E_BAD_MESSAGE", "%s failed to read message body size", name)
		}
		if size <= 0 {
			return fail("E_BAD_MESSAGE", "%s invalid message body size %d", name, size)
		}
		if int64(size) > lim.MaxMsgSize {
			return fail("E_BAD_MESSAGE", "%s message too big %d > %d", name, size, lim.MaxMsgSize)
		}
		out.body = make([]byte, size)
		if err := m.readFull(out.body); err != nil {
			return fail("E_BAD_MESSAGE", "%s failed to read message body", name)
		}
		return done()
	}
	switch string(words[0]) {
	case "IDENTIFY":
		return readBody("IDENTIFY")
	case "AUTH":
		if len(words) != 1 {
			return fail("E_INVALID", "AUTH invalid number of parameters")
		}
		return readBody("AUTH")
	case "PUB", "DPUB":
		name := string(words[0])
		need := 2
		if name == "DPUB" {
			need = 3
		}
		if len(words) < need {
			return fail("E_INVALID", "%s insufficient number of parameters", name)
		}
		if !modelValidName(words[1]) {
			return fail("E_BAD_TOPIC", "%s topic name %q is not valid", name, string(words[1]))
		}
		if name == "DPUB" {
			var ms uint64
			for _, c := range words[2] {
				if c < '0' || c > '9' {
					return fail("E_INVALID", "DPUB could not parse timeout %s", words[2])
				}
				ms = ms*10 + uint64(c-'0')
			}
			d := time.Duration(ms) * time.Millisecond
			if d < 0 || d > lim.MaxReqTimeout {
				return fail("E_INVALID", "DPUB timeout %d out of range 0-%d", ms, lim.MaxReqTimeout/time.Millisecond)
			}
			out.deferBy = d
		}
		return readMsg(name)
	case "MPUB":
		if len(words) < 2 {
			return fail("E_INVALID", "MPUB insufficient number of parameters")
		}
		if !modelValidName(words[1]) {
			return fail("E_BAD_TOPIC", "E_BAD_TOPIC MPUB topic name %q is not valid", string(words[1]))
		}
		size, err := m.readLen()
		if err != nil {
			return fail("E_BAD_BODY", "MPUB failed to read body size")
		}
		if size <= 0 {
			return fail("E_BAD_BODY", "MPUB invalid body size %d", size)
		}
		if int64(size) > lim.MaxBodySize {
			return fail("E_BAD_BODY", "MPUB body too big %d > %d", size, lim.MaxBodySize)
		}
		bodyStart := m.n
		count, err := m.readLen()
		if err != nil {
			return fail("E_BAD_BODY", "MPUB failed to read message count")
		}
		if count <= 0 || int64(count) > (lim.MaxBodySize-4)/5 {
			return fail("E_BAD_BODY", "MPUB invalid message count %d", count)
		}
		for i := int32(0); i < count; i++ {
			ms, err := m.readLen()
			if err != nil {
				return fail("E_BAD_MESSAGE", "MPUB failed to read message(%d) body size", i)
			}
			if ms <= 0 {
				return fail("E_BAD_MESSAGE", "MPUB invalid message(%d) body size %d", i, ms)
			}
			if int64(ms) > lim.MaxMsgSize {
				return fail("E_BAD_MESSAGE", "MPUB message too big %d > %d", ms, lim.MaxMsgSize)
			}
			if err := m.readFull(make([]byte, ms)); err != nil {
				return fail("E_BAD_MESSAGE", "MPUB failed to read message body")
			}
		}
		out.body = m.all[bodyStart:m.n]
		out.count = int(count)
		return done()
	case "FIN", "RDY", "REQ", "NOP", "TOUCH", "SUB", "CLS":
		return done()
	}
	return fail("E_INVALID", "invalid command %s", words[0])
}

// modelValidName is upstream's rule written the other way round: split off
// the suffix, then require a non-empty run of the allowed bytes.
func modelValidName(name []byte) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	base, _ := bytes.CutSuffix(name, []byte("#ephemeral"))
	if len(base) == 0 {
		return false
	}
	return bytes.IndexFunc(base, func(r rune) bool {
		return !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
}

// compareWithModel runs ParseCommand over stream, command after command,
// and upstream's model alongside, and reports the first difference. It
// stops at the first error, as upstream (all these errors are fatal).
func compareWithModel(stream []byte, lim Limits) error {
	m := newModelReader(stream)
	var cmd Command
	pos := 0
	for i := 0; ; i++ {
		want := m.next(lim)
		rest := stream[pos:]
		n, perr := ParseCommand(rest, &lim, &cmd)
		switch {
		case perr != nil:
			if perr.Silent() {
				if !want.silent {
					return fmt.Errorf("command %d: got silent close, upstream %+v", i, want)
				}
				return nil
			}
			if !perr.Fatal {
				return fmt.Errorf("command %d: non-fatal parse error %q", i, perr.Error())
			}
			if perr.Error() != want.errText {
				return fmt.Errorf("command %d: got error %q, upstream %+v", i, perr.Error(), want)
			}
			return nil
		case n == 0:
			// Need more, and the stream has ended.
			ierr := IncompleteError(rest, &lim)
			if ierr == nil {
				if !want.silent {
					return fmt.Errorf("command %d: got silent end, upstream %+v", i, want)
				}
				return nil
			}
			if ierr.Error() != want.errText {
				return fmt.Errorf("command %d: at EOF got %q, upstream %+v", i, ierr.Error(), want)
			}
			return nil
		}
		if want.errText != "" || want.silent {
			return fmt.Errorf("command %d: got %s (%d bytes), upstream %+v", i, cmd.Kind, n, want)
		}
		if n != want.consumed || cmd.Kind != want.kind {
			return fmt.Errorf("command %d: got %s %d bytes, upstream %s %d bytes", i, cmd.Kind, n, want.kind, want.consumed)
		}
		if want.body != nil && !bytes.Equal(cmd.Body, want.body) {
			return fmt.Errorf("command %d: body %q, upstream %q", i, cmd.Body, want.body)
		}
		if cmd.NumMessages != want.count || cmd.Defer != want.deferBy {
			return fmt.Errorf("command %d: count %d defer %v, upstream %d %v", i, cmd.NumMessages, cmd.Defer, want.count, want.deferBy)
		}
		pos += n
	}
}
