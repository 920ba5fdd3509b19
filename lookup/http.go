package lookup

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/pprof"
	"net/url"
	"time"

	"github.com/nsqfast/nsq/lookup/registry"
	"github.com/nsqfast/nsq/wire"
	"github.com/nsqfast/nsq/wire/lookupdoc"
)

// The HTTP API answers as upstream: every endpoint but /ping and pprof in
// the V1 form (see wire/lookupdoc), whatever the Accept header says.

// apiError is a failed call: its status code and message.
type apiError struct {
	code int
	text string
}

func (e apiError) Error() string { return e.text }

var (
	errInvalidRequest  = apiError{http.StatusBadRequest, "INVALID_REQUEST"}
	errMissingTopic    = apiError{http.StatusBadRequest, "MISSING_ARG_TOPIC"}
	errInvalidTopic    = apiError{http.StatusBadRequest, "INVALID_ARG_TOPIC"}
	errMissingChannel  = apiError{http.StatusBadRequest, "MISSING_ARG_CHANNEL"}
	errInvalidChannel  = apiError{http.StatusBadRequest, "INVALID_ARG_CHANNEL"}
	errMissingNode     = apiError{http.StatusBadRequest, "MISSING_ARG_NODE"}
	errTopicNotFound   = apiError{http.StatusNotFound, "TOPIC_NOT_FOUND"}
	errChannelNotFound = apiError{http.StatusNotFound, "CHANNEL_NOT_FOUND"}
	errNotFound        = apiError{http.StatusNotFound, "NOT_FOUND"}
	errMethod          = apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"}
	errInternal        = apiError{http.StatusInternalServerError, "INTERNAL_ERROR"}
)

// params are a request's query parameters.
type params url.Values

// get returns the first value of key; ok is false when key is absent.
func (p params) get(key string) (string, bool) {
	v, ok := p[key]
	if !ok {
		return "", false
	}
	return v[0], true
}

// maxDiscardBody bounds how much of a request body is read (and ignored):
// upstream reads it all; no endpoint uses it.
const maxDiscardBody = 1 << 20

// endpoint is one API call; its result is a document to encode as JSON,
// or nil for an empty body.
type endpoint func(r *http.Request, q params) (any, error)

