package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/nsqfast/nsq/engine"
	"github.com/nsqfast/nsq/wire"
)

var (
	errInvalidArgTopic   = errf(http.StatusBadRequest, "INVALID_ARG_TOPIC")
	errMissingArgChannel = errf(http.StatusBadRequest, "MISSING_ARG_CHANNEL")
	errInvalidArgChannel = errf(http.StatusBadRequest, "INVALID_ARG_CHANNEL")
)

// topicArg reads the topic parameter, not validated: upstream validates
// it only on some endpoints.
func (s *server) topicArg(r *http.Request) (string, error) {
	q, err := s.reqParams(r)
	if err != nil {
		return "", err
	}
	name, ok := q.get("topic")
	if !ok {
		return "", errMissingTopic
	}
	return name, nil
}

// createTopic is POST /topic/create?topic=T.
func (s *server) createTopic(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	_, _, err := s.topicForPublish(r)
	return nil, err
}

// deleteTopic is POST /topic/delete?topic=T. As upstream, the name is not
// validated (an invalid one is simply not found).
func (s *server) deleteTopic(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	name, err := s.topicArg(r)
	if err != nil {
		return nil, err
	}
	if err := s.eng.DeleteTopic(name); err != nil {
		if errors.Is(err, engine.ErrTopicNotFound) {
			return nil, errTopicNotFound
		}
		// the topic is gone from the engine; upstream ignores clean-up errors
		s.logf(logError, "TOPIC(%s): delete - %s", name, err)
	}
	return nil, nil
}

// emptyTopic is POST /topic/empty?topic=T.
func (s *server) emptyTopic(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	name, err := s.topicArg(r)
	if err != nil {
		return nil, err
	}
	if !wire.IsValidTopicName([]byte(name)) {
		return nil, errInvalidTopic
	}
	t, ok := s.eng.ExistingTopic(name)
	if !ok {
		return nil, errTopicNotFound
	}
	if err := t.Empty(); err != nil {
		s.logf(logError, "TOPIC(%s): empty - %s", name, err)
		return nil, errInternal
	}
	return nil, nil
}

// pauseTopic is POST /topic/pause and /topic/unpause ?topic=T. The engine
// persists the state.
func (s *server) pauseTopic(pause bool) endpoint {
	return func(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
		name, err := s.topicArg(r)
		if err != nil {
			return nil, err
		}
		t, ok := s.eng.ExistingTopic(name)
		if !ok {
			return nil, errTopicNotFound
		}
		if pause {
			err = t.Pause()
		} else {
			err = t.Unpause()
		}
		if err != nil {
			s.logf(logError, "failure in %s - %s", r.URL.Path, err)
			return nil, errInternal
		}
		return nil, nil
	}
}

// topicChannelArgs reads and checks the topic and channel parameters of
// the /channel endpoints and finds the (existing) topic.
func (s *server) topicChannelArgs(r *http.Request) (*engine.Topic, string, error) {
	q, err := s.reqParams(r)
	if err != nil {
		return nil, "", err
	}
	topicName, ok := q.get("topic")
	if !ok {
		return nil, "", errMissingTopic
	}
	if !wire.IsValidTopicName([]byte(topicName)) {
		return nil, "", errInvalidArgTopic
	}
	channelName, ok := q.get("channel")
	if !ok {
		return nil, "", errMissingArgChannel
	}
	if !wire.IsValidChannelName([]byte(channelName)) {
		return nil, "", errInvalidArgChannel
	}
	t, ok := s.eng.ExistingTopic(topicName)
	if !ok {
		return nil, "", errTopicNotFound
	}
	return t, channelName, nil
}

// createChannel is POST /channel/create?topic=T&channel=C; the topic must
// exist.
func (s *server) createChannel(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	t, name, err := s.topicChannelArgs(r)
	if err != nil {
		return nil, err
	}
	if _, ok := t.ExistingChannel(name); ok {
		return nil, nil
	}
	if _, err := t.GetChannel(strings.Clone(name)); err != nil {
		return nil, s.engineError("create channel", err)
	}
	if err := s.startFromOldest(r, t, name); err != nil {
		return nil, err
	}
	return nil, nil
}

// deleteChannel is POST /channel/delete?topic=T&channel=C.
func (s *server) deleteChannel(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	t, name, err := s.topicChannelArgs(r)
	if err != nil {
		return nil, err
	}
	if err := t.DeleteChannel(name); err != nil {
		if errors.Is(err, engine.ErrChannelNotFound) {
			return nil, errChannelNotFound
		}
		// the channel is gone from the topic; upstream ignores clean-up errors
		s.logf(logError, "TOPIC(%s): delete channel(%s) - %s", t.Name(), name, err)
	}
	return nil, nil
}

// emptyChannel is POST /channel/empty?topic=T&channel=C.
func (s *server) emptyChannel(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
	t, name, err := s.topicChannelArgs(r)
	if err != nil {
		return nil, err
	}
	c, ok := t.ExistingChannel(name)
	if !ok {
		return nil, errChannelNotFound
	}
	if err := c.Empty(); err != nil {
		s.logf(logError, "TOPIC(%s): empty channel(%s) - %s", t.Name(), name, err)
		return nil, errInternal
	}
	return nil, nil
}

// pauseChannel is POST /channel/pause and /channel/unpause
// ?topic=T&channel=C.
func (s *server) pauseChannel(pause bool) endpoint {
	return func(_ http.ResponseWriter, r *http.Request, _ string) (any, error) {
		t, name, err := s.topicChannelArgs(r)
		if err != nil {
			return nil, err
		}
		c, ok := t.ExistingChannel(name)
		if !ok {
			return nil, errChannelNotFound
		}
		if pause {
			err = c.Pause()
		} else {
			err = c.Unpause()
		}
		if err != nil {
			s.logf(logError, "failure in %s - %s", r.URL.Path, err)
			return nil, errInternal
		}
		return nil, nil
	}
}
