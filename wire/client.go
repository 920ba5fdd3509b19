package wire

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strconv"
	"time"
)

// This file is the client side of the protocol, for tests, tools and load
// generators: writers for the commands a client sends, a pure frame parser
// and ReadFrame, the one function of the package that does I/O.

// ErrShortFrame is returned for a frame whose size is less than the 4 bytes
// of its type word.
var ErrShortFrame = errors.New("wire: frame size smaller than its type word")

// ParseFrame parses one frame from the front of buf, as a client receives
// them. n == 0 with a nil error means more bytes are needed; otherwise
// buf[:n] is the frame and data aliases buf.
func ParseFrame(buf []byte) (frameType int32, data []byte, n int, err error) {
	if len(buf) < 4 {
		return 0, nil, 0, nil
	}
	size := int64(binary.BigEndian.Uint32(buf))
	if size < 4 {
		return 0, nil, 0, ErrShortFrame
	}
	if int64(len(buf)-4) < size {
		return 0, nil, 0, nil
	}
	end := 4 + int(size)
	return int32(binary.BigEndian.Uint32(buf[4:])), buf[8:end:end], end, nil
}

// ReadFrame reads one frame from r. The data is read into buf when it fits
// and into a new slice otherwise; data aliases whichever was used.
func ReadFrame(r io.Reader, buf []byte) (frameType int32, data []byte, err error) {
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return 0, nil, err
	}
	size := int64(binary.BigEndian.Uint32(hdr[:4]))
	if size < 4 {
		return 0, nil, ErrShortFrame
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return 0, nil, noEOF(err)
	}
	n := int(size - 4)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	data = buf[:n]
	if _, err := io.ReadFull(r, data); err != nil {
		return 0, nil, noEOF(err)
	}
	return int32(binary.BigEndian.Uint32(hdr[4:])), data, nil
}

// noEOF reports a clean EOF inside a frame as the truncation it is.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// FrameError returns the *Error carried by an error frame's data, split at
// the first space into Code and Desc. Fatal is not on the wire, so it is
// left false.
func FrameError(data []byte) *Error {
	for i, c := range data {
		if c == ' ' {
			return &Error{Code: string(data[:i]), Desc: string(data[i+1:])}
		}
	}
	return &Error{Code: string(data)}
}

// AppendCommand appends a command line: name, each parameter after a single
// space, and a newline. Bodies, when the command has one, are the caller's.
func AppendCommand(dst []byte, name string, params ...[]byte) []byte {
	dst = append(dst, name...)
	for _, p := range params {
		dst = append(dst, ' ')
		dst = append(dst, p...)
	}
	return append(dst, '\n')
}

func appendLine(dst []byte, name string, params ...string) []byte {
	dst = append(dst, name...)
	for _, p := range params {
		dst = append(dst, ' ')
		dst = append(dst, p...)
	}
	return append(dst, '\n')
}

func appendSized(dst []byte, body []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// AppendPUB appends "PUB <topic>\n" and the size-prefixed body.
func AppendPUB(dst []byte, topic string, body []byte) []byte {
	dst = slices.Grow(dst, len(topic)+9+len(body))
	return appendSized(appendLine(dst, "PUB", topic), body)
}

// AppendDPUB appends "DPUB <topic> <ms>\n" and the size-prefixed body; the
// defer time is sent in whole milliseconds.
func AppendDPUB(dst []byte, topic string, deferBy time.Duration, body []byte) []byte {
	dst = slices.Grow(dst, len(topic)+32+len(body))
	dst = append(dst, "DPUB "...)
	dst = append(dst, topic...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(deferBy/time.Millisecond), 10)
	dst = append(dst, '\n')
	return appendSized(dst, body)
}

// AppendMPUB appends "MPUB <topic>\n", the body size, the message count and
// each size-prefixed message, as go-nsq's MultiPublish does.
func AppendMPUB(dst []byte, topic string, bodies [][]byte) []byte {
	size := 4
	for _, b := range bodies {
		size += 4 + len(b)
	}
	dst = slices.Grow(dst, len(topic)+10+size)
	dst = appendLine(dst, "MPUB", topic)
	dst = binary.BigEndian.AppendUint32(dst, uint32(size))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(bodies)))
	for _, b := range bodies {
		dst = appendSized(dst, b)
	}
	return dst
}

// AppendIdentify appends "IDENTIFY\n" and the size-prefixed JSON body.
func AppendIdentify(dst []byte, jsonBody []byte) []byte {
	return appendSized(append(dst, "IDENTIFY\n"...), jsonBody)
}

// AppendAUTH appends "AUTH\n" and the size-prefixed secret.
func AppendAUTH(dst []byte, secret []byte) []byte {
	return appendSized(append(dst, "AUTH\n"...), secret)
}

// AppendSUB appends "SUB <topic> <channel>\n".
func AppendSUB(dst []byte, topic, channel string) []byte {
	return appendLine(dst, "SUB", topic, channel)
}

// AppendRDY appends "RDY <count>\n".
func AppendRDY(dst []byte, count int64) []byte {
	dst = append(dst, "RDY "...)
	dst = strconv.AppendInt(dst, count, 10)
	return append(dst, '\n')
}

// AppendFIN appends "FIN <id>\n".
func AppendFIN(dst []byte, id MessageID) []byte {
	return append(append(append(dst, "FIN "...), id[:]...), '\n')
}

// AppendREQ appends "REQ <id> <ms>\n"; the timeout is sent in whole
// milliseconds.
func AppendREQ(dst []byte, id MessageID, timeout time.Duration) []byte {
	dst = append(append(append(dst, "REQ "...), id[:]...), ' ')
	dst = strconv.AppendInt(dst, int64(timeout/time.Millisecond), 10)
	return append(dst, '\n')
}

// AppendTOUCH appends "TOUCH <id>\n".
func AppendTOUCH(dst []byte, id MessageID) []byte {
	return append(append(append(dst, "TOUCH "...), id[:]...), '\n')
}

// AppendNOP appends "NOP\n", the answer to a heartbeat.
func AppendNOP(dst []byte) []byte { return append(dst, "NOP\n"...) }

// AppendCLS appends "CLS\n".
func AppendCLS(dst []byte) []byte { return append(dst, "CLS\n"...) }
