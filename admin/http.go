package admin

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nsqfast/nsq/admin/cluster"
	"github.com/nsqfast/nsq/admin/series"
	"github.com/nsqfast/nsq/wire"
	"github.com/nsqfast/nsq/wire/httproute"
)

// The HTTP API answers as upstream's: a V1 answer is the bare document (a
// string option of /config is sent as is), or {"message": "..."} with the
// status code; both carry "X-NSQ-Content-Type: nsq; version=1.0". Every
// request is logged at INFO level, as upstream logs it.

// apiError is a failed call: its status code and message.
type apiError struct {
	code int
	text string
}

func (e apiError) Error() string { return e.text }

var (
	errNotFound  = apiError{http.StatusNotFound, "NOT_FOUND"}
	errMethod    = apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"}
	errInternal  = apiError{http.StatusInternalServerError, "INTERNAL_ERROR"}
	errForbidden = apiError{http.StatusForbidden, "FORBIDDEN"}
)

// apiHandler is one endpoint; its result is written by v1 or plainText.
type apiHandler func(w http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error)

// newHandler builds the router of every page, asset and API call, under
// the base path, behind gzip/deflate compression as upstream.
func (a *NSQAdmin) newHandler() http.Handler {
	rt := httproute.New()
	rt.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, time.Now(), nil, errNotFound)
	})
	rt.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.respond(w, r, time.Now(), nil, errMethod)
	})
	opts := a.getOpts()
	bp := func(p string) string { return path.Join(opts.BasePath, p) }
	get, post, del, put := http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut

	for _, page := range []string{"/", "/topics", "/topics/:topic", "/topics/:topic/:channel",
		"/nodes", "/nodes/:node", "/counter", "/lookup"} {
		rt.Handle(get, bp(page), a.logged(a.index))
	}
	api := bp("/api") + "/"
	rt.Handle(get, bp("/ping"), a.plainText(func(http.ResponseWriter, *http.Request, httproute.Params) (any, error) {
		return "OK", nil
	}))
	rt.Handle(get, bp("/static/:asset"), a.plainText(a.staticAsset))
	rt.Handle(get, bp("/fonts/:asset"), a.plainText(a.staticAsset))
	if opts.ProxyGraphite {
		proxy := newGraphiteProxy(a.graphiteURL, a.tlsConfig, opts.HTTPClientConnectTimeout, opts.HTTPClientRequestTimeout)
		rt.Handle(get, bp("/render"), func(w http.ResponseWriter, r *http.Request, _ httproute.Params) {
			proxy.ServeHTTP(w, r)
		})
	}

	rt.Handle(get, bp("/api/topics"), a.v1(a.topics))
	rt.Handle(get, bp("/api/topics/:topic"), a.v1(a.topic))
	rt.Handle(get, bp("/api/topics/:topic/:channel"), a.v1(a.channel))
	rt.Handle(get, bp("/api/nodes"), a.v1(a.nodes))
	rt.Handle(get, bp("/api/nodes/:node"), a.v1(a.node))
	rt.Handle(post, bp("/api/topics"), a.v1(a.createTopicChannel))
	rt.Handle(post, bp("/api/topics/:topic"), a.v1(a.topicAction))
	rt.Handle(post, bp("/api/topics/:topic/:channel"), a.v1(a.channelAction))
	rt.Handle(del, bp("/api/nodes/:node"), a.v1(a.tombstoneTopicProducer))
	rt.Handle(del, bp("/api/topics/:topic"), a.v1(a.deleteTopic))
	rt.Handle(del, bp("/api/topics/:topic/:channel"), a.v1(a.deleteChannel))
	rt.Handle(get, bp("/api/counter"), a.v1(a.counter))
	rt.Handle(get, bp("/api/graphite"), a.v1(a.graphite))
	rt.Handle(get, bp("/config/:opt"), a.v1(a.config))
	rt.Handle(put, bp("/config/:opt"), a.v1(a.config))
	// ours: the history of the live charts
	rt.Handle(get, bp("/api/charts"), a.v1(a.charts))
	// ours: messages listed without consuming them (nsqd's /channel/peek)
	rt.Handle(get, bp("/api/peek"), a.v1(a.peek))

	return compress(a.recoverer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, api) {
			a.touch() // the UI is in use: keep sampling
		}
		rt.ServeHTTP(w, r)
	})))
}

