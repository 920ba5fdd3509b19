package httpapi

import (
	"net/http"
	"strconv"
	"time"
)

// Message TTL and dead-letter topics (ours; upstream has neither, see
// docs/OPERATIONS.md):
//
//	GET  /topic/ttl?topic=T
//	POST /topic/ttl?topic=T&ttl=<Go duration, 0 = forever>|default
//	GET  /channel/dead-letter?topic=T&channel=C
//	POST /channel/dead-letter?topic=T&channel=C&max_attempts=<N, 0 = no limit>|default[&dead_letter_topic=X]
//
// Each answers the setting in force.

var (
	errInvalidArgTTL         = errf(http.StatusBadRequest, "INVALID_ARG_TTL")
	errInvalidArgMaxAttempts = errf(http.StatusBadRequest, "INVALID_ARG_MAX_ATTEMPTS")
	errInvalidDeadLetter     = errf(http.StatusBadRequest, "INVALID_ARG_DEAD_LETTER_TOPIC")
)

type ttlDoc struct {
	Topic string `json:"topic"`
	TTL   string `json:"ttl"` // a Go duration; "0s": messages never expire
	Own   bool   `json:"own"` // the topic's own setting, not --msg-ttl
}

type deadLetterDoc struct {
	Topic           string `json:"topic"`
	Channel         string `json:"channel"`
	MaxAttempts     uint16 `json:"max_attempts"` // 0: no limit
	DeadLetterTopic string `json:"dead_letter_topic"`
	Own             bool   `json:"own"` // the channel's own setting, not --max-attempts
}

// topicTTL is GET and POST /topic/ttl.
func (s *server) topicTTL(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	name, err := s.topicArg(r)
	if err != nil {
		return nil, err
	}
	t, ok := s.eng.ExistingTopic(name)
	if !ok {
		return nil, errTopicNotFound
	}
	if r.Method == http.MethodPost {
		q, err := s.reqParams(r)
		if err != nil {
			return nil, err
		}
		v, _ := q.get("ttl")
		if v == "default" {
			t.ResetTTL()
		} else {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, errInvalidArgTTL
			}
			t.SetTTL(d)
		}
	}
	d, own := t.TTL()
	return ttlDoc{Topic: name, TTL: d.String(), Own: own}, nil
}

// channelDeadLetter is GET and POST /channel/dead-letter.
func (s *server) channelDeadLetter(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	t, name, err := s.topicChannelArgs(r)
	if err != nil {
		return nil, err
	}
	c, ok := t.ExistingChannel(name)
	if !ok {
		return nil, errChannelNotFound
	}
	if r.Method == http.MethodPost {
		q, err := s.reqParams(r)
		if err != nil {
			return nil, err
		}
		v, _ := q.get("max_attempts")
		if v == "default" {
			c.ResetDeadLetter()
		} else {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return nil, errInvalidArgMaxAttempts
			}
			topic, _ := q.get("dead_letter_topic")
			if err := c.SetDeadLetter(uint16(n), topic); err != nil {
				return nil, errInvalidDeadLetter
			}
		}
	}
	max, topic, own := c.DeadLetter()
	return deadLetterDoc{Topic: t.Name(), Channel: name, MaxAttempts: max, DeadLetterTopic: topic, Own: own}, nil
}
