package wire

import (
	"encoding/binary"
	"slices"
)

// MagicV2 is the 4-byte preamble a client sends first to select the V2
// protocol.
const MagicV2 = "  V2"

// Frame types: the 4-byte big-endian word after a frame's size.
const (
	FrameTypeResponse int32 = 0 // data is a response ("OK", "_heartbeat_", JSON...)
	FrameTypeError    int32 = 1 // data is Error.Error()
	FrameTypeMessage  int32 = 2 // data is a message: see AppendMessage
)

// FrameHeaderLen is the size of a frame's size and type words.
const FrameHeaderLen = 8

// MessageHeaderLen is the size of the message header inside a message frame's
// data: an 8-byte timestamp, 2-byte attempts and the 16-byte ID.
const MessageHeaderLen = 8 + 2 + MsgIDLength

// Fixed response bodies.
const (
	ResponseOK        = "OK"          // most successful commands
	ResponseHeartbeat = "_heartbeat_" // server heartbeat; the client answers NOP
	ResponseCloseWait = "CLOSE_WAIT"  // CLS accepted
)

// AppendFrame appends a whole frame to dst: the 4-byte big-endian size of
// what follows (type and data), the 4-byte type and data.
func AppendFrame(dst []byte, frameType int32, data []byte) []byte {
	dst = slices.Grow(dst, FrameHeaderLen+len(data))
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+len(data)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(frameType))
	return append(dst, data...)
}

// appendFrameString is AppendFrame for a string payload.
func appendFrameString(dst []byte, frameType int32, data string) []byte {
	dst = slices.Grow(dst, FrameHeaderLen+len(data))
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+len(data)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(frameType))
	return append(dst, data...)
}

// AppendResponse appends a response frame carrying data.
func AppendResponse(dst []byte, data []byte) []byte {
	return AppendFrame(dst, FrameTypeResponse, data)
}

// AppendOK appends the "OK" response frame.
func AppendOK(dst []byte) []byte { return appendFrameString(dst, FrameTypeResponse, ResponseOK) }

// AppendHeartbeat appends the "_heartbeat_" response frame.
func AppendHeartbeat(dst []byte) []byte {
	return appendFrameString(dst, FrameTypeResponse, ResponseHeartbeat)
}

// AppendCloseWait appends the "CLOSE_WAIT" response frame that answers CLS.
func AppendCloseWait(dst []byte) []byte {
	return appendFrameString(dst, FrameTypeResponse, ResponseCloseWait)
}

// AppendErrorFrame appends an error frame whose data is e.Error(), without
// building that string.
func AppendErrorFrame(dst []byte, e *Error) []byte {
	n := len(e.Code) + 1 + len(e.Desc)
	dst = slices.Grow(dst, FrameHeaderLen+n)
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+n))
	dst = binary.BigEndian.AppendUint32(dst, uint32(FrameTypeError))
	dst = append(dst, e.Code...)
	dst = append(dst, ' ')
	return append(dst, e.Desc...)
}

// AppendMessage appends a whole message frame: size, type 2, then the
// message data (see AppendMessageData). timestamp is in nanoseconds since
// the Unix epoch; attempts counts deliveries including this one.
func AppendMessage(dst []byte, id MessageID, timestamp int64, attempts uint16, body []byte) []byte {
	dst = slices.Grow(dst, FrameHeaderLen+MessageHeaderLen+len(body))
	dst = binary.BigEndian.AppendUint32(dst, uint32(4+MessageHeaderLen+len(body)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(FrameTypeMessage))
	return appendMessageData(dst, id, timestamp, attempts, body)
}

// AppendMessageData appends a message's data without the frame header: the
// 8-byte big-endian timestamp, 2-byte big-endian attempts, 16-byte ID and
// body. This is also the layout upstream keeps in its disk queues.
func AppendMessageData(dst []byte, id MessageID, timestamp int64, attempts uint16, body []byte) []byte {
	dst = slices.Grow(dst, MessageHeaderLen+len(body))
	return appendMessageData(dst, id, timestamp, attempts, body)
}

func appendMessageData(dst []byte, id MessageID, timestamp int64, attempts uint16, body []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(timestamp))
	dst = binary.BigEndian.AppendUint16(dst, attempts)
	dst = append(dst, id[:]...)
	return append(dst, body...)
}

// Message is a decoded message frame's data.
type Message struct {
	ID        MessageID // as sent
	Timestamp int64     // nanoseconds since the Unix epoch
	Attempts  uint16    // deliveries including this one
	Body      []byte    // aliases the decoded data
}

// ParseMessage decodes a message's data (a FrameTypeMessage frame's data, or
// what AppendMessageData wrote). ok is false if data is shorter than
// MessageHeaderLen. The body may be empty.
func ParseMessage(data []byte) (m Message, ok bool) {
	if len(data) < MessageHeaderLen {
		return Message{}, false
	}
	m.Timestamp = int64(binary.BigEndian.Uint64(data))
	m.Attempts = binary.BigEndian.Uint16(data[8:])
	copy(m.ID[:], data[10:MessageHeaderLen])
	m.Body = data[MessageHeaderLen:]
	return m, true
}