// recoverer answers 500 INTERNAL_ERROR when a handler panics.
func (a *NSQAdmin) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.logf(LogError, "panic in HTTP handler - %v", p)
				a.respond(w, r, time.Now(), nil, errInternal)
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// v1 runs an endpoint and writes its V1 answer.
func (a *NSQAdmin) v1(h apiHandler) httproute.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httproute.Params) {
		start := time.Now()
		doc, err := h(w, r, ps)
		a.respond(w, r, start, doc, err)
	}
}

// respond writes a V1 answer and logs the request.
func (a *NSQAdmin) respond(w http.ResponseWriter, r *http.Request, start time.Time, doc any, err error) {
	code := http.StatusOK
	var body []byte
	isJSON := false
	if err == nil {
		switch d := doc.(type) {
		case nil:
		case string:
			body = []byte(d)
		case []byte:
			body = d
		default:
			var merr error
			if body, merr = json.Marshal(d); merr != nil {
				err = apiError{http.StatusInternalServerError, merr.Error()}
			}
			isJSON = true
		}
	}
	if err != nil {
		var ae apiError
		if !errors.As(err, &ae) {
			ae = apiError{http.StatusInternalServerError, err.Error()}
		}
		code = ae.code
		body, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{ae.text})
		isJSON = true
	}
	h := w.Header()
	if isJSON {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("X-NSQ-Content-Type", "nsq; version=1.0")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	a.logRequest(r, code, start)
}

func (a *NSQAdmin) logRequest(r *http.Request, code int, start time.Time) {
	a.logf(LogInfo, "%d %s %s (%s) %s", code, r.Method, r.URL.RequestURI(), r.RemoteAddr, time.Since(start))
}

// plainText runs an endpoint whose answer (or error message) is sent as
// is, without the V1 header.
func (a *NSQAdmin) plainText(h apiHandler) httproute.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httproute.Params) {
		start := time.Now()
		code := http.StatusOK
		doc, err := h(w, r, ps)
		if err != nil {
			var ae apiError
			if !errors.As(err, &ae) {
				ae = apiError{http.StatusInternalServerError, err.Error()}
			}
			code, doc = ae.code, ae.text
		}
		w.WriteHeader(code)
		switch d := doc.(type) {
		case string:
			_, _ = io.WriteString(w, d)
		case []byte:
			_, _ = w.Write(d)
		}
		a.logRequest(r, code, start)
	}
}

// logged runs a handler that writes its own answer, and logs it.
func (a *NSQAdmin) logged(h func(w http.ResponseWriter, r *http.Request)) httproute.Handle {
	return func(w http.ResponseWriter, r *http.Request, _ httproute.Params) {
		start := time.Now()
		h(w, r)
		a.logRequest(r, http.StatusOK, start)
	}
}

// upstreamError classifies a cluster error: a partial one becomes a
// warning (logged, and returned for the answer's "message"); any other is
// the 502 UPSTREAM_ERROR answer.
func (a *NSQAdmin) upstreamError(err error, what string, warnings *[]string) error {
	if err == nil {
		return nil
	}
	if l, ok := cluster.IsPartial(err); ok {
		a.logf(LogWarn, "%s", l)
		*warnings = append(*warnings, l.Error())
		return nil
	}
	a.logf(LogError, "failed to %s - %s", what, err)
	return apiError{http.StatusBadGateway, "UPSTREAM_ERROR: " + err.Error()}
}

