package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nsqfast/nsq/engine"
)

// Replay (ours; upstream has no equivalent, see docs/OPERATIONS.md):
//
//	POST /channel/rewind?topic=T&channel=C&to=oldest|<RFC 3339 time>|<unix seconds>
//	POST /channel/create?topic=T&channel=C&start=oldest
//
// What can be replayed is what the topic still stores: set --retention-age
// and/or --retention-bytes to keep consumed messages.

var errInvalidArgTo = errf(http.StatusBadRequest, "INVALID_ARG_TO")

// parseReplayTime reads `to`: "oldest" (zero time), an RFC 3339 time or
// unix seconds.
func parseReplayTime(v string) (time.Time, bool) {
	if v == "oldest" || v == "" {
		return time.Time{}, true
	}
	if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return ts, true
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		return time.Unix(secs, 0), true
	}
	return time.Time{}, false
}

// rewindChannel is POST /channel/rewind: the channel delivers again every
// stored message from the given time (or the oldest stored one).
func (s *server) rewindChannel(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	t, name, err := s.topicChannelArgs(r)
	if err != nil {
		return nil, err
	}
	q, err := s.reqParams(r)
	if err != nil {
		return nil, err
	}
	v, _ := q.get("to")
	to, ok := parseReplayTime(v)
	if !ok {
		return nil, errInvalidArgTo
	}
	c, ok := t.ExistingChannel(name)
	if !ok {
		return nil, errChannelNotFound
	}
	seq, err := c.Rewind(to)
	if err != nil {
		return nil, s.engineError("rewind channel", err)
	}
	return map[string]uint64{"seq": seq}, nil
}

// startFromOldest applies /channel/create's start=oldest to a channel the
// request has just created.
func (s *server) startFromOldest(r *http.Request, t *engine.Topic, name string) error {
	q, err := s.reqParams(r)
	if err != nil {
		return err
	}
	if v, _ := q.get("start"); !strings.EqualFold(v, "oldest") {
		return nil
	}
	c, ok := t.ExistingChannel(name)
	if !ok {
		return errChannelNotFound
	}
	_, err = c.Rewind(time.Time{})
	return err
}
