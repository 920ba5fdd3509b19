package httpapi

import (
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/bytebufferpool"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

const (
	logWarn  = engine.LogWarn
	logError = engine.LogError
)

var (
	errMsgEmpty     = errf(http.StatusBadRequest, "MSG_EMPTY")
	errInvalidDefer = errf(http.StatusBadRequest, "INVALID_DEFER")
	// binary /mpub framing errors: upstream answers 413 with the V2 error
	// code minus its "E_" prefix
	errBadBody    = errf(http.StatusRequestEntityTooLarge, "BAD_BODY")
	errBadMessage = errf(http.StatusRequestEntityTooLarge, "BAD_MESSAGE")
)

// okBody is the body of a successful publish.
const okBody = "OK"

// bodyPool holds request bodies while they are published: the engine copies
// a message into its log, so the buffer is free again when Publish returns.
// With it BenchmarkPub runs at 0 allocs/op (without, one body-sized
// allocation per request, like upstream's io.ReadAll, which also regrows).
var bodyPool bytebufferpool.Pool

// readBody appends r's data to dst until EOF or until limit bytes are held
// (a caller that sees len == limit knows the body was longer than
// limit-1). sizeHint, the request's Content-Length or -1, sizes dst up
// front so that a known-length body is read without growing it.
func readBody(dst []byte, r io.Reader, limit, sizeHint int64) ([]byte, error) {
	if sizeHint >= 0 && sizeHint < limit {
		// one spare byte, so that the read which returns EOF has room
		dst = slices.Grow(dst, int(sizeHint)+1)
	}
	for int64(len(dst)) < limit {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		end := min(int64(cap(dst)), limit)
		n, err := r.Read(dst[len(dst):end])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// topicForPublish reads the topic parameter the way upstream's publishing
// and create paths do (query only; the body is the payload) and returns the
// topic, creating it.
func (s *server) topicForPublish(r *http.Request) (query, *engine.Topic, error) {
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		s.logf(logError, "failed to parse request params - %s", err)
		return q, nil, errInvalidRequest
	}
	name, ok := q.get("topic")
	if !ok {
		return q, nil, errMissingTopic
	}
	if !wire.IsValidTopicName([]byte(name)) {
		return q, nil, errInvalidTopic
	}
	t, ok := s.eng.ExistingTopic(name)
	if ok {
		return q, t, nil
	}
	// the name aliases the request's URL: give the topic its own copy
	t, err = s.eng.GetTopic(strings.Clone(name))
	if err != nil {
		return q, nil, s.engineError("create topic", err)
	}
	return q, t, nil
}

// engineError maps an engine failure: EXITING while shutting down (as
// upstream answers a publish then), INTERNAL_ERROR otherwise.
func (s *server) engineError(what string, err error) error {
	if errors.Is(err, engine.ErrExiting) {
		return errExiting
	}
	s.logf(logError, "failed to %s - %s", what, err)
	return errInternal
}

// pub is POST /pub?topic=T[&defer=ms]: the body is one message.
func (s *server) pub(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if r.ContentLength > s.o.MaxMsgSize {
		return nil, errMsgTooBig
	}
	buf := bodyPool.Get()
	defer bodyPool.Put(buf)
	readMax := s.o.MaxMsgSize + 1
	var err error
	buf.B, err = readBody(buf.B[:0], r.Body, readMax, r.ContentLength)
	if err != nil {
		return nil, errInternal
	}
	if int64(len(buf.B)) == readMax {
		return nil, errMsgTooBig
	}
	if len(buf.B) == 0 {
		return nil, errMsgEmpty
	}

	// upstream resolves (and so creates) the topic before checking defer
	q, t, err := s.topicForPublish(r)
	if err != nil {
		return nil, err
	}
	var deferred time.Duration
	if v, ok := q.get("defer"); ok {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errInvalidDefer
		}
		deferred = time.Duration(ms) * time.Millisecond
		if deferred < 0 || deferred > s.o.MaxReqTimeout {
			return nil, errInvalidDefer
		}
	}
	if deferred > 0 {
		err = t.PublishDeferred(buf.B, deferred)
	} else {
		err = t.Publish(buf.B)
	}
	if err != nil {
		return nil, s.publishError(t, err)
	}
	return okBody, nil
}

// publishError: upstream answers any failure to store a message with 503
// EXITING.
func (s *server) publishError(t *engine.Topic, err error) error {
	if !errors.Is(err, engine.ErrExiting) {
		s.logf(logError, "TOPIC(%s): publish failed - %s", t.Name(), err)
	}
	return errExiting
}

// mpub is POST /mpub?topic=T[&binary=true]: newline-separated messages, or
// in binary mode upstream's MPUB framing (a 4-byte big-endian count, then
// for each message a 4-byte size and the body). Every message is checked
// before any is published.
func (s *server) mpub(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if r.ContentLength > s.o.MaxBodySize {
		return nil, errBodyTooBig
	}
	q, t, err := s.topicForPublish(r)
	if err != nil {
		return nil, err
	}
	// text unless binary says otherwise; an unknown value means binary
	binaryMode := false
	if v, ok := q.get("binary"); ok {
		if binaryMode, ok = parseBool(v); !ok {
			binaryMode = true
			s.logf(logWarn, "deprecated value '%s' used for /mpub binary param", v)
		}
	}

	buf := bodyPool.Get()
	defer bodyPool.Put(buf)
	var msgs func(yield func([]byte) bool)
	if binaryMode {
		buf.B, err = readBinaryMPUB(buf.B[:0], r.Body, s.o.MaxMsgSize, s.o.MaxBodySize)
		if err != nil {
			return nil, err
		}
		msgs = framedMessages(buf.B)
	} else {
		readMax := s.o.MaxBodySize + 1
		var readErr error
		buf.B, readErr = readBody(buf.B[:0], r.Body, readMax, r.ContentLength)
		if err := checkTextMPUB(buf.B, readErr, readMax, s.o.MaxMsgSize); err != nil {
			return nil, err
		}
		msgs = textMessages(buf.B)
	}
	if err := t.PublishMulti(msgs); err != nil {
		return nil, s.publishError(t, err)
	}
	return okBody, nil
}

// checkTextMPUB validates a newline-separated body the way upstream's
// line-by-line reader fails: lines are taken in order, and for each the
// body-size check (the read reached readMax) comes before the message-size
// check; a read error is reported when the reader reaches it, i.e. at the
// final, unterminated block. Empty lines are skipped.
func checkTextMPUB(body []byte, readErr error, readMax, maxMsgSize int64) error {
	total := 0
	for rest := body; ; {
		i := indexNewline(rest)
		last := i < 0
		block := rest
		if !last {
			block, rest = rest[:i+1], rest[i+1:]
		} else if readErr != nil {
			return errInternal
		}
		total += len(block)
		if int64(total) == readMax {
			return errBodyTooBig
		}
		if !last {
			block = block[:len(block)-1]
		}
		if int64(len(block)) > maxMsgSize {
			return errMsgTooBig
		}
		if last {
			return nil
		}
	}
}

func indexNewline(b []byte) int {
	for i, c := range b {
		if c == '\n' {
			return i
		}
	}
	return -1
}

// textMessages yields the non-empty lines of a checked text /mpub body.
func textMessages(body []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for rest := body; len(rest) > 0; {
			line := rest
			if i := indexNewline(rest); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if len(line) > 0 && !yield(line) {
				return
			}
		}
	}
}