// warning is the "message" of an answer: "" or "WARNING: " and the
// partial failures.
func warning(msgs []string) string {
	if len(msgs) == 0 {
		return ""
	}
	return "WARNING: " + strings.Join(msgs, "; ")
}

type messageDoc struct {
	Message string `json:"message"`
}

func (a *NSQAdmin) topics(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	var warns []string
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiError{http.StatusBadRequest, err.Error()}
	}
	o := a.getOpts()
	ctx := r.Context()
	var topics []string
	if len(o.NSQLookupdHTTPAddresses) != 0 {
		topics, err = a.ci.LookupdTopics(ctx, o.NSQLookupdHTTPAddresses)
	} else {
		topics, err = a.ci.NSQDTopics(ctx, o.NSQDHTTPAddresses)
	}
	if err := a.upstreamError(err, "get topics", &warns); err != nil {
		return nil, err
	}
	if q.Get("inactive") == "true" {
		inactive := map[string][]string{}
		if len(o.NSQLookupdHTTPAddresses) != 0 {
			for _, t := range topics {
				producers, _ := a.ci.LookupdTopicProducers(ctx, t, o.NSQLookupdHTTPAddresses)
				if len(producers) == 0 {
					inactive[t], _ = a.ci.LookupdTopicChannels(ctx, t, o.NSQLookupdHTTPAddresses)
				}
			}
		}
		return struct {
			Topics  map[string][]string `json:"topics"`
			Message string              `json:"message"`
		}{inactive, warning(warns)}, nil
	}
	return struct {
		Topics  []string `json:"topics"`
		Message string   `json:"message"`
	}{topics, warning(warns)}, nil
}

func (a *NSQAdmin) topic(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	var warns []string
	name := ps.ByName("topic")
	o := a.getOpts()
	producers, err := a.ci.TopicProducers(r.Context(), name, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "get topic producers", &warns); err != nil {
		return nil, err
	}
	perNode, _, err := a.ci.NSQDStats(r.Context(), producers, name, "", false)
	if err := a.upstreamError(err, "get topic metadata", &warns); err != nil {
		return nil, err
	}
	sum := &cluster.TopicStats{TopicName: name}
	for _, t := range perNode {
		sum.Add(t)
	}
	return struct {
		*cluster.TopicStats
		Message string `json:"message"`
	}{sum, warning(warns)}, nil
}

func (a *NSQAdmin) channel(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	var warns []string
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	o := a.getOpts()
	producers, err := a.ci.TopicProducers(r.Context(), topic, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "get topic producers", &warns); err != nil {
		return nil, err
	}
	_, channels, err := a.ci.NSQDStats(r.Context(), producers, topic, channel, true)
	if err := a.upstreamError(err, "get channel metadata", &warns); err != nil {
		return nil, err
	}
	sum := channels[channel]
	if sum == nil && len(producers) == 0 {
		// no nsqd has the topic: an empty document (upstream: 502)
		sum = &cluster.ChannelStats{TopicName: topic, ChannelName: channel}
	}
	return struct {
		*cluster.ChannelStats
		Message string `json:"message"`
	}{sum, warning(warns)}, nil
}

func (a *NSQAdmin) nodes(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	var warns []string
	o := a.getOpts()
	producers, err := a.ci.Producers(r.Context(), o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "get nodes", &warns); err != nil {
		return nil, err
	}
	return struct {
		Nodes   cluster.Producers `json:"nodes"`
		Message string            `json:"message"`
	}{producers, warning(warns)}, nil
}

