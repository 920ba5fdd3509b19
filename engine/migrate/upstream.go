package migrate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// UpstreamMetadata is upstream's nsqd.dat.
type UpstreamMetadata struct {
	Topics  []UpstreamTopic `json:"topics"`
	Version string          `json:"version"`
}

// UpstreamTopic is a topic of nsqd.dat.
type UpstreamTopic struct {
	Name     string            `json:"name"`
	Paused   bool              `json:"paused"`
	Channels []UpstreamChannel `json:"channels"`
}

// UpstreamChannel is a channel of nsqd.dat.
type UpstreamChannel struct {
	Name   string `json:"name"`
	Paused bool   `json:"paused"`
}

// UpstreamMessage is a message as upstream stores it in a diskqueue record.
type UpstreamMessage struct {
	ID        [16]byte
	Timestamp int64 // ns since the epoch
	Attempts  uint16
	Body      []byte
}

const (
	metadataFile = "nsqd.dat"
	// importedFile is what nsqd.dat becomes once imported.
	importedFile = "nsqd.dat.imported"

	// msgHeaderLen is timestamp (8) + attempts (2) + ID (16): upstream's
	// smallest valid record.
	msgHeaderLen = 8 + 2 + 16
	// maxRecordLen bounds a record's length so that it fits one of our log
	// records with its engine header; upstream's own bound is
	// --max-msg-size plus msgHeaderLen.
	maxRecordLen = 1<<31 - 1024
)

// dqMeta is a diskqueue's metadata file.
type dqMeta struct {
	Depth        int64
	ReadFileNum  int64
	ReadPos      int64
	WriteFileNum int64
	WritePos     int64
}

func dqDataName(queue string, num int64) string {
	return fmt.Sprintf("%s.diskqueue.%06d.dat", queue, num)
}

func dqMetaName(queue string) string { return queue + ".diskqueue.meta.dat" }

// channelQueue is the diskqueue name of a channel (upstream's on unix).
func channelQueue(topic, channel string) string { return topic + ":" + channel }

var (
	errMetaSyntax = errors.New("migrate: malformed diskqueue metadata")
	errShort      = errors.New("migrate: record incomplete")
	errBadSize    = errors.New("migrate: impossible record length")
	errBadMessage = errors.New("migrate: message shorter than its header")
)

// parseMeta parses a diskqueue metadata file: "depth\nreadFileNum,readPos\n
// writeFileNum,writePos\n" (the final newline optional). File numbers and
// positions must not be negative; depth may be (upstream repairs it).
func parseMeta(b []byte) (dqMeta, error) {
	var m dqMeta
	fields := [5]*int64{&m.Depth, &m.ReadFileNum, &m.ReadPos, &m.WriteFileNum, &m.WritePos}
	// The separator expected after each field.
	seps := [5]byte{'\n', ',', '\n', ',', '\n'}
	for i, f := range fields {
		end := bytes.IndexByte(b, seps[i])
		if end < 0 {
			if i < len(fields)-1 {
				return dqMeta{}, errMetaSyntax
			}
			end = len(b)
		}
		v, err := strconv.ParseInt(string(b[:end]), 10, 64)
		if err != nil || (i > 0 && v < 0) {
			return dqMeta{}, errMetaSyntax
		}
		*f = v
		b = b[min(end+1, len(b)):]
	}
	if len(b) != 0 {
		return dqMeta{}, errMetaSyntax
	}
	return m, nil
}

// appendMeta appends m in upstream's metadata format.
func appendMeta(dst []byte, m dqMeta) []byte {
	dst = strconv.AppendInt(dst, m.Depth, 10)
	dst = append(dst, '\n')
	dst = strconv.AppendInt(dst, m.ReadFileNum, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, m.ReadPos, 10)
	dst = append(dst, '\n')
	dst = strconv.AppendInt(dst, m.WriteFileNum, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, m.WritePos, 10)
	return append(dst, '\n')
}

// splitRecord reads the diskqueue record at the start of b. It returns the
// record's payload (aliasing b) and the bytes it spans. errShort means b
// holds only part of it: n is then the whole record's length (or 4 when
// even the length is incomplete). errBadSize means the length cannot be
// upstream's; nothing after it in the file can be trusted.
func splitRecord(b []byte) (payload []byte, n int, err error) {
	if len(b) < 4 {
		return nil, 4, errShort
	}
	size := int64(int32(binary.BigEndian.Uint32(b)))
	if size < msgHeaderLen || size > maxRecordLen {
		return nil, 0, errBadSize
	}
	n = 4 + int(size)
	if len(b) < n {
		return nil, n, errShort
	}
	return b[4:n:n], n, nil
}

// appendRecord appends payload framed as a diskqueue record.
func appendRecord(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// decodeMessage decodes a record's payload. Body aliases b.
func decodeMessage(b []byte) (UpstreamMessage, error) {
	var m UpstreamMessage
	if len(b) < msgHeaderLen {
		return m, errBadMessage
	}
	m.Timestamp = int64(binary.BigEndian.Uint64(b[0:8]))
	m.Attempts = binary.BigEndian.Uint16(b[8:10])
	copy(m.ID[:], b[10:26])
	m.Body = b[26:]
	return m, nil
}

// appendMessage appends m encoded as upstream stores it.
func appendMessage(dst []byte, m *UpstreamMessage) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Timestamp))
	dst = binary.BigEndian.AppendUint16(dst, m.Attempts)
	dst = append(dst, m.ID[:]...)
	return append(dst, m.Body...)
}