// readBinaryMPUB reads a binary /mpub body and appends each message to dst
// as [4-byte size][body]. The limits and the errors are upstream's (which
// reuses its TCP MPUB reader): the count must be in 1..(maxBodySize-4)/5
// and each size in 1..maxMsgSize. What follows the last message is not
// read.
func readBinaryMPUB(dst []byte, r io.Reader, maxMsgSize, maxBodySize int64) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return dst, errBadBody
	}
	count := int32(binary.BigEndian.Uint32(hdr[:]))
	// each message takes at least 5 bytes: its size and one byte of body
	if count <= 0 || int64(count) > (maxBodySize-4)/5 {
		return dst, errBadBody
	}
	total := int64(4) // the count, then each message's size and body
	for range count {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return dst, errBadMessage
		}
		size := int32(binary.BigEndian.Uint32(hdr[:]))
		if size <= 0 || int64(size) > maxMsgSize {
			return dst, errBadMessage
		}
		// Upstream reads on whatever the total (count x --max-msg-size
		// bytes); ours stops where the messages pass --max-body-size, as
		// the TCP MPUB does (docs/COMPATIBILITY.md).
		if total += 4 + int64(size); total > maxBodySize {
			return dst, errBadBody
		}
		dst = append(dst, hdr[:]...)
		start := len(dst)
		dst = growLen(dst, int(size))
		if _, err := io.ReadFull(r, dst[start:]); err != nil {
			return dst, errBadMessage
		}
	}
	return dst, nil
}

// growLen extends b by n bytes (their content is unspecified).
func growLen(b []byte, n int) []byte { return slices.Grow(b, n)[:len(b)+n] }

// framedMessages yields the bodies readBinaryMPUB stored.
func framedMessages(b []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for rest := b; len(rest) >= 4; {
			n := int(binary.BigEndian.Uint32(rest))
			if !yield(rest[4 : 4+n]) {
				return
			}
			rest = rest[4+n:]
		}
	}
}