func (a *NSQAdmin) node(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	var warns []string
	name := ps.ByName("node")
	o := a.getOpts()
	producers, err := a.ci.Producers(r.Context(), o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "get producers", &warns); err != nil {
		return nil, err
	}
	p := producers.Search(name)
	if p == nil {
		return nil, apiError{http.StatusNotFound, "NODE_NOT_FOUND"}
	}
	topics, _, err := a.ci.NSQDStats(r.Context(), cluster.Producers{p}, "", "", true)
	if err != nil {
		a.logf(LogError, "failed to get nsqd stats - %s", err)
		return nil, apiError{http.StatusBadGateway, "UPSTREAM_ERROR: " + err.Error()}
	}
	var clients, messages int64
	for _, t := range topics {
		for _, c := range t.Channels {
			clients += int64(len(c.Clients))
		}
		messages += t.MessageCount
	}
	return struct {
		Node          string                `json:"node"`
		TopicStats    []*cluster.TopicStats `json:"topics"`
		TotalMessages int64                 `json:"total_messages"`
		TotalClients  int64                 `json:"total_clients"`
		Message       string                `json:"message"`
	}{name, topics, messages, clients, warning(warns)}, nil
}

// isAdmin reports whether r may act: always, unless admin users are
// configured, when the user named by the ACL header must be one of them.
func (a *NSQAdmin) isAdmin(r *http.Request) bool {
	o := a.getOpts()
	if len(o.AdminUsers) == 0 {
		return true
	}
	user := r.Header.Get(o.ACLHTTPHeader)
	for _, u := range o.AdminUsers {
		if u == user {
			return true
		}
	}
	return false
}

func (a *NSQAdmin) tombstoneTopicProducer(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	var warns []string
	if !a.isAdmin(r) {
		return nil, errForbidden
	}
	node := ps.ByName("node")
	var body struct {
		Topic string `json:"topic"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, apiError{http.StatusBadRequest, "INVALID_BODY"}
	}
	if !wire.IsValidTopicName([]byte(body.Topic)) {
		return nil, apiError{http.StatusBadRequest, "INVALID_TOPIC"}
	}
	err := a.ci.TombstoneTopicProducer(r.Context(), body.Topic, node, a.getOpts().NSQLookupdHTTPAddresses)
	if err := a.upstreamError(err, "tombstone node for topic", &warns); err != nil {
		return nil, err
	}
	a.notify("tombstone_topic_producer", body.Topic, "", node, r)
	return messageDoc{warning(warns)}, nil
}

func (a *NSQAdmin) createTopicChannel(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	var warns []string
	if !a.isAdmin(r) {
		return nil, errForbidden
	}
	var body struct {
		Topic   string `json:"topic"`
		Channel string `json:"channel"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, apiError{http.StatusBadRequest, err.Error()}
	}
	if !wire.IsValidTopicName([]byte(body.Topic)) {
		return nil, apiError{http.StatusBadRequest, "INVALID_TOPIC"}
	}
	if body.Channel != "" && !wire.IsValidChannelName([]byte(body.Channel)) {
		return nil, apiError{http.StatusBadRequest, "INVALID_CHANNEL"}
	}
	err := a.ci.CreateTopicChannel(r.Context(), body.Topic, body.Channel, a.getOpts().NSQLookupdHTTPAddresses)
	if err := a.upstreamError(err, "create topic/channel", &warns); err != nil {
		return nil, err
	}
	a.notify("create_topic", body.Topic, "", "", r)
	if body.Channel != "" {
		a.notify("create_channel", body.Topic, body.Channel, "", r)
	}
	return messageDoc{warning(warns)}, nil
}

func (a *NSQAdmin) deleteTopic(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	var warns []string
	if !a.isAdmin(r) {
		return nil, errForbidden
	}
	topic := ps.ByName("topic")
	o := a.getOpts()
	err := a.ci.DeleteTopic(r.Context(), topic, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "delete topic", &warns); err != nil {
		return nil, err
	}
	a.notify("delete_topic", topic, "", "", r)
	return messageDoc{warning(warns)}, nil
}

