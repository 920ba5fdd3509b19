package lookupv1

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nsqfast/nsq/wire"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// OK is the response to PING, REGISTER and UNREGISTER.
const OK = "OK"

// BadProtocol is what the server sends, before closing, to a client whose
// first four bytes are not Magic.
const BadProtocol = "E_BAD_PROTOCOL"

// ParseIdentify decodes an IDENTIFY body as upstream does: into a Peer
// (so an unknown key is ignored and a key of the wrong type is an error),
// then requires broadcast_address, tcp_port, http_port and version to be
// set. RemoteAddress is replaced by remoteAddr.
func ParseIdentify(body []byte, remoteAddr string) (lookupdoc.Peer, *wire.Error) {
	var p lookupdoc.Peer
	if err := json.Unmarshal(body, &p); err != nil {
		return lookupdoc.Peer{}, wire.NewFatalError(wire.CodeBadBody, "IDENTIFY failed to decode JSON body")
	}
	p.RemoteAddress = remoteAddr
	if p.BroadcastAddress == "" || p.TCPPort == 0 || p.HTTPPort == 0 || p.Version == "" {
		return lookupdoc.Peer{}, wire.NewFatalError(wire.CodeBadBody, "IDENTIFY missing fields")
	}
	return p, nil
}

// AppendResponse appends one response: data's size, big-endian, then data.
func AppendResponse(dst []byte, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	return append(dst, data...)
}

// AppendResponseString is AppendResponse for a string.
func AppendResponseString(dst []byte, data string) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	return append(dst, data...)
}

// ErrResponseTooLarge is returned by ParseResponse for a response larger
// than the caller's limit.
var ErrResponseTooLarge = errors.New("lookupv1: response too large")

// ParseResponse is the client side of AppendResponse: it returns the data
// of the response at the start of buf and the bytes it used, or n == 0 when
// more are needed. A size above max (or negative) is ErrResponseTooLarge.
func ParseResponse(buf []byte, max int) (data []byte, n int, err error) {
	if len(buf) < 4 {
		return nil, 0, nil
	}
	size := int32(binary.BigEndian.Uint32(buf))
	if size < 0 || int(size) > max {
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrResponseTooLarge, size, max)
	}
	if len(buf) < 4+int(size) {
		return nil, 0, nil
	}
	return buf[4 : 4+size], 4 + int(size), nil
}

// AppendPing appends "PING\n".
func AppendPing(dst []byte) []byte { return append(dst, "PING\n"...) }

// AppendIdentify appends IDENTIFY with its sized body (a JSON Identity).
func AppendIdentify(dst []byte, body []byte) []byte {
	dst = append(dst, "IDENTIFY\n"...)
	return AppendResponse(dst, body)
}

// AppendRegister appends "REGISTER <topic>[ <channel>]\n".
func AppendRegister(dst []byte, topic, channel string) []byte {
	return appendTopicChannel(append(dst, "REGISTER "...), topic, channel)
}

// AppendUnregister appends "UNREGISTER <topic>[ <channel>]\n".
func AppendUnregister(dst []byte, topic, channel string) []byte {
	return appendTopicChannel(append(dst, "UNREGISTER "...), topic, channel)
}

func appendTopicChannel(dst []byte, topic, channel string) []byte {
	dst = append(dst, topic...)
	if channel != "" {
		dst = append(append(dst, ' '), channel...)
	}
	return append(dst, '\n')
}
