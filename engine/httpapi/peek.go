package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire/apidoc"
)

// Browsing (ours; upstream has no equivalent, see docs/OPERATIONS.md):
//
//	GET /channel/peek?topic=T&channel=C[&n=N][&skip=K][&held=true][&max_body=B]
//	GET /topic/peek?topic=T[&n=N][&skip=K][&max_body=B]
//
// list messages without consuming them: no attempt is counted, no cursor
// moves, nothing is held. Options.NoPeek turns both off (403 PEEK_DISABLED)
// for operators who must not expose message bodies over HTTP.

// Peek bounds: bodies are cut at max_body (default peekBodyDefault, at
// most peekBodyMax) and a response stops listing once its bodies pass
// peekResponseMax bytes.
const (
	peekNDefault    = 10
	peekBodyDefault = 4 << 10
	peekBodyMax     = 1 << 20
	peekResponseMax = 4 << 20
)

var (
	errPeekDisabled   = errf(http.StatusForbidden, "PEEK_DISABLED")
	errInvalidArgN    = errf(http.StatusBadRequest, "INVALID_ARG_N")
	errInvalidArgSkip = errf(http.StatusBadRequest, "INVALID_ARG_SKIP")
	errInvalidMaxBody = errf(http.StatusBadRequest, "INVALID_ARG_MAX_BODY")
)

// peekArgs reads n, skip, held and max_body.
func (s *server) peekArgs(r *http.Request) (engine.PeekOptions, error) {
	o := engine.PeekOptions{N: peekNDefault, MaxBody: peekBodyDefault}
	q, err := s.reqParams(r)
	if err != nil {
		return o, err
	}
	num := func(key string, min, max int, dst *int, bad error) error {
		v, ok := q.get(key)
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return bad
		}
		*dst = n
		return nil
	}
	if err := num("n", 1, engine.MaxPeek, &o.N, errInvalidArgN); err != nil {
		return o, err
	}
	if err := num("skip", 0, engine.MaxPeekSkip, &o.Skip, errInvalidArgSkip); err != nil {
		return o, err
	}
	if err := num("max_body", 1, peekBodyMax, &o.MaxBody, errInvalidMaxBody); err != nil {
		return o, err
	}
	if v, _ := q.get("held"); v == "true" || v == "1" {
		o.Held = true
	}
	return o, nil
}

func (s *server) peekDoc(topic, channel string, o engine.PeekOptions, ms []engine.PeekedMessage) *apidoc.Peek {
	d := &apidoc.Peek{Topic: topic, Channel: channel, Skip: o.Skip, Messages: make([]apidoc.PeekMessage, 0, len(ms))}
	total := 0
	for _, m := range ms {
		if total >= peekResponseMax {
			d.More = true
			break
		}
		total += len(m.Body)
		pm := apidoc.PeekMessage{
			ID: string(m.ID[:]), Timestamp: m.Timestamp, Attempts: m.Attempts,
			State: m.State, DueAt: m.DueAt, Size: m.Size,
			Truncated: len(m.Body) < m.Size,
		}
		if dl := m.DeadLetter; dl != nil {
			pm.OriginalID, pm.OriginalAttempts = string(dl.ID[:]), dl.Attempts
		}
		body := m.Body
		if pm.Truncated {
			// the cut may split a character of a text body: end before it
			for i := 0; i < utf8.UTFMax-1 && len(body) > 0 && !utf8.Valid(body); i++ {
				body = body[:len(body)-1]
			}
			if !utf8.Valid(body) {
				body = m.Body
			}
		}
		if utf8.Valid(body) {
			pm.Body, pm.BodyEncoding = string(body), "utf-8"
		} else {
			pm.Body, pm.BodyEncoding = base64.StdEncoding.EncodeToString(body), "base64"
		}
		d.Messages = append(d.Messages, pm)
	}
	return d
}

// peekChannel is GET /channel/peek.
func (s *server) peekChannel(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if s.o.NoPeek {
		return nil, errPeekDisabled
	}
	t, name, err := s.topicChannelArgs(r)
	if err != nil {
		return nil, err
	}
	o, err := s.peekArgs(r)
	if err != nil {
		return nil, err
	}
	c, ok := t.ExistingChannel(name)
	if !ok {
		return nil, errChannelNotFound
	}
	ms, err := c.Peek(o)
	if err != nil {
		return nil, s.engineError("peek channel", err)
	}
	return s.peekDoc(t.Name(), name, o, ms), nil
}

// peekTopic is GET /topic/peek.
func (s *server) peekTopic(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	if s.o.NoPeek {
		return nil, errPeekDisabled
	}
	name, err := s.topicArg(r)
	if err != nil {
		return nil, err
	}
	o, err := s.peekArgs(r)
	if err != nil {
		return nil, err
	}
	o.Held = false
	t, ok := s.eng.ExistingTopic(name)
	if !ok {
		return nil, errTopicNotFound
	}
	ms, err := t.Peek(o)
	if err != nil {
		return nil, s.engineError("peek topic", err)
	}
	return s.peekDoc(name, "", o, ms), nil
}