func (a *NSQAdmin) deleteChannel(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	var warns []string
	if !a.isAdmin(r) {
		return nil, errForbidden
	}
	topic, channel := ps.ByName("topic"), ps.ByName("channel")
	o := a.getOpts()
	err := a.ci.DeleteChannel(r.Context(), topic, channel, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "delete channel", &warns); err != nil {
		return nil, err
	}
	a.notify("delete_channel", topic, channel, "", r)
	return messageDoc{warning(warns)}, nil
}

func (a *NSQAdmin) topicAction(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	return a.act(r, ps.ByName("topic"), "")
}

func (a *NSQAdmin) channelAction(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	return a.act(r, ps.ByName("topic"), ps.ByName("channel"))
}

// act runs a pause, unpause or empty on a topic or (channel set) a
// channel. As upstream, the notification is sent even if the action
// fails.
func (a *NSQAdmin) act(r *http.Request, topic, channel string) (any, error) {
	var warns []string
	if !a.isAdmin(r) {
		return nil, errForbidden
	}
	var body struct {
		Action string `json:"action"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, apiError{http.StatusBadRequest, err.Error()}
	}
	action := cluster.Action(body.Action)
	switch action {
	case cluster.Pause, cluster.Unpause, cluster.Empty:
	default:
		return nil, apiError{http.StatusBadRequest, "INVALID_ACTION"}
	}
	o := a.getOpts()
	var err error
	if channel != "" {
		err = a.ci.ChannelAction(r.Context(), action, topic, channel, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
		a.notify(body.Action+"_channel", topic, channel, "", r)
	} else {
		err = a.ci.TopicAction(r.Context(), action, topic, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
		a.notify(body.Action+"_topic", topic, "", "", r)
	}
	if err := a.upstreamError(err, body.Action+" topic/channel", &warns); err != nil {
		return nil, err
	}
	return messageDoc{warning(warns)}, nil
}

// counterStats is one channel on one nsqd in GET /api/counter.
type counterStats struct {
	Node         string `json:"node"`
	TopicName    string `json:"topic_name"`
	ChannelName  string `json:"channel_name"`
	MessageCount int64  `json:"message_count"`
}

func (a *NSQAdmin) counter(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	var warns []string
	o := a.getOpts()
	producers, err := a.ci.Producers(r.Context(), o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "get counter producer list", &warns); err != nil {
		return nil, err
	}
	_, channels, err := a.ci.NSQDStats(r.Context(), producers, "", "", false)
	if err := a.upstreamError(err, "get nsqd stats", &warns); err != nil {
		return nil, err
	}
	stats := map[string]*counterStats{}
	for _, c := range channels {
		for _, n := range c.NodeStats {
			key := c.TopicName + ":" + c.ChannelName + ":" + n.Node
			s := stats[key]
			if s == nil {
				s = &counterStats{Node: n.Node, TopicName: c.TopicName, ChannelName: c.ChannelName}
				stats[key] = s
			}
			s.MessageCount += n.MessageCount
		}
	}
	return struct {
		Stats   map[string]*counterStats `json:"stats"`
		Message string                   `json:"message"`
	}{stats, warning(warns)}, nil
}

// graphite answers the rate of a statsd counter: Graphite's value for the
// last complete interval, divided by the interval in seconds.
func (a *NSQAdmin) graphite(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiError{http.StatusBadRequest, "INVALID_REQUEST"}
	}
	if q.Get("metric") != "rate" {
		return nil, apiError{http.StatusBadRequest, "INVALID_ARG_METRIC"}
	}
	target, ok := q["target"]
	if !ok {
		return nil, apiError{http.StatusBadRequest, "INVALID_ARG_TARGET"}
	}
	o := a.getOpts()
	secs := int64(o.StatsdInterval / time.Second)
	params := url.Values{}
	params.Set("from", fmt.Sprintf("-%dsec", secs*2))
	params.Set("until", fmt.Sprintf("-%dsec", secs))
	params.Set("format", "json")
	params.Set("target", target[0])
	endpoint := o.GraphiteURL + "/render?" + params.Encode()
	a.logf(LogInfo, "GRAPHITE: %s", endpoint)
	var resp []struct {
		Target     string       `json:"target"`
		DataPoints [][]*float64 `json:"datapoints"`
	}
	if err := a.client.GetJSON(r.Context(), endpoint, &resp); err != nil {
		a.logf(LogError, "graphite request failed - %s", err)
		return nil, errInternal
	}
	if len(resp) == 0 || len(resp[0].DataPoints) == 0 || len(resp[0].DataPoints[0]) == 0 || resp[0].DataPoints[0][0] == nil {
		// upstream panics here, which its router answers the same way
		a.logf(LogError, "graphite request failed - no datapoint for %s", target[0])
		return nil, errInternal
	}
	rate := *resp[0].DataPoints[0][0]
	if rate < 0 {
		return struct {
			Rate string `json:"rate"`
		}{"N/A"}, nil
	}
	return struct {
		Rate string `json:"rate"`
	}{strconv.FormatFloat(rate/float64(secs), 'f', 2, 64)}, nil
}

// config is GET and PUT /config/:opt. GET answers any option by its
// config-file name; PUT changes nsqlookupd_http_addresses (a JSON list)
// or log_level. Both are only allowed from --allow-config-from-cidr.
func (a *NSQAdmin) config(_ http.ResponseWriter, r *http.Request, ps httproute.Params) (any, error) {
	opt := ps.ByName("opt")
	if cidr := a.getOpts().AllowConfigFromCIDR; cidr != "" {
		_, ipnet, _ := net.ParseCIDR(cidr)
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			a.logf(LogError, "failed to parse RemoteAddr %s", r.RemoteAddr)
			return nil, apiError{http.StatusBadRequest, "INVALID_REMOTE_ADDR"}
		}
		ip := net.ParseIP(host)
		if ip == nil {
			a.logf(LogError, "failed to parse RemoteAddr %s", r.RemoteAddr)
			return nil, apiError{http.StatusBadRequest, "INVALID_REMOTE_ADDR"}
		}
		if !ipnet.Contains(ip) {
			return nil, errForbidden
		}
	}
	if r.Method == http.MethodPut {
		const limit = 1024*1024 + 1
		body, err := io.ReadAll(io.LimitReader(r.Body, limit))
		if err != nil {
			return nil, errInternal
		}
		if len(body) == limit || len(body) == 0 {
			return nil, apiError{http.StatusRequestEntityTooLarge, "INVALID_VALUE"}
		}
		o := *a.getOpts()
		switch opt {
		case "nsqlookupd_http_addresses":
			// a new slice: the old one is still read by other requests
			var addrs []string
			if err := json.Unmarshal(body, &addrs); err != nil {
				return nil, apiError{http.StatusBadRequest, "INVALID_VALUE"}
			}
			o.NSQLookupdHTTPAddresses = addrs
		case "log_level":
			l, err := ParseLogLevel(string(body))
			if err != nil {
				return nil, apiError{http.StatusBadRequest, "INVALID_VALUE"}
			}
			o.LogLevel = l
		default:
			return nil, apiError{http.StatusBadRequest, "INVALID_OPTION"}
		}
		a.opts.Store(&o)
	}
	v, ok := optionByKey(a.getOpts(), opt)
	if !ok {
		return nil, apiError{http.StatusBadRequest, "INVALID_OPTION"}
	}
	return v, nil
}

// optionByKey returns the value of the option whose config-file key is
// key.
func optionByKey(o *Options, key string) (any, bool) {
	v := reflect.ValueOf(o).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		flagName := f.Tag.Get("flag")
		if flagName == "" {
			continue
		}
		k := f.Tag.Get("cfg")
		if k == "" {
			k = strings.ReplaceAll(flagName, "-", "_")
		}
		if k == key {
			return v.Field(i).Interface(), true
		}
	}
	return nil, false
}

// chartsDoc is GET /api/charts (ours): the history of the live charts.
type chartsDoc struct {
	// IntervalMS is the sampling interval; 0 when charts are off.
	IntervalMS int64 `json:"interval_ms"`
	series.History
	// NodeRates are, with ?topic=, the last sample's rate of the topic and
	// its channels on each nsqd.
	NodeRates []nodeRate `json:"node_rates,omitempty"`
}

type nodeRate struct {
	Node    string  `json:"node"`
	Topic   string  `json:"topic"`
	Channel string  `json:"channel"`
	Rate    float64 `json:"rate"`
}

// charts answers the cluster's series and every topic's (no parameter),
// a topic's and its channels' (?topic=), or one channel's (?topic=
// &channel=); ?points=N limits each series to its last N samples.
func (a *NSQAdmin) charts(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, apiError{http.StatusBadRequest, "INVALID_REQUEST"}
	}
	points := 0
	if s := q.Get("points"); s != "" {
		if points, err = strconv.Atoi(s); err != nil || points < 0 {
			return nil, apiError{http.StatusBadRequest, "INVALID_ARG_POINTS"}
		}
	}
	if a.store == nil {
		return chartsDoc{History: series.History{Times: []int64{}, Series: []series.Series{}}}, nil
	}
	topic, channel := q.Get("topic"), q.Get("channel")
	match := func(k series.Key) bool { return k.Channel == "" }
	switch {
	case topic != "" && channel != "":
		match = func(k series.Key) bool { return k.Topic == topic && k.Channel == channel }
	case topic != "":
		match = func(k series.Key) bool { return k.Topic == topic }
	}
	doc := chartsDoc{
		IntervalMS: a.getOpts().SampleInterval.Milliseconds(),
		History:    a.store.Query(points, match),
	}
	if rates := a.nodeRates.Load(); rates != nil && topic != "" {
		for k, r := range *rates {
			if k.topic == topic && (channel == "" || k.channel == channel) {
				doc.NodeRates = append(doc.NodeRates, nodeRate{k.node, k.topic, k.channel, math.Round(float64(r)*1000) / 1000})
			}
		}
		slices.SortFunc(doc.NodeRates, func(x, y nodeRate) int {
			return cmp.Or(strings.Compare(x.Channel, y.Channel), strings.Compare(x.Node, y.Node))
		})
	}
	return doc, nil
}

// peek is GET /api/peek?topic=T[&channel=C][&n=N][&skip=K][&held=true]
// (ours): the messages each nsqd of the topic would deliver next, listed
// without consuming them. Bodies are data of the applications, so only
// admin users may see them.
func (a *NSQAdmin) peek(_ http.ResponseWriter, r *http.Request, _ httproute.Params) (any, error) {
	var warns []string
	if !a.isAdmin(r) {
		return nil, errForbidden
	}
	q := r.URL.Query()
	topic, channel := q.Get("topic"), q.Get("channel")
	if !wire.IsValidTopicName([]byte(topic)) {
		return nil, apiError{http.StatusBadRequest, "INVALID_TOPIC"}
	}
	if channel != "" && !wire.IsValidChannelName([]byte(channel)) {
		return nil, apiError{http.StatusBadRequest, "INVALID_CHANNEL"}
	}
	pass := url.Values{}
	for _, k := range []string{"n", "skip", "held", "max_body"} {
		if v := q.Get(k); v != "" {
			pass.Set(k, v)
		}
	}
	o := a.getOpts()
	producers, err := a.ci.TopicProducers(r.Context(), topic, o.NSQLookupdHTTPAddresses, o.NSQDHTTPAddresses)
	if err := a.upstreamError(err, "get topic producers", &warns); err != nil {
		return nil, err
	}
	return struct {
		Nodes   []cluster.NodePeek `json:"nodes"`
		Message string             `json:"message"`
	}{a.ci.Peek(r.Context(), producers, topic, channel, pass.Encode()), warning(warns)}, nil
}