func (l *NSQLookupd) newHTTPHandler() http.Handler {
	rt := newRouter(
		func(w http.ResponseWriter, r *http.Request) { l.logged(w, r, errNotFound, nil) },
		func(w http.ResponseWriter, r *http.Request) { l.logged(w, r, errMethod, nil) },
	)
	get, post := http.MethodGet, http.MethodPost

	rt.handle(get, "/ping", http.HandlerFunc(l.ping))
	rt.handle(get, "/info", l.v1(l.info))
	rt.handle(get, "/debug", l.v1(l.debug))
	rt.handle(get, "/lookup", l.v1(l.lookup))
	rt.handle(get, "/topics", l.v1(l.topics))
	rt.handle(get, "/channels", l.v1(l.channels))
	rt.handle(get, "/nodes", l.v1(l.nodes))
	rt.handle(post, "/topic/create", l.v1(l.createTopic))
	rt.handle(post, "/topic/delete", l.v1(l.deleteTopic))
	rt.handle(post, "/channel/create", l.v1(l.createChannel))
	rt.handle(post, "/channel/delete", l.v1(l.deleteChannel))
	rt.handle(post, "/topic/tombstone", l.v1(l.tombstone))
	// not in upstream; not logged, as scrapers call it all the time
	rt.handle(get, "/metrics", http.HandlerFunc(l.metrics))

	rt.handle(get, "/debug/pprof", http.HandlerFunc(pprof.Index))
	rt.handle(get, "/debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline))
	rt.handle(get, "/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	rt.handle(post, "/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
	rt.handle(get, "/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
	rt.handle(get, "/debug/pprof/trace", http.HandlerFunc(pprof.Trace))
	for _, name := range []string{"heap", "goroutine", "block", "threadcreate", "allocs", "mutex"} {
		rt.handle(get, "/debug/pprof/"+name, pprof.Handler(name))
	}
	return l.recoverer(rt)
}

// recoverer answers 500 INTERNAL_ERROR when a handler panics.
func (l *NSQLookupd) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				l.logf(LogError, "panic in HTTP handler - %v", p)
				l.logged(w, r, errInternal, nil)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// v1 runs an endpoint and writes its V1 answer.
func (l *NSQLookupd) v1(e endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err == nil {
			_, err = io.Copy(io.Discard, io.LimitReader(r.Body, maxDiscardBody))
		}
		var doc any
		if err != nil {
			err = errInvalidRequest
		} else {
			doc, err = e(r, params(q))
		}
		l.loggedSince(w, r, err, doc, start)
	})
}

func (l *NSQLookupd) logged(w http.ResponseWriter, r *http.Request, err error, doc any) {
	l.loggedSince(w, r, err, doc, time.Now())
}

// loggedSince writes a V1 answer — doc as JSON, or err's message — and
// logs the request as upstream does.
func (l *NSQLookupd) loggedSince(w http.ResponseWriter, r *http.Request, err error, doc any, start time.Time) {
	code := http.StatusOK
	var body []byte
	if err == nil && doc != nil {
		var merr error
		if body, merr = json.Marshal(doc); merr != nil {
			err = apiError{http.StatusInternalServerError, merr.Error()}
		}
	}
	if err != nil {
		ae, ok := err.(apiError)
		if !ok {
			ae = apiError{http.StatusInternalServerError, err.Error()}
		}
		code = ae.code
		body, _ = json.Marshal(lookupdoc.Message{Message: ae.text})
	}
	h := w.Header()
	if body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("X-NSQ-Content-Type", "nsq; version=1.0")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	l.logf(LogInfo, "%d %s %s (%s) %s", code, r.Method, r.URL.RequestURI(), r.RemoteAddr, time.Since(start))
}

// ping is GET /ping: plain text, no V1 header.
func (l *NSQLookupd) ping(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	_, _ = io.WriteString(w, "OK")
	l.logf(LogInfo, "%d %s %s (%s) %s", http.StatusOK, r.Method, r.URL.RequestURI(), r.RemoteAddr, time.Since(start))
}

func (l *NSQLookupd) info(*http.Request, params) (any, error) {
	return lookupdoc.Info{Version: Version}, nil
}

func (l *NSQLookupd) topics(*http.Request, params) (any, error) {
	regs := l.db.FindRegistrations(registry.CategoryTopic, registry.Wildcard, "")
	return lookupdoc.Topics{Topics: keys(regs)}, nil
}

func (l *NSQLookupd) channels(_ *http.Request, q params) (any, error) {
	topic, ok := q.get("topic")
	if !ok {
		return nil, errMissingTopic
	}
	regs := l.db.FindRegistrations(registry.CategoryChannel, topic, registry.Wildcard)
	return lookupdoc.Channels{Channels: subKeys(regs)}, nil
}

func (l *NSQLookupd) lookup(_ *http.Request, q params) (any, error) {
	topic, ok := q.get("topic")
	if !ok {
		return nil, errMissingTopic
	}
	if len(l.db.FindRegistrations(registry.CategoryTopic, topic, "")) == 0 {
		return nil, errTopicNotFound
	}
	channels := subKeys(l.db.FindRegistrations(registry.CategoryChannel, topic, registry.Wildcard))
	producers := registry.Active(l.db.FindProducers(registry.CategoryTopic, topic, ""),
		time.Now(), l.opts.InactiveProducerTimeout, l.opts.TombstoneLifetime)
	doc := lookupdoc.Lookup{Channels: channels, Producers: make([]lookupdoc.Peer, len(producers))}
	for i, p := range producers {
		doc.Producers[i] = p.Peer.Info
	}
	return doc, nil
}

func (l *NSQLookupd) createTopic(_ *http.Request, q params) (any, error) {
	topic, ok := q.get("topic")
	if !ok {
		return nil, errMissingTopic
	}
	if !wire.IsValidTopicName([]byte(topic)) {
		return nil, errInvalidTopic
	}
	l.logf(LogInfo, "DB: adding topic(%s)", topic)
	l.db.AddRegistration(registry.Registration{Category: registry.CategoryTopic, Key: topic})
	return nil, nil
}

func (l *NSQLookupd) deleteTopic(_ *http.Request, q params) (any, error) {
	topic, ok := q.get("topic")
	if !ok {
		return nil, errMissingTopic
	}
	for _, r := range l.db.FindRegistrations(registry.CategoryChannel, topic, registry.Wildcard) {
		l.logf(LogInfo, "DB: removing channel(%s) from topic(%s)", r.SubKey, topic)
		l.db.RemoveRegistration(r)
	}
	for _, r := range l.db.FindRegistrations(registry.CategoryTopic, topic, "") {
		l.logf(LogInfo, "DB: removing topic(%s)", topic)
		l.db.RemoveRegistration(r)
	}
	return nil, nil
}

func (l *NSQLookupd) tombstone(_ *http.Request, q params) (any, error) {
	topic, ok := q.get("topic")
	if !ok {
		return nil, errMissingTopic
	}
	node, ok := q.get("node")
	if !ok {
		return nil, errMissingNode
	}
	l.logf(LogInfo, "DB: setting tombstone for producer@%s of topic(%s)", node, topic)
	l.db.Tombstone(topic, node, time.Now())
	return nil, nil
}

// topicChannel reads and checks the topic and channel parameters, in
// upstream's order.
func topicChannel(q params) (topic, channel string, err error) {
	topic, ok := q.get("topic")
	if !ok {
		return "", "", errMissingTopic
	}
	if !wire.IsValidTopicName([]byte(topic)) {
		return "", "", errInvalidTopic
	}
	channel, ok = q.get("channel")
	if !ok {
		return "", "", errMissingChannel
	}
	if !wire.IsValidChannelName([]byte(channel)) {
		return "", "", errInvalidChannel
	}
	return topic, channel, nil
}

func (l *NSQLookupd) createChannel(_ *http.Request, q params) (any, error) {
	topic, channel, err := topicChannel(q)
	if err != nil {
		return nil, err
	}
	l.logf(LogInfo, "DB: adding channel(%s) in topic(%s)", channel, topic)
	l.db.AddRegistration(registry.Registration{Category: registry.CategoryChannel, Key: topic, SubKey: channel})
	l.logf(LogInfo, "DB: adding topic(%s)", topic)
	l.db.AddRegistration(registry.Registration{Category: registry.CategoryTopic, Key: topic})
	return nil, nil
}

func (l *NSQLookupd) deleteChannel(_ *http.Request, q params) (any, error) {
	topic, channel, err := topicChannel(q)
	if err != nil {
		return nil, err
	}
	regs := l.db.FindRegistrations(registry.CategoryChannel, topic, channel)
	if len(regs) == 0 {
		return nil, errChannelNotFound
	}
	l.logf(LogInfo, "DB: removing channel(%s) from topic(%s)", channel, topic)
	for _, r := range regs {
		l.db.RemoveRegistration(r)
	}
	return nil, nil
}

// nodes is GET /nodes: the active peers (tombstoned ones included), each
// with its topics and, per topic, whether it is tombstoned there.
func (l *NSQLookupd) nodes(*http.Request, params) (any, error) {
	now := time.Now()
	peers := registry.Active(l.db.FindProducers(registry.CategoryClient, "", ""), now, l.opts.InactiveProducerTimeout, 0)
	doc := lookupdoc.Nodes{Producers: make([]lookupdoc.Node, len(peers))}
	for i, p := range peers {
		topics := []string{}
		for _, r := range l.db.LookupRegistrations(p.Peer.ID) {
			if r.Category == registry.CategoryTopic {
				topics = append(topics, r.Key)
			}
		}
		tombstones := make([]bool, len(topics))
		for j, t := range topics {
			tp, ok := l.db.Producer(registry.Registration{Category: registry.CategoryTopic, Key: t}, p.Peer.ID)
			tombstones[j] = ok && tp.IsTombstoned(l.opts.TombstoneLifetime, now)
		}
		doc.Producers[i] = lookupdoc.Node{Peer: p.Peer.Info, Tombstones: tombstones, Topics: topics}
	}
	return doc, nil
}

// debug is GET /debug: every producer of every registration, by
// "category:key:subkey".
func (l *NSQLookupd) debug(*http.Request, params) (any, error) {
	doc := map[string][]lookupdoc.DebugProducer{}
	for _, e := range l.db.Dump() {
		r := e.Registration
		key := r.Category + ":" + r.Key + ":" + r.SubKey
		for _, p := range e.Producers {
			info := p.Peer.Info
			doc[key] = append(doc[key], lookupdoc.DebugProducer{
				BroadcastAddress: info.BroadcastAddress,
				Hostname:         info.Hostname,
				HTTPPort:         info.HTTPPort,
				ID:               p.Peer.ID,
				LastUpdate:       p.Peer.LastUpdate(),
				TCPPort:          info.TCPPort,
				Tombstoned:       p.Tombstoned,
				TombstonedAt:     p.TombstonedAt.UnixNano(),
				Version:          info.Version,
			})
		}
	}
	return doc, nil
}

func keys(regs []registry.Registration) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.Key
	}
	return out
}

func subKeys(regs []registry.Registration) []string {
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.SubKey
	}
	return out
}
